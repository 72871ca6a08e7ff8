//! What a run covered, per fault window: the node-log templates seen in it
//! and each node's pairs of consecutive templates with the time between
//! them, the clients' outcome classes and error messages (counts in
//! buckets), the recovery time per service after its heal, and the
//! leader's changes where the system names its primary. Each
//! feature is named after the kind of fault whose window it was seen in
//! (`none` before the first window). A run's signature is the set of them.

use crate::template::{line_time_ns, strip_ansi, template};
use crate::ExploreError;
use checker::recovery::{RecoveryResult, Window};
use history::{Op, OpType};
use results::RunResults;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The set of features a run produced.
pub type Signature = BTreeSet<String>;

/// A time as a bucket of powers of two from 250 ms (the same bucket for
/// "about the same"), as AFL buckets hit counts.
pub fn time_bucket(s: f64) -> &'static str {
    const B: [(f64, &str); 7] = [(0.25, "<0.25s"), (0.5, "0.25-0.5s"), (1.0, "0.5-1s"), (2.0, "1-2s"), (4.0, "2-4s"), (8.0, "4-8s"), (16.0, "8-16s")];
    B.iter().find(|(limit, _)| s < *limit).map_or(">16s", |(_, name)| name)
}

/// A count as a bucket: 1, 2-9, 10-99, 100+.
pub fn count_bucket(n: usize) -> &'static str {
    match n {
        0 | 1 => "1",
        2..=9 => "2-9",
        10..=99 => "10-99",
        _ => "100+",
    }
}

/// The fault kind of the window in force at `t_s` (the last opened at or
/// before it), or `none`.
fn kind_at(windows: &[Window], t_s: f64) -> &str {
    windows.iter().rev().find(|w| w.start_s <= t_s).map_or("none", |w| w.fault.as_str())
}

/// The features of each node's logs under `nodes` (one directory a node):
/// each line's template in the window it was logged in, and each pair of
/// consecutive templates of one file with the time between them.
fn log_features(nodes: &Path, start_unix_ns: i64, windows: &[Window], out: &mut Signature) {
    let Ok(dirs) = std::fs::read_dir(nodes) else { return };
    for node in dirs.filter_map(Result::ok) {
        let Ok(files) = std::fs::read_dir(node.path()) else { continue };
        for f in files.filter_map(Result::ok) {
            let Ok(text) = std::fs::read_to_string(f.path()) else { continue };
            let mut last_time: Option<f64> = None;
            let mut prev: Option<(String, f64)> = None;
            for line in text.lines() {
                let clean = strip_ansi(line);
                if let Some(ns) = line_time_ns(&clean) {
                    last_time = Some((ns - start_unix_ns) as f64 / 1e9);
                }
                let (Some(t), Some(tpl)) = (last_time, template(&clean)) else { continue };
                let kind = kind_at(windows, t);
                out.insert(format!("{kind} log {tpl}"));
                if let Some((p, pt)) = &prev {
                    if *p != tpl {
                        out.insert(format!("{kind} then {p} -> {tpl} after {}", time_bucket(t - pt)));
                    }
                }
                prev = Some((tpl, t));
            }
        }
    }
}

/// The features of the clients' completions: (f, type, error template)
/// with its count in each window, in buckets.
fn op_features(ops: &[Op], windows: &[Window], out: &mut Signature) {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for op in ops.iter().filter(|o| o.is_workload() && o.kind != OpType::Invoke) {
        let kind = kind_at(windows, op.time as f64 / 1e9);
        let error = op.error.as_ref().map(|e| e.as_str().map(str::to_string).unwrap_or_else(|| e.to_string()));
        let class = error.as_deref().and_then(template).unwrap_or_default();
        *counts.entry(format!("{kind} op {} {} {class}", op.f, op.kind.as_str())).or_default() += 1;
    }
    out.extend(counts.into_iter().map(|(k, n)| format!("{} x{}", k.trim_end(), count_bucket(n))));
}

/// The features of the recovery check: per window, each service's time
/// from the heal to serving again, in buckets.
fn recovery_features(rec: &RecoveryResult, out: &mut Signature) {
    for r in &rec.recoveries {
        let t = r.recovered_s.map_or("not recovered".to_string(), |s| time_bucket(s).to_string());
        out.insert(format!("{} recovery {} {t}", r.fault, r.service));
    }
}

/// The features of who led (`leaders.jsonl`): per window, how many times
/// the primary changed (in buckets), whether the cluster was without one,
/// and whether the window's fault struck the node that led when it opened
/// (the window's nodes as the nemesis recorded them).
fn leader_features(leaders: &[results::Leader], windows: &[Window], struck: &[Option<Vec<String>>], out: &mut Signature) {
    let mut changes: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, l) in leaders.iter().enumerate() {
        let kind = kind_at(windows, l.time as f64 / 1e9);
        if l.primary.is_none() {
            out.insert(format!("{kind} leader none"));
        }
        if i > 0 {
            *changes.entry(kind).or_default() += 1;
        }
    }
    out.extend(changes.into_iter().map(|(k, n)| format!("{k} leader changed x{}", count_bucket(n))));
    for (w, nodes) in windows.iter().zip(struck) {
        let at = (w.start_s * 1e9) as u64;
        let led = leaders.iter().rev().find(|l| l.time <= at).and_then(|l| l.primary.as_ref());
        if let (Some(p), Some(nodes)) = (led, nodes) {
            let hit = if nodes.contains(p) { "struck the leader" } else { "spared the leader" };
            out.insert(format!("{} leader {hit}", w.fault));
        }
    }
}

/// The nodes each window's opening fault named, in window order: the
/// nemesis's completion at the window's start (when the fault took effect);
/// none for a fault that names no nodes (a partition names its grudge).
fn struck_nodes(ops: &[Op], windows: &[Window]) -> Vec<Option<Vec<String>>> {
    let nemesis: Vec<&Op> = ops.iter().filter(|o| o.process == history::Process::Nemesis && o.kind == OpType::Info).collect();
    let nodes = |o: &Op| o.value.get("nodes").and_then(|v| serde_json::from_value::<Vec<String>>(v.clone()).ok());
    windows
        .iter()
        .map(|w| {
            nemesis.iter().min_by(|a, b| (a.time as f64 / 1e9 - w.start_s).abs().total_cmp(&(b.time as f64 / 1e9 - w.start_s).abs())).and_then(|o| nodes(o))
        })
        .collect()
}

/// The signature of the run stored in `dir`.
pub fn of_run(dir: &Path) -> Result<Signature, ExploreError> {
    let results: RunResults = results::read(&dir.join("results.json")).map_err(|e| ExploreError::Run(dir.to_path_buf(), e.to_string()))?;
    let (_, h) = history::load(&dir.join("history.jsonl"), Some(history::Format::Jsonl)).map_err(|e| ExploreError::Run(dir.to_path_buf(), e.to_string()))?;
    let windows: Vec<Window> = results.checks.recovery.as_ref().map(|r| r.windows.clone()).unwrap_or_default();
    let start = h.header.as_ref().map_or(0, |h| h.start_unix_ns);
    let mut sig = Signature::new();
    op_features(&h.ops, &windows, &mut sig);
    if let Some(rec) = &results.checks.recovery {
        recovery_features(rec, &mut sig);
    }
    log_features(&dir.join("nodes"), start, &windows, &mut sig);
    let leaders = results::read_leaders(&dir.join(results::LEADERS_FILE)).map_err(|e| ExploreError::Run(dir.to_path_buf(), e))?;
    leader_features(&leaders, &windows, &struck_nodes(&h.ops, &windows), &mut sig);
    Ok(sig)
}

/// The fault kind a feature was seen under.
pub fn kind_of(feature: &str) -> &str {
    feature.split(' ').next().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leader_changes_are_counted_per_window_and_a_struck_leader_named() {
        let w = |fault: &str, start_s: f64| Window { fault: fault.into(), start_s, healed_at_s: Some(start_s + 2.0) };
        let l = |s: f64, p: Option<&str>| results::Leader { time: (s * 1e9) as u64, primary: p.map(String::from) };
        let windows = [w("partition", 5.0), w("kill", 10.0)];
        let leaders = [l(0.0, Some("n1")), l(6.0, None), l(7.0, Some("n2")), l(11.0, Some("n3"))];
        let struck = [Some(vec!["n1".to_string()]), Some(vec!["n1".to_string()])];
        let mut sig = Signature::new();
        leader_features(&leaders, &windows, &struck, &mut sig);
        let want: Signature = [
            "partition leader none",
            "partition leader changed x2-9",
            "kill leader changed x1",
            "partition leader struck the leader",
            "kill leader spared the leader",
        ]
        .map(String::from)
        .into_iter()
        .collect();
        assert_eq!(sig, want);
        // no primary named: no leader feature
        let mut none = Signature::new();
        leader_features(&[], &windows, &struck, &mut none);
        assert!(none.is_empty());
        // a fault that names no nodes (a partition's grudge): no struck or spared
        let mut grudge = Signature::new();
        leader_features(&leaders, &windows, &[None, None], &mut grudge);
        assert!(!grudge.iter().any(|f| f.contains("the leader")), "{grudge:?}");
    }

    #[test]
    fn times_and_counts_fall_in_buckets() {
        assert_eq!(time_bucket(0.1), "<0.25s");
        assert_eq!(time_bucket(0.7), "0.5-1s");
        assert_eq!(time_bucket(3.0), "2-4s");
        assert_eq!(time_bucket(100.0), ">16s");
        assert_eq!([1, 5, 42, 1000].map(count_bucket), ["1", "2-9", "10-99", "100+"]);
    }

    #[test]
    fn an_event_belongs_to_the_window_last_opened_before_it() {
        let w = |f: &str, s: f64| Window { fault: f.into(), start_s: s, healed_at_s: Some(s + 1.0) };
        let ws = [w("partition", 2.0), w("pause", 5.0)];
        assert_eq!([0.5, 2.0, 4.9, 9.0].map(|t| kind_at(&ws, t)), ["none", "partition", "partition", "pause"]);
        assert_eq!(kind_of("pause then a -> b after 0.5-1s"), "pause");
    }
}
