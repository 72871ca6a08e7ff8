//! The checkers' findings: the linearizability counterexample, and the
//! set and append anomalies, with the ops that show them.

use crate::html::esc;
use history::History;
use serde_json::Value;
use std::fmt::Write;

fn op_row(h: &History, id: u64) -> String {
    h.ops
        .iter()
        .find(|o| o.index == id)
        .map(|o| format!("#{} p{} {} {} {} {}", o.index, o.process, o.kind.as_str(), o.f, o.value, o.node.as_deref().unwrap_or("")))
        .unwrap_or_else(|| format!("#{id}"))
}

/// Renders whatever the checks found.
pub fn render(checks: &Value, h: &History) -> String {
    let mut b = String::new();
    let lin = &checks["linearizable"];
    if !lin.is_null() {
        let _ = write!(b, "<h2 id=\"linearizable\">Linearizability: {}</h2>", esc(lin["valid"].as_str().unwrap_or("")));
        if let Some(r) = lin["reason"].as_str() {
            let _ = write!(b, "<p>{}</p>", esc(r));
        }
        let cx = &lin["counterexample"];
        if !cx.is_null() {
            let _ = write!(
                b,
                "<p>The longest linearizable prefix has {} ops; its last steps, with the model state after each (before them: <code>{}</code>):</p><table><thead><tr><th>op</th><th>process</th><th>operation</th><th>state after</th></tr></thead><tbody>",
                cx["prefix_len"],
                esc(cx["start_state"].as_str().unwrap_or(""))
            );
            for s in cx["steps"].as_array().into_iter().flatten() {
                let _ = write!(
                    b,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    s["id"],
                    s["process"],
                    esc(s["op"].as_str().unwrap_or("")),
                    esc(s["state"].as_str().unwrap_or(""))
                );
            }
            let u = &cx["unplaceable"];
            let _ = write!(
                b,
                "<tr class=\"fail\"><td>{}</td><td>{}</td><td>{}</td><td>cannot be placed</td></tr></tbody></table>",
                u["id"],
                u["process"],
                esc(u["op"].as_str().unwrap_or(""))
            );
            b += "<p>Concurrent with it (lanes by process):</p><table><thead><tr><th>op</th><th>process</th><th>operation</th></tr></thead><tbody>";
            for c in cx["concurrent"].as_array().into_iter().flatten() {
                let _ = write!(b, "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", c["id"], c["process"], esc(c["op"].as_str().unwrap_or("")));
            }
            b += "</tbody></table>";
        }
    }
    let set = &checks["set"];
    if !set.is_null() {
        let _ = write!(
            b,
            "<h2 id=\"set\">Set: {}</h2><p>{} adds attempted, {} acknowledged, {} indeterminate adds seen, {} reads.</p>",
            if set["valid"] == true { "valid" } else { "invalid" },
            set["attempted"],
            set["acknowledged"],
            set["recovered"],
            set["reads"]
        );
        for k in ["lost", "unexpected", "duplicated", "stale"] {
            let items = set[k].as_array().cloned().unwrap_or_default();
            if items.is_empty() {
                continue;
            }
            let _ = write!(b, "<h3>{k}: {}</h3><ul>", items.len());
            for it in items.iter().take(50) {
                let _ = write!(b, "<li>element {} — {}</li>", esc(it[0].as_str().unwrap_or("")), esc(&op_row(h, it[1].as_u64().unwrap_or(0))));
            }
            b += "</ul>";
        }
        if let Some(n) = set["never_read"].as_array().filter(|a| !a.is_empty()) {
            let _ = write!(b, "<p>Never read: {} elements.</p>", n.len());
        }
    }
    let app = &checks["append"];
    if !app.is_null() {
        let _ = write!(
            b,
            "<h2 id=\"append\">Append: {}</h2><p>{} appends attempted, {} acknowledged.</p>",
            if app["valid"] == true { "valid" } else { "invalid" },
            app["attempted"],
            app["acknowledged"]
        );
        for l in app["logs"].as_array().into_iter().flatten() {
            for k in ["lost", "unexpected", "duplicated"] {
                for it in l[k].as_array().into_iter().flatten().take(50) {
                    let _ = write!(
                        b,
                        "<p>log {}: {k} value {} — {}</p>",
                        esc(l["log"].as_str().unwrap_or("")),
                        esc(it[0].as_str().unwrap_or("")),
                        esc(&op_row(h, it[1].as_u64().unwrap_or(0)))
                    );
                }
            }
            for d in l["divergent"].as_array().into_iter().flatten().take(50) {
                let _ = write!(
                    b,
                    "<p>log {}: read not a prefix of the longest — {}</p>",
                    esc(l["log"].as_str().unwrap_or("")),
                    esc(&op_row(h, d.as_u64().unwrap_or(0)))
                );
            }
        }
        let slow = app["slow_appends"].as_array().cloned().unwrap_or_default();
        if !slow.is_empty() {
            let _ = write!(
                b,
                "<h3>Slow appends ({})</h3><table class=\"sortable\"><thead><tr><th>log</th><th>value</th><th>seconds</th><th>op</th></tr></thead><tbody>",
                slow.len()
            );
            for s in slow.iter().take(100) {
                let _ = write!(
                    b,
                    "<tr><td>{}</td><td>{}</td><td>{:.2}</td><td>{}</td></tr>",
                    esc(s[0].as_str().unwrap_or("")),
                    esc(s[1].as_str().unwrap_or("")),
                    s[2].as_f64().unwrap_or(0.0),
                    s[3]
                );
            }
            b += "</tbody></table>";
        }
    }
    b
}
