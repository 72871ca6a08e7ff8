//! The index of runs: one row per run, sortable and filterable, with
//! trends of recovery time and verdicts.

use crate::html::{esc, page, verdict_class};
use crate::plots;
use std::fmt::Write;

/// One run in the index.
#[derive(Debug, Clone)]
pub struct IndexRow {
    /// Start time (RFC 3339).
    pub date: String,
    /// Name.
    pub name: String,
    /// SUT.
    pub db: String,
    /// Workload.
    pub workload: String,
    /// Faults.
    pub faults: String,
    /// valid / invalid / unknown.
    pub verdict: String,
    /// Worst recovery time, seconds.
    pub worst_recovery_s: Option<f64>,
    /// Client ops invoked.
    pub ops: u64,
    /// Link to the report, relative to the index.
    pub link: String,
}

/// Renders `index.html`.
pub fn render_index(rows: &[IndexRow]) -> String {
    let mut b = String::from("<h1>faultline runs</h1>");
    let valid = rows.iter().filter(|r| r.verdict == "valid").count();
    let _ = write!(b, "<p>{} runs: {valid} valid, {} not.</p>", rows.len(), rows.len() - valid);
    let rec: Vec<(f64, f64)> = rows.iter().enumerate().filter_map(|(i, r)| r.worst_recovery_s.map(|s| (i as f64 + 1.0, s))).collect();
    let ok: Vec<(f64, f64)> = rows.iter().enumerate().map(|(i, r)| (i as f64 + 1.0, if r.verdict == "valid" { 1.0 } else { 0.0 })).collect();
    let t = rows.len() as f64 + 1.0;
    let _ = write!(
        b,
        "<figure>{}</figure>",
        plots::lines("worst recovery time per run (s), runs in order", "s", &[("worst recovery".into(), plots::RGBColor(0x30, 0x70, 0xc0), rec)], &[], t)
    );
    let _ = write!(
        b,
        "<figure>{}</figure>",
        plots::lines("verdict per run (1 valid, 0 not)", "valid", &[("valid".into(), plots::RGBColor(0x2a, 0x9d, 0x4a), ok)], &[], t)
    );
    b += "<p>Filter: <input class=\"filter\" data-table=\"runs\" placeholder=\"name, verdict, fault...\"></p>";
    b += "<table id=\"runs\" class=\"sortable\"><thead><tr><th>date</th><th>name</th><th>SUT</th><th>workload</th><th>faults</th><th>verdict</th><th>worst recovery s</th><th>ops</th><th>report</th></tr></thead><tbody>";
    for r in rows.iter().rev() {
        let _ = write!(
            b,
            "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><a href=\"{}\">report</a></td></tr>",
            if verdict_class(&r.verdict) == "valid" { "pass" } else { "fail" },
            esc(&r.date),
            esc(&r.name),
            esc(&r.db),
            esc(&r.workload),
            esc(&r.faults),
            esc(&r.verdict),
            r.worst_recovery_s.map(|s| format!("{s:.2}")).unwrap_or_else(|| "-".into()),
            r.ops,
            esc(&r.link)
        );
    }
    b += "</tbody></table>";
    page("faultline runs", &b, "")
}
