//! What the report's frame (`templates/run.html`) prints, as typed rows:
//! the numbers already formatted, every text escaped by the template.

use serde::Serialize;

/// One row of the recovery table, as the report prints it.
#[derive(Serialize)]
pub(crate) struct RecoveryRow<'a> {
    pub(crate) class: &'static str,
    pub(crate) window: usize,
    pub(crate) fault: &'a str,
    pub(crate) start_s: String,
    pub(crate) healed_at_s: String,
    pub(crate) node: &'a str,
    pub(crate) service: &'a str,
    pub(crate) first_success_s: Option<String>,
    pub(crate) recovered_s: Option<String>,
    pub(crate) slo_s: String,
    pub(crate) outcome: &'static str,
}

/// The worst recovery, in words.
#[derive(Serialize)]
pub(crate) struct Worst<'a> {
    pub(crate) window: usize,
    pub(crate) fault: &'a str,
    pub(crate) node: &'a str,
    pub(crate) service: &'a str,
    pub(crate) took: String,
    pub(crate) outcome: &'static str,
}

/// The start-up table.
#[derive(Serialize)]
pub(crate) struct StartupTable<'a> {
    pub(crate) nodes: Vec<(&'a str, String)>,
    pub(crate) cluster: String,
    pub(crate) not_ready: &'a [(String, String)],
}

/// One node's log excerpts.
#[derive(Serialize)]
pub(crate) struct LogSection<'a> {
    pub(crate) node: &'a str,
    pub(crate) link: &'a str,
    pub(crate) windows: Vec<LogWindow<'a>>,
}

/// The lines of one node's log around one window.
#[derive(Serialize)]
pub(crate) struct LogWindow<'a> {
    pub(crate) label: &'a str,
    pub(crate) count: usize,
    pub(crate) text: String,
}

/// Everything `templates/run.html` prints: the report's frame.
#[derive(Serialize)]
pub(crate) struct RunPage<'a> {
    pub(crate) name: &'a str,
    pub(crate) verdict: &'a str,
    pub(crate) verdict_class: &'static str,
    pub(crate) summary: &'a str,
    pub(crate) errors: Vec<&'a str>,
    pub(crate) interrupted: bool,
    pub(crate) recoveries: Vec<RecoveryRow<'a>>,
    pub(crate) worst: Option<Worst<'a>>,
    pub(crate) unhealed: Vec<serde_json::Value>,
    pub(crate) plot_sample: Option<(usize, usize)>,
    pub(crate) figures: Vec<String>,
    pub(crate) system: &'a str,
    pub(crate) findings: &'a str,
    pub(crate) unknown: Vec<(&'a str, &'a str)>,
    pub(crate) reproduce: String,
    pub(crate) system_label: String,
    pub(crate) seed: u64,
    pub(crate) started_at: &'a str,
    pub(crate) faultline_version: &'a str,
    pub(crate) test_json: String,
    pub(crate) startup: Option<StartupTable<'a>>,
    pub(crate) phases: String,
    pub(crate) timeline_sample: Option<usize>,
    pub(crate) timeline: &'static str,
    pub(crate) ops: String,
    pub(crate) logs: Vec<LogSection<'a>>,
}
