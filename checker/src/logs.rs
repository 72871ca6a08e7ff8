//! The append checker: unique values appended to logs, whole-log reads.
//! No acknowledged append lost, no value twice, every read a prefix of one
//! total order per log; slow appends reported with their latency.

use history::{pair, History, HistoryError, OpType};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// One log's findings. Values are their JSON text.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct LogResult {
    /// The log's key.
    pub log: String,
    /// Acknowledged appends missing from the final read (value, op index).
    pub lost: Vec<(String, u64)>,
    /// Values appearing twice in one read (value, read index).
    pub duplicated: Vec<(String, u64)>,
    /// Values read that were never appended (value, read index).
    pub unexpected: Vec<(String, u64)>,
    /// Reads that are not a prefix of the longest read (read index).
    pub divergent: Vec<u64>,
    /// Length of the longest read.
    pub longest: usize,
}

/// The append check's result.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct AppendResult {
    /// True when no log has a problem.
    pub valid: crate::Verdict,
    /// Per log.
    pub logs: Vec<LogResult>,
    /// Appends that took longer than the threshold: (log, value, seconds, op index).
    pub slow_appends: Vec<(String, String, f64, u64)>,
    /// Appends attempted / acknowledged.
    pub attempted: usize,
    /// Acknowledged appends.
    pub acknowledged: usize,
    /// Why the verdict is unknown: the history tested nothing (no
    /// acknowledged append, or no read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

fn tuple(v: &Value) -> Option<(String, &Value)> {
    match v.as_array().map(Vec::as_slice) {
        Some([k, x]) => Some((k.to_string(), x)),
        _ => None,
    }
}

/// Checks an append history; appends slower than `slow_s` are reported.
pub fn check_append(h: &History, slow_s: f64) -> Result<AppendResult, HistoryError> {
    let pairs = pair(h)?;
    let mut r = AppendResult::default();
    let mut appended: BTreeMap<String, BTreeMap<String, (u64, bool)>> = BTreeMap::new(); // log -> value -> (index, acked)
    let mut reads: BTreeMap<String, Vec<(u64, Vec<String>)>> = BTreeMap::new();
    for p in &pairs {
        let inv = &h.ops[p.invoke];
        let done = p.completion.map(|c| &h.ops[c]);
        let Some((log, x)) = tuple(&inv.value) else { continue };
        match inv.f.as_str() {
            "append" => {
                if done.is_some_and(|d| d.kind == OpType::Fail) {
                    continue;
                }
                r.attempted += 1;
                let acked = done.is_some_and(|d| d.kind == OpType::Ok);
                if acked {
                    r.acknowledged += 1;
                }
                if let Some(d) = done {
                    let secs = d.time.saturating_sub(inv.time) as f64 / 1e9;
                    if secs > slow_s {
                        r.slow_appends.push((log.clone(), x.to_string(), secs, inv.index));
                    }
                }
                appended.entry(log).or_default().insert(x.to_string(), (inv.index, acked));
            }
            "read" => {
                if let Some(d) = done.filter(|d| d.kind == OpType::Ok) {
                    let list = tuple(&d.value).and_then(|(_, l)| l.as_array().cloned()).unwrap_or_default();
                    reads.entry(log).or_default().push((d.index, list.iter().map(Value::to_string).collect()));
                }
            }
            _ => {}
        }
    }
    let logs: BTreeSet<String> = appended.keys().chain(reads.keys()).cloned().collect();
    for log in logs {
        let mut lr = LogResult { log: log.clone(), ..LogResult::default() };
        let adds = appended.get(&log).cloned().unwrap_or_default();
        let rs = reads.get(&log).cloned().unwrap_or_default();
        let longest = rs.iter().map(|(_, l)| l).max_by_key(|l| l.len()).cloned().unwrap_or_default();
        lr.longest = longest.len();
        for (idx, list) in &rs {
            let mut seen = BTreeSet::new();
            for v in list {
                if !seen.insert(v) {
                    lr.duplicated.push((v.clone(), *idx));
                }
                if !adds.contains_key(v) && !lr.unexpected.iter().any(|(x, _)| x == v) {
                    lr.unexpected.push((v.clone(), *idx));
                }
            }
            if !longest.starts_with(list) {
                lr.divergent.push(*idx);
            }
        }
        if let Some((_, fin)) = rs.last() {
            for (v, (idx, acked)) in &adds {
                if *acked && !fin.contains(v) {
                    lr.lost.push((v.clone(), *idx));
                }
            }
        }
        r.logs.push(lr);
    }
    r.slow_appends.sort_by(|a, b| b.2.total_cmp(&a.2));
    r.valid = crate::Verdict::of(r.logs.iter().all(|l| l.lost.is_empty() && l.duplicated.is_empty() && l.unexpected.is_empty() && l.divergent.is_empty()));
    // a clean history that never acknowledged an append or never read proves nothing
    let nothing = if r.acknowledged == 0 {
        Some("tested nothing: no append was acknowledged")
    } else if reads.is_empty() {
        Some("tested nothing: no read completed")
    } else {
        None
    };
    if let (true, Some(why)) = (r.valid.is_valid(), nothing) {
        r.valid = crate::Verdict::Unknown;
        r.reason = Some(why.to_string());
    }
    Ok(r)
}

/// The longest listed slow append whose whole span (invocation to
/// completion) lies outside every fault window (seconds; 0 when none):
/// what an append-latency SLO judges, since an append may rightly wait
/// while a fault lasts, and one invoked an instant before a fault begins
/// waits as long as one invoked during it.
pub fn slowest_outside(r: &AppendResult, h: &History, windows: &[crate::recovery::Window]) -> f64 {
    let overlaps = |from: f64, to: f64| windows.iter().any(|w| to >= w.start_s && w.healed_at_s.is_none_or(|e| from <= e));
    let time_of = |index: u64| h.ops.iter().find(|o| o.index == index).map(|o| o.time as f64 / 1e9);
    let outside = |&&(_, _, secs, i): &&(String, String, f64, u64)| time_of(i).is_some_and(|t| !overlaps(t, t + secs));
    r.slow_appends.iter().filter(outside).map(|(_, _, s, _)| *s).fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::synth::compact as h;

    #[test]
    fn only_appends_clear_of_every_fault_window_count_against_the_latency_slo() {
        // op i at i seconds; one window from 2 s to 5 s
        let hist = h(&"0 invoke read\n0 ok read\n".repeat(5));
        let w = crate::recovery::Window { fault: "partition".into(), start_s: 2.0, healed_at_s: Some(5.0) };
        let slow = |i: u64, secs: f64| ("l0".to_string(), i.to_string(), secs, i);
        // invoked before the window, done after it: it waited the fault out
        let r = AppendResult { slow_appends: vec![slow(1, 4.5), slow(3, 2.5)], ..Default::default() };
        assert_eq!(slowest_outside(&r, &hist, std::slice::from_ref(&w)), 0.0);
        // invoked after the heal: a stall of the system's own
        let r = AppendResult { slow_appends: vec![slow(1, 4.5), slow(6, 2.0)], ..Default::default() };
        assert_eq!(slowest_outside(&r, &hist, &[w]), 2.0);
    }

    #[test]
    fn a_clean_log_is_valid_and_slow_appends_are_listed() {
        let r = check_append(
            &h("0 invoke append [0 1]\n0 ok append [0 1]\n1 invoke append [0 2]\n2 invoke read [0 nil]\n2 ok read [0 [1]]\n1 ok append [0 2]\n2 invoke read [0 nil]\n2 ok read [0 [1 2]]"),
            2.5,
        )
        .unwrap();
        assert!(r.valid.is_valid(), "{r:?}");
        assert_eq!(r.slow_appends.len(), 1);
        assert_eq!(r.slow_appends[0].1, "2");
        assert!((r.slow_appends[0].2 - 3.0).abs() < 1e-9);
    }

    #[test]
    fn lost_duplicated_unexpected_and_divergent_reads() {
        let r = check_append(
            &h("0 invoke append [0 1]\n0 ok append [0 1]\n0 invoke append [0 2]\n0 ok append [0 2]\n\
                1 invoke read [0 nil]\n1 ok read [0 [2 1 7]]\n1 invoke read [0 nil]\n1 ok read [0 [1 1]]\n1 invoke read [0 nil]\n1 ok read [0 [2]]"),
            10.0,
        )
        .unwrap();
        assert!(!r.valid.is_valid());
        let l = &r.logs[0];
        assert_eq!(l.lost, [("1".to_string(), 0)]);
        assert_eq!(l.duplicated, [("1".to_string(), 7)]);
        assert_eq!(l.unexpected, [("7".to_string(), 5)]);
        assert_eq!(l.divergent, [7]);
    }

    #[test]
    fn a_log_history_that_tested_nothing_is_unknown() {
        for (text, why) in [
            ("", "no append was acknowledged"),
            ("0 invoke append [0 1]\n0 info append [0 1]\n1 invoke read [0 nil]\n1 ok read [0 [1]]", "no append was acknowledged"),
            ("0 invoke append [0 1]\n0 ok append [0 1]\n1 invoke read [0 nil]\n1 fail read [0 nil]", "no read completed"),
        ] {
            let r = check_append(&h(text), 10.0).unwrap();
            assert_eq!(r.valid, crate::Verdict::Unknown, "{text}: {r:?}");
            assert!(r.reason.as_deref().is_some_and(|r| r.ends_with(why)), "{text}: {r:?}");
        }
    }
}
