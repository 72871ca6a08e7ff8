//! Writing a run's report.html and the store's index.html.

use super::store::runs;
use checker::trends::{aggregate, RunSummary, Trends};
use history::History;
use reports::{render_index, render_run, IndexRow, LogExcerpt, RunReport, Shade};
use results::{RunResults, TestRecord};
use std::path::Path;
use std::path::PathBuf;

fn shades(r: &RunResults, t_end: f64, catalog: &nuclei::Catalog) -> Vec<Shade> {
    let color = |fault: &str| catalog.package(fault).map(|p| p.color).unwrap_or("#cccccc").to_string();
    let windows = r.checks.recovery.iter().flat_map(|rec| &rec.windows);
    windows.map(|w| Shade { start: w.start_s, end: w.healed_at_s.unwrap_or(t_end), color: color(&w.fault), label: w.fault.clone() }).collect()
}

/// The wall-clock instant (Unix ns) of a log line, from an RFC 3339 `"ts"`
/// field (etcd's JSON logs) or a leading timestamp.
fn line_time(line: &str) -> Option<i64> {
    let start = line.find("\"ts\":\"").map(|i| i + 6).or_else(|| line.find(|c: char| c.is_ascii_digit()))?;
    let rest = &line[start..];
    let end = rest.find(['"', ' ']).unwrap_or(rest.len());
    chrono::DateTime::parse_from_rfc3339(&rest[..end]).ok().and_then(|t| t.timestamp_nanos_opt())
}

fn excerpts(dir: &Path, h: &History, shades: &[Shade]) -> Vec<LogExcerpt> {
    let start_ns = h.header.as_ref().map(|hd| hd.start_unix_ns).unwrap_or(0);
    let mut out = Vec::new();
    let Ok(nodes) = std::fs::read_dir(dir.join("nodes")) else { return out };
    let mut nodes: Vec<_> = nodes.flatten().collect();
    nodes.sort_by_key(|e| e.file_name());
    for n in nodes {
        let Ok(files) = std::fs::read_dir(n.path()) else { continue };
        for f in files.flatten() {
            let text = std::fs::read_to_string(f.path()).unwrap_or_default();
            let windows = shades
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let lo = start_ns + ((s.start - 1.0) * 1e9) as i64;
                    let hi = start_ns + ((s.end + 5.0) * 1e9) as i64;
                    let lines: Vec<String> = text.lines().filter(|l| line_time(l).is_some_and(|t| t >= lo && t <= hi)).take(40).map(str::to_string).collect();
                    (format!("window {i}: {} {:.1}-{:.1} s", s.label, s.start, s.end), lines)
                })
                .collect();
            let link = format!("nodes/{}/{}", n.file_name().to_string_lossy(), f.file_name().to_string_lossy());
            out.push(LogExcerpt { node: n.file_name().to_string_lossy().into_owned(), link, windows });
        }
    }
    out
}

/// The system's own section of the report, if it has one.
fn own_section(test: &TestRecord, results: &RunResults, h: &History, shades: &[Shade], t_end: f64) -> String {
    let Ok(cfg) = serde_json::from_value::<super::options::RunConfig>(test.options.clone()) else { return String::new() };
    let Some(db) = cfg.built_in() else { return String::new() };
    let Some(own) = db.as_own() else { return String::new() };
    let slos = checker::slo::Slos::parse(&cfg.slo).unwrap_or_default();
    let view = systems::RunView { history: h, facts: &results.facts, slos: &slos, log_of_key: &workloads::log_of_key };
    own.report(&view, &results.checks, shades, t_end)
}

/// Writes `report.html` into the run directory.
pub fn write_report(dir: &Path, test: &TestRecord, results: &RunResults, h: &History) -> Result<(), crate::StoreError> {
    let t_end = h.ops.last().map(|o| o.time as f64 / 1e9).unwrap_or(0.0);
    let cfg = serde_json::from_value::<super::options::RunConfig>(test.options.clone()).ok();
    let catalog = cfg.and_then(|c| c.catalog().ok()).unwrap_or_default();
    let shades = shades(results, t_end, &catalog);
    let logs = excerpts(dir, h, &shades);
    let findings = workloads::by_name(&test.workload).map(|w| w.findings(&results.checks, h)).unwrap_or_default();
    let system = own_section(test, results, h, &shades, t_end);
    let html = render_run(&RunReport { test, results, history: h, shades, logs, findings, system });
    std::fs::write(dir.join("report.html"), html).map_err(|e| crate::StoreError(format!("report.html: {e}")))
}

/// Writes `STORE/index.html` listing every run.
pub fn write_index(store: &Path) -> Result<usize, crate::StoreError> {
    let mut rows = Vec::new();
    for run in runs(store) {
        let Ok(test) = results::read::<TestRecord>(&run.join("test.json")) else { continue };
        // a run still going (or killed before its analysis) has no results yet
        let r: Option<RunResults> = results::read(&run.join("results.json")).ok();
        let rel = run.strip_prefix(store).unwrap_or(&run);
        rows.push(IndexRow {
            date: test.started_at.clone(),
            name: test.name.clone(),
            // the version that ran, so that runs compare like with like
            db: match &test.sut_version {
                Some(v) => format!("{} ({v})", test.db),
                None => test.db.clone(),
            },
            workload: test.workload.clone(),
            faults: test.nemesis.join(","),
            verdict: r.as_ref().map(|r| r.valid.as_str()).unwrap_or("unknown").to_string(),
            worst_recovery_s: r.as_ref().and_then(|r| r.checks.recovery.as_ref()).and_then(|rec| rec.worst_s),
            ops: r.as_ref().and_then(|r| r.stats.as_ref()).map(|s| s.invocations as u64).unwrap_or(0),
            link: format!("{}/report.html", rel.display()),
        });
    }
    rows.sort_by(|a, b| a.date.cmp(&b.date));
    std::fs::write(store.join("index.html"), render_index(&rows)).map_err(|e| format!("{}: {e}", store.join("index.html").display()))?;
    Ok(rows.len())
}

/// How a stored run counts across runs (`None`: not a run).
pub fn summary_of(run: &Path) -> Option<RunSummary> {
    use checker::trends::Outcome;
    use checker::Verdict;
    let name = run.display().to_string();
    // STORE/NAME/RUN: the store is the shard
    let shard = run.parent().and_then(Path::parent).map(|s| s.display().to_string()).unwrap_or_default();
    let Ok(r) = results::read::<RunResults>(&run.join("results.json")) else {
        // a run that started (test.json) and never wrote its results: the
        // tester was killed
        return run.join("test.json").is_file().then(|| RunSummary { run: name, shard, outcome: Outcome::Interrupted, recoveries: Vec::new() });
    };
    let recoveries = r.checks.recovery.iter().flat_map(|rec| &rec.recoveries).map(|x| (x.service.clone(), x.recovered_s)).collect();
    let outcome = if r.facts.infrastructure_error.is_some() || r.facts.refused.is_some() {
        Outcome::Infrastructure
    } else if r.valid == Verdict::Invalid {
        // a violation found before an interruption is still a violation
        Outcome::Violated
    } else if r.facts.interrupted {
        Outcome::Interrupted
    } else if r.valid == Verdict::Unknown {
        Outcome::Undecided
    } else {
        Outcome::Passed
    };
    Some(RunSummary { run: name, shard, outcome, recoveries })
}

/// The rate the trends say how far they are from ruling out.
pub const RULE_OUT_RATE: f64 = 0.05;

/// Human lines for an aggregate.
pub fn trends_text(t: &Trends) -> String {
    let mut s = format!(
        "{} runs: {} violating an SLO or a check, {} passed, {} undecided; {} infrastructure failures and {} interrupted, not counted\n\
         violation rate {:.1}% (95% Wilson interval {:.1}%..{:.1}%); {}\n",
        t.runs,
        t.violations,
        t.passed,
        t.undecided,
        t.infrastructure,
        t.interrupted,
        t.violation_rate * 100.0,
        t.violation_ci95.0 * 100.0,
        t.violation_ci95.1 * 100.0,
        checker::trends::rule_out_text(t, RULE_OUT_RATE)
    );
    for (shard, c) in &t.shards {
        s += &format!("  shard {shard}: {} runs, {} violating\n", c.runs, c.violations);
    }
    if let Some(q) = &t.sequential {
        s += &q.text();
        s.push('\n');
    }
    for (svc, d) in &t.services {
        s += &format!(
            "  {svc}: recovery p50 {:.2} s, p95 {:.2} s, p99 {:.2} s, max {:.2} s over {} windows; never recovered: {}\n",
            d.p50, d.p95, d.p99, d.max, d.count, d.not_recovered
        );
    }
    s
}

/// Aggregates `dirs` (runs) into `out/trends.json` and `out/trends.xml`;
/// returns the text summary.
pub fn write_trends(out: &Path, dirs: &[PathBuf]) -> Result<String, crate::StoreError> {
    write_trends_with(out, dirs, None)
}

/// [`write_trends`] with a sequential test's decision.
pub fn write_trends_with(out: &Path, dirs: &[PathBuf], sequential: Option<checker::sprt::Sprt>) -> Result<String, crate::StoreError> {
    let summaries: Vec<RunSummary> = dirs.iter().filter_map(|d| summary_of(d)).collect();
    let t = Trends { sequential, ..aggregate(&summaries) };
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    results::write(&out.join("trends.json"), &t).map_err(|e| e.to_string())?;
    let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "runs".into());
    std::fs::write(out.join("trends.xml"), super::junit::trends_junit(&name, &t)).map_err(|e| format!("trends.xml: {e}"))?;
    Ok(trends_text(&t))
}

/// The runs under a store, optionally only those named `name`.
pub fn store_runs(store: &Path, name: Option<&str>) -> Vec<PathBuf> {
    runs(store).into_iter().filter(|r| name.is_none_or(|n| r.parent().and_then(|p| p.file_name()).is_some_and(|f| f == n))).collect()
}
