//! `faultline run`: the test lifecycle.
//!
//! A [`Test`] (options, seed, system, nodes) goes through the lifecycle's
//! named phases ([`lifecycle::Phase`]): preflight -> setup -> start
//! (readiness, timed) -> clients -> workload with faults for the time limit,
//! the final heal and a recovery window of normal load -> final reads ->
//! collect (logs) -> teardown (or `--keep`); then check -> report -> exit
//! code. Faults are healed on every path: normal end, error, panic (one
//! teardown guard), SIGINT and SIGTERM (the workload stops early and the run
//! goes on to heal, check and report).

pub mod analysis;
mod bench;
pub mod junit;
pub mod lifecycle;
#[cfg(test)]
mod lifecycle_tests;
mod load;
mod log;
pub mod options;
mod recorder;
pub mod report;
pub mod scenario;
mod schedule;
mod startup;
pub mod store;
pub mod system;
mod teardown;
mod test;
mod workload_phase;

mod cancel;
mod error;
pub mod exit;
pub use bench::bench_runner;
pub use cancel::{cancelled, Cancel};
pub use error::{ConfigError, StoreError};
pub use log::Log;
pub use test::{Test, TestError};

use history::Rng;
use options::RunConfig;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};
use system::System;

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

/// One run of the test `cfg` describes, stopped by the process's signals:
/// its exit code and directory (a test that cannot be made is said on
/// stderr, with its exit code and no directory).
pub fn run_once(cfg: &RunConfig, cfg_text: Option<String>) -> (i32, Option<PathBuf>) {
    match Test::new(cfg, cfg_text) {
        Ok(test) => test.run(&Cancel::on_signals()),
        Err(e) => {
            eprintln!("run: {e}");
            (e.exit_code(), None)
        }
    }
}

/// Runs `system` (any implementation of the runner's contract, in this
/// crate or another) with `cfg`: the whole lifecycle, the checks and the
/// report in a new run directory of `cfg.store`. The exit code (the table in
/// [`crate::exit`]) and the run directory.
pub fn run_system(cfg: &RunConfig, system: Box<dyn System>) -> (i32, Option<PathBuf>) {
    Test::of_system(cfg, system).run(&Cancel::on_signals())
}

/// As [`run_system`], stopped when `cancel` is set (and not by the
/// process's signals): a caller running several at once stops each alone.
pub fn run_system_until(cfg: &RunConfig, system: Box<dyn System>, cancel: &Cancel) -> (i32, Option<PathBuf>) {
    Test::of_system(cfg, system).run(cancel)
}
