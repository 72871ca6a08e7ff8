//! Shrinking a fault plan that made a run fail: its fault windows (a fault
//! and the inverse that closes it), delta debugging over them (ddmin,
//! Zeller and Hildebrandt, "Simplifying and Isolating Failure-Inducing
//! Input", 2002), then shorter windows and gaps. The oracle that replays a
//! candidate plan and says whether it still fails the same way is the
//! caller's: these functions only choose the candidates.

use crate::{Catalog, Fault, Step};

/// One fault window: when it opens, the fault, and how long it lasts
/// (`None`: never closed in the plan, as a final kill the run's heal
/// undoes).
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    /// When the fault is applied, ms after the workload starts.
    pub at_ms: u64,
    /// The fault.
    pub fault: Fault,
    /// How long until its inverse, ms.
    pub length_ms: Option<u64>,
}

/// The windows of a plan: each fault paired with the first later step that
/// is its inverse (as `catalog` pairs them). Steps that close nothing open
/// are dropped.
pub fn windows(plan: &[Step], catalog: &Catalog) -> Vec<Window> {
    let mut out: Vec<Window> = Vec::new();
    let mut closed = vec![false; plan.len()];
    for (i, s) in plan.iter().enumerate() {
        let Some(inverse) = catalog.inverse(&s.fault) else { continue };
        let end = plan.iter().enumerate().skip(i + 1).find(|(j, e)| !closed[*j] && e.fault == inverse).map(|(j, e)| (j, e.at_ms));
        if let Some((j, _)) = end {
            closed[j] = true;
        }
        out.push(Window { at_ms: s.at_ms, fault: s.fault.clone(), length_ms: end.map(|(_, at)| at.saturating_sub(s.at_ms)) });
    }
    out
}

/// The plan of some windows, in time order.
pub fn plan(windows: &[Window], catalog: &Catalog) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    for w in windows {
        steps.push(Step { at_ms: w.at_ms, fault: w.fault.clone() });
        if let (Some(len), Some(inverse)) = (w.length_ms, catalog.inverse(&w.fault)) {
            steps.push(Step { at_ms: w.at_ms + len, fault: inverse });
        }
    }
    steps.sort_by_key(|s| s.at_ms); // stable: a window's fault before a same-time close
    steps
}

/// The smallest subset of `items` (keeping their order) that still
/// `fails`, by delta debugging: try each of `n` chunks alone, then each
/// complement, refining `n` until single items. `fails` is called only on
/// proper subsets; `items` itself is taken to fail. 1-minimal: removing
/// any one item of the result makes it pass (as far as `fails` says).
pub fn ddmin<T: Clone>(items: &[T], mut fails: impl FnMut(&[T]) -> bool) -> Vec<T> {
    let mut current: Vec<T> = items.to_vec();
    let mut n = 2usize;
    while current.len() >= 2 {
        let chunk = current.len().div_ceil(n);
        let parts: Vec<Vec<T>> = current.chunks(chunk).map(<[T]>::to_vec).collect();
        if let Some(p) = parts.iter().find(|p| fails(p)) {
            current = p.clone();
            n = 2;
            continue;
        }
        let complement = |i: usize| parts.iter().enumerate().filter(|(j, _)| *j != i).flat_map(|(_, p)| p.iter().cloned()).collect::<Vec<T>>();
        if let Some(c) = (0..parts.len()).filter(|_| parts.len() > 2).map(complement).find(|c| fails(c)) {
            current = c;
            n = (n - 1).max(2);
            continue;
        }
        if n >= current.len() {
            break;
        }
        n = (2 * n).min(current.len());
    }
    current
}

/// Candidates that shorten a failing plan's windows: each window's length
/// halved (down to `min_ms`), and each gap before a window halved (every
/// later window moved earlier with it). The caller keeps the first that
/// still fails and asks again, until none does.
pub fn shorter(windows: &[Window], min_ms: u64) -> Vec<Vec<Window>> {
    let mut out = Vec::new();
    for i in 0..windows.len() {
        if let Some(len) = windows[i].length_ms.filter(|&l| l / 2 >= min_ms) {
            let mut c = windows.to_vec();
            c[i].length_ms = Some(len / 2);
            out.push(c);
        }
        let before = if i == 0 { 0 } else { windows[i - 1].at_ms + windows[i - 1].length_ms.unwrap_or(0) };
        let gap = windows[i].at_ms.saturating_sub(before);
        if gap / 2 >= min_ms {
            let mut c = windows.to_vec();
            for w in &mut c[i..] {
                w.at_ms -= gap / 2;
            }
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};

    fn kill(node: &str) -> Fault {
        Fault::Kill { nodes: vec![node.into()] }
    }

    fn partition() -> Fault {
        Fault::StartPartition { grudge: BTreeMap::from([("n1".to_string(), BTreeSet::from(["n2".to_string()]))]), ports: vec![] }
    }

    #[test]
    fn windows_pair_each_fault_with_its_inverse_and_plans_come_back() {
        let p = vec![
            Step { at_ms: 0, fault: partition() },
            Step { at_ms: 1000, fault: kill("n2") },
            Step { at_ms: 1500, fault: Fault::StopPartition },
            Step { at_ms: 3000, fault: Fault::Start { nodes: vec!["n2".into()] } },
            Step { at_ms: 4000, fault: kill("n3") },
        ];
        let w = windows(&p, &Catalog::shared());
        assert_eq!(w.iter().map(|w| (w.at_ms, w.length_ms)).collect::<Vec<_>>(), vec![(0, Some(1500)), (1000, Some(2000)), (4000, None)]);
        assert_eq!(plan(&w, &Catalog::shared()), p);
    }

    #[test]
    fn ddmin_finds_the_two_windows_a_failure_needs_among_ten() {
        // fails when window 3 and window 7 are both there
        let items: Vec<usize> = (0..10).collect();
        let mut calls = 0;
        let min = ddmin(&items, |c| {
            calls += 1;
            c.contains(&3) && c.contains(&7)
        });
        assert_eq!(min, vec![3, 7]);
        assert!(calls < 40, "{calls} candidates");
        // one culprit; and a failure that needs everything
        assert_eq!(ddmin(&items, |c| c.contains(&5)), vec![5]);
        assert_eq!(ddmin(&items[..3], |c| c.len() == 3), vec![0, 1, 2]);
    }

    #[test]
    fn shorter_candidates_halve_lengths_and_gaps_but_not_below_the_floor() {
        let w = vec![Window { at_ms: 4000, fault: partition(), length_ms: Some(2000) }, Window { at_ms: 8000, fault: kill("n1"), length_ms: Some(300) }];
        let c = shorter(&w, 250);
        let shapes: Vec<Vec<(u64, Option<u64>)>> = c.iter().map(|ws| ws.iter().map(|w| (w.at_ms, w.length_ms)).collect()).collect();
        assert_eq!(
            shapes,
            vec![vec![(4000, Some(1000)), (8000, Some(300))], vec![(2000, Some(2000)), (6000, Some(300))], vec![(4000, Some(2000)), (7000, Some(300))]]
        );
    }
}
