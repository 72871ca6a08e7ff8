//! A system's own part in a run beyond its faults: what it reads of a run
//! once the run ends (from its nodes' logs and the live cluster), its own
//! checks of the run, and its section of the report. The runner and
//! `analyze` ask for these through [`crate::Db::as_own`]; no generic crate
//! knows what they hold (Restate: the seals its nodes logged, the appends'
//! stall after each seal, the seals tried while it started, the log chain
//! and wiped nodes rejoining).

use checker::slo::Slos;
use history::{History, HistoryError};
use reports::Shade;
use results::{Checks, OwnCheck, RunFacts};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

use crate::Topology;

/// A run, as a system's own checks and report section see it.
pub struct RunView<'a> {
    /// The whole history (clients, probes, nemesis).
    pub history: &'a History,
    /// `run.json`, with what the system read of the run (`own`).
    pub facts: &'a RunFacts,
    /// The SLOs the run was judged against.
    pub slos: &'a Slos,
    /// The workload's name of the log a system key holds (`log3` -> `3`),
    /// when the key is one of a log workload's.
    pub log_of_key: &'a dyn Fn(&str) -> Option<String>,
}

/// A system's own reading of a run, its checks and its report section.
pub trait OwnRun: Send + Sync {
    /// What it reads of a run once the run ended, by name (kept in
    /// `run.json`'s `own`): from its nodes' logs, collected in `logs` as
    /// `<node>/<file name>`, and from the live cluster `topo`. `faults`
    /// names each fault the run applied; `start_unix_s` is the history's
    /// time 0.
    fn facts(&self, logs: &Path, topo: &Topology, start_unix_s: f64, faults: &[&str]) -> BTreeMap<String, Value>;
    /// Its checks of the run, by name (each beside the generic checks in
    /// `results.json`).
    fn checks(&self, run: &RunView) -> Result<Vec<(String, OwnCheck)>, HistoryError>;
    /// Its section of the report, as HTML (empty when it has nothing to
    /// show); `shades` are the fault windows, `t_end` the run's length in s.
    fn report(&self, run: &RunView, checks: &Checks, shades: &[Shade], t_end: f64) -> String;
}
