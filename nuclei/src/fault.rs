//! Faults as data, each with its named inverse.

use crate::grudge::Grudge;
use crate::package::Kind;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One fault event: what the nemesis does at one instant. Its `f` names
/// pair up (`start-partition` / `stop-partition`, `kill` / `start`, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "f", rename_all = "kebab-case")]
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
    /// Seal the tail segment of these logs and extend each chain with a new
    /// one, through the system's own tool (all logs when empty).
    ReconfigureLog { logs: Vec<u32> },
    /// Wait until every reconfigured log's tail is writable again (extend
    /// any still sealed); records who extended it.
    SettleLog { logs: Vec<u32> },
    /// Seal these logs without extending them (all logs when empty); with
    /// `retry_ms`, try again until a seal succeeds or that long has passed
    /// (each attempt recorded).
    SealLog {
        logs: Vec<u32>,
        #[serde(default, skip_serializing_if = "is_zero")]
        retry_ms: u64,
    },
    /// Extend the sealed logs, unless the system already did (recorded).
    ExtendLog { logs: Vec<u32> },
    /// Stop the system on these nodes and delete its data.
    WipeNode { nodes: Vec<String> },
    /// Start wiped nodes again, empty, doing what an operator must for
    /// them to rejoin (each step recorded).
    RejoinNode { nodes: Vec<String> },
    /// Move leadership (of partitions, shards...) away from these nodes.
    MoveLeadership { nodes: Vec<String> },
    /// Lift the leadership preference set by `MoveLeadership`.
    ReturnLeadership { nodes: Vec<String> },
    /// Remove these nodes from the metadata (consensus) cluster.
    RemoveMetadataNode { nodes: Vec<String> },
    /// Add them back.
    AddMetadataNode { nodes: Vec<String> },
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

/// What a node must support for a fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    /// a fault the SUT applies itself, through its own tools (log
    /// reconfiguration, wipes, leadership, membership).
    System(crate::package::Kind),
}

impl Fault {
    /// The op name in the history.
    pub fn f(&self) -> &'static str {
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
            Fault::ReconfigureLog { .. } => "reconfigure-log",
            Fault::SettleLog { .. } => "settle-log",
            Fault::SealLog { .. } => "seal-log",
            Fault::ExtendLog { .. } => "extend-log",
            Fault::WipeNode { .. } => "wipe-node",
            Fault::RejoinNode { .. } => "rejoin-node",
            Fault::MoveLeadership { .. } => "move-leadership",
            Fault::ReturnLeadership { .. } => "return-leadership",
            Fault::RemoveMetadataNode { .. } => "remove-metadata-node",
            Fault::AddMetadataNode { .. } => "add-metadata-node",
        }
    }

    /// The fault that undoes this one (`None` for an inverse itself).
    pub fn inverse(&self) -> Option<Fault> {
        Some(match self {
            Fault::StartPartition { .. } | Fault::IsolatePrimary { .. } => Fault::StopPartition,
            Fault::StartLoss { .. } => Fault::StopLoss,
            Fault::StartSlow { .. } => Fault::StopSlow,
            Fault::Kill { nodes } => Fault::Start { nodes: nodes.clone() },
            Fault::Pause { nodes } => Fault::Resume { nodes: nodes.clone() },
            Fault::BumpClock { offsets_ms } => Fault::ResetClock { nodes: offsets_ms.keys().cloned().collect() },
            Fault::StrobeClock { nodes, .. } => Fault::ResetClock { nodes: nodes.clone() },
            Fault::ReconfigureLog { logs } => Fault::SettleLog { logs: logs.clone() },
            Fault::SealLog { logs, .. } => Fault::ExtendLog { logs: logs.clone() },
            Fault::WipeNode { nodes } => Fault::RejoinNode { nodes: nodes.clone() },
            Fault::MoveLeadership { nodes } => Fault::ReturnLeadership { nodes: nodes.clone() },
            Fault::RemoveMetadataNode { nodes } => Fault::AddMetadataNode { nodes: nodes.clone() },
            _ => return None,
        })
    }

    /// What the nodes must support.
    pub fn needs(&self) -> Needs {
        match self {
            Fault::StartPartition { .. } | Fault::IsolatePrimary { .. } | Fault::StopPartition | Fault::StartLoss { .. } | Fault::StopLoss => Needs::Iptables,
            Fault::StartSlow { .. } | Fault::StopSlow => Needs::Netem,
            Fault::Kill { .. } | Fault::Start { .. } => Needs::Kill,
            Fault::Pause { .. } | Fault::Resume { .. } => Needs::Pause,
            Fault::BumpClock { .. } | Fault::StrobeClock { .. } | Fault::ResetClock { .. } => Needs::Clock,
            Fault::ReconfigureLog { .. } | Fault::SettleLog { .. } => Needs::System(Kind::Reconfigure),
            Fault::SealLog { .. } | Fault::ExtendLog { .. } => Needs::System(Kind::Seal),
            Fault::WipeNode { .. } | Fault::RejoinNode { .. } => Needs::System(Kind::Wipe),
            Fault::MoveLeadership { .. } | Fault::ReturnLeadership { .. } => Needs::System(Kind::Leadership),
            Fault::RemoveMetadataNode { .. } | Fault::AddMetadataNode { .. } => Needs::System(Kind::Membership),
        }
    }
}

/// The inverses that close every window still open after `applied` (in
/// order), last opened first: what an interrupted run must still apply.
/// Windows may overlap, so each closing fault closes the earliest open
/// window it is the inverse of.
pub fn closing(applied: &[Fault]) -> Vec<Fault> {
    let mut open: Vec<Fault> = Vec::new();
    for f in applied {
        if let Some(i) = open.iter().position(|o| o.inverse().as_ref() == Some(f)) {
            open.remove(i);
        } else if f.inverse().is_some() {
            open.push(f.clone());
        }
    }
    open.iter().rev().filter_map(Fault::inverse).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_windows_are_all_closed_last_opened_first() {
        let kill = Fault::Kill { nodes: vec!["n1".into()] };
        let pause = Fault::Pause { nodes: vec!["n2".into()] };
        let part = Fault::StartPartition { grudge: Default::default(), ports: vec![] };
        let applied = [part.clone(), kill.clone(), pause.clone(), Fault::StopPartition];
        assert_eq!(closing(&applied), vec![Fault::Resume { nodes: vec!["n2".into()] }, Fault::Start { nodes: vec!["n1".into()] }]);
        assert_eq!(closing(&[kill, Fault::Start { nodes: vec!["n1".into()] }]), vec![]);
        assert_eq!(closing(&[part]), vec![Fault::StopPartition]);
    }

    #[test]
    fn every_fault_has_a_named_inverse() {
        let n = vec!["n1".to_string()];
        let faults = [
            Fault::StartPartition { grudge: Grudge::new(), ports: vec![] },
            Fault::StartLoss { grudge: Grudge::new(), probability: 0.3 },
            Fault::StartSlow { nodes: n.clone(), delay_ms: 1, jitter_ms: 0, loss_pct: 0.0, reorder_pct: 0.0 },
            Fault::Kill { nodes: n.clone() },
            Fault::Pause { nodes: n.clone() },
            Fault::BumpClock { offsets_ms: [("n1".to_string(), 5)].into() },
            Fault::StrobeClock { nodes: n.clone(), delta_ms: 5, period_ms: 10, duration_ms: 100 },
            Fault::ReconfigureLog { logs: vec![] },
            Fault::SealLog { logs: vec![0], retry_ms: 0 },
            Fault::WipeNode { nodes: n.clone() },
            Fault::MoveLeadership { nodes: n.clone() },
            Fault::RemoveMetadataNode { nodes: n.clone() },
        ];
        let pairs: Vec<(&str, &str)> = faults.iter().map(|f| (f.f(), f.inverse().map(|i| i.f()).unwrap())).collect();
        assert_eq!(
            pairs,
            [
                ("start-partition", "stop-partition"),
                ("start-loss", "stop-loss"),
                ("start-slow", "stop-slow"),
                ("kill", "start"),
                ("pause", "resume"),
                ("bump-clock", "reset-clock"),
                ("strobe-clock", "reset-clock"),
                ("reconfigure-log", "settle-log"),
                ("seal-log", "extend-log"),
                ("wipe-node", "rejoin-node"),
                ("move-leadership", "return-leadership"),
                ("remove-metadata-node", "add-metadata-node")
            ]
        );
        assert!(Fault::StopPartition.inverse().is_none());
        // each system fault needs the ability of its own kind
        assert!(faults[7..].iter().all(|f| matches!(f.needs(), Needs::System(k) if Some(k.package().start_f) == Some(f.f()))));
        let p = Fault::IsolatePrimary { ports: vec![] };
        assert_eq!((p.f(), p.inverse().map(|i| i.f())), ("start-partition", Some("stop-partition")));
    }

    #[test]
    fn faults_are_json_with_their_f() {
        let f = Fault::Kill { nodes: vec!["n2".into()] };
        let v = serde_json::to_value(&f).unwrap();
        assert_eq!(v, serde_json::json!({"f": "kill", "nodes": ["n2"]}));
        assert_eq!(serde_json::from_value::<Fault>(v).unwrap(), f);
    }
}
