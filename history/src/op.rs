//! The operation: one line of a history, with Jepsen's fields.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use std::fmt;

/// What kind of event an [`Op`] records.
///
/// An `invoke` opens an operation on a process; exactly one of `ok`, `fail` or
/// `info` completes it:
/// - `ok`: the operation took effect, and `value` is what it returned;
/// - `fail`: the operation definitely did not take effect (but see
///   [`crate::Semantics`] for sources where a failed compare-and-set is an
///   observation);
/// - `info`: the outcome is unknown. The operation may or may not have taken
///   effect, at any time after its invocation: it stays open to the end of the
///   history, and the process that issued it is never reused (Jepsen's rule).
///
/// Nemesis (fault) events are `info` ops of the nemesis process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpType {
    /// The start of an operation.
    Invoke,
    /// A successful completion.
    Ok,
    /// A definite failure: the operation did not happen.
    Fail,
    /// An indeterminate completion (or a nemesis event).
    Info,
}

impl OpType {
    /// Parses `invoke` / `ok` / `fail` / `info`, with or without a leading `:`.
    pub fn parse(s: &str) -> Option<OpType> {
        match s.strip_prefix(':').unwrap_or(s) {
            "invoke" => Some(OpType::Invoke),
            "ok" => Some(OpType::Ok),
            "fail" => Some(OpType::Fail),
            "info" => Some(OpType::Info),
            _ => None,
        }
    }

    /// The lowercase name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            OpType::Invoke => "invoke",
            OpType::Ok => "ok",
            OpType::Fail => "fail",
            OpType::Info => "info",
        }
    }
}

/// Who performed an operation: a client process (a logical thread of the
/// test, an integer) or the nemesis that injects faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Process {
    /// A client process. After an `info` completion a client continues under
    /// a new process number.
    Client(u64),
    /// The fault injector.
    Nemesis,
}

impl Process {
    /// The client number, or `None` for the nemesis.
    pub fn client(self) -> Option<u64> {
        match self {
            Process::Client(p) => Some(p),
            Process::Nemesis => None,
        }
    }
}

impl fmt::Display for Process {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Process::Client(p) => write!(f, "{p}"),
            Process::Nemesis => f.write_str("nemesis"),
        }
    }
}

impl Serialize for Process {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Process::Client(p) => s.serialize_u64(*p),
            Process::Nemesis => s.serialize_str("nemesis"),
        }
    }
}

impl<'de> Deserialize<'de> for Process {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Process;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a non-negative integer or \"nemesis\"")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Process, E> {
                Ok(Process::Client(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Process, E> {
                u64::try_from(v).map(Process::Client).map_err(|_| E::custom(format!("negative process {v}")))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Process, E> {
                match v.strip_prefix(':').unwrap_or(v) {
                    "nemesis" => Ok(Process::Nemesis),
                    other => other.parse().map(Process::Client).map_err(|_| E::custom(format!("unknown process {v:?}"))),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// What a client op is for. The workload's checkers see `Client` and
/// `Final` ops; `Probe` ops only measure availability (the recovery
/// checker). Nemesis ops are told apart by their process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// An operation of the workload (the default, and what imported
    /// histories hold).
    #[default]
    Client,
    /// A read after the final heal and recovery period (still a workload op).
    Final,
    /// A health probe of one service (`value`) on one node (`node`).
    Probe,
}

impl Role {
    /// True for the default role (not written to files).
    pub fn is_client(&self) -> bool {
        *self == Role::Client
    }
}

/// One event of a history.
///
/// An operation is an interval: it was *invoked* at the `time` of its
/// `invoke` op and *completed* at the `time` of its `ok` / `fail` / `info` op
/// on the same process. A linearizable system makes each operation take
/// effect at one instant inside its interval; for an `info` completion the
/// interval has no end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Op {
    /// Position in the history, from 0, strictly increasing.
    #[serde(default)]
    pub index: u64,
    /// Nanoseconds since the test started, from the control node's monotonic
    /// clock. A [`crate::Header`] maps time 0 to a wall-clock instant.
    #[serde(default)]
    pub time: u64,
    /// The process that performed the op.
    pub process: Process,
    /// invoke / ok / fail / info.
    #[serde(rename = "type")]
    pub kind: OpType,
    /// The function: `read`, `write`, `cas`, `add`, `start-partition`, ...
    pub f: String,
    /// The argument (on invoke) or result (on completion); any JSON.
    #[serde(default)]
    pub value: Value,
    /// The node the client talked to, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// Why an op failed or is indeterminate (e.g. `timeout`, `refused`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Value>,
    /// What the op is for (absent: a workload op).
    #[serde(default, skip_serializing_if = "Role::is_client")]
    pub role: Role,
}

impl Op {
    /// An op with the given fields; `index`, `time`, `node` and `error` empty.
    pub fn new(process: Process, kind: OpType, f: &str, value: Value) -> Op {
        Op { index: 0, time: 0, process, kind, f: f.to_string(), value, node: None, error: None, role: Role::Client }
    }

    /// True for an op of the workload: a client's or a final read's, not a
    /// probe's or the nemesis's. The workload's checkers see only these.
    pub fn is_workload(&self) -> bool {
        self.process != Process::Nemesis && self.role != Role::Probe
    }

    /// True for a health probe's op.
    pub fn is_probe(&self) -> bool {
        self.role == Role::Probe
    }

    /// True for an `invoke`.
    pub fn is_invoke(&self) -> bool {
        self.kind == OpType::Invoke
    }

    /// True for `ok`, `fail` or `info` of a client (a completion).
    pub fn is_client_completion(&self) -> bool {
        self.kind != OpType::Invoke && self.process != Process::Nemesis
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{} p{} {} {} {}", self.index, self.process, self.kind.as_str(), self.f, self.value)?;
        if let Some(e) = &self.error {
            write!(f, " error={e}")?;
        }
        Ok(())
    }
}

/// The first line of a native history file: what the history is, and which
/// wall-clock instant `time` 0 stands for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Header {
    /// Format version; this crate writes 1.
    pub faultline_history: u32,
    /// Unix time in nanoseconds at which `time` = 0 was taken.
    #[serde(default)]
    pub start_unix_ns: i64,
    /// Free-form description (test name, run id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The workload that made the history (`register`, `set`, `append`),
    /// so that `faultline check` picks its checker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload: Option<String>,
    /// How the run checks it, so that `faultline check` judges a run's own
    /// history as the run did; absent in other histories.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<CheckSettings>,
}

/// What a run's checks were told beside the history (its flags).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckSettings {
    /// The consistency model transactions are checked against (Elle's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consistency: Option<String>,
    /// Reads were asked to be linearizable (not `--serializable`).
    pub linearizable_reads: bool,
    /// Appends slower than this many seconds are listed.
    pub slow_append_s: f64,
}

impl Header {
    /// A version-1 header for a test that started at `start_unix_ns`.
    pub fn new(start_unix_ns: i64) -> Header {
        Header { faultline_history: 1, start_unix_ns, name: None, workload: None, check: None }
    }

    /// The Unix time in nanoseconds of an op's `time`.
    pub fn wall_clock_ns(&self, time: u64) -> i64 {
        self.start_unix_ns.saturating_add(time as i64)
    }
}
