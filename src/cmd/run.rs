//! `faultline run`: its flags, turned into the runner's [`RunConfig`], and
//! `--repeat` / `--until-confident` around the runner's single run.

use runner::exit;
use runner::options::RunConfig;
use std::path::{Path, PathBuf};

/// Run a test against a cluster.
#[derive(clap::Args, Debug, Default, Clone)]
pub struct RunArgs {
    /// Read these options from a TOML file (flags given too override it).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// A named scenario (`faultline scenarios` lists them) or a scenario
    /// file: its options, fault plan and SLOs (flags given too override it).
    #[arg(long, conflicts_with = "config")]
    pub scenario: Option<String>,
    /// The system under test: etcd, restate, or memory (an in-process
    /// cluster, correct or with `--bug`s: no nodes needed) [default: etcd].
    #[arg(long)]
    pub db: Option<String>,
    /// A system described in a file (`systems/redis-sentinel/system.toml`)
    /// instead of a built-in one.
    #[arg(long, conflicts_with = "db")]
    pub system: Option<PathBuf>,
    /// The system's release to install from its registry (Restate: an npm
    /// version such as 1.7.12) instead of the one faultline pins.
    #[arg(long = "version", value_name = "VERSION")]
    pub sut_version: Option<String>,
    /// Your own build of the system, NAME=PATH (repeatable), uploaded to
    /// the nodes by checksum: restate-server=..., restatectl=..., etcd=...
    #[arg(long = "binary", value_name = "NAME=PATH")]
    pub binaries: Vec<String>,
    /// An extra argument for the system's server (repeatable; etcd,
    /// restate, a system file's `{{ db_args }}`): `--db-arg=--unsafe-no-fsync`.
    /// Recorded in test.json.
    #[arg(long = "db-arg", value_name = "ARG", allow_hyphen_values = true)]
    pub db_args: Vec<String>,
    /// Serve the system's data directories through faultline's page cache
    /// even when no fault needs it (to measure what it costs).
    #[arg(long)]
    pub page_cache: bool,
    /// Seconds data may be dirty in the page cache before it is written
    /// back to the disk beneath, as Linux's dirty_expire_centisecs
    /// [default: 30]; what a power loss keeps.
    #[arg(long, value_name = "SECS")]
    pub dirty_expire: Option<f64>,
    /// With lose-unsynced and --page-cache: names too (a file made,
    /// removed or renamed) are lost in a power loss until their directory
    /// is fsynced or 5 s pass (ext4's journal commit), as POSIX allows.
    #[arg(long)]
    pub unsynced_names: bool,
    /// Run a fault plan that takes the system's membership below a
    /// majority of the nodes (refused without it; recorded in test.json).
    #[arg(long)]
    pub allow_quorum_loss: bool,
    /// An environment variable for the system file's client, KEY=VALUE
    /// (repeatable): `FAULTLINE_ZK_SYNC=1`.
    #[arg(long = "client-env", value_name = "KEY=VALUE")]
    pub client_env: Vec<String>,
    /// The workload: register, set, append, list-append, rw-register, queue [default: register].
    #[arg(long)]
    pub workload: Option<String>,
    /// list-append, rw-register: the consistency model checked (read-committed,
    /// snapshot-isolation, serializable, strict-serializable, ...)
    /// [default: serializable].
    #[arg(long)]
    pub consistency: Option<String>,
    /// Faults, comma-separated: partition, kill, pause, loss, slow, clock,
    /// lose-unsynced (a power loss of the data not yet fsynced, then a
    /// restart), corrupt (bitflip or truncate a data file on a minority,
    /// then a start), power-cut (nodes with a power switch: cut, then
    /// booted and the system started), or the system's own [default:
    /// partition,kill]; `none` for no faults.
    #[arg(long)]
    pub nemesis: Option<String>,
    /// Seconds of workload with faults [default: 60].
    #[arg(long)]
    pub time_limit: Option<f64>,
    /// Client operations per second, all processes together [default: 100].
    #[arg(long)]
    pub rate: Option<f64>,
    /// Client processes [default: 6].
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// The cluster's nodes file [default: the local lab, brought up as needed].
    #[arg(long)]
    pub nodes_file: Option<PathBuf>,
    /// Seed of the run's RNG [default: random, recorded].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Seconds of normal load after the final heal [default: 20].
    #[arg(long)]
    pub recovery_window: Option<f64>,
    /// The run's name in the store [default: DB-WORKLOAD].
    #[arg(long)]
    pub name: Option<String>,
    /// Leave the SUT running after the run (faults are healed anyway).
    #[arg(long)]
    pub keep: bool,
    /// `--db memory` only: run on the real clock (by default an in-memory
    /// run goes on simulated time: it takes the time its work takes).
    #[arg(long)]
    pub real_time: bool,
    /// etcd: serializable reads (served by one member: not linearizable).
    #[arg(long)]
    pub serializable: bool,
    /// `--db memory` only: switch on a bug of the in-memory system
    /// (lost-write, stale-read, stall-append, no-recovery, kill-after-heal;
    /// lost-write-rate=P: lost-write in that share of runs, drawn from each
    /// run's seed); repeatable.
    #[arg(long = "bug")]
    pub bugs: Vec<String>,
    /// Healthy seconds between fault windows, at most [default: 5; shorter
    /// when needed for every fault kind to get a window in the time limit].
    #[arg(long)]
    pub interval: Option<f64>,
    /// Seconds each fault window lasts, at most [default: 5; shortened
    /// like --interval].
    #[arg(long)]
    pub fault_duration: Option<f64>,
    /// Draw each interval and window between half and one and a half
    /// times its length (Jepsen's stagger), instead of exactly.
    #[arg(long)]
    pub stagger: bool,
    /// Per-operation timeout, seconds [default: 2].
    #[arg(long)]
    pub op_timeout: Option<f64>,
    /// Seconds the SUT has to become ready [default: 60].
    #[arg(long)]
    pub ready_timeout: Option<f64>,
    /// Where runs are stored [default: store].
    #[arg(long)]
    pub store: Option<PathBuf>,
    /// An SLO, repeatable: recovery=20s (the default), recovery.SERVICE=15s,
    /// restart=10s (kill windows), startup=60s, availability=0.99 (outside
    /// fault windows).
    #[arg(long = "slo", value_name = "NAME=VALUE")]
    pub slo: Vec<String>,
    /// A fault plan (JSON list of {"at_ms": N, "fault": {...}}) instead of
    /// the generated schedule.
    #[arg(long)]
    pub fault_plan: Option<PathBuf>,
    /// Run the test N times and print the aggregate (as `faultline trends`).
    #[arg(long, default_value_t = 1)]
    pub repeat: usize,
    /// Repeat until a sequential test (Wald's) decides whether the
    /// violation rate is above or below --rate-threshold (at most
    /// --max-runs runs).
    #[arg(long, conflicts_with = "repeat")]
    pub until_confident: bool,
    /// The violation rate --until-confident decides about.
    #[arg(long, default_value_t = 0.05)]
    pub rate_threshold: f64,
    /// --until-confident's error rates (deciding "above" for a rate of half
    /// the threshold, "below" for twice it).
    #[arg(long, default_value_t = 0.05)]
    pub error_rate: f64,
    /// At most this many runs for --until-confident.
    #[arg(long, default_value_t = 500)]
    pub max_runs: usize,
}

/// The run's options: the config file or scenario (if any) overridden
/// by the flags; checked.
pub fn config(a: &RunArgs) -> Result<(RunConfig, Option<String>), String> {
    let (mut c, text) = match (&a.config, &a.scenario) {
        (_, Some(name)) => {
            let (sc, text) = runner::scenario::load(name)?;
            let mut c = sc.run;
            c.scenario = Some(name.clone());
            if c.name.is_none() {
                let stem = Path::new(name).file_stem().map(|s| s.to_string_lossy().to_string());
                c.name = stem;
            }
            (c, Some(text))
        }
        (Some(p), None) => {
            let text = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
            let c: RunConfig = toml::from_str(&text).map_err(|e| format!("{}: {}", p.display(), e.to_string().trim_end()))?;
            (c, Some(text))
        }
        (None, None) => (RunConfig::default(), None),
    };
    macro_rules! set {
        ($($f:ident),*) => { $( if let Some(v) = a.$f.clone() { c.$f = v; } )* };
    }
    set!(db, workload, consistency, time_limit, rate, concurrency, recovery_window, interval, fault_duration, op_timeout, ready_timeout, store);
    c.slo.extend(a.slo.iter().cloned());
    if a.fault_plan.is_some() {
        c.fault_plan = a.fault_plan.clone();
        c.plan.clear();
    }
    if let Some(n) = &a.nemesis {
        c.nemesis = n.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty() && s != "none").collect();
    }
    if a.nodes_file.is_some() {
        c.nodes_file = a.nodes_file.clone();
    }
    if a.seed.is_some() {
        c.seed = a.seed;
    }
    if a.name.is_some() {
        c.name = a.name.clone();
    }
    if let Some(p) = &a.system {
        c.system = Some(std::fs::canonicalize(p).unwrap_or_else(|_| p.clone()));
    }
    c.client_env.extend(a.client_env.iter().cloned());
    c.db_args.extend(a.db_args.iter().cloned());
    c.page_cache |= a.page_cache;
    c.unsynced_names |= a.unsynced_names;
    c.allow_quorum_loss |= a.allow_quorum_loss;
    if a.dirty_expire.is_some() {
        c.dirty_expire = a.dirty_expire;
    }
    if a.sut_version.is_some() {
        c.version = a.sut_version.clone();
    }
    for b in &a.binaries {
        // a binary is recorded by its absolute path: runs compare like with like
        let Some((name, path)) = b.split_once('=') else {
            c.binaries.push(b.clone());
            continue;
        };
        let abs = std::fs::canonicalize(path).map(|p| p.display().to_string()).unwrap_or_else(|_| path.to_string());
        c.binaries.retain(|x| !x.starts_with(&format!("{name}=")));
        c.binaries.push(format!("{name}={abs}"));
    }
    if let Some(p) = &c.system {
        c.db = systems::file::SystemFile::load(p).map_err(|e| e.to_string())?.spec.name;
    }
    c.keep |= a.keep;
    c.real_time |= a.real_time;
    c.stagger |= a.stagger;
    c.serializable |= a.serializable;
    if !a.bugs.is_empty() {
        c.bugs = a.bugs.clone();
    }
    c.check().map_err(|e| match (&a.scenario, &a.config) {
        (Some(name), _) => format!("scenario {name}: {e}"),
        (None, Some(p)) => format!("{}: {e}", p.display()),
        (None, None) => e.to_string(),
    })?;
    Ok((c, text))
}

/// Runs `faultline run` (`--repeat` times); returns the exit code.
pub fn run(args: RunArgs) -> i32 {
    let (cfg, cfg_text) = match config(&args) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("run: {e}");
            return exit::BAD_INPUT;
        }
    };
    if args.until_confident {
        return until_confident(&args, &cfg, cfg_text);
    }
    if args.repeat <= 1 {
        return runner::run_once(&cfg, cfg_text).0;
    }
    let mut codes = Vec::new();
    let mut dirs = Vec::new();
    for i in 0..args.repeat {
        if runner::cancelled() {
            break;
        }
        eprintln!("faultline: run {} of {}", i + 1, args.repeat);
        let (code, dir) = runner::run_once(&cfg, cfg_text.clone());
        codes.push(code);
        dirs.extend(dir);
        if code == exit::BAD_INPUT {
            break; // the same options will be refused again
        }
    }
    match runner::report::write_trends(&cfg.store.join(cfg.run_name()), &dirs) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("run: trends: {e}"),
    }
    exit::worst(codes)
}

/// Runs until Wald's test decides about the violation rate; the system's
/// runs only count (an infrastructure failure or an interrupted run is
/// repeated, not counted).
fn until_confident(args: &RunArgs, cfg: &RunConfig, cfg_text: Option<String>) -> i32 {
    use checker::sprt::{Decision, Sprt};
    use checker::trends::Outcome;
    let mut test = match Sprt::new(args.rate_threshold, args.error_rate, args.error_rate) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("run: --until-confident: {e}");
            return exit::BAD_INPUT;
        }
    };
    let (mut codes, mut dirs) = (Vec::new(), Vec::new());
    for i in 0..args.max_runs {
        if runner::cancelled() || test.decision != Decision::Continue {
            break;
        }
        eprintln!("faultline: run {} (until confident: {} counted, {} violating)", i + 1, test.runs, test.violations);
        let (code, dir) = runner::run_once(cfg, cfg_text.clone());
        codes.push(code);
        if code == exit::BAD_INPUT {
            break;
        }
        if infra_in_a_row(&codes) {
            eprintln!("run: --until-confident: the last {INFRA_IN_A_ROW} runs failed on the infrastructure (their faultline.log says why); stopping undecided");
            dirs.extend(dir);
            break;
        }
        if let Some(s) = dir.as_deref().and_then(runner::report::summary_of) {
            match s.outcome {
                Outcome::Passed => test.observe(false),
                Outcome::Violated => test.observe(true),
                _ => test.decision,
            };
        }
        dirs.extend(dir);
    }
    match runner::report::write_trends_with(&cfg.store.join(cfg.run_name()), &dirs, Some(test.clone())) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("run: trends: {e}"),
    }
    match test.decision {
        Decision::Below => exit::VALID,
        Decision::Above => exit::INVALID,
        Decision::Continue => undecided_code(&codes),
    }
}

/// Infrastructure failures in a row after which `--until-confident` stops:
/// a broken setup would fail every one of its runs, at once.
const INFRA_IN_A_ROW: usize = 5;

/// Whether the last [`INFRA_IN_A_ROW`] runs all failed on the infrastructure.
fn infra_in_a_row(codes: &[i32]) -> bool {
    codes.len() >= INFRA_IN_A_ROW && codes[codes.len() - INFRA_IN_A_ROW..].iter().all(|&c| c == exit::INFRA)
}

/// `--until-confident`'s exit code when the test did not decide: a
/// misconfiguration (254) or an internal error (255) stays what it is, so it
/// never reads as an infrastructure failure worth retrying; otherwise
/// unknown (2) or infrastructure (3).
fn undecided_code(codes: &[i32]) -> i32 {
    match codes {
        c if c.contains(&exit::INTERNAL) => exit::INTERNAL,
        c if c.contains(&exit::BAD_INPUT) => exit::BAD_INPUT,
        c => exit::worst(c.iter().copied()).clamp(exit::UNKNOWN, exit::INFRA),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_file_and_bad_values_are_refused() {
        let dir = std::env::temp_dir().join(format!("faultline-opts-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("test.toml");
        std::fs::write(&f, "db = \"etcd\"\nworkload = \"set\"\nnemesis = [\"pause\"]\ntime_limit = 10.0\n").unwrap();
        let a = RunArgs { config: Some(f.clone()), time_limit: Some(30.0), ..RunArgs::default() };
        let (c, text) = config(&a).unwrap();
        assert_eq!((c.workload.as_str(), c.time_limit, c.nemesis.clone()), ("set", 30.0, vec!["pause".to_string()]));
        assert!(text.unwrap().contains("workload"));
        std::fs::write(&f, "db = \"etcd\"\nwrokload = \"set\"\n").unwrap();
        let e = config(&a).unwrap_err();
        assert!(e.contains("test.toml") && e.contains("wrokload"), "{e}");
        let bad = |a: RunArgs| config(&a).unwrap_err();
        assert!(bad(RunArgs { nemesis: Some("partition,flood".into()), ..RunArgs::default() }).contains("flood"));
        assert!(bad(RunArgs { rate: Some(0.0), ..RunArgs::default() }).contains("--rate"));
        assert!(bad(RunArgs { concurrency: Some(0), ..RunArgs::default() }).contains("--concurrency"));
        assert!(bad(RunArgs { name: Some("../x".into()), ..RunArgs::default() }).contains("--name"));
        let (c, _) = config(&RunArgs { nemesis: Some("none".into()), ..RunArgs::default() }).unwrap();
        assert!(c.kinds(&c.catalog().unwrap()).is_empty());
        assert_eq!(c.run_name(), "etcd-register");
        // a built-in system's own faults are its alone
        let restate = |n: &str| config(&RunArgs { db: Some("restate".into()), nemesis: Some(n.into()), ..RunArgs::default() });
        let (c, _) = restate("seal-log,kill").unwrap();
        assert_eq!(c.kinds(&c.catalog().unwrap()).iter().map(|p| p.name).collect::<Vec<_>>(), ["seal-log", "kill"]);
        assert!(bad(RunArgs { nemesis: Some("seal-log".into()), ..RunArgs::default() }).contains("unknown fault \"seal-log\" in --nemesis for etcd"));
    }

    #[test]
    fn until_confident_stops_after_infrastructure_failures_in_a_row() {
        let (i, v) = (exit::INFRA, exit::VALID);
        assert!(!infra_in_a_row(&[i, i, i, i]), "four are not yet enough");
        assert!(infra_in_a_row(&[v, i, i, i, i, i]));
        assert!(!infra_in_a_row(&[i, i, v, i, i, i, i]), "only failures in a row count");
        assert_eq!(undecided_code(&[v, i, i, i, i, i]), exit::INFRA);
    }
}
