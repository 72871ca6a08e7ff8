//! The dependency graph between transactions: typed edges, strongly
//! connected components, shortest paths over chosen edge types.

use rustc_hash::FxHashMap;
use std::collections::VecDeque;

/// Write-write: the second installed the next version of a key.
pub const WW: u8 = 1;
/// Write-read: the second read the first's write.
pub const WR: u8 = 2;
/// Read-write (anti-dependency): the second overwrote what the first read.
pub const RW: u8 = 4;
/// Process order: the same process ran the second after the first.
pub const PROCESS: u8 = 8;
/// Real-time order: the second began after the first completed.
pub const REALTIME: u8 = 16;
/// The data dependencies.
pub const DATA: u8 = WW | WR | RW;

/// The name of one edge type.
pub fn kind_name(k: u8) -> &'static str {
    match k {
        WW => "ww",
        WR => "wr",
        RW => "rw",
        PROCESS => "process",
        _ => "realtime",
    }
}

/// A directed graph over transactions `0..n`: edges are added to a list,
/// then [`Graph::finish`] lays them out by source (compressed rows: one
/// allocation, not one per transaction), merging the types of parallel
/// edges.
#[derive(Debug, Default)]
pub struct Graph {
    n: usize,
    pending: Vec<(u32, u32, u8)>,
    /// Where each transaction's edges start in `targets` (`n + 1` entries).
    offsets: Vec<u32>,
    targets: Vec<(u32, u8)>,
}

impl Graph {
    /// A graph of `n` transactions and no edge.
    pub fn new(n: usize) -> Graph {
        Graph { n, pending: Vec::new(), offsets: vec![0; n + 1], targets: Vec::new() }
    }

    /// Adds an edge `a -> b` of type `kind` (no self edges); seen once
    /// [`Graph::finish`] ran.
    pub fn add(&mut self, a: usize, b: usize, kind: u8) {
        if a != b {
            self.pending.push((a as u32, b as u32, kind));
        }
    }

    /// Lays out every edge added so far, with those laid out before.
    pub fn finish(&mut self) {
        let mut all = std::mem::take(&mut self.pending);
        for a in 0..self.n {
            all.extend(self.out(a as u32).iter().map(|&(b, k)| (a as u32, b, k)));
        }
        let mut counts = vec![0u32; self.n + 1];
        for e in &all {
            counts[e.0 as usize + 1] += 1;
        }
        for i in 1..counts.len() {
            counts[i] += counts[i - 1];
        }
        let mut targets = vec![(0u32, 0u8); all.len()];
        let mut next = counts.clone();
        for (a, b, k) in all {
            targets[next[a as usize] as usize] = (b, k);
            next[a as usize] += 1;
        }
        // each row sorted by target, parallel edges merged into one
        let mut offsets = vec![0u32; self.n + 1];
        let mut w = 0usize;
        for a in 0..self.n {
            let row = &mut targets[counts[a] as usize..counts[a + 1] as usize];
            row.sort_unstable_by_key(|e| e.0);
            let start = w;
            for i in counts[a] as usize..counts[a + 1] as usize {
                let e = targets[i];
                if w > start && targets[w - 1].0 == e.0 {
                    targets[w - 1].1 |= e.1;
                } else {
                    targets[w] = e;
                    w += 1;
                }
            }
            offsets[a + 1] = w as u32;
        }
        targets.truncate(w);
        self.offsets = offsets;
        self.targets = targets;
    }

    fn out(&self, a: u32) -> &[(u32, u8)] {
        &self.targets[self.offsets[a as usize] as usize..self.offsets[a as usize + 1] as usize]
    }

    /// Transactions.
    pub fn len(&self) -> usize {
        self.n
    }

    /// True when some laid-out edge has a type in `mask`.
    pub fn any(&self, mask: u8) -> bool {
        self.targets.iter().any(|e| e.1 & mask != 0)
    }

    /// The edges out of `a` of the types in `mask`: (target, types).
    pub fn edges(&self, a: u32, mask: u8) -> impl Iterator<Item = (u32, u8)> + '_ {
        self.out(a).iter().filter(move |e| e.1 & mask != 0).map(move |&(b, k)| (b, k & mask))
    }

    /// Strongly connected components of more than one transaction, over the
    /// edges in `mask` (Tarjan's algorithm, iterative).
    pub fn sccs(&self, mask: u8) -> Vec<Vec<u32>> {
        let n = self.len();
        let (mut index, mut low, mut on) = (vec![u32::MAX; n], vec![0u32; n], vec![false; n]);
        let (mut stack, mut out, mut next) = (Vec::new(), Vec::new(), 0u32);
        for root in 0..n as u32 {
            if index[root as usize] != u32::MAX {
                continue;
            }
            let mut call: Vec<(u32, usize)> = vec![(root, 0)];
            while let Some(&mut (v, ref mut i)) = call.last_mut() {
                let vu = v as usize;
                if *i == 0 && index[vu] == u32::MAX {
                    index[vu] = next;
                    low[vu] = next;
                    next += 1;
                    stack.push(v);
                    on[vu] = true;
                }
                // the next edge of the mask's types, by position in `out`
                let edges = self.out(v);
                while *i < edges.len() && edges[*i].1 & mask == 0 {
                    *i += 1;
                }
                if let Some(&(w, _)) = edges.get(*i) {
                    *i += 1;
                    if index[w as usize] == u32::MAX {
                        call.push((w, 0));
                    } else if on[w as usize] {
                        low[vu] = low[vu].min(index[w as usize]);
                    }
                    continue;
                }
                call.pop();
                if let Some(&(parent, _)) = call.last() {
                    low[parent as usize] = low[parent as usize].min(low[vu]);
                }
                if low[vu] == index[vu] {
                    let mut comp = Vec::new();
                    while let Some(w) = stack.pop() {
                        on[w as usize] = false;
                        comp.push(w);
                        if w == v {
                            break;
                        }
                    }
                    if comp.len() > 1 {
                        out.push(comp);
                    }
                }
            }
        }
        out
    }

    /// The shortest path from `from` to `to` over the edges in `mask`,
    /// staying among transactions where `inside` is true: each step as
    /// (transaction, type of the edge out of it); `to` itself not included.
    pub fn path(&self, from: u32, to: u32, mask: u8, inside: &[bool]) -> Option<Vec<(u32, u8)>> {
        let mut prev: FxHashMap<u32, (u32, u8)> = FxHashMap::default();
        let mut queue = VecDeque::from([from]);
        let mut seen: FxHashMap<u32, ()> = FxHashMap::default();
        seen.insert(from, ());
        while let Some(v) = queue.pop_front() {
            for (w, k) in self.edges(v, mask) {
                if !inside[w as usize] || seen.insert(w, ()).is_some() {
                    continue;
                }
                // prefer the weakest type an edge has: data over order
                let k = 1 << k.trailing_zeros();
                prev.insert(w, (v, k));
                if w == to {
                    let mut steps = Vec::new();
                    let mut cur = to;
                    while cur != from {
                        let (p, k) = prev[&cur];
                        steps.push((p, k));
                        cur = p;
                    }
                    steps.reverse();
                    return Some(steps);
                }
                queue.push_back(w);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_and_paths_follow_the_chosen_edges() {
        let mut g = Graph::new(4);
        g.add(0, 1, WW);
        g.add(1, 0, RW);
        g.add(1, 2, WR);
        g.add(2, 3, PROCESS);
        g.add(3, 1, REALTIME);
        g.add(0, 1, RW); // merged with 0 -> 1 ww
        g.finish();
        assert_eq!(g.edges(0, DATA).collect::<Vec<_>>(), vec![(1, WW | RW)]);
        let mut c = g.sccs(DATA);
        c[0].sort();
        assert_eq!(c, vec![vec![0, 1]]);
        assert_eq!(g.sccs(WW | WR).len(), 0);
        assert_eq!(g.sccs(DATA | PROCESS | REALTIME).len(), 1);
        let all = vec![true; 4];
        assert_eq!(g.path(2, 1, DATA | PROCESS | REALTIME, &all), Some(vec![(2, PROCESS), (3, REALTIME)]));
        assert_eq!(g.path(1, 0, WW, &all), None);
    }
}
