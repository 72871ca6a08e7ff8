//! The example system, from its own crate, through faultline's runner.

use faultline_example_rust_system::KvSystem;
use runner::options::RunConfig;

#[test]
fn a_system_written_in_another_crate_runs_and_is_judged_valid() {
    let store = std::env::temp_dir().join(format!("faultline-example-{}", std::process::id()));
    let cfg = RunConfig {
        workload: "register".into(),
        nemesis: vec!["kill".into()],
        time_limit: 6.0,
        recovery_window: 4.0,
        interval: 1.0,
        fault_duration: 1.0,
        store: store.clone(),
        ..RunConfig::default()
    };
    let (code, dir) = runner::run_system(&cfg, Box::new(KvSystem::default()));
    let dir = dir.expect("a run directory");
    let r: results::RunResults = results::read(&dir.join("results.json")).unwrap();
    assert_eq!(code, 0, "{}", r.summary);
    assert!(r.checks.named.contains_key("linearizable"), "{}", r.summary);
    assert!(r.stats.as_ref().is_some_and(|s| s.ok > 50), "{:?}", r.stats);
    assert!(dir.join("report.html").exists());
    let _ = std::fs::remove_dir_all(store);
}

#[test]
fn a_workload_of_transactions_is_refused_by_a_client_that_runs_none() {
    let store = std::env::temp_dir().join(format!("faultline-example-txn-{}", std::process::id()));
    let cfg = RunConfig { workload: "list-append".into(), nemesis: Vec::new(), time_limit: 2.0, store: store.clone(), ..RunConfig::default() };
    let (code, dir) = runner::run_system(&cfg, Box::new(KvSystem::default()));
    let r: results::RunResults = results::read(&dir.expect("a run directory").join("results.json")).unwrap();
    assert_eq!(code, 254, "refused as bad input: {}", r.summary);
    assert!(r.summary.contains("does not serve `txn`, which the list-append workload needs"), "{}", r.summary);
    let _ = std::fs::remove_dir_all(store);
}
