//! The shrink's report: `shrink.json` (every step and candidate) and
//! `shrink.html` (the same for people: the phases, each candidate's
//! windows, run length and outcomes, then the final plan and the command
//! that reproduces it).

use reports::html::esc;
use serde_json::Value;
use std::fmt::Write;
use std::path::Path;

/// Writes `shrink.json` and `shrink.html` into `out`.
pub fn write(out: &Path, rec: &Value) -> Result<(), String> {
    let json = serde_json::to_string_pretty(rec).map_err(|e| e.to_string())?;
    std::fs::write(out.join("shrink.json"), json).map_err(|e| format!("{}: {e}", out.join("shrink.json").display()))?;
    std::fs::write(out.join("shrink.html"), html(rec)).map_err(|e| format!("{}: {e}", out.join("shrink.html").display()))
}

fn html(rec: &Value) -> String {
    let text = |v: &Value| esc(&v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()));
    let mut b = String::from("<!doctype html><meta charset=\"utf-8\"><title>faultline shrink</title>");
    b += "<style>body{font-family:sans-serif;margin:2em}td,th{padding:2px 8px;text-align:left}.kept{background:#fee}</style>";
    let _ = write!(
        b,
        "<h1>Shrink of {}</h1><p>Failure kept: {}. {} fault windows -> {}{}.</p>",
        text(&rec["run"]),
        esc(&rec["failure"]
            .as_array()
            .map(|f| f.iter().map(|x| x.as_str().unwrap_or_default().to_string()).collect::<Vec<_>>().join(", "))
            .unwrap_or_default()),
        rec["windows_before"],
        rec["windows_after"],
        if rec["interrupted"] == Value::Bool(true) {
            " (interrupted: the best plan so far, its failure rate not measured)"
        } else if rec["budget_exhausted"] == Value::Bool(true) {
            " (the budget ran out: the best plan so far)"
        } else {
            ""
        }
    );
    let _ = write!(
        b,
        "<p>The final plan failed the same way in {} of {} replays (95% interval {:.0}%..{:.0}%).</p><h2>Reproduce</h2><pre>{}</pre>",
        rec["final_failures"],
        rec["final_runs"],
        rec["final_rate_ci95"][0].as_f64().unwrap_or(0.0) * 100.0,
        rec["final_rate_ci95"][1].as_f64().unwrap_or(1.0) * 100.0,
        text(&rec["command"])
    );
    b += "<h2>Final plan</h2><table><tr><th>at (ms)</th><th>fault</th></tr>";
    for s in rec["plan"].as_array().into_iter().flatten() {
        let _ = write!(b, "<tr><td>{}</td><td><code>{}</code></td></tr>", s["at_ms"], esc(&s["fault"].to_string()));
    }
    b += "</table><h2>Candidates</h2><table><tr><th>#</th><th>phase</th><th>windows</th><th>run (s)</th><th>each replay failed</th><th>kept</th></tr>";
    for (i, c) in rec["candidates"].as_array().into_iter().flatten().enumerate() {
        let outcomes: Vec<String> = c["outcomes"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|o| if o.as_array().is_some_and(|a| a.is_empty()) { "passed".into() } else { o.to_string() })
            .collect();
        let kept = c["kept"] == Value::Bool(true);
        let _ = write!(
            b,
            "<tr{}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            if kept { " class=\"kept\"" } else { "" },
            i + 1,
            text(&c["phase"]),
            c["windows"],
            c["time_limit_s"],
            esc(&outcomes.join("; ")),
            if kept { "yes" } else { "no" }
        );
    }
    b + "</table>"
}
