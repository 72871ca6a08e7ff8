//! New fault plans from old ones: the shrinker's windows, changed by one
//! operator or a few (insert, delete, swap, retarget, shift, stretch,
//! splice from another plan, and a fault moved to just after another's
//! heal). A plan stays inside the run's time limit and never overlaps two
//! windows of the same fault.

use history::Rng;
use nuclei::shrink::Window;
use nuclei::Fault;
use serde_json::Value;

/// What a mutation may draw on.
pub struct Ingredients<'a> {
    /// Faults seen in plans so far (each a window's opening fault).
    pub faults: &'a [Fault],
    /// Other plans of the corpus, to splice from.
    pub donors: &'a [Vec<Window>],
    /// The cluster's nodes.
    pub nodes: &'a [String],
    /// The run's time limit, ms: every window closes before it.
    pub limit_ms: u64,
}

/// The operators, by name.
pub const OPERATORS: [&str; 8] = ["insert", "delete", "swap", "retarget", "shift", "stretch", "splice", "after-heal"];

/// `fault` with two node names exchanged everywhere it names them.
fn swap_nodes(fault: &Fault, a: &str, b: &str) -> Option<Fault> {
    fn walk(v: Value, a: &str, b: &str) -> Value {
        let swap = |s: String| {
            if s == a {
                b.to_string()
            } else if s == b {
                a.to_string()
            } else {
                s
            }
        };
        match v {
            Value::String(s) => Value::String(swap(s)),
            Value::Array(xs) => Value::Array(xs.into_iter().map(|x| walk(x, a, b)).collect()),
            Value::Object(m) => Value::Object(m.into_iter().map(|(k, x)| (swap(k), walk(x, a, b))).collect()),
            other => other,
        }
    }
    serde_json::from_value(walk(serde_json::to_value(fault).ok()?, a, b)).ok()
}

/// The node a fault struck hardest: the one it names (a kill, a pause),
/// or the node a partition cut off from every other node it names, of
/// three or more (`None` when there is no such node).
fn struck(fault: &Fault) -> Option<String> {
    let v = serde_json::to_value(fault).ok()?;
    if let Some(n) = v["nodes"].as_array().and_then(|a| a.first()).and_then(Value::as_str) {
        return Some(n.to_string());
    }
    let grudge = v["grudge"].as_object()?;
    let drops = |n: &str| -> std::collections::BTreeSet<&str> {
        grudge.get(n).and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default()
    };
    let named: std::collections::BTreeSet<&str> =
        grudge.iter().flat_map(|(n, d)| std::iter::once(n.as_str()).chain(d.as_array().into_iter().flatten().filter_map(Value::as_str))).collect();
    let cut: Vec<&str> = named.iter().copied().filter(|n| named.iter().all(|o| o == n || drops(n).contains(o))).collect();
    (named.len() >= 3 && cut.len() == 1).then(|| cut[0].to_string())
}

/// `fault` on `node` instead of the nodes it names (`None` for a fault
/// that names none).
fn on_node(fault: &Fault, node: &str) -> Option<Fault> {
    let mut v = serde_json::to_value(fault).ok()?;
    if !v["nodes"].is_array() {
        return None;
    }
    v["nodes"] = Value::Array(vec![Value::String(node.to_string())]);
    serde_json::from_value(v).ok()
}

fn end(w: &Window) -> u64 {
    w.at_ms + w.length_ms.unwrap_or(0)
}

/// Moves and trims a window into `[0, limit)`; `None` when nothing of it
/// is left.
fn clamp(mut w: Window, limit_ms: u64) -> Option<Window> {
    let len = w.length_ms.unwrap_or(0).max(250);
    if len + 250 > limit_ms {
        return None;
    }
    w.at_ms = w.at_ms.min(limit_ms - len - 1);
    w.length_ms = Some(len);
    Some(w)
}

/// One operator on `plan`; `None` when it does not apply.
fn apply(op: &str, plan: &[Window], ing: &Ingredients, rng: &mut Rng) -> Option<Vec<Window>> {
    let mut p = plan.to_vec();
    let i = rng.below(p.len().max(1) as u64) as usize;
    match op {
        "insert" => {
            let fault = rng.pick(ing.faults)?.clone();
            let len = 500 + rng.below(ing.limit_ms / 4 + 1);
            p.push(Window { at_ms: rng.below(ing.limit_ms), fault, length_ms: Some(len) });
        }
        "delete" if p.len() > 1 => {
            p.remove(i);
        }
        "swap" if p.len() > 1 => {
            let j = rng.below(p.len() as u64) as usize;
            let (fi, fj) = (p[i].fault.clone(), p[j].fault.clone());
            p[i].fault = fj;
            p[j].fault = fi;
        }
        "retarget" if !p.is_empty() && ing.nodes.len() > 1 => {
            let a = rng.pick(ing.nodes)?.clone();
            let b = rng.pick(ing.nodes)?.clone();
            p[i].fault = swap_nodes(&p[i].fault, &a, &b)?;
        }
        "shift" if !p.is_empty() => {
            let by = rng.below(6001) as i64 - 3000;
            p[i].at_ms = (p[i].at_ms as i64 + by).max(0) as u64;
        }
        "stretch" if !p.is_empty() => {
            let len = p[i].length_ms.unwrap_or(1000) as f64 * (0.25 + 1.75 * rng.below(1000) as f64 / 1000.0);
            p[i].length_ms = Some(len as u64);
        }
        "splice" => {
            let donor = rng.pick(ing.donors)?;
            p.push(rng.pick(donor)?.clone());
        }
        "after-heal" if p.len() > 1 => {
            let j = rng.below(p.len() as u64) as usize;
            if i == j {
                return None;
            }
            p[i].at_ms = end(&p[j]) + rng.below(1500);
            // half the time on the node the other fault struck: faults
            // that meet on one node, one right after the other
            if rng.chance(0.5) {
                if let Some(f) = struck(&p[j].fault).and_then(|n| on_node(&p[i].fault, &n)) {
                    p[i].fault = f;
                }
            }
        }
        _ => return None,
    }
    let mut out: Vec<Window> = p.into_iter().filter_map(|w| clamp(w, ing.limit_ms)).collect();
    out.sort_by_key(|w| w.at_ms);
    let overlaps = out.iter().enumerate().any(|(a, x)| out[a + 1..].iter().any(|y| x.fault.f() == y.fault.f() && y.at_ms < end(x)));
    (!out.is_empty() && !overlaps && out != plan).then_some(out)
}

/// A child of `plan`: one to three operators in a row; the plan and the
/// names of the operators that made it, or `None` when none applied.
pub fn mutate(plan: &[Window], ing: &Ingredients, rng: &mut Rng) -> Option<(Vec<Window>, Vec<&'static str>)> {
    let rounds = 1 + rng.below(3);
    let mut current = plan.to_vec();
    let mut used = Vec::new();
    // a round may undo another (two swaps): more rounds until it differs
    for round in 0..rounds + 5 {
        if round >= rounds && current != plan {
            break;
        }
        for _ in 0..20 {
            let op = *rng.pick(&OPERATORS)?;
            if let Some(next) = apply(op, &current, ing, rng) {
                current = next;
                used.push(op);
                break;
            }
        }
    }
    (current != plan).then_some((current, used))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};

    fn nodes() -> Vec<String> {
        (1..=3).map(|i| format!("n{i}")).collect()
    }

    fn plan() -> Vec<Window> {
        let part = Fault::StartPartition { grudge: BTreeMap::from([("n1".to_string(), BTreeSet::from(["n2".to_string()]))]), ports: vec![] };
        vec![
            Window { at_ms: 2000, fault: part, length_ms: Some(3000) },
            Window { at_ms: 9000, fault: Fault::Pause { nodes: vec!["n3".into()] }, length_ms: Some(2000) },
        ]
    }

    #[test]
    fn retargeting_exchanges_node_names_everywhere_a_fault_names_them() {
        let f = swap_nodes(&plan()[0].fault, "n1", "n3").unwrap();
        assert_eq!(serde_json::to_value(&f).unwrap()["grudge"], serde_json::json!({"n3": ["n2"]}));
        assert_eq!(swap_nodes(&plan()[1].fault, "n3", "n2"), Some(Fault::Pause { nodes: vec!["n2".into()] }));
    }

    #[test]
    fn a_fault_after_a_heal_may_strike_the_node_the_other_struck() {
        let cut_n3 = Fault::StartPartition {
            grudge: BTreeMap::from([
                ("n3".to_string(), BTreeSet::from(["n1".to_string(), "n2".to_string()])),
                ("n1".to_string(), BTreeSet::from(["n3".to_string()])),
                ("n2".to_string(), BTreeSet::from(["n3".to_string()])),
            ]),
            ports: vec![],
        };
        assert_eq!(struck(&cut_n3).as_deref(), Some("n3"));
        assert_eq!(struck(&plan()[0].fault), None, "two nodes named: none cut off from a majority");
        assert_eq!(struck(&Fault::Kill { nodes: vec!["n2".into()] }).as_deref(), Some("n2"));
        assert_eq!(on_node(&Fault::Pause { nodes: vec!["n1".into()] }, "n3"), Some(Fault::Pause { nodes: vec!["n3".into()] }));
        assert_eq!(on_node(&Fault::StopPartition, "n3"), None);
    }

    #[test]
    fn every_child_is_a_new_plan_inside_the_time_limit_without_same_kind_overlaps() {
        let p = plan();
        let faults: Vec<Fault> = p.iter().map(|w| w.fault.clone()).collect();
        let donors = vec![p.clone()];
        let ns = nodes();
        let ing = Ingredients { faults: &faults, donors: &donors, nodes: &ns, limit_ms: 20_000 };
        let mut rng = Rng::new(7);
        let mut used = BTreeSet::new();
        for _ in 0..500 {
            let (c, ops) = mutate(&p, &ing, &mut rng).expect("a child");
            used.extend(ops);
            assert_ne!(c, p);
            for (a, w) in c.iter().enumerate() {
                assert!(end(w) < 20_000, "{c:?}");
                assert!(!c[a + 1..].iter().any(|y| y.fault.f() == w.fault.f() && y.at_ms < end(w)), "{c:?}");
            }
        }
        assert_eq!(used.len(), OPERATORS.len(), "every operator applies: {used:?}");
    }
}
