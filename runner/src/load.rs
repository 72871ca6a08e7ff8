//! The load phase of a run: the fault schedule in real time, the client
//! processes, the health probes, the final reads and the progress bar, all
//! until one deadline that a late heal moves: the recovery window is
//! observed after the last heal, however long the heal took.

use super::log::{self, Log};
use super::recorder::Recorder;
use super::system::System;
use super::{Cancel, RunConfig, FINAL_BASE, PROBE_BASE};
use history::{Op, OpType, Process, Rng, Role};
use nuclei::{Fault, FaultError, Injector, Step};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use systems::{clock, Client, Completion, Topology};
use workloads::{Generator, Op as WorkOp};

/// When the load stops: the time limit plus the recovery window, never
/// while a fault or heal is being applied, and pushed later when a heal
/// ends so late that less than the recovery window would be left after it.
pub struct Deadline {
    t0: Instant,
    cancel: Cancel,
    end_ms: AtomicU64,
    recovery: Duration,
    applying: AtomicBool,
}

impl Deadline {
    /// The load ends `end` after `t0`, unless a heal moves it or `cancel`
    /// is set.
    pub fn new(t0: Instant, end: Duration, recovery: Duration, cancel: Cancel) -> Self {
        Deadline { t0, cancel, end_ms: AtomicU64::new(end.as_millis() as u64), recovery, applying: AtomicBool::new(false) }
    }
    /// The instant the load stops, as things stand.
    pub fn end(&self) -> Instant {
        self.t0 + Duration::from_millis(self.end_ms.load(Ordering::SeqCst))
    }
    /// Whether the load should stop now.
    pub fn passed(&self) -> bool {
        (clock::now() >= self.end() && !self.applying.load(Ordering::SeqCst)) || self.cancelled()
    }
    /// Whether the run was stopped (its token set).
    pub fn cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }
    /// A heal ended now: at least the recovery window follows it. Returns
    /// the new end (s since t0) if it moved.
    pub fn healed_now(&self) -> Option<f64> {
        let want = (clock::since(self.t0) + self.recovery).as_millis() as u64;
        let before = self.end_ms.fetch_max(want, Ordering::SeqCst);
        (want > before).then(|| want as f64 / 1e3)
    }
}

/// Marks a fault or heal being applied while it lives: cleared on every
/// way out, a panic's unwinding included, so the load's end always comes.
struct Applying<'a>(&'a AtomicBool);

impl<'a> Applying<'a> {
    fn start(flag: &'a AtomicBool) -> Self {
        flag.store(true, Ordering::SeqCst);
        Applying(flag)
    }
}

impl Drop for Applying<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

/// Runs the fault schedule on the run's clock; on interruption closes the
/// open windows. Returns the problems met. With `inline` each fault is
/// applied in this task (an in-process system on simulated time: its
/// injector reads the runtime's clock, which cannot move meanwhile); else
/// on a thread of its own, outside any runtime (on real nodes a fault
/// blocks on SSH, and a system's tool may run a runtime of its own).
pub async fn run_schedule(nemesis: &dyn Injector, schedule: &[Step], rec: &Recorder, log: &Log, deadline: &Deadline, inline: bool) -> Vec<String> {
    let mut errs = Vec::new();
    let mut applied: Vec<Fault> = Vec::new();
    let catalog = nemesis.catalog();
    let apply = |f: &Fault, errs: &mut Vec<String>| {
        rec.record(Op::new(Process::Nemesis, OpType::Invoke, f.f(), serde_json::to_value(f).unwrap_or_default()));
        let _applying = Applying::start(&deadline.applying);
        // a panicking injector is a failed fault: the run goes on and heals
        let guarded = || {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| nemesis.apply(f, rec.t0()))).unwrap_or_else(|p| {
                let msg = p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default();
                Err(FaultError::Invalid(format!("the injector panicked: {msg}")))
            })
        };
        let r = if inline {
            guarded()
        } else {
            std::thread::scope(|s| s.spawn(guarded).join()).unwrap_or_else(|_| Err(FaultError::Invalid("the injector's thread panicked".into())))
        };
        let value = match r {
            Ok(v) => v,
            Err(e) => {
                log.say(&format!("nemesis {}: {e}", f.f()));
                errs.push(format!("{}: {e}", f.f()));
                json!({"error": e.to_string()})
            }
        };
        rec.record(Op::new(Process::Nemesis, OpType::Info, f.f(), value));
        if !catalog.opens(f) {
            if let Some(end) = deadline.healed_now() {
                log.say(&format!("{} ended late: the load goes on to {end:.1} s for the recovery window", f.f()));
            }
        }
    };
    for step in schedule {
        let at = rec.t0() + Duration::from_millis(step.at_ms);
        while clock::now() < at && !deadline.cancelled() {
            let wake = at.min(clock::now() + Duration::from_millis(50));
            tokio::time::sleep_until(wake.into()).await;
        }
        if deadline.cancelled() {
            break;
        }
        log.say(&format!("nemesis: {}", step.fault.f()));
        apply(&step.fault, &mut errs);
        log.set_fault(if catalog.opens(&step.fault) { step.fault.f() } else { "" });
        applied.push(step.fault.clone());
    }
    // every window still open (they may overlap), last opened first
    for inv in catalog.closing(&applied) {
        log.say(&format!("nemesis: final heal: {}", inv.f()));
        apply(&inv, &mut errs);
    }
    log.set_fault("");
    errs
}

/// Makes the client of a logical process (the second argument) on a node
/// (its index, the first).
pub type MakeClient<'a> = dyn Fn(usize, u64) -> Box<dyn Client> + Sync + 'a;

/// The client processes: each bound to a node, issuing ops at its share of
/// the rate with random stagger, until `end` or an interrupt.
pub async fn drive(
    cfg: &RunConfig,
    clients: &MakeClient<'_>,
    generator: &Mutex<Box<dyn Generator>>,
    rec: &Recorder,
    topo: &Topology,
    end: &Deadline,
    seed: u64,
) {
    let n = cfg.concurrency;
    let per_process = Duration::from_secs_f64(n as f64 / cfg.rate);
    let op_deadline = Duration::from_secs_f64(cfg.op_timeout + 1.0);
    let tasks = (0..n).map(|i| {
        let ni = i % topo.nodes.len();
        let node = topo.nodes[ni].0.clone();
        let mut rng = Rng::new(seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        async move {
            let mut process = i as u64;
            let mut client = clients(ni, process);
            // paced by due times, not per-op sleeps: sub-millisecond intervals
            // (high rates) work, and the stagger keeps processes apart
            let mut due = clock::now() + per_process.mul_f64(rng.below(1000) as f64 / 1000.0);
            while !end.passed() {
                let now = clock::now();
                if due > now + Duration::from_millis(1) {
                    tokio::time::sleep_until(due.into()).await;
                } else if now > due + Duration::from_secs(1) {
                    due = now; // after a stall (a slow op), no burst to catch up
                }
                let op = generator.lock().unwrap_or_else(|e| e.into_inner()).next(process);
                let info = invoke(rec, &*client, &op, process, &node, op_deadline, Role::Client).await;
                if info {
                    // Jepsen: a process whose op is indeterminate is never
                    // reused; its successor gets a client of its own
                    process += n as u64;
                    client = clients(ni, process);
                }
                due += per_process.mul_f64(rng.below(2000) as f64 / 1000.0);
                tokio::task::yield_now().await;
            }
        }
    });
    systems::futures_join_all(tasks).await;
}

/// Records an invocation, performs it, records its completion; true if
/// the outcome is indeterminate.
async fn invoke(rec: &Recorder, client: &dyn Client, op: &WorkOp, process: u64, node: &str, deadline: Duration, role: Role) -> bool {
    let mut inv = Op::new(Process::Client(process), OpType::Invoke, op.f, op.value.clone());
    inv.node = Some(node.to_string());
    inv.role = role;
    rec.record(inv);
    let done = match tokio::time::timeout(deadline, workloads::perform(client, op)).await {
        Ok(c) => c,
        Err(_) if op.read => Completion::Fail("timeout".into()),
        Err(_) => Completion::Info("timeout".into()),
    };
    let (kind, value, error) = match done {
        Completion::Ok(v) => (OpType::Ok, v, None),
        Completion::Fail(e) => (OpType::Fail, op.value.clone(), Some(e)),
        Completion::Info(e) => (OpType::Info, op.value.clone(), Some(e)),
    };
    let mut c = Op::new(Process::Client(process), kind, op.f, value);
    c.node = Some(node.to_string());
    c.error = error.map(Value::String);
    c.role = role;
    rec.record(c);
    kind == OpType::Info
}

/// The process number of the probe of service `si` (of `services`) on node
/// `ni`: one apart from every other, however many services a system has.
fn probe_process(ni: usize, si: usize, services: usize) -> u64 {
    PROBE_BASE + (ni * services.max(1) + si) as u64
}

/// Probes every service on every node four times a second, for the
/// recovery checker.
pub async fn probes(system: &dyn System, topo: &Topology, rec: &Recorder, end: &Deadline) {
    let services = system.services();
    let per_node = services.len();
    let tasks = topo.nodes.iter().enumerate().flat_map(|(ni, (node, _))| {
        services.iter().enumerate().map(move |(si, s)| async move {
            let process = probe_process(ni, si, per_node);
            while !end.passed() {
                let tick = clock::now();
                let mut inv = Op::new(Process::Client(process), OpType::Invoke, "probe", json!(s));
                inv.node = Some(node.clone());
                inv.role = Role::Probe;
                rec.record(inv);
                let r = system.probe(ni, s, Duration::from_millis(1000)).await;
                let (kind, err) = match r {
                    Ok(()) => (OpType::Ok, None),
                    Err(e) => (OpType::Fail, Some(Value::String(e.to_string()))),
                };
                let mut c = Op::new(Process::Client(process), kind, "probe", json!(s));
                c.node = Some(node.clone());
                c.error = err;
                c.role = Role::Probe;
                rec.record(c);
                tokio::time::sleep(Duration::from_millis(250).saturating_sub(clock::since(tick))).await;
            }
        })
    });
    systems::futures_join_all(tasks).await;
}

/// The workload's final reads, from every node, after the recovery window.
pub async fn final_reads(generator: &Mutex<Box<dyn Generator>>, system: &dyn System, timeout: Duration, topo: &Topology, rec: &Recorder) {
    let reads = generator.lock().unwrap_or_else(|e| e.into_inner()).final_reads();
    let mut p = FINAL_BASE;
    for op in &reads {
        for (i, (node, _)) in topo.nodes.iter().enumerate() {
            let c = system.client(i, p, timeout);
            invoke(rec, &*c, op, p, node, Duration::from_secs(10), Role::Final).await;
            p += 1;
        }
    }
}

/// The progress bar (on a terminal): once a second, the time, ok/s, fail,
/// info and the fault in force.
pub async fn progress(rec: &Recorder, log: &Log, end: &Deadline) {
    log.start_progress(end.end().saturating_duration_since(rec.t0()));
    let c = rec.counters.clone();
    let mut last = 0u64;
    while !end.passed() {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let ok = c.ok.load(Ordering::Relaxed);
        let (fail, info) = (c.fail.load(Ordering::Relaxed), c.info.load(Ordering::Relaxed));
        log.progress(Duration::from_nanos(rec.now()), log::Tally { ok_per_s: ok - last, fail, info });
        last = ok;
    }
    log.finish_progress();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_of_many_services_never_share_a_process() {
        let (nodes, services) = (5, 20);
        let all: std::collections::BTreeSet<u64> = (0..nodes).flat_map(|n| (0..services).map(move |s| probe_process(n, s, services))).collect();
        assert_eq!(all.len(), nodes * services);
        assert!(all.iter().all(|&p| p >= PROBE_BASE), "probes stay apart from clients and final reads");
    }

    fn real_time() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
    }

    /// A recorder and a log in a scratch directory of their own.
    struct Scratch {
        dir: std::path::PathBuf,
        t0: Instant,
        rec: Recorder,
        writer: std::thread::JoinHandle<std::io::Result<u64>>,
        log: Log,
    }

    fn scratch(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("faultline-load-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let t0 = Instant::now();
        let (rec, writer) = Recorder::start(&dir.join("h.jsonl"), &history::Header::new(0), t0).unwrap();
        let log = Log::new(&dir.join("log")).unwrap();
        Scratch { dir, t0, rec, writer, log }
    }

    /// Ends the history and removes the scratch directory.
    fn finish(dir: std::path::PathBuf, rec: Recorder, writer: std::thread::JoinHandle<std::io::Result<u64>>) {
        drop(rec);
        writer.join().unwrap().unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// An injector that applies every fault with `apply` (and has nothing
    /// to set up or heal).
    struct Applies<F: Fn(&Fault) -> Result<Value, FaultError> + Send + Sync>(F);

    impl<F: Fn(&Fault) -> Result<Value, FaultError> + Send + Sync> Injector for Applies<F> {
        fn preflight(&self, _: &[nuclei::Needs]) -> Result<(), FaultError> {
            Ok(())
        }
        fn setup(&self) -> Result<(), FaultError> {
            Ok(())
        }
        fn apply(&self, f: &Fault, _: Instant) -> Result<Value, FaultError> {
            (self.0)(f)
        }
        fn heal_all(&self) -> Vec<FaultError> {
            Vec::new()
        }
    }

    #[test]
    fn a_fault_on_real_nodes_may_run_a_runtime_of_its_own() {
        let Scratch { dir, t0, rec, writer, log } = scratch("own");
        let deadline = Deadline::new(t0, Duration::from_millis(50), Duration::ZERO, Cancel::new());
        let schedule = [Step { at_ms: 0, fault: Fault::Kill { nodes: vec!["n1".into()] } }];
        // a runtime of its own in every fault, as a system's tool may run
        // one (Restate's rejoin waits on its nodes' health that way)
        let own_runtime = Applies(|_: &Fault| {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            Ok(rt.block_on(async { json!({"own": "runtime"}) }))
        });
        let errs = real_time().block_on(run_schedule(&own_runtime, &schedule, &rec, &log, &deadline, false));
        assert!(errs.is_empty(), "{errs:?}");
        // applied inside the schedule's runtime, it could not
        let errs = real_time().block_on(run_schedule(&own_runtime, &schedule, &rec, &log, &deadline, true));
        assert!(errs.iter().any(|e| e.contains("the injector panicked")), "{errs:?}");
        finish(dir, rec, writer);
    }

    #[test]
    fn a_panicking_injector_is_a_failed_fault_and_the_load_still_ends() {
        let Scratch { dir, t0, rec, writer, log } = scratch("panic");
        let deadline = Deadline::new(t0, Duration::from_millis(50), Duration::ZERO, Cancel::new());
        let schedule = [Step { at_ms: 0, fault: Fault::Kill { nodes: vec!["n1".into()] } }];
        let panics = Applies(|f: &Fault| panic!("cannot {}", f.f()));
        let errs = real_time().block_on(run_schedule(&panics, &schedule, &rec, &log, &deadline, false));
        assert_eq!(errs.len(), 2, "the kill and its final heal each failed: {errs:?}");
        assert!(errs[0].contains("the injector panicked: cannot kill"), "{errs:?}");
        std::thread::sleep(Duration::from_millis(60).saturating_sub(t0.elapsed()));
        assert!(deadline.passed(), "nothing is left being applied");
        finish(dir, rec, writer);
    }

    #[test]
    fn a_late_heal_is_followed_by_the_whole_recovery_window() {
        let Scratch { dir, t0, rec, writer, log } = scratch("heal");
        // the load would end at 100 ms; the heal starts at 50 ms and takes 300
        let deadline = Deadline::new(t0, Duration::from_millis(100), Duration::from_millis(200), Cancel::new());
        // heals slowly, and records whether the load could have stopped
        let passed = Mutex::new(Vec::new());
        let injector = Applies(|f: &Fault| {
            if !nuclei::Catalog::shared().opens(f) {
                std::thread::sleep(Duration::from_millis(300));
            }
            passed.lock().unwrap().push(deadline.passed());
            Ok(json!({}))
        });
        let schedule =
            [Step { at_ms: 0, fault: Fault::StartPartition { grudge: Default::default(), ports: vec![] } }, Step { at_ms: 50, fault: Fault::StopPartition }];
        let errs = real_time().block_on(run_schedule(&injector, &schedule, &rec, &log, &deadline, false));
        assert!(errs.is_empty(), "{errs:?}");
        let healed = t0.elapsed();
        assert_eq!(*passed.lock().unwrap(), [false, false], "the load stops only once the heal is over");
        let end = deadline.end() - t0;
        assert!(end >= healed + Duration::from_millis(190) && end <= healed + Duration::from_millis(260), "{end:?} after a heal at {healed:?}");
        assert!(!deadline.passed());
        std::thread::sleep(end.saturating_sub(t0.elapsed()) + Duration::from_millis(10));
        assert!(deadline.passed());
        // a heal in time leaves the end where it was
        let d = Deadline::new(Instant::now(), Duration::from_secs(60), Duration::from_secs(1), Cancel::new());
        assert_eq!(d.healed_now(), None);
        finish(dir, rec, writer);
    }
}
