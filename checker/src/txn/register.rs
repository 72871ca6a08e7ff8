//! What a read-write register history says (`[w k v]`, `[r k v]`, each
//! value written at most once per key). Unlike a list, a register's read
//! shows one version, not its past, so the version order is inferred only
//! where the history proves it. As Elle does by default, only from the
//! initial state: `nil` comes before every written version, so each
//! transaction that read `nil` anti-depends on every committed or
//! indeterminate writer of the key. With writes-follow-reads asked for
//! (Elle's `:wfr-keys?`, off by default there and here), a transaction that
//! read `a` and then wrote `b` to a key also puts `b` right after `a`:
//! write-write edges along that order and read-write edges from `a`'s
//! readers to `b`'s writer. Always: write-read edges from each version's
//! writer to its readers, and the anomalies without a cycle: aborted reads
//! (G1a), intermediate reads (G1b), reads of values never written
//! (garbage-read, outside every model), internal inconsistency, and lost
//! updates (two transactions that read the same version and both wrote the
//! key, found directly as Elle does, whatever the version order).

use super::append::{anomaly, collect, order_edges, txn_ref, Source, Status, Txn};
use super::graph::{Graph, RW, WR, WW};
use super::{Anomaly, Explain, TxnRef};
use crate::values::Values;
use history::{ErrorKind, HistoryError};
use rustc_hash::FxHashMap;
use serde_json::Value;

/// The initial version of every key.
const NIL: u32 = u32::MAX;

/// One micro-op: a write of a value, or a read of one (`NIL`: never written).
#[derive(Debug, Clone, Copy)]
pub(super) enum Rop {
    Write(u32, u32),
    Read(u32, u32),
}

/// What the history says.
pub struct Inferred<'h> {
    src: Source<'h>,
    /// Every transaction, in invocation order.
    pub txns: Vec<Txn<Rop>>,
    graph: Graph,
    /// Anomalies that need no cycle.
    pub anomalies: Vec<Anomaly>,
    values: Values,
    /// Each (key, version)'s next versions by writes-follow-reads (the
    /// lost updates; the version order only when `wfr_keys`).
    next: FxHashMap<(u32, u32), Vec<u32>>,
    /// Whether writes follow reads orders versions.
    wfr_keys: bool,
}

/// Where a register's version order may come from besides the initial
/// state (Elle's options of the same names).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RegisterOrder {
    /// A transaction's write of a key follows its read of it (`:wfr-keys?`).
    pub wfr_keys: bool,
}

impl RegisterOrder {
    /// Elle's names of the sources in force, for the results.
    pub fn sources(self) -> Vec<String> {
        let mut s = vec!["initial-state".to_string()];
        if self.wfr_keys {
            s.push("wfr-keys".to_string());
        }
        s
    }
}

impl Explain for Inferred<'_> {
    fn graph(&self) -> &Graph {
        &self.graph
    }
    fn txn_ref(&self, t: usize) -> TxnRef {
        txn_ref(self.src, &self.txns, t)
    }
    fn why(&self, a: usize, b: usize, kind: u8) -> String {
        let writes = |t: usize| self.txns[t].mops.iter().filter_map(|m| if let Rop::Write(k, v) = *m { Some((k, v)) } else { None }).collect::<Vec<_>>();
        let reads = |t: usize| self.txns[t].mops.iter().filter_map(|m| if let Rop::Read(k, v) = *m { Some((k, v)) } else { None }).collect::<Vec<_>>();
        let follows = |k: u32, x: u32, y: u32| x == NIL || (self.wfr_keys && self.next.get(&(k, x)).is_some_and(|n| n.contains(&y)));
        let (ka, kb) = match kind {
            WR => (writes(a), reads(b)),
            RW => (reads(a), writes(b)),
            _ => (writes(a), writes(b)),
        };
        for &(k, x) in &ka {
            for &(k2, y) in kb.iter().filter(|(k2, _)| *k2 == k) {
                let (key, vx, vy) = (self.show(k), self.show(x), self.show(y));
                match kind {
                    WR if x == y => return format!("it wrote {key} = {vx}, which the next read"),
                    RW if follows(k2, x, y) => return format!("it read {key} = {vx}, which the next overwrote with {vy}"),
                    WW if follows(k2, x, y) => return format!("the next overwrote its {key} = {vx} with {vy}"),
                    _ => {}
                }
            }
        }
        String::new()
    }
}

impl Inferred<'_> {
    fn show(&self, id: u32) -> String {
        if id == NIL {
            return "nil".into();
        }
        match self.values.get(id) {
            Value::String(s) => s,
            v => v.to_string(),
        }
    }
}

fn parse(src: Source<'_>, pos: usize, values: &Values) -> Result<Vec<Rop>, HistoryError> {
    let (h, value) = (src.h, src.value(pos)?);
    let v: &Value = &value;
    let bad = |problem: String| HistoryError::at(h.lines.get(pos).copied().unwrap_or(0), ErrorKind::BadField { field: "value", problem });
    let mops = v.as_array().ok_or_else(|| bad(format!("a transaction is a list of micro-ops, got {v}")))?;
    mops.iter()
        .map(|m| match m.as_array().map(Vec::as_slice) {
            Some([f, k, x]) if f == "w" && !x.is_null() => Ok(Rop::Write(values.id(k), values.id(x))),
            Some([f, k, x]) if f == "r" => Ok(Rop::Read(values.id(k), if x.is_null() { NIL } else { values.id(x) })),
            _ => Err(bad(format!("a micro-op is [w k v] or [r k v], got {m}"))),
        })
        .collect()
}

/// Reads the transactions of `h` and infers what they say, the version
/// order from the sources of `order`.
pub fn infer(src: Source<'_>, order: RegisterOrder) -> Result<Inferred<'_>, HistoryError> {
    let h = src.h;
    let values = Values::new();
    let txns = collect(h, |pos| parse(src, pos, &values))?;
    let mut inf = Inferred { src, graph: Graph::new(txns.len()), txns, anomalies: Vec::new(), values, next: FxHashMap::default(), wfr_keys: order.wfr_keys };
    data_edges(&mut inf);
    order_edges(&inf.txns, &mut inf.graph);
    inf.graph.finish();
    Ok(inf)
}

/// The anomalies of single reads, the inferred version order, the edges.
fn data_edges(inf: &mut Inferred<'_>) {
    // the writer of each (key, value), each transaction's last write per key
    let mut writer: FxHashMap<(u32, u32), usize> = FxHashMap::default();
    let mut last: FxHashMap<(usize, u32), u32> = FxHashMap::default();
    let mut writers: FxHashMap<u32, Vec<usize>> = FxHashMap::default();
    for (t, x) in inf.txns.iter().enumerate() {
        for m in &x.mops {
            if let Rop::Write(k, v) = *m {
                writer.entry((k, v)).or_insert(t);
                last.insert((t, k), v);
                // Elle's initial-state order holds committed and indeterminate writes
                if x.status != Status::Fail && writers.get(&k).is_none_or(|w| w.last() != Some(&t)) {
                    writers.entry(k).or_default().push(t);
                }
            }
        }
    }
    let mut found: Vec<(&'static str, Vec<usize>, String)> = Vec::new();
    let mut external: Vec<(usize, u32, u32)> = Vec::new(); // (reader, key, version)
    let mut state: Vec<(u32, Option<u32>, bool)> = Vec::new(); // key, known value, wrote
    for (t, x) in inf.txns.iter().enumerate().filter(|(_, x)| x.status == Status::Ok) {
        state.clear();
        for m in &x.mops {
            let (Rop::Write(k, _) | Rop::Read(k, _)) = *m;
            let i = state.iter().position(|s| s.0 == k).unwrap_or_else(|| {
                state.push((k, None, false));
                state.len() - 1
            });
            match *m {
                Rop::Write(k, v) => {
                    // writes follow reads: what it read of k comes right before v
                    if let (Some(read), false) = (state[i].1, state[i].2) {
                        inf.next.entry((k, read)).or_default().push(v);
                    }
                    state[i] = (k, Some(v), true);
                }
                Rop::Read(k, v) => {
                    match state[i].1 {
                        Some(known) if known != v => {
                            found.push((
                                "internal",
                                vec![t],
                                format!("it read {} = {} though it had seen or written {}", inf.show(k), inf.show(v), inf.show(known)),
                            ));
                        }
                        Some(_) => {}
                        None => external.push((t, k, v)),
                    }
                    state[i].1 = Some(v);
                }
            }
        }
    }
    for &(t, k, v) in &external {
        if v == NIL {
            // nothing written to k was visible: it precedes every writer
            for &w in writers.get(&k).into_iter().flatten().filter(|&&w| w != t) {
                inf.graph.add(t, w, RW);
            }
            continue;
        }
        // a value no one wrote still has its versions after it (as Elle)
        match writer.get(&(k, v)).map(|&w| (w, inf.txns[w].status)) {
            None => found.push(("garbage-read", vec![t], format!("it read {} = {}, a value no transaction wrote", inf.show(k), inf.show(v)))),
            Some((w, Status::Fail)) => {
                found.push(("G1a", vec![t, w], format!("it read {} = {}, written by a transaction that failed", inf.show(k), inf.show(v))))
            }
            Some((w, _)) if last.get(&(w, k)) != Some(&v) => found.push((
                "G1b",
                vec![t, w],
                format!("it read {} = {}, an intermediate value of a transaction that wrote {} after it", inf.show(k), inf.show(v), inf.show(last[&(w, k)])),
            )),
            Some((w, _)) if w != t => inf.graph.add(w, t, WR),
            Some(_) => {}
        }
        for &n in inf.next.get(&(k, v)).into_iter().flatten().filter(|_| inf.wfr_keys) {
            if let Some(&b) = writer.get(&(k, n)).filter(|&&b| b != t && inf.txns[b].status != Status::Fail) {
                inf.graph.add(t, b, RW);
            }
        }
    }
    for (&(k, v), ns) in &inf.next {
        // two transactions that read v and then wrote k: one update is lost
        let updaters: Vec<usize> = ns.iter().filter_map(|n| writer.get(&(k, *n)).copied()).collect();
        if let [a, b, ..] = updaters[..] {
            found.push(("lost-update", vec![a, b], format!("both read {} = {} and wrote it: one update is lost", inf.show(k), inf.show(v))));
        }
        let Some(&a) = writer.get(&(k, v)).filter(|_| inf.wfr_keys) else { continue };
        for n in ns {
            if let Some(&b) = writer.get(&(k, *n)).filter(|&&b| b != a) {
                inf.graph.add(a, b, WW);
            }
        }
    }
    let anomalies: Vec<Anomaly> = found.into_iter().map(|(n, ts, why)| anomaly(inf, n, &ts, why)).collect();
    inf.anomalies.extend(anomalies);
}
