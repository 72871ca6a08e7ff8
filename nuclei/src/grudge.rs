//! Partitions as data: a grudge maps each node to the nodes it drops
//! traffic from. Built by pure functions, applied elsewhere.

use crate::FaultError;
use history::Rng;
use std::collections::{BTreeMap, BTreeSet};

/// node -> the nodes whose packets it drops.
pub type Grudge = BTreeMap<String, BTreeSet<String>>;

/// Every node drops every node outside its own component (both ways).
pub fn complete(components: &[Vec<String>]) -> Grudge {
    let mut g = Grudge::new();
    for (i, comp) in components.iter().enumerate() {
        let others: BTreeSet<String> = components.iter().enumerate().filter(|(j, _)| *j != i).flat_map(|(_, c)| c.iter().cloned()).collect();
        for n in comp {
            if !others.is_empty() {
                g.insert(n.clone(), others.clone());
            }
        }
    }
    g
}

/// One node cut off from all others.
pub fn isolate(nodes: &[String], victim: &str) -> Grudge {
    let rest: Vec<String> = nodes.iter().filter(|n| *n != victim).cloned().collect();
    complete(&[vec![victim.to_string()], rest])
}

/// A random majority and minority (the nodes shuffled, then split).
pub fn halves(nodes: &[String], rng: &mut Rng) -> Grudge {
    let mut v = nodes.to_vec();
    rng.shuffle(&mut v);
    let minority = v.split_off(v.len().div_ceil(2));
    complete(&[v, minority])
}

/// A random minority of about a third against the rest.
pub fn minority_third(nodes: &[String], rng: &mut Rng) -> Grudge {
    let mut v = nodes.to_vec();
    rng.shuffle(&mut v);
    let k = (nodes.len() / 3).max(1);
    let rest = v.split_off(k);
    complete(&[v, rest])
}

/// Jepsen's bridge: two halves that cannot see each other, and one node
/// in the middle that sees both (needs at least 3 nodes).
pub fn bridge(nodes: &[String], rng: &mut Rng) -> Grudge {
    let mut v = nodes.to_vec();
    rng.shuffle(&mut v);
    let mid = v.len() / 2; // v[mid] is the bridge: it drops nothing
    let (left, right): (Vec<String>, Vec<String>) = (v[..mid].to_vec(), v[mid + 1..].to_vec());
    let mut g = Grudge::new();
    for n in &left {
        g.insert(n.clone(), right.iter().cloned().collect());
    }
    for n in &right {
        g.insert(n.clone(), left.iter().cloned().collect());
    }
    g.retain(|_, s| !s.is_empty());
    g
}

/// Jepsen's majorities ring: every node sees a majority (itself and its
/// nearest neighbours around a shuffled ring) but no two nodes see the
/// same majority.
pub fn majorities_ring(nodes: &[String], rng: &mut Rng) -> Grudge {
    let mut v = nodes.to_vec();
    rng.shuffle(&mut v);
    let n = v.len();
    let m = n / 2 + 1; // majority size
    let mut g = Grudge::new();
    for (i, node) in v.iter().enumerate() {
        // the majority centred on i
        let sees: BTreeSet<String> = (0..m).map(|k| v[(i + n - (m - 1) / 2 + k) % n].clone()).collect();
        let drops: BTreeSet<String> = v.iter().filter(|x| !sees.contains(*x)).cloned().collect();
        if !drops.is_empty() {
            g.insert(node.clone(), drops);
        }
    }
    g
}

/// The one-way version: for every pair dropped both ways, only the node
/// that sorts first drops (the other still receives).
pub fn one_way(g: &Grudge) -> Grudge {
    let mut out = Grudge::new();
    for (n, drops) in g {
        let keep: BTreeSet<String> = drops.iter().filter(|d| !(g.get(*d).is_some_and(|s| s.contains(n)) && *d < n)).cloned().collect();
        if !keep.is_empty() {
            out.insert(n.clone(), keep);
        }
    }
    out
}

/// `Ok` when every node of the grudge and every node it drops is one of
/// `nodes` and none drops itself; else the invalid fault, named.
pub fn valid_for(g: &Grudge, nodes: &[String]) -> Result<(), FaultError> {
    for (n, drops) in g {
        for x in std::iter::once(n).chain(drops) {
            if !nodes.contains(x) {
                return Err(FaultError::Invalid(format!("grudge names {x:?}, which is not a node")));
            }
        }
        if drops.contains(n) {
            return Err(FaultError::Invalid(format!("{n} cannot drop itself")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("n{i}")).collect()
    }

    fn set(v: &[&str]) -> BTreeSet<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// Whether a and b can talk (neither drops the other).
    fn connected(g: &Grudge, a: &str, b: &str) -> bool {
        !g.get(a).is_some_and(|s| s.contains(b)) && !g.get(b).is_some_and(|s| s.contains(a))
    }

    #[test]
    fn isolating_one_node_cuts_it_both_ways() {
        let g = isolate(&nodes(3), "n2");
        assert_eq!(g["n2"], set(&["n1", "n3"]));
        assert_eq!(g["n1"], set(&["n2"]));
        assert_eq!(g["n3"], set(&["n2"]));
        assert!(connected(&g, "n1", "n3"));
    }

    #[test]
    fn halves_are_a_majority_and_a_minority() {
        for seed in 0..20 {
            let g = halves(&nodes(5), &mut Rng::new(seed));
            let sizes: BTreeSet<usize> = g.values().map(|d| d.len()).collect();
            assert_eq!(sizes, [2, 3].into_iter().collect(), "{g:?}");
            let minority: Vec<&String> = g.iter().filter(|(_, d)| d.len() == 3).map(|(n, _)| n).collect();
            assert_eq!(minority.len(), 2);
            assert!(connected(&g, minority[0], minority[1]));
        }
    }

    #[test]
    fn a_bridge_node_sees_everyone_and_the_sides_see_only_their_own() {
        let g = bridge(&nodes(5), &mut Rng::new(3));
        let all = nodes(5);
        let bridges: Vec<&String> = all.iter().filter(|n| all.iter().all(|m| connected(&g, n, m))).collect();
        assert_eq!(bridges.len(), 1);
        assert_eq!(g.len(), 4);
        assert!(g.values().all(|d| d.len() == 2));
    }

    #[test]
    fn in_a_majorities_ring_each_node_sees_a_different_majority() {
        let all = nodes(5);
        let g = majorities_ring(&all, &mut Rng::new(9));
        let mut views = BTreeSet::new();
        for n in &all {
            let sees: BTreeSet<&String> = all.iter().filter(|m| !g.get(n).is_some_and(|d| d.contains(*m))).collect();
            assert_eq!(sees.len(), 3, "{n}: {sees:?}");
            views.insert(sees);
        }
        assert_eq!(views.len(), 5);
    }

    #[test]
    fn minority_third_and_one_way_variants() {
        let g = minority_third(&nodes(6), &mut Rng::new(1));
        assert_eq!(g.values().filter(|d| d.len() == 4).count(), 2);
        let one = one_way(&isolate(&nodes(3), "n2"));
        // n1 drops n2, n2 drops n3, n3 drops nothing: each pair cut in one direction only
        assert_eq!(one.get("n1"), Some(&set(&["n2"])));
        assert_eq!(one.get("n2"), Some(&set(&["n3"])));
        assert_eq!(one.get("n3"), None);
    }

    #[test]
    fn grudges_naming_unknown_nodes_are_rejected() {
        let mut g = Grudge::new();
        g.insert("n1".into(), set(&["n9"]));
        assert!(matches!(valid_for(&g, &nodes(3)), Err(FaultError::Invalid(m)) if m.contains("n9")));
        g.insert("n1".into(), set(&["n1"]));
        assert!(valid_for(&g, &nodes(3)).is_err());
        assert!(valid_for(&isolate(&nodes(3), "n1"), &nodes(3)).is_ok());
    }
}
