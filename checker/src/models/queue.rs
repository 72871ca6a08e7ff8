//! Queues, Knossos's `fifo-queue` and `unordered-queue`: `enqueue` a value,
//! `dequeue` one (`nil` when empty), `drain` every value left. A dequeue of
//! unknown outcome takes the head of a FIFO queue; of an unordered queue it
//! takes some value, which the state counts without naming (so a later
//! empty dequeue may be legal; what it took is not tracked: a sound
//! over-approximation, never a false alarm). A dequeue asked `"no-ack"`
//! (the queue workload's unacknowledged delivery) is left out: it promises
//! a redelivery, not a linearizable step.

use super::{Decode, Decoded, Outcome};
use crate::model::Model;
use crate::values::{Values, NIL};
use history::Semantics;
use serde_json::Value;

/// A queue, first in first out or in no order.
#[derive(Debug, Default)]
pub struct Queue {
    /// Dequeues take the oldest value (else any).
    pub fifo: bool,
    /// The values seen, interned.
    pub values: Values,
}

/// A queue's contents: values oldest first, and how many values dequeues
/// of unknown outcome took from an unordered queue.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct QueueState {
    items: Vec<u32>,
    unknown_taken: u32,
}

/// A queue operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueueOp {
    /// Add a value.
    Enqueue(u32),
    /// Take one.
    Dequeue,
    /// Take every value left.
    Drain,
}

/// What a queue operation returned.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum QueueRet {
    /// The value is in.
    Enqueued,
    /// The value taken ([`NIL`]: the queue was empty).
    Dequeued(u32),
    /// The values taken, in order.
    Drained(Vec<u32>),
}

impl Queue {
    /// A FIFO queue (`fifo` true) or an unordered one.
    pub fn new(fifo: bool) -> Self {
        Queue { fifo, values: Values::new() }
    }

    /// Removes `v` where this queue may hand it out next.
    fn take(&self, s: &QueueState, v: u32) -> Option<QueueState> {
        let at = if self.fifo { (s.items.first() == Some(&v)).then_some(0)? } else { s.items.iter().position(|x| *x == v)? };
        let mut next = s.clone();
        next.items.remove(at);
        Some(next)
    }

    /// True when the queue may be empty now.
    fn may_be_empty(&self, s: &QueueState) -> bool {
        s.items.len() <= s.unknown_taken as usize
    }
}

impl Model for Queue {
    type State = QueueState;
    type Input = QueueOp;
    type Output = QueueRet;

    fn init(&self) -> QueueState {
        QueueState::default()
    }

    fn step(&self, s: &QueueState, input: &QueueOp, output: Option<&QueueRet>) -> Option<QueueState> {
        match (input, output) {
            (QueueOp::Enqueue(v), None | Some(QueueRet::Enqueued)) => {
                let mut next = s.clone();
                next.items.push(*v);
                Some(next)
            }
            (QueueOp::Dequeue, Some(QueueRet::Dequeued(v))) if *v == NIL => self.may_be_empty(s).then(|| s.clone()),
            (QueueOp::Dequeue, Some(QueueRet::Dequeued(v))) => self.take(s, *v),
            (QueueOp::Dequeue, None) if self.fifo => Some(QueueState { items: s.items.iter().skip(1).copied().collect(), ..s.clone() }),
            (QueueOp::Dequeue, None) if self.may_be_empty(s) => Some(s.clone()),
            (QueueOp::Dequeue, None) => Some(QueueState { unknown_taken: s.unknown_taken + 1, ..s.clone() }),
            (QueueOp::Drain, Some(QueueRet::Drained(vs))) => {
                let mut next = vs.iter().try_fold(s.clone(), |st, v| self.take(&st, *v))?;
                self.may_be_empty(&next).then(|| {
                    next.items.clear();
                    next.unknown_taken = 0;
                    next
                })
            }
            (QueueOp::Drain, None) => Some(QueueState::default()),
            _ => None,
        }
    }

    fn observes(&self, input: &QueueOp) -> bool {
        !matches!(input, QueueOp::Enqueue(_))
    }

    fn describe_op(&self, input: &QueueOp, output: Option<&QueueRet>) -> String {
        let v = |id: u32| self.values.get(id).to_string();
        match (input, output) {
            (QueueOp::Enqueue(x), Some(_)) => format!("enqueue {}", v(*x)),
            (QueueOp::Enqueue(x), None) => format!("enqueue {} (indeterminate)", v(*x)),
            (QueueOp::Dequeue, Some(QueueRet::Dequeued(x))) => format!("dequeue {}", v(*x)),
            (QueueOp::Drain, Some(QueueRet::Drained(xs))) => format!("drain [{}]", xs.iter().map(|x| v(*x)).collect::<Vec<_>>().join(" ")),
            (QueueOp::Dequeue, _) => "dequeue ?".into(),
            (QueueOp::Drain, _) => "drain ?".into(),
        }
    }

    fn describe_state(&self, s: &QueueState) -> String {
        let items: Vec<String> = s.items.iter().map(|x| self.values.get(*x).to_string()).collect();
        match s.unknown_taken {
            0 => format!("[{}]", items.join(" ")),
            n => format!("[{}] less {n} taken by dequeues of unknown outcome", items.join(" ")),
        }
    }
}

impl Decode for Queue {
    fn decode(&self, f: &str, arg: &Value, outcome: Outcome<'_>, _sem: &Semantics) -> Result<Decoded<Self>, String> {
        if let Outcome::Fail(_) = outcome {
            return Ok(None); // it did not happen
        }
        let done = match outcome {
            Outcome::Ok(v) => Some(v),
            _ => None,
        };
        Ok(Some(match f {
            "enqueue" => (QueueOp::Enqueue(self.values.id(arg)), done.map(|_| QueueRet::Enqueued)),
            "dequeue" if arg.as_str() == Some(crate::queue::NO_ACK) => return Ok(None),
            "dequeue" => (QueueOp::Dequeue, done.map(|v| QueueRet::Dequeued(self.values.id(v)))),
            "drain" => {
                let list = |v: &Value| match v {
                    Value::Array(a) => Ok(QueueRet::Drained(a.iter().map(|x| self.values.id(x)).collect())),
                    Value::Null => Ok(QueueRet::Drained(Vec::new())),
                    other => Err(format!("a drain returns a list, got {other}")),
                };
                (QueueOp::Drain, done.map(list).transpose()?)
            }
            other => return Err(format!("{other:?} is not a queue operation (enqueue, dequeue, drain)")),
        }))
    }
}

#[cfg(test)]
mod tests {
    use crate::{check_history, CheckOptions, ModelKind, Verdict};

    fn verdict(model: ModelKind, text: &str) -> Verdict {
        check_history(&crate::synth::compact(text), &CheckOptions::new(model)).unwrap().valid
    }

    #[test]
    fn a_fifo_queue_hands_values_out_oldest_first_an_unordered_one_in_any_order() {
        let out_of_order =
            "0 invoke enqueue 1\n0 ok enqueue 1\n0 invoke enqueue 2\n0 ok enqueue 2\n1 invoke dequeue\n1 ok dequeue 2\n1 invoke drain\n1 ok drain [1]";
        assert_eq!(verdict(ModelKind::FifoQueue, out_of_order), Verdict::Invalid);
        assert_eq!(verdict(ModelKind::UnorderedQueue, out_of_order), Verdict::Valid);
        let concurrent =
            "0 invoke enqueue 1\n2 invoke enqueue 2\n2 ok enqueue 2\n0 ok enqueue 1\n1 invoke dequeue\n1 ok dequeue 2\n1 invoke drain\n1 ok drain [1]";
        assert_eq!(verdict(ModelKind::FifoQueue, concurrent), Verdict::Valid, "enqueues at once: either order");
    }

    #[test]
    fn a_value_twice_or_never_enqueued_or_an_empty_queue_that_was_not_is_invalid() {
        for model in [ModelKind::FifoQueue, ModelKind::UnorderedQueue] {
            let twice = "0 invoke enqueue 1\n0 ok enqueue 1\n1 invoke dequeue\n1 ok dequeue 1\n1 invoke dequeue\n1 ok dequeue 1";
            assert_eq!(verdict(model, twice), Verdict::Invalid, "{model:?}");
            assert_eq!(verdict(model, "1 invoke dequeue\n1 ok dequeue 9"), Verdict::Invalid, "{model:?}");
            let not_empty = "0 invoke enqueue 1\n0 ok enqueue 1\n1 invoke dequeue\n1 ok dequeue nil";
            assert_eq!(verdict(model, not_empty), Verdict::Invalid, "{model:?}");
        }
    }

    #[test]
    fn a_dequeue_of_unknown_outcome_may_have_taken_a_value() {
        for model in [ModelKind::FifoQueue, ModelKind::UnorderedQueue] {
            let h = "0 invoke enqueue 1\n0 ok enqueue 1\n2 invoke dequeue\n2 info dequeue\n1 invoke dequeue\n1 ok dequeue nil";
            assert_eq!(verdict(model, h), Verdict::Valid, "{model:?}");
            // and an unacknowledged delivery is no step of the model
            let h = "0 invoke enqueue 1\n0 ok enqueue 1\n2 invoke dequeue \"no-ack\"\n2 ok dequeue 1\n1 invoke dequeue\n1 ok dequeue 1";
            assert_eq!(verdict(model, h), Verdict::Valid, "{model:?}");
        }
    }
}
