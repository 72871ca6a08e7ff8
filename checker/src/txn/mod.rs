//! Transactional isolation, Elle's way (Kingsbury and Alvaro, "Elle:
//! Inferring Isolation Anomalies from Experimental Observations", VLDB
//! 2020): from a history of list-append transactions, infer each key's
//! version order, the write-write, write-read and read-write dependencies
//! between transactions, add process and real-time order, and find the
//! cycles Adya's anomalies are made of, plus the anomalies that need no
//! cycle. Anomalies and consistency models carry Elle's names.

mod append;
mod cycles;
mod graph;
pub mod models;
mod reads;
mod register;
pub mod synth;

use crate::Verdict;
use history::{History, HistoryError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use append::Source;
pub use models::Consistency;
pub use register::RegisterOrder;

/// One transaction as a result names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TxnRef {
    /// The history index of its invocation.
    pub index: u64,
    /// Its process.
    pub process: u64,
    /// Its micro-ops as completed (`[[append x 1] [r y [1 2]]]`).
    pub value: serde_json::Value,
}

/// One step of a cycle: from a transaction to the next, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// The transaction.
    pub txn: TxnRef,
    /// The edge to the next one (`ww`, `wr`, `rw`, `process`, `realtime`).
    pub edge: String,
    /// Why that edge exists, in words.
    pub why: String,
}

/// One anomaly with its evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Anomaly {
    /// Elle's name (`G1c`, `G2-item`, `G-single-item-realtime`, `internal`).
    pub name: String,
    /// For a cycle: its steps, the last leading back to the first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cycle: Vec<Step>,
    /// The transactions involved (for anomalies without a cycle).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub txns: Vec<TxnRef>,
    /// What happened, in words.
    pub explanation: String,
}

/// The verdict on a transactional history, with the evidence.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TxnResult {
    /// Against the consistency model asked for.
    pub valid: Verdict,
    /// The workload's model: `list-append` or `rw-register`.
    #[serde(default)]
    pub model: String,
    /// The model asked for (Elle's name).
    pub consistency: String,
    /// Transactions checked (ok and info; failed ones only as writers
    /// whose effects must never be seen).
    pub txns: usize,
    /// Every anomaly found, by name: the count and up to 8 examples.
    pub anomalies: BTreeMap<String, AnomalyGroup>,
    /// The models this history rules out (Elle's names), weakest first.
    pub not: Vec<String>,
    /// Why the verdict is what it is, in one line.
    pub reason: String,
    /// Where rw-register's version order came from (Elle's names:
    /// `initial-state`, `wfr-keys`); empty for list-append, whose reads
    /// show it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
}

/// The anomalies of one name.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AnomalyGroup {
    /// How many were found.
    pub count: usize,
    /// Examples, shortest cycles first.
    pub examples: Vec<Anomaly>,
}

/// What the cycle search needs of an inferred history: the graph, and how
/// to name a transaction and explain an edge.
pub(crate) trait Explain {
    /// The dependency graph.
    fn graph(&self) -> &graph::Graph;
    /// Transaction `t` as results name it.
    fn txn_ref(&self, t: usize) -> TxnRef;
    /// Why edge `a -> b` of type `kind` exists, in words.
    fn why(&self, a: usize, b: usize, kind: u8) -> String;
}

/// Checks a history of list-append transactions against `consistency`.
/// Errors name the line of a malformed transaction.
pub fn check_list_append(h: &History, consistency: Consistency) -> Result<TxnResult, HistoryError> {
    check_list_append_in(Source { h, texts: None }, consistency)
}

/// [`check_list_append`] of a history whose values are in `src` (a large
/// file read with `history::parse_jsonl_values_apart`).
pub fn check_list_append_in(src: Source<'_>, consistency: Consistency) -> Result<TxnResult, HistoryError> {
    let inferred = append::infer(src)?;
    Ok(verdict("list-append", &inferred, &inferred.anomalies, inferred.txns.len(), consistency))
}

/// Checks a history of read-write register transactions (`[w k v]`,
/// `[r k v]`, unique writes per key) against `consistency`, the version
/// order from the initial state only (Elle's default).
pub fn check_rw_register(h: &History, consistency: Consistency) -> Result<TxnResult, HistoryError> {
    check_rw_register_in(Source { h, texts: None }, consistency, RegisterOrder::default())
}

/// [`check_rw_register`] of a history whose values are in `src`, the
/// version order from the sources of `order`.
pub fn check_rw_register_in(src: Source<'_>, consistency: Consistency, order: RegisterOrder) -> Result<TxnResult, HistoryError> {
    let inferred = register::infer(src, order)?;
    let mut r = verdict("rw-register", &inferred, &inferred.anomalies, inferred.txns.len(), consistency);
    r.sources = order.sources();
    Ok(r)
}

/// Elle's name for a history with no edge to check.
pub const EMPTY: &str = "empty-transaction-graph";

/// The order edges `consistency` checks besides the data edges, as Elle
/// adds its real-time or process graph only when the model needs it.
fn order_edges(consistency: Consistency) -> u8 {
    use Consistency::*;
    match consistency {
        StrictSerializable | StrongSnapshotIsolation => graph::PROCESS | graph::REALTIME,
        StrongSessionSerializable | StrongSessionSnapshotIsolation => graph::PROCESS,
        _ => 0,
    }
}

/// The cycles of `inf` added to the anomalies found without one, judged
/// against `consistency`.
fn verdict(model: &str, inf: &(dyn Explain + Sync), plain: &[Anomaly], txns: usize, consistency: Consistency) -> TxnResult {
    let mut found = cycles::search(inf, consistency);
    found.splice(0..0, plain.iter().cloned());
    let mut anomalies: BTreeMap<String, AnomalyGroup> = BTreeMap::new();
    for a in found {
        let g = anomalies.entry(a.name.clone()).or_default();
        g.count += 1;
        if g.examples.len() < 8 {
            g.examples.push(a);
        }
    }
    // nothing to order: Elle's empty-transaction-graph, an unknown verdict
    let empty = !inf.graph().any(graph::DATA | order_edges(consistency));
    if empty {
        let why = "no dependency (nor, where the model asks for one, process or real-time order) between any two transactions: nothing to check".to_string();
        anomalies.insert(
            EMPTY.to_string(),
            AnomalyGroup { count: 1, examples: vec![Anomaly { name: EMPTY.to_string(), cycle: vec![], txns: vec![], explanation: why }] },
        );
    }
    let names: Vec<&str> = anomalies.keys().map(String::as_str).collect();
    let forbidden: Vec<&str> = names.iter().copied().filter(|n| consistency.forbids(n)).collect();
    let not = models::ruled_out(&names);
    let valid = match (forbidden.is_empty(), empty) {
        (false, _) => Verdict::Invalid,
        (true, true) => Verdict::Unknown,
        (true, false) => Verdict::Valid,
    };
    let reason = if forbidden.is_empty() {
        if empty {
            format!("{EMPTY}: no two transactions are ordered, so {} cannot be judged", consistency.name())
        } else if names.is_empty() {
            "no anomaly".to_string()
        } else {
            format!("{} allows what was found: {}", consistency.name(), names.join(", "))
        }
    } else {
        format!("{} forbids {}", consistency.name(), forbidden.join(", "))
    };
    TxnResult { valid, model: model.to_string(), consistency: consistency.name().to_string(), txns, anomalies, not, reason, sources: Vec::new() }
}

#[cfg(test)]
mod elle_tests;
#[cfg(test)]
mod register_tests;
#[cfg(test)]
mod tests;
