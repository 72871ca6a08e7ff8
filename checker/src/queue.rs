//! The queue checker: unique values enqueued (`enqueue`), delivered one at
//! a time (`dequeue`, acknowledged unless its invocation's value is
//! `"no-ack"`), and a final `drain` of what is left. Jepsen's total-queue
//! is the anchor: every acknowledged enqueue delivered, nothing delivered
//! that was never enqueued; beyond it, a value delivered and acknowledged
//! twice is a duplicate, told apart from the redelivery an unacknowledged
//! delivery allows, and one producer's values come out in its order.

use history::{pair, History, HistoryError, OpType};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A dequeue's invocation value asking it not to acknowledge what it gets.
pub const NO_ACK: &str = "no-ack";

/// Two values of one producer that one consumer got in the wrong order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reorder {
    /// The value enqueued first (JSON text) and its enqueue's op index.
    pub first: (String, u64),
    /// The value enqueued after it, delivered before it, and its enqueue.
    pub then: (String, u64),
    /// The deliveries: `then`'s, and `first`'s later one, by op index.
    pub delivered: (u64, u64),
}

/// What the queue checker found. Values are their JSON text.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QueueResult {
    /// No lost, duplicated, unexpected or reordered value.
    pub valid: crate::Verdict,
    /// Enqueues attempted.
    pub attempted: usize,
    /// Enqueues acknowledged (`ok`).
    pub acknowledged: usize,
    /// Deliveries acknowledged (dequeues and drained values).
    pub delivered: usize,
    /// Values delivered without acknowledgement and delivered again.
    pub redelivered: usize,
    /// Dequeues whose outcome is unknown (each may have taken a value).
    pub unknown_dequeues: usize,
    /// Acknowledged enqueues never delivered with an acknowledgement, with
    /// the enqueue's op index.
    pub lost: Vec<(String, u64)>,
    /// Values delivered with an acknowledgement more than once, with every
    /// such delivery's op index.
    pub duplicated: Vec<(String, Vec<u64>)>,
    /// Values delivered that no enqueue tried (or whose enqueue failed),
    /// with the delivery's op index.
    pub unexpected: Vec<(String, u64)>,
    /// One producer's values one consumer got out of order.
    pub reordered: Vec<Reorder>,
    /// True when a drain completed: only then can a value be called lost.
    pub drained: bool,
    /// Why the verdict is unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One value delivered to one consumer.
struct Delivery {
    value: String,
    acked: bool,
    /// The delivering op's completion position, and its op index.
    at: usize,
    index: u64,
    consumer: u64,
}

/// An enqueue: its invocation position and index, its producer, outcome.
struct Enqueue {
    invoke: usize,
    index: u64,
    producer: u64,
    outcome: Option<OpType>,
}

/// Checks a queue history.
pub fn check_queue(h: &History) -> Result<QueueResult, HistoryError> {
    let pairs = pair(h)?;
    let mut r = QueueResult::default();
    let mut enqueues: BTreeMap<String, Enqueue> = BTreeMap::new();
    let mut deliveries: Vec<Delivery> = Vec::new();
    // positions of dequeues whose outcome is unknown (invocations)
    let mut unknown: Vec<usize> = Vec::new();
    for p in &pairs {
        let inv = &h.ops[p.invoke];
        let done = p.completion.map(|c| (c, &h.ops[c]));
        let consumer = inv.process.client().unwrap_or_default();
        let ok = done.filter(|(_, op)| op.kind == OpType::Ok);
        match inv.f.as_str() {
            "enqueue" => {
                r.attempted += 1;
                let outcome = done.map(|(_, op)| op.kind);
                r.acknowledged += usize::from(outcome == Some(OpType::Ok));
                let e = Enqueue { invoke: p.invoke, index: inv.index, producer: consumer, outcome };
                enqueues.insert(inv.value.to_string(), e);
            }
            "dequeue" => match ok {
                Some((c, op)) if !op.value.is_null() => {
                    let acked = inv.value.as_str() != Some(NO_ACK);
                    deliveries.push(Delivery { value: op.value.to_string(), acked, at: c, index: op.index, consumer });
                }
                Some(_) => {}
                None if done.is_some_and(|(_, op)| op.kind == OpType::Fail) => {}
                None => unknown.push(p.invoke),
            },
            "drain" => {
                if let Some((c, op)) = ok {
                    r.drained = true;
                    for v in op.value.as_array().into_iter().flatten() {
                        deliveries.push(Delivery { value: v.to_string(), acked: true, at: c, index: op.index, consumer });
                    }
                }
            }
            _ => {}
        }
    }
    r.unknown_dequeues = unknown.len();
    let mut acked: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    let mut unacked: BTreeMap<&str, usize> = BTreeMap::new();
    for d in &deliveries {
        match enqueues.get(&d.value) {
            Some(e) if e.outcome != Some(OpType::Fail) => {}
            _ if r.unexpected.iter().any(|(v, _)| *v == d.value) => {}
            _ => r.unexpected.push((d.value.clone(), d.index)),
        }
        if d.acked {
            r.delivered += 1;
            acked.entry(&d.value).or_default().push(d.index);
        } else {
            *unacked.entry(&d.value).or_default() += 1;
        }
    }
    r.redelivered = unacked.keys().filter(|v| acked.contains_key(*v)).count() + unacked.values().filter(|n| **n > 1).count();
    r.duplicated = acked.iter().filter(|(_, at)| at.len() > 1).map(|(v, at)| (v.to_string(), at.clone())).collect();
    if r.drained {
        r.lost = enqueues.iter().filter(|(v, e)| e.outcome == Some(OpType::Ok) && !acked.contains_key(v.as_str())).map(|(v, e)| (v.clone(), e.index)).collect();
    }
    r.reordered = reorders(&deliveries, &enqueues, &unacked, &unknown);
    let clean = r.duplicated.is_empty() && r.unexpected.is_empty() && r.reordered.is_empty();
    r.valid = crate::Verdict::of(clean && r.lost.is_empty());
    if clean && !r.lost.is_empty() && r.lost.len() <= r.unknown_dequeues {
        // each lost value may be what a dequeue of unknown outcome took
        r.valid = crate::Verdict::Unknown;
        r.reason = Some(format!("{} values never delivered, and {} dequeues of unknown outcome may have taken them", r.lost.len(), r.unknown_dequeues));
    }
    let nothing = match (r.acknowledged, r.delivered, r.drained) {
        (0, _, _) => Some("tested nothing: no enqueue was acknowledged"),
        (_, 0, _) => Some("tested nothing: nothing was delivered"),
        (_, _, false) => Some("no drain completed: a lost value cannot be told from one still queued"),
        _ => None,
    };
    if let (true, Some(why)) = (r.valid.is_valid(), nothing) {
        r.valid = crate::Verdict::Unknown;
        r.reason = Some(why.to_string());
    }
    Ok(r)
}

/// One producer's values that one consumer got in the opposite order of
/// their enqueues. A value is exempt when it may have been delivered
/// elsewhere first and come back: delivered unacknowledged, delivered
/// before (a duplicate, reported as one), or a dequeue of unknown outcome
/// began before this consumer got it.
fn reorders(deliveries: &[Delivery], enqueues: &BTreeMap<String, Enqueue>, unacked: &BTreeMap<&str, usize>, unknown: &[usize]) -> Vec<Reorder> {
    let mut by_consumer: BTreeMap<u64, Vec<&Delivery>> = BTreeMap::new();
    let mut first: BTreeMap<&str, usize> = BTreeMap::new();
    for d in deliveries {
        by_consumer.entry(d.consumer).or_default().push(d);
        let at = first.entry(&d.value).or_insert(d.at);
        *at = (*at).min(d.at);
    }
    let mut found = Vec::new();
    for seq in by_consumer.values_mut() {
        seq.sort_by_key(|d| d.at); // stable: a drain keeps its order
        for (i, later) in seq.iter().enumerate() {
            let Some(a) = enqueues.get(&later.value) else { continue };
            let again = first.get(later.value.as_str()).is_some_and(|f| *f < later.at);
            if again || unacked.contains_key(later.value.as_str()) || unknown.iter().any(|u| *u < later.at) {
                continue;
            }
            let earlier = seq[..i].iter().filter_map(|d| Some((d, enqueues.get(&d.value)?)));
            for (d, b) in earlier.filter(|(_, b)| b.producer == a.producer && b.invoke > a.invoke) {
                found.push(Reorder { first: (later.value.clone(), a.index), then: (d.value.clone(), b.index), delivered: (d.index, later.index) });
            }
        }
    }
    found
}

#[cfg(test)]
mod tests;
