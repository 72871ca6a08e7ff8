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

/// The workload's transactions of `h` (nemesis and probe ops left out),
/// each value read by `parse` from its history position.
pub(super) fn collect<M>(h: &History, mut parse: impl FnMut(usize) -> Result<Vec<M>, HistoryError>) -> Result<Vec<Txn<M>>, HistoryError> {
    let mut txns = Vec::new();
    for p in history::pair(h)? {
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
    orders: FxHashMap<u32, Vec<u32>>,
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
            let (list, order) = (&self.lists[l as usize], self.orders.get(&k));
            let key = self.show(k);
            match kind {
                WR if list.last().is_some_and(|e| appended(ta, k).contains(e)) => {
                    return format!("it appended {} to {key}, which the next read ({key} ending in it)", self.show(*list.last().unwrap_or(&0)));
                }
                RW => {
                    if let Some(&next) = order.and_then(|o| o.get(list.len())) {
                        if appended(tb, k).contains(&next) {
                            return format!("it read {key} with {} elements, without {}, which the next appended after them", list.len(), self.show(next));
                        }
                    }
                }
                _ => {}
            }
        }
        if kind == WW {
            for (k, order) in &self.orders {
                let (xa, xb) = (appended(ta, *k), appended(tb, *k));
                if let Some(w) = order.windows(2).find(|w| xa.contains(&w[0]) && xb.contains(&w[1])) {
                    return format!("the next appended {} to {} right after its {}", self.show(w[1]), self.show(*k), self.show(w[0]));
                }
            }
        }
        String::new()
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
            Some([f, k, x]) if f == "append" => Ok(Mop::Append(values.id(k), values.id(x))),
            Some([f, k, x]) if f == "r" && (x.is_array() || x.is_null()) => {
                let start = lists.elems.len() as u32;
                lists.elems.extend(x.as_array().into_iter().flatten().map(|e| values.id(e)));
                lists.spans.push((start, lists.elems.len() as u32 - start));
                Ok(Mop::Read(values.id(k), lists.spans.len() as u32 - 1))
            }
            _ => Err(bad(format!("a micro-op is [append k v] or [r k list], got {m}"))),
        })
        .collect()
}

/// Reads the transactions of `h` and infers what they say.
pub fn infer(h: &History) -> Result<Inferred<'_>, HistoryError> {
    let (values, mut lists) = (Values::new(), Lists::default());
    let txns = collect(h, |pos| parse(h, pos, &values, &mut lists))?;
    let mut inf = Inferred { h, graph: Graph::new(txns.len()), txns, anomalies: Vec::new(), values, lists, orders: FxHashMap::default() };
    check_reads(&mut inf);
    order_edges(&inf.txns, &mut inf.graph);
    Ok(inf)
}

pub(super) fn anomaly(inf: &dyn Explain, name: &str, txns: &[usize], explanation: String) -> Anomaly {
    Anomaly { name: name.into(), cycle: Vec::new(), txns: txns.iter().map(|&t| inf.txn_ref(t)).collect(), explanation }
}

/// The anomalies of single reads, the version orders, the data edges.
fn check_reads(inf: &mut Inferred<'_>) {
    // who appended each (key, element), and each transaction's appends per key
    let mut writer: FxHashMap<(u32, u32), usize> = FxHashMap::default();
    let mut last_append: FxHashMap<(usize, u32), u32> = FxHashMap::default();
    for (t, x) in inf.txns.iter().enumerate() {
        for m in &x.mops {
            if let Mop::Append(k, e) = *m {
                writer.entry((k, e)).or_insert(t);
                last_append.insert((t, k), e);
            }
        }
    }
    let mut found: Vec<(&'static str, Vec<usize>, String)> = Vec::new();
    let mut reads: FxHashMap<u32, Vec<(usize, u32)>> = FxHashMap::default();
    // per key of the transaction: its last read and its appends since (a
    // few micro-ops: a vector reused across transactions, not a map)
    let mut own: Vec<(u32, Option<u32>, Vec<u32>)> = Vec::new();
    let mut sorted: Vec<u32> = Vec::new();
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
                    sorted.clear();
                    sorted.extend_from_slice(list);
                    sorted.sort_unstable();
                    if let Some(d) = sorted.windows(2).find(|w| w[0] == w[1]) {
                        found.push(("duplicate-elements", vec![t], format!("its read of {} holds {} twice", inf.show(k), inf.show(d[0]))));
                    }
                    for e in list {
                        if let Some(&w) = writer.get(&(k, *e)).filter(|&&w| inf.txns[w].status == Status::Fail) {
                            found.push(("G1a", vec![t, w], format!("it read {} in {}, appended by a transaction that failed", inf.show(*e), inf.show(k))));
                        }
                    }
                    if let Some(&e) = list.last() {
                        if let Some(&w) = writer.get(&(k, e)).filter(|&&w| w != t) {
                            if last_append.get(&(w, k)) != Some(&e) {
                                found.push((
                                    "G1b",
                                    vec![t, w],
                                    format!("it read {} ending in {}, an intermediate state of a transaction that appended more", inf.show(k), inf.show(e)),
                                ));
                            }
                        }
                    }
                    reads.entry(k).or_default().push((t, l));
                }
            }
        }
    }
    for (k, rs) in &reads {
        let Some(&(_, longest)) = rs.iter().max_by_key(|r| inf.lists[r.1 as usize].len()) else { continue };
        let order = inf.lists[longest as usize].to_vec();
        let w = |e: &u32| writer.get(&(*k, *e)).copied();
        for pair in order.windows(2) {
            if let (Some(a), Some(b)) = (w(&pair[0]), w(&pair[1])) {
                inf.graph.add(a, b, WW);
            }
        }
        for &(t, l) in rs {
            let list = &inf.lists[l as usize];
            if !order.starts_with(list) {
                found.push((
                    "incompatible-order",
                    vec![t],
                    format!("its read of {}, {}, is not a prefix of the longest read, {}", inf.show(*k), inf.show_list(list), inf.show_list(&order)),
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
        inf.orders.insert(*k, order);
    }
    let anomalies: Vec<Anomaly> = found.into_iter().map(|(n, ts, why)| anomaly(inf, n, &ts, why)).collect();
    inf.anomalies.extend(anomalies);
}

impl Inferred<'_> {
    /// A list as Elle prints one: `[1 4 5]`.
    fn show_list(&self, l: &[u32]) -> String {
        format!("[{}]", l.iter().map(|&e| self.show(e)).collect::<Vec<_>>().join(" "))
    }
}

/// Process order between a process's committed transactions, and real-time
/// order (only the edges not implied by others: each transaction follows
/// the ones completed since the last transaction it follows).
pub(super) fn order_edges<M>(txns: &[Txn<M>], g: &mut Graph) {
    let mut last: FxHashMap<u64, usize> = FxHashMap::default();
    let mut events: Vec<(usize, bool, usize)> = Vec::new(); // (position, is completion, txn)
    for (t, x) in txns.iter().enumerate().filter(|(_, x)| x.status != Status::Fail) {
        events.push((x.invoke, false, t));
        if let Some(c) = x.complete {
            events.push((c, true, t));
        }
    }
    events.sort_unstable();
    let mut frontier: Vec<usize> = Vec::new();
    let mut preds: FxHashMap<usize, Vec<usize>> = FxHashMap::default();
    for (_, done, t) in events {
        if done {
            let before = preds.remove(&t).unwrap_or_default();
            frontier.retain(|f| !before.contains(f));
            frontier.push(t);
        } else {
            for &f in &frontier {
                g.add(f, t, REALTIME);
            }
            preds.insert(t, frontier.clone());
        }
    }
    for (t, x) in txns.iter().enumerate().filter(|(_, x)| x.status == Status::Ok) {
        if let Some(prev) = last.insert(x.process, t) {
            g.add(prev, t, PROCESS);
        }
    }
}
