//! `faultline shrink RUN_DIR`: from a failing run to the smallest fault
//! plan that still fails the same way. The run's own options, seed and
//! fault schedule are replayed with fewer windows (delta debugging), then
//! shorter windows and gaps, then a shorter run; each candidate `K` times,
//! kept if it fails at least once. The final plan's failure rate is
//! measured with its Wilson interval; every step and candidate is written
//! to `shrink.json` and `shrink.html`, the plan to `plan.json` with the
//! command that reproduces it.

use crate::exit;
use nuclei::shrink::{ddmin, plan, shorter, windows, Window};
use nuclei::Step;
use results::{RunFacts, RunResults, TestRecord, Verdict};
use runner::options::RunConfig;
use serde::Serialize;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Shrink a failing run's fault schedule.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The failing run's directory.
    run_dir: PathBuf,
    /// Replays of each candidate (kept if one of them fails the same way).
    #[arg(long, default_value_t = 2)]
    runs_per_candidate: usize,
    /// Stop trying candidates after this long (90s, 30m, 2h): the best plan so far stands.
    #[arg(long, default_value = "30m")]
    budget: String,
    /// Replays of the final plan, for its failure rate.
    #[arg(long, default_value_t = 10)]
    final_runs: usize,
    /// Only this failure must be kept (as `shrink.json`'s `failure` names
    /// them: `set`, `recovery:client`, `txn:G2-item`) [default: all of the run's].
    #[arg(long)]
    failure: Option<String>,
    /// Where the shrink's runs and report go [default: RUN_DIR/shrink].
    #[arg(long)]
    out: Option<PathBuf>,
}

/// The error that ends a shrink a Ctrl-C interrupted.
const INTERRUPTED: &str = "interrupted";

/// One candidate tried.
#[derive(Debug, Serialize)]
pub(super) struct Candidate {
    pub(super) phase: &'static str,
    pub(super) windows: usize,
    pub(super) time_limit_s: f64,
    /// Each replay's failures.
    pub(super) outcomes: Vec<Vec<String>>,
    pub(super) kept: bool,
}

/// The shrink's record.
#[derive(Debug, Serialize)]
pub(super) struct Record {
    pub(super) run: PathBuf,
    pub(super) failure: BTreeSet<String>,
    pub(super) windows_before: usize,
    pub(super) windows_after: usize,
    pub(super) candidates: Vec<Candidate>,
    pub(super) budget_exhausted: bool,
    /// Interrupted (Ctrl-C): the plan is the best found before it, its
    /// failure rate not measured.
    pub(super) interrupted: bool,
    pub(super) final_runs: usize,
    pub(super) final_failures: usize,
    pub(super) final_rate_ci95: (f64, f64),
    pub(super) plan: Vec<Step>,
    pub(super) command: String,
}

/// What a run failed: each failing check, recovery per service, the
/// transactional check per anomaly its model forbids.
pub fn failures(r: &RunResults) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (name, v) in r.checks.verdicts() {
        if v != Verdict::Invalid {
            continue;
        }
        let txn = || r.checks.outcome::<checker::txn::TxnResult>("txn").and_then(Result::ok);
        match (name, &r.checks.recovery) {
            ("recovery", Some(rec)) => out.extend(rec.recoveries.iter().filter(|x| !x.pass).map(|x| format!("recovery:{}", x.service))),
            ("txn", _) if txn().is_some() => {
                let Some(t) = txn() else { continue };
                let model = checker::txn::Consistency::parse(&t.consistency);
                out.extend(t.anomalies.keys().filter(|a| model.is_some_and(|m| m.forbids(a))).map(|a| format!("txn:{a}")));
            }
            _ => {
                out.insert(name.to_string());
            }
        }
    }
    out
}

pub(super) fn parse_budget(s: &str) -> Result<Duration, String> {
    let (n, unit) = s.trim().split_at(s.trim().find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(s.trim().len()));
    let n: f64 = n.parse().map_err(|_| format!("--budget {s:?}: expected a number and s, m or h (90s, 30m)"))?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("--budget {s:?}: the unit is s, m or h")),
    };
    Ok(Duration::from_secs_f64(secs))
}

/// Reads what the run recorded: its options (seed included), its schedule
/// and what it failed.
fn load(dir: &Path) -> Result<(RunConfig, Vec<Step>, BTreeSet<String>), String> {
    let test: TestRecord = results::read(&dir.join("test.json")).map_err(|e| e.to_string())?;
    let facts: RunFacts = results::read(&dir.join("run.json")).map_err(|e| e.to_string())?;
    let r: RunResults = results::read(&dir.join("results.json")).map_err(|e| e.to_string())?;
    let mut cfg: RunConfig = serde_json::from_value(test.options).map_err(|e| format!("{}: options: {e}", dir.join("test.json").display()))?;
    cfg.seed = Some(test.seed);
    let steps: Vec<Step> = facts
        .schedule
        .into_iter()
        .map(serde_json::from_value)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: schedule: {e}", dir.join("run.json").display()))?;
    Ok((cfg, steps, failures(&r)))
}

/// Runs `faultline shrink`; returns the exit code.
pub fn run(a: Args) -> i32 {
    match shrink(&a) {
        Ok((code, _)) => code,
        Err(e) => {
            eprintln!("shrink: {e}");
            exit::BAD_INPUT
        }
    }
}

impl Args {
    /// A shrink of `run_dir` into `out` within `budget` (`90s`, `5m`), the
    /// final plan replayed `final_runs` times.
    pub(super) fn of(run_dir: &Path, out: &Path, budget: &str, final_runs: usize) -> Args {
        Args { run_dir: run_dir.to_path_buf(), runs_per_candidate: 2, budget: budget.into(), final_runs, failure: None, out: Some(out.to_path_buf()) }
    }
}

/// Shrinks as `a` says; the exit code and the shrink's record.
pub(super) fn shrink(a: &Args) -> Result<(i32, Record), String> {
    let budget = parse_budget(&a.budget)?;
    let (base, steps, failed) = load(&a.run_dir)?;
    let catalog = base.catalog()?;
    let want: BTreeSet<String> = match &a.failure {
        Some(f) if failed.contains(f) => BTreeSet::from([f.clone()]),
        Some(f) => return Err(format!("the run did not fail {f:?} (it failed: {})", failed.iter().cloned().collect::<Vec<_>>().join(", "))),
        None => failed,
    };
    if want.is_empty() {
        return Err(format!("{} did not fail: nothing to shrink", a.run_dir.display()));
    }
    let out = a.out.clone().unwrap_or_else(|| a.run_dir.join("shrink"));
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let started = Instant::now();
    let mut rec = Record {
        run: a.run_dir.clone(),
        failure: want.clone(),
        windows_before: windows(&steps, &catalog).len(),
        windows_after: 0,
        candidates: Vec::new(),
        budget_exhausted: false,
        interrupted: false,
        final_runs: 0,
        final_failures: 0,
        final_rate_ci95: (0.0, 1.0),
        plan: Vec::new(),
        command: String::new(),
    };
    let mut n = 0usize;
    // replays `ws` in a run of `limit` seconds: the failures of each replay
    let mut replay = |ws: &[Window], limit: f64, times: usize| -> Result<Vec<BTreeSet<String>>, String> {
        n += 1;
        let file = out.join(format!("candidate-{n}.json"));
        std::fs::write(&file, serde_json::to_string_pretty(&plan(ws, &catalog)).unwrap_or_default()).map_err(|e| format!("{}: {e}", file.display()))?;
        let cfg = RunConfig { fault_plan: Some(file), time_limit: limit, store: out.join("store"), name: Some("candidate".into()), ..base.clone() };
        let mut got = Vec::new();
        for _ in 0..times {
            // an interrupted replay says nothing about the candidate: it is not counted
            if runner::cancelled() {
                return Err(INTERRUPTED.into());
            }
            let (_, dir) = runner::run_once(&cfg, None);
            if runner::cancelled() {
                return Err(INTERRUPTED.into());
            }
            let r: Option<RunResults> = dir.and_then(|d| results::read(&d.join("results.json")).ok());
            got.push(r.map(|r| failures(&r)).unwrap_or_default());
        }
        Ok(got)
    };
    let mut try_candidate = |phase: &'static str, ws: &[Window], limit: f64, rec: &mut Record| -> Result<bool, String> {
        if started.elapsed() > budget {
            rec.budget_exhausted = true;
            return Ok(false);
        }
        let mut outcomes = Vec::new();
        let mut kept = false;
        for _ in 0..a.runs_per_candidate.max(1) {
            let f = replay(ws, limit, 1)?.remove(0);
            kept = want.is_subset(&f);
            outcomes.push(f.into_iter().collect());
            if kept {
                break;
            }
        }
        rec.candidates.push(Candidate { phase, windows: ws.len(), time_limit_s: limit, outcomes, kept });
        Ok(kept)
    };
    let limit = base.time_limit;
    // 1. fewer windows
    let all = windows(&steps, &catalog);
    let mut err = None;
    let mut best = ddmin(&all, |c| {
        try_candidate("windows", c, limit, &mut rec).unwrap_or_else(|e| {
            err.get_or_insert(e);
            false
        })
    });
    let mut final_limit = limit;
    let phases = || -> Result<(), String> {
        if let Some(e) = err {
            return Err(e);
        }
        // 2. shorter windows and gaps, the first shorter candidate that fails each time
        'shorter: while !rec.budget_exhausted {
            for c in shorter(&best, 250) {
                if try_candidate("shorter", &c, limit, &mut rec)? {
                    best = c;
                    continue 'shorter;
                }
            }
            break;
        }
        // 3. a shorter run: up to a second after the last window closes
        let end_ms = best.iter().map(|w| w.at_ms + w.length_ms.unwrap_or(0)).max().unwrap_or(0);
        let short = ((end_ms + 1000) as f64 / 1e3).min(limit);
        if short < limit && try_candidate("run length", &best, short, &mut rec)? {
            final_limit = short;
        }
        Ok(())
    };
    // the final plan's failure rate
    let done = phases().and_then(|()| replay(&best, final_limit, a.final_runs));
    match done.map(|finals| {
        rec.final_runs = finals.len();
        rec.final_failures = finals.iter().filter(|f| want.is_subset(f)).count();
        rec.final_rate_ci95 = checker::trends::wilson(rec.final_failures, rec.final_runs);
    }) {
        Ok(()) => {}
        // what was kept so far still failed: it is written, marked interrupted
        Err(e) if e == INTERRUPTED => rec.interrupted = true,
        Err(e) => return Err(e),
    }
    rec.windows_after = best.len();
    rec.plan = plan(&best, &catalog);
    let plan_file = out.join("plan.json");
    std::fs::write(&plan_file, serde_json::to_string_pretty(&rec.plan).unwrap_or_default()).map_err(|e| format!("{}: {e}", plan_file.display()))?;
    rec.command = reproduce(&base, &plan_file, final_limit);
    super::shrink_report::write(&out, &rec)?;
    println!(
        "shrink: {} windows -> {} ({} candidates{}); the final plan failed {} of {} replays ({:.0}%, 95% interval {:.0}%..{:.0}%)\n  {}\n  {}",
        rec.windows_before,
        rec.windows_after,
        rec.candidates.len(),
        if rec.budget_exhausted { ", budget exhausted" } else { "" },
        rec.final_failures,
        rec.final_runs,
        100.0 * rec.final_failures as f64 / rec.final_runs.max(1) as f64,
        rec.final_rate_ci95.0 * 100.0,
        rec.final_rate_ci95.1 * 100.0,
        plan_file.display(),
        rec.command
    );
    if rec.interrupted {
        eprintln!("shrink: interrupted: the plan is the smallest that failed before it; its failure rate was not measured");
        return Ok((exit::UNKNOWN, rec));
    }
    Ok((if rec.final_failures > 0 { exit::INVALID } else { exit::UNKNOWN }, rec))
}

/// The command line that replays the final plan: every option the run was
/// given that a flag can say, each word quoted for the shell.
fn reproduce(cfg: &RunConfig, plan: &Path, limit: f64) -> String {
    let mut w: Vec<String> = vec!["faultline".into(), "run".into()];
    let mut flag = |f: &str, v: String| w.extend([f.to_string(), v]);
    // a scenario brings its own SLOs and start-up plan: only the SLOs added on top are flags
    let from_scenario = cfg.scenario.as_deref().and_then(|n| runner::scenario::load(n).ok()).map(|(sc, _)| sc.run.slo).unwrap_or_default();
    if let Some(sc) = &cfg.scenario {
        flag("--scenario", sc.clone());
    }
    match &cfg.system {
        Some(s) => flag("--system", s.display().to_string()),
        None => flag("--db", cfg.db.clone()),
    }
    flag("--workload", cfg.workload.clone());
    if cfg.consistency != RunConfig::default().consistency {
        flag("--consistency", cfg.consistency.clone());
    }
    flag("--fault-plan", plan.display().to_string());
    flag("--time-limit", limit.to_string());
    if let Some(v) = &cfg.version {
        flag("--version", v.clone());
    }
    for (f, vs) in [("--binary", &cfg.binaries), ("--bug", &cfg.bugs), ("--client-env", &cfg.client_env)] {
        for v in vs {
            flag(f, v.clone());
        }
    }
    for v in cfg.slo.iter().skip(from_scenario.len().min(cfg.slo.len())) {
        flag("--slo", v.clone());
    }
    if let Some(n) = &cfg.nodes_file {
        flag("--nodes-file", n.display().to_string());
    }
    if let Some(s) = cfg.seed {
        flag("--seed", s.to_string());
    }
    flag("--concurrency", cfg.concurrency.to_string());
    for (f, v) in [("--rate", cfg.rate), ("--op-timeout", cfg.op_timeout), ("--recovery-window", cfg.recovery_window), ("--ready-timeout", cfg.ready_timeout)] {
        flag(f, v.to_string());
    }
    if cfg.serializable {
        w.push("--serializable".into());
    }
    w.iter().map(|x| control::quote(x)).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::run::RunArgs;

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        run: RunArgs,
    }

    #[test]
    fn the_reproducing_command_keeps_every_option_and_quotes_paths() {
        let cfg = RunConfig {
            system: Some("/srv/my systems/kv's/system.toml".into()),
            workload: "list-append".into(),
            consistency: "snapshot-isolation".into(),
            slo: vec!["recovery=20s".into(), "availability=0.9".into()],
            concurrency: 7,
            binaries: vec!["restate-server=/opt/my build/restate".into()],
            client_env: vec!["A=b c".into()],
            bugs: vec!["stale-read".into()],
            seed: Some(42),
            serializable: true,
            ..RunConfig::default()
        };
        let cmd = reproduce(&cfg, Path::new("/tmp/shrink out/plan.json"), 12.5);
        let words = shell_words::split(&cmd).unwrap_or_else(|e| panic!("{e}: {cmd}"));
        assert_eq!(words[..2], ["faultline", "run"], "{cmd}");
        let a = <Cli as clap::Parser>::try_parse_from(std::iter::once("run".to_string()).chain(words[2..].iter().cloned()))
            .unwrap_or_else(|e| panic!("{e}: {cmd}"))
            .run;
        assert_eq!(a.system, cfg.system);
        assert_eq!(a.fault_plan.as_deref(), Some(Path::new("/tmp/shrink out/plan.json")));
        assert_eq!((a.workload, a.consistency), (Some(cfg.workload.clone()), Some(cfg.consistency.clone())));
        assert_eq!((a.slo, a.concurrency, a.time_limit, a.seed), (cfg.slo.clone(), Some(7), Some(12.5), Some(42)));
        assert_eq!((a.binaries, a.client_env, a.bugs, a.serializable), (cfg.binaries.clone(), cfg.client_env.clone(), cfg.bugs.clone(), true));
    }

    #[test]
    fn a_scenario_run_is_replayed_through_its_scenario_with_only_the_added_slos() {
        let (sc, _) = runner::scenario::load("restate-partition-heal").unwrap();
        let mut cfg = RunConfig { scenario: Some("restate-partition-heal".into()), ..sc.run.clone() };
        cfg.slo.push("availability=0.5".into());
        let words = shell_words::split(&reproduce(&cfg, Path::new("plan.json"), 30.0)).unwrap();
        let at = words.iter().position(|w| w == "--scenario").expect("the scenario is named");
        assert_eq!(words[at + 1], "restate-partition-heal");
        let slos: Vec<&String> = words.windows(2).filter(|p| p[0] == "--slo").map(|p| &p[1]).collect();
        assert_eq!(slos, ["availability=0.5"], "the scenario's own SLOs come from it, not twice");
    }
}
