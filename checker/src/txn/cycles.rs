//! Cycles in the dependency graph, classified as Adya's anomalies with
//! Elle's names: G0 (write-write only), G1c (write-write and write-read,
//! at least one write-read), G-single-item (exactly one anti-dependency),
//! G-nonadjacent-item (several, never two in a row), G2-item (several).
//! Each is searched on data edges alone, then with process order added
//! (`-process`: the cycle needs a process edge), then with real-time order
//! (`-realtime`). One shortest cycle is reported per strongly connected
//! component and kind.

use super::graph::{kind_name, Graph, DATA, PROCESS, REALTIME, RW, WR, WW};
use super::models::Consistency;
use super::Explain;
use super::{Anomaly, Step};
use rustc_hash::FxHashMap;
use std::collections::VecDeque;

/// A cycle as (transaction, type of the edge to the next).
type Cycle = Vec<(u32, u8)>;

fn count(c: &Cycle, kind: u8) -> usize {
    c.iter().filter(|s| s.1 == kind).count()
}

/// The cycle's anomaly name: its kind and the order edges it needs.
fn name(base: &str, c: &Cycle) -> String {
    if count(c, REALTIME) > 0 {
        format!("{base}-realtime")
    } else if count(c, PROCESS) > 0 {
        format!("{base}-process")
    } else {
        base.to_string()
    }
}

fn describe(inf: &dyn Explain, base: &str, c: &Cycle) -> Anomaly {
    let steps: Vec<Step> = c
        .iter()
        .enumerate()
        .map(|(i, &(t, k))| {
            let next = c[(i + 1) % c.len()].0;
            let why = match k {
                PROCESS => "the same process ran the next one after it".to_string(),
                REALTIME => "it completed before the next one began".to_string(),
                _ => inf.why(t as usize, next as usize, k),
            };
            Step { txn: inf.txn_ref(t as usize), edge: kind_name(k).to_string(), why }
        })
        .collect();
    let kinds: Vec<&str> = c.iter().map(|s| kind_name(s.1)).collect();
    let explanation = format!("a cycle of {} transactions through {} edges: no order of them explains what each saw", c.len(), kinds.join(", "));
    Anomaly { name: name(base, c), cycle: steps, txns: Vec::new(), explanation }
}

/// A cycle through the edge `a -> b` of type `k`, closed by a shortest
/// path back over `mask`.
fn through(g: &Graph, a: u32, b: u32, k: u8, mask: u8, inside: &[bool]) -> Option<Cycle> {
    let back = g.path(b, a, mask, inside)?;
    let mut c = vec![(a, k)];
    c.extend(back);
    Some(c)
}

/// The first cycle through an edge of type `k` in `nodes` whose closing
/// path uses `mask`, accepted by `keep`.
fn first(g: &Graph, nodes: &[u32], inside: &[bool], k: u8, mask: u8, keep: impl Fn(&Cycle) -> bool) -> Option<Cycle> {
    let mut best: Option<Cycle> = None;
    for &a in nodes {
        for (b, kinds) in g.edges(a, k) {
            if kinds & k == 0 || !inside[b as usize] {
                continue;
            }
            if let Some(c) = through(g, a, b, k, mask, inside).filter(|c| keep(c)) {
                if best.as_ref().is_none_or(|x| c.len() < x.len()) {
                    best = Some(c);
                }
                if best.as_ref().is_some_and(|x| x.len() <= 2) {
                    return best;
                }
            }
        }
    }
    best
}

/// A cycle whose anti-dependency edges are never adjacent, with two or
/// more of them. On a derived graph where `a => c` when `a -rw-> b` and
/// `c`, the source of another rw edge, is reached from `b` over one or
/// more other edges, such a cycle is a derived cycle of two or more steps;
/// the shortest one is expanded and kept when it is a simple cycle.
fn nonadjacent(g: &Graph, nodes: &[u32], inside: &[bool], order: u8) -> Option<Cycle> {
    let other = WW | WR | order;
    let is_source = |t: u32| g.edges(t, RW).any(|e| inside[e.0 as usize]);
    let mut derived: FxHashMap<u32, Vec<(u32, u32)>> = FxHashMap::default(); // a -> (c, b)
    for &a in nodes.iter().filter(|&&t| is_source(t)) {
        for (b, _) in g.edges(a, RW).filter(|e| inside[e.0 as usize]) {
            let mut seen: FxHashMap<u32, ()> = FxHashMap::default();
            let mut queue: VecDeque<u32> = g.edges(b, other).map(|e| e.0).filter(|&t| inside[t as usize]).collect();
            while let Some(c) = queue.pop_front() {
                if seen.insert(c, ()).is_some() {
                    continue;
                }
                if is_source(c) && c != b {
                    derived.entry(a).or_default().push((c, b));
                }
                queue.extend(g.edges(c, other).map(|e| e.0).filter(|&t| inside[t as usize]));
            }
        }
    }
    for &s in derived.keys() {
        // shortest derived cycle through s with at least two steps
        let mut prev: FxHashMap<u32, (u32, u32)> = FxHashMap::default(); // c -> (a, b)
        let mut queue: VecDeque<u32> = VecDeque::from([s]);
        let mut found = None;
        'bfs: while let Some(a) = queue.pop_front() {
            for &(c, b) in derived.get(&a).into_iter().flatten() {
                if c == s && a != s {
                    found = Some((a, b));
                    break 'bfs;
                }
                if c != s && !prev.contains_key(&c) {
                    prev.insert(c, (a, b));
                    queue.push_back(c);
                }
            }
        }
        let Some((mut a, b)) = found else { continue };
        let mut hops = vec![(a, b, s)];
        while a != s {
            let (pa, pb) = prev[&a];
            hops.push((pa, pb, a));
            a = pa;
        }
        hops.reverse();
        let mut cycle: Cycle = Vec::new();
        for (a, b, c) in hops {
            cycle.push((a, RW));
            cycle.extend(g.path(b, c, other, inside)?);
        }
        let mut ts: Vec<u32> = cycle.iter().map(|x| x.0).collect();
        ts.sort_unstable();
        if ts.windows(2).all(|w| w[0] != w[1]) && count(&cycle, RW) >= 2 {
            return Some(cycle);
        }
    }
    None
}

/// Every cycle anomaly: one shortest example per component and kind. The
/// three graphs (data edges; with process order; with real-time order too)
/// are searched at once, on threads of their own.
pub fn search(inf: &(dyn Explain + Sync), _c: Consistency) -> Vec<Anomaly> {
    let orders = [0, PROCESS, PROCESS | REALTIME];
    if inf.graph().len() < 10_000 {
        return orders.into_iter().flat_map(|o| search_order(inf, o)).collect();
    }
    std::thread::scope(|s| {
        let jobs: Vec<_> = orders.into_iter().map(|o| s.spawn(move || search_order(inf, o))).collect();
        jobs.into_iter().flat_map(|j| j.join().unwrap_or_else(|p| std::panic::resume_unwind(p))).collect()
    })
}

/// The cycles over data edges and the order edges of `order`, each needing
/// one of those order edges (`order` 0: data edges alone).
fn search_order(inf: &dyn Explain, order: u8) -> Vec<Anomaly> {
    let g = inf.graph();
    let mut out = Vec::new();
    let extra = |c: &Cycle| order == 0 || c.iter().any(|s| s.1 & order != 0);
    for comp in g.sccs(DATA | order) {
        let mut inside = vec![false; g.len()];
        for &t in &comp {
            inside[t as usize] = true;
        }
        let mut add = |base: &str, c: Option<Cycle>| match c.filter(|c| extra(c)) {
            Some(c) => {
                out.push(describe(inf, base, &c));
                true
            }
            None => false,
        };
        add("G0", first(g, &comp, &inside, WW, WW | order, |_| true));
        add("G1c", first(g, &comp, &inside, WR, WW | WR | order, |c| count(c, RW) == 0));
        let single = add("G-single-item", first(g, &comp, &inside, RW, WW | WR | order, |c| count(c, RW) == 1));
        let nonadj = !single && add("G-nonadjacent-item", nonadjacent(g, &comp, &inside, order));
        if !single && !nonadj {
            add("G2-item", first(g, &comp, &inside, RW, DATA | order, |c| count(c, RW) >= 2));
        }
    }
    out
}
