//! Fault packages (a kind of fault with its report metadata) and schedules
//! built from them: pure functions of the nodes and the run's seeded RNG.

use crate::fault::{Fault, Needs};
use crate::grudge;
use history::Rng;
use serde::{Deserialize, Serialize};

/// A kind of fault, as named by `--nemesis`.
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
    /// Seal and extend logs (the SUT's own tool).
    Reconfigure,
    /// Seal logs, extended by the inverse.
    Seal,
    /// Delete a node's data; it rejoins empty.
    Wipe,
    /// Move leadership away from a node.
    Leadership,
    /// Remove a node from the metadata cluster and add it back.
    Membership,
}

/// A fault package's metadata: reports shade its windows and the recovery
/// checker finds its heals from the history alone.
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

/// Every package.
pub const PACKAGES: [Package; 11] = [
    Package { kind: Kind::Partition, name: "partition", start_f: "start-partition", stop_f: "stop-partition", color: "#e8a0a0" },
    Package { kind: Kind::Loss, name: "loss", start_f: "start-loss", stop_f: "stop-loss", color: "#e8c890" },
    Package { kind: Kind::Slow, name: "slow", start_f: "start-slow", stop_f: "stop-slow", color: "#d8d890" },
    Package { kind: Kind::Kill, name: "kill", start_f: "kill", stop_f: "start", color: "#a0a0e8" },
    Package { kind: Kind::Pause, name: "pause", start_f: "pause", stop_f: "resume", color: "#a0d8e8" },
    Package { kind: Kind::Clock, name: "clock", start_f: "bump-clock", stop_f: "reset-clock", color: "#c8a0e8" },
    Package { kind: Kind::Reconfigure, name: "reconfigure-log", start_f: "reconfigure-log", stop_f: "settle-log", color: "#b8e0b0" },
    Package { kind: Kind::Seal, name: "seal-log", start_f: "seal-log", stop_f: "extend-log", color: "#90c890" },
    Package { kind: Kind::Wipe, name: "wipe-node", start_f: "wipe-node", stop_f: "rejoin-node", color: "#e0a0c8" },
    Package { kind: Kind::Leadership, name: "move-leadership", start_f: "move-leadership", stop_f: "return-leadership", color: "#c0c0c0" },
    Package { kind: Kind::Membership, name: "metadata-membership", start_f: "remove-metadata-node", stop_f: "add-metadata-node", color: "#d0b890" },
];

impl Kind {
    /// Parses a `--nemesis` name.
    pub fn parse(s: &str) -> Option<Kind> {
        PACKAGES.iter().find(|p| p.name == s).map(|p| p.kind)
    }

    /// The package of this kind.
    pub fn package(self) -> Package {
        PACKAGES.iter().copied().find(|p| p.kind == self).expect("every kind has a package")
    }

    /// What the nodes or SUT must support.
    pub fn needs(self) -> Needs {
        match self {
            Kind::Partition | Kind::Loss => Needs::Iptables,
            Kind::Slow => Needs::Netem,
            Kind::Kill => Needs::Kill,
            Kind::Pause => Needs::Pause,
            Kind::Clock => Needs::Clock,
            k => Needs::System(k),
        }
    }
}

/// The package whose window a history op opens or closes.
pub fn package_of(f: &str) -> Option<(Package, bool)> {
    PACKAGES.iter().find_map(|p| {
        if OTHER_OPENERS.iter().any(|(o, k)| *o == f && *k == p.kind) || p.start_f == f {
            Some((*p, true))
        } else if p.stop_f == f {
            Some((*p, false))
        } else {
            None
        }
    })
}

/// Faults that open a window of a package besides its own start op: the
/// leader isolated (a partition), the clock strobed (a clock fault).
const OTHER_OPENERS: [(&str, Kind); 2] = [("isolate-primary", Kind::Partition), ("strobe-clock", Kind::Clock)];

/// Every (opening `f`, closing `f`, package name) of a fault window, for
/// the recovery checker and the report's shading: each package's own pair
/// and the other faults that open one of its windows.
pub fn window_kinds() -> Vec<(String, String, String)> {
    let own = PACKAGES.iter().map(|p| (p.start_f, p.stop_f, p.name));
    let other = OTHER_OPENERS.iter().map(|(f, k)| {
        let p = k.package();
        (*f, p.stop_f, p.name)
    });
    own.chain(other).map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string())).collect()
}

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

fn start_fault(kind: Kind, nodes: &[String], rng: &mut Rng) -> Fault {
    let pick_one = |rng: &mut Rng| vec![rng.pick(nodes).cloned().unwrap_or_default()];
    match kind {
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
        Kind::Clock => {
            let ms = (rng.below(5000) as i64 + 100) * if rng.chance(0.5) { 1 } else { -1 };
            Fault::BumpClock { offsets_ms: pick_one(rng).into_iter().map(|n| (n, ms)).collect() }
        }
        Kind::Reconfigure => Fault::ReconfigureLog { logs: vec![] },
        Kind::Seal => Fault::SealLog { logs: vec![], retry_ms: 0 },
        Kind::Wipe => Fault::WipeNode { nodes: pick_one(rng) },
        Kind::Leadership => Fault::MoveLeadership { nodes: pick_one(rng) },
        Kind::Membership => Fault::RemoveMetadataNode { nodes: pick_one(rng) },
    }
}

/// A schedule for `time_limit_ms` of workload: healthy, then a window of one
/// kind's fault (kinds in turn), its inverse, and so on. The last window
/// always closes before the time limit; the runner's final heal follows.
pub fn schedule(kinds: &[Kind], nodes: &[String], spacing: Spacing, time_limit_ms: u64, rng: &mut Rng) -> Vec<Step> {
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
        let start = start_fault(kinds[i % kinds.len()], nodes, rng);
        let stop = start.inverse().expect("start faults have inverses");
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

    #[test]
    fn strobe_and_isolate_primary_open_windows_of_their_packages() {
        let w = window_kinds();
        assert!(w.contains(&("strobe-clock".into(), "reset-clock".into(), "clock".into())));
        assert!(w.contains(&("isolate-primary".into(), "stop-partition".into(), "partition".into())));
        assert_eq!(package_of("strobe-clock").map(|(p, start)| (p.name, start)), Some(("clock", true)));
    }

    fn nodes() -> Vec<String> {
        (1..=3).map(|i| format!("n{i}")).collect()
    }

    #[test]
    fn a_fixed_schedule_alternates_kinds_and_closes_every_window() {
        let sp = Spacing { healthy_ms: 5000, faulted_ms: 5000, random: false };
        let s = schedule(&[Kind::Partition, Kind::Kill], &nodes(), sp, 30_000, &mut Rng::new(1));
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
        let a = schedule(&[Kind::Partition, Kind::Pause, Kind::Loss], &nodes(), sp, 60_000, &mut Rng::new(42));
        let b = schedule(&[Kind::Partition, Kind::Pause, Kind::Loss], &nodes(), sp, 60_000, &mut Rng::new(42));
        assert_eq!(a, b);
        assert!(a.len() >= 8 && a.len().is_multiple_of(2));
        assert!(a.windows(2).all(|w| w[0].at_ms < w[1].at_ms));
        assert!(a.last().unwrap().at_ms <= 60_000);
        let c = schedule(&[Kind::Partition], &nodes(), sp, 60_000, &mut Rng::new(43));
        assert_ne!(a, c);
    }

    #[test]
    fn packages_name_their_window_ops() {
        assert_eq!(package_of("stop-partition").map(|(p, start)| (p.name, start)), Some(("partition", false)));
        assert_eq!(package_of("kill").map(|(p, start)| (p.name, start)), Some(("kill", true)));
        assert_eq!(package_of("strobe-clock").map(|(p, s)| (p.name, s)), Some(("clock", true)));
        assert_eq!(package_of("read"), None);
        assert_eq!(Kind::parse("pause"), Some(Kind::Pause));
        assert_eq!(Kind::parse("flood"), None);
    }
}
