//! The system under test as the runner sees it: one unit that installs,
//! starts, waits for, probes, serves clients to, injects faults into and
//! tears down a cluster. [`Remote`] is any [`Db`] on real nodes over SSH;
//! [`InMemory`] the in-process cluster of [`systems::memory`].

use super::log::Log;
use control::{Cluster, Cmd, NodeClient, NodesFile, Options};
use nuclei::{Injector, Nemesis};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use systems::memory::{Memory, MemoryClient};
use systems::{wait_ready, BoxFuture, Client, Db, DbTarget, Endpoint, NoopClient, NotReady, Startup, Topology};

/// What the runner needs from a system under test.
pub trait System: Send + Sync {
    /// Its name (`etcd`, `restate`, `memory`).
    fn name(&self) -> &str;
    /// Every node's name and address.
    fn topology(&self) -> &Topology;
    /// Every node answers (before anything is changed). The default (an
    /// in-process system): yes.
    fn preflight(&self) -> Result<(), String> {
        Ok(())
    }
    /// Its fault injector.
    fn injector(&self) -> &dyn Injector;
    /// True when the run may go on simulated time: the system lives in
    /// this process and every wait of its clients and injector is a tokio
    /// timer (`systems::clock`). The default: no, the real clock.
    fn simulated(&self) -> bool {
        false
    }
    /// Installs it on every node, removing what an earlier run left. The
    /// default: nothing to install.
    fn install(&self) -> Result<(), String> {
        Ok(())
    }
    /// The version that runs, once installed. The default: none known.
    fn version(&self) -> Option<String> {
        None
    }
    /// Starts it on every node (no waiting). The default: it runs already.
    fn start(&self) -> Result<(), String> {
        Ok(())
    }
    /// Cluster-wide initialisation once started, retried to the deadline.
    /// The default: none.
    fn bootstrap(&self, _deadline: Duration) -> BoxFuture<'_, Result<(), NotReady>> {
        Box::pin(async { Ok(()) })
    }
    /// Waits until every node and the cluster are ready, timing each. The
    /// default: ready at once.
    fn wait_ready(&self, started: Instant, _deadline: Duration) -> BoxFuture<'_, Startup> {
        let took = started.elapsed().as_secs_f64();
        let nodes = self.topology().nodes.iter().map(|(n, _)| (n.clone(), Some(took))).collect();
        Box::pin(async move { Startup { nodes, cluster: Some(took), not_ready: Vec::new() } })
    }
    /// Its services' names, each probed on every node.
    fn services(&self) -> Vec<String>;
    /// Probes one service of node `node` (its index).
    fn probe<'a>(&'a self, node: usize, service: &'a str, timeout: Duration) -> BoxFuture<'a, Result<(), NotReady>>;
    /// A client for logical process `process` on node `node` (its index).
    fn client(&self, node: usize, process: u64, timeout: Duration) -> Box<dyn Client>;
    /// Who leads now, when the system can name its primary (none: no node
    /// leads, or it cannot say). The default: it cannot.
    fn primary(&self) -> BoxFuture<'_, Option<String>> {
        Box::pin(async { None })
    }
    /// True when [`System::primary`] can name a node at all.
    fn names_primary(&self) -> bool {
        false
    }
    /// The workload starts now: the history's time 0 (`t0` on the run's
    /// clock, `start_unix_ns` on the wall clock). The default: nothing.
    fn workload_started(&self, _t0: Instant, _start_unix_ns: i64) {}
    /// Copies each node's logs into `dir/<node>/`; the problems met. The
    /// default: no logs.
    fn collect_logs(&self, _dir: &Path) -> Vec<String> {
        Vec::new()
    }
    /// Each node's start-up phases, read from the logs collected in `dir`.
    /// The default: none known.
    fn startup_phases(&self, _dir: &Path) -> Vec<(String, Vec<results::Phase>)> {
        Vec::new()
    }
    /// What the system reads of the run itself once it ended, by name (its
    /// nodes' logs collected in `dir`; the history's time 0 at
    /// `start_unix_s`; `faults`: each fault the run applied). The default:
    /// nothing.
    fn own_facts(&self, _dir: &Path, _start_unix_s: f64, _faults: &[&str]) -> std::collections::BTreeMap<String, serde_json::Value> {
        Default::default()
    }
    /// The last lines of each node's log, for an error message.
    fn last_log_lines(&self) -> String {
        String::new()
    }
    /// Stops it and removes its data on every node; the problems met. The
    /// default: nothing to remove.
    fn teardown(&self) -> Vec<String> {
        Vec::new()
    }
}

/// A [`Db`] on real nodes, reached over SSH.
pub struct Remote {
    cluster: Arc<Cluster>,
    db: Arc<dyn Db>,
    topo: Topology,
    http: reqwest::Client,
    nemesis: Nemesis,
}

impl Remote {
    /// `db` on the nodes of `nodes`.
    pub fn new(nodes: &NodesFile, db: Arc<dyn Db>) -> Remote {
        Remote::with(nodes, db, Default::default())
    }

    /// As [`Remote::new`], the page cache serving the data directories as
    /// `page_cache` says.
    pub fn with(nodes: &NodesFile, db: Arc<dyn Db>, page_cache: nuclei::disk::PageCache) -> Remote {
        let cluster = Arc::new(Cluster::new(nodes.resolve(), Options::default()));
        let topo = Topology { nodes: cluster.clients().iter().map(|c| (c.node().name.clone(), c.node().address.clone())).collect() };
        let target = Arc::new(DbTarget::new(db.clone(), topo.clone()));
        let nemesis = Nemesis::new(cluster.clone(), target).with_page_cache(page_cache);
        let http = reqwest::Client::builder().pool_max_idle_per_host(64).build().unwrap_or_default();
        Remote { cluster, db, topo, http, nemesis }
    }

    fn on_all(&self, f: impl Fn(&NodeClient) -> Result<(), systems::DbError> + Sync) -> Result<(), String> {
        self.cluster.on_all(f).into_iter().try_for_each(|(n, r)| r.map_err(|e| format!("{n}: {e}")))
    }
}

impl System for Remote {
    fn name(&self) -> &str {
        self.db.name()
    }
    fn topology(&self) -> &Topology {
        &self.topo
    }
    fn preflight(&self) -> Result<(), String> {
        self.cluster.preflight().map_err(|errs| format!("nodes unreachable: {}", errs.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; ")))
    }
    fn injector(&self) -> &dyn Injector {
        &self.nemesis
    }
    fn primary(&self) -> BoxFuture<'_, Option<String>> {
        Box::pin(async move {
            match self.db.as_primary() {
                Some(p) => p.primary(&self.http, &self.topo).await,
                None => None,
            }
        })
    }
    fn names_primary(&self) -> bool {
        self.db.as_primary().is_some()
    }
    fn install(&self) -> Result<(), String> {
        self.db.prepare().map_err(|e| e.to_string())?;
        self.on_all(|c| self.db.teardown(c).and_then(|_| self.db.setup(c, &self.topo)))
    }
    fn start(&self) -> Result<(), String> {
        self.on_all(|c| self.db.start(c, &self.topo))
    }
    fn version(&self) -> Option<String> {
        self.db.version()
    }
    fn bootstrap(&self, deadline: Duration) -> BoxFuture<'_, Result<(), NotReady>> {
        self.db.bootstrap(&self.http, &self.topo, deadline)
    }
    fn wait_ready(&self, started: Instant, deadline: Duration) -> BoxFuture<'_, Startup> {
        Box::pin(wait_ready(&*self.db, &self.http, &self.topo, started, deadline))
    }
    fn services(&self) -> Vec<String> {
        self.db.services().into_iter().map(|s| s.name).collect()
    }
    fn probe<'a>(&'a self, node: usize, service: &'a str, timeout: Duration) -> BoxFuture<'a, Result<(), NotReady>> {
        let addr = self.topo.nodes.get(node).map(|(_, a)| a.as_str()).unwrap_or("");
        self.db.probe(&self.http, addr, service, timeout)
    }
    fn client(&self, node: usize, process: u64, timeout: Duration) -> Box<dyn Client> {
        let (name, address) = self.topo.nodes.get(node).cloned().unwrap_or_default();
        let nodes = self.topo.nodes.iter().map(|(n, a)| format!("{n}={a}")).collect::<Vec<_>>().join(",");
        self.db.client(&self.http, &Endpoint { node: name, address, process, nodes }, timeout)
    }
    fn collect_logs(&self, dir: &Path) -> Vec<String> {
        let results = self.cluster.on_all(|c| {
            let d: PathBuf = dir.join(&c.node().name);
            std::fs::create_dir_all(&d).map_err(|e| e.to_string())?;
            for f in self.db.log_files() {
                let name = Path::new(&f).file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "log".into());
                c.download(&f, &d.join(name)).map_err(|e| e.to_string())?;
            }
            Ok::<(), String>(())
        });
        results.into_iter().filter_map(|(n, r)| r.err().map(|e| format!("logs of {n}: {e}"))).collect()
    }
    fn startup_phases(&self, dir: &Path) -> Vec<(String, Vec<results::Phase>)> {
        let mut out = Vec::new();
        for (node, _) in &self.topo.nodes {
            for f in self.db.log_files() {
                let name = Path::new(&f).file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
                let Ok(text) = std::fs::read_to_string(dir.join(node).join(&name)) else { continue };
                let phases = self.db.startup_phases(&f, &text);
                if !phases.is_empty() {
                    out.push((node.clone(), phases));
                }
            }
        }
        out
    }
    fn own_facts(&self, dir: &Path, start_unix_s: f64, faults: &[&str]) -> std::collections::BTreeMap<String, serde_json::Value> {
        self.db.as_own().map(|o| o.facts(dir, &self.topo, start_unix_s, faults)).unwrap_or_default()
    }
    fn last_log_lines(&self) -> String {
        let Some(file) = self.db.log_files().into_iter().next() else { return String::new() };
        self.cluster
            .on_all(|c| c.exec(&Cmd::new(["tail", "-n", "5", &file])).map(|o| o.stdout).unwrap_or_else(|e| e.to_string()))
            .into_iter()
            .map(|(n, t)| format!("--- {n} {file}:\n{}", t.trim_end()))
            .collect::<Vec<_>>()
            .join("\n")
    }
    fn teardown(&self) -> Vec<String> {
        self.cluster.on_all(|c| self.db.teardown(c)).into_iter().filter_map(|(n, r)| r.err().map(|e| format!("{n}: teardown: {e}"))).collect()
    }
}

/// The in-memory cluster, as a system under test.
pub struct InMemory {
    mem: Arc<Memory>,
    topo: Topology,
}

impl InMemory {
    /// An in-memory cluster of `n` nodes with `bugs`.
    pub fn new(n: usize, bugs: &[systems::memory::Bug]) -> InMemory {
        let mem = Memory::new(n, bugs);
        let topo = Topology { nodes: mem.nodes().iter().map(|n| (n.clone(), format!("memory:{n}"))).collect() };
        InMemory { mem, topo }
    }
}

impl System for InMemory {
    fn name(&self) -> &str {
        "memory"
    }
    fn topology(&self) -> &Topology {
        &self.topo
    }
    fn simulated(&self) -> bool {
        true
    }
    fn injector(&self) -> &dyn Injector {
        &*self.mem
    }
    fn primary(&self) -> BoxFuture<'_, Option<String>> {
        let who = self.mem.primary();
        Box::pin(async move { who })
    }
    fn names_primary(&self) -> bool {
        true
    }
    fn workload_started(&self, t0: Instant, start_unix_ns: i64) {
        self.mem.start_clock(t0, start_unix_ns);
    }
    fn collect_logs(&self, dir: &Path) -> Vec<String> {
        self.mem.write_logs(dir)
    }
    fn services(&self) -> Vec<String> {
        vec!["client".into()]
    }
    fn probe<'a>(&'a self, node: usize, _service: &'a str, timeout: Duration) -> BoxFuture<'a, Result<(), NotReady>> {
        Box::pin(async move {
            let name = self.topo.nodes.get(node).map(|(n, _)| n.as_str()).unwrap_or("");
            if self.mem.serving(name) {
                Ok(())
            } else {
                tokio::time::sleep(timeout.min(Duration::from_millis(200))).await;
                Err(NotReady::Unreachable("timeout".into()))
            }
        })
    }
    fn client(&self, node: usize, _process: u64, _timeout: Duration) -> Box<dyn Client> {
        let name = self.topo.nodes.get(node).map(|(n, _)| n.as_str()).unwrap_or("n1");
        match MemoryClient::new(self.mem.clone(), name) {
            Ok(c) => Box::new(c),
            Err(_) => Box::new(NoopClient),
        }
    }
}

/// Logs each problem of a list.
pub fn say_all(log: &Log, problems: &[String]) {
    for p in problems {
        log.say(p);
    }
}
