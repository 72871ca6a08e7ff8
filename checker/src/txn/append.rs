//! What a list-append history says: each key's version order (the longest
//! read; every other read must be a prefix of it), who appended each
//! element, the dependencies between transactions, and the anomalies that
//! need no cycle (aborted and intermediate reads, internal inconsistency,
//! duplicates, incompatible orders).

use super::graph::{Graph, PROCESS, REALTIME, RW, WR, WW};
use super::{Anomaly, TxnRef};
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

/// One transaction.
#[derive(Debug, Clone)]
pub struct Txn {
    /// How it ended.
    pub status: Status,
    /// As results name it.
    pub r: TxnRef,
    /// Micro-ops: (is append, key, argument or elements read).
    mops: Vec<(bool, String, Value)>,
    invoke: usize,
    complete: Option<usize>,
}

/// What the history says.
pub struct Inferred {
    /// Every transaction, in invocation order.
    pub txns: Vec<Txn>,
    /// Their dependencies.
    pub graph: Graph,
    /// Anomalies that need no cycle.
    pub anomalies: Vec<Anomaly>,
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn parse(h: &History, pos: usize, v: &Value) -> Result<Vec<(bool, String, Value)>, HistoryError> {
    let bad = |problem: String| HistoryError::at(h.lines.get(pos).copied().unwrap_or(0), ErrorKind::BadField { field: "value", problem });
    let mops = v.as_array().ok_or_else(|| bad(format!("a transaction is a list of micro-ops, got {v}")))?;
    mops.iter()
        .map(|m| match m.as_array().map(Vec::as_slice) {
            Some([f, k, x]) if f == "append" => Ok((true, text(k), x.clone())),
            Some([f, k, x]) if f == "r" => Ok((false, text(k), x.clone())),
            _ => Err(bad(format!("a micro-op is [append k v] or [r k list], got {m}"))),
        })
        .collect()
}

fn anomaly(name: &str, txns: Vec<TxnRef>, explanation: String) -> Anomaly {
    Anomaly { name: name.into(), cycle: Vec::new(), txns, explanation }
}

/// Reads the transactions of `h` and infers what they say.
pub fn infer(h: &History) -> Result<Inferred, HistoryError> {
    let mut txns = Vec::new();
    for p in history::pair(h)? {
        let inv = &h.ops[p.invoke];
        if !inv.is_workload() {
            continue;
        }
        let done = p.completion.map(|c| &h.ops[c]);
        let status = match done.map(|c| c.kind) {
            Some(OpType::Ok) => Status::Ok,
            Some(OpType::Fail) => Status::Fail,
            _ => Status::Info,
        };
        let (pos, value) = match (status, done) {
            (Status::Ok, Some(c)) => (p.completion.unwrap_or(p.invoke), &c.value),
            _ => (p.invoke, &inv.value),
        };
        let mops = parse(h, pos, value)?;
        let r = TxnRef { index: inv.index, process: inv.process.client().unwrap_or(0), value: value.clone() };
        txns.push(Txn { status, r, mops, invoke: p.invoke, complete: p.completion.filter(|_| status == Status::Ok) });
    }
    let mut anomalies = Vec::new();
    // who appended each (key, element): (txn, its appends to that key)
    let mut writer: FxHashMap<(&str, String), usize> = FxHashMap::default();
    let mut appends: FxHashMap<(usize, &str), Vec<String>> = FxHashMap::default();
    for (t, txn) in txns.iter().enumerate() {
        for (is_append, k, x) in &txn.mops {
            if *is_append {
                writer.entry((k.as_str(), text(x))).or_insert(t);
                appends.entry((t, k.as_str())).or_default().push(text(x));
            }
        }
    }
    // reads of committed transactions, checked one by one
    let mut reads: FxHashMap<&str, Vec<(usize, Vec<String>)>> = FxHashMap::default();
    for (t, txn) in txns.iter().enumerate().filter(|(_, x)| x.status == Status::Ok) {
        let mut own: FxHashMap<&str, (Option<Vec<String>>, Vec<String>)> = FxHashMap::default();
        for (is_append, k, x) in &txn.mops {
            let state = own.entry(k.as_str()).or_default();
            if *is_append {
                state.1.push(text(x));
                continue;
            }
            let elems: Vec<String> = x.as_array().map(|a| a.iter().map(text).collect()).unwrap_or_default();
            let consistent = match &state.0 {
                Some(prior) => prior.iter().chain(&state.1).eq(elems.iter()),
                None => elems.ends_with(&state.1),
            };
            if !consistent {
                anomalies.push(anomaly("internal", vec![txn.r.clone()], format!("it read {k} = {x} after its own earlier reads and appends said otherwise")));
            }
            *state = (Some(elems.clone()), Vec::new());
            let mut sorted = elems.clone();
            sorted.sort();
            if let Some(d) = sorted.windows(2).find(|w| w[0] == w[1]) {
                anomalies.push(anomaly("duplicate-elements", vec![txn.r.clone()], format!("its read of {k} holds {} twice", d[0])));
            }
            for e in &elems {
                match writer.get(&(k.as_str(), e.clone())) {
                    Some(&w) if txns[w].status == Status::Fail => anomalies.push(anomaly(
                        "G1a",
                        vec![txn.r.clone(), txns[w].r.clone()],
                        format!("it read {e} in {k}, appended by a transaction that failed (aborted read)"),
                    )),
                    _ => {}
                }
            }
            if let Some(last) = elems.last() {
                if let Some(&w) = writer.get(&(k.as_str(), last.clone())) {
                    let theirs = &appends[&(w, k.as_str())];
                    if w != t && theirs.last() != Some(last) {
                        anomalies.push(anomaly(
                            "G1b",
                            vec![txn.r.clone(), txns[w].r.clone()],
                            format!(
                                "it read {k} ending in {last}, an intermediate state of a transaction that went on to append {} (intermediate read)",
                                theirs.last().map_or("", String::as_str)
                            ),
                        ));
                    }
                }
            }
            reads.entry(k.as_str()).or_default().push((t, elems));
        }
    }
    let mut graph = Graph::new(txns.len());
    for (k, rs) in &reads {
        let Some((_, order)) = rs.iter().max_by_key(|r| r.1.len()) else { continue };
        for (t, elems) in rs {
            if !order.starts_with(elems) {
                anomalies.push(anomaly(
                    "incompatible-order",
                    vec![txns[*t].r.clone()],
                    format!("its read of {k}, {elems:?}, is not a prefix of the longest read, {order:?}: no single order of appends explains both"),
                ));
            }
        }
        let w = |e: &String| writer.get(&(*k, e.clone())).copied();
        for pair in order.windows(2) {
            if let (Some(a), Some(b)) = (w(&pair[0]), w(&pair[1])) {
                graph.add(a, b, WW, || format!("appended {} to {k} right after {}", pair[1], pair[0]));
            }
        }
        for (t, elems) in rs.iter().filter(|r| order.starts_with(&r.1)) {
            if let Some(a) = elems.last().and_then(w) {
                graph.add(a, *t, WR, || format!("its append of {} to {k} was read ({k} = [.. {}])", elems.last().map_or("", String::as_str), elems.len()));
            }
            if let Some(next) = order.get(elems.len()) {
                if let Some(b) = w(next) {
                    graph.add(*t, b, RW, || format!("read {k} with {} elements, without {next}, which the next appended", elems.len()));
                }
            }
        }
    }
    order_edges(&txns, &mut graph);
    Ok(Inferred { txns, graph, anomalies })
}

/// Process order between a process's committed transactions, and real-time
/// order (only the edges not implied by others: each transaction follows
/// the ones completed since the last transaction it follows).
fn order_edges(txns: &[Txn], g: &mut Graph) {
    let mut last: FxHashMap<u64, usize> = FxHashMap::default();
    let mut events: Vec<(usize, bool, usize)> = Vec::new(); // (position, is completion, txn)
    for (t, x) in txns.iter().enumerate().filter(|(_, x)| x.status != Status::Fail) {
        if x.status == Status::Ok {
            if let Some(p) = last.insert(x.r.process, t) {
                g.add(p, t, PROCESS, String::new);
            }
        }
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
                g.add(f, t, REALTIME, String::new);
            }
            preds.insert(t, frontier.clone());
        }
    }
}
