//! The checkers' findings: the linearizability counterexample, and the
//! set and append anomalies, with the ops that show them (each named by
//! its index in the history).

use crate::html::esc;
use checker::logs::AppendResult;
use checker::sets::SetResult;
use checker::Linearizability;
use history::History;
use results::Checks;
use std::fmt::Write;

fn op_row(h: &History, id: u64) -> String {
    h.ops
        .iter()
        .find(|o| o.index == id)
        .map(|o| format!("#{} p{} {} {} {} {}", o.index, o.process, o.kind.as_str(), o.f, o.value, o.node.as_deref().unwrap_or("")))
        .unwrap_or_else(|| format!("#{id}"))
}

fn linearizability(b: &mut String, lin: &Linearizability, h: &History) {
    let _ = write!(b, "<h2 id=\"linearizable\">Linearizability: {}</h2>", lin.valid.as_str());
    if let Some(r) = &lin.reason {
        let _ = write!(b, "<p>{}</p>", esc(r));
    }
    let Some(cx) = &lin.counterexample else { return };
    *b += &crate::counterexample::render(cx, h);
    let _ = write!(
        b,
        "<details><summary>The longest linearizable prefix has {} ops: its last steps, with the model state after each</summary><p>Before them: <code>{}</code></p><table><thead><tr><th>op</th><th>process</th><th>operation</th><th>state after</th></tr></thead><tbody>",
        cx.prefix_len,
        esc(&cx.start_state)
    );
    for s in &cx.steps {
        let _ = write!(b, "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", s.op.id, s.op.process, esc(&s.op.op), esc(&s.state));
    }
    let u = &cx.unplaceable;
    let _ =
        write!(b, "<tr class=\"fail\"><td>{}</td><td>{}</td><td>{}</td><td>cannot be placed</td></tr></tbody></table></details>", u.id, u.process, esc(&u.op));
}

fn set(b: &mut String, set: &SetResult, h: &History) {
    let _ = write!(
        b,
        "<h2 id=\"set\">Set: {}</h2><p>{} adds attempted, {} acknowledged, {} indeterminate adds seen, {} reads.</p>",
        set.valid.as_str(),
        set.attempted,
        set.acknowledged,
        set.recovered,
        set.reads
    );
    for (k, items) in [("lost", &set.lost), ("unexpected", &set.unexpected), ("duplicated", &set.duplicated), ("stale", &set.stale)] {
        if items.is_empty() {
            continue;
        }
        let _ = write!(b, "<h3>{k}: {}</h3><ul>", items.len());
        for (el, op) in items.iter().take(50) {
            let _ = write!(b, "<li>element {} — {}</li>", esc(el), esc(&op_row(h, *op)));
        }
        *b += "</ul>";
    }
    if !set.never_read.is_empty() {
        let _ = write!(b, "<p>Never read: {} elements.</p>", set.never_read.len());
    }
}

fn append(b: &mut String, app: &AppendResult, h: &History) {
    let _ = write!(b, "<h2 id=\"append\">Append: {}</h2><p>{} appends attempted, {} acknowledged.</p>", app.valid.as_str(), app.attempted, app.acknowledged);
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
        *b += "</tbody></table>";
    }
}

/// Renders whatever the checks found.
pub fn render(checks: &Checks, h: &History) -> String {
    let mut b = String::new();
    if let Some(lin) = &checks.linearizable {
        linearizability(&mut b, lin, h);
    }
    if let Some(s) = &checks.set {
        set(&mut b, s, h);
    }
    if let Some(a) = &checks.append {
        append(&mut b, a, h);
    }
    if let Some(a) = &checks.append_latency {
        let _ = write!(b, "<p>Append latency outside fault windows: worst {:.2} s against an SLO of {:.2} s: {}.</p>", a.worst_s, a.slo_s, a.valid.as_str());
    }
    for (name, why) in &checks.unknown {
        let _ = write!(b, "<p class=\"err\">{}: unknown: {}</p>", esc(name), esc(why));
    }
    b
}
