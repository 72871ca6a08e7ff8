//! faultline's workloads. A [`Workload`] is one unit: its generator (what
//! each client process does next), the operations it needs from a
//! system's client ([`Op`]s, each a [`systems::Call`]), its checkers and
//! its findings for the report. Every workload is registered in
//! [`WORKLOADS`], the one list the runner, `analyze` and the CLI read.
//!
//! ```
//! let w = workloads::by_name("set").unwrap();
//! let mut g = w.generator(3, 7);
//! assert!(matches!(g.next(0).f, "add" | "read"));
//! ```

mod append;
pub mod list_append;
mod op;
mod queue;
pub mod register;
mod rw_register;
mod set;

pub use append::Append;
pub use list_append::ListAppend;
pub use op::{as_asked, keyed, log_key, log_of_key, perform, unserved, Answer, Op};
pub use queue::Queue;
pub use register::Register;
pub use rw_register::RwRegister;
pub use set::Set;

use checker::txn::Consistency;
use history::{History, HistoryError};
use results::Checks;

/// What a check needs to know of the run besides the history.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CheckContext {
    /// Reads were asked to be linearizable (not `--serializable`).
    pub linearizable_reads: bool,
    /// Appends slower than this are listed, seconds.
    pub slow_append_s: f64,
    /// The consistency model transactions are checked against.
    pub consistency: Consistency,
}

impl Default for CheckContext {
    fn default() -> Self {
        CheckContext { linearizable_reads: true, slow_append_s: 1.0, consistency: Consistency::Serializable }
    }
}

impl CheckContext {
    /// What a run's history header records of this context.
    pub fn settings(&self) -> history::CheckSettings {
        history::CheckSettings {
            consistency: Some(self.consistency.name().to_string()),
            linearizable_reads: self.linearizable_reads,
            slow_append_s: self.slow_append_s,
        }
    }

    /// The context a history header recorded; `None` when it names a
    /// consistency model there is none of.
    pub fn from_settings(s: &history::CheckSettings) -> Option<CheckContext> {
        let consistency = match s.consistency.as_deref() {
            Some(name) => Consistency::parse(name)?,
            None => Consistency::Serializable,
        };
        Some(CheckContext { linearizable_reads: s.linearizable_reads, slow_append_s: s.slow_append_s, consistency })
    }
}

/// What each client process does next: pure and seeded.
pub trait Generator: Send {
    /// The next op for `process`.
    fn next(&mut self, process: u64) -> Op;
    /// The reads that end a run, after the heal.
    fn final_reads(&self) -> Vec<Op>;
}

/// A workload: generator, checks and findings, as one unit.
pub trait Workload: Send + Sync {
    /// Its name (`--workload NAME`, the history header, records).
    fn name(&self) -> &'static str;
    /// One line for `--help`.
    fn about(&self) -> &'static str;
    /// The operations (`f`s of its [`Op::call`]s) a system's client must
    /// serve: preflight refuses a client that serves not all of them, and
    /// `client-check --workload` checks them.
    fn fs(&self) -> &'static [&'static str];
    /// A generator for `concurrency` processes, seeded.
    fn generator(&self, concurrency: usize, seed: u64) -> Box<dyn Generator>;
    /// Checks the workload's ops (the history holds no probe or nemesis
    /// op) and records the result in `checks`; an error (a malformed
    /// history) is the reason the check is unknown.
    fn check(&self, h: &History, ctx: &CheckContext, checks: &mut Checks) -> Result<(), HistoryError>;
    /// What the checks found, as HTML for the report.
    fn findings(&self, checks: &Checks, h: &History) -> String;
}

/// Every workload: adding one is a module and a line here.
pub static WORKLOADS: &[&dyn Workload] = &[&Register, &Set, &Append, &ListAppend, &RwRegister, &Queue];

/// The workload of that name.
pub fn by_name(name: &str) -> Option<&'static dyn Workload> {
    WORKLOADS.iter().copied().find(|w| w.name() == name)
}

/// Every workload's name, for error messages.
pub fn names() -> Vec<&'static str> {
    WORKLOADS.iter().map(|w| w.name()).collect()
}

/// The findings of the check `name` from its typed outcome (`show`): none
/// when it did not run, an error paragraph when its outcome is not of that type.
pub(crate) fn with_outcome<T: serde::de::DeserializeOwned>(checks: &Checks, name: &str, show: impl FnOnce(&T) -> String) -> String {
    match checks.outcome::<T>(name) {
        None => String::new(),
        Some(Ok(outcome)) => show(&outcome),
        Some(Err(e)) => reports::template::render(
            "outcome-error.html",
            include_str!("../templates/outcome-error.html"),
            serde_json::json!({"name": name, "error": e.to_string()}),
        ),
    }
}

/// The op's history row for a finding (`#index p3 ok add 7 n1`).
pub(crate) fn op_row(h: &History, id: u64) -> String {
    h.ops
        .iter()
        .find(|o| o.index == id)
        .map(|o| format!("#{} p{} {} {} {} {}", o.index, o.process, o.kind.as_str(), o.f, o.value, o.node.as_deref().unwrap_or("")))
        .unwrap_or_else(|| format!("#{id}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_workloads_findings_render_from_their_templates() {
        use checker::logs::{AppendResult, LogResult};
        use checker::sets::SetResult;
        let mut h = History::default();
        h.ops.push(history::Op::new(history::Process::Client(0), history::OpType::Ok, "add", serde_json::json!(7)));
        use checker::sets::{Disagreement, ElementStory, ReadRef};
        let on = |op: u64, node: &str| ReadRef { op, node: Some(node.into()) };
        let disagree = vec![Disagreement { element: "5".into(), present: vec![on(3, "n1"), on(5, "n2")], absent: vec![on(7, "n3")] }];
        let story = ElementStory {
            element: "5".into(),
            add_invoke: Some(0),
            add_completion: Some(1),
            add_outcome: Some("ok".into()),
            last_seen: Some(on(5, "n2")),
            missed_by: vec![on(7, "n3")],
        };
        let set = SetResult {
            lost: vec![("7".into(), 0)],
            stale: vec![("8".into(), 0)],
            never_read: vec!["9".into()],
            disagree,
            stories: vec![story],
            ..Default::default()
        };
        let log = LogResult { log: "l0".into(), lost: vec![("3".into(), 0)], divergent: vec![0], ..Default::default() };
        let append = AppendResult { logs: vec![log], slow_appends: vec![("l0".into(), "4".into(), 1.5, 0)], ..Default::default() };
        let mut checks = Checks::default();
        checks.record("set", &set);
        checks.record("append", &append);
        let set_html = by_name("set").unwrap().findings(&checks, &h);
        assert!(set_html.contains("<td>5</td><td>#3 on n1, #5 on n2</td><td>#7 on n3</td>"), "{set_html}");
        assert!(set_html.contains("<td>#0, #1 (ok)</td><td>#5 on n2</td><td>#7 on n3</td>"), "{set_html}");
        for (w, want) in [("set", "<h3>lost: 1</h3>"), ("append", "log l0: lost value 3"), ("register", ""), ("list-append", "")] {
            let html = by_name(w).unwrap().findings(&checks, &h);
            assert!(!html.contains("class=\"err\""), "{w}: {html}");
            assert!(html.contains(want), "{w}: {html}");
        }
        assert!(by_name("append").unwrap().findings(&checks, &h).contains("<td>1.50</td>"));
    }

    #[test]
    fn every_workload_is_found_by_its_name_and_names_are_unique() {
        for w in WORKLOADS {
            assert_eq!(by_name(w.name()).map(|x| x.name()), Some(w.name()));
        }
        let mut n = names();
        n.dedup();
        assert_eq!(n.len(), WORKLOADS.len());
        assert!(by_name("nope").is_none());
    }
}
