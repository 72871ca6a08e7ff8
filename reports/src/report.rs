//! The run report: one self-contained HTML file.

use crate::html::{json_script, page, verdict_class};
use crate::plots::{self, LatencyPoint, Shade, OUTCOME};
use crate::run_page::{LogSection, LogWindow, RecoveryRow, RunPage, StartupTable, Worst};
use checker::recovery::Recovery;
use history::{History, OpType, Process};
use results::{RunResults, TestRecord};
use serde_json::{json, Value};
use std::collections::HashMap;

/// Log lines of one node around one fault window.
#[derive(Debug, Clone)]
pub struct LogExcerpt {
    /// Node.
    pub node: String,
    /// Relative link to the whole log.
    pub link: String,
    /// (window label, lines).
    pub windows: Vec<(String, Vec<String>)>,
}

/// Everything a run report shows.
pub struct RunReport<'a> {
    /// test.json.
    pub test: &'a TestRecord,
    /// results.json.
    pub results: &'a RunResults,
    /// The history.
    pub history: &'a History,
    /// Fault windows to shade.
    pub shades: Vec<Shade>,
    /// What the workload's checks found (its own HTML).
    pub findings: String,
    /// The system's own section (its HTML; empty when it has none).
    pub system: String,
    /// Node logs.
    pub logs: Vec<LogExcerpt>,
}

/// The start-up phases of every node, as a table (empty when none known).
fn phases_table(results: &RunResults) -> String {
    let nodes = &results.facts.startup_phases;
    if nodes.is_empty() {
        return String::new();
    }
    let mut names: Vec<&str> = Vec::new();
    for p in nodes.iter().flat_map(|(_, ps)| ps) {
        if !names.contains(&p.name.as_str()) {
            names.push(&p.name);
        }
    }
    let rows: Vec<Value> = nodes
        .iter()
        .map(|(node, ps)| json!({"node": node, "cells": names.iter().map(|n| ps.iter().find(|p| p.name == *n).map(|p| p.at_s)).collect::<Vec<_>>()}))
        .collect();
    crate::template::render("phases.html", include_str!("../templates/phases.html"), json!({"names": names, "rows": rows}))
}

/// Most ops the timeline embeds; beyond it, a sample (fails and infos
/// first) with a note.
pub const TIMELINE_CAP: usize = 40_000;
/// Most points the latency plot draws.
pub const PLOT_CAP: usize = 20_000;

/// A completed client op: (invoke s, complete s, process, node, f, value, outcome, error).
struct Done {
    t: f64,
    end: f64,
    process: u64,
    node: String,
    f: String,
    value: String,
    outcome: u8,
    error: String,
}

fn client_ops(h: &History) -> Vec<Done> {
    let mut open: HashMap<u64, usize> = HashMap::new();
    let mut out = Vec::new();
    for (i, op) in h.ops.iter().enumerate() {
        let Process::Client(p) = op.process else { continue };
        if op.is_probe() {
            continue;
        }
        if op.kind == OpType::Invoke {
            open.insert(p, i);
            continue;
        }
        let Some(j) = open.remove(&p) else { continue };
        let inv = &h.ops[j];
        out.push(Done {
            t: inv.time as f64 / 1e9,
            end: op.time as f64 / 1e9,
            process: p,
            node: op.node.clone().unwrap_or_default(),
            f: op.f.clone(),
            value: if op.kind == OpType::Ok { op.value.to_string() } else { inv.value.to_string() },
            outcome: match op.kind {
                OpType::Ok => 0,
                OpType::Fail => 1,
                _ => 2,
            },
            error: op.error.as_ref().map(|e| e.as_str().map(str::to_string).unwrap_or_else(|| e.to_string())).unwrap_or_default(),
        });
    }
    out
}

/// Per node, the clock offsets (ms) the nemesis measured after each clock
/// fault (`measured_ms` in its completions).
fn clock_offsets(h: &History) -> Vec<plots::Series> {
    let mut per: std::collections::BTreeMap<String, Vec<(f64, f64)>> = std::collections::BTreeMap::new();
    for op in h.ops.iter().filter(|o| o.process == Process::Nemesis && o.kind != OpType::Invoke) {
        if let Some(m) = op.value.get("measured_ms").and_then(Value::as_object) {
            for (node, ms) in m {
                if let Some(ms) = ms.as_f64() {
                    per.entry(node.clone()).or_default().push((op.time as f64 / 1e9, ms));
                }
            }
        }
    }
    const COLORS: [plots::RGBColor; 5] = [
        plots::RGBColor(0x30, 0x70, 0xc0),
        plots::RGBColor(0xd6, 0x3a, 0x3a),
        plots::RGBColor(0x2a, 0x9d, 0x4a),
        plots::RGBColor(0xe0, 0x9a, 0x10),
        plots::RGBColor(0x80, 0x40, 0xa0),
    ];
    per.into_iter().enumerate().map(|(i, (n, pts))| (n, COLORS[i % COLORS.len()], pts)).collect()
}

/// At most about `cap` items: those `keep` picks first (sampled too if they
/// alone pass half the cap), the rest sampled evenly; order kept.
fn sample<T>(v: Vec<T>, cap: usize, keep: impl Fn(&T) -> bool) -> (Vec<T>, bool) {
    if v.len() <= cap {
        return (v, false);
    }
    let kept = v.iter().filter(|x| keep(x)).count();
    let kept_step = kept.div_ceil(cap / 2).max(1);
    let rest_step = (v.len() - kept).div_ceil(cap - kept.min(cap / 2)).max(1);
    let (mut k, mut r) = (0usize, 0usize);
    let out = v
        .into_iter()
        .filter(|x| {
            if keep(x) {
                k += 1;
                (k - 1) % kept_step == 0
            } else {
                r += 1;
                (r - 1) % rest_step == 0
            }
        })
        .collect();
    (out, true)
}

/// The command that reproduces the run: its exact command line from
/// test.json, with the run's seed (when it was drawn at random) and without
/// `--repeat` (one run).
fn reproduce(test: &TestRecord) -> String {
    let mut out: Vec<String> = Vec::with_capacity(test.command_line.len() + 2);
    let mut it = test.command_line.iter().cloned();
    while let Some(a) = it.next() {
        if a == "--repeat" {
            it.next();
        } else if !a.starts_with("--repeat=") {
            out.push(a);
        }
    }
    if out.is_empty() {
        out.extend(["faultline".to_string(), "run".to_string()]);
    }
    if !out.iter().any(|a| a == "--seed" || a.starts_with("--seed=")) {
        out.extend(["--seed".to_string(), test.seed.to_string()]);
    }
    shell_words::join(out)
}

fn secs(v: f64) -> String {
    format!("{v:.2}")
}

fn ready(v: Option<f64>) -> String {
    v.map(secs).unwrap_or_else(|| "never ready".into())
}

/// The plots: latency (a sample past [`PLOT_CAP`], noted), quantiles,
/// throughput by outcome, each node-service's outcomes, clock offsets.
fn figures(r: &RunReport, ops: &[Done], t_end: f64) -> (Vec<String>, Option<(usize, usize)>) {
    let points: Vec<LatencyPoint> = ops.iter().map(|d| (d.t, (d.end - d.t) * 1e3, d.outcome)).collect();
    let (sampled, was_sampled) = sample(points.clone(), PLOT_CAP, |p| p.2 != 0);
    let mut out = vec![
        plots::latency(&sampled, &r.shades, t_end),
        plots::lines("latency quantiles of ok ops per second (ms)", "ms", &plots::quantiles(&points, 1.0, t_end), &r.shades, t_end),
    ];
    let n = t_end.ceil() as usize + 1;
    let mut per_s = vec![[0f64; 3]; n];
    for d in ops {
        per_s[(d.end as usize).min(n - 1)][d.outcome as usize] += 1.0;
    }
    let series: Vec<plots::Series> = OUTCOME
        .iter()
        .enumerate()
        .map(|(k, (name, c))| (name.to_string(), *c, per_s.iter().enumerate().map(|(i, v)| (i as f64 + 0.5, v[k])).collect()))
        .collect();
    out.push(plots::lines("throughput by outcome (ops/s)", "ops/s", &series, &r.shades, t_end));
    if let Some(tl) = r.results.checks.recovery.as_ref().map(|r| &r.timeline) {
        let rows: Vec<(String, Vec<[u32; 3]>)> = tl.series.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        out.push(plots::heatmap(&rows, tl.bucket_s, &r.shades));
    }
    if let Some(rows) = crate::membership::rows(r.history, t_end, 0.5) {
        out.push(plots::heatmap_titled("membership over time, as the system reported it (green: a member, red: out)", &rows, 0.5, &r.shades));
    }
    let clocks = clock_offsets(r.history);
    if !clocks.is_empty() {
        out.push(plots::lines("clock offset from the control node (ms), as measured by the nemesis", "ms", &clocks, &r.shades, t_end));
    }
    (out, was_sampled.then_some((sampled.len(), points.len())))
}

/// Renders the report.
pub fn render_run(r: &RunReport) -> String {
    let results = r.results;
    let test = r.test;
    let verdict = results.valid.as_str();
    let name = if test.name.is_empty() { "run" } else { test.name.as_str() };
    let rec = results.checks.recovery.as_ref();
    let recs: Vec<&Recovery> = rec.iter().flat_map(|r| &r.recoveries).collect();
    let took = |x: &Recovery| x.recovered_s.unwrap_or(x.observed_s);
    let worst = recs.iter().max_by(|a, c| took(a).total_cmp(&took(c))).map(|w| Worst {
        window: w.window,
        fault: &w.fault,
        node: &w.node,
        service: &w.service,
        took: w.recovered_s.map(|s| format!("sustained after {s:.2} s")).unwrap_or_else(|| format!("not recovered in {:.1} s observed", w.observed_s)),
        outcome: w.outcome.as_str(),
    });
    let recoveries = recs
        .iter()
        .map(|x| RecoveryRow {
            class: if x.pass { "pass" } else { "fail" },
            window: x.window,
            fault: &x.fault,
            start_s: secs(x.start_s),
            healed_at_s: secs(x.healed_at_s),
            node: &x.node,
            service: &x.service,
            first_success_s: x.first_success_s.map(secs),
            recovered_s: x.recovered_s.map(secs),
            slo_s: secs(x.slo_s),
            outcome: x.outcome.as_str(),
        })
        .collect();
    let unhealed =
        rec.iter().flat_map(|r| &r.windows).filter(|w| w.healed_at_s.is_none()).map(|w| json!({"fault": w.fault, "start_s": secs(w.start_s)})).collect();
    let ops = client_ops(r.history);
    let t_end = r.history.ops.last().map(|o| o.time as f64 / 1e9).unwrap_or(1.0).max(1.0);
    let (figures, plot_sample) = figures(r, &ops, t_end);
    let startup = results.facts.startup.as_ref().map(|st| StartupTable {
        nodes: st.nodes.iter().map(|(n, t)| (n.as_str(), ready(*t))).collect(),
        cluster: ready(st.cluster),
        not_ready: &st.not_ready,
    });
    let (shown, was_sampled) = sample(ops, TIMELINE_CAP, |d| d.outcome != 0);
    let data: Vec<Value> = shown.iter().map(|d| json!([d.t, d.end, d.process, d.node, d.f, d.value, d.outcome, d.error])).collect();
    let logs = r
        .logs
        .iter()
        .map(|l| LogSection {
            node: &l.node,
            link: &l.link,
            windows: l.windows.iter().map(|(label, lines)| LogWindow { label, count: lines.len(), text: lines.join("\n") }).collect(),
        })
        .collect();
    let body = RunPage {
        name,
        verdict,
        verdict_class: verdict_class(verdict),
        summary: &results.summary,
        errors: results.facts.infrastructure_error.iter().chain(&results.facts.refused).map(String::as_str).collect(),
        interrupted: results.facts.interrupted,
        recoveries,
        worst,
        unhealed,
        plot_sample,
        figures,
        system: &r.system,
        findings: &r.findings,
        unknown: results.checks.unknown.iter().map(|(n, w)| (n.as_str(), w.as_str())).collect(),
        reproduce: reproduce(test),
        system_label: match &test.sut_version {
            Some(v) => format!("{} ({v})", test.db),
            None => test.db.clone(),
        },
        seed: test.seed,
        started_at: &test.started_at,
        faultline_version: &test.faultline_version,
        test_json: serde_json::to_string_pretty(test).unwrap_or_default(),
        startup,
        phases: phases_table(results),
        timeline_sample: was_sampled.then_some(data.len()),
        timeline: TIMELINE_HTML,
        ops: json_script("ops", &Value::Array(data)),
        logs,
    };
    let b = crate::template::render("run.html", include_str!("../templates/run.html"), body);
    page(&format!("faultline: {name}"), &b, TIMELINE_JS)
}

/// The operations' table and lanes (filled by [`TIMELINE_JS`] from the
/// embedded ops).
const TIMELINE_HTML: &str = include_str!("../templates/timeline.html");

/// Draws the timeline's lanes and pages its table, in the page.
const TIMELINE_JS: &str = include_str!("../templates/timeline.js");

#[cfg(test)]
mod tests {
    use super::{clock_offsets, reproduce, sample};
    use history::{History, Op, OpType, Process};
    use serde_json::json;

    #[test]
    fn reproduce_is_the_exact_command_line_with_the_seed() {
        let argv =
            ["faultline", "run", "--interval", "3", "--fault-duration", "4", "--op-timeout", "1.5", "--ready-timeout", "30", "--repeat", "5", "--name", "a b"];
        let command_line = argv.iter().map(|s| s.to_string()).collect();
        let test = results::TestRecord { command_line, seed: 42, ..Default::default() };
        let r = reproduce(&test);
        assert_eq!(r, "faultline run --interval 3 --fault-duration 4 --op-timeout 1.5 --ready-timeout 30 --name 'a b' --seed 42");
        let seeded = results::TestRecord { command_line: vec!["faultline".into(), "run".into(), "--seed=7".into()], seed: 7, ..Default::default() };
        assert_eq!(reproduce(&seeded), "faultline run '--seed=7'");
    }

    #[test]
    fn clock_offsets_come_from_the_nemesis_measurements() {
        let mut h = History::default();
        for (t, m) in [(1u64, json!({"n1": 0.4, "n2": 60000.0})), (5, json!({"n1": 0.2, "n2": 0.8}))] {
            let mut op = Op::new(Process::Nemesis, OpType::Info, "bump-clock", json!({"measured_ms": m}));
            op.time = t * 1_000_000_000;
            h.ops.push(op);
        }
        let c = clock_offsets(&h);
        assert_eq!(c.len(), 2);
        assert_eq!(c[1].0, "n2");
        assert_eq!(c[1].2, vec![(1.0, 60000.0), (5.0, 0.8)]);
        assert!(clock_offsets(&History::default()).is_empty());
    }

    #[test]
    fn sampling_keeps_the_cap_and_prefers_what_keep_picks() {
        let v: Vec<u32> = (0..100_000).collect();
        let (s, sampled) = sample(v.clone(), 1000, |x| x % 10 == 0); // 10,000 "fails"
        assert!(sampled && s.len() <= 1001 && s.len() >= 900, "{}", s.len());
        let fails = s.iter().filter(|x| *x % 10 == 0).count();
        assert!((450..=550).contains(&fails), "{fails}");
        let (s, _) = sample(v.clone(), 1000, |x| *x == 5);
        assert!(s.contains(&5) && s.len() <= 1001);
        assert!(s.windows(2).all(|w| w[0] < w[1]));
        let (s, sampled) = sample(vec![1, 2, 3], 10, |_| true);
        assert_eq!((s, sampled), (vec![1, 2, 3], false));
    }
}
