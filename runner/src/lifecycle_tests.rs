//! The lifecycle's order on every path (issue 22's bugs 5 and 6): the
//! nemesis is set up before a start-up fault is applied, and the system is
//! stopped when the run ends early. An in-memory cluster wrapped to watch
//! what the runner does to it.

use super::options::RunConfig;
use super::system::{InMemory, System};
use nuclei::{Fault, FaultError, Injector, Needs, Step};
use serde_json::Value;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use systems::{BoxFuture, Client, NotReady, Topology};

/// The in-memory cluster, its injector refusing faults before its setup
/// (as iptables refuses rules in a chain not yet made), its setup failing
/// on demand, its teardowns counted.
struct Watched {
    inner: InMemory,
    set_up: AtomicBool,
    fail_setup: bool,
    /// The system's start panics (a bug in a system's code).
    panic_at_start: bool,
    torn_down: Arc<AtomicUsize>,
    healed: Arc<AtomicUsize>,
}

impl Injector for Watched {
    fn preflight(&self, needs: &[Needs]) -> Result<(), FaultError> {
        self.inner.injector().preflight(needs)
    }
    fn setup(&self) -> Result<(), FaultError> {
        if self.fail_setup {
            return Err(FaultError::Invalid("the chains could not be made".into()));
        }
        self.set_up.store(true, Ordering::SeqCst);
        self.inner.injector().setup()
    }
    fn apply(&self, f: &Fault, t0: Instant) -> Result<Value, FaultError> {
        if !self.set_up.load(Ordering::SeqCst) {
            return Err(FaultError::Invalid(format!("{} before the nemesis was set up", f.f())));
        }
        self.inner.injector().apply(f, t0)
    }
    fn heal_all(&self) -> Vec<FaultError> {
        self.healed.fetch_add(1, Ordering::SeqCst);
        self.inner.injector().heal_all()
    }
}

impl System for Watched {
    fn name(&self) -> &str {
        "memory"
    }
    fn topology(&self) -> &Topology {
        self.inner.topology()
    }
    fn injector(&self) -> &dyn Injector {
        self
    }
    fn start(&self) -> Result<(), String> {
        assert!(!self.panic_at_start, "the system's start panicked");
        Ok(())
    }
    fn services(&self) -> Vec<String> {
        self.inner.services()
    }
    fn probe<'a>(&'a self, node: usize, service: &'a str, timeout: Duration) -> BoxFuture<'a, Result<(), NotReady>> {
        self.inner.probe(node, service, timeout)
    }
    fn client(&self, node: usize, process: u64, timeout: Duration) -> Box<dyn Client> {
        self.inner.client(node, process, timeout)
    }
    fn teardown(&self) -> Vec<String> {
        self.torn_down.fetch_add(1, Ordering::SeqCst);
        Vec::new()
    }
}

impl Watched {
    fn new(fail_setup: bool, panic_at_start: bool, torn_down: &Arc<AtomicUsize>, healed: &Arc<AtomicUsize>) -> Watched {
        let (torn_down, healed) = (torn_down.clone(), healed.clone());
        Watched { inner: InMemory::new(3, &[]), set_up: AtomicBool::new(false), fail_setup, panic_at_start, torn_down, healed }
    }
}

fn run(name: &str, fail_setup: bool) -> (results::RunFacts, usize) {
    let store = std::env::temp_dir().join(format!("faultline-lifecycle-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&store);
    let grudge = nuclei::grudge::isolate(&["n1".into(), "n2".into(), "n3".into()], "n3");
    let cfg = RunConfig {
        db: "memory".into(),
        nemesis: Vec::new(),
        time_limit: 0.5,
        recovery_window: 0.2,
        store: store.clone(),
        startup_plan: vec![Step { at_ms: 0, fault: Fault::StartPartition { grudge, ports: vec![] } }],
        seed: Some(1),
        ..RunConfig::default()
    };
    let torn_down = Arc::new(AtomicUsize::new(0));
    let system = Watched::new(fail_setup, false, &torn_down, &Arc::default());
    let (_, dir) = super::run_system(&cfg, Box::new(system));
    let dir = dir.expect("a run directory");
    let facts = results::read(&Path::new(&dir).join("run.json")).unwrap();
    let _ = std::fs::remove_dir_all(&store);
    (facts, torn_down.load(Ordering::SeqCst))
}

#[test]
fn a_start_up_fault_finds_the_nemesis_set_up() {
    let (facts, torn_down) = run("startup", false);
    assert!(!facts.startup_faults.is_empty(), "{facts:?}");
    assert!(facts.startup_faults.iter().all(|f| f.error.is_none()), "{:?}", facts.startup_faults);
    assert_eq!(torn_down, 1, "stopped once at the end");
    let phases: Vec<&str> = facts.lifecycle.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(phases, ["preflight", "setup", "start", "clients", "workload", "final reads", "collect", "teardown"]);
    assert!(facts.lifecycle.windows(2).all(|w| w[0].at_s <= w[1].at_s), "{:?}", facts.lifecycle);
}

#[test]
fn a_run_that_ends_early_still_stops_the_system() {
    let (facts, torn_down) = run("setup-fails", true);
    assert!(facts.infrastructure_error.as_deref().is_some_and(|e| e.contains("nemesis setup failed")), "{facts:?}");
    assert_eq!(torn_down, 1, "the system is not left running");
    let phases: Vec<&str> = facts.lifecycle.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(phases, ["preflight", "setup"], "the run says where it stopped");
}

#[test]
fn a_run_stopped_by_its_own_token_ends_interrupted_and_no_other_run_stops() {
    let store = std::env::temp_dir().join(format!("faultline-lifecycle-{}-cancel", std::process::id()));
    let _ = std::fs::remove_dir_all(&store);
    let cfg = RunConfig { db: "memory".into(), time_limit: 3600.0, recovery_window: 0.2, store: store.clone(), seed: Some(2), ..RunConfig::default() };
    let cancel = super::Cancel::new();
    cancel.cancel();
    let (_, dir) = super::run_system_until(&cfg, Box::new(InMemory::new(3, &[])), &cancel);
    let facts: results::RunFacts = results::read(&dir.expect("a run directory").join("run.json")).unwrap();
    assert!(facts.interrupted, "an hour-long run stopped at once: {facts:?}");
    assert!(!super::Cancel::on_signals().is_cancelled(), "the process's own token is untouched");
    let _ = std::fs::remove_dir_all(&store);
}

#[test]
fn a_panic_inside_the_lifecycle_still_heals_and_stops_the_system() {
    let store = std::env::temp_dir().join(format!("faultline-lifecycle-{}-panic", std::process::id()));
    let _ = std::fs::remove_dir_all(&store);
    let cfg = RunConfig { db: "memory".into(), time_limit: 0.5, recovery_window: 0.2, store: store.clone(), seed: Some(3), ..RunConfig::default() };
    let (torn_down, healed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let system = Watched::new(false, true, &torn_down, &healed);
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| super::run_system(&cfg, Box::new(system))));
    assert!(run.is_err(), "the panic reaches the caller");
    assert_eq!(healed.load(Ordering::SeqCst), 1, "healed while the panic unwound");
    assert_eq!(torn_down.load(Ordering::SeqCst), 1, "and stopped");
    let _ = std::fs::remove_dir_all(&store);
}
