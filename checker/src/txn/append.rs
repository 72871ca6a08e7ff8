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

/// Where transactions' values are: in the history's ops, or (for a large
/// file read with its values apart) as JSON text by position, each parsed
/// when it is needed and dropped after.
#[derive(Clone, Copy)]
pub struct Source<'h> {
    /// The history (values `null` when `texts` holds them).
    pub h: &'h History,
    /// Each op's value as JSON text, by position.
    pub texts: Option<&'h [&'h str]>,
}

impl<'h> Source<'h> {
    /// The value of the op at `pos`.
    pub(super) fn value(&self, pos: usize) -> Result<std::borrow::Cow<'h, Value>, HistoryError> {
        match self.texts.and_then(|t| t.get(pos)) {
            Some(text) => serde_json::from_str(text)
                .map(std::borrow::Cow::Owned)
                .map_err(|e| HistoryError::at(self.h.lines.get(pos).copied().unwrap_or(0), ErrorKind::BadField { field: "value", problem: e.to_string() })),
            None => Ok(std::borrow::Cow::Borrowed(&self.h.ops[pos].value)),
        }
    }
}

/// Transaction `t` as results name it.
pub(super) fn txn_ref<M>(src: Source<'_>, txns: &[Txn<M>], t: usize) -> TxnRef {
    let x = &txns[t];
    let op = &src.h.ops[x.pos];
    let value = src.value(x.pos).map(std::borrow::Cow::into_owned).unwrap_or_default();
    TxnRef { index: src.h.ops[x.invoke].index, process: op.process.client().unwrap_or(0), value }
}

/// What the history says.
pub struct Inferred<'h> {
    src: Source<'h>,
    /// Every transaction, in invocation order.
    pub txns: Vec<Txn>,
    /// Their dependencies.
    pub graph: Graph,
    /// Anomalies that need no cycle.
    pub anomalies: Vec<Anomaly>,
    pub(super) values: Values,
    pub(super) lists: Lists,
    /// Each read key's version order: the index of its longest read.
    pub(super) orders: FxHashMap<u32, u32>,
}

impl Explain for Inferred<'_> {
    fn graph(&self) -> &Graph {
        &self.graph
    }
    fn txn_ref(&self, t: usize) -> TxnRef {
        txn_ref(self.src, &self.txns, t)
    }
    fn why(&self, a: usize, b: usize, kind: u8) -> String {
        Inferred::why(self, a, b, kind)
    }
}

impl Inferred<'_> {
    /// An element as the history wrote it.
    pub(super) fn elem(&self, id: u32) -> String {
        if id & INTERNED == 0 {
            return id.to_string();
        }
        self.show(id & !INTERNED)
    }

    /// A key as the history wrote it.
    pub(super) fn show(&self, id: u32) -> String {
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
                    // an append no read shows comes after the longest read
                    if let Some(e) = order.filter(|o| *o == list).and_then(|o| appended(tb, k).into_iter().find(|e| !o.contains(e))) {
                        return format!(
                            "it read all of {key} that any read shows ({} elements); the next appended {}, which no read shows, so after them",
                            list.len(),
                            self.elem(e)
                        );
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
                if let Some(e) = order.last().filter(|l| xa.contains(l)).and_then(|_| xb.iter().find(|e| !order.contains(e))) {
                    let (key, last) = (self.show(*k), self.elem(order[order.len() - 1]));
                    return format!(
                        "the next appended {} to {key}, which no read shows, so after its {last}, the last element any read of {key} shows",
                        self.elem(*e)
                    );
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
pub(super) struct Lists {
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

fn parse(src: Source<'_>, pos: usize, values: &Values, lists: &mut Lists) -> Result<Vec<Mop>, HistoryError> {
    let (h, value) = (src.h, src.value(pos)?);
    let v: &Value = &value;
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
pub fn infer(src: Source<'_>) -> Result<Inferred<'_>, HistoryError> {
    let h = src.h;
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
                    let txns = collect_pairs(h, part, |pos| parse(src, pos, values, &mut lists))?;
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
    let mut inf = Inferred { src, graph: Graph::new(txns.len()), txns, anomalies: Vec::new(), values, lists, orders: FxHashMap::default() };
    super::reads::check_reads(&mut inf);
    order_edges(&inf.txns, &mut inf.graph);
    inf.graph.finish();
    Ok(inf)
}

pub(super) fn anomaly(inf: &dyn Explain, name: &str, txns: &[usize], explanation: String) -> Anomaly {
    Anomaly { name: name.into(), cycle: Vec::new(), txns: txns.iter().map(|&t| inf.txn_ref(t)).collect(), explanation }
}

impl Inferred<'_> {
    /// A list as Elle prints one: `[1 4 5]`.
    pub(super) fn show_list(&self, l: &[u32]) -> String {
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
