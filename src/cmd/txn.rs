//! `faultline check --model list-append|rw-register --consistency MODEL`: the
//! transactional checker on files, printed for people or as JSON.

use checker::txn::{check_list_append, check_rw_register_in, Consistency, RegisterOrder, Source, TxnResult};
use checker::Verdict;
use serde_json::json;
use std::path::Path;
use std::time::Duration;

pub use runner::options::consistency;

/// Checks one loaded history: list-append, or rw-register (its version
/// order from `order`) if `registers`.
pub fn check(h: &history::History, registers: bool, c: Consistency, order: RegisterOrder) -> Result<TxnResult, history::HistoryError> {
    if registers {
        check_rw_register_in(Source { h, texts: None }, c, order)
    } else {
        check_list_append(h, c)
    }
}

/// Prints a result for people: the verdict, then each anomaly's first
/// example as a cycle.
pub fn print_human(path: &Path, r: &TxnResult, elapsed: Duration) {
    let ms = elapsed.as_secs_f64() * 1e3;
    match r.valid {
        Verdict::Valid => println!("{}: valid under {} ({} transactions, {ms:.1} ms)", path.display(), r.consistency, r.txns),
        v => println!("{}: {}: {}", path.display(), v.as_str(), r.reason),
    }
    for (name, g) in &r.anomalies {
        let Some(a) = g.examples.first() else { continue };
        println!("    {name} ({} found): {}", g.count, a.explanation);
        for s in &a.cycle {
            println!("      T{} (p{}) {} -{}-> ({})", s.txn.index, s.txn.process, s.txn.value, s.edge, s.why);
        }
        for t in &a.txns {
            println!("      T{} (p{}) {}", t.index, t.process, t.value);
        }
    }
    if !r.not.is_empty() {
        println!("    not: {}", r.not.join(", "));
    }
    if !r.sources.is_empty() {
        println!("    version order from: {}", r.sources.join(", "));
    }
}

/// A result as one JSON object.
pub fn to_json(path: &Path, r: &TxnResult, elapsed: Duration) -> serde_json::Value {
    let mut v = serde_json::to_value(r).unwrap_or_default();
    v["file"] = json!(path);
    v["elapsed_ms"] = json!(elapsed.as_secs_f64() * 1e3);
    v
}
