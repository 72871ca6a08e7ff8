//! Recovery time after every fault window, on every node, for every
//! service: a pure function of the history.
//!
//! A window opens at a nemesis op whose `f` starts a fault and closes at the
//! op that heals it (the pairs are given: `start-partition` /
//! `stop-partition`, `kill` / `start`, ...). From the heal, for each node
//! and service, the checker finds the first successful op and the start of
//! *sustained* recovery (k successes in a row). A node that has not
//! recovered when the history ends is "not recovered", which is distinct
//! from "recovered late", and says how long it was observed.

use history::{History, Op, OpType, Process};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Which ops count, and the rules.
#[derive(Debug, Clone)]
pub struct RecoveryOptions {
    /// (start f, stop f, fault name) of every fault package.
    pub windows: Vec<(String, String, String)>,
    /// Successes in a row that make recovery sustained.
    pub sustained: usize,
    /// SLO for the time from heal to sustained recovery, seconds, per
    /// service (`"*"` for the default).
    pub slo_s: BTreeMap<String, f64>,
    /// SLO for kill windows (restart to serving), seconds, if set; else the
    /// recovery SLO applies.
    pub restart_slo_s: Option<f64>,
    /// Width of the availability timeline's buckets, seconds.
    pub bucket_s: f64,
}

impl RecoveryOptions {
    /// The SLO for a service after a window of `fault`.
    pub fn slo(&self, fault: &str, service: &str) -> f64 {
        if fault == "kill" {
            if let Some(s) = self.restart_slo_s {
                return s;
            }
        }
        self.slo_s.get(service).or_else(|| self.slo_s.get("*")).copied().unwrap_or(20.0)
    }
}

/// The success ratio of completed ops (client ops and probes) outside every
/// fault window; `None` when there are none.
pub fn availability_outside(h: &History, windows: &[Window]) -> Option<f64> {
    let end = h.ops.last().map(|o| secs(o.time)).unwrap_or(0.0);
    let inside = |t: f64| windows.iter().any(|w| t >= w.start_s && t <= w.healed_at_s.unwrap_or(end));
    let (mut ok, mut all) = (0u64, 0u64);
    for op in &h.ops {
        if op.process == Process::Nemesis || op.kind == OpType::Invoke || op.node.is_none() || inside(secs(op.time)) {
            continue;
        }
        all += 1;
        if op.kind == OpType::Ok {
            ok += 1;
        }
    }
    (all > 0).then(|| ok as f64 / all as f64)
}

/// How one node's service came back after one heal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Sustained recovery within the SLO.
    Recovered,
    /// Sustained recovery, but after the SLO.
    RecoveredLate,
    /// No sustained recovery before the history ended, which went on past
    /// the SLO.
    NotRecovered,
    /// No sustained recovery yet when the history ended, before the SLO
    /// had passed (a run stopped early): neither a pass nor a failure.
    Unobserved,
}

impl Outcome {
    /// Its name, as in results.json.
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Recovered => "recovered",
            Outcome::RecoveredLate => "recovered-late",
            Outcome::NotRecovered => "not-recovered",
            Outcome::Unobserved => "unobserved",
        }
    }
}

/// One (window, node, service) measurement.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Recovery {
    /// Window number (0-based, in order of opening).
    pub window: usize,
    /// The fault (`partition`, `kill`, ...).
    pub fault: String,
    /// Seconds from the history's start to the fault's start.
    pub start_s: f64,
    /// Seconds to the heal.
    pub healed_at_s: f64,
    /// Node.
    pub node: String,
    /// Service.
    pub service: String,
    /// Seconds from heal to the first successful op, if any.
    pub first_success_s: Option<f64>,
    /// Seconds from heal to the start of sustained recovery, if any.
    pub recovered_s: Option<f64>,
    /// Seconds the node was observed after the heal.
    pub observed_s: f64,
    /// The outcome.
    pub outcome: Outcome,
    /// The SLO applied, seconds.
    pub slo_s: f64,
    /// Whether the SLO held.
    pub pass: bool,
}

/// Per node and service, counts of ok / fail / info per time bucket.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Timeline {
    /// Bucket width, seconds.
    pub bucket_s: f64,
    /// (node, service) -> per bucket [ok, fail, info].
    pub series: BTreeMap<String, Vec<[u32; 3]>>,
}

/// A fault window from the nemesis ops.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Window {
    /// Fault name.
    pub fault: String,
    /// Seconds to the start.
    pub start_s: f64,
    /// Seconds to the heal (`None` if never healed).
    pub healed_at_s: Option<f64>,
}

/// The recovery check's result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecoveryResult {
    /// True when every window healed and every node and service met its SLO.
    pub valid: crate::Verdict,
    /// The windows.
    pub windows: Vec<Window>,
    /// Every (window, node, service) measurement, in window order.
    pub recoveries: Vec<Recovery>,
    /// The worst time to sustained recovery, seconds (not recovered counts
    /// as its observed time).
    pub worst_s: Option<f64>,
    /// The availability timeline.
    pub timeline: Timeline,
}

/// The service an op exercised: its value's `service` for probes, else
/// `client`.
fn service_of(op: &Op) -> String {
    if op.is_probe() {
        op.value.as_str().unwrap_or("probe").to_string()
    } else {
        "client".to_string()
    }
}

fn secs(ns: u64) -> f64 {
    ns as f64 / 1e9
}

/// Finds the fault windows in the history.
pub fn windows(h: &History, opts: &RecoveryOptions) -> Vec<Window> {
    let mut open: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut out: Vec<Window> = Vec::new();
    // a nemesis op is logged as an invoke and a completion (`info`): the
    // completion says when it took effect
    for op in h.ops.iter().filter(|o| o.process == Process::Nemesis && o.kind != OpType::Invoke) {
        for (start, stop, name) in &opts.windows {
            if op.f == *start {
                open.entry(name.clone()).or_default().push(out.len());
                out.push(Window { fault: name.clone(), start_s: secs(op.time), healed_at_s: None });
            } else if op.f == *stop {
                for i in open.remove(name).unwrap_or_default() {
                    out[i].healed_at_s = Some(secs(op.time));
                }
            }
        }
    }
    out
}

/// Measures recovery after every window, for every node and service.
pub fn check_recovery(h: &History, opts: &RecoveryOptions) -> RecoveryResult {
    let end = h.ops.last().map(|o| o.time).unwrap_or(0);
    let wins = windows(h, opts);
    // completions per (node, service), in time order: (time, success)
    let mut streams: BTreeMap<(String, String), Vec<(u64, OpType)>> = BTreeMap::new();
    for op in &h.ops {
        if op.process == Process::Nemesis || op.kind == OpType::Invoke {
            continue;
        }
        let Some(node) = &op.node else { continue };
        streams.entry((node.clone(), service_of(op))).or_default().push((op.time, op.kind));
    }
    let mut recoveries = Vec::new();
    for (wi, w) in wins.iter().enumerate() {
        let Some(heal) = w.healed_at_s else { continue };
        let heal_ns = (heal * 1e9) as u64;
        for ((node, service), events) in &streams {
            let after: Vec<&(u64, OpType)> = events.iter().filter(|(t, _)| *t >= heal_ns).collect();
            let first = after.iter().find(|(_, k)| *k == OpType::Ok).map(|(t, _)| secs(t - heal_ns));
            let mut run = 0;
            let mut run_start = 0;
            let mut sustained = None;
            for (t, k) in &after {
                if *k == OpType::Ok {
                    if run == 0 {
                        run_start = *t;
                    }
                    run += 1;
                    if run >= opts.sustained.max(1) {
                        sustained = Some(secs(run_start - heal_ns));
                        break;
                    }
                } else {
                    run = 0;
                }
            }
            let slo = opts.slo(&w.fault, service);
            let observed = secs(end.saturating_sub(heal_ns));
            let outcome = match sustained {
                Some(s) if s <= slo => Outcome::Recovered,
                Some(_) => Outcome::RecoveredLate,
                None if observed < slo => Outcome::Unobserved,
                None => Outcome::NotRecovered,
            };
            recoveries.push(Recovery {
                window: wi,
                fault: w.fault.clone(),
                start_s: w.start_s,
                healed_at_s: heal,
                node: node.clone(),
                service: service.clone(),
                first_success_s: first,
                recovered_s: sustained,
                observed_s: observed,
                pass: outcome == Outcome::Recovered,
                outcome,
                slo_s: slo,
            });
        }
    }
    let worst = recoveries.iter().map(|r| r.recovered_s.unwrap_or(r.observed_s)).fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))));
    let all_healed = wins.iter().all(|w| w.healed_at_s.is_some());
    RecoveryResult {
        valid: if !all_healed || recoveries.iter().any(|r| matches!(r.outcome, Outcome::RecoveredLate | Outcome::NotRecovered)) {
            crate::Verdict::Invalid
        } else if recoveries.iter().any(|r| r.outcome == Outcome::Unobserved) {
            // the history ended before some window's SLO passed
            crate::Verdict::Unknown
        } else {
            crate::Verdict::Valid
        },
        windows: wins,
        recoveries,
        worst_s: worst,
        timeline: timeline(h, opts.bucket_s),
    }
}

/// ok / fail / info counts per bucket, per node and service.
pub fn timeline(h: &History, bucket_s: f64) -> Timeline {
    let width = (bucket_s.max(0.001) * 1e9) as u64;
    let end = h.ops.last().map(|o| o.time).unwrap_or(0);
    let n = (end / width + 1) as usize;
    let mut series: BTreeMap<String, Vec<[u32; 3]>> = BTreeMap::new();
    for op in &h.ops {
        if op.process == Process::Nemesis || op.kind == OpType::Invoke {
            continue;
        }
        let Some(node) = &op.node else { continue };
        let s = series.entry(format!("{node} {}", service_of(op))).or_insert_with(|| vec![[0; 3]; n]);
        let b = ((op.time / width) as usize).min(n - 1);
        let slot = match op.kind {
            OpType::Ok => 0,
            OpType::Fail => 1,
            _ => 2,
        };
        s[b][slot] += 1;
    }
    Timeline { bucket_s, series }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Builds a history from (time s, process, type, f, node, service).
    fn hist(events: &[(f64, i64, &str, &str, &str)]) -> History {
        let mut h = History::default();
        for (i, (t, p, ty, f, node)) in events.iter().enumerate() {
            let process = if *p < 0 { Process::Nemesis } else { Process::Client(*p as u64) };
            let kind = OpType::parse(ty).unwrap();
            let value = if *f == "probe" { json!("admin") } else { json!(null) };
            let mut op = Op::new(process, kind, f, value);
            if *f == "probe" {
                op.role = history::Role::Probe;
            }
            op.index = i as u64;
            op.time = (t * 1e9) as u64;
            if !node.is_empty() {
                op.node = Some(node.to_string());
            }
            h.ops.push(op);
            h.lines.push(i + 1);
        }
        h
    }

    fn opts() -> RecoveryOptions {
        RecoveryOptions {
            windows: vec![("start-partition".into(), "stop-partition".into(), "partition".into()), ("kill".into(), "start".into(), "kill".into())],
            sustained: 2,
            slo_s: [("*".to_string(), 5.0), ("admin".to_string(), 1.0)].into(),
            restart_slo_s: None,
            bucket_s: 1.0,
        }
    }

    /// A client op on `node` completing `ty` at `t` (invoke just before).
    fn op(t: f64, p: i64, ty: &'static str, node: &'static str) -> [(f64, i64, &'static str, &'static str, &'static str); 2] {
        [(t - 0.01, p, "invoke", "read", node), (t, p, ty, "read", node)]
    }

    fn nem(t: f64, f: &'static str) -> [(f64, i64, &'static str, &'static str, &'static str); 2] {
        [(t - 0.001, -1, "invoke", f, ""), (t, -1, "info", f, "")]
    }

    #[test]
    fn exact_times_to_first_and_sustained_success() {
        let mut ev = vec![];
        ev.extend(nem(1.0, "start-partition"));
        ev.extend(op(2.0, 0, "fail", "n1"));
        ev.extend(nem(3.0, "stop-partition"));
        ev.extend(op(4.0, 0, "ok", "n1")); // first success 1 s after heal
        ev.extend(op(5.0, 0, "info", "n1"));
        ev.extend(op(6.0, 0, "ok", "n1")); // sustained from 6 s: 3 s after heal
        ev.extend(op(7.0, 0, "ok", "n1"));
        let r = check_recovery(&hist(&ev), &opts());
        assert_eq!(r.windows.len(), 1);
        assert_eq!((r.windows[0].start_s, r.windows[0].healed_at_s), (1.0, Some(3.0)));
        let x = &r.recoveries[0];
        assert_eq!((x.node.as_str(), x.service.as_str()), ("n1", "client"));
        assert!((x.first_success_s.unwrap() - 1.0).abs() < 1e-6);
        assert!((x.recovered_s.unwrap() - 3.0).abs() < 1e-6);
        assert_eq!((x.outcome.clone(), x.pass), (Outcome::Recovered, true));
        assert!(r.valid.is_valid());
    }

    #[test]
    fn a_history_that_ends_before_the_slo_passes_is_unknown_not_a_failure() {
        // a run stopped 0.5 s after a heal (SLO 5 s): nothing is known yet
        let mut ev = vec![];
        ev.extend(nem(1.0, "kill"));
        ev.extend(nem(2.0, "start"));
        ev.extend(op(2.2, 0, "fail", "n1"));
        ev.extend(op(2.5, 0, "fail", "n1"));
        let r = check_recovery(&hist(&ev), &opts());
        assert_eq!((r.recoveries[0].outcome.clone(), r.recoveries[0].pass), (Outcome::Unobserved, false));
        assert_eq!(r.valid, crate::Verdict::Unknown);
        // observed past the SLO without recovering: a failure
        ev.extend(op(8.0, 0, "fail", "n1"));
        let r = check_recovery(&hist(&ev), &opts());
        assert_eq!(r.recoveries[0].outcome, Outcome::NotRecovered);
        assert_eq!(r.valid, crate::Verdict::Invalid);
    }

    #[test]
    fn a_node_that_never_recovers_differs_from_one_that_recovers_late() {
        let mut ev = vec![];
        ev.extend(nem(1.0, "kill"));
        ev.extend(nem(2.0, "start"));
        ev.extend(op(3.0, 0, "ok", "n1"));
        ev.extend(op(3.5, 0, "ok", "n1"));
        ev.extend(op(3.0, 1, "fail", "n2"));
        ev.extend(op(9.0, 1, "ok", "n2"));
        ev.extend(op(9.5, 1, "ok", "n2")); // 7 s after heal: late (SLO 5 s)
        ev.extend(op(9.8, 2, "fail", "n3")); // never recovers
        ev.extend(op(10.0, 2, "ok", "n3")); // one success is not sustained
        let r = check_recovery(&hist(&ev), &opts());
        let by: BTreeMap<&str, &Recovery> = r.recoveries.iter().map(|x| (x.node.as_str(), x)).collect();
        assert_eq!(by["n1"].outcome, Outcome::Recovered);
        assert_eq!(by["n2"].outcome, Outcome::RecoveredLate);
        assert!((by["n2"].recovered_s.unwrap() - 7.0).abs() < 1e-6);
        assert_eq!(by["n3"].outcome, Outcome::NotRecovered);
        assert!((by["n3"].first_success_s.unwrap() - 8.0).abs() < 1e-6);
        assert!((by["n3"].observed_s - 8.0).abs() < 1e-6);
        assert!(!r.valid.is_valid());
        assert!((r.worst_s.unwrap() - 8.0).abs() < 1e-6);
    }

    #[test]
    fn every_window_is_measured_not_only_the_last_and_services_apart() {
        let mut ev = vec![];
        ev.extend(nem(1.0, "start-partition"));
        ev.extend(nem(2.0, "stop-partition"));
        // the probe of service admin on n1 is stuck after the first heal
        ev.extend([(2.5, 1_000_000, "invoke", "probe", "n1"), (2.6, 1_000_000, "fail", "probe", "n1")]);
        ev.extend(op(2.5, 0, "ok", "n1"));
        ev.extend(op(2.7, 0, "ok", "n1"));
        ev.extend([(4.0, 1_000_000, "invoke", "probe", "n1"), (4.1, 1_000_000, "ok", "probe", "n1")]);
        ev.extend([(4.2, 1_000_000, "invoke", "probe", "n1"), (4.3, 1_000_000, "ok", "probe", "n1")]);
        ev.extend(nem(5.0, "start-partition"));
        ev.extend(nem(6.0, "stop-partition"));
        ev.extend(op(6.5, 0, "ok", "n1"));
        ev.extend(op(6.7, 0, "ok", "n1"));
        ev.extend([(6.8, 1_000_000, "invoke", "probe", "n1"), (6.9, 1_000_000, "ok", "probe", "n1")]);
        ev.extend([(7.0, 1_000_000, "invoke", "probe", "n1"), (7.1, 1_000_000, "ok", "probe", "n1")]);
        let r = check_recovery(&hist(&ev), &opts());
        assert_eq!(r.windows.len(), 2);
        assert_eq!(r.recoveries.len(), 4);
        let admin0 = r.recoveries.iter().find(|x| x.window == 0 && x.service == "admin").unwrap();
        // 2.1 s to recover, over admin's 1 s SLO, while the client was fine
        assert_eq!(admin0.outcome, Outcome::RecoveredLate);
        assert!(r.recoveries.iter().filter(|x| x.service == "client").all(|x| x.pass));
        assert!(r.recoveries.iter().filter(|x| x.window == 1).all(|x| x.pass));
        assert!(!r.valid.is_valid());
    }

    #[test]
    fn overlapping_windows_an_unhealed_window_and_an_empty_one() {
        let mut ev = vec![];
        ev.extend(nem(1.0, "start-partition"));
        ev.extend(nem(1.5, "kill"));
        ev.extend(nem(2.0, "start")); // kill healed inside the partition
        ev.extend(nem(3.0, "stop-partition"));
        ev.extend(op(3.5, 0, "ok", "n1"));
        ev.extend(op(3.6, 0, "ok", "n1"));
        ev.extend(nem(4.0, "start-partition")); // never healed
        let r = check_recovery(&hist(&ev), &opts());
        assert_eq!(r.windows.len(), 3);
        let kill = r.recoveries.iter().find(|x| x.fault == "kill").unwrap();
        assert!((kill.recovered_s.unwrap() - 1.5).abs() < 1e-6);
        assert!(r.windows[2].healed_at_s.is_none());
        assert!(!r.valid.is_valid(), "an unhealed window makes the run invalid");
        // no ops at all: no measurements, no crash
        let r = check_recovery(&hist(&[]), &opts());
        assert!(r.valid.is_valid() && r.recoveries.is_empty());
    }

    #[test]
    fn availability_outside_windows_ignores_what_happens_inside() {
        let mut ev = vec![];
        ev.extend(op(0.5, 0, "ok", "n1"));
        ev.extend(op(0.8, 0, "fail", "n1"));
        ev.extend(nem(1.0, "start-partition"));
        ev.extend(op(1.5, 0, "fail", "n1"));
        ev.extend(nem(2.0, "stop-partition"));
        ev.extend(op(2.5, 0, "ok", "n1"));
        ev.extend(op(2.6, 0, "ok", "n1"));
        let h = hist(&ev);
        let w = windows(&h, &opts());
        let a = availability_outside(&h, &w).unwrap();
        assert!((a - 0.75).abs() < 1e-9, "{a}");
    }

    #[test]
    fn the_timeline_counts_outcomes_per_bucket() {
        let mut ev = vec![];
        ev.extend(op(0.5, 0, "ok", "n1"));
        ev.extend(op(0.7, 0, "fail", "n1"));
        ev.extend(op(1.5, 0, "info", "n1"));
        let t = timeline(&hist(&ev), 1.0);
        assert_eq!(t.series["n1 client"], vec![[1, 1, 0], [0, 0, 1]]);
    }
}
