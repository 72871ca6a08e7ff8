//! Restate, from npm (`@restatedev/restate-server`, `@restatedev/restatectl`,
//! installed by faultline into a cache on the control node), uploaded to the
//! nodes with faultline's SDK service (`faultline-restate-service`, built
//! with this workspace).
//!
//! Every node runs every role (ingress, admin, worker, log server, metadata
//! server): replicated metadata and the replicated loglet. The cluster is
//! provisioned once ([`Db::bootstrap`]) and the SDK service registered as
//! `http://127.0.0.1:9080/`, so each Restate node calls the copy on its own
//! node. Ready means: admin, worker and log server ready and the metadata
//! server a member on every node, the service reachable through every
//! ingress, every partition with an active leader and no log server still
//! provisioning.

mod chain;
mod client;
mod faults;
mod leadership;
mod members;
mod own;
mod phases;
pub mod records;
mod rejoin;
mod seal;
mod seals;
mod stall;

pub use client::{RestateClient, INGRESS_PORT};
pub use faults::{log_tails, LogTail};
pub use leadership::new_leaders;
pub use phases::startup_phases;

use crate::db::{sha256_local, signal, BoxFuture, Db, DbError, Kill, Pause, Primary, Service, SystemFaults, Topology};
use crate::ops::Ops;
use crate::{Client, Endpoint, NotReady};
use control::packages::{self, pkg, HostPackage};
use control::{local, quote, Cmd, NodeClient};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// What Restate needs on the control node: npm, which installs its
/// binaries (when the machine has no npm of its own).
pub const HOST_PACKAGES: &[HostPackage] = &[pkg("npm", "npm", "restate")];

/// The Restate release faultline installs by default (npm packages of
/// this version; `--version` picks another).
pub const VERSION: &str = "1.7.12";
/// The admin API port.
pub const ADMIN_PORT: u16 = 9070;
/// The node-to-node (fabric) port; also serves the node's `/health`.
pub const FABRIC_PORT: u16 = 5122;
/// Where the SDK service listens on each node.
pub const SERVICE_PORT: u16 = 9080;

const SERVER: &str = "/opt/faultline/bin/restate-server";
const SERVICE: &str = "/opt/faultline/bin/faultline-restate-service";
const CONFIG: &str = "/etc/faultline/restate.toml";
const DATA: &str = "/var/lib/faultline/restate";
const LOG: &str = "/var/log/faultline/restate.log";
/// The server asks api.github.com for the latest release at every start,
/// with no option to stop it (1.7): pointed at the loopback, so that the
/// nodes talk only to each other. Removed at teardown.
const NO_RELEASE_CHECK: &str = "127.0.0.1 api.github.com # faultline: no release check";
const SERVICE_LOG: &str = "/var/log/faultline/restate-service.log";
/// Match the processes only (not the shells that signal them).
const SERVER_PATTERN: &str = "^/opt/faultline/bin/restate-server ";
const SERVICE_PATTERN: &str = "^/opt/faultline/bin/faultline-restate-service";
/// The register the ingress probe reads.
pub const PROBE_KEY: &str = "faultline-probe";

/// The binaries on the control node, found or installed by `prepare`.
#[derive(Debug)]
struct Bins {
    server: PathBuf,
    server_sha: String,
    restatectl: PathBuf,
    service: PathBuf,
    service_sha: String,
}

/// A Restate cluster: one node of every role per node.
#[derive(Debug, Default)]
pub struct Restate {
    /// The SDK service binary; by default `$FAULTLINE_RESTATE_SERVICE`, or
    /// `faultline-restate-service` next to the running executable.
    pub service_binary: Option<PathBuf>,
    /// The npm release to install (default [`VERSION`]).
    pub version: Option<String>,
    /// The user's own `restate-server`, instead of npm's.
    pub server_binary: Option<PathBuf>,
    /// The user's own `restatectl`, instead of npm's.
    pub restatectl_binary: Option<PathBuf>,
    /// Extra arguments for restate-server (`--db-arg`), after faultline's own.
    pub extra_args: Vec<String>,
    bins: OnceLock<Bins>,
    /// The partitions `move-leadership` pinned, by the node moved away
    /// from: what `return-leadership` unpins.
    pins: std::sync::Mutex<std::collections::BTreeMap<String, Vec<i64>>>,
}

/// The cache holding npm's Restate packages of `version`
/// (`$FAULTLINE_CACHE_DIR`, else `/var/cache/faultline`).
pub fn cache_dir(version: &str) -> PathBuf {
    local::cache_dir().join(format!("restate-{version}"))
}

/// True when `v` can name an npm release (digits, letters, dots, dashes).
pub fn plausible_version(v: &str) -> bool {
    !v.is_empty() && v.len() < 64 && v.chars().all(|c| c.is_ascii_alphanumeric() || ".-+".contains(c)) && v.starts_with(|c: char| c.is_ascii_digit())
}

/// The restatectl release to drive server `version` with: the same one
/// when npm has it, else the oldest published one newer than it, else the
/// newest (`published` as `npm view ... versions` lists them).
pub fn ctl_version_for(version: &str, published: &[String]) -> String {
    if published.iter().any(|v| v == version) || published.is_empty() {
        return version.to_string();
    }
    let key = |v: &str| v.split(['.', '-', '+']).map(|p| p.parse::<u64>().unwrap_or(0)).collect::<Vec<u64>>();
    let mut sorted: Vec<&String> = published.iter().collect();
    sorted.sort_by_key(|v| key(v));
    sorted.iter().find(|v| key(v) > key(version)).or(sorted.last()).map_or_else(|| version.to_string(), |v| v.to_string())
}

/// Installs the npm packages of `VERSION` into the cache unless already
/// there; the paths of the server and restatectl binaries.
fn install_npm_packages(version: &str) -> Result<(PathBuf, PathBuf), DbError> {
    if !plausible_version(version) {
        return Err(DbError::Local(format!("--version {version:?} is not a Restate release number (like {VERSION})")));
    }
    let dir = cache_dir(version);
    let modules = dir.join("node_modules/@restatedev");
    let server = modules.join("restate-server-linux-x64/bin/restate-server");
    let ctl = modules.join("restatectl-linux-x64/bin/restatectl");
    if server.is_file() && ctl.is_file() {
        return Ok((server, ctl));
    }
    packages::ensure(HOST_PACKAGES).map_err(|e| DbError::Local(e.to_string()))?;
    std::fs::create_dir_all(&dir).map_err(|e| DbError::Local(format!("{}: {e}", dir.display())))?;
    eprintln!("faultline: installing Restate {version} from npm into {}", dir.display());
    // restatectl is not published for every server release (none before 1.7.10)
    let published = local::run(&["npm", "view", "@restatedev/restatectl", "versions", "--json"]).map_err(|e| DbError::Local(e.to_string()))?;
    let ctl_version = ctl_version_for(version, &serde_json::from_str::<Vec<String>>(published.trim()).unwrap_or_default());
    if ctl_version != version {
        eprintln!("faultline: npm has no restatectl {version}: using restatectl {ctl_version}, the oldest newer one");
    }
    let (s, c) = (format!("@restatedev/restate-server@{version}"), format!("@restatedev/restatectl@{ctl_version}"));
    // no install scripts: the binaries need none, and they would phone home
    local::run(&["npm", "install", "--prefix", &dir.to_string_lossy(), "--ignore-scripts", "--no-audit", "--no-fund", "--no-save", "--loglevel=error", &s, &c])
        .map_err(|e| DbError::Local(e.to_string()))?;
    if !(server.is_file() && ctl.is_file()) {
        return Err(DbError::Local(format!("npm installed Restate {version} but {} or {} is missing (not linux-x64?)", server.display(), ctl.display())));
    }
    Ok((server, ctl))
}

fn find_service(explicit: Option<&Path>) -> Result<PathBuf, DbError> {
    if let Some(p) = explicit.map(Path::to_path_buf).or_else(|| std::env::var_os("FAULTLINE_RESTATE_SERVICE").map(PathBuf::from)) {
        return if p.is_file() { Ok(p) } else { Err(DbError::Local(format!("the Restate SDK service {} does not exist", p.display()))) };
    }
    let exe = std::env::current_exe().map_err(|e| DbError::Local(format!("current executable: {e}")))?;
    // next to `faultline`, or one level up (test binaries live in deps/)
    let dirs = exe.ancestors().skip(1).take(2);
    for d in dirs {
        let p = d.join("faultline-restate-service");
        if p.is_file() {
            return Ok(p);
        }
    }
    Err(DbError::Local(format!(
        "faultline-restate-service is not next to {}: build it with `cargo build --release` or set FAULTLINE_RESTATE_SERVICE",
        exe.display()
    )))
}

/// The node's configuration file.
pub fn config(name: &str, topo: &Topology) -> Result<String, DbError> {
    let ip = topo.address(name).ok_or_else(|| DbError::Sut(format!("{name} is not in the topology")))?;
    let replication = if topo.nodes.len() >= 2 { 2 } else { 1 };
    let metadata: Vec<String> = topo.nodes.iter().map(|(_, a)| format!("\"http://{a}:{FABRIC_PORT}/\"")).collect();
    Ok(format!(
        r#"node-name = "{name}"
cluster-name = "faultline"
base-dir = "{DATA}"
# no update check or telemetry: the nodes talk only to each other
disable-telemetry = true
# the start-up phases read from the log: each RocksDB database opened, and
# the log server's storage state (both logged at debug only)
log-filter = "info,restate_rocksdb::db_manager=debug,restate_log_server::service=debug"
advertised-address = "http://{ip}:{FABRIC_PORT}/"
auto-provision = false
default-replication = {replication}
# the default (2 GiB) is more than lab nodes have
rocksdb-total-memory-size = "512 MiB"

[metadata-client]
addresses = [{}]

[bifrost]
default-provider = "replicated"
"#,
        metadata.join(", ")
    ))
}

/// How long one restatectl call may take before it counts as hung.
const CTL_LIMIT: std::time::Duration = std::time::Duration::from_secs(60);

/// Runs restatectl on the control node, for at most [`CTL_LIMIT`]: its
/// stdout and stderr together, or why it could not run or did not end.
fn restatectl(ctl: &Path, args: &[&str]) -> Result<String, NotReady> {
    let shown = ctl.display().to_string();
    let argv: Vec<&str> = std::iter::once(shown.as_str()).chain(args.iter().copied()).collect();
    // its subcommand, for the error (`metadata-server add-node`, `sql`): the words that are
    // neither options nor an --address, two of them for the tools with subcommands
    let words: Vec<&str> = args.iter().enumerate().filter(|(i, a)| !a.starts_with('-') && (*i == 0 || args[i - 1] != "--address")).map(|(_, a)| *a).collect();
    let two = matches!(words.first(), Some(&("logs" | "nodes" | "metadata-server" | "partitions")));
    let what = words[..words.len().min(if two { 2 } else { 1 })].join(" ");
    match control::local::run_within(&argv, CTL_LIMIT) {
        Err(e) => Err(NotReady::Tool(e.to_string())),
        Ok(None) => Err(NotReady::Tool(format!("restatectl {what}: no answer within {} s (killed)", CTL_LIMIT.as_secs()))),
        Ok(Some(f)) if f.success => Ok(f.stdout + &f.stderr),
        Ok(Some(f)) => Err(NotReady::Tool(format!("restatectl {what} failed ({}): {}", f.status, (f.stdout + &f.stderr).trim()))),
    }
}

/// The address of the cluster's first node.
fn first_address(topo: &Topology) -> Result<&str, NotReady> {
    topo.nodes.first().map(|(_, a)| a.as_str()).ok_or_else(|| NotReady::Unknown("the cluster has no nodes".into()))
}

/// The JSON rows of `restatectl sql --jsonl`.
fn sql(ctl: &Path, addresses: &str, query: &str) -> Result<Vec<Value>, NotReady> {
    let out = restatectl(ctl, &["sql", "--jsonl", "--address", addresses, query])?;
    let rows = jsonl_rows(&out);
    if rows.is_empty() && out.contains("[ERR]") {
        return Err(NotReady::Unreachable(out.trim().to_string()));
    }
    Ok(rows)
}

/// The rows of restatectl's `--jsonl` output: one object a line, the last
/// one followed on its line by "N rows. Query took ...".
fn jsonl_rows(out: &str) -> Vec<Value> {
    out.lines().filter(|l| l.starts_with('{')).filter_map(|l| serde_json::Deserializer::from_str(l).into_iter::<Value>().next().and_then(Result::ok)).collect()
}

/// Whether every partition has an active leader and no log server is still
/// provisioning, from restatectl's tables: `Err` says what is missing.
pub fn cluster_state(partitions: &[Value], states: &[Value], nodes: &[Value]) -> Result<(), NotReady> {
    if partitions.is_empty() {
        return Err(NotReady::Refused("no partitions yet".into()));
    }
    let led: BTreeSet<i64> = states
        .iter()
        .filter(|s| s["effective_mode"].as_str().is_some_and(|m| m.eq_ignore_ascii_case("leader")) && s["replay_status"] == "active")
        .filter_map(|s| s["partition_id"].as_i64())
        .collect();
    let leaderless: Vec<i64> = partitions.iter().filter_map(|p| p["partition_id"].as_i64()).filter(|p| !led.contains(p)).collect();
    if !leaderless.is_empty() {
        return Err(NotReady::Refused(format!("{} of {} partitions without an active leader (first: {})", leaderless.len(), partitions.len(), leaderless[0])));
    }
    let provisioning: Vec<&str> =
        nodes.iter().filter(|n| n["storage_state"].as_str() != Some("read-write")).map(|n| n["name"].as_str().unwrap_or("?")).collect();
    if !provisioning.is_empty() {
        return Err(NotReady::Refused(format!("log servers not read-write yet: {}", provisioning.join(", "))));
    }
    Ok(())
}

/// Whether a node's `/health` answer says every role is up: `Err` names
/// each that is not, with its state.
pub fn node_health(v: &Value) -> Result<(), NotReady> {
    let want =
        [("status", "Alive"), ("admin_status", "Ready"), ("worker_status", "Ready"), ("log_server_status", "Ready"), ("metadata_server_status", "Member")];
    let bad: Vec<String> = want
        .iter()
        .map(|(field, good)| (field, good, v[field].as_str().unwrap_or("absent")))
        .filter(|(_, good, have)| have != *good)
        .map(|(field, _, have)| format!("{field} {have}"))
        .collect();
    if bad.is_empty() {
        Ok(())
    } else {
        Err(NotReady::Refused(bad.join(", ")))
    }
}

impl Restate {
    /// A cluster whose nodes run the SDK service binary at `path`.
    pub fn with_service(path: PathBuf) -> Restate {
        Restate { service_binary: Some(path), ..Restate::default() }
    }

    /// How `--db restate` finds it.
    pub const REGISTRATION: crate::Registration = crate::Registration {
        name: "restate",
        make: Restate::chosen,
        host_packages: HOST_PACKAGES,
        own_binaries: &["restate-server", "restatectl"],
        registry_versions: true,
    };

    /// As `--db restate` makes it (the SDK service beside faultline; the
    /// user's release or binaries, if named).
    pub fn chosen(c: &crate::Choice) -> std::sync::Arc<dyn Db> {
        std::sync::Arc::new(Restate {
            version: c.version.clone(),
            server_binary: c.binaries.get("restate-server").cloned(),
            restatectl_binary: c.binaries.get("restatectl").cloned(),
            extra_args: c.server_args.clone(),
            ..Restate::default()
        })
    }

    /// The server and restatectl: the user's where given, else npm's.
    fn find_binaries(&self) -> Result<(PathBuf, PathBuf), DbError> {
        for p in self.server_binary.iter().chain(&self.restatectl_binary) {
            if !p.is_file() {
                return Err(DbError::Local(format!("--binary {}: no such file", p.display())));
            }
        }
        if let (Some(s), Some(c)) = (&self.server_binary, &self.restatectl_binary) {
            return Ok((s.clone(), c.clone()));
        }
        let (s, c) = install_npm_packages(self.version.as_deref().unwrap_or(VERSION))?;
        Ok((self.server_binary.clone().unwrap_or(s), self.restatectl_binary.clone().unwrap_or(c)))
    }

    fn bins(&self) -> Result<&Bins, DbError> {
        self.prepare()?;
        self.bins.get().ok_or_else(|| DbError::Local("Restate binaries not prepared".into()))
    }

    fn addresses(topo: &Topology) -> String {
        topo.nodes.iter().map(|(_, a)| format!("http://{a}:{FABRIC_PORT}/")).collect::<Vec<_>>().join(",")
    }

    fn start_cmd(&self) -> Cmd {
        let dirs = Cmd::new(["mkdir", "-p", DATA, "/var/log/faultline"]);
        // daemons must not hold the SSH channel open: detach their streams;
        // the SDK service is stateless and survives kills of the server
        let service = format!(
            "pgrep -f {} >/dev/null || {{ FAULTLINE_SERVICE_ADDR=0.0.0.0:{SERVICE_PORT} setsid nohup {SERVICE} >>{SERVICE_LOG} 2>&1 </dev/null & }};",
            quote(SERVICE_PATTERN)
        );
        let extra: String = self.extra_args.iter().map(|a| format!(" {}", control::quote(a))).collect();
        let server = format!("setsid nohup {SERVER} --config-file {CONFIG}{extra} >>{LOG} 2>&1 </dev/null &");
        Cmd::script(&format!("{} || exit 1; cd {DATA} || exit 1; {service} {server}", dirs.text())).sudo()
    }

    fn provision(ctl: &Path, first: &str, give_up: Instant) -> Result<(), NotReady> {
        let mut wait = Duration::from_millis(100);
        loop {
            // restatectl exits 0 even when it failed: read what it says
            let out = restatectl(ctl, &["provision", "--address", first, "--yes"]).unwrap_or_else(|e| e.to_string());
            if out.contains("successfully provisioned") || out.contains("provisioned by somebody else") {
                return Ok(());
            }
            if Instant::now() + wait >= give_up {
                let last = out.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim().to_string();
                return Err(NotReady::Tool(format!("provisioning through {first} did not succeed: {last}")));
            }
            std::thread::sleep(wait);
            wait = (wait * 2).min(Duration::from_secs(1));
        }
    }

    async fn register(&self, http: &reqwest::Client, topo: &Topology, give_up: Instant) -> Result<(), NotReady> {
        let url = format!("http://{}:{ADMIN_PORT}/deployments", first_address(topo)?);
        let body = json!({"uri": format!("http://127.0.0.1:{SERVICE_PORT}/")});
        let mut wait = Duration::from_millis(100);
        loop {
            let why = match http.post(&url).json(&body).timeout(Duration::from_secs(10)).send().await {
                Ok(r) if r.status().is_success() => return Ok(()),
                Ok(r) => NotReady::Refused(format!("{}: {}", r.status(), r.text().await.unwrap_or_default().chars().take(300).collect::<String>())),
                Err(e) => NotReady::from_http(&e),
            };
            if Instant::now() + wait >= give_up {
                return Err(why.in_service(&format!("registering the SDK service at {url}")));
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(1));
        }
    }
}

impl Db for Restate {
    fn name(&self) -> &str {
        "restate"
    }

    fn prepare(&self) -> Result<(), DbError> {
        if self.bins.get().is_some() {
            return Ok(());
        }
        let (server, restatectl) = self.find_binaries()?;
        let service = find_service(self.service_binary.as_deref())?;
        let bins = Bins { server_sha: sha256_local(&server)?, server, restatectl, service_sha: sha256_local(&service)?, service };
        let _ = self.bins.set(bins);
        Ok(())
    }

    fn version(&self) -> Option<String> {
        crate::db::version_of(&self.bins.get()?.server)
    }

    fn setup(&self, node: &NodeClient, topo: &Topology) -> Result<(), DbError> {
        let b = self.bins()?;
        node.run(&Cmd::new(["mkdir", "-p", "/opt/faultline/bin", "/etc/faultline"]).sudo())?;
        for (local, remote, sha) in [(&b.server, SERVER, &b.server_sha), (&b.service, SERVICE, &b.service_sha)] {
            let have = node.exec(&Cmd::new(["sha256sum", remote]))?.stdout;
            if !have.starts_with(sha.as_str()) {
                node.upload(local, remote, 0o755)?;
            }
        }
        let text = config(&node.node().name, topo)?;
        node.upload_bytes(&mut text.as_bytes(), CONFIG, 0o644)?;
        let hosts = format!("grep -qF {q} /etc/hosts || echo {q} >> /etc/hosts", q = quote(NO_RELEASE_CHECK));
        node.run(&Cmd::script(&hosts).sudo())?;
        Ok(())
    }

    fn start(&self, node: &NodeClient, _topo: &Topology) -> Result<(), DbError> {
        node.run(&self.start_cmd())?;
        Ok(())
    }

    fn bootstrap<'a>(&'a self, http: &'a reqwest::Client, topo: &'a Topology, deadline: Duration) -> BoxFuture<'a, Result<(), NotReady>> {
        Box::pin(async move {
            let give_up = Instant::now() + deadline;
            let ctl = self.bins().map_err(|e| NotReady::Tool(e.to_string()))?.restatectl.clone();
            let first = format!("http://{}:{FABRIC_PORT}/", first_address(topo)?);
            let provisioned = tokio::task::spawn_blocking(move || Self::provision(&ctl, &first, give_up));
            provisioned.await.map_err(|e| NotReady::Tool(format!("provisioning: {e}")))??;
            self.register(http, topo, give_up).await
        })
    }

    fn teardown(&self, node: &NodeClient) -> Result<(), DbError> {
        signal(node, "-KILL", SERVER_PATTERN)?;
        signal(node, "-KILL", SERVICE_PATTERN)?;
        node.run(&Cmd::new(["rm", "-rf", DATA, LOG, SERVICE_LOG, CONFIG]).sudo())?;
        node.run(&Cmd::script("sed -i '/# faultline: no release check/d' /etc/hosts").sudo())?;
        Ok(())
    }

    fn data_dirs(&self) -> Vec<String> {
        vec![DATA.to_string()]
    }

    fn data_files(&self) -> Vec<String> {
        // RocksDB's tables, manifests and write-ahead logs (every store of a
        // node is a RocksDB database under its base directory)
        vec!["*.sst".into(), "*/MANIFEST-*".into(), "*/[0-9]*.log".into()]
    }

    fn services(&self) -> Vec<Service> {
        vec![
            Service { name: "ingress".into(), port: INGRESS_PORT },
            Service { name: "admin".into(), port: ADMIN_PORT },
            Service { name: "metadata".into(), port: FABRIC_PORT },
        ]
    }

    fn probe<'a>(&'a self, http: &'a reqwest::Client, address: &'a str, service: &'a str, timeout: Duration) -> BoxFuture<'a, Result<(), NotReady>> {
        Box::pin(async move {
            match service {
                // a real invocation: the ingress, a partition leader and the
                // SDK service all answer (a health endpoint can say "fine"
                // while invocations hang)
                "ingress" => crate::probe_result(Ops::read(&RestateClient::new(http.clone(), address).with_timeout(timeout), PROBE_KEY).await),
                "admin" => {
                    let r = http.get(format!("http://{address}:{ADMIN_PORT}/health")).timeout(timeout).send().await.map_err(|e| NotReady::from_http(&e))?;
                    if r.status().is_success() {
                        Ok(())
                    } else {
                        Err(NotReady::Refused(format!("health {}", r.status().as_u16())))
                    }
                }
                "metadata" => {
                    let r = http.get(format!("http://{address}:{FABRIC_PORT}/health")).timeout(timeout).send().await.map_err(|e| NotReady::from_http(&e))?;
                    let v: Value = r.json().await.map_err(|e| NotReady::from_http(&e))?;
                    match v["metadata_server_status"].as_str() {
                        Some("Member") => Ok(()),
                        other => Err(NotReady::Refused(format!("metadata server {}", other.unwrap_or("absent")))),
                    }
                }
                other => Err(NotReady::Unknown(format!("restate has no service {other:?}"))),
            }
        })
    }

    fn node_ready<'a>(&'a self, http: &'a reqwest::Client, address: &'a str) -> BoxFuture<'a, Result<(), NotReady>> {
        Box::pin(async move {
            let r = http.get(format!("http://{address}:{FABRIC_PORT}/health")).timeout(Duration::from_secs(2)).send().await;
            let v: Value = match r {
                Ok(r) => r.json().await.map_err(|e| NotReady::from_http(&e).in_service("health"))?,
                Err(e) => return Err(NotReady::from_http(&e).in_service("health")),
            };
            node_health(&v)?;
            for s in self.services() {
                self.probe(http, address, &s.name, Duration::from_secs(2)).await.map_err(|e| e.in_service(&s.name))?;
            }
            Ok(())
        })
    }

    fn cluster_ready<'a>(&'a self, _http: &'a reqwest::Client, topo: &'a Topology) -> BoxFuture<'a, Result<(), NotReady>> {
        Box::pin(async move {
            let ctl = self.bins().map_err(|e| NotReady::Tool(e.to_string()))?.restatectl.clone();
            let addrs = Self::addresses(topo);
            let state = tokio::task::spawn_blocking(move || {
                let partitions = sql(&ctl, &addrs, "SELECT partition_id FROM partitions")?;
                let states = sql(&ctl, &addrs, "SELECT partition_id, effective_mode, replay_status FROM partition_state")?;
                let nodes = sql(&ctl, &addrs, "SELECT name, storage_state FROM nodes")?;
                cluster_state(&partitions, &states, &nodes)
            });
            state.await.map_err(|e| NotReady::Tool(format!("restatectl: {e}")))?
        })
    }

    fn client(&self, http: &reqwest::Client, at: &Endpoint, timeout: Duration) -> Box<dyn Client> {
        Box::new(RestateClient::new(http.clone(), &at.address).with_timeout(timeout))
    }

    fn log_files(&self) -> Vec<String> {
        vec![LOG.to_string(), SERVICE_LOG.to_string()]
    }

    fn startup_phases(&self, log_file: &str, text: &str) -> Vec<results::Phase> {
        if log_file == LOG {
            startup_phases(text)
        } else {
            Vec::new()
        }
    }

    fn as_kill(&self) -> Option<&dyn Kill> {
        Some(self)
    }

    fn as_pause(&self) -> Option<&dyn Pause> {
        Some(self)
    }

    fn as_primary(&self) -> Option<&dyn Primary> {
        Some(self)
    }

    fn as_faults(&self) -> Option<&dyn SystemFaults> {
        Some(self)
    }

    fn as_membership(&self) -> Option<&dyn crate::Membership> {
        Some(self)
    }

    fn as_own(&self) -> Option<&dyn crate::OwnRun> {
        Some(self)
    }
}

/// Restate has a leader per partition, none for the cluster: its "primary"
/// is the node leading the most partitions (isolating it moves the most
/// leaderships).
impl Primary for Restate {
    fn primary<'a>(&'a self, _http: &'a reqwest::Client, topo: &'a Topology) -> BoxFuture<'a, Option<String>> {
        Box::pin(async move {
            let ctl = self.bins().ok()?.restatectl.clone();
            let addrs = Self::addresses(topo);
            let q = "SELECT n.name, COUNT(*) AS led FROM partition_state p JOIN nodes n ON p.plain_node_id = n.plain_node_id \
                     WHERE p.effective_mode = 'Leader' GROUP BY n.name ORDER BY led DESC, n.name LIMIT 1";
            let rows = tokio::task::spawn_blocking(move || sql(&ctl, &addrs, q)).await.ok()?.ok()?;
            rows.first()?["name"].as_str().map(str::to_string)
        })
    }
}

impl Kill for Restate {
    /// Kills the Restate server (the stateless SDK service stays).
    fn kill(&self, node: &NodeClient) -> Result<(), DbError> {
        signal(node, "-KILL", SERVER_PATTERN)
    }

    fn restart(&self, node: &NodeClient, topo: &Topology) -> Result<(), DbError> {
        self.start(node, topo)
    }
}

impl Pause for Restate {
    fn pause_pattern(&self) -> &str {
        SERVER_PATTERN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topo() -> Topology {
        Topology { nodes: (1..=3).map(|i| (format!("n{i}"), format!("10.0.0.{i}"))).collect() }
    }

    #[test]
    fn config_names_the_node_and_every_metadata_server() {
        let c = config("n2", &topo()).unwrap();
        assert!(c.contains("node-name = \"n2\"") && c.contains("advertised-address = \"http://10.0.0.2:5122/\""), "{c}");
        assert!(c.contains(r#"addresses = ["http://10.0.0.1:5122/", "http://10.0.0.2:5122/", "http://10.0.0.3:5122/"]"#), "{c}");
        assert!(c.contains("default-replication = 2") && c.contains("default-provider = \"replicated\""), "{c}");
        assert!(config("n9", &topo()).is_err());
        let one = Topology { nodes: vec![("n1".into(), "10.0.0.1".into())] };
        assert!(config("n1", &one).unwrap().contains("default-replication = 1"));
    }

    #[test]
    fn restatectl_is_the_server_s_release_or_the_oldest_newer_one() {
        let published: Vec<String> = ["1.7.10", "1.7.12"].map(String::from).to_vec();
        assert_eq!(ctl_version_for("1.7.12", &published), "1.7.12");
        assert_eq!(ctl_version_for("1.6.1", &published), "1.7.10");
        assert_eq!(ctl_version_for("1.7.11", &published), "1.7.12");
        assert_eq!(ctl_version_for("1.8.0", &published), "1.7.12", "none newer: the newest");
        assert_eq!(ctl_version_for("1.6.1", &[]), "1.6.1", "npm said nothing: the same release");
    }

    #[test]
    fn its_data_files_are_rocksdb_s_tables_manifests_and_logs_not_its_info_logs_or_sockets() {
        let r = Restate::default();
        assert_eq!(r.data_dirs(), vec![DATA.to_string()]);
        // the patterns as `find -path` reads them, on a node's layout
        let top = std::env::temp_dir().join(format!("faultline-restate-files-{}", std::process::id()));
        let n = top.join("n1");
        for (f, picked) in [
            ("db/000004.log", true),
            ("db/MANIFEST-000005", true),
            ("db/000012.sst", true),
            ("log-store/000009.log", true),
            ("db/LOG", false),
            ("db/LOG.old.1765", false),
            ("db/OPTIONS-000007", false),
            ("db/CURRENT", false),
            ("ingress.sock", false),
        ] {
            std::fs::create_dir_all(n.join(f).parent().unwrap()).unwrap();
            std::fs::write(n.join(f), "x").unwrap();
            let hit = r.data_files().iter().any(|p| {
                let out = std::process::Command::new("find").arg(&top).arg("-path").arg(p).arg("-type").arg("f").output().unwrap();
                String::from_utf8_lossy(&out.stdout).lines().any(|l| l.ends_with(f))
            });
            assert_eq!(hit, picked, "{f}");
        }
        let _ = std::fs::remove_dir_all(&top);
    }

    #[test]
    fn readiness_needs_every_partition_led_and_every_log_server_writable() {
        let parts: Vec<Value> = (0..3).map(|i| json!({"partition_id": i})).collect();
        let led = |i: i64, mode: &str, replay: &str| json!({"partition_id": i, "effective_mode": mode, "replay_status": replay});
        let nodes = vec![json!({"name": "n1", "storage_state": "read-write"}), json!({"name": "n2", "storage_state": "read-write"})];
        let mut states = vec![led(0, "Leader", "active"), led(1, "Leader", "active"), led(2, "Follower", "active"), led(2, "Leader", "starting")];
        assert_eq!(cluster_state(&parts, &states, &nodes), Err(NotReady::Refused("1 of 3 partitions without an active leader (first: 2)".into())));
        states.push(led(2, "Leader", "active"));
        assert_eq!(cluster_state(&parts, &states, &nodes), Ok(()));
        let provisioning = vec![nodes[0].clone(), json!({"name": "n2", "storage_state": "provisioning"})];
        assert_eq!(cluster_state(&parts, &states, &provisioning), Err(NotReady::Refused("log servers not read-write yet: n2".into())));
        assert!(cluster_state(&[], &states, &nodes).is_err());
    }

    #[test]
    fn jsonl_rows_keep_the_last_row_before_the_summary() {
        let out = "{\"name\":\"n1\",\"led\":12}\n{\"name\":\"n2\",\"led\":12}2 rows. Query took 48.5ms\n";
        assert_eq!(jsonl_rows(out), vec![json!({"name": "n1", "led": 12}), json!({"name": "n2", "led": 12})]);
        assert!(jsonl_rows("[ERR]: tcp connect error").is_empty());
    }

    #[test]
    fn node_health_names_the_role_not_ready() {
        let mut v =
            json!({"status": "Alive", "admin_status": "Ready", "worker_status": "Ready", "log_server_status": "Ready", "metadata_server_status": "Member"});
        assert_eq!(node_health(&v), Ok(()));
        v["metadata_server_status"] = json!("AwaitingProvisioning");
        assert_eq!(node_health(&v), Err(NotReady::Refused("metadata_server_status AwaitingProvisioning".into())));
        v["status"] = json!("StartingUp");
        assert_eq!(node_health(&v), Err(NotReady::Refused("status StartingUp, metadata_server_status AwaitingProvisioning".into())));
    }
}
