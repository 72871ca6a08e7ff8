//! Appends stalled around each log seal or reconfiguration: from the seal
//! (the nemesis op's invocation) to the first acknowledgement of an append
//! sent after it, per log of the workload. Appends sent after a seal can
//! only land on the new segment, so this is how long writers waited for
//! the chain to be extended.

use crate::Verdict;
use history::{pair, History, HistoryError, OpType, Process};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The nemesis ops that seal a log.
pub const SEALS: [&str; 2] = ["reconfigure-log", "seal-log"];

/// One log's stall after one seal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stall {
    /// The fault (`reconfigure-log`).
    pub fault: String,
    /// Seconds into the run of the seal.
    pub at_s: f64,
    /// The workload's log (its key).
    pub log: String,
    /// Seal to the first acknowledged append sent after it; `None` when
    /// appends were sent but none was acknowledged.
    pub stall_s: Option<f64>,
}

/// The `reconfigure=` SLO's check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StallCheck {
    /// Invalid when a stall exceeds the SLO or never ended.
    pub valid: Verdict,
    /// The SLO, seconds.
    pub slo_s: f64,
    /// Every (seal, log) with appends sent after the seal.
    pub stalls: Vec<Stall>,
    /// The longest stall that ended.
    pub worst_s: f64,
}

/// The stalls of `h`'s appends (`f` = `append`, value `[log, x]`) after
/// each seal, judged against `slo_s`; `None` when nothing was sealed.
pub fn check_stalls(h: &History, slo_s: f64) -> Result<Option<StallCheck>, HistoryError> {
    let seals: Vec<(String, u64)> = h
        .ops
        .iter()
        .filter(|o| o.process == Process::Nemesis && o.kind == OpType::Invoke && SEALS.contains(&o.f.as_str()))
        .map(|o| (o.f.clone(), o.time))
        .collect();
    if seals.is_empty() {
        return Ok(None);
    }
    // (log, invoked, acknowledged at)
    let mut appends: Vec<(String, u64, Option<u64>)> = Vec::new();
    for p in pair(h)? {
        let inv = &h.ops[p.invoke];
        if inv.f != "append" || !inv.is_workload() {
            continue;
        }
        let Some(log) = inv.value.as_array().and_then(|a| a.first()).map(|k| k.to_string()) else { continue };
        let acked = p.completion.map(|c| &h.ops[c]).filter(|c| c.kind == OpType::Ok).map(|c| c.time);
        appends.push((log, inv.time, acked));
    }
    let logs: BTreeSet<&String> = appends.iter().map(|(l, _, _)| l).collect();
    let mut stalls = Vec::new();
    for (fault, t) in &seals {
        for log in &logs {
            let after: Vec<&(String, u64, Option<u64>)> = appends.iter().filter(|(l, inv, _)| l == *log && inv >= t).collect();
            if after.is_empty() {
                continue;
            }
            let first = after.iter().filter_map(|(_, _, a)| *a).min();
            stalls.push(Stall { fault: fault.clone(), at_s: *t as f64 / 1e9, log: (*log).clone(), stall_s: first.map(|a| (a - t) as f64 / 1e9) });
        }
    }
    let worst = stalls.iter().filter_map(|s| s.stall_s).fold(0.0, f64::max);
    let valid = Verdict::of(stalls.iter().all(|s| s.stall_s.is_some_and(|x| x <= slo_s)));
    Ok(Some(StallCheck { valid, slo_s, stalls, worst_s: worst }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use history::{Op, Process};
    use serde_json::json;

    fn op(index: u64, time_ms: u64, p: Process, kind: OpType, f: &str, v: serde_json::Value) -> Op {
        let mut o = Op::new(p, kind, f, v);
        o.index = index;
        o.time = time_ms * 1_000_000;
        o
    }

    #[test]
    fn the_stall_runs_from_the_seal_to_the_first_append_acknowledged_after_it() {
        use OpType::*;
        let c = Process::Client;
        let ops = vec![
            op(0, 0, c(0), Invoke, "append", json!([1, 1])),
            op(1, 5, c(0), Ok, "append", json!([1, 1])),
            op(2, 100, Process::Nemesis, Invoke, "reconfigure-log", json!({})),
            // sent before the seal: not counted
            op(3, 90, c(1), Invoke, "append", json!([1, 2])),
            op(4, 101, Process::Nemesis, Info, "reconfigure-log", json!({})),
            op(5, 110, c(0), Invoke, "append", json!([1, 3])),
            op(6, 120, c(2), Invoke, "append", json!([2, 1])),
            op(7, 400, c(2), Ok, "append", json!([2, 1])),
            op(8, 2600, c(0), Ok, "append", json!([1, 3])),
            op(9, 2700, c(1), Ok, "append", json!([1, 2])),
        ];
        let mut sorted = ops;
        sorted.sort_by_key(|o| o.time);
        let h = History { ops: sorted, ..History::default() };
        let r = check_stalls(&h, 2.0).unwrap().unwrap();
        let by_log: Vec<(String, Option<f64>)> = r.stalls.iter().map(|s| (s.log.clone(), s.stall_s.map(|x| (x * 10.0).round() / 10.0))).collect();
        assert_eq!(by_log, [("1".to_string(), Some(2.5)), ("2".to_string(), Some(0.3))]);
        assert_eq!(r.valid, Verdict::Invalid);
        assert_eq!(check_stalls(&h, 3.0).unwrap().unwrap().valid, Verdict::Valid);
        let none = History { ops: h.ops.iter().filter(|o| o.process != Process::Nemesis).cloned().collect(), ..History::default() };
        assert!(check_stalls(&none, 2.0).unwrap().is_none());
    }
}
