//! Faults as data, each with its named inverse.

use crate::corrupt::Chunks;
use crate::grudge::Grudge;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// One fault event: what the nemesis does at one instant. Its `f` names
/// pair up (`start-partition` / `stop-partition`, `kill` / `start`, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "f", rename_all = "kebab-case", remote = "Self")]
pub enum Fault {
    /// Drop packets per the grudge (only TCP to `ports` if not empty).
    StartPartition { grudge: Grudge, ports: Vec<u16> },
    /// Cut off the SUT's current leader or primary (found when applied;
    /// the grudge used is recorded).
    IsolatePrimary { ports: Vec<u16> },
    /// Heal every partition.
    StopPartition,
    /// Drop a fraction of packets per the grudge.
    StartLoss { grudge: Grudge, probability: f64 },
    /// Heal packet loss.
    StopLoss,
    /// Delay, jitter, loss and reordering on links from `nodes` (tc netem).
    StartSlow { nodes: Vec<String>, delay_ms: u32, jitter_ms: u32, loss_pct: f64, reorder_pct: f64 },
    /// Remove netem.
    StopSlow,
    /// kill -9 the SUT on these nodes.
    Kill { nodes: Vec<String> },
    /// Start the SUT again on these nodes.
    Start { nodes: Vec<String> },
    /// SIGSTOP the SUT on these nodes.
    Pause { nodes: Vec<String> },
    /// SIGCONT it.
    Resume { nodes: Vec<String> },
    /// Shift these nodes' clocks by the given milliseconds.
    BumpClock { offsets_ms: BTreeMap<String, i64> },
    /// Flip these nodes' clocks back and forth by `delta_ms` every `period_ms`.
    StrobeClock { nodes: Vec<String>, delta_ms: i64, period_ms: u64, duration_ms: u64 },
    /// Set these nodes' clocks back to the control node's time.
    ResetClock { nodes: Vec<String> },
    /// A power loss on these nodes: the SUT killed and every write to its
    /// data directories not yet fsynced dropped (faultline's page cache).
    LoseUnsynced { nodes: Vec<String> },
    /// Serve the data directories again and start the SUT on these nodes.
    Restart { nodes: Vec<String> },
    /// Flip bits of one data file on each of these nodes, the SUT killed
    /// first: each bit of the chosen chunks with `probability` (Jepsen's
    /// chunk size, modulus and index); the file and the bits drawn from
    /// `seed`. Its inverse `start` starts the SUT.
    Bitflip {
        nodes: Vec<String>,
        probability: f64,
        #[serde(flatten)]
        chunks: Chunks,
        #[serde(default)]
        seed: u64,
    },
    /// Drop the last `drop_bytes` of one data file (drawn from `seed`) on
    /// each of these nodes, the SUT killed first. Its inverse `start`.
    Truncate {
        nodes: Vec<String>,
        drop_bytes: u64,
        #[serde(default)]
        seed: u64,
    },
    /// Copy one data file (drawn from `seed`) on each of these nodes aside,
    /// the SUT running on; its inverse `restore` writes the chosen chunks
    /// of the copy back (a write lost or rolled back).
    Snapshot {
        nodes: Vec<String>,
        #[serde(flatten)]
        chunks: Chunks,
        #[serde(default)]
        seed: u64,
    },
    /// Kill the SUT on these nodes, write the snapshot's chunks back over
    /// the file, start the SUT.
    Restore { nodes: Vec<String> },
    /// Cut these nodes' power (their nodes file's power switch): the
    /// kernel's page cache and the disk's unflushed writes lost, data and
    /// metadata alike.
    PowerCut { nodes: Vec<String> },
    /// Switch them on, wait until they boot, and start the SUT.
    PowerOn { nodes: Vec<String> },
    /// Take these nodes out of the system's membership (through a member
    /// that stays), as the system does it; their data is left.
    RemoveMember { nodes: Vec<String> },
    /// Take these nodes out of the membership and wipe their data: its
    /// inverse adds each back as a new member.
    ReplaceMember { nodes: Vec<String> },
    /// Add these nodes to the membership again (wiped first when the
    /// system needs it) and start them.
    AddMember { nodes: Vec<String> },
    /// A fault the system applies through its own tools, as it declares
    /// it (its [`crate::Package`]s): its `f`, the nodes it names, its own
    /// arguments. Never derived: the shared faults are tagged by `f`, any
    /// other `f` is one of these.
    #[serde(skip)]
    System(SystemFault),
}

/// A fault on the system itself (a log seal, a wipe, a leader moved),
/// as data: the system reads its arguments in its own type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SystemFault {
    /// Its history name (`seal-log`).
    pub f: String,
    /// The nodes it acts on (none: the system as a whole).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<String>,
    /// Its own arguments (`logs`, `retry_ms`), read by the system.
    #[serde(flatten)]
    pub args: Map<String, Value>,
}

impl SystemFault {
    /// The fault `f` on `nodes`, with no arguments.
    pub fn new(f: &str, nodes: Vec<String>) -> SystemFault {
        SystemFault { f: f.to_string(), nodes, args: Map::new() }
    }

    /// Its arguments in the system's own type (an unknown or mistyped
    /// argument is an error naming the fault).
    pub fn args<T: serde::de::DeserializeOwned>(&self) -> Result<T, crate::FaultError> {
        serde_json::from_value(Value::Object(self.args.clone())).map_err(|e| crate::FaultError::Invalid(format!("{}: {e}", self.f)))
    }
}

/// Every shared fault's `f`: any other is a [`SystemFault`].
pub const SHARED_FS: [&str; 25] = [
    "start-partition",
    "isolate-primary",
    "stop-partition",
    "start-loss",
    "stop-loss",
    "start-slow",
    "stop-slow",
    "kill",
    "start",
    "pause",
    "resume",
    "bump-clock",
    "strobe-clock",
    "reset-clock",
    "lose-unsynced",
    "restart",
    "bitflip",
    "truncate",
    "snapshot",
    "restore",
    "power-cut",
    "power-on",
    "remove-member",
    "replace-member",
    "add-member",
];

impl Serialize for Fault {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Fault::System(f) => f.serialize(s),
            shared => Fault::serialize(shared, s),
        }
    }
}

impl<'de> Deserialize<'de> for Fault {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Fault, D::Error> {
        let v = Value::deserialize(d)?;
        let Some(f) = v.get("f").and_then(Value::as_str) else {
            return Err(D::Error::custom("a fault names its kind in \"f\" (kill, start-partition, ...)"));
        };
        if SHARED_FS.contains(&f) {
            Fault::deserialize(v).map_err(D::Error::custom)
        } else {
            SystemFault::deserialize(v).map(Fault::System).map_err(D::Error::custom)
        }
    }
}

/// What a node or the system must support for a fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Needs {
    /// iptables.
    Iptables,
    /// tc netem in the node's kernel.
    Netem,
    /// a clock of its own.
    Clock,
    /// the SUT's kill ability.
    Kill,
    /// the SUT's pause ability.
    Pause,
    /// the SUT's kill ability, its data directories, and FUSE on the nodes.
    Disk,
    /// the SUT's kill ability and its data directories (to corrupt files).
    Files,
    /// the SUT's kill ability (to start it after a boot) and a power
    /// switch on every node.
    Power,
    /// the SUT's membership ability (list, remove, add members).
    Membership,
    /// a fault the SUT declares and applies itself, through its own tools
    /// (its `f`).
    System(String),
}

impl Fault {
    /// The op name in the history.
    pub fn f(&self) -> &str {
        match self {
            Fault::StartPartition { .. } | Fault::IsolatePrimary { .. } => "start-partition",
            Fault::StopPartition => "stop-partition",
            Fault::StartLoss { .. } => "start-loss",
            Fault::StopLoss => "stop-loss",
            Fault::StartSlow { .. } => "start-slow",
            Fault::StopSlow => "stop-slow",
            Fault::Kill { .. } => "kill",
            Fault::Start { .. } => "start",
            Fault::Pause { .. } => "pause",
            Fault::Resume { .. } => "resume",
            Fault::BumpClock { .. } => "bump-clock",
            Fault::StrobeClock { .. } => "strobe-clock",
            Fault::ResetClock { .. } => "reset-clock",
            Fault::LoseUnsynced { .. } => "lose-unsynced",
            Fault::Restart { .. } => "restart",
            Fault::Bitflip { .. } => "bitflip",
            Fault::Truncate { .. } => "truncate",
            Fault::Snapshot { .. } => "snapshot",
            Fault::Restore { .. } => "restore",
            Fault::PowerCut { .. } => "power-cut",
            Fault::PowerOn { .. } => "power-on",
            Fault::RemoveMember { .. } => "remove-member",
            Fault::ReplaceMember { .. } => "replace-member",
            Fault::AddMember { .. } => "add-member",
            Fault::System(s) => &s.f,
        }
    }

    /// The shared fault that undoes this one (`None` for an inverse itself
    /// and for a fault on the system: its inverse is the system's to
    /// declare, [`crate::Catalog::inverse`]).
    pub(crate) fn shared_inverse(&self) -> Option<Fault> {
        Some(match self {
            Fault::StartPartition { .. } | Fault::IsolatePrimary { .. } => Fault::StopPartition,
            Fault::StartLoss { .. } => Fault::StopLoss,
            Fault::StartSlow { .. } => Fault::StopSlow,
            Fault::Kill { nodes } => Fault::Start { nodes: nodes.clone() },
            Fault::Pause { nodes } => Fault::Resume { nodes: nodes.clone() },
            Fault::BumpClock { offsets_ms } => Fault::ResetClock { nodes: offsets_ms.keys().cloned().collect() },
            Fault::StrobeClock { nodes, .. } => Fault::ResetClock { nodes: nodes.clone() },
            Fault::LoseUnsynced { nodes } => Fault::Restart { nodes: nodes.clone() },
            Fault::Bitflip { nodes, .. } | Fault::Truncate { nodes, .. } => Fault::Start { nodes: nodes.clone() },
            Fault::Snapshot { nodes, .. } => Fault::Restore { nodes: nodes.clone() },
            Fault::PowerCut { nodes } => Fault::PowerOn { nodes: nodes.clone() },
            Fault::RemoveMember { nodes } | Fault::ReplaceMember { nodes } => Fault::AddMember { nodes: nodes.clone() },
            _ => return None,
        })
    }

    /// What the nodes or the system must support.
    pub fn needs(&self) -> Needs {
        match self {
            Fault::StartPartition { .. } | Fault::IsolatePrimary { .. } | Fault::StopPartition | Fault::StartLoss { .. } | Fault::StopLoss => Needs::Iptables,
            Fault::StartSlow { .. } | Fault::StopSlow => Needs::Netem,
            Fault::Kill { .. } | Fault::Start { .. } => Needs::Kill,
            Fault::Pause { .. } | Fault::Resume { .. } => Needs::Pause,
            Fault::BumpClock { .. } | Fault::StrobeClock { .. } | Fault::ResetClock { .. } => Needs::Clock,
            Fault::LoseUnsynced { .. } | Fault::Restart { .. } => Needs::Disk,
            Fault::Bitflip { .. } | Fault::Truncate { .. } | Fault::Snapshot { .. } | Fault::Restore { .. } => Needs::Files,
            Fault::PowerCut { .. } | Fault::PowerOn { .. } => Needs::Power,
            Fault::RemoveMember { .. } | Fault::ReplaceMember { .. } | Fault::AddMember { .. } => Needs::Membership,
            Fault::System(s) => Needs::System(s.f.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shared_fault_has_a_named_inverse() {
        let n = vec!["n1".to_string()];
        let faults = [
            Fault::StartPartition { grudge: Grudge::new(), ports: vec![] },
            Fault::StartLoss { grudge: Grudge::new(), probability: 0.3 },
            Fault::StartSlow { nodes: n.clone(), delay_ms: 1, jitter_ms: 0, loss_pct: 0.0, reorder_pct: 0.0 },
            Fault::Kill { nodes: n.clone() },
            Fault::Pause { nodes: n.clone() },
            Fault::BumpClock { offsets_ms: [("n1".to_string(), 5)].into() },
            Fault::StrobeClock { nodes: n.clone(), delta_ms: 5, period_ms: 10, duration_ms: 100 },
            Fault::LoseUnsynced { nodes: n.clone() },
            Fault::Truncate { nodes: n.clone(), drop_bytes: 1, seed: 0 },
            Fault::Snapshot { nodes: n.clone(), chunks: Chunks::default(), seed: 0 },
            Fault::PowerCut { nodes: n.clone() },
            Fault::RemoveMember { nodes: n.clone() },
            Fault::ReplaceMember { nodes: n.clone() },
        ];
        let pairs: Vec<(&str, String)> = faults.iter().map(|f| (f.f(), f.shared_inverse().map(|i| i.f().to_string()).unwrap())).collect();
        let want = [
            ("start-partition", "stop-partition"),
            ("start-loss", "stop-loss"),
            ("start-slow", "stop-slow"),
            ("kill", "start"),
            ("pause", "resume"),
            ("bump-clock", "reset-clock"),
            ("strobe-clock", "reset-clock"),
            ("lose-unsynced", "restart"),
            ("truncate", "start"),
            ("snapshot", "restore"),
            ("power-cut", "power-on"),
            ("remove-member", "add-member"),
            ("replace-member", "add-member"),
        ];
        assert_eq!(pairs, want.map(|(a, b)| (a, b.to_string())));
        assert!(Fault::StopPartition.shared_inverse().is_none());
        let p = Fault::IsolatePrimary { ports: vec![] };
        assert_eq!((p.f(), p.shared_inverse().map(|i| i.f().to_string())), ("start-partition", Some("stop-partition".to_string())));
    }

    #[test]
    fn faults_are_json_with_their_f() {
        let f = Fault::Kill { nodes: vec!["n2".into()] };
        let v = serde_json::to_value(&f).unwrap();
        assert_eq!(v, serde_json::json!({"f": "kill", "nodes": ["n2"]}));
        assert_eq!(serde_json::from_value::<Fault>(v).unwrap(), f);
        let p = Fault::IsolatePrimary { ports: vec![] };
        assert_eq!(serde_json::from_value::<Fault>(serde_json::to_value(&p).unwrap()).unwrap(), p);
    }

    #[test]
    fn any_other_f_is_a_fault_on_the_system_with_its_own_arguments() {
        let v = serde_json::json!({"f": "seal-log", "logs": [0, 1], "retry_ms": 5000});
        let Fault::System(s) = serde_json::from_value::<Fault>(v.clone()).unwrap() else { panic!("not a system fault") };
        assert_eq!((s.f.as_str(), s.nodes.len()), ("seal-log", 0));
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Logs {
            logs: Vec<u32>,
            retry_ms: u64,
        }
        let a: Logs = s.args().unwrap();
        assert_eq!((a.logs, a.retry_ms), (vec![0, 1], 5000));
        assert_eq!(serde_json::to_value(Fault::System(s.clone())).unwrap(), v);
        // a mistyped argument names the fault
        let bad = serde_json::from_value::<Fault>(serde_json::json!({"f": "seal-log", "logs": "all"})).unwrap();
        let Fault::System(bad) = bad else { panic!() };
        assert!(bad.args::<Logs>().unwrap_err().to_string().starts_with("seal-log: "));
        // a shared fault keeps its precise error; no f at all is named
        let e = serde_json::from_value::<Fault>(serde_json::json!({"f": "kill", "nodes": "n1"})).unwrap_err().to_string();
        assert!(e.contains("expected a sequence"), "{e}");
        let e = serde_json::from_value::<Fault>(serde_json::json!({"nodes": ["n1"]})).unwrap_err().to_string();
        assert!(e.contains("\"f\""), "{e}");
    }

    #[test]
    fn shared_fs_are_exactly_the_shared_faults() {
        let n = vec!["n1".to_string()];
        let all = [
            Fault::StartPartition { grudge: Grudge::new(), ports: vec![] },
            Fault::IsolatePrimary { ports: vec![] },
            Fault::StopPartition,
            Fault::StartLoss { grudge: Grudge::new(), probability: 0.3 },
            Fault::StopLoss,
            Fault::StartSlow { nodes: n.clone(), delay_ms: 1, jitter_ms: 0, loss_pct: 0.0, reorder_pct: 0.0 },
            Fault::StopSlow,
            Fault::Kill { nodes: n.clone() },
            Fault::Start { nodes: n.clone() },
            Fault::Pause { nodes: n.clone() },
            Fault::Resume { nodes: n.clone() },
            Fault::BumpClock { offsets_ms: [("n1".to_string(), 5)].into() },
            Fault::StrobeClock { nodes: n.clone(), delta_ms: 5, period_ms: 10, duration_ms: 100 },
            Fault::ResetClock { nodes: n.clone() },
            Fault::LoseUnsynced { nodes: n.clone() },
            Fault::Restart { nodes: n.clone() },
            Fault::Bitflip { nodes: n.clone(), probability: 1e-5, chunks: Chunks::default(), seed: 0 },
            Fault::Truncate { nodes: n.clone(), drop_bytes: 10, seed: 0 },
            Fault::Snapshot { nodes: n.clone(), chunks: Chunks::default(), seed: 0 },
            Fault::Restore { nodes: n.clone() },
            Fault::PowerCut { nodes: n.clone() },
            Fault::PowerOn { nodes: n.clone() },
            Fault::RemoveMember { nodes: n.clone() },
            Fault::ReplaceMember { nodes: n.clone() },
            Fault::AddMember { nodes: n },
        ];
        let tags: Vec<String> = all.iter().map(|f| serde_json::to_value(f).unwrap()["f"].as_str().unwrap().to_string()).collect();
        assert_eq!(tags, SHARED_FS);
    }

    #[test]
    fn a_corruption_s_chunks_are_read_flat_with_jepsen_s_defaults() {
        let f: Fault = serde_json::from_str(r#"{"f": "bitflip", "nodes": ["n1"], "probability": 0.001, "chunk_size": 4096}"#).unwrap();
        let want = Fault::Bitflip { nodes: vec!["n1".into()], probability: 0.001, chunks: Chunks { chunk_size: 4096, modulus: 1, index: 0 }, seed: 0 };
        assert_eq!(f, want);
        let back = serde_json::to_value(&f).unwrap();
        assert_eq!((back["chunk_size"].as_u64(), back["modulus"].as_u64(), back["f"].as_str()), (Some(4096), Some(1), Some("bitflip")));
        let s: Fault = serde_json::from_str(r#"{"f": "snapshot", "nodes": ["n2"], "modulus": 2, "index": 1}"#).unwrap();
        assert_eq!(s, Fault::Snapshot { nodes: vec!["n2".into()], chunks: Chunks { chunk_size: 1 << 20, modulus: 2, index: 1 }, seed: 0 });
    }
}
