//! Fault packages (a kind of fault with its report metadata) and schedules
//! built from them: pure functions of the nodes and the run's seeded RNG.

use crate::catalog::inverse_in;
use crate::corrupt::Chunks;
use crate::fault::{Fault, Needs, SystemFault};
use crate::grudge;
use history::Rng;
use serde::{Deserialize, Serialize};

/// A kind of fault, as a schedule draws it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Network partitions (iptables).
    Partition,
    /// Packet loss (iptables statistic).
    Loss,
    /// Slow links (tc netem).
    Slow,
    /// kill -9 and restart.
    Kill,
    /// SIGSTOP / SIGCONT.
    Pause,
    /// Clock bumps and strobes.
    Clock,
    /// A power loss of the data not yet fsynced, then a restart.
    Disk,
    /// A data file corrupted (bits flipped, its tail dropped) while the
    /// SUT is down, then a start.
    Corrupt,
    /// A node's power cut (page cache and unflushed disk writes lost),
    /// then switched on, booted and the SUT started.
    Power,
    /// A node taken out of the system's membership (or replaced: wiped
    /// too), then added back.
    Membership,
    /// A fault the system declares and applies itself: on one node drawn
    /// from the cluster (`on_node`) or on the system as a whole, with no
    /// arguments; its inverse names the same nodes and keeps the
    /// arguments listed in `keeps` (the rest are the opening fault's own).
    System {
        /// A window names one node.
        on_node: bool,
        /// The arguments the inverse keeps.
        keeps: &'static [&'static str],
    },
}

/// A fault package: a kind of fault window with its report metadata
/// (reports shade its windows and the recovery checker finds its heals
/// from the history alone). Every node-level kind has one in
/// [`PACKAGES`]; a system declares its own ([`crate::Catalog`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Package {
    /// The kind.
    pub kind: Kind,
    /// Its `--nemesis` name.
    pub name: &'static str,
    /// The history `f` that opens a window.
    pub start_f: &'static str,
    /// The history `f` that closes it (the heal).
    pub stop_f: &'static str,
    /// Shading colour in reports.
    pub color: &'static str,
}

/// The package of every fault faultline applies on any node.
pub const PACKAGES: [Package; 10] = [
    Package { kind: Kind::Partition, name: "partition", start_f: "start-partition", stop_f: "stop-partition", color: "#e8a0a0" },
    Package { kind: Kind::Loss, name: "loss", start_f: "start-loss", stop_f: "stop-loss", color: "#e8c890" },
    Package { kind: Kind::Slow, name: "slow", start_f: "start-slow", stop_f: "stop-slow", color: "#d8d890" },
    Package { kind: Kind::Kill, name: "kill", start_f: "kill", stop_f: "start", color: "#a0a0e8" },
    Package { kind: Kind::Pause, name: "pause", start_f: "pause", stop_f: "resume", color: "#a0d8e8" },
    Package { kind: Kind::Clock, name: "clock", start_f: "bump-clock", stop_f: "reset-clock", color: "#c8a0e8" },
    Package { kind: Kind::Disk, name: "lose-unsynced", start_f: "lose-unsynced", stop_f: "restart", color: "#b8b8b8" },
    Package { kind: Kind::Corrupt, name: "corrupt", start_f: "bitflip", stop_f: "start", color: "#d8b890" },
    Package { kind: Kind::Power, name: "power-cut", start_f: "power-cut", stop_f: "power-on", color: "#909090" },
    Package { kind: Kind::Membership, name: "membership", start_f: "remove-member", stop_f: "add-member", color: "#c8b0d8" },
];

impl Package {
    /// What the nodes or the system must support for its windows.
    pub fn needs(&self) -> Needs {
        match self.kind {
            Kind::Partition | Kind::Loss => Needs::Iptables,
            Kind::Slow => Needs::Netem,
            Kind::Kill => Needs::Kill,
            Kind::Pause => Needs::Pause,
            Kind::Clock => Needs::Clock,
            Kind::Disk => Needs::Disk,
            Kind::Corrupt => Needs::Files,
            Kind::Power => Needs::Power,
            Kind::Membership => Needs::Membership,
            Kind::System { .. } => Needs::System(self.start_f.to_string()),
        }
    }
}

/// Faults that open a window of a package besides its own start op, and
/// the op that closes it when not the package's own: the leader isolated
/// (a partition), the clock strobed (a clock fault), a file truncated, or
/// snapshotted then restored (corruptions), a member replaced (wiped).
pub(crate) const OTHER_OPENERS: [(&str, Kind, Option<&str>); 5] = [
    ("isolate-primary", Kind::Partition, None),
    ("strobe-clock", Kind::Clock, None),
    ("truncate", Kind::Corrupt, None),
    ("snapshot", Kind::Corrupt, Some("restore")),
    ("replace-member", Kind::Membership, None),
];

/// One scheduled fault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Milliseconds after the workload starts.
    pub at_ms: u64,
    /// The fault.
    pub fault: Fault,
}

/// How faults are spaced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spacing {
    /// Healthy time between windows, ms.
    pub healthy_ms: u64,
    /// Faulted time (window length), ms.
    pub faulted_ms: u64,
    /// Draw each interval uniformly between half and one and a half times
    /// its length (else fixed).
    pub random: bool,
}

fn start_fault(p: &Package, nodes: &[String], rng: &mut Rng) -> Fault {
    let pick_one = |rng: &mut Rng| vec![rng.pick(nodes).cloned().unwrap_or_default()];
    match p.kind {
        Kind::Partition => {
            let g = match rng.below(if nodes.len() >= 5 { 5 } else { 3 }) {
                0 => grudge::isolate(nodes, &pick_one(rng)[0]),
                1 => grudge::halves(nodes, rng),
                2 => return Fault::IsolatePrimary { ports: vec![] },
                3 => grudge::majorities_ring(nodes, rng),
                _ => grudge::bridge(nodes, rng),
            };
            Fault::StartPartition { grudge: g, ports: vec![] }
        }
        Kind::Loss => Fault::StartLoss { grudge: grudge::isolate(nodes, &pick_one(rng)[0]), probability: 0.3 },
        Kind::Slow => Fault::StartSlow { nodes: pick_one(rng), delay_ms: 100, jitter_ms: 20, loss_pct: 1.0, reorder_pct: 1.0 },
        Kind::Kill => Fault::Kill { nodes: pick_one(rng) },
        Kind::Pause => Fault::Pause { nodes: pick_one(rng) },
        Kind::Disk => Fault::LoseUnsynced { nodes: one_minority_or_all(nodes, rng) },
        Kind::Power => Fault::PowerCut { nodes: one_minority_or_all(nodes, rng) },
        // one member at a time: the membership keeps a majority of the cluster
        Kind::Membership if rng.chance(0.5) => Fault::RemoveMember { nodes: pick_one(rng) },
        Kind::Membership => Fault::ReplaceMember { nodes: pick_one(rng) },
        Kind::Corrupt => {
            // a minority: the majority keeps what the system needs to repair it
            let nodes = {
                let mut n = minority(nodes, rng);
                n.sort();
                n
            };
            let seed = rng.next_u64();
            match rng.below(3) {
                0 => Fault::Bitflip { nodes, probability: 1e-6, chunks: Chunks::default(), seed },
                1 => Fault::Truncate { nodes, drop_bytes: 1 + rng.below(4096), seed },
                // every other 64 KiB chunk rolled back
                _ => Fault::Snapshot { nodes, chunks: Chunks { chunk_size: 1 << 16, modulus: 2, index: rng.below(2) }, seed },
            }
        }
        Kind::Clock => {
            let ms = (rng.below(5000) as i64 + 100) * if rng.chance(0.5) { 1 } else { -1 };
            Fault::BumpClock { offsets_ms: pick_one(rng).into_iter().map(|n| (n, ms)).collect() }
        }
        Kind::System { on_node, .. } => Fault::System(SystemFault::new(p.start_f, if on_node { pick_one(rng) } else { vec![] })),
    }
}

/// A minority of the nodes (at least one), drawn.
fn minority(nodes: &[String], rng: &mut Rng) -> Vec<String> {
    let mut shuffled = nodes.to_vec();
    rng.shuffle(&mut shuffled);
    shuffled.truncate((nodes.len().saturating_sub(1) / 2).max(1));
    shuffled
}

/// As Jepsen's node specs draw them: one node, a minority, or every node
/// at once (a coordinated power loss), each as likely.
fn one_minority_or_all(nodes: &[String], rng: &mut Rng) -> Vec<String> {
    let mut shuffled = nodes.to_vec();
    rng.shuffle(&mut shuffled);
    let n = match rng.below(3) {
        0 => 1,
        1 => (nodes.len().saturating_sub(1) / 2).max(1),
        _ => nodes.len(),
    };
    shuffled.truncate(n);
    shuffled.sort();
    shuffled
}

/// A schedule for `time_limit_ms` of workload: healthy, then a window of one
/// package's fault (packages in turn), its inverse, and so on. The last
/// window always closes before the time limit; the runner's final heal
/// follows.
pub fn schedule(kinds: &[Package], nodes: &[String], spacing: Spacing, time_limit_ms: u64, rng: &mut Rng) -> Vec<Step> {
    let mut steps = Vec::new();
    if kinds.is_empty() || nodes.is_empty() {
        return steps;
    }
    let draw = |base: u64, rng: &mut Rng| if spacing.random { base / 2 + rng.below(base.max(1)) } else { base };
    let mut t = 0;
    let mut i = 0;
    loop {
        t += draw(spacing.healthy_ms, rng);
        let len = draw(spacing.faulted_ms, rng);
        if t + len > time_limit_ms {
            break;
        }
        let p = &kinds[i % kinds.len()];
        let start = start_fault(p, nodes, rng);
        let stop = inverse_in(p, &start).expect("start faults have inverses");
        steps.push(Step { at_ms: t, fault: start });
        t += len;
        steps.push(Step { at_ms: t, fault: stop });
        i += 1;
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes() -> Vec<String> {
        (1..=3).map(|i| format!("n{i}")).collect()
    }

    #[test]
    fn a_fixed_schedule_alternates_kinds_and_closes_every_window() {
        let sp = Spacing { healthy_ms: 5000, faulted_ms: 5000, random: false };
        let s = schedule(&[PACKAGES[0], PACKAGES[3]], &nodes(), sp, 30_000, &mut Rng::new(1));
        let fs: Vec<(u64, &str)> = s.iter().map(|st| (st.at_ms, st.fault.f())).collect();
        assert_eq!(
            fs,
            [(5000, "start-partition"), (10000, "stop-partition"), (15000, "kill"), (20000, "start"), (25000, "start-partition"), (30000, "stop-partition")]
        );
        if let (Fault::Kill { nodes: a }, Fault::Start { nodes: b }) = (&s[2].fault, &s[3].fault) {
            assert_eq!(a, b);
        } else {
            panic!("{s:?}");
        }
    }

    #[test]
    fn random_schedules_are_reproducible_from_the_seed() {
        let sp = Spacing { healthy_ms: 3000, faulted_ms: 3000, random: true };
        let a = schedule(&[PACKAGES[0], PACKAGES[4], PACKAGES[1]], &nodes(), sp, 60_000, &mut Rng::new(42));
        let b = schedule(&[PACKAGES[0], PACKAGES[4], PACKAGES[1]], &nodes(), sp, 60_000, &mut Rng::new(42));
        assert_eq!(a, b);
        assert!(a.len() >= 8 && a.len().is_multiple_of(2));
        assert!(a.windows(2).all(|w| w[0].at_ms < w[1].at_ms));
        assert!(a.last().unwrap().at_ms <= 60_000);
        let c = schedule(&[PACKAGES[0]], &nodes(), sp, 60_000, &mut Rng::new(43));
        assert_ne!(a, c);
    }

    #[test]
    fn lost_unsynced_data_and_power_cuts_fall_on_one_node_a_minority_or_all_and_end_on_the_same() {
        let five: Vec<String> = (1..=5).map(|i| format!("n{i}")).collect();
        for name in ["lose-unsynced", "power-cut"] {
            let p = *PACKAGES.iter().find(|p| p.name == name).unwrap();
            let mut sizes = std::collections::BTreeSet::new();
            for seed in 0..40 {
                let s = schedule(&[p], &five, Spacing { healthy_ms: 1000, faulted_ms: 1000, random: false }, 10_000, &mut Rng::new(seed));
                for w in s.chunks(2) {
                    match (&w[0].fault, &w[1].fault) {
                        (Fault::LoseUnsynced { nodes: a }, Fault::Restart { nodes: b }) | (Fault::PowerCut { nodes: a }, Fault::PowerOn { nodes: b }) => {
                            assert_eq!((w[0].fault.f(), a), (p.start_f, b));
                            assert!(a.windows(2).all(|p| p[0] < p[1]), "{a:?}");
                            sizes.insert(a.len());
                        }
                        other => panic!("{other:?}"),
                    }
                }
            }
            assert_eq!(sizes.into_iter().collect::<Vec<_>>(), vec![1, 2, 5], "{name}");
        }
    }

    #[test]
    fn a_corrupt_window_falls_on_a_minority_and_closes_with_its_own_inverse() {
        let five: Vec<String> = (1..=5).map(|i| format!("n{i}")).collect();
        let corrupt = *PACKAGES.iter().find(|p| p.name == "corrupt").unwrap();
        let mut kinds = std::collections::BTreeSet::new();
        for seed in 0..30 {
            let s = schedule(&[corrupt], &five, Spacing { healthy_ms: 1000, faulted_ms: 1000, random: false }, 10_000, &mut Rng::new(seed));
            for w in s.chunks(2) {
                let (open, close) = (&w[0].fault, &w[1].fault);
                let nodes = match (open, close) {
                    (Fault::Bitflip { nodes, .. } | Fault::Truncate { nodes, .. }, Fault::Start { nodes: b }) => {
                        assert_eq!(nodes, b);
                        nodes
                    }
                    (Fault::Snapshot { nodes, .. }, Fault::Restore { nodes: b }) => {
                        assert_eq!(nodes, b);
                        nodes
                    }
                    other => panic!("{other:?}"),
                };
                assert!(!nodes.is_empty() && nodes.len() * 2 < five.len(), "a minority: {nodes:?}");
                kinds.insert(open.f().to_string());
            }
        }
        assert_eq!(kinds.into_iter().collect::<Vec<_>>(), vec!["bitflip", "snapshot", "truncate"]);
    }
}
