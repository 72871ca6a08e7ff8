//! The SUT interface: a small `Db` trait, optional abilities apart.

use crate::{Client, NotReady};
use control::{local, Cmd, ControlError, NodeClient};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// A boxed future, for the async probes of object-safe traits.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The cluster a node belongs to: every node's name and address.
#[derive(Debug, Clone, Default)]
pub struct Topology {
    /// (name, address) of every node, in order.
    pub nodes: Vec<(String, String)>,
}

impl Topology {
    /// The address of `name`.
    pub fn address(&self, name: &str) -> Option<&str> {
        self.nodes.iter().find(|(n, _)| n == name).map(|(_, a)| a.as_str())
    }
}

/// Where a client points: its node, its logical process, the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The node's name (`n1`).
    pub node: String,
    /// The node's address.
    pub address: String,
    /// The logical process number.
    pub process: u64,
    /// Every node as `name=address`, comma-separated.
    pub nodes: String,
}

/// Why an operation on the SUT's nodes failed.
#[derive(Debug, Clone)]
pub enum DbError {
    /// Talking to the node failed (infrastructure).
    Control(ControlError),
    /// The control node lacks something (a package, a binary).
    Local(String),
    /// The SUT did something unexpected.
    Sut(String),
}

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DbError::Control(e) => write!(f, "{e}"),
            DbError::Local(e) => write!(f, "control node: {e}"),
            DbError::Sut(e) => f.write_str(e),
        }
    }
}

impl std::error::Error for DbError {}

impl From<ControlError> for DbError {
    fn from(e: ControlError) -> Self {
        DbError::Control(e)
    }
}

/// One service of a SUT with a cheap health probe, for the recovery checker
/// (etcd: its client API; Restate: ingress, admin, metadata).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// Short name used in histories and reports (`client`, `ingress`).
    pub name: String,
    /// TCP port on each node.
    pub port: u16,
}

/// A system under test: how to install, start and remove it on one node,
/// what its services are, and what "ready" means.
pub trait Db: Send + Sync {
    /// Its name (`etcd`, `restate`).
    fn name(&self) -> &str;

    /// Prepares the control node once before any node (packages, binaries).
    fn prepare(&self) -> Result<(), DbError> {
        Ok(())
    }

    /// The version that runs (what its binary says), once prepared.
    fn version(&self) -> Option<String> {
        None
    }

    /// Installs and configures the SUT on a node (idempotent).
    fn setup(&self, node: &NodeClient, topo: &Topology) -> Result<(), DbError>;

    /// Starts the SUT's process on a node (no waiting).
    fn start(&self, node: &NodeClient, topo: &Topology) -> Result<(), DbError>;

    /// Cluster-wide initialisation, once, after every node was first
    /// started and before readiness is awaited (Restate: provision the
    /// cluster, register the SDK service); retried until `deadline`. The
    /// default: none.
    fn bootstrap<'a>(&'a self, _http: &'a reqwest::Client, _topo: &'a Topology, _deadline: Duration) -> BoxFuture<'a, Result<(), NotReady>> {
        Box::pin(async { Ok(()) })
    }

    /// Stops the SUT and removes its data from a node.
    fn teardown(&self, node: &NodeClient) -> Result<(), DbError>;

    /// The services and their ports.
    fn services(&self) -> Vec<Service>;

    /// Probes one service of the node at `address`: `Ok` when it answers
    /// as healthy within `timeout`.
    fn probe<'a>(&'a self, http: &'a reqwest::Client, address: &'a str, service: &'a str, timeout: Duration) -> BoxFuture<'a, Result<(), NotReady>>;

    /// Probes whether the node is ready for client operations. The default:
    /// every service answers its probe.
    fn node_ready<'a>(&'a self, http: &'a reqwest::Client, address: &'a str) -> BoxFuture<'a, Result<(), NotReady>> {
        Box::pin(async move {
            for s in self.services() {
                self.probe(http, address, &s.name, Duration::from_secs(2)).await.map_err(|e| e.in_service(&s.name))?;
            }
            Ok(())
        })
    }

    /// A cluster-wide readiness condition checked once every node is ready
    /// (Restate: every partition has a leader). The default: none.
    fn cluster_ready<'a>(&'a self, _http: &'a reqwest::Client, _topo: &'a Topology) -> BoxFuture<'a, Result<(), NotReady>> {
        Box::pin(async { Ok(()) })
    }

    /// A client for one logical process at `at`, each op bounded by `timeout`.
    fn client(&self, http: &reqwest::Client, at: &Endpoint, timeout: Duration) -> Box<dyn Client>;

    /// The directories it keeps its data in on each node (absolute): what
    /// `lose-unsynced` serves through faultline's page cache. The default:
    /// none (it cannot lose unsynced data).
    fn data_dirs(&self) -> Vec<String> {
        Vec::new()
    }

    /// Which files under its data directories hold its data (`find -path`
    /// patterns, `*/member/wal/*.wal`): what `corrupt` picks from. The
    /// default: any file.
    fn data_files(&self) -> Vec<String> {
        Vec::new()
    }

    /// Log files on each node, collected after a run.
    fn log_files(&self) -> Vec<String> {
        Vec::new()
    }

    /// The start-up phases a node's log file (one of [`Db::log_files`],
    /// with its text) shows. The default: none known.
    fn startup_phases(&self, _log_file: &str, _text: &str) -> Vec<results::Phase> {
        Vec::new()
    }

    /// Kill and restart, if the SUT supports them.
    fn as_kill(&self) -> Option<&dyn Kill> {
        None
    }

    /// Pause and resume, if the SUT supports them.
    fn as_pause(&self) -> Option<&dyn Pause> {
        None
    }

    /// The current leader or primary, if the SUT exposes one.
    fn as_primary(&self) -> Option<&dyn Primary> {
        None
    }

    /// Faults it applies itself through its own tools, if any.
    fn as_faults(&self) -> Option<&dyn SystemFaults> {
        None
    }

    /// Its membership, if faultline can change it (`--nemesis membership`).
    fn as_membership(&self) -> Option<&dyn Membership> {
        None
    }

    /// What it reads of a run, checks and shows in the report of its own,
    /// if any.
    fn as_own(&self) -> Option<&dyn crate::OwnRun> {
        None
    }
}

/// Faults on the system itself (Restate: log reconfiguration and seals,
/// wipes, leadership, metadata membership), through its own tools: it
/// declares them, checks their arguments and applies them; the nemesis,
/// schedules, plans, shrink, the heal and the report take them as they take
/// the shared faults.
pub trait SystemFaults: Send + Sync {
    /// Its faults: one package each (of kind `nuclei::Kind::System`), with
    /// its `--nemesis` name, the `f`s that open and close its windows, and
    /// what a scheduled window names.
    fn packages(&self) -> &'static [nuclei::Package];
    /// Checks a fault's arguments before a run (the error names the
    /// argument). The default: any.
    fn check(&self, _fault: &nuclei::SystemFault) -> Result<(), String> {
        Ok(())
    }
    /// Applies `fault` on the cluster `topo` (`nodes`: the nodes it names):
    /// what it did and saw, for the history.
    fn apply(&self, fault: &nuclei::SystemFault, topo: &Topology, nodes: &[&NodeClient]) -> Result<serde_json::Value, DbError>;
}

/// Crash and restart (`kill -9`, then start again).
pub trait Kill: Send + Sync {
    /// Kills the SUT's processes on the node with SIGKILL.
    fn kill(&self, node: &NodeClient) -> Result<(), DbError>;
    /// Starts the SUT again after a kill.
    fn restart(&self, node: &NodeClient, topo: &Topology) -> Result<(), DbError>;
}

/// Pause and resume (SIGSTOP / SIGCONT): the pause fault stops the
/// processes matching the pattern and resumes exactly those.
pub trait Pause: Send + Sync {
    /// The `pgrep -f` pattern (anchored) of the SUT's processes to stop.
    fn pause_pattern(&self) -> &str;
}

/// Membership changes (`remove-member`, `replace-member`, `add-member`):
/// each asked through a member that stays (`via`).
pub trait Membership: Send + Sync {
    /// The members as the system reports them (node names).
    fn members(&self, via: &NodeClient, topo: &Topology) -> Result<Vec<String>, DbError>;
    /// Takes `node` out of the membership: what it did, for the history.
    fn remove(&self, via: &NodeClient, node: &NodeClient, topo: &Topology) -> Result<serde_json::Value, DbError>;
    /// Adds `node` to the membership again and starts it there (its data
    /// wiped first when the system needs it): what it did.
    fn add(&self, via: &NodeClient, node: &NodeClient, topo: &Topology) -> Result<serde_json::Value, DbError>;
    /// Stops the system on `node` and deletes its data.
    fn wipe(&self, node: &NodeClient, topo: &Topology) -> Result<(), DbError>;
}

/// Who leads.
pub trait Primary: Send + Sync {
    /// The name of the current leader, asking the nodes over HTTP.
    fn primary<'a>(&'a self, http: &'a reqwest::Client, topo: &'a Topology) -> BoxFuture<'a, Option<String>>;
}

/// The sha256 of a file on the control node (to upload a binary only when
/// the node's copy differs).
pub(crate) fn sha256_local(path: &std::path::Path) -> Result<String, DbError> {
    let out = local::run(&["sha256sum", &path.to_string_lossy()]).map_err(|e| DbError::Local(e.to_string()))?;
    Ok(out.split_whitespace().next().unwrap_or_default().to_string())
}

/// The first line `binary --version` prints on the control node.
pub(crate) fn version_of(binary: &std::path::Path) -> Option<String> {
    let out = std::process::Command::new(binary).arg("--version").stdin(std::process::Stdio::null()).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines().next().map(|l| l.trim().to_string()).filter(|l| !l.is_empty())
}

/// Sends `sig` to the processes on `node` whose command line matches
/// `pattern` (none matching is fine).
pub(crate) fn signal(node: &NodeClient, sig: &str, pattern: &str) -> Result<(), DbError> {
    // pkill exits 1 when nothing matched
    let o = node.exec(&Cmd::new(["pkill", sig, "-f", pattern]))?;
    if o.status > 1 {
        return Err(DbError::Sut(format!("pkill {sig} on {}: {}", node.node().name, o.stderr.trim())));
    }
    Ok(())
}
