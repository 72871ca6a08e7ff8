//! `append`: unique appends to a few logs and whole-log reads; no
//! acknowledged append lost, no duplicate, every read a prefix of one
//! order; slow appends listed with their latency.

use crate::{op_row, CheckContext, ClientOp, Generator, Workload};
use checker::logs::{check_append, AppendResult};
use history::{History, HistoryError, Rng};
use reports::html::esc;
use results::Checks;
use std::fmt::Write;

/// How many logs the workload appends to.
pub const LOGS: u64 = 3;

/// The append workload.
pub struct Append;

struct Appends {
    rng: Rng,
    next: u64,
}

impl Generator for Appends {
    fn next(&mut self, _process: u64) -> ClientOp {
        let log = self.rng.below(LOGS);
        if self.rng.below(3) == 0 {
            ClientOp::ReadLog { log }
        } else {
            self.next += 1;
            ClientOp::Append { log, value: self.next }
        }
    }
    fn final_reads(&self) -> Vec<ClientOp> {
        (0..LOGS).map(|log| ClientOp::ReadLog { log }).collect()
    }
}

impl Workload for Append {
    fn name(&self) -> &'static str {
        "append"
    }
    fn about(&self) -> &'static str {
        "logs: unique appends and whole-log reads; lost, duplicated and divergent appends, slow appends"
    }
    fn generator(&self, _concurrency: usize, seed: u64) -> Box<dyn Generator> {
        Box::new(Appends { rng: Rng::new(seed), next: 0 })
    }
    fn check(&self, h: &History, ctx: &CheckContext, checks: &mut Checks) -> Result<(), HistoryError> {
        checks.append = Some(check_append(h, ctx.slow_append_s)?);
        Ok(())
    }
    fn findings(&self, checks: &Checks, h: &History) -> String {
        let mut b = checks.append.as_ref().map(|a| findings(a, h)).unwrap_or_default();
        if let Some(a) = &checks.append_latency {
            let _ =
                write!(b, "<p>Append latency outside fault windows: worst {:.2} s against an SLO of {:.2} s: {}.</p>", a.worst_s, a.slo_s, a.valid.as_str());
        }
        b
    }
}

fn findings(app: &AppendResult, h: &History) -> String {
    let mut b = format!("<h2 id=\"append\">Append: {}</h2><p>{} appends attempted, {} acknowledged.</p>", app.valid.as_str(), app.attempted, app.acknowledged);
    if let Some(why) = &app.reason {
        let _ = write!(b, "<p>{}</p>", esc(why));
    }
    for l in &app.logs {
        for (k, items) in [("lost", &l.lost), ("unexpected", &l.unexpected), ("duplicated", &l.duplicated)] {
            for (v, op) in items.iter().take(50) {
                let _ = write!(b, "<p>log {}: {k} value {} — {}</p>", esc(&l.log), esc(v), esc(&op_row(h, *op)));
            }
        }
        for d in l.divergent.iter().take(50) {
            let _ = write!(b, "<p>log {}: read not a prefix of the longest — {}</p>", esc(&l.log), esc(&op_row(h, *d)));
        }
    }
    if !app.slow_appends.is_empty() {
        let _ = write!(
            b,
            "<h3>Slow appends ({})</h3><table class=\"sortable\"><thead><tr><th>log</th><th>value</th><th>seconds</th><th>op</th></tr></thead><tbody>",
            app.slow_appends.len()
        );
        for (log, value, secs, op) in app.slow_appends.iter().take(100) {
            let _ = write!(b, "<tr><td>{}</td><td>{}</td><td>{secs:.2}</td><td>{op}</td></tr>", esc(log), esc(value));
        }
        b += "</tbody></table>";
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_are_unique_and_every_log_is_read_at_the_end() {
        let mut g = Append.generator(4, 1);
        let ops: Vec<ClientOp> = (0..100).map(|i| g.next(i)).collect();
        assert!(ops.iter().any(|o| matches!(o, ClientOp::ReadLog { .. })));
        let values: Vec<u64> = ops.iter().filter_map(|o| if let ClientOp::Append { value, .. } = o { Some(*value) } else { None }).collect();
        assert_eq!(values.iter().collect::<std::collections::BTreeSet<_>>().len(), values.len());
        assert_eq!(g.final_reads().len(), LOGS as usize);
    }
}
