//! The run report: one self-contained HTML file.

use crate::html::{esc, json_script, page, verdict_class};
use crate::plots::{self, LatencyPoint, Shade, OUTCOME};
use checker::recovery::Recovery;
use history::{History, OpType, Process};
use results::{RunResults, TestRecord};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::fmt::Write;

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

/// Renders the report.
pub fn render_run(r: &RunReport) -> String {
    let results = r.results;
    let test = r.test;
    let verdict = results.valid.as_str();
    let mut b = String::new();
    let name = if test.name.is_empty() { "run" } else { test.name.as_str() };
    let _ = write!(b, "<div class=\"banner {}\"><h1>{}: {}</h1><p>{}</p>", verdict_class(verdict), esc(name), esc(verdict), esc(&results.summary));
    for e in results.facts.infrastructure_error.iter().chain(&results.facts.refused) {
        let _ = write!(b, "<pre class=\"err\">{}</pre>", esc(e));
    }
    if results.facts.interrupted {
        b += "<p>The run was interrupted; this is what was recorded until then.</p>";
    }
    b += "</div>";

    // SLO table
    let rec = results.checks.recovery.as_ref();
    b += "<h2 id=\"slo\">Recovery after every fault window</h2>";
    let recs: Vec<&Recovery> = rec.iter().flat_map(|r| &r.recoveries).collect();
    if recs.is_empty() {
        b += "<p>No fault window was healed in this run.</p>";
    } else {
        let took = |x: &Recovery| x.recovered_s.unwrap_or(x.observed_s);
        if let Some(w) = recs.iter().max_by(|a, c| took(a).total_cmp(&took(c))) {
            let _ = write!(
                b,
                "<p class=\"worst\">Worst: window {} ({}) on <b>{}</b> / <b>{}</b>: {} ({})</p>",
                w.window,
                esc(&w.fault),
                esc(&w.node),
                esc(&w.service),
                w.recovered_s.map(|s| format!("sustained after {s:.2} s")).unwrap_or_else(|| format!("not recovered in {:.1} s observed", w.observed_s)),
                w.outcome.as_str()
            );
        }
        b += "<table class=\"sortable\"><thead><tr><th>window</th><th>fault</th><th>start s</th><th>healed s</th><th>node</th><th>service</th><th>first ok s</th><th>recovered s</th><th>SLO s</th><th>outcome</th></tr></thead><tbody>";
        let f = |v: Option<f64>| v.map(|v| format!("{v:.2}")).unwrap_or_else(|| "-".into());
        for x in &recs {
            let _ = write!(
                b,
                "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                if x.pass { "pass" } else { "fail" },
                x.window,
                esc(&x.fault),
                f(Some(x.start_s)),
                f(Some(x.healed_at_s)),
                esc(&x.node),
                esc(&x.service),
                f(x.first_success_s),
                f(x.recovered_s),
                f(Some(x.slo_s)),
                x.outcome.as_str()
            );
        }
        b += "</tbody></table>";
    }
    for w in rec.iter().flat_map(|r| &r.windows).filter(|w| w.healed_at_s.is_none()) {
        let _ = write!(b, "<p class=\"err\">The {} window opened at {:.2} s was never healed.</p>", esc(&w.fault), w.start_s);
    }

    // plots
    let ops = client_ops(r.history);
    let t_end = r.history.ops.last().map(|o| o.time as f64 / 1e9).unwrap_or(1.0).max(1.0);
    let points: Vec<LatencyPoint> = ops.iter().map(|d| (d.t, (d.end - d.t) * 1e3, d.outcome)).collect();
    let (sampled, was_sampled) = sample(points.clone(), PLOT_CAP, |p| p.2 != 0);
    b += "<h2 id=\"plots\">What the cluster did</h2>";
    if was_sampled {
        let _ = write!(b, "<p class=\"note\">Latency plot: a sample of {} of {} ops, fails and infos first.</p>", sampled.len(), points.len());
    }
    let _ = write!(b, "<figure>{}</figure>", plots::latency(&sampled, &r.shades, t_end));
    let _ = write!(
        b,
        "<figure>{}</figure>",
        plots::lines("latency quantiles of ok ops per second (ms)", "ms", &plots::quantiles(&points, 1.0, t_end), &r.shades, t_end)
    );
    let n = t_end.ceil() as usize + 1;
    let mut per_s = vec![[0f64; 3]; n];
    for d in &ops {
        per_s[(d.end as usize).min(n - 1)][d.outcome as usize] += 1.0;
    }
    let series: Vec<plots::Series> = OUTCOME
        .iter()
        .enumerate()
        .map(|(k, (name, c))| (name.to_string(), *c, per_s.iter().enumerate().map(|(i, v)| (i as f64 + 0.5, v[k])).collect()))
        .collect();
    let _ = write!(b, "<figure>{}</figure>", plots::lines("throughput by outcome (ops/s)", "ops/s", &series, &r.shades, t_end));
    if let Some(tl) = rec.map(|r| &r.timeline) {
        let rows: Vec<(String, Vec<[u32; 3]>)> = tl.series.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let _ = write!(b, "<figure>{}</figure>", plots::heatmap(&rows, tl.bucket_s, &r.shades));
    }
    let clocks = clock_offsets(r.history);
    if !clocks.is_empty() {
        let _ = write!(
            b,
            "<figure>{}</figure>",
            plots::lines("clock offset from the control node (ms), as measured by the nemesis", "ms", &clocks, &r.shades, t_end)
        );
    }

    b += &r.system;

    // anomalies
    b += &r.findings;
    for (name, why) in &results.checks.unknown {
        let _ = write!(b, "<p class=\"err\">{}: unknown: {}</p>", esc(name), esc(why));
    }

    // settings
    let _ = write!(
        b,
        "<h2 id=\"settings\">Settings</h2><p>Reproduce: <code>{}</code></p><p>System {} · seed {} · started {} · faultline {}</p><details><summary>test.json</summary><pre>{}</pre></details>",
        esc(&reproduce(test)),
        esc(&match &test.sut_version {
            Some(v) => format!("{} ({v})", test.db),
            None => test.db.clone(),
        }),
        test.seed,
        esc(&test.started_at),
        esc(&test.faultline_version),
        esc(&serde_json::to_string_pretty(test).unwrap_or_default())
    );
    if let Some(st) = &results.facts.startup {
        b += "<h3 id=\"startup\">Start-up</h3><table><thead><tr><th>node</th><th>start to ready, s</th></tr></thead><tbody>";
        for (node, took) in &st.nodes {
            let _ = write!(b, "<tr><td>{}</td><td>{}</td></tr>", esc(node), took.map(|t| format!("{t:.2}")).unwrap_or_else(|| "never ready".into()));
        }
        let _ = write!(
            b,
            "<tr><td><b>cluster</b></td><td>{}</td></tr></tbody></table>",
            st.cluster.map(|t| format!("{t:.2}")).unwrap_or_else(|| "never ready".into())
        );
        for (what, why) in &st.not_ready {
            let _ = write!(b, "<p class=\"err\">{} not ready: {}</p>", esc(what), esc(why));
        }
    }
    b += &phases_table(results);

    // timeline
    let (shown, was_sampled) = sample(ops, TIMELINE_CAP, |d| d.outcome != 0);
    let data: Vec<Value> = shown.iter().map(|d| json!([d.t, d.end, d.process, d.node, d.f, d.value, d.outcome, d.error])).collect();
    b += "<h2 id=\"timeline\">Operations</h2>";
    if was_sampled {
        let _ = write!(b, "<p class=\"note\">Showing a sample of {} ops, fails and infos first.</p>", data.len());
    }
    b += TIMELINE_HTML;
    b += &json_script("ops", &Value::Array(data));

    // logs
    if !r.logs.is_empty() {
        b += "<h2 id=\"logs\">Node logs</h2>";
        for l in &r.logs {
            let _ = write!(b, "<h3>{} <a href=\"{}\">{}</a></h3>", esc(&l.node), esc(&l.link), esc(&l.link));
            for (label, lines) in &l.windows {
                let _ = write!(b, "<details><summary>{} ({} lines)</summary><pre>{}</pre></details>", esc(label), lines.len(), esc(&lines.join("\n")));
            }
        }
    }
    page(&format!("faultline: {name}"), &b, TIMELINE_JS)
}

const TIMELINE_HTML: &str = r#"<div class="filters">node <select id="fnode"><option value="">all</option></select>
 op <select id="ff"><option value="">all</option></select>
 outcome <select id="fout"><option value="">all</option><option value="0">ok</option><option value="1">fail</option><option value="2">info</option></select>
 <button id="prev">&lt;</button> <span id="page"></span> <button id="next">&gt;</button></div>
<canvas id="lanes" width="960" height="200"></canvas>
<table id="optable"><thead><tr><th>invoke s</th><th>ms</th><th>process</th><th>node</th><th>f</th><th>value</th><th>outcome</th><th>error</th></tr></thead><tbody></tbody></table>"#;

const TIMELINE_JS: &str = r#"
(function(){
  var el = document.getElementById('ops'); if (!el) return;
  var ops = JSON.parse(el.textContent), PAGE = 200, page = 0, rows = ops;
  var names = ['ok','fail','info'], colors = ['#2a9d4a','#d63a3a','#e09a10'];
  function fill(id, vals){ var s = document.getElementById(id); vals.forEach(function(v){ var o = document.createElement('option'); o.value = v; o.textContent = v; s.appendChild(o); }); }
  fill('fnode', Array.from(new Set(ops.map(function(o){return o[3];}))).sort());
  fill('ff', Array.from(new Set(ops.map(function(o){return o[4];}))).sort());
  function apply(){
    var n = document.getElementById('fnode').value, f = document.getElementById('ff').value, out = document.getElementById('fout').value;
    rows = ops.filter(function(o){ return (!n || o[3] === n) && (!f || o[4] === f) && (out === '' || String(o[6]) === out); });
    page = 0; draw();
  }
  function draw(){
    var pages = Math.max(1, Math.ceil(rows.length / PAGE)); page = Math.min(page, pages - 1);
    document.getElementById('page').textContent = 'page ' + (page + 1) + ' / ' + pages + ' (' + rows.length + ' ops)';
    var slice = rows.slice(page * PAGE, (page + 1) * PAGE), tb = document.querySelector('#optable tbody');
    tb.textContent = '';
    slice.forEach(function(o){
      var tr = document.createElement('tr');
      [o[0].toFixed(3), ((o[1]-o[0])*1000).toFixed(1), o[2], o[3], o[4], o[5], names[o[6]], o[7]].forEach(function(v){ var td = document.createElement('td'); td.textContent = String(v); tr.appendChild(td); });
      tr.className = names[o[6]]; tb.appendChild(tr);
    });
    var c = document.getElementById('lanes'), g = c.getContext('2d'); g.clearRect(0,0,c.width,c.height);
    if (!slice.length) return;
    var t0 = Math.min.apply(null, slice.map(function(o){return o[0];})), t1 = Math.max.apply(null, slice.map(function(o){return o[1];}));
    var procs = Array.from(new Set(slice.map(function(o){return o[2];}))).sort(function(a,b){return a-b;});
    var lh = Math.max(3, Math.min(18, (c.height - 10) / procs.length));
    slice.forEach(function(o){
      var x = 40 + (o[0]-t0)/(t1-t0||1)*(c.width-50), w = Math.max(1, (o[1]-o[0])/(t1-t0||1)*(c.width-50));
      var y = 5 + procs.indexOf(o[2]) * lh; g.fillStyle = colors[o[6]]; g.fillRect(x, y, w, lh - 2);
    });
    g.fillStyle = '#333'; g.font = '10px sans-serif';
    procs.forEach(function(p, i){ g.fillText('p' + p, 2, 5 + i * lh + lh - 3); });
  }
  ['fnode','ff','fout'].forEach(function(id){ document.getElementById(id).addEventListener('change', apply); });
  document.getElementById('prev').addEventListener('click', function(){ if (page > 0) { page--; draw(); } });
  document.getElementById('next').addEventListener('click', function(){ page++; draw(); });
  apply();
})();
"#;

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
