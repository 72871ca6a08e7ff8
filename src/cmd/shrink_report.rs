//! The shrink's report: `shrink.json` (every step and candidate) and
//! `shrink.html` (the same for people: the phases, each candidate's
//! windows, run length and outcomes, then the final plan and the command
//! that reproduces it).

use super::shrink::Record;
use serde_json::{json, Value};
use std::path::Path;

/// Writes `shrink.json` and `shrink.html` into `out`.
pub fn write(out: &Path, rec: &Record) -> Result<(), String> {
    let json = serde_json::to_string_pretty(rec).map_err(|e| e.to_string())?;
    std::fs::write(out.join("shrink.json"), json).map_err(|e| format!("{}: {e}", out.join("shrink.json").display()))?;
    std::fs::write(out.join("shrink.html"), html(rec)).map_err(|e| format!("{}: {e}", out.join("shrink.html").display()))
}

fn html(rec: &Record) -> String {
    // what the template cannot say: a fault and an outcome as JSON, a rate as a percentage
    let plan: Vec<Value> = rec.plan.iter().map(|s| json!({"at_ms": s.at_ms, "fault": serde_json::to_string(&s.fault).unwrap_or_default()})).collect();
    let candidates: Vec<Value> = rec
        .candidates
        .iter()
        .map(|c| {
            let outcomes: Vec<String> = c.outcomes.iter().map(|o| if o.is_empty() { "passed".into() } else { format!("{o:?}") }).collect();
            json!({"phase": c.phase, "windows": c.windows, "time_limit_s": c.time_limit_s, "outcomes": outcomes.join("; "), "kept": c.kept})
        })
        .collect();
    let ctx = json!({
        "run": rec.run.display().to_string(), "failure": rec.failure.iter().cloned().collect::<Vec<_>>().join(", "),
        "before": rec.windows_before, "after": rec.windows_after, "interrupted": rec.interrupted, "budget_exhausted": rec.budget_exhausted,
        "failures": rec.final_failures, "runs": rec.final_runs, "command": rec.command,
        "low": format!("{:.0}", rec.final_rate_ci95.0 * 100.0), "high": format!("{:.0}", rec.final_rate_ci95.1 * 100.0),
        "plan": plan, "candidates": candidates,
    });
    reports::template::render("shrink.html", include_str!("templates/shrink.html"), ctx)
}
