//! etcd 3.4, from Debian's `etcd-server` package on the control node,
//! uploaded to the nodes (they need no package mirror, and every node runs
//! the exact binary the control node has).

mod client;
mod members;

pub use client::EtcdClient;

use crate::db::{BoxFuture, Db, DbError, Kill, Pause, Primary, Service, Topology};
use crate::{Client, Endpoint, NotReady};
use control::packages::{self, pkg, HostPackage};
use control::{quote, Cmd, NodeClient};
use serde_json::{json, Value};
use std::sync::OnceLock;
use std::time::Duration;

/// What etcd needs on the control node: Debian's etcd, whose binary is
/// uploaded to the nodes.
pub const HOST_PACKAGES: &[HostPackage] = &[pkg("etcd-server", "etcd", "etcd")];

const LOCAL_BIN: &str = "/usr/bin/etcd";
const BIN: &str = "/opt/faultline/bin/etcd";
const DATA: &str = "/var/lib/faultline/etcd";
const LOG: &str = "/var/log/faultline/etcd.log";
const PID: &str = "/run/faultline/etcd.pid";
/// Matches the etcd process only (not the shells that signal it).
const PATTERN: &str = "^/opt/faultline/bin/etcd ";

/// An etcd cluster: one member per node.
#[derive(Debug)]
pub struct Etcd {
    /// Raft heartbeat interval, ms.
    pub heartbeat_ms: u32,
    /// Raft election timeout, ms.
    pub election_ms: u32,
    /// Clients read with serializable (local, possibly stale) reads.
    pub serializable: bool,
    /// The user's own etcd binary, uploaded instead of Debian's.
    pub binary: Option<std::path::PathBuf>,
    /// Extra arguments for etcd (`--db-arg`), after faultline's own.
    pub extra_args: Vec<String>,
    sha: OnceLock<String>,
}

impl Default for Etcd {
    fn default() -> Self {
        Etcd { heartbeat_ms: 100, election_ms: 1000, serializable: false, binary: None, extra_args: Vec::new(), sha: OnceLock::new() }
    }
}

/// The key the readiness and health probes read.
pub const PROBE_KEY: &str = "faultline-probe";

fn signal(node: &NodeClient, sig: &str) -> Result<(), DbError> {
    crate::db::signal(node, sig, PATTERN)
}

impl Etcd {
    /// Slower timeouts for slow nodes (VMs under emulation).
    pub fn slow() -> Self {
        Etcd { heartbeat_ms: 250, election_ms: 2500, ..Etcd::default() }
    }

    /// How `--db etcd` finds it.
    pub const REGISTRATION: crate::Registration =
        crate::Registration { name: "etcd", make: Etcd::chosen, host_packages: HOST_PACKAGES, own_binaries: &["etcd"], registry_versions: false };

    /// As `--db etcd` makes it.
    pub fn chosen(c: &crate::Choice) -> std::sync::Arc<dyn Db> {
        let base = if c.slow_nodes { Etcd::slow() } else { Etcd::default() };
        std::sync::Arc::new(Etcd { serializable: c.serializable, binary: c.binaries.get("etcd").cloned(), extra_args: c.server_args.clone(), ..base })
    }

    /// The binary uploaded: the user's, or Debian's.
    fn local_bin(&self) -> &std::path::Path {
        self.binary.as_deref().unwrap_or(LOCAL_BIN.as_ref())
    }

    fn start_cmd(&self, name: &str, topo: &Topology) -> Result<Cmd, DbError> {
        let cluster: Vec<String> = topo.nodes.iter().map(|(n, a)| format!("{n}=http://{a}:2380")).collect();
        self.start_with(name, topo, &cluster, "new")
    }

    /// Starts the member `name` of the cluster `cluster` (`name=peer-url`
    /// each), a `new` one or joining an `existing` one.
    fn start_with(&self, name: &str, topo: &Topology, cluster: &[String], state: &str) -> Result<Cmd, DbError> {
        let ip = topo.address(name).ok_or_else(|| DbError::Sut(format!("{name} is not in the topology")))?;
        let etcd = Cmd::new([
            "setsid",
            "nohup",
            BIN,
            "--name",
            name,
            "--data-dir",
            &format!("{DATA}/data"),
            "--listen-peer-urls",
            &format!("http://{ip}:2380"),
            "--initial-advertise-peer-urls",
            &format!("http://{ip}:2380"),
            "--listen-client-urls",
            &format!("http://{ip}:2379,http://127.0.0.1:2379"),
            "--advertise-client-urls",
            &format!("http://{ip}:2379"),
            "--initial-cluster",
            &cluster.join(","),
            "--initial-cluster-state",
            state,
            "--initial-cluster-token",
            "faultline",
            "--heartbeat-interval",
            &self.heartbeat_ms.to_string(),
            "--election-timeout",
            &self.election_ms.to_string(),
            "--logger",
            "zap",
            "--log-outputs",
            "stderr",
        ]);
        let etcd = self.extra_args.iter().fold(etcd, |c, a| c.arg(a));
        let dirs = Cmd::new(["mkdir", "-p", DATA, "/var/log/faultline", "/run/faultline"]);
        // a daemon must not hold the SSH channel open: detach its streams
        let daemon = format!("{} >>{} 2>&1 </dev/null & echo $! >{}", etcd.text(), quote(LOG), quote(PID));
        let prep = dirs.and(Cmd::new(["cd", DATA]));
        Ok(Cmd::script(&format!("{} || exit 1; {daemon}", prep.text())).sudo())
    }
}

impl Db for Etcd {
    fn name(&self) -> &str {
        "etcd"
    }

    fn prepare(&self) -> Result<(), DbError> {
        match &self.binary {
            Some(b) if !b.is_file() => return Err(DbError::Local(format!("--binary etcd={}: no such file", b.display()))),
            Some(_) => {}
            None => packages::ensure(HOST_PACKAGES).map_err(|e| DbError::Local(e.to_string()))?,
        }
        if self.sha.get().is_none() {
            let _ = self.sha.set(crate::db::sha256_local(self.local_bin())?);
        }
        Ok(())
    }

    fn version(&self) -> Option<String> {
        crate::db::version_of(self.local_bin())
    }

    fn setup(&self, node: &NodeClient, _topo: &Topology) -> Result<(), DbError> {
        self.prepare()?;
        let want = self.sha.get().cloned().unwrap_or_default();
        let have = node.exec(&Cmd::new(["sha256sum", BIN]))?.stdout;
        if !have.starts_with(&want) {
            node.run(&Cmd::new(["mkdir", "-p", "/opt/faultline/bin"]).sudo())?;
            node.upload(self.local_bin(), BIN, 0o755)?;
        }
        Ok(())
    }

    fn start(&self, node: &NodeClient, topo: &Topology) -> Result<(), DbError> {
        node.run(&self.start_cmd(&node.node().name, topo)?)?;
        Ok(())
    }

    fn teardown(&self, node: &NodeClient) -> Result<(), DbError> {
        signal(node, "-KILL")?;
        node.run(&Cmd::new(["rm", "-rf", DATA, LOG, PID]).sudo())?;
        Ok(())
    }

    fn services(&self) -> Vec<Service> {
        vec![Service { name: "client".into(), port: 2379 }]
    }

    fn probe<'a>(&'a self, http: &'a reqwest::Client, address: &'a str, _service: &'a str, timeout: Duration) -> BoxFuture<'a, Result<(), NotReady>> {
        Box::pin(async move {
            // a linearizable read goes through Raft: it needs a leader and a quorum
            let c = EtcdClient::new(http.clone(), address, false).with_timeout(timeout);
            crate::probe_result(c.read(PROBE_KEY).await)
        })
    }

    fn client(&self, http: &reqwest::Client, at: &Endpoint, timeout: Duration) -> Box<dyn Client> {
        Box::new(EtcdClient::new(http.clone(), &at.address, self.serializable).with_timeout(timeout))
    }

    fn log_files(&self) -> Vec<String> {
        vec![LOG.to_string()]
    }

    fn data_dirs(&self) -> Vec<String> {
        vec![DATA.to_string()]
    }

    fn data_files(&self) -> Vec<String> {
        // its write-ahead log and its bbolt database, not the preallocated
        // next WAL file (zeros)
        vec!["*/member/wal/*.wal".into(), "*/member/snap/db".into()]
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

    fn as_membership(&self) -> Option<&dyn crate::Membership> {
        Some(self)
    }
}

impl Kill for Etcd {
    fn kill(&self, node: &NodeClient) -> Result<(), DbError> {
        signal(node, "-KILL")
    }

    fn restart(&self, node: &NodeClient, topo: &Topology) -> Result<(), DbError> {
        self.start(node, topo)
    }
}

impl Pause for Etcd {
    fn pause_pattern(&self) -> &str {
        PATTERN
    }
}

impl Primary for Etcd {
    fn primary<'a>(&'a self, http: &'a reqwest::Client, topo: &'a Topology) -> BoxFuture<'a, Option<String>> {
        Box::pin(async move {
            for (name, addr) in &topo.nodes {
                let url = format!("http://{addr}:2379/v3/maintenance/status");
                let Ok(r) = http.post(&url).json(&json!({})).timeout(Duration::from_secs(1)).send().await else { continue };
                let Ok(v) = r.json::<Value>().await else { continue };
                // only a node that sees itself as leader says who it is
                if v["leader"].is_string() && v["leader"] == v["header"]["member_id"] {
                    return Some(name.clone());
                }
            }
            None
        })
    }
}
