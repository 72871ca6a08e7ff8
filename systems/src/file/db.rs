//! A system file as a [`Db`]: install, start, kill, pause, wipe, checks,
//! primary and client, each from what the file says.

use super::checks::{self, control_command};
use super::spec::Process;
use super::template::{client_context, cluster_context, node_context, render, TemplateError};
use super::SystemFile;
use crate::db::{BoxFuture, Db, DbError, Kill, Pause, Primary, Service, Topology};
use crate::stdio::{ClientCommand, StdioClient};
use crate::{Client, Endpoint, NotReady};
use control::{quote, Cmd, NodeClient};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// A system described in a file.
pub struct FileDb {
    pub(super) file: SystemFile,
    topo: OnceLock<Topology>,
    client: OnceLock<Arc<ClientCommand>>,
    client_env: Vec<(String, String)>,
    /// `--db-arg`'s arguments, quoted and joined (`{{ db_args }}`).
    pub(super) db_args: String,
    pause: Option<String>,
}

/// `pgrep -f` pattern of a process: its own, or its command up to the
/// first template, escaped and anchored.
fn pattern(p: &Process) -> String {
    if let Some(pat) = &p.pattern {
        return pat.clone();
    }
    let cmd = p.command.as_deref().unwrap_or_default();
    let fixed = cmd.split("{{").next().unwrap_or_default().trim_end();
    let escaped: String = fixed.chars().flat_map(|c| if "\\^$.|?*+()[]{}".contains(c) { vec!['\\', c] } else { vec![c] }).collect();
    format!("^{escaped}")
}

impl FileDb {
    /// The system `file` describes.
    pub fn new(file: SystemFile) -> FileDb {
        let pausable: Vec<String> = file.spec.processes.iter().filter(|p| p.pause).map(|p| format!("({})", pattern(p))).collect();
        let pause = (!pausable.is_empty()).then(|| pausable.join("|"));
        FileDb { file, topo: OnceLock::new(), client: OnceLock::new(), client_env: Vec::new(), db_args: String::new(), pause }
    }

    /// With `--db-arg`'s arguments, which the file's templates read as
    /// `{{ db_args }}` (each quoted for the shell).
    pub fn with_db_args(mut self, args: &[String]) -> FileDb {
        self.db_args = args.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ");
        self
    }

    /// With extra environment for the client (after the file's own).
    pub fn with_client_env(mut self, env: Vec<(String, String)>) -> FileDb {
        self.client_env = env;
        self
    }

    fn name(&self) -> &str {
        &self.file.spec.name
    }

    /// An error about the SUT, naming the file and the key.
    fn sut(&self, key: &str, node: &NodeClient, e: impl std::fmt::Display) -> DbError {
        DbError::Sut(format!("{}: {key} on {}: {e}", self.file.path.display(), node.node().name))
    }

    /// The cluster as last set up, else this node alone.
    fn topology(&self, node_name: &str, address: &str) -> Topology {
        self.topo.get().cloned().unwrap_or_else(|| Topology { nodes: vec![(node_name.to_string(), address.to_string())] })
    }

    fn log_of(&self, p: &Process) -> String {
        format!("/var/log/faultline/{}-{}.log", self.name(), p.name)
    }

    /// Runs `text` (rendered on `node`) as root; `key` names it in errors.
    fn run_on(&self, node: &NodeClient, topo: &Topology, key: &str, text: &str) -> Result<(), DbError> {
        let ctx = node_context(self.name(), topo, &node.node().address, &self.db_args);
        self.run_in(node, &ctx, key, text).map(|_| ())
    }

    /// Runs `text` rendered in `ctx` on `node` as root: its stdout.
    pub(super) fn run_in(&self, node: &NodeClient, ctx: &minijinja::Value, key: &str, text: &str) -> Result<String, DbError> {
        let script = render(text, ctx).map_err(|e| self.sut(key, node, e))?;
        let out = node.exec(&Cmd::script(&script).sudo())?;
        if out.status != 0 {
            let tail: Vec<&str> = out.stderr.lines().chain(out.stdout.lines()).filter(|l| !l.trim().is_empty()).collect();
            let tail = tail.iter().rev().take(3).rev().cloned().collect::<Vec<_>>().join(" | ");
            return Err(self.sut(key, node, format!("`{script}` exited {}: {tail}", out.status)));
        }
        Ok(out.stdout)
    }

    fn start_process(&self, node: &NodeClient, topo: &Topology, i: usize, p: &Process) -> Result<(), DbError> {
        let key = format!("processes[{i}] ({})", p.name);
        match (&p.command, &p.unit) {
            (Some(cmd), _) => {
                // daemons must not hold the SSH channel open: detach their streams
                let text = format!(
                    "mkdir -p /var/log/faultline && cd / && {{ pgrep -f {pat} >/dev/null || {{ setsid nohup {cmd} >>{log} 2>&1 </dev/null & }}; }}",
                    pat = quote(&pattern(p)),
                    log = self.log_of(p)
                );
                self.run_on(node, topo, &key, &text)
            }
            (None, Some(unit)) => self.run_on(node, topo, &key, &format!("systemctl start {}", quote(unit))),
            (None, None) => Ok(()),
        }
    }

    fn signal_process(&self, node: &NodeClient, p: &Process, sig: &str) -> Result<(), DbError> {
        let text = match &p.unit {
            Some(unit) if sig == "KILL" => format!("systemctl kill -s KILL {} ; systemctl stop {} || true", quote(unit), quote(unit)),
            _ => format!("pkill -{sig} -f {} ; test $? -le 1", quote(&pattern(p))),
        };
        let out = node.exec(&Cmd::script(&text).sudo())?;
        if out.status != 0 {
            return Err(self.sut(&format!("processes ({})", p.name), node, format!("`{text}`: {}", out.stderr.trim())));
        }
        Ok(())
    }

    /// Installs the packages missing on `node`, services kept stopped.
    fn install_packages(&self, node: &NodeClient, topo: &Topology) -> Result<(), DbError> {
        let pkgs = &self.file.spec.install.packages;
        if pkgs.is_empty() {
            return Ok(());
        }
        let list = pkgs.iter().map(|p| quote(p)).collect::<Vec<_>>().join(" ");
        let text = format!(
            "missing=''; for p in {list}; do dpkg-query -W -f='${{Status}}' \"$p\" 2>/dev/null | grep -q 'ok installed' || missing=\"$missing $p\"; done; \
             [ -z \"$missing\" ] && exit 0; \
             printf '#!/bin/sh\\nexit 101\\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d; \
             export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing; rc=$?; \
             rm -f /usr/sbin/policy-rc.d; exit $rc"
        );
        self.run_on(node, topo, "install.packages", &text)
    }

    fn check_ctx(&self, address: &str) -> minijinja::Value {
        let topo = self.topo.get().cloned().unwrap_or_else(|| Topology { nodes: vec![(String::new(), address.to_string())] });
        node_context(self.name(), &topo, address, &self.db_args)
    }

    /// The client program, as the file describes it (its venv made, its
    /// templates rendered).
    pub fn command(&self) -> Result<Arc<ClientCommand>, DbError> {
        if let Some(c) = self.client.get() {
            return Ok(c.clone());
        }
        let spec = &self.file.spec.client;
        let python = super::venv::ensure(self.name(), &spec.python).map_err(|e| DbError::Local(e.to_string()))?;
        let dir = std::fs::canonicalize(&self.file.dir).unwrap_or_else(|_| self.file.dir.clone());
        let helpers = super::helpers::ensure().map_err(|e| DbError::Local(e.to_string()))?;
        let ctx = client_context(self.name(), &python.display().to_string(), &dir.display().to_string(), &helpers.display().to_string());
        let bad = |key: String, e: TemplateError| DbError::Sut(format!("{}: {key}: {e}", self.file.path.display()));
        let argv =
            spec.command.iter().enumerate().map(|(i, a)| render(a, &ctx).map_err(|e| bad(format!("client.command[{i}]"), e))).collect::<Result<_, _>>()?;
        let mut env: Vec<(String, String)> =
            spec.env.iter().map(|(k, v)| Ok((k.clone(), render(v, &ctx).map_err(|e| bad(format!("client.env.{k}"), e))?))).collect::<Result<_, DbError>>()?;
        // `--client-env` last: it overrides the file's own
        env.extend(self.client_env.iter().cloned());
        let c = Arc::new(ClientCommand { argv, dir, env, fs: spec.fs.clone() });
        Ok(self.client.get_or_init(|| c).clone())
    }
}

impl Db for FileDb {
    fn name(&self) -> &str {
        FileDb::name(self)
    }

    fn prepare(&self) -> Result<(), DbError> {
        let pkgs: Vec<&str> = self.file.spec.control.packages.iter().map(String::as_str).collect();
        let missing: Vec<&str> = pkgs
            .into_iter()
            .filter(|p| !control::local::succeeds(&["sh", "-c", &format!("dpkg-query -W -f='${{Status}}' {} 2>/dev/null | grep -q 'ok installed'", quote(p))]))
            .collect();
        control::packages::apt_install(&missing).map_err(|e| DbError::Local(e.to_string()))?;
        self.command().map(|_| ())
    }

    fn setup(&self, node: &NodeClient, topo: &Topology) -> Result<(), DbError> {
        let _ = self.topo.set(topo.clone());
        self.install_packages(node, topo)?;
        let ctx = node_context(self.name(), topo, &node.node().address, &self.db_args);
        for (i, f) in self.file.spec.install.files.iter().enumerate() {
            let key = format!("install.files[{i}]");
            let local: PathBuf = self.file.dir.join(&f.from);
            let bytes = std::fs::read(&local).map_err(|e| self.sut(&key, node, format!("{}: {e}", local.display())))?;
            let bytes = if f.template { render(&String::from_utf8_lossy(&bytes), &ctx).map_err(|e| self.sut(&key, node, e))?.into_bytes() } else { bytes };
            let to = render(&f.to, &ctx).map_err(|e| self.sut(&key, node, e))?;
            let dir = std::path::Path::new(&to).parent().map(|d| d.display().to_string()).unwrap_or_else(|| "/".into());
            node.run(&Cmd::new(["mkdir", "-p", &dir]).sudo())?;
            let mode = f.mode.as_deref().and_then(|m| i32::from_str_radix(m, 8).ok()).unwrap_or(0o644);
            node.upload_bytes(&mut bytes.as_slice(), &to, mode)?;
        }
        for (i, c) in self.file.spec.install.commands.iter().enumerate() {
            self.run_on(node, topo, &format!("install.commands[{i}]"), c)?;
        }
        Ok(())
    }

    fn start(&self, node: &NodeClient, topo: &Topology) -> Result<(), DbError> {
        self.file.spec.processes.iter().enumerate().try_for_each(|(i, p)| self.start_process(node, topo, i, p))
    }

    fn teardown(&self, node: &NodeClient) -> Result<(), DbError> {
        for p in &self.file.spec.processes {
            self.signal_process(node, p, "KILL")?;
        }
        let topo = self.topology(&node.node().name, &node.node().address);
        for (i, w) in self.file.spec.wipe.iter().enumerate() {
            self.run_on(node, &topo, &format!("wipe[{i}]"), w)?;
        }
        Ok(())
    }

    fn services(&self) -> Vec<Service> {
        self.file.spec.services.iter().map(|s| Service { name: s.name.clone(), port: s.tcp.unwrap_or(0) }).collect()
    }

    fn probe<'a>(&'a self, http: &'a reqwest::Client, address: &'a str, service: &'a str, timeout: Duration) -> BoxFuture<'a, Result<(), NotReady>> {
        Box::pin(async move {
            let Some(s) = self.file.spec.services.iter().find(|s| s.name == service) else {
                return Err(NotReady::Unknown(format!("{} has no service {service:?}", self.name())));
            };
            checks::run(&s.check(), &self.check_ctx(address), address, http, timeout).await
        })
    }

    fn node_ready<'a>(&'a self, http: &'a reqwest::Client, address: &'a str) -> BoxFuture<'a, Result<(), NotReady>> {
        Box::pin(async move {
            match &self.file.spec.ready.node {
                Some(c) => checks::run(c, &self.check_ctx(address), address, http, Duration::from_secs(5)).await,
                None => {
                    for s in &self.file.spec.services {
                        checks::run(&s.check(), &self.check_ctx(address), address, http, Duration::from_secs(2)).await.map_err(|e| e.in_service(&s.name))?;
                    }
                    Ok(())
                }
            }
        })
    }

    fn cluster_ready<'a>(&'a self, http: &'a reqwest::Client, topo: &'a Topology) -> BoxFuture<'a, Result<(), NotReady>> {
        Box::pin(async move {
            let Some(c) = &self.file.spec.ready.cluster else { return Ok(()) };
            let first = topo.nodes.first().map(|(_, a)| a.as_str()).unwrap_or_default();
            checks::run(c, &cluster_context(self.name(), topo), first, http, Duration::from_secs(5)).await
        })
    }

    fn client(&self, _http: &reqwest::Client, at: &Endpoint, timeout: Duration) -> Box<dyn Client> {
        match self.command() {
            Ok(c) => Box::new(StdioClient::new(c, at.clone(), timeout)),
            // prepare() made it; were it to fail now, every op says why
            Err(e) => Box::new(StdioClient::new(
                Arc::new(ClientCommand { argv: vec![format!("(client unavailable: {e})")], dir: PathBuf::from("/"), env: vec![], fs: None }),
                at.clone(),
                timeout,
            )),
        }
    }

    fn data_dirs(&self) -> Vec<String> {
        self.file.spec.data_dirs.clone()
    }

    fn data_files(&self) -> Vec<String> {
        self.file.spec.data_files.clone()
    }

    fn log_files(&self) -> Vec<String> {
        let mut v = self.file.spec.logs.clone();
        v.extend(self.file.spec.processes.iter().filter(|p| p.command.is_some()).map(|p| self.log_of(p)));
        v
    }

    fn as_kill(&self) -> Option<&dyn Kill> {
        self.file.spec.processes.iter().any(|p| p.kill).then_some(self as &dyn Kill)
    }

    fn as_pause(&self) -> Option<&dyn Pause> {
        self.pause.is_some().then_some(self as &dyn Pause)
    }

    fn as_primary(&self) -> Option<&dyn Primary> {
        self.file.spec.primary.is_some().then_some(self as &dyn Primary)
    }

    fn as_membership(&self) -> Option<&dyn crate::Membership> {
        self.file.spec.membership.is_some().then_some(self as &dyn crate::Membership)
    }
}

impl Kill for FileDb {
    fn kill(&self, node: &NodeClient) -> Result<(), DbError> {
        self.file.spec.processes.iter().filter(|p| p.kill).try_for_each(|p| self.signal_process(node, p, "KILL"))
    }

    fn restart(&self, node: &NodeClient, topo: &Topology) -> Result<(), DbError> {
        self.file.spec.processes.iter().enumerate().filter(|(_, p)| p.kill).try_for_each(|(i, p)| self.start_process(node, topo, i, p))
    }
}

impl Pause for FileDb {
    fn pause_pattern(&self) -> &str {
        self.pause.as_deref().unwrap_or("^$")
    }
}

impl Primary for FileDb {
    fn primary<'a>(&'a self, _http: &'a reqwest::Client, topo: &'a Topology) -> BoxFuture<'a, Option<String>> {
        Box::pin(async move {
            let p = self.file.spec.primary.as_ref()?;
            let out = control_command(&p.command, &cluster_context(self.name(), topo), Duration::from_secs(5)).await.ok()?;
            checks::named_node(&out, &topo.nodes)
        })
    }
}
