//! `faultline run`: the test lifecycle.
//!
//! preflight -> SUT setup -> readiness (timed) -> workload with faults for
//! the time limit -> final heal -> a recovery window of normal load ->
//! final reads -> log collection -> teardown (or `--keep`) -> check ->
//! report -> exit code. Faults are healed on every path: normal end,
//! error, panic (a guard), SIGINT and SIGTERM (the workload stops early and
//! the run goes on to heal, check and report).

pub mod analysis;
pub mod junit;
#[cfg(test)]
mod lifecycle_tests;
mod load;
mod log;
pub mod options;
mod recorder;
pub mod report;
pub mod scenario;
mod startup;
pub mod store;
pub mod system;

mod cancel;
mod error;
pub mod exit;
pub use cancel::{cancelled, Cancel};
pub use error::{ConfigError, StoreError};

use control::NodesFile;
use history::{Header, OpType, Process, Rng};
use lab::Lab;
pub use log::Log;
use nuclei::{HealGuard, Spacing};
use options::RunConfig;
use recorder::Recorder;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use system::{InMemory, Remote, System};
use systems::stdio::{ClientCommand, StdioClient};
use systems::{Client, Endpoint, NoopClient};
use systems::{Startup, Topology};
use workloads::{Generator, Workload};

/// Health probes use process numbers from here up (their ops say
/// `role: probe`; the number only keeps them apart from clients).
pub const PROBE_BASE: u64 = 1_000_000;
/// Final reads use process numbers from here up.
pub const FINAL_BASE: u64 = 900_000;

pub use results::RunFacts;

fn random_seed() -> u64 {
    let t = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
    Rng::new(t ^ (std::process::id() as u64) << 32).next_u64() >> 12
}

/// One run; its exit code and directory.
pub fn run_once(cfg: &RunConfig, cfg_text: Option<String>) -> (i32, Option<PathBuf>) {
    let cfg = cfg.clone();
    let seed = cfg.seed.unwrap_or_else(random_seed);
    // the in-memory system has no nodes to reach
    let nodes = match &cfg.nodes_file {
        _ if cfg.in_memory() => None,
        Some(p) => match NodesFile::load(p) {
            Ok(n) => Some(n),
            Err(e) => {
                eprintln!("run: {e}");
                return (exit::BAD_INPUT, None);
            }
        },
        None => match lab_nodes() {
            Ok(n) => Some(n),
            Err(e) => {
                eprintln!("run: the local lab could not come up: {e}");
                return (exit::INFRA, None);
            }
        },
    };
    let bugs = match cfg.memory_bugs_of_run(seed) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("run: {e}");
            return (exit::BAD_INPUT, None);
        }
    };
    let vm = nodes.as_ref().is_some_and(|n| n.backend.as_deref() == Some("vm"));
    let choice =
        systems::Choice { serializable: cfg.serializable, slow_nodes: vm, version: cfg.version.clone(), binaries: cfg.own_builds().unwrap_or_default() };
    let db: Option<Arc<dyn systems::Db>> = match &cfg.system {
        Some(p) => match systems::file::SystemFile::load(p) {
            Ok(f) => Some(Arc::new(systems::file::FileDb::new(f).with_client_env(cfg.client_env()))),
            Err(e) => {
                eprintln!("run: {e}");
                return (exit::BAD_INPUT, None);
            }
        },
        None => systems::by_name(&cfg.db, &choice),
    };
    let system: Box<dyn System> = match (db, &nodes) {
        (Some(db), Some(n)) => Box::new(Remote::new(n, db)),
        (None, None) if cfg.in_memory() => Box::new(InMemory::new(3, &bugs)),
        _ => {
            eprintln!("run: no system {:?} to run on the nodes", cfg.db);
            return (exit::BAD_INPUT, None);
        }
    };
    run_in(&cfg, seed, cfg_text, nodes.as_ref(), system, &Cancel::on_signals())
}

/// Runs `system` (any implementation of the runner's contract, in this
/// crate or another) with `cfg`: the whole lifecycle, the checks and the
/// report in a new run directory of `cfg.store`. The exit code (the table in
/// [`crate::exit`]) and the run directory.
pub fn run_system(cfg: &RunConfig, system: Box<dyn System>) -> (i32, Option<PathBuf>) {
    run_system_until(cfg, system, &Cancel::on_signals())
}

/// As [`run_system`], stopped when `cancel` is set (and not by the
/// process's signals): a caller running several at once stops each alone.
pub fn run_system_until(cfg: &RunConfig, system: Box<dyn System>, cancel: &Cancel) -> (i32, Option<PathBuf>) {
    let cfg = RunConfig { db: system.name().to_string(), ..cfg.clone() };
    run_in(&cfg, cfg.seed.unwrap_or_else(random_seed), None, None, system, cancel)
}

/// One run of `system`, recorded with the nodes it ran on.
fn run_in(cfg: &RunConfig, seed: u64, cfg_text: Option<String>, nodes: Option<&NodesFile>, system: Box<dyn System>, cancel: &Cancel) -> (i32, Option<PathBuf>) {
    let dir = match store::create_run_dir(&cfg.store, &cfg.run_name()) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("run: {e}");
            return (exit::INFRA, None);
        }
    };
    let log = match Log::new(&dir.join("faultline.log")) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("run: {}: {e}", dir.display());
            return (exit::INFRA, None);
        }
    };
    log.say(&format!("run {} seed {seed}", dir.display()));
    let test = results::TestRecord {
        name: cfg.run_name(),
        db: cfg.db.clone(),
        workload: cfg.workload.clone(),
        nemesis: cfg.nemesis.clone(),
        seed,
        options: serde_json::to_value(cfg).unwrap_or_default(),
        config_file: cfg_text,
        command_line: std::env::args().collect(),
        faultline_version: env!("CARGO_PKG_VERSION").to_string(),
        started_at: chrono::Local::now().to_rfc3339(),
        nodes: nodes.iter().flat_map(|f| f.resolve()).map(|n| results::NodeRecord { name: n.name, address: n.address, user: n.user }).collect(),
        backend: nodes.map(|f| f.backend.clone()).unwrap_or(Some(system.name().to_string())),
        host_key_check: nodes.and_then(|f| serde_json::to_value(f.host_key_check).ok()),
        sut_version: None,
    };
    if let Err(e) = results::write(&dir.join("test.json"), &test) {
        log.say(&format!("cannot write test.json: {e}"));
        return (exit::INFRA, None);
    }
    let facts = lifecycle(cfg, seed, system.as_ref(), &dir, &log, cancel);
    if facts.sut_version.is_some() {
        let test = results::TestRecord { sut_version: facts.sut_version.clone(), ..test };
        if let Err(e) = results::write(&dir.join("test.json"), &test) {
            log.say(&format!("cannot write test.json: {e}"));
        }
    }
    if let Err(e) = results::write(&dir.join("run.json"), &facts) {
        log.say(&format!("cannot write run.json: {e}"));
    }
    let code = match analysis::analyze(&dir) {
        Ok(a) => {
            log.say(&format!("verdict: {} ({})", a.valid.as_str(), a.summary));
            a.exit_code
        }
        Err(e) => {
            log.say(&format!("analysis failed: {e}"));
            e.exit_code()
        }
    };
    if let Err(e) = store::point_latest(&cfg.store, &dir) {
        log.say(&format!("cannot update {}/latest: {e}", cfg.store.display()));
    }
    if let Err(e) = report::write_index(&cfg.store) {
        log.say(&format!("index: {e}"));
    }
    println!("{}", dir.display());
    (code, Some(dir))
}

/// `faultline bench-runner`: the runner against an in-process no-op client
/// (or, with `stdio`, the reference stdio client, one program a process),
/// to measure its own throughput and added latency (BENCHMARKS.md).
pub fn bench_runner(seconds: f64, concurrency: usize, rate: f64, stdio: bool) -> i32 {
    let dir = std::env::temp_dir().join(format!("faultline-bench-runner-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("history.jsonl");
    let cfg = RunConfig { concurrency, rate, op_timeout: 1.0, ..RunConfig::default() };
    let Ok(rt) = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() else { return exit::INTERNAL };
    let t0 = Instant::now();
    let Ok((rec, writer)) = Recorder::start(&path, &Header::new(0), t0) else { return exit::INTERNAL };
    let topo = Topology { nodes: (1..=3).map(|i| (format!("n{i}"), String::new())).collect() };
    let Ok(me) = std::env::current_exe() else { return exit::INTERNAL };
    let reference = Arc::new(ClientCommand { argv: vec![me.display().to_string(), "client-reference".into()], dir: dir.clone(), env: Vec::new(), fs: None });
    let clients = |node: usize, process: u64| -> Box<dyn Client> {
        if stdio {
            let at = Endpoint { node: format!("n{}", node + 1), address: String::new(), process, nodes: String::new() };
            Box::new(StdioClient::new(reference.clone(), at, Duration::from_secs(1)))
        } else {
            Box::new(NoopClient)
        }
    };
    let generator: Mutex<Box<dyn Generator>> = Mutex::new(workloads::Register.generator(concurrency, 1));
    let end = load::Deadline::new(t0, Duration::from_secs_f64(seconds), Duration::ZERO, Cancel::on_signals());
    rt.block_on(load::drive(&cfg, &clients, &generator, &rec, &topo, &end, 7));
    let elapsed = t0.elapsed().as_secs_f64();
    drop(rec);
    let _ = writer.join();
    let Ok((_, h)) = history::load(&path, Some(history::Format::Jsonl)) else { return exit::INTERNAL };
    let mut open = std::collections::HashMap::new();
    let mut lat: Vec<u64> = Vec::new();
    for op in &h.ops {
        if let Process::Client(p) = op.process {
            if op.kind == OpType::Invoke {
                open.insert(p, op.time);
            } else if let Some(t) = open.remove(&p) {
                lat.push(op.time - t);
            }
        }
    }
    lat.sort_unstable();
    let q = |f: f64| lat.get(((lat.len().max(1) - 1) as f64 * f) as usize).copied().unwrap_or(0) as f64 / 1e6;
    println!(
        "runner, {} client, {concurrency} processes, asked {rate} ops/s: {:.0} ops/s sustained over {elapsed:.1} s ({} ops); added latency p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        if stdio { "stdio reference" } else { "no-op" },
        lat.len() as f64 / elapsed,
        lat.len(),
        q(0.5),
        q(0.99),
        q(1.0)
    );
    let _ = std::fs::remove_dir_all(&dir);
    exit::VALID
}

fn lab_nodes() -> Result<NodesFile, String> {
    let lab = Lab::default();
    match lab.current_nodes() {
        Ok(n) if n.nodes.len() >= 3 => Ok(n),
        _ => Ok(NodesFile::load(&lab.up(3, lab::Backend::Lxc)?)?),
    }
}

fn lifecycle(cfg: &RunConfig, seed: u64, system: &dyn System, dir: &Path, log: &Log, cancel: &Cancel) -> RunFacts {
    let mut facts = RunFacts::default();
    let topo = system.topology().clone();
    log.say(&format!("preflight: {} nodes", topo.nodes.len()));
    if let Err(e) = system.preflight() {
        facts.infrastructure_error = Some(e);
        return facts;
    }
    let injector = system.injector();
    let catalog = injector.catalog();
    let kinds = cfg.kinds(&catalog);
    let plan = match cfg.plan() {
        Ok(p) => p,
        Err(e) => {
            facts.refused = Some(format!("fault plan: {e}"));
            return facts;
        }
    };
    // every node a plan names is the cluster's, and no step waits past the end
    let names: Vec<&str> = topo.nodes.iter().map(|(n, _)| n.as_str()).collect();
    let limit_ms = (cfg.time_limit * 1000.0) as u64;
    let checked = plan.as_deref().map_or(Ok(()), |p| nuclei::check_plan(p, &names, Some(limit_ms), &catalog));
    let own = || plan.iter().flatten().chain(&cfg.startup_plan).try_for_each(|s| injector.check_fault(&s.fault));
    if let Err(e) = checked.and_then(|()| nuclei::check_plan(&cfg.startup_plan, &names, None, &catalog)).and_then(|()| own()) {
        facts.refused = Some(format!("fault plan: {e}"));
        return facts;
    }
    let mut needs: Vec<nuclei::Needs> = match &plan {
        Some(steps) => steps.iter().map(|s| s.fault.needs()).collect(),
        None => kinds.iter().map(|k| k.needs()).collect(),
    };
    needs.extend(cfg.startup_plan.iter().map(|s| s.fault.needs()));
    if let Err(e) = injector.preflight(&needs) {
        facts.refused = Some(e.to_string());
        return facts;
    }
    // an in-process system runs on simulated time (unless --real-time):
    // its clock jumps to the next timer whenever every task waits
    let simulated = system.simulated() && !cfg.real_time;
    let built = if simulated {
        tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build()
    } else {
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()
    };
    let rt = match built {
        Ok(rt) => rt,
        Err(e) => {
            facts.infrastructure_error = Some(format!("tokio: {e}"));
            return facts;
        }
    };
    // from here every reading of the time (systems::clock) is the runtime's
    let _clock = simulated.then(|| rt.enter());
    // SUT setup and readiness
    log.say(&format!("setting up {} on {} nodes", system.name(), topo.nodes.len()));
    if let Err(e) = system.install() {
        facts.infrastructure_error = Some(format!("setup failed: {e}"));
        return facts;
    }
    facts.sut_version = system.version();
    if let Some(v) = &facts.sut_version {
        log.say(&format!("{} version: {v}", system.name()));
    }
    // from here every way out stops the system (unless --keep); the
    // nemesis's chains exist before a start-up fault needs them, and every
    // fault is healed before the system is stopped (guards drop in reverse)
    let sut = SutGuard { system, keep: cfg.keep, log, done: false };
    if let Err(e) = injector.setup() {
        facts.infrastructure_error = Some(format!("nemesis setup failed: {e}"));
        return facts;
    }
    let guard = HealGuard::new(injector, |e| log.say(&format!("heal: {e}")));
    let started = Instant::now();
    if let Err(e) = system.start() {
        facts.infrastructure_error = Some(format!("start failed: {e}"));
        return facts;
    }
    let ready_timeout = Duration::from_secs_f64(cfg.ready_timeout);
    let (startup, early): (Startup, _) = std::thread::scope(|s| {
        let early = s.spawn(|| startup::apply(injector, &cfg.startup_plan, started));
        let ready = match rt.block_on(system.bootstrap(ready_timeout)) {
            Ok(()) => rt.block_on(system.wait_ready(started, ready_timeout)),
            Err(e) => Startup { nodes: Vec::new(), cluster: None, not_ready: vec![("bootstrap".into(), e.to_string())] },
        };
        (ready, early.join().unwrap_or_default())
    });
    if !cfg.startup_plan.is_empty() {
        let (applied, mut records) = early;
        for r in &records {
            log.say(&format!("startup fault {} at {} ms: {}", r.f, r.at_ms, r.error.as_deref().unwrap_or("done")));
        }
        records.extend(startup::close(injector, &applied, started));
        facts.startup_faults = records;
    }
    facts.startup = Some(startup.clone());
    if !startup.ready() {
        let why: Vec<String> = startup.not_ready.iter().map(|(n, e)| format!("{n}: {e}")).collect();
        facts.infrastructure_error =
            Some(format!("{} did not become ready within {} s: {}\n{}", system.name(), cfg.ready_timeout, why.join("; "), system.last_log_lines()));
        return facts;
    }
    log.say(&format!("ready in {:.2} s", startup.cluster.unwrap_or_default()));
    // a client that cannot work refuses the run before any fault
    let op_timeout = Duration::from_secs_f64(cfg.op_timeout);
    if let Some(w) = workloads::by_name(&cfg.workload) {
        let missing = workloads::unserved(&*system.client(0, FINAL_BASE - 1, op_timeout), w.fs());
        if !missing.is_empty() {
            let fs = missing.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>().join(", ");
            facts.refused = Some(format!("{}'s client does not serve {fs}, which the {} workload needs", system.name(), cfg.workload));
            return facts;
        }
    }
    let broken: Vec<String> = rt
        .block_on(systems::futures_join_all(topo.nodes.iter().enumerate().map(|(i, (node, _))| async move {
            system.client(i, FINAL_BASE - 1 - i as u64, op_timeout).preflight().await.err().map(|e| format!("{node}: {e}"))
        })))
        .into_iter()
        .flatten()
        .collect();
    if !broken.is_empty() {
        facts.refused = Some(format!("the client does not work: {}", broken.join("; ")));
        return facts;
    }

    // the workload, with faults
    let t0 = systems::clock::now();
    let start_unix_ns = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as i64).unwrap_or(0);
    let ctx = analysis::check_context(cfg, &checker::slo::Slos::parse(&cfg.slo).unwrap_or_default());
    let header = Header { name: Some(cfg.run_name()), workload: Some(cfg.workload.clone()), check: Some(ctx.settings()), ..Header::new(start_unix_ns) };
    let (recorder, writer) = match Recorder::start(&dir.join("history.jsonl"), &header, t0) {
        Ok(x) => x,
        Err(e) => {
            facts.infrastructure_error = Some(format!("history.jsonl: {e}"));
            return facts;
        }
    };
    let mut rng = Rng::new(seed);
    let names: Vec<String> = topo.nodes.iter().map(|(n, _)| n.clone()).collect();
    // every chosen kind gets a window: shorten the intervals if needed
    let slots = (2 * kinds.len() + 1) as f64;
    let fit = |x: f64| (x.min(cfg.time_limit / slots) * 1e3) as u64;
    let spacing = Spacing { healthy_ms: fit(cfg.interval), faulted_ms: fit(cfg.fault_duration), random: false };
    let schedule = plan.unwrap_or_else(|| nuclei::schedule(&kinds, &names, spacing, (cfg.time_limit * 1e3) as u64, &mut rng));
    facts.schedule = schedule.iter().map(|s| json!({"at_ms": s.at_ms, "fault": s.fault})).collect();
    let timeout = Duration::from_secs_f64(cfg.op_timeout);
    let clients = |node: usize, process: u64| system.client(node, process, timeout);
    let Some(workload) = workloads::by_name(&cfg.workload) else {
        facts.refused = Some(format!("unknown workload {:?}", cfg.workload));
        return facts;
    };
    let generator: Mutex<Box<dyn Generator>> = Mutex::new(workload.generator(cfg.concurrency, rng.next_u64()));
    let faults_end = t0 + Duration::from_secs_f64(cfg.time_limit);
    let recovery = Duration::from_secs_f64(cfg.recovery_window);
    let deadline = load::Deadline::new(t0, faults_end + recovery - t0, recovery, cancel.clone());
    log.say(&format!(
        "workload {} for {} s with {} fault windows, then {} s of recovery",
        cfg.workload,
        cfg.time_limit,
        schedule.len() / 2,
        cfg.recovery_window
    ));
    let nemesis = load::run_schedule(injector, &schedule, &recorder, log, &deadline, simulated);
    let clients_and_probes = async {
        let w = load::drive(cfg, &clients, &generator, &recorder, &topo, &deadline, rng.next_u64());
        let p = load::probes(system, &topo, &recorder, &deadline);
        let progress = load::progress(&recorder, log, &deadline);
        tokio::join!(w, p, progress);
    };
    let heal_errors = if simulated {
        // one thread, one clock: a fault is applied at its instant
        rt.block_on(async { tokio::join!(nemesis, clients_and_probes).0 })
    } else {
        // on real nodes a fault blocks on SSH: the schedule has its own thread
        std::thread::scope(|s| {
            let nem = s.spawn(|| match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(own) => own.block_on(nemesis),
                Err(e) => vec![format!("tokio: {e}")],
            });
            rt.block_on(clients_and_probes);
            nem.join().unwrap_or_else(|_| vec!["the nemesis thread panicked".to_string()])
        })
    };
    facts.heal_errors.extend(heal_errors);
    // final reads, after the heal and the recovery window
    rt.block_on(load::final_reads(&generator, system, timeout, &topo, &recorder));
    facts.interrupted = cancel.is_cancelled();
    drop(recorder);
    match writer.join() {
        Ok(Ok(n)) => log.say(&format!("history: {n} ops")),
        Ok(Err(e)) => facts.infrastructure_error = Some(format!("writing history.jsonl: {e}")),
        Err(_) => facts.infrastructure_error = Some("the history writer panicked".into()),
    }
    system::say_all(log, &system.collect_logs(&dir.join("nodes")));
    facts.startup_phases = system.startup_phases(&dir.join("nodes"));
    let faults: Vec<&str> = schedule.iter().map(|s| s.fault.f()).collect();
    facts.own = system.own_facts(&dir.join("nodes"), start_unix_ns as f64 / 1e9, &faults);
    // the last phase: ready, a real operation answered (timed by faultline
    // from its start command, a round trip before the process started)
    if let Some(st) = &facts.startup {
        for (node, phases) in facts.startup_phases.iter_mut() {
            if let Some(Some(t)) = st.nodes.iter().find(|(n, _)| n == node).map(|(_, t)| *t) {
                phases.push(results::Phase { name: "ready (an operation answered)".into(), at_s: t });
            }
        }
    }
    drop(guard); // heals and removes faultline's chains
    facts.heal_errors.extend(sut.finish());
    facts
}

/// Stops the system under test when the lifecycle ends, on every way out
/// once it was started (an early return, a panic), unless `--keep`.
struct SutGuard<'a> {
    system: &'a dyn System,
    keep: bool,
    log: &'a Log,
    done: bool,
}

impl SutGuard<'_> {
    /// Stops it now (unless kept): the problems met.
    fn finish(mut self) -> Vec<String> {
        self.done = true;
        if self.keep {
            Vec::new()
        } else {
            self.system.teardown()
        }
    }
}

impl Drop for SutGuard<'_> {
    fn drop(&mut self) {
        if !self.done && !self.keep {
            for e in self.system.teardown() {
                self.log.say(&format!("teardown: {e}"));
            }
        }
    }
}
