//! A linearizability counterexample drawn as Porcupine's visualizer draws
//! one: a lane per process, each op a box from its invocation to its
//! completion (open to the right when it never completed), the longest
//! linearizable prefix's linearization points joined in order, the op that
//! cannot be placed in red, and the model state after each step on hover.

use crate::html::esc;
use checker::{Counterexample, OpRef};
use history::{History, OpType, Process};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

const LANE_H: f64 = 34.0;
const LEFT: f64 = 80.0;
/// Pixels between two consecutive events (invocations, completions).
const STEP: f64 = 34.0;

/// One op to draw: its lane, interval (ns), label, and role.
struct Drawn<'a> {
    op: &'a OpRef,
    start: u64,
    end: Option<u64>,
    kind: Kind,
    state: Option<&'a str>,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Step,
    Concurrent,
    Unplaceable,
}

/// The interval of the op whose invocation has index `id`: invoke time and
/// completion time (the same process's next op), from the history.
fn interval(h: &History, pos: &HashMap<u64, usize>, id: u64) -> Option<(u64, Option<u64>)> {
    let &i = pos.get(&id)?;
    let inv = &h.ops[i];
    let Process::Client(p) = inv.process else { return None };
    let end = h.ops[i + 1..].iter().find(|o| o.process == Process::Client(p) && o.kind != OpType::Invoke).filter(|o| o.kind != OpType::Info).map(|o| o.time);
    Some((inv.time, end))
}

/// The counterexample as an inline SVG (with a caption).
pub fn render(cx: &Counterexample, h: &History) -> String {
    let pos: HashMap<u64, usize> = h.ops.iter().enumerate().map(|(i, o)| (o.index, i)).collect();
    let mut wanted: Vec<(&OpRef, Kind, Option<&str>)> = cx.steps.iter().map(|s| (&s.op, Kind::Step, Some(s.state.as_str()))).collect();
    wanted.extend(cx.concurrent.iter().filter(|c| !cx.steps.iter().any(|s| s.op.id == c.id)).map(|c| (c, Kind::Concurrent, None)));
    wanted.push((&cx.unplaceable, Kind::Unplaceable, None));
    let drawn: Vec<Drawn> =
        wanted.into_iter().filter_map(|(op, kind, state)| interval(h, &pos, op.id as u64).map(|(start, end)| Drawn { op, start, end, kind, state })).collect();
    if drawn.is_empty() {
        return String::new();
    }
    // as Porcupine does: events evenly spaced in their real-time order, so
    // short ops stay readable next to long ones
    let mut events: Vec<u64> = drawn.iter().flat_map(|d| [Some(d.start), d.end]).flatten().collect();
    events.sort_unstable();
    events.dedup();
    let x = |t: u64| LEFT + 10.0 + events.partition_point(|&e| e < t) as f64 * STEP;
    let width = LEFT + 10.0 + (events.len() as f64 + 3.0) * STEP;
    let lanes: BTreeMap<u64, usize> =
        drawn.iter().map(|d| d.op.process).collect::<std::collections::BTreeSet<_>>().into_iter().enumerate().map(|(i, p)| (p, i)).collect();
    let height = lanes.len() as f64 * LANE_H + 30.0;
    let mut s = format!(
        "<figure class=\"cx\" style=\"overflow-x:auto\"><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"11\">"
    );
    for (p, i) in &lanes {
        let y = *i as f64 * LANE_H + 10.0;
        let _ = write!(
            s,
            "<text x=\"4\" y=\"{:.1}\">process {p}</text><line x1=\"{LEFT}\" x2=\"{width}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#eee\"/>",
            y + 17.0,
            y + 28.0,
            y + 28.0
        );
    }
    let mut points: Vec<(f64, f64, &str)> = Vec::new();
    let mut last_x = 0f64;
    for d in &drawn {
        let y = lanes[&d.op.process] as f64 * LANE_H + 10.0;
        let (x0, x1) = (x(d.start), d.end.map(x).unwrap_or(width - 4.0));
        let (fill, stroke) = match d.kind {
            Kind::Step => ("#dce9f7", "#4a78b0"),
            Kind::Concurrent => ("#f2f2f2", "#999"),
            Kind::Unplaceable => ("#f7d4d4", "#c0392b"),
        };
        let open = if d.end.is_none() { " stroke-dasharray=\"4 3\"" } else { "" };
        let title = match (d.kind, d.state) {
            (Kind::Unplaceable, _) => format!("op {}: {} cannot be placed", d.op.id, d.op.op),
            (_, Some(st)) => format!("op {}: {} => state {}", d.op.id, d.op.op, st),
            _ => format!("op {}: {}", d.op.id, d.op.op),
        };
        let _ = write!(
            s,
            "<g><title>{}</title><rect x=\"{x0:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"22\" rx=\"3\" fill=\"{fill}\" stroke=\"{stroke}\"{open}/><text x=\"{:.1}\" y=\"{:.1}\">{}</text></g>",
            esc(&title),
            (x1 - x0).max(3.0),
            x0 + 3.0,
            y + 15.0,
            esc(d.op.op.split_once(": ").map(|(_, op)| op).unwrap_or(&d.op.op))
        );
        if d.kind == Kind::Step {
            // a linearization point inside the op's interval, in prefix order
            let px = last_x.max(x0 + 2.0).min(x1 - 2.0).max(x0);
            last_x = px;
            points.push((px, y + 11.0, d.state.unwrap_or("")));
        }
    }
    for w in points.windows(2) {
        let _ =
            write!(s, "<line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#4a78b0\" stroke-width=\"1.5\"/>", w[0].0, w[0].1, w[1].0, w[1].1);
    }
    for (px, py, st) in &points {
        let _ = write!(s, "<circle cx=\"{px:.1}\" cy=\"{py:.1}\" r=\"3.5\" fill=\"#4a78b0\"><title>state after: {}</title></circle>", esc(st));
    }
    let _ = write!(
        s,
        "</svg><figcaption>The last {} steps of the longest linearizable prefix (blue, points joined in linearization order; hover for the state after each), the ops concurrent with the one that cannot be placed (grey; dashed: never completed), and that op (red), op numbers being history indexes.</figcaption></figure>",
        cx.steps.len()
    );
    s
}
