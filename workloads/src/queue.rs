//! `queue`: producers enqueue unique values, consumers dequeue and
//! acknowledge (one dequeue in ten takes a value without acknowledging it
//! and drops its consumer, as a consumer crashed between delivery and
//! acknowledgement would, so the queue owes a redelivery), and a final
//! drain after the heal; lost, duplicated, unexpected and reordered values
//! (`checker::queue`). Its check is recorded by name (`queue`).

use crate::{op_row, CheckContext, Generator, Op, Workload};
use checker::queue::{check_queue, QueueResult, NO_ACK};
use history::{History, HistoryError, Rng};
use results::Checks;
use serde_json::{json, Value};
use systems::Call;

/// The queue workload.
pub struct Queue;

/// The key of the system's queue.
const QUEUE: &str = "queue";

/// The name its check is recorded under.
const CHECK: &str = "queue";

struct Messages {
    rng: Rng,
    next: u64,
}

impl Generator for Messages {
    fn next(&mut self, _process: u64) -> Op {
        match self.rng.below(20) {
            0..=9 => {
                self.next += 1;
                enqueue(self.next)
            }
            10 => dequeue(false),
            _ => dequeue(true),
        }
    }
    fn final_reads(&self) -> Vec<Op> {
        vec![drain()]
    }
}

/// Enqueues `value`.
pub fn enqueue(value: u64) -> Op {
    Op::update("enqueue", json!(value), Call::new("enqueue", QUEUE, Some(json!(value))))
}

/// Takes one value (`null` when the queue is empty); `ack: false` takes it
/// without acknowledging it and drops the consumer, so it is redelivered.
/// One that times out may have taken a value: `info`, not `fail`.
pub fn dequeue(ack: bool) -> Op {
    let (value, arg) = if ack { (Value::Null, None) } else { (json!(NO_ACK), Some(json!({"ack": false}))) };
    Op { f: "dequeue", value, call: Call::new("dequeue", QUEUE, arg), read: false, answer: |_, v| Ok(v) }
}

/// Takes and acknowledges every value left, in order: a list.
pub fn drain() -> Op {
    Op { f: "drain", value: Value::Null, call: Call::new("drain", QUEUE, None), read: false, answer: |_, v| Ok(crate::set::list(v)) }
}

impl Workload for Queue {
    fn name(&self) -> &'static str {
        "queue"
    }
    fn fs(&self) -> &'static [&'static str] {
        &["enqueue", "dequeue", "drain"]
    }
    fn about(&self) -> &'static str {
        "a queue: unique enqueues, dequeues (some unacknowledged), a final drain; lost, duplicated, unexpected and reordered values"
    }
    fn generator(&self, _concurrency: usize, seed: u64) -> Box<dyn Generator> {
        Box::new(Messages { rng: Rng::new(seed), next: 0 })
    }
    fn check(&self, h: &History, _ctx: &CheckContext, checks: &mut Checks) -> Result<(), HistoryError> {
        checks.record(CHECK, &check_queue(h)?);
        Ok(())
    }
    fn findings(&self, checks: &Checks, h: &History) -> String {
        crate::with_outcome(checks, CHECK, |r: &QueueResult| findings(r, h))
    }
}

fn findings(r: &QueueResult, h: &History) -> String {
    let one = |items: &[(String, u64)]| items.iter().take(50).map(|(v, op)| json!({"value": v, "ops": op_row(h, *op)})).collect::<Vec<_>>();
    let dup = r.duplicated.iter().take(50).map(|(v, ops)| json!({"value": v, "ops": ops.iter().map(|o| op_row(h, *o)).collect::<Vec<_>>().join("; ")}));
    let kinds =
        [("lost", r.lost.len(), one(&r.lost)), ("unexpected", r.unexpected.len(), one(&r.unexpected)), ("duplicated", r.duplicated.len(), dup.collect())];
    let kinds: Vec<Value> =
        kinds.into_iter().filter(|(_, n, _)| *n > 0).map(|(name, count, items)| json!({"name": name, "count": count, "items": items})).collect();
    let reordered: Vec<Value> = r
        .reordered
        .iter()
        .take(50)
        .map(|x| json!({"first": x.first.0, "then": x.then.0, "then_at": op_row(h, x.delivered.0), "first_at": op_row(h, x.delivered.1)}))
        .collect();
    let ctx = json!({
        "valid": r.valid.as_str(), "attempted": r.attempted, "acknowledged": r.acknowledged, "delivered": r.delivered,
        "redelivered": r.redelivered, "unknown_dequeues": r.unknown_dequeues, "drained": r.drained, "reason": r.reason,
        "kinds": kinds, "reordered": reordered, "reordered_count": r.reordered.len(),
    });
    reports::template::render("queue.html", include_str!("../templates/queue.html"), ctx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_unique_some_dequeues_unacknowledged_and_the_run_ends_with_a_drain() {
        let mut g = Queue.generator(4, 1);
        let ops: Vec<Op> = (0..400).map(|i| g.next(i)).collect();
        let values: Vec<u64> = ops.iter().filter(|o| o.f == "enqueue").map(|o| o.value.as_u64().unwrap()).collect();
        assert_eq!(values.iter().collect::<std::collections::BTreeSet<_>>().len(), values.len());
        let no_ack = ops.iter().filter(|o| o.call.value == Some(json!({"ack": false}))).count();
        assert!(values.len() > 150 && no_ack > 5 && no_ack < 40, "{} enqueues, {no_ack} unacknowledged", values.len());
        assert!(ops.iter().all(|o| Queue.fs().contains(&o.call.f.as_str()) && !o.read));
        assert_eq!(g.final_reads(), [drain()]);
        let d = drain();
        assert_eq!((d.answer)(&d, Value::Null), Ok(json!([])));
    }

    #[test]
    fn its_check_is_recorded_by_name_and_its_findings_render() {
        let mut h = History::default();
        let op = |p, kind, f: &str, v| history::Op::new(history::Process::Client(p), kind, f, v);
        use history::OpType::{Invoke, Ok as Done};
        h.ops.extend([
            op(0, Invoke, "enqueue", json!(1)),
            op(0, Done, "enqueue", json!(1)),
            op(1, Invoke, "drain", Value::Null),
            op(1, Done, "drain", json!([])),
        ]);
        for (i, o) in h.ops.iter_mut().enumerate() {
            o.index = i as u64;
        }
        let mut checks = Checks::default();
        Queue.check(&h, &CheckContext::default(), &mut checks).unwrap();
        assert_eq!(checks.verdicts(), [("queue", checker::Verdict::Invalid)]);
        let html = Queue.findings(&checks, &h);
        assert!(html.contains("<h2 id=\"queue\">Queue: invalid</h2>") && html.contains("<h3>lost: 1</h3>"), "{html}");
        assert!(!html.contains("class=\"err\""), "{html}");
    }
}
