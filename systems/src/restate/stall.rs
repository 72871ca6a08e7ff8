//! Appends stalled around each log seal or reconfiguration: from the seal
//! to the first acknowledgement of an append sent after it, per log of the
//! workload. Appends sent after a seal can only land on the new segment, so
//! this is how long writers waited for the chain to be extended. The seal
//! is the instant the system logged sealing the workload log's own log when
//! it says so (`SealsSeen`), else the nemesis op's invocation. Restate's
//! own check (`reconfiguration` in the results), judged against the
//! `reconfigure=` SLO.

use checker::Verdict;
use history::{pair, History, HistoryError, OpType, Process};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The nemesis ops that seal a log.
pub const SEALS: [&str; 2] = ["reconfigure-log", "seal-log"];

/// One seal of one of the system's own logs, as the system logged it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogSeal {
    /// Restate's log (one per partition).
    pub log: u32,
    /// The sealed segment's index in the log's chain.
    pub segment: u32,
    /// Seconds into the run (the history's clock).
    pub at_s: f64,
}

/// What the system said of its seals, for a stall per its own log.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SealsSeen {
    /// Every seal the system logged during the run.
    pub seals: Vec<LogSeal>,
    /// The system's log each workload log (key) writes to.
    pub key_logs: BTreeMap<String, u32>,
}

/// One log's stall after one seal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stall {
    /// The fault (`reconfigure-log`).
    pub fault: String,
    /// Seconds into the run of the seal.
    pub at_s: f64,
    /// The workload's log (its key).
    pub log: String,
    /// The system's log that the workload's log writes to, when the system
    /// said which and logged its seal: `at_s` is then that seal.
    #[serde(default)]
    pub system_log: Option<u32>,
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

/// Each seal fault: its name, invocation and completion (ns).
fn seal_faults(h: &History) -> Vec<(String, u64, u64)> {
    let mut out = Vec::new();
    for (i, o) in h.ops.iter().enumerate() {
        if o.process != Process::Nemesis || o.kind != OpType::Invoke || !SEALS.contains(&o.f.as_str()) {
            continue;
        }
        let done = h.ops[i + 1..].iter().find(|c| c.process == Process::Nemesis && c.kind != OpType::Invoke && c.f == o.f).map_or(u64::MAX, |c| c.time);
        out.push((o.f.clone(), o.time, done));
    }
    out
}

/// The stalls of `h`'s appends (`f` = `append`, value `[log, x]`) after
/// each seal, judged against `slo_s`; `None` when nothing was sealed.
pub fn check_stalls(h: &History, slo_s: f64, seen: &SealsSeen) -> Result<Option<StallCheck>, HistoryError> {
    let seals = seal_faults(h);
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
        let Some(log) = inv.value.as_array().and_then(|a| a.first()).map(key_name) else { continue };
        let acked = p.completion.map(|c| &h.ops[c]).filter(|c| c.kind == OpType::Ok).map(|c| c.time);
        appends.push((log, inv.time, acked));
    }
    let logs: BTreeSet<&String> = appends.iter().map(|(l, _, _)| l).collect();
    let mut stalls = Vec::new();
    for (fault, invoked, done) in &seals {
        for log in &logs {
            // the system's own seal of this log, within the fault's op
            let own = seen.key_logs.get(*log).and_then(|l| {
                let at = seen.seals.iter().filter(|s| s.log == *l).map(|s| (s.at_s * 1e9) as u64).filter(|t| t >= invoked && t <= done).min()?;
                Some((*l, at))
            });
            let t = own.map_or(*invoked, |(_, at)| at);
            let after: Vec<&(String, u64, Option<u64>)> = appends.iter().filter(|(l, inv, _)| l == *log && *inv >= t).collect();
            if after.is_empty() {
                continue;
            }
            let first = after.iter().filter_map(|(_, _, a)| *a).min();
            stalls.push(Stall {
                fault: fault.clone(),
                at_s: t as f64 / 1e9,
                log: (*log).clone(),
                system_log: own.map(|(l, _)| l),
                stall_s: first.map(|a| (a - t) as f64 / 1e9),
            });
        }
    }
    let worst = stalls.iter().filter_map(|s| s.stall_s).fold(0.0, f64::max);
    let valid = Verdict::of(stalls.iter().all(|s| s.stall_s.is_some_and(|x| x <= slo_s)));
    Ok(Some(StallCheck { valid, slo_s, stalls, worst_s: worst }))
}

/// A workload log's key as the system saw it: a string as is, else its
/// JSON.
fn key_name(k: &serde_json::Value) -> String {
    k.as_str().map_or_else(|| k.to_string(), str::to_string)
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
        let r = check_stalls(&h, 2.0, &SealsSeen::default()).unwrap().unwrap();
        let by_log: Vec<(String, Option<f64>)> = r.stalls.iter().map(|s| (s.log.clone(), s.stall_s.map(|x| (x * 10.0).round() / 10.0))).collect();
        assert_eq!(by_log, [("1".to_string(), Some(2.5)), ("2".to_string(), Some(0.3))]);
        assert_eq!(r.valid, Verdict::Invalid);
        assert_eq!(check_stalls(&h, 3.0, &SealsSeen::default()).unwrap().unwrap().valid, Verdict::Valid);
        // measured from the system's own seal of the log that workload log
        // 1 writes to, when it says so; a seal outside the op is Restate's own
        let seen = SealsSeen {
            seals: vec![LogSeal { log: 7, segment: 0, at_s: 0.1005 }, LogSeal { log: 7, segment: 1, at_s: 0.05 }, LogSeal { log: 8, segment: 0, at_s: 0.1002 }],
            key_logs: BTreeMap::from([("1".to_string(), 7)]),
        };
        let r = check_stalls(&h, 2.0, &seen).unwrap().unwrap();
        let got: Vec<(Option<u32>, f64, Option<f64>)> = r.stalls.iter().map(|s| (s.system_log, s.at_s, s.stall_s.map(|x| (x * 1e4).round() / 1e4))).collect();
        assert_eq!(got, [(Some(7), 0.1005, Some(2.4995)), (None, 0.1, Some(0.3))]);
        let none = History { ops: h.ops.iter().filter(|o| o.process != Process::Nemesis).cloned().collect(), ..History::default() };
        assert!(check_stalls(&none, 2.0, &SealsSeen::default()).unwrap().is_none());
    }
}
