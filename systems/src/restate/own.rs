//! Restate's own part in a run: the seals its nodes logged (read once the
//! run ends), its checks (the appends' stall after each log seal, against
//! the `reconfigure=` SLO; the seals tried while it started), and its
//! report section (the log chain over time, the stalls, the early seals,
//! wiped nodes rejoining).

use super::records::{check_startup_seals, LogChange, Rejoins, StartupFaultsCheck};
use super::stall::{check_stalls, SealsSeen, StallCheck, SEALS};
use super::Restate;
use crate::own::{OwnRun, RunView};
use crate::Topology;
use history::{History, HistoryError, OpType, Process};
use reports::plots::{self, RGBColor, Series, Shade};
use results::{Checks, OwnCheck};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// The name of the seals Restate's nodes logged, in `run.json`'s `own`.
const SEALS_SEEN: &str = "seals";
/// The name of the stall check in `results.json`'s checks.
const RECONFIGURATION: &str = "reconfiguration";
/// The name of the early seals' check.
const STARTUP_FAULTS: &str = "startup_faults";

const LOG_FAULTS: [&str; 4] = ["reconfigure-log", "seal-log", "extend-log", "settle-log"];

/// The log chain over time: (time s, highest metadata version, total
/// segment index over the logs) after each log fault.
pub fn chain_points(h: &History) -> Vec<(f64, u64, u64)> {
    h.ops
        .iter()
        .filter(|o| o.process == Process::Nemesis && o.kind == OpType::Info && LOG_FAULTS.contains(&o.f.as_str()))
        .filter_map(|o| {
            let c: LogChange = serde_json::from_value(o.value.clone()).ok()?;
            let tails = if c.after.is_empty() { c.before } else { c.after };
            let version = tails.iter().map(|t| t.metadata_version).max()?;
            Some((o.time as f64 / 1e9, version, tails.iter().map(|t| t.segment_index as u64).sum()))
        })
        .collect()
}

fn own_check<T: serde::Serialize>(outcome: &T) -> OwnCheck {
    OwnCheck::of(outcome).expect("Restate's checks serialize as objects with a verdict")
}

impl OwnRun for Restate {
    fn facts(&self, logs: &Path, topo: &Topology, start_unix_s: f64, faults: &[&str]) -> BTreeMap<String, Value> {
        if !faults.iter().any(|f| SEALS.contains(f)) {
            return BTreeMap::new();
        }
        let file = Path::new(super::LOG).file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let mut seals = Vec::new();
        for (node, _) in &topo.nodes {
            if let Ok(text) = std::fs::read_to_string(logs.join(node).join(&file)) {
                seals.extend(super::seals::seals_in(&text, start_unix_s));
            }
        }
        seals.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
        let seen = SealsSeen { seals, key_logs: self.logs_of_keys(topo) };
        BTreeMap::from([(SEALS_SEEN.to_string(), serde_json::to_value(seen).unwrap_or_default())])
    }

    fn checks(&self, run: &RunView) -> Result<Vec<(String, OwnCheck)>, HistoryError> {
        let mut out = Vec::new();
        if let Some(c) = check_startup_seals(&run.facts.startup_faults) {
            out.push((STARTUP_FAULTS.to_string(), own_check(&c)));
        }
        if let Some(limit) = run.slos.reconfigure {
            let logged: SealsSeen = run.facts.own.get(SEALS_SEEN).and_then(|v| serde_json::from_value(v.clone()).ok()).unwrap_or_default();
            // Restate names its keys; the history names the workload's logs
            let key_logs = logged.key_logs.iter().filter_map(|(k, l)| Some(((run.log_of_key)(k)?, *l))).collect();
            let seen = SealsSeen { seals: logged.seals, key_logs };
            if let Some(c) = check_stalls(run.history, limit, &seen)? {
                out.push((RECONFIGURATION.to_string(), own_check(&c)));
            }
        }
        Ok(out)
    }

    fn report(&self, run: &RunView, checks: &Checks, shades: &[Shade], t_end: f64) -> String {
        let h = run.history;
        let chain = chain_points(h);
        let (mut version_plot, mut segments_plot) = (String::new(), String::new());
        if !chain.is_empty() {
            let version: Series = ("logs metadata version".into(), RGBColor(60, 120, 60), chain.iter().map(|(t, v, _)| (*t, *v as f64)).collect());
            version_plot = plots::lines("log chain: metadata version after each log fault", "version", &[version], shades, t_end);
            let segments: Series = ("segments (sum of tail indexes)".into(), RGBColor(90, 90, 160), chain.iter().map(|(t, _, s)| (*t, *s as f64)).collect());
            segments_plot = plots::lines("log chain: tail segment indexes, summed over the logs", "segments", &[segments], shades, t_end);
        }
        let stalls: Option<StallCheck> = checks.outcome(RECONFIGURATION).and_then(Result::ok);
        let early: Option<StartupFaultsCheck> = checks.outcome(STARTUP_FAULTS).and_then(Result::ok);
        let rejoins: Vec<Value> = h
            .ops
            .iter()
            .filter(|o| o.process == Process::Nemesis && o.kind == OpType::Info && o.f == "rejoin-node")
            .filter_map(|o| Some(json!({"at_s": o.time as f64 / 1e9, "rejoins": serde_json::from_value::<Rejoins>(o.value.clone()).ok()?})))
            .collect();
        let ctx = json!({
            "chain": !chain.is_empty(), "version_plot": version_plot, "segments_plot": segments_plot,
            "stalls": stalls, "early": early, "rejoins": rejoins,
        });
        reports::template::render("restate-report.html", include_str!("report.html"), ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use history::Op;

    fn nemesis(time_s: f64, f: &str, value: Value) -> Op {
        let mut o = Op::new(Process::Nemesis, OpType::Info, f, value);
        o.time = (time_s * 1e9) as u64;
        o
    }

    #[test]
    fn the_chain_is_the_newest_version_and_summed_segments_after_each_log_fault() {
        let tail = |id: u32, seg: u32, v: u64| json!({"log_id": id, "segment_index": seg, "sealed": false, "metadata_version": v});
        let h = History {
            ops: vec![
                nemesis(1.0, "reconfigure-log", json!({"logs": [0, 1], "before": [tail(0, 0, 3), tail(1, 1, 3)], "after": [tail(0, 1, 5), tail(1, 2, 5)]})),
                nemesis(2.0, "kill", json!({"nodes": ["n1"]})),
                nemesis(3.0, "extend-log", json!({"logs": [0], "before": [tail(0, 1, 6)], "after": []})),
                nemesis(4.0, "seal-log", json!({"error": "restatectl failed"})),
            ],
            ..History::default()
        };
        assert_eq!(chain_points(&h), vec![(1.0, 5, 3), (3.0, 6, 1)]);
    }

    #[test]
    fn restate_judges_its_stalls_and_early_seals_and_shows_them() {
        let append = |i: u64, ms: u64, kind: OpType, v: Value| {
            let mut o = Op::new(Process::Client(0), kind, "append", v);
            o.index = i;
            o.time = ms * 1_000_000;
            o
        };
        let mut seal = nemesis(0.1, "reconfigure-log", json!({}));
        seal.kind = OpType::Invoke;
        let ops = vec![
            seal,
            nemesis(0.101, "reconfigure-log", json!({})),
            append(2, 110, OpType::Invoke, json!(["1", 3])),
            append(3, 2600, OpType::Ok, json!(["1", 3])),
        ];
        let history = History { ops, ..History::default() };
        let attempts = json!([{"at_s": 0.0, "took_s": 0.01, "outcome": "fail", "message": "provisioning", "log_servers": ["n1=provisioning"]},
                              {"at_s": 0.3, "took_s": 0.01, "outcome": "ok", "message": "sealed", "log_servers": []}]);
        let early = results::StartupFault {
            at_ms: 0,
            fault: json!({"f": "seal-log"}),
            f: "seal-log".into(),
            value: json!({"logs": [0], "attempts": attempts, "sealed_after_s": 0.31, "hung": 0}),
            error: None,
        };
        // Restate logged the seal of log 7, which workload log 1 (key log1) writes to
        let seen = SealsSeen { seals: vec![super::super::stall::LogSeal { log: 7, segment: 0, at_s: 0.1005 }], key_logs: BTreeMap::from([("log1".into(), 7)]) };
        let facts = results::RunFacts {
            startup_faults: vec![early],
            own: BTreeMap::from([(SEALS_SEEN.into(), serde_json::to_value(seen).unwrap())]),
            ..Default::default()
        };
        let slos = checker::slo::Slos::parse(&["reconfigure=2s".to_string()]).unwrap();
        let log_of_key = |k: &str| k.strip_prefix("log").map(str::to_string);
        let view = RunView { history: &history, facts: &facts, slos: &slos, log_of_key: &log_of_key };
        let r = Restate::default();
        let checks: BTreeMap<String, OwnCheck> = r.checks(&view).unwrap().into_iter().collect();
        assert_eq!(checks[STARTUP_FAULTS].valid, checker::Verdict::Valid, "{checks:?}");
        assert_eq!(checks[RECONFIGURATION].valid, checker::Verdict::Invalid, "a 2.5 s stall against 2 s: {checks:?}");
        let stall: StallCheck = checks[RECONFIGURATION].outcome().unwrap();
        assert_eq!(stall.stalls[0].system_log, Some(7), "from Restate's own seal: {stall:?}");
        let all = Checks { named: checks, ..Default::default() };
        let html = r.report(&view, &all, &[], 3.0);
        assert!(!html.contains("class=\"err\""), "{html}");
        assert!(html.contains("Appends&#x27; stall after each seal: invalid") || html.contains("Appends' stall after each seal: invalid"), "{html}");
        assert!(
            html.contains("<td>1</td><td>7</td><td>2.499</td>") && html.contains("Seals while starting: valid") && html.contains("n1=provisioning"),
            "{html}"
        );
        // a run with neither: nothing to show
        let quiet =
            RunView { history: &History::default(), facts: &results::RunFacts::default(), slos: &checker::slo::Slos::default(), log_of_key: &log_of_key };
        assert!(r.checks(&quiet).unwrap().is_empty());
        assert_eq!(r.report(&quiet, &Checks::default(), &[], 0.0).trim(), "");
    }
}
