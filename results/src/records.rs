//! `test.json` and `run.json`, and reading and writing records.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// Reading or writing a record failed.
#[derive(Debug)]
pub struct RecordError {
    /// The file.
    pub path: PathBuf,
    /// What went wrong.
    pub cause: String,
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.cause)
    }
}

impl std::error::Error for RecordError {}

/// Reads a record from a JSON file.
pub fn read<T: DeserializeOwned>(path: &Path) -> Result<T, RecordError> {
    let err = |cause: String| RecordError { path: path.to_path_buf(), cause };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| err(e.to_string()))
}

/// Writes a record as pretty JSON (to a temporary file renamed into place).
pub fn write<T: Serialize>(path: &Path, value: &T) -> Result<(), RecordError> {
    let err = |cause: String| RecordError { path: path.to_path_buf(), cause };
    let text = serde_json::to_string_pretty(value).map_err(|e| err(e.to_string()))?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, text + "\n").map_err(|e| err(e.to_string()))?;
    std::fs::rename(&tmp, path).map_err(|e| err(e.to_string()))
}

/// A node of the run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeRecord {
    /// Its name.
    pub name: String,
    /// Its address.
    pub address: String,
    /// The SSH user.
    #[serde(default)]
    pub user: String,
}

/// `test.json`: what was asked for.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TestRecord {
    /// The run's name in the store.
    pub name: String,
    /// The system under test.
    pub db: String,
    /// The workload.
    pub workload: String,
    /// The fault kinds.
    #[serde(default)]
    pub nemesis: Vec<String>,
    /// The seed of every random choice.
    pub seed: u64,
    /// Every option of the run, as the runner resolved them (shown as
    /// they are; the runner reads them back with its own type).
    #[serde(default)]
    pub options: Value,
    /// The config file's text, if one was given.
    #[serde(default)]
    pub config_file: Option<String>,
    /// The exact command line.
    #[serde(default)]
    pub command_line: Vec<String>,
    /// faultline's version.
    #[serde(default)]
    pub faultline_version: String,
    /// When the run started (RFC 3339).
    #[serde(default)]
    pub started_at: String,
    /// The nodes.
    #[serde(default)]
    pub nodes: Vec<NodeRecord>,
    /// What the nodes are (`lxc`, `vm`, `vagrant`, `memory`).
    #[serde(default)]
    pub backend: Option<String>,
    /// Host key checking, as the nodes file set it.
    #[serde(default)]
    pub host_key_check: Option<Value>,
    /// The version of the system under test that ran (what its binary
    /// says; written once it is installed): trends compare like with like.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sut_version: Option<String>,
}

/// Start-up times, from the timed readiness.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Startup {
    /// Per node: seconds from start to ready, or `None` if never ready.
    pub nodes: Vec<(String, Option<f64>)>,
    /// Seconds from start until the whole cluster was ready.
    pub cluster: Option<f64>,
    /// For nodes (or the cluster) not ready by the deadline: the last probe
    /// error.
    pub not_ready: Vec<(String, String)>,
}

impl Startup {
    /// True when the cluster became ready.
    pub fn ready(&self) -> bool {
        self.cluster.is_some()
    }
}

/// `run.json`: what happened during a run besides the history.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunFacts {
    /// Start-up times per node and for the cluster.
    #[serde(default)]
    pub startup: Option<Startup>,
    /// An infrastructure failure: no verdict on the SUT.
    #[serde(default)]
    pub infrastructure_error: Option<String>,
    /// Faults the nodes cannot do (the run was refused before it started).
    #[serde(default)]
    pub refused: Option<String>,
    /// Problems met while healing (each is also in faultline.log).
    #[serde(default)]
    pub heal_errors: Vec<String>,
    /// The run was interrupted (SIGINT / SIGTERM).
    #[serde(default)]
    pub interrupted: bool,
    /// The fault schedule that was planned.
    #[serde(default)]
    pub schedule: Vec<Value>,
    /// Each node's start-up phases, read from its log.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub startup_phases: Vec<(String, Vec<Phase>)>,
    /// The version of the system that ran (what its binary says).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sut_version: Option<String>,
    /// Faults applied while the system started, and their closing inverses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub startup_faults: Vec<StartupFault>,
    /// What the system read of the run itself, by name (a log system: the seals
    /// its nodes logged), each in its own type: read back by the system.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub own: BTreeMap<String, Value>,
    /// The runner's lifecycle phases reached, each with when it began (s
    /// after the run's preflight began): where a run that ended early stopped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lifecycle: Vec<Phase>,
}

/// A start-up phase of one node, from its log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Phase {
    /// What was reached (`metadata member`).
    pub name: String,
    /// Seconds after the node's process started (its own clock).
    pub at_s: f64,
}

/// A fault applied while the system started (a scenario's `startup_plan`),
/// or the inverse that closed it once the system was ready.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StartupFault {
    /// Milliseconds after the nodes were started.
    pub at_ms: u64,
    /// The fault, as planned.
    pub fault: Value,
    /// Its history name (`seal-log`).
    pub f: String,
    /// What the system recorded, or the error.
    pub value: Value,
    /// The error, when it could not be applied.
    pub error: Option<String>,
}
