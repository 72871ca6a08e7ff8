//! `append`: unique appends to a few logs and whole-log reads; no
//! acknowledged append lost, no duplicate, every read a prefix of one
//! order; slow appends listed with their latency.

use crate::{log_key, op_row, CheckContext, Generator, Op, Workload};
use checker::logs::{check_append, AppendResult};
use history::{History, HistoryError, Rng};
use results::Checks;
use serde_json::{json, Value};
use systems::Call;

/// How many logs the workload appends to.
pub const LOGS: u64 = 3;

/// The append workload.
pub struct Append;

struct Appends {
    rng: Rng,
    next: u64,
}

impl Generator for Appends {
    fn next(&mut self, _process: u64) -> Op {
        let log = self.rng.below(LOGS);
        if self.rng.below(3) == 0 {
            read(log)
        } else {
            self.next += 1;
            append(log, self.next)
        }
    }
    fn final_reads(&self) -> Vec<Op> {
        (0..LOGS).map(read).collect()
    }
}

/// Appends `value` to log `log`: `[log, value]`.
pub fn append(log: u64, value: u64) -> Op {
    Op::update("append", json!([log, value]), Call::new("append", log_key(log), Some(json!(value))))
}

/// Reads log `log` whole: `[log, list]`.
pub fn read(log: u64) -> Op {
    let mut op = Op::keyed_read("read", log, Call::new("read-log", log_key(log), None));
    op.answer = |op, v| Ok(json!([op.value[0], crate::set::list(v)]));
    op
}

impl Workload for Append {
    fn name(&self) -> &'static str {
        "append"
    }
    fn fs(&self) -> &'static [&'static str] {
        &["append", "read-log"]
    }
    fn about(&self) -> &'static str {
        "logs: unique appends and whole-log reads; lost, duplicated and divergent appends, slow appends"
    }
    fn generator(&self, _concurrency: usize, seed: u64) -> Box<dyn Generator> {
        Box::new(Appends { rng: Rng::new(seed), next: 0 })
    }
    fn check(&self, h: &History, ctx: &CheckContext, checks: &mut Checks) -> Result<(), HistoryError> {
        checks.record("append", &check_append(h, ctx.slow_append_s)?);
        Ok(())
    }
    fn findings(&self, checks: &Checks, h: &History) -> String {
        // the section shows the append-latency SLO even without the check
        let append = match checks.outcome::<AppendResult>("append") {
            Some(Err(_)) => return crate::with_outcome(checks, "append", |_: &AppendResult| String::new()),
            other => other.and_then(Result::ok),
        };
        let mut problems = Vec::new();
        for l in append.iter().flat_map(|a| &a.logs) {
            for (what, items) in [("lost", &l.lost), ("unexpected", &l.unexpected), ("duplicated", &l.duplicated)] {
                for (v, op) in items.iter().take(50) {
                    problems.push(json!({"log": l.log, "what": format!("{what} value {v}"), "op": op_row(h, *op)}));
                }
            }
            for d in l.divergent.iter().take(50) {
                problems.push(json!({"log": l.log, "what": "read not a prefix of the longest", "op": op_row(h, *d)}));
            }
        }
        let slow: Vec<Value> = append
            .iter()
            .flat_map(|a| a.slow_appends.iter().take(100))
            .map(|(log, value, secs, op)| json!({"log": log, "value": value, "secs": secs, "op": op}))
            .collect();
        let ctx = json!({
            "append": append.as_ref().map(|a| json!({"valid": a.valid.as_str(), "attempted": a.attempted, "acknowledged": a.acknowledged, "reason": a.reason})),
            "problems": problems,
            "slow": slow,
            "slow_count": append.as_ref().map_or(0, |a| a.slow_appends.len()),
            "latency": checks.append_latency.as_ref().map(|a| json!({"worst_s": a.worst_s, "slo_s": a.slo_s, "valid": a.valid.as_str()})),
        });
        reports::template::render("append.html", include_str!("../templates/append.html"), ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_are_unique_and_every_log_is_read_at_the_end() {
        let mut g = Append.generator(4, 1);
        let ops: Vec<Op> = (0..100).map(|i| g.next(i)).collect();
        assert!(ops.iter().any(|o| o.call.f == "read-log" && o.read));
        let values: Vec<u64> = ops.iter().filter(|o| o.f == "append").map(|o| o.value[1].as_u64().unwrap()).collect();
        assert!(ops.iter().all(|o| o.call.key.starts_with("log")));
        assert_eq!(values.iter().collect::<std::collections::BTreeSet<_>>().len(), values.len());
        assert_eq!(g.final_reads().len(), LOGS as usize);
        assert_eq!(append(2, 9).call, Call::new("append", "log2", Some(json!(9))));
    }
}
