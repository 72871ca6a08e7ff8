//! The example system, from its own crate, through faultline's runner.

use faultline::run::options::RunConfig;
use faultline_example_rust_system::KvSystem;

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
    let (code, dir) = faultline::run::run_system(&cfg, Box::new(KvSystem::default()));
    let dir = dir.expect("a run directory");
    let r: results::RunResults = results::read(&dir.join("results.json")).unwrap();
    assert_eq!(code, 0, "{}", r.summary);
    assert!(r.checks.linearizable.is_some(), "{}", r.summary);
    assert!(r.stats.as_ref().is_some_and(|s| s.ok > 50), "{:?}", r.stats);
    assert!(dir.join("report.html").exists());
    let _ = std::fs::remove_dir_all(store);
}
