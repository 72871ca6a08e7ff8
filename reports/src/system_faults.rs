//! The report's section on faults on the system itself: the log chain
//! (metadata version and segments) over time beside the appends' latency,
//! the stall after each seal, the seals tried while starting, and how each
//! wiped node rejoined.

use crate::html::esc;
use crate::plots::{self, Series, Shade};
use history::{History, OpType, Process};
use plotters::style::RGBColor;
use results::system_faults::{LogChange, Rejoins};
use results::RunResults;
use std::fmt::Write;

const LOG_FAULTS: [&str; 4] = ["reconfigure-log", "seal-log", "extend-log", "settle-log"];

/// The log chain over time: (time s, highest metadata version, total
/// segment index over the logs) after each log fault.
pub fn chain_points(h: &History) -> Vec<(f64, u64, u64)> {
    h.ops
        .iter()
        .filter(|o| o.process == Process::Nemesis && o.kind == OpType::Info && LOG_FAULTS.contains(&o.f.as_str()))
        .filter_map(|o| {
            let c: LogChange = serde_json::from_value(o.value.clone()).ok()?;
            let tails = if c.after.is_empty() { c.before } else { c.after };
            let version = tails.iter().map(|t| t.metadata_version).max()?;
            Some((o.time as f64 / 1e9, version, tails.iter().map(|t| t.segment_index as u64).sum()))
        })
        .collect()
}

/// The section, empty when the run had none of these faults.
pub fn render(results: &RunResults, h: &History, shades: &[Shade], t_end: f64) -> String {
    let mut b = String::new();
    let chain = chain_points(h);
    if !chain.is_empty() {
        b += "<h2 id=\"log-chain\">The log chain</h2>";
        let version: Series = ("logs metadata version".into(), RGBColor(60, 120, 60), chain.iter().map(|(t, v, _)| (*t, *v as f64)).collect());
        let _ = write!(b, "<figure>{}</figure>", plots::lines("log chain: metadata version after each log fault", "version", &[version], shades, t_end));
        let segments: Series = ("segments (sum of tail indexes)".into(), RGBColor(90, 90, 160), chain.iter().map(|(t, _, s)| (*t, *s as f64)).collect());
        let _ = write!(b, "<figure>{}</figure>", plots::lines("log chain: tail segment indexes, summed over the logs", "segments", &[segments], shades, t_end));
    }
    if let Some(s) = &results.checks.reconfiguration {
        let _ = write!(b, "<h3 id=\"stalls\">Appends' stall after each seal: {} (SLO {:.1} s, worst {:.2} s)</h3>", s.valid.as_str(), s.slo_s, s.worst_s);
        b += "<p>From the seal of the system's own log when its logs name it (the system log column), else from the fault's start.</p>";
        b += "<table class=\"sortable\"><thead><tr><th>fault</th><th>seal at s</th><th>log</th><th>system log</th><th>stall s</th></tr></thead><tbody>";
        for x in &s.stalls {
            let pass = x.stall_s.is_some_and(|v| v <= s.slo_s);
            let stall = x.stall_s.map(|v| format!("{v:.3}")).unwrap_or_else(|| "never acknowledged".into());
            let _ = write!(
                b,
                "<tr class=\"{}\"><td>{}</td><td>{:.3}</td><td>{}</td><td>{}</td><td>{stall}</td></tr>",
                if pass { "pass" } else { "fail" },
                esc(&x.fault),
                x.at_s,
                esc(&x.log),
                x.system_log.map_or_else(|| "-".to_string(), |l| l.to_string())
            );
        }
        b += "</tbody></table>";
    }
    if let Some(c) = &results.checks.startup_faults {
        let _ = write!(b, "<h3 id=\"early-seals\">Seals while starting: {}</h3><p>{}</p>", c.valid.as_str(), esc(&c.summary));
        b += "<table><thead><tr><th>logs</th><th>at s</th><th>took s</th><th>log servers</th><th>outcome</th><th>answer</th></tr></thead><tbody>";
        for s in &c.seals {
            for a in &s.attempts {
                let logs: Vec<String> = s.logs.iter().map(u32::to_string).collect();
                let _ = write!(
                    b,
                    "<tr class=\"{}\"><td>{}</td><td>{:.2}</td><td>{:.2}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    if a.outcome == "timeout" { "fail" } else { "pass" },
                    logs.join(","),
                    a.at_s,
                    a.took_s,
                    esc(&a.log_servers.join(" ")),
                    esc(&a.outcome),
                    esc(&a.message)
                );
            }
        }
        b += "</tbody></table>";
    }
    let rejoins: Vec<(f64, Rejoins)> = h
        .ops
        .iter()
        .filter(|o| o.process == Process::Nemesis && o.kind == OpType::Info && o.f == "rejoin-node")
        .filter_map(|o| Some((o.time as f64 / 1e9, serde_json::from_value(o.value.clone()).ok()?)))
        .collect();
    if !rejoins.is_empty() {
        b += "<h3 id=\"rejoins\">Wiped nodes rejoining</h3><table><thead><tr><th>rejoined at s</th><th>node</th><th>step</th><th>after s</th></tr></thead><tbody>";
        for (t, r) in &rejoins {
            for node in &r.steps {
                for s in &node.steps {
                    let _ = write!(b, "<tr><td>{t:.2}</td><td>{}</td><td>{}</td><td>{:.2}</td></tr>", esc(&node.node), esc(&s.step), s.at_s);
                }
            }
        }
        b += "</tbody></table>";
    }
    b
}

/// The start-up phases of every node, as a table (empty when none known).
pub fn phases_table(results: &RunResults) -> String {
    let nodes = &results.facts.startup_phases;
    if nodes.is_empty() {
        return String::new();
    }
    let mut names: Vec<&str> = Vec::new();
    for (_, ps) in nodes {
        for p in ps {
            if !names.contains(&p.name.as_str()) {
                names.push(&p.name);
            }
        }
    }
    let mut b = String::from("<h3 id=\"phases\">Start-up phases (s after the process started, from each node's log)</h3><table><thead><tr><th>node</th>");
    for n in &names {
        let _ = write!(b, "<th>{}</th>", esc(n));
    }
    b += "</tr></thead><tbody>";
    for (node, ps) in nodes {
        let _ = write!(b, "<tr><td>{}</td>", esc(node));
        for n in &names {
            let cell = ps.iter().find(|p| p.name == *n).map(|p| format!("{:.2}", p.at_s)).unwrap_or_else(|| "-".into());
            let _ = write!(b, "<td>{cell}</td>");
        }
        b += "</tr>";
    }
    b + "</tbody></table>"
}

#[cfg(test)]
mod tests {
    use super::*;
    use history::Op;
    use serde_json::json;

    fn nemesis(time_s: f64, f: &str, value: serde_json::Value) -> Op {
        let mut o = Op::new(Process::Nemesis, OpType::Info, f, value);
        o.time = (time_s * 1e9) as u64;
        o
    }

    #[test]
    fn the_chain_is_the_newest_version_and_summed_segments_after_each_log_fault() {
        let tail = |id: u32, seg: u32, v: u64| json!({"log_id": id, "segment_index": seg, "sealed": false, "metadata_version": v});
        let h = History {
            ops: vec![
                nemesis(1.0, "reconfigure-log", json!({"logs": [0, 1], "before": [tail(0, 0, 3), tail(1, 1, 3)], "after": [tail(0, 1, 5), tail(1, 2, 5)]})),
                nemesis(2.0, "kill", json!({"nodes": ["n1"]})),
                nemesis(3.0, "extend-log", json!({"logs": [0], "before": [tail(0, 1, 6)], "after": []})),
                nemesis(4.0, "seal-log", json!({"error": "restatectl failed"})),
            ],
            ..History::default()
        };
        assert_eq!(chain_points(&h), vec![(1.0, 5, 3), (3.0, 6, 1)]);
    }
}
