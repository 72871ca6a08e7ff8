//! The fault schedule as a task of the run's one runtime, beside the
//! clients and probes: it waits on the run's clock, applies each fault and
//! awaits it, and on interruption closes the open windows. On real nodes a
//! fault blocks (SSH, a system's tools, which may run a runtime of their
//! own), so it is applied on the run's fault thread, outside any runtime,
//! while the schedule's task awaits its answer and the clients go on.

use super::load::Deadline;
use super::log::Log;
use super::recorder::Recorder;
use history::{Op, OpType, Process};
use nuclei::{Fault, FaultError, Injector, Step};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use systems::clock;
use tokio::sync::oneshot;

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

/// Applies `f`; a panicking injector is a failed fault (the run goes on
/// and heals).
fn guarded(nemesis: &dyn Injector, f: &Fault, t0: Instant) -> Result<Value, FaultError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| nemesis.apply(f, t0))).unwrap_or_else(|p| {
        let msg = p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default();
        Err(FaultError::Invalid(format!("the injector panicked: {msg}")))
    })
}

type Job = (Fault, oneshot::Sender<Result<Value, FaultError>>);

/// The run's fault thread: faults sent to it are applied there, one at a
/// time, each answer awaited by the schedule's task.
pub struct FaultThread(mpsc::Sender<Job>);

impl FaultThread {
    async fn apply(&self, f: &Fault) -> Result<Value, FaultError> {
        let (tx, rx) = oneshot::channel();
        self.0.send((f.clone(), tx)).map_err(|_| FaultError::Invalid("the fault thread is gone".into()))?;
        rx.await.unwrap_or_else(|_| Err(FaultError::Invalid("the fault thread stopped before answering".into())))
    }
}

/// Runs `body` with a fault thread applying `nemesis`'s faults; the thread
/// ends with it.
pub fn with_fault_thread<R>(nemesis: &dyn Injector, t0: Instant, body: impl FnOnce(&FaultThread) -> R) -> R {
    std::thread::scope(|s| {
        let (tx, rx) = mpsc::channel::<Job>();
        s.spawn(move || {
            for (f, answer) in rx {
                let _ = answer.send(guarded(nemesis, &f, t0));
            }
        });
        let thread = FaultThread(tx);
        body(&thread)
    })
}

/// Applies one fault where the run applies them and records it (invoke,
/// then info with what was done or the error); a heal that ends late
/// moves the load's end.
async fn apply(nemesis: &dyn Injector, on: Option<&FaultThread>, f: &Fault, rec: &Recorder, log: &Log, deadline: &Deadline, errs: &mut Vec<String>) {
    rec.record(Op::new(Process::Nemesis, OpType::Invoke, f.f(), serde_json::to_value(f).unwrap_or_default()));
    let applying = Applying::start(&deadline.applying);
    let r = match on {
        Some(thread) => thread.apply(f).await,
        None => guarded(nemesis, f, rec.t0()),
    };
    drop(applying);
    let value = match r {
        Ok(v) => v,
        Err(e) => {
            log.say(&format!("nemesis {}: {e}", f.f()));
            errs.push(format!("{}: {e}", f.f()));
            json!({"error": e.to_string()})
        }
    };
    rec.record(Op::new(Process::Nemesis, OpType::Info, f.f(), value));
    if !nemesis.catalog().opens(f) {
        if let Some(end) = deadline.healed_now() {
            log.say(&format!("{} ended late: the load goes on to {end:.1} s for the recovery window", f.f()));
        }
    }
}

/// Runs the fault schedule on the run's clock; on interruption closes the
/// open windows. Returns the problems met. Each fault is applied on `on`,
/// the run's fault thread, or without one in this task (an in-process
/// system on simulated time: its injector reads the runtime's clock, which
/// cannot move meanwhile).
pub async fn run_schedule(nemesis: &dyn Injector, on: Option<&FaultThread>, schedule: &[Step], rec: &Recorder, log: &Log, deadline: &Deadline) -> Vec<String> {
    let mut errs = Vec::new();
    let mut applied: Vec<Fault> = Vec::new();
    let catalog = nemesis.catalog();
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
        apply(nemesis, on, &step.fault, rec, log, deadline, &mut errs).await;
        log.set_fault(if catalog.opens(&step.fault) { step.fault.f() } else { "" });
        applied.push(step.fault.clone());
    }
    // every window still open (they may overlap), last opened first
    for inv in catalog.closing(&applied) {
        log.say(&format!("nemesis: final heal: {}", inv.f()));
        apply(nemesis, on, &inv, rec, log, deadline, &mut errs).await;
    }
    log.set_fault("");
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Cancel;
    use std::sync::atomic::AtomicU64;
    use std::sync::Mutex;

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
        // one (a wiped node's rejoin may wait on its health that way)
        let own_runtime = Applies(|_: &Fault| {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            Ok(rt.block_on(async { json!({"own": "runtime"}) }))
        });
        let errs = with_fault_thread(&own_runtime, t0, |w| real_time().block_on(run_schedule(&own_runtime, Some(w), &schedule, &rec, &log, &deadline)));
        assert!(errs.is_empty(), "{errs:?}");
        // applied inside the schedule's runtime, it could not
        let errs = real_time().block_on(run_schedule(&own_runtime, None, &schedule, &rec, &log, &deadline));
        assert!(errs.iter().any(|e| e.contains("the injector panicked")), "{errs:?}");
        finish(dir, rec, writer);
    }

    #[test]
    fn a_panicking_injector_is_a_failed_fault_and_the_load_still_ends() {
        let Scratch { dir, t0, rec, writer, log } = scratch("panic");
        let deadline = Deadline::new(t0, Duration::from_millis(50), Duration::ZERO, Cancel::new());
        let schedule = [Step { at_ms: 0, fault: Fault::Kill { nodes: vec!["n1".into()] } }];
        let panics = Applies(|f: &Fault| panic!("cannot {}", f.f()));
        let errs = with_fault_thread(&panics, t0, |w| real_time().block_on(run_schedule(&panics, Some(w), &schedule, &rec, &log, &deadline)));
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
        let errs = with_fault_thread(&injector, t0, |w| real_time().block_on(run_schedule(&injector, Some(w), &schedule, &rec, &log, &deadline)));
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

    #[test]
    fn the_clients_go_on_while_a_fault_blocks_on_the_fault_thread() {
        let Scratch { dir, t0, rec, writer, log } = scratch("one-runtime");
        let deadline = Deadline::new(t0, Duration::from_millis(400), Duration::ZERO, Cancel::new());
        let schedule = [Step { at_ms: 0, fault: Fault::Kill { nodes: vec!["n1".into()] } }];
        // a fault that blocks its thread for 300 ms, as SSH does
        let blocks = Applies(|_: &Fault| {
            std::thread::sleep(Duration::from_millis(300));
            Ok(json!({}))
        });
        let ticks = AtomicU64::new(0);
        let client = async {
            while t0.elapsed() < Duration::from_millis(300) {
                tokio::time::sleep(Duration::from_millis(10)).await;
                ticks.fetch_add(1, Ordering::SeqCst);
            }
        };
        // one runtime, one thread of it: the schedule and a client together
        let errs = with_fault_thread(&blocks, t0, |w| {
            real_time().block_on(async { tokio::join!(run_schedule(&blocks, Some(w), &schedule, &rec, &log, &deadline), client).0 })
        });
        assert!(errs.is_empty(), "{errs:?}");
        let n = ticks.load(Ordering::SeqCst);
        assert!(n >= 10, "the client ran while the kill and its heal blocked: {n} ticks");
        finish(dir, rec, writer);
    }
}
