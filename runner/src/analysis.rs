//! Checking a run directory: the same code after a run and for
//! `faultline analyze RUN_DIR` (offline, from the stored files only).
//!
//! Every check runs on its own: an error or a panic in one gives that check
//! `unknown` with the reason, and the results and the report are still
//! written. A fault window that the tester itself never closed (it was
//! killed) is `unknown`, not a failed recovery; anomalies in what was
//! recorded still make the run invalid.

use super::options::RunConfig;
use crate::exit;
use checker::recovery::{availability_outside, check_recovery, RecoveryResult};
use checker::slo::Slos;
use checker::Verdict;
use history::{History, OpType};
use results::{AppendLatency, Availability, Checks, RunFacts, RunResults, StartupCheck, Stats, TestRecord, RESULTS_VERSION};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::time::Instant;
use workloads::CheckContext;

/// Why an analysis could not even start.
#[derive(Debug)]
pub enum AnalysisError {
    /// test.json is missing or unreadable: not a run directory.
    NotARun(String),
    /// Writing results.json, the report or junit.xml failed.
    Write(String),
}

impl std::fmt::Display for AnalysisError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AnalysisError::NotARun(e) => write!(f, "not a run directory: {e}"),
            AnalysisError::Write(e) => write!(f, "writing the results: {e}"),
        }
    }
}

impl AnalysisError {
    /// The exit code for it (one table for every command).
    pub fn exit_code(&self) -> i32 {
        match self {
            AnalysisError::NotARun(_) => exit::BAD_INPUT,
            AnalysisError::Write(_) => exit::INFRA,
        }
    }
}

/// Only the ops of the workload (clients and final reads; no probes, no nemesis).
fn client_ops(h: &History) -> History {
    let mut out = History { header: h.header.clone(), ..History::default() };
    // a history built in memory has no lines: its ops still count
    for (i, op) in h.ops.iter().enumerate() {
        if op.is_workload() {
            out.ops.push(op.clone());
            out.lines.extend(h.lines.get(i));
        }
    }
    out
}

/// Runs one check; an error or a panic is recorded as `unknown` with the reason.
fn guarded<T, E: std::fmt::Display>(name: &str, unknown: &mut std::collections::BTreeMap<String, String>, f: impl FnOnce() -> Result<T, E>) -> Option<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(t)) => Some(t),
        Ok(Err(e)) => {
            unknown.insert(name.to_string(), e.to_string());
            None
        }
        Err(p) => {
            let msg = p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default();
            unknown.insert(name.to_string(), format!("the checker crashed: {msg}"));
            None
        }
    }
}

/// What the workload's checks are told of the run: its flags and SLOs
/// (also written in the history's header, so `check` judges alike).
pub(crate) fn check_context(cfg: &RunConfig, slos: &Slos) -> CheckContext {
    CheckContext {
        linearizable_reads: !cfg.serializable,
        slow_append_s: slos.append.unwrap_or(1.0).min(1.0),
        consistency: cfg.txn_consistency().unwrap_or(checker::txn::Consistency::Serializable),
    }
}

/// The checks of the workload, recovery and SLOs on a history.
fn run_checks(cfg: &RunConfig, facts: &RunFacts, h: &History, completed: bool) -> Checks {
    let clients = client_ops(h);
    let mut c = Checks::default();
    let slos = match Slos::parse(&cfg.slo) {
        Ok(s) => s,
        Err(e) => {
            c.unknown.insert("slos".into(), format!("test.json: {e}"));
            Slos::default()
        }
    };
    let mut unknown = std::mem::take(&mut c.unknown);
    // the workload's own checks, on its ops only
    let ctx = check_context(cfg, &slos);
    match workloads::by_name(&cfg.workload) {
        Some(w) => {
            guarded(w.name(), &mut unknown, || w.check(&clients, &ctx, &mut c).map_err(|e| e.in_file(Path::new("history.jsonl"))));
        }
        None => {
            unknown.insert("workload".into(), format!("test.json names an unknown workload {:?}", cfg.workload));
        }
    }
    let rec = guarded("recovery", &mut unknown, || {
        Ok::<_, std::convert::Infallible>(check_recovery(h, &slos.recovery_options(cfg.catalog().unwrap_or_default().window_kinds())))
    });
    if let Some(rec) = rec {
        if !completed {
            tester_stopped(&rec, h, &mut unknown);
        }
        if let Some(min) = slos.availability {
            let got = availability_outside(h, &rec.windows);
            c.availability = Some(Availability { valid: Verdict::of(got.is_some_and(|a| a >= min)), min, outside_windows: got });
        }
        let append = || c.outcome::<checker::logs::AppendResult>("append").and_then(Result::ok);
        if let (Some(limit), Some(a)) = (slos.append, append()) {
            let worst = checker::logs::slowest_outside(&a, h, &rec.windows);
            c.append_latency = Some(AppendLatency { valid: Verdict::of(worst <= limit), slo_s: limit, worst_s: worst });
        }
        c.recovery = Some(rec);
    }
    if let Some(limit) = slos.startup {
        let took = facts.startup.as_ref().and_then(|s| s.cluster);
        c.startup = Some(StartupCheck { valid: Verdict::of(took.is_some_and(|t| t <= limit)), slo_s: limit, cluster_s: took });
    }
    // the system's own checks, by name beside these
    if let Some(db) = cfg.built_in() {
        if let Some(own) = db.as_own() {
            let view = systems::RunView { history: h, facts, slos: &slos, log_of_key: &workloads::log_of_key };
            let name = format!("{} checks", db.name());
            let found = guarded(&name, &mut unknown, || own.checks(&view).map_err(|e| e.in_file(Path::new("history.jsonl"))));
            c.named.extend(found.into_iter().flatten());
        }
    }
    c.slos = Some(slos);
    c.unknown = unknown;
    c
}

/// A run whose tester died leaves windows it never closed: those are not
/// the system's failure. Recovery is then `unknown` (unless a window that
/// was closed failed its SLO), naming when the tester stopped.
fn tester_stopped(rec: &RecoveryResult, h: &History, unknown: &mut std::collections::BTreeMap<String, String>) {
    let open: Vec<String> = rec.windows.iter().filter(|w| w.healed_at_s.is_none()).map(|w| format!("{} at {:.1} s", w.fault, w.start_s)).collect();
    if open.is_empty() || rec.recoveries.iter().any(|r| !r.pass) {
        return;
    }
    let t = h.ops.last().map(|o| o.time as f64 / 1e9).unwrap_or(0.0);
    unknown.insert("recovery".into(), format!("the tester stopped at {t:.1} s without closing {} (not measured)", open.join(", ")));
}

/// The run's verdict from its checks: `unknown` entries count as unknown,
/// and a recovery made unknown replaces the recovery verdict.
fn verdict(c: &Checks) -> Verdict {
    let all = c.verdicts().into_iter().filter(|(name, _)| !(*name == "recovery" && c.unknown.contains_key("recovery"))).map(|(_, v)| v);
    Verdict::merge(all.chain(c.unknown.keys().map(|_| Verdict::Unknown)))
}

fn stats(h: &History, check_s: f64) -> Stats {
    let clients = h.ops.iter().filter(|o| o.is_workload());
    let mut s = Stats { duration_s: h.ops.last().map(|o| o.time as f64 / 1e9).unwrap_or(0.0), check_s, truncated_line: h.truncated_line, ..Stats::default() };
    for o in clients {
        match o.kind {
            OpType::Invoke => s.invocations += 1,
            OpType::Ok => s.ok += 1,
            OpType::Fail => s.fail += 1,
            OpType::Info => s.info += 1,
        }
    }
    s
}

/// Checks the run in `dir` and writes `results.json`, the report and
/// junit.xml; the results.
pub fn analyze(dir: &Path) -> Result<RunResults, AnalysisError> {
    let test: TestRecord = results::read(&dir.join("test.json")).map_err(|e| AnalysisError::NotARun(e.to_string()))?;
    let cfg: RunConfig = serde_json::from_value(test.options.clone()).map_err(|e| AnalysisError::NotARun(format!("test.json options: {e}")))?;
    // a run killed before it wrote run.json: the tester stopped
    let (facts, completed) = match results::read::<RunFacts>(&dir.join("run.json")) {
        Ok(f) => (f, true),
        Err(_) => (RunFacts::default(), false),
    };
    let mut r = RunResults { version: RESULTS_VERSION, facts: facts.clone(), ..RunResults::default() };
    let history_path = dir.join("history.jsonl");
    let mut history = History::default();
    if history_path.exists() {
        let started = Instant::now();
        match history::load(&history_path, Some(history::Format::Jsonl)) {
            Ok((_, h)) => {
                r.checks = run_checks(&cfg, &facts, &h, completed);
                r.stats = Some(stats(&h, started.elapsed().as_secs_f64()));
                history = h;
            }
            Err(e) => {
                r.checks.unknown.insert("history".into(), e.to_string());
            }
        }
    }
    let v = verdict(&r.checks);
    (r.valid, r.exit_code, r.summary) = if let Some(e) = &facts.refused {
        (Verdict::Unknown, exit::BAD_INPUT, format!("refused: {e}"))
    } else if let Some(e) = &facts.infrastructure_error {
        (Verdict::Unknown, exit::INFRA, format!("infrastructure failure: {e}"))
    } else if !history_path.exists() {
        (Verdict::Unknown, exit::UNKNOWN, "no history".to_string())
    } else if v != Verdict::Invalid && !completed {
        (Verdict::Unknown, exit::INFRA, format!("the tester stopped before the run ended; {}", summarize(&r.checks)))
    } else {
        (v, v.exit_code(), summarize(&r.checks))
    };
    results::write(&dir.join("results.json"), &r).map_err(|e| AnalysisError::Write(e.to_string()))?;
    super::report::write_report(dir, &test, &r, &history).map_err(|e| AnalysisError::Write(e.0))?;
    let junit = super::junit::run_junit(&test, &r);
    std::fs::write(dir.join("junit.xml"), junit).map_err(|e| AnalysisError::Write(format!("junit.xml: {e}")))?;
    Ok(r)
}

/// One line: each check's verdict, and recovery's figures.
pub fn summarize(c: &Checks) -> String {
    let mut parts = Vec::new();
    for (name, v) in c.verdicts() {
        if name == "recovery" {
            continue;
        }
        parts.push(format!("{name}: {}", v.as_str()));
    }
    for (name, why) in &c.unknown {
        parts.push(format!("{name}: unknown ({why})"));
    }
    if let Some(rec) = &c.recovery {
        let n = rec.recoveries.len();
        let failed = rec.recoveries.iter().filter(|x| !x.pass).count();
        parts.push(format!("recovery: {} of {n} node-service windows within SLO, worst {:.2} s", n - failed, rec.worst_s.unwrap_or(0.0)));
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workloads_ops_are_kept_with_or_without_their_lines() {
        let mut h = checker::synth::compact("0 invoke write 1\n0 ok write 1\n1 invoke read\n1 ok read 1");
        h.ops[1].role = history::Role::Probe;
        for lines in [vec![], vec![2, 3, 4, 5]] {
            let h = History { lines: lines.clone(), ..h.clone() };
            let c = client_ops(&h);
            assert_eq!(c.ops.len(), 3, "lines {lines:?}");
            assert_eq!(c.lines, if lines.is_empty() { vec![] } else { vec![2, 4, 5] });
        }
    }
}
