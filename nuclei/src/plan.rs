//! A fault plan checked against the cluster before a run: every node a
//! step names is one of the cluster's, and no step falls after the time
//! limit (where it would leave the run waiting with nothing to do).

use crate::{Catalog, Fault, FaultError, Step};

impl Fault {
    /// Every node this fault names (its node list, the grudge's nodes on
    /// both sides, the nodes whose clocks it moves), each once, in order.
    pub fn nodes_named(&self) -> Vec<&str> {
        let mut named: Vec<&str> = match self {
            Fault::StartPartition { grudge, .. } | Fault::StartLoss { grudge, .. } => {
                grudge.iter().flat_map(|(a, bs)| std::iter::once(a).chain(bs)).map(String::as_str).collect()
            }
            Fault::BumpClock { offsets_ms } => offsets_ms.keys().map(String::as_str).collect(),
            Fault::StartSlow { nodes, .. }
            | Fault::Kill { nodes }
            | Fault::Start { nodes }
            | Fault::Pause { nodes }
            | Fault::Resume { nodes }
            | Fault::StrobeClock { nodes, .. }
            | Fault::ResetClock { nodes }
            | Fault::LoseUnsynced { nodes }
            | Fault::Restart { nodes }
            | Fault::Bitflip { nodes, .. }
            | Fault::Truncate { nodes, .. }
            | Fault::Snapshot { nodes, .. }
            | Fault::Restore { nodes }
            | Fault::PowerCut { nodes }
            | Fault::PowerOn { nodes }
            | Fault::RemoveMember { nodes }
            | Fault::ReplaceMember { nodes }
            | Fault::AddMember { nodes } => nodes.iter().map(String::as_str).collect(),
            Fault::System(s) => s.nodes.iter().map(String::as_str).collect(),
            Fault::IsolatePrimary { .. } | Fault::StopPartition | Fault::StopLoss | Fault::StopSlow => Vec::new(),
        };
        let mut seen = std::collections::BTreeSet::new();
        named.retain(|n| seen.insert(*n));
        named
    }
}

/// Refuses a plan that would leave, at some step, fewer members in the
/// system's membership than a majority of its `n` nodes (members removed
/// or replaced and not yet added back): the cluster would lose its quorum
/// by faultline's own hand. The error names the step.
pub fn check_quorum(steps: &[Step], n: usize) -> Result<(), FaultError> {
    let mut order: Vec<(usize, &Step)> = steps.iter().enumerate().collect();
    order.sort_by_key(|(_, s)| s.at_ms);
    let mut out = std::collections::BTreeSet::new();
    for (i, s) in order {
        match &s.fault {
            Fault::RemoveMember { nodes } | Fault::ReplaceMember { nodes } => out.extend(nodes.iter().cloned()),
            Fault::AddMember { nodes } => out.retain(|o| !nodes.contains(o)),
            _ => continue,
        }
        let members = n.saturating_sub(out.len());
        if members * 2 <= n {
            return Err(FaultError::Invalid(format!(
                "step {} (at_ms {}, {}): leaves {members} of {n} nodes members, not a majority: the cluster would lose its quorum; drop the step, or run with --allow-quorum-loss (recorded in the run)",
                i + 1,
                s.at_ms,
                s.fault.f()
            )));
        }
    }
    Ok(())
}

/// Refuses a plan naming a fault the system under test does not declare
/// (`catalog`), a node that is not in `nodes`, or (with a time limit, ms)
/// a step after it. The error names the step, its fault and what there is.
pub fn check_plan(steps: &[Step], nodes: &[&str], limit_ms: Option<u64>, catalog: &Catalog) -> Result<(), FaultError> {
    for (i, s) in steps.iter().enumerate() {
        let at = || format!("step {} (at_ms {}, {})", i + 1, s.at_ms, s.fault.f());
        if !catalog.knows(&s.fault) {
            let fs: Vec<String> =
                catalog.packages().iter().flat_map(|p| [p.start_f, p.stop_f]).filter(|f| !crate::SHARED_FS.contains(f)).map(String::from).collect();
            let theirs = if fs.is_empty() { "none".to_string() } else { fs.join(", ") };
            return Err(FaultError::Invalid(format!("{}: no such fault (the shared ones: {}; the system's own: {theirs})", at(), crate::SHARED_FS.join(", "))));
        }
        if let Some(n) = s.fault.nodes_named().into_iter().find(|n| !nodes.contains(n)) {
            return Err(FaultError::Invalid(format!("{}: node {n:?} is not in the cluster ({})", at(), nodes.join(", "))));
        }
        if let Some(limit) = limit_ms.filter(|&l| s.at_ms > l) {
            return Err(FaultError::Invalid(format!(
                "{}: after the time limit ({limit} ms), so it would never run; lengthen --time-limit or drop the step",
                at()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(at_ms: u64, fault: Fault) -> Step {
        Step { at_ms, fault }
    }

    #[test]
    fn a_plan_naming_a_node_outside_the_cluster_is_refused() {
        let nodes = ["n1", "n2", "n3"];
        let ok = [step(0, Fault::Kill { nodes: vec!["n1".into()] }), step(1000, Fault::Start { nodes: vec!["n1".into()] })];
        assert_eq!(check_plan(&ok, &nodes, Some(1000), &Catalog::shared()), Ok(()));
        let grudge = crate::grudge::isolate(&["n1".to_string(), "n9".to_string()], "n9");
        for bad in [
            Fault::Kill { nodes: vec!["n4".into()] },
            Fault::StartPartition { grudge, ports: vec![] },
            Fault::BumpClock { offsets_ms: [("n9".to_string(), 100)].into() },
            Fault::StrobeClock { nodes: vec!["n1".into(), "N2".into()], delta_ms: 10, period_ms: 10, duration_ms: 100 },
        ] {
            let e = check_plan(&[step(500, bad.clone())], &nodes, None, &Catalog::shared()).unwrap_err().to_string();
            assert!(e.contains("step 1 (at_ms 500,") && e.contains("is not in the cluster (n1, n2, n3)"), "{bad:?}: {e}");
        }
    }

    #[test]
    fn a_step_after_the_time_limit_is_refused() {
        let steps = [step(0, Fault::Pause { nodes: vec!["n2".into()] }), step(90_000, Fault::Resume { nodes: vec!["n2".into()] })];
        let e = check_plan(&steps, &["n1", "n2"], Some(60_000), &Catalog::shared()).unwrap_err().to_string();
        assert!(e.contains("step 2 (at_ms 90000, resume): after the time limit (60000 ms)"), "{e}");
        assert_eq!(check_plan(&steps, &["n1", "n2"], None, &Catalog::shared()), Ok(()));
    }

    #[test]
    fn a_fault_the_system_does_not_declare_is_refused_by_name() {
        let typo: Fault = serde_json::from_value(serde_json::json!({"f": "seal-lgo", "logs": []})).unwrap();
        let e = check_plan(&[step(10, typo)], &["n1"], None, &Catalog::shared()).unwrap_err().to_string();
        assert!(e.contains("step 1 (at_ms 10, seal-lgo): no such fault") && e.contains("the system's own: none"), "{e}");
        let seal = crate::Package {
            kind: crate::Kind::System { on_node: false, keeps: &["logs"] },
            name: "seal-log",
            start_f: "seal-log",
            stop_f: "extend-log",
            color: "#90c890",
        };
        let ok: Fault = serde_json::from_value(serde_json::json!({"f": "extend-log", "logs": [1]})).unwrap();
        assert_eq!(check_plan(&[step(10, ok)], &["n1"], None, &Catalog::with(&[seal]).unwrap()), Ok(()));
    }

    #[test]
    fn a_plan_that_would_take_the_membership_below_a_majority_is_refused() {
        let n = |x: &[&str]| x.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        // one of three out at a time: a majority stays
        let ok = [
            step(1000, Fault::RemoveMember { nodes: n(&["n1"]) }),
            step(2000, Fault::AddMember { nodes: n(&["n1"]) }),
            step(3000, Fault::ReplaceMember { nodes: n(&["n2"]) }),
            step(4000, Fault::AddMember { nodes: n(&["n2"]) }),
        ];
        assert_eq!(check_quorum(&ok, 3), Ok(()));
        // a second one out before the first is back: refused, by step (in time order)
        let bad = [
            step(1000, Fault::RemoveMember { nodes: n(&["n1"]) }),
            step(5000, Fault::AddMember { nodes: n(&["n1", "n3"]) }),
            step(2000, Fault::ReplaceMember { nodes: n(&["n3"]) }),
        ];
        let e = check_quorum(&bad, 3).unwrap_err().to_string();
        assert!(e.contains("step 3 (at_ms 2000, replace-member): leaves 1 of 3 nodes members") && e.contains("--allow-quorum-loss"), "{e}");
        // two of five out at once is still a majority of five
        assert_eq!(check_quorum(&[step(0, Fault::RemoveMember { nodes: n(&["n1", "n2"]) })], 5), Ok(()));
        assert!(check_quorum(&[step(0, Fault::RemoveMember { nodes: n(&["n1", "n2", "n3"]) })], 5).is_err());
    }
}
