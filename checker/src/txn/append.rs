//! What a list-append history says: each key's version order (the longest
//! read; every other read must be a prefix of it), who appended each
//! element, the dependencies between transactions, and the anomalies that
//! need no cycle (aborted and intermediate reads, internal inconsistency,
//! duplicates, incompatible orders). Keys and elements are interned as
//! integers; a transaction's JSON and an edge's reason are only made for
//! what a result reports.

use super::graph::{Graph, PROCESS, REALTIME, RW, WR, WW};
use super::{Anomaly, Explain, TxnRef};
use crate::values::Values;
use history::{ErrorKind, History, HistoryError, OpType};
use rustc_hash::FxHashMap;
use serde_json::Value;

/// How a transaction ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Committed; its reads are known.
    Ok,
    /// Unknown (info, or never completed).
    Info,
    /// Definitely not committed.
    Fail,
}

/// One micro-op: an append of an element, or a read of a list (an index
/// into the reads' arena).
#[derive(Debug, Clone, Copy)]
pub(super) enum Mop {
    Append(u32, u32),
    Read(u32, u32),
}

/// One transaction, with its micro-ops of type `M`.
#[derive(Debug, Clone)]
pub struct Txn<M = Mop> {
    /// How it ended.
    pub status: Status,
    /// Where its value is in the history (completion if ok, else invoke).
    pub(super) pos: usize,
    pub(super) process: u64,
    pub(super) invoke: usize,
    pub(super) complete: Option<usize>,
    pub(super) mops: Vec<M>,
}

/// How many threads the checkers use: the cores this process may run on
/// (`taskset`, cgroup limits).
pub(super) fn threads() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// The workload's transactions of `h` (nemesis and probe ops left out),
/// each value read by `parse` from its history position.
pub(super) fn collect<M>(h: &History, parse: impl FnMut(usize) -> Result<Vec<M>, HistoryError>) -> Result<Vec<Txn<M>>, HistoryError> {
    collect_pairs(h, &history::pair_with(h, threads())?, parse)
}

/// [`collect`] over some of the history's pairs.
fn collect_pairs<M>(h: &History, pairs: &[history::Pair], mut parse: impl FnMut(usize) -> Result<Vec<M>, HistoryError>) -> Result<Vec<Txn<M>>, HistoryError> {
    let mut txns = Vec::with_capacity(pairs.len());
    for p in pairs {
        let inv = &h.ops[p.invoke];
        if !inv.is_workload() {
            continue;
        }
        let status = match p.completion.map(|c| h.ops[c].kind) {
            Some(OpType::Ok) => Status::Ok,
            Some(OpType::Fail) => Status::Fail,
            _ => Status::Info,
        };
        let pos = if status == Status::Ok { p.completion.unwrap_or(p.invoke) } else { p.invoke };
        txns.push(Txn {
            status,
            pos,
            process: inv.process.client().unwrap_or(0),
            invoke: p.invoke,
            complete: p.completion.filter(|_| status == Status::Ok),
            mops: parse(pos)?,
        });
    }
    Ok(txns)
}

/// Transaction `t` as results name it.
pub(super) fn txn_ref<M>(h: &History, txns: &[Txn<M>], t: usize) -> TxnRef {
    let x = &txns[t];
    let op = &h.ops[x.pos];
    TxnRef { index: h.ops[x.invoke].index, process: op.process.client().unwrap_or(0), value: op.value.clone() }
}

/// What the history says.
pub struct Inferred<'h> {
    h: &'h History,
    /// Every transaction, in invocation order.
    pub txns: Vec<Txn>,
    /// Their dependencies.
    pub graph: Graph,
    /// Anomalies that need no cycle.
    pub anomalies: Vec<Anomaly>,
    values: Values,
    lists: Lists,
    /// Each read key's version order: the index of its longest read.
    orders: FxHashMap<u32, u32>,
}

impl Explain for Inferred<'_> {
    fn graph(&self) -> &Graph {
        &self.graph
    }
    fn txn_ref(&self, t: usize) -> TxnRef {
        txn_ref(self.h, &self.txns, t)
    }
    fn why(&self, a: usize, b: usize, kind: u8) -> String {
        Inferred::why(self, a, b, kind)
    }
}

impl Inferred<'_> {
    /// An element as the history wrote it.
    fn elem(&self, id: u32) -> String {
        if id & INTERNED == 0 {
            return id.to_string();
        }
        self.show(id & !INTERNED)
    }

    /// A key as the history wrote it.
    fn show(&self, id: u32) -> String {
        match self.values.get(id) {
            Value::String(s) => s,
            v => v.to_string(),
        }
    }

    /// Why edge `a -> b` of type `kind` exists, in words.
    pub fn why(&self, a: usize, b: usize, kind: u8) -> String {
        let (ta, tb) = (&self.txns[a], &self.txns[b]);
        let appended = |t: &Txn, k: u32| -> Vec<u32> {
            t.mops
                .iter()
                .filter_map(|m| match *m {
                    Mop::Append(kk, x) if kk == k => Some(x),
                    _ => None,
                })
                .collect()
        };
        for m in if kind == RW { &ta.mops } else { &tb.mops } {
            let Mop::Read(k, l) = *m else { continue };
            let (list, order) = (&self.lists[l as usize], self.orders.get(&k).map(|&o| &self.lists[o as usize]));
            let key = self.show(k);
            match kind {
                WR if list.last().is_some_and(|e| appended(ta, k).contains(e)) => {
                    return format!("it appended {} to {key}, which the next read ({key} ending in it)", self.elem(*list.last().unwrap_or(&0)));
                }
                RW => {
                    if let Some(&next) = order.and_then(|o| o.get(list.len())) {
                        if appended(tb, k).contains(&next) {
                            return format!("it read {key} with {} elements, without {}, which the next appended after them", list.len(), self.elem(next));
                        }
                    }
                }
                _ => {}
            }
        }
        if kind == WW {
            for (k, &o) in &self.orders {
                let (order, xa, xb) = (&self.lists[o as usize], appended(ta, *k), appended(tb, *k));
                if let Some(w) = order.windows(2).find(|w| xa.contains(&w[0]) && xb.contains(&w[1])) {
                    return format!("the next appended {} to {} right after its {}", self.elem(w[1]), self.show(*k), self.elem(w[0]));
                }
            }
        }
        String::new()
    }
}

/// The bit of an element id that says it is interned: elements below
/// 2^31 (what generators append) are their own ids, without a table.
const INTERNED: u32 = 1 << 31;

/// The id of an element.
fn elem_id(values: &Values, v: &Value) -> u32 {
    match v.as_u64() {
        Some(n) if n < u64::from(INTERNED) => n as u32,
        _ => INTERNED | values.id(v),
    }
}

/// Every list read, in one arena (one allocation, not one per read).
#[derive(Default)]
struct Lists {
    elems: Vec<u32>,
    spans: Vec<(u32, u32)>,
}

impl std::ops::Index<usize> for Lists {
    type Output = [u32];
    fn index(&self, l: usize) -> &[u32] {
        let (start, len) = self.spans[l];
        &self.elems[start as usize..(start + len) as usize]
    }
}

fn parse(h: &History, pos: usize, values: &Values, lists: &mut Lists) -> Result<Vec<Mop>, HistoryError> {
    let v = &h.ops[pos].value;
    let bad = |problem: String| HistoryError::at(h.lines.get(pos).copied().unwrap_or(0), ErrorKind::BadField { field: "value", problem });
    let mops = v.as_array().ok_or_else(|| bad(format!("a transaction is a list of micro-ops, got {v}")))?;
    mops.iter()
        .map(|m| match m.as_array().map(Vec::as_slice) {
            Some([f, k, x]) if f == "append" => Ok(Mop::Append(values.id(k), elem_id(values, x))),
            Some([f, k, x]) if f == "r" && (x.is_array() || x.is_null()) => {
                let start = lists.elems.len() as u32;
                lists.elems.extend(x.as_array().into_iter().flatten().map(|e| elem_id(values, e)));
                lists.spans.push((start, lists.elems.len() as u32 - start));
                Ok(Mop::Read(values.id(k), lists.spans.len() as u32 - 1))
            }
            _ => Err(bad(format!("a micro-op is [append k v] or [r k list], got {m}"))),
        })
        .collect()
}

/// Reads the transactions of `h` and infers what they say.
pub fn infer(h: &History) -> Result<Inferred<'_>, HistoryError> {
    let values = Values::new();
    let pairs = history::pair_with(h, threads())?;
    // parsed in contiguous parts on every core, each into an arena of its
    // own, then joined in order (a later part's read indices shifted)
    let size = pairs.len().div_ceil(threads()).max(50_000);
    let parts: Vec<Result<(Vec<Txn>, Lists), HistoryError>> = std::thread::scope(|s| {
        let values = &values;
        let jobs: Vec<_> = pairs
            .chunks(size)
            .map(|part| {
                s.spawn(move || {
                    let mut lists = Lists::default();
                    let txns = collect_pairs(h, part, |pos| parse(h, pos, values, &mut lists))?;
                    Ok((txns, lists))
                })
            })
            .collect();
        jobs.into_iter().map(|j| j.join().unwrap_or_else(|p| std::panic::resume_unwind(p))).collect()
    });
    let (mut txns, mut lists) = (Vec::with_capacity(pairs.len()), Lists::default());
    for part in parts {
        let (part_txns, part_lists) = part?;
        let (shift, base) = (lists.spans.len() as u32, lists.elems.len() as u32);
        lists.elems.extend_from_slice(&part_lists.elems);
        lists.spans.extend(part_lists.spans.iter().map(|&(start, len)| (start + base, len)));
        txns.extend(part_txns.into_iter().map(|mut x| {
            for m in &mut x.mops {
                if let Mop::Read(_, l) = m {
                    *l += shift;
                }
            }
            x
        }));
    }
    let mut inf = Inferred { h, graph: Graph::new(txns.len()), txns, anomalies: Vec::new(), values, lists, orders: FxHashMap::default() };
    check_reads(&mut inf);
    order_edges(&inf.txns, &mut inf.graph);
    inf.graph.finish();
    Ok(inf)
}

pub(super) fn anomaly(inf: &dyn Explain, name: &str, txns: &[usize], explanation: String) -> Anomaly {
    Anomaly { name: name.into(), cycle: Vec::new(), txns: txns.iter().map(|&t| inf.txn_ref(t)).collect(), explanation }
}

/// Every append of one key: (element, appending transaction, whether it
/// was that transaction's last append to the key), sorted by element.
type Appends = Vec<(u32, u32, bool)>;

/// The first transaction that appended `e` to the key of `appends`, and
/// whether `e` was its last append there.
fn writer_of(appends: &Appends, e: u32) -> Option<(usize, bool)> {
    let i = appends.partition_point(|a| a.0 < e);
    appends.get(i).filter(|a| a.0 == e).map(|a| (a.1 as usize, a.2))
}

/// The anomalies of single reads, the version orders, the data edges.
/// Keys are interned ids, dense from 0: per-key tables are vectors indexed
/// by them, not maps.
fn check_reads(inf: &mut Inferred<'_>) {
    let nkeys = inf.values.len();
    let mut appended: Vec<Appends> = vec![Vec::new(); nkeys];
    let mut failed: FxHashMap<(u32, u32), usize> = FxHashMap::default();
    for (t, x) in inf.txns.iter().enumerate() {
        for m in &x.mops {
            if let Mop::Append(k, e) = *m {
                let a = &mut appended[k as usize];
                // a transaction's appends to a key are pushed together
                if let Some(prev) = a.last_mut().filter(|p| p.1 == t as u32) {
                    prev.2 = false;
                }
                a.push((e, t as u32, true));
                if x.status == Status::Fail {
                    failed.entry((k, e)).or_insert(t);
                }
            }
        }
    }
    for a in &mut appended {
        a.sort_by_key(|x| x.0); // stable: the first writer of an element stays first
    }
    let mut found: Vec<(&'static str, Vec<usize>, String)> = Vec::new();
    let mut reads: Vec<Vec<(u32, u32)>> = vec![Vec::new(); nkeys];
    // per key of the transaction: its last read and its appends since (a
    // few micro-ops: a vector reused across transactions, not a map)
    let mut own: Vec<(u32, Option<u32>, Vec<u32>)> = Vec::new();
    for (t, x) in inf.txns.iter().enumerate().filter(|(_, x)| x.status == Status::Ok) {
        own.clear();
        for m in &x.mops {
            let (Mop::Append(k, _) | Mop::Read(k, _)) = *m;
            let i = match own.iter().position(|o| o.0 == k) {
                Some(i) => i,
                None => {
                    own.push((k, None, Vec::new()));
                    own.len() - 1
                }
            };
            match *m {
                Mop::Append(_, e) => own[i].2.push(e),
                Mop::Read(k, l) => {
                    let list = &inf.lists[l as usize];
                    let state = &mut own[i];
                    let consistent = match state.1 {
                        Some(prior) => inf.lists[prior as usize].iter().chain(&state.2).eq(list.iter()),
                        None => list.ends_with(&state.2),
                    };
                    if !consistent {
                        found.push((
                            "internal",
                            vec![t],
                            format!("it read {} = {} though its own earlier reads and appends say otherwise", inf.show(k), inf.show_list(list)),
                        ));
                    }
                    state.1 = Some(l);
                    state.2.clear();
                    // aborted reads: only elements of failed appends can be one
                    for e in list.iter().filter(|_| !failed.is_empty()) {
                        if let Some(&w) = failed.get(&(k, *e)) {
                            found.push(("G1a", vec![t, w], format!("it read {} in {}, appended by a transaction that failed", inf.elem(*e), inf.show(k))));
                        }
                    }
                    if let Some(&e) = list.last() {
                        if let Some((w, false)) = writer_of(&appended[k as usize], e).filter(|w| w.0 != t) {
                            found.push((
                                "G1b",
                                vec![t, w],
                                format!("it read {} ending in {}, an intermediate state of a transaction that appended more", inf.show(k), inf.elem(e)),
                            ));
                        }
                    }
                    reads[k as usize].push((t as u32, l));
                }
            }
        }
    }
    for (k, rs) in reads.iter().enumerate().filter(|(_, rs)| !rs.is_empty()) {
        let k = k as u32;
        let Some(&(_, longest)) = rs.iter().max_by_key(|r| inf.lists[r.1 as usize].len()) else { continue };
        let order = &inf.lists[longest as usize];
        // a read with a duplicate is the longest or not a prefix of it
        if let Some(d) = rs.iter().find(|r| r.1 == longest).and_then(|&(t, _)| duplicate(inf, k, t as usize, order)) {
            found.push(d);
        }
        let app = &appended[k as usize];
        let w = |e: &u32| writer_of(app, *e).map(|x| x.0);
        for pair in order.windows(2) {
            if let (Some(a), Some(b)) = (w(&pair[0]), w(&pair[1])) {
                inf.graph.add(a, b, WW);
            }
        }
        for &(t, l) in rs {
            let (t, list) = (t as usize, &inf.lists[l as usize]);
            if !order.starts_with(list) {
                found.extend(duplicate(inf, k, t, list));
                found.push((
                    "incompatible-order",
                    vec![t],
                    format!("its read of {}, {}, is not a prefix of the longest read, {}", inf.show(k), inf.show_list(list), inf.show_list(order)),
                ));
                continue;
            }
            if let Some(a) = list.last().and_then(w) {
                inf.graph.add(a, t, WR);
            }
            if let Some(b) = order.get(list.len()).and_then(w) {
                inf.graph.add(t, b, RW);
            }
        }
        inf.orders.insert(k, longest);
    }
    let anomalies: Vec<Anomaly> = found.into_iter().map(|(n, ts, why)| anomaly(inf, n, &ts, why)).collect();
    inf.anomalies.extend(anomalies);
}

/// A duplicate element in transaction `t`'s read `list` of key `k`.
fn duplicate(inf: &Inferred<'_>, k: u32, t: usize, list: &[u32]) -> Option<(&'static str, Vec<usize>, String)> {
    let mut sorted = list.to_vec();
    sorted.sort_unstable();
    let d = sorted.windows(2).find(|w| w[0] == w[1])?;
    Some(("duplicate-elements", vec![t], format!("its read of {} holds {} twice", inf.show(k), inf.elem(d[0]))))
}

impl Inferred<'_> {
    /// A list as Elle prints one: `[1 4 5]`.
    fn show_list(&self, l: &[u32]) -> String {
        format!("[{}]", l.iter().map(|&e| self.elem(e)).collect::<Vec<_>>().join(" "))
    }
}

/// Process order between a process's committed transactions, and real-time
/// order (only the edges not implied by others: each transaction follows
/// the ones completed since the last transaction it follows).
pub(super) fn order_edges<M>(txns: &[Txn<M>], g: &mut Graph) {
    let mut last: FxHashMap<u64, usize> = FxHashMap::default();
    // events by history position (each position holds at most one): a
    // bucket per position instead of a sort
    let end = txns.iter().map(|x| x.invoke.max(x.complete.unwrap_or(0)) + 1).max().unwrap_or(0);
    let mut events: Vec<u32> = vec![u32::MAX; end]; // txn * 2 + is completion
    for (t, x) in txns.iter().enumerate().filter(|(_, x)| x.status != Status::Fail) {
        events[x.invoke] = 2 * t as u32;
        if let Some(c) = x.complete {
            events[c] = 2 * t as u32 + 1;
        }
    }
    // what the frontier held at each transaction's invocation, in one arena
    let (mut frontier, mut arena): (Vec<u32>, Vec<u32>) = (Vec::new(), Vec::new());
    let mut before: Vec<(u32, u32)> = vec![(0, 0); txns.len()];
    for ev in events.into_iter().filter(|&e| e != u32::MAX) {
        let t = ev / 2;
        if ev & 1 == 1 {
            let (start, len) = before[t as usize];
            let preds = &arena[start as usize..(start + len) as usize];
            frontier.retain(|f| !preds.contains(f));
            frontier.push(t);
        } else {
            before[t as usize] = (arena.len() as u32, frontier.len() as u32);
            for &f in &frontier {
                g.add(f as usize, t as usize, REALTIME);
            }
            arena.extend_from_slice(&frontier);
        }
    }
    for (t, x) in txns.iter().enumerate().filter(|(_, x)| x.status == Status::Ok) {
        if let Some(prev) = last.insert(x.process, t) {
            g.add(prev, t, PROCESS);
        }
    }
}
