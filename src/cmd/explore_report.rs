//! The explore report (`explore.html`): coverage over runs, the failures
//! found with their shrunk plans and rates, each fault kind's features and
//! those one run only saw, and every run with how its plan was made.

use explore::signature::kind_of;
use explore::Corpus;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// The coverage curve as SVG points in a 590 x 160 box at (40, 10).
fn curve(c: &Corpus) -> (String, Vec<f64>) {
    let n = c.runs.len().max(2) as f64 - 1.0;
    let top = c.counts.len().max(1) as f64;
    let x = |i: usize| 40.0 + 590.0 * i as f64 / n;
    let points: Vec<String> = c.runs.iter().enumerate().map(|(i, r)| format!("{:.1},{:.1}", x(i), 170.0 - 160.0 * r.covered as f64 / top)).collect();
    let failing = c.runs.iter().enumerate().filter(|(_, r)| !r.failures.is_empty()).map(|(i, _)| (x(i) * 10.0).round() / 10.0).collect();
    (points.join(" "), failing)
}

/// Writes `explore.html` into `out`.
pub fn write(out: &Path, c: &Corpus) -> Result<(), String> {
    let (points, failing_x) = curve(c);
    let mut kinds: BTreeMap<&str, (usize, Vec<&str>)> = BTreeMap::new();
    for (f, n) in &c.counts {
        let k = kinds.entry(kind_of(f)).or_default();
        k.0 += 1;
        if *n == 1 {
            k.1.push(f);
        }
    }
    let kinds: Vec<Value> = kinds.into_iter().map(|(kind, (count, once))| json!({"kind": kind, "count": count, "once": once})).collect();
    let runs: Vec<Value> = c
        .runs
        .iter()
        .map(|r| {
            json!({"how": r.how, "parent_run": r.parent.map(|p| c.entries[p].run + 1), "operators": r.operators.join(", "), "new_features": r.new_features,
                   "covered": r.covered, "failures": r.failures.join(", "), "dir": r.dir.as_ref().map_or_else(|| format!("refused (exit {})", r.exit_code), |d| d.display().to_string())})
        })
        .collect();
    let found: Vec<Value> = c
        .found
        .iter()
        .map(|f| {
            let plan: Vec<Value> = f.plan.iter().map(|s| json!({"at_ms": s.at_ms, "fault": serde_json::to_string(&s.fault).unwrap_or_default()})).collect();
            json!({"run": f.run + 1, "failures": f.failures.join(", "), "plan": plan, "rate": f.rate.map(|(k, n)| format!("{k} of {n}")),
                   "shrink": f.shrink.as_ref().map(|p| p.display().to_string())})
        })
        .collect();
    let ctx = json!({"mode": c.mode, "seed": c.seed, "runs": runs, "features": c.counts.len(), "corpus": c.entries.len(), "first_failure": c.first_failure(),
                     "curve": points, "failing_x": failing_x, "found": found, "kinds": kinds});
    let html = reports::template::render("explore.html", include_str!("templates/explore.html"), ctx);
    let file = out.join("explore.html");
    std::fs::write(&file, html).map_err(|e| format!("{}: {e}", file.display()))
}
