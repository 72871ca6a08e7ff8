//! A scenario's `startup_plan`: faults applied from the instant the nodes
//! are started, while the system bootstraps and becomes ready (a seal while
//! the log servers are still provisioning); their windows are closed once
//! it is ready. What each did goes to run.json.

use nuclei::{Fault, Injector, Step};
use results::StartupFault;
use serde_json::json;
use std::time::{Duration, Instant};

fn record(injector: &dyn Injector, fault: &Fault, started: Instant) -> StartupFault {
    let at_ms = started.elapsed().as_millis() as u64;
    let (value, error) = match injector.apply(fault, started) {
        Ok(v) => (v, None),
        Err(e) => (json!({"error": e.to_string()}), Some(e.to_string())),
    };
    StartupFault { at_ms, fault: serde_json::to_value(fault).unwrap_or_default(), f: fault.f().to_string(), value, error }
}

/// Applies `steps`, each at its `at_ms` after `started`, in this thread:
/// the faults applied and what each did.
pub fn apply(injector: &dyn Injector, steps: &[Step], started: Instant) -> (Vec<Fault>, Vec<StartupFault>) {
    let mut applied = Vec::new();
    let mut records = Vec::new();
    for s in steps {
        let at = started + Duration::from_millis(s.at_ms);
        if let Some(wait) = at.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        records.push(record(injector, &s.fault, started));
        applied.push(s.fault.clone());
    }
    (applied, records)
}

/// Closes the windows `applied` left open (last opened first): each
/// inverse, recorded.
pub fn close(injector: &dyn Injector, applied: &[Fault], started: Instant) -> Vec<StartupFault> {
    injector.catalog().closing(applied).iter().map(|inv| record(injector, inv, started)).collect()
}
