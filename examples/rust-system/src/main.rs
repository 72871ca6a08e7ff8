//! Runs the example store through faultline's runner: the register workload
//! with kills, 10 s; prints the run directory and exits with the verdict.

use runner::options::RunConfig;

fn main() {
    let store = std::env::args().nth(1).unwrap_or_else(|| "store".into());
    let cfg = RunConfig {
        workload: "register".into(),
        nemesis: vec!["kill".into()],
        time_limit: 10.0,
        recovery_window: 3.0,
        interval: 2.0,
        fault_duration: 2.0,
        store: store.into(),
        ..RunConfig::default()
    };
    let (code, dir) = runner::run_system(&cfg, Box::new(faultline_example_rust_system::KvSystem::default()));
    if let Some(d) = dir {
        println!("{}", d.display());
    }
    std::process::exit(code);
}
