//! `set`: unique adds and whole-set reads, a final read after the heal;
//! lost, unexpected, duplicated, stale and never-read elements.

use crate::{op_row, CheckContext, Generator, Op, Workload};
use checker::sets::{check_set, ElementStory, ReadRef, SetResult};
use history::{History, HistoryError, OpType, Process, Rng};
use results::Checks;
use serde_json::{json, Value};
use systems::Call;

/// The set workload.
pub struct Set;

struct Adds {
    rng: Rng,
    next: u64,
}

impl Generator for Adds {
    fn next(&mut self, _process: u64) -> Op {
        if self.rng.below(4) == 0 {
            read()
        } else {
            self.next += 1;
            add(self.next)
        }
    }
    fn final_reads(&self) -> Vec<Op> {
        vec![read()]
    }
}

/// The key of the system's set.
const SET: &str = "set";

/// Adds `element` to the set.
pub fn add(element: u64) -> Op {
    Op::update("add", json!(element), Call::new("add", SET, Some(json!(element))))
}

/// Reads the whole set: a list (`null` read as empty).
pub fn read() -> Op {
    Op { f: "read", value: Value::Null, call: Call::new("read-set", SET, None), read: true, answer: |_, v| Ok(list(v)) }
}

/// `null` (never written) as an empty list.
pub(crate) fn list(v: Value) -> Value {
    if v.is_null() {
        json!([])
    } else {
        v
    }
}

impl Workload for Set {
    fn name(&self) -> &'static str {
        "set"
    }
    fn fs(&self) -> &'static [&'static str] {
        &["add", "read-set"]
    }
    fn about(&self) -> &'static str {
        "a set: unique adds and whole-set reads; lost, unexpected, duplicated and stale elements"
    }
    fn generator(&self, _concurrency: usize, seed: u64) -> Box<dyn Generator> {
        Box::new(Adds { rng: Rng::new(seed), next: 0 })
    }
    fn check(&self, h: &History, ctx: &CheckContext, checks: &mut Checks) -> Result<(), HistoryError> {
        checks.record("set", &check_set(h, ctx.linearizable_reads)?);
        Ok(())
    }
    fn findings(&self, checks: &Checks, h: &History) -> String {
        crate::with_outcome(checks, "set", |s| findings(s, h))
    }
}

/// The faults applied (nemesis completions: (time, what)) between the
/// last sign of an element (the last read that saw it, else its add's
/// completion) and the first read that missed it: the window after which
/// it vanished.
fn vanished_after(h: &History, faults: &[(u64, String)], s: &ElementStory) -> String {
    let time_of = |id: u64| h.ops.get(id as usize).filter(|o| o.index == id).or_else(|| h.ops.iter().find(|o| o.index == id)).map(|o| o.time);
    let from = s.last_seen.as_ref().map(|r| r.op).or(s.add_completion).and_then(time_of);
    let to = s.missed_by.iter().filter_map(|r| time_of(r.op)).min();
    let (Some(from), Some(to)) = (from, to) else { return "-".into() };
    let between: Vec<&str> = faults.iter().filter(|(t, _)| *t > from && *t < to).map(|(_, w)| w.as_str()).collect();
    match between.len() {
        0 => "no fault in between".into(),
        n if n > 4 => format!("{} and {} more", between[..4].join(", "), n - 4),
        _ => between.join(", "),
    }
}

fn findings(set: &SetResult, h: &History) -> String {
    let faults: Vec<(u64, String)> = h
        .ops
        .iter()
        .filter(|o| o.process == Process::Nemesis && o.kind == OpType::Info)
        .map(|o| {
            let nodes = o.value.get("nodes").and_then(Value::as_array).map(|v| v.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "));
            (o.time, format!("{} at {:.1} s{}", o.f, o.time as f64 / 1e9, nodes.map(|n| format!(" on {n}")).unwrap_or_default()))
        })
        .collect();
    let kinds: Vec<Value> = [("lost", &set.lost), ("unexpected", &set.unexpected), ("duplicated", &set.duplicated), ("stale", &set.stale)]
        .into_iter()
        .filter(|(_, items)| !items.is_empty())
        .map(|(name, items)| {
            let shown: Vec<Value> = items.iter().take(50).map(|(el, op)| json!({"element": el, "op": op_row(h, *op)})).collect();
            json!({"name": name, "count": items.len(), "items": shown})
        })
        .collect();
    // a read as the report names it: its op and node
    let read = |r: &ReadRef| format!("#{}{}", r.op, r.node.as_deref().map(|n| format!(" on {n}")).unwrap_or_default());
    let reads = |v: &[ReadRef]| v.iter().map(read).collect::<Vec<_>>().join(", ");
    let disagree: Vec<Value> =
        set.disagree.iter().take(100).map(|d| json!({"element": d.element, "present": reads(&d.present), "absent": reads(&d.absent)})).collect();
    let stories: Vec<Value> = set
        .stories
        .iter()
        .take(100)
        .map(|s| {
            let add = match (s.add_invoke, s.add_completion) {
                (Some(i), Some(c)) => format!("#{i}, #{c} ({})", s.add_outcome.as_deref().unwrap_or("?")),
                (Some(i), None) => format!("#{i}, never completed"),
                _ => "never added".to_string(),
            };
            json!({"element": s.element, "add": add, "last_seen": s.last_seen.as_ref().map_or_else(|| "none".into(), read), "missed_by": reads(&s.missed_by), "vanished_after": vanished_after(h, &faults, s)})
        })
        .collect();
    let ctx = json!({
        "valid": set.valid.as_str(), "attempted": set.attempted, "acknowledged": set.acknowledged, "recovered": set.recovered,
        "reads": set.reads, "reason": set.reason, "kinds": kinds, "never_read": set.never_read.len(),
        "disagree": disagree, "stories": stories,
    });
    reports::template::render("set.html", include_str!("../templates/set.html"), ctx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_elements_are_unique_and_the_run_ends_with_a_whole_read() {
        let mut g = Set.generator(4, 1);
        let adds: Vec<u64> = (0..200).map(|i| g.next(i)).filter(|o| o.f == "add").map(|o| o.value.as_u64().unwrap()).collect();
        let uniq: std::collections::BTreeSet<_> = adds.iter().collect();
        assert_eq!(uniq.len(), adds.len());
        assert!(adds.len() > 100);
        assert_eq!(g.final_reads(), [read()]);
        let r = read();
        assert_eq!(((r.answer)(&r, Value::Null), r.call.f.as_str()), (Ok(json!([])), "read-set"));
    }
}
