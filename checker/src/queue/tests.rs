//! The smallest history of each anomaly, and of each look-alike that is not one.

use super::*;
use crate::synth::compact as h;
use crate::Verdict;

fn check(text: &str) -> QueueResult {
    check_queue(&h(text)).unwrap()
}

#[test]
fn a_clean_queue_is_valid() {
    let r = check("0 invoke enqueue 1\n0 ok enqueue 1\n0 invoke enqueue 2\n0 ok enqueue 2\n1 invoke dequeue\n1 ok dequeue 1\n1 invoke dequeue\n1 ok dequeue nil\n2 invoke drain\n2 ok drain [2]");
    assert_eq!((r.valid, r.attempted, r.acknowledged, r.delivered), (Verdict::Valid, 2, 2, 2), "{r:?}");
}

#[test]
fn an_acknowledged_enqueue_never_delivered_is_lost() {
    let r = check("0 invoke enqueue 1\n0 ok enqueue 1\n0 invoke enqueue 2\n0 ok enqueue 2\n1 invoke dequeue\n1 ok dequeue 2\n2 invoke drain\n2 ok drain []");
    assert_eq!((r.valid, r.lost.clone()), (Verdict::Invalid, vec![("1".to_string(), 0)]), "{r:?}");
}

#[test]
fn look_alikes_of_a_loss_are_not_one() {
    // an enqueue of unknown outcome need not arrive
    let r = check("0 invoke enqueue 1\n0 info enqueue 1\n3 invoke enqueue 2\n3 ok enqueue 2\n1 invoke dequeue\n1 ok dequeue 2\n2 invoke drain\n2 ok drain []");
    assert_eq!((r.valid, r.lost.len()), (Verdict::Valid, 0), "{r:?}");
    // a dequeue of unknown outcome may have taken it: unknown, not invalid
    let r = check("0 invoke enqueue 1\n0 ok enqueue 1\n0 invoke enqueue 2\n0 ok enqueue 2\n1 invoke dequeue\n1 info dequeue\n4 invoke dequeue\n4 ok dequeue 2\n2 invoke drain\n2 ok drain []");
    assert_eq!((r.valid, r.unknown_dequeues), (Verdict::Unknown, 1), "{r:?}");
    assert!(r.reason.as_deref().is_some_and(|x| x.contains("unknown outcome")), "{r:?}");
    // without a drain, a value not yet delivered may still be queued
    let r = check("0 invoke enqueue 1\n0 ok enqueue 1\n0 invoke enqueue 2\n0 ok enqueue 2\n1 invoke dequeue\n1 ok dequeue 2");
    assert_eq!((r.valid, r.lost.len()), (Verdict::Unknown, 0), "{r:?}");
    assert!(r.reason.as_deref().is_some_and(|x| x.starts_with("no drain completed")), "{r:?}");
}

#[test]
fn a_value_acknowledged_twice_is_duplicated_a_redelivery_is_not() {
    let r = check("0 invoke enqueue 1\n0 ok enqueue 1\n1 invoke dequeue\n1 ok dequeue 1\n2 invoke dequeue\n2 ok dequeue 1\n3 invoke drain\n3 ok drain []");
    assert_eq!((r.valid, r.duplicated.clone()), (Verdict::Invalid, vec![("1".to_string(), vec![3, 5])]), "{r:?}");
    // delivered again by the drain after it was acknowledged
    let r = check("0 invoke enqueue 1\n0 ok enqueue 1\n1 invoke dequeue\n1 ok dequeue 1\n3 invoke drain\n3 ok drain [1]");
    assert_eq!(r.valid, Verdict::Invalid, "{r:?}");
    // delivered unacknowledged, then again: the redelivery the queue owes
    let r = check(
        "0 invoke enqueue 1\n0 ok enqueue 1\n1 invoke dequeue \"no-ack\"\n1 ok dequeue 1\n2 invoke dequeue\n2 ok dequeue 1\n3 invoke drain\n3 ok drain []",
    );
    assert_eq!((r.valid, r.redelivered, r.delivered), (Verdict::Valid, 1, 1), "{r:?}");
    // delivered only unacknowledged and never again: lost
    let r = check("0 invoke enqueue 1\n0 ok enqueue 1\n0 invoke enqueue 2\n0 ok enqueue 2\n1 invoke dequeue \"no-ack\"\n1 ok dequeue 1\n2 invoke dequeue\n2 ok dequeue 2\n3 invoke drain\n3 ok drain []");
    assert_eq!((r.valid, r.lost.clone()), (Verdict::Invalid, vec![("1".to_string(), 0)]), "{r:?}");
}

#[test]
fn a_value_never_enqueued_or_failed_is_unexpected() {
    let r = check("0 invoke enqueue 1\n0 ok enqueue 1\n1 invoke dequeue\n1 ok dequeue 9\n2 invoke drain\n2 ok drain [1]");
    assert_eq!((r.valid, r.unexpected.clone()), (Verdict::Invalid, vec![("9".to_string(), 3)]), "{r:?}");
    let r = check("0 invoke enqueue 1\n0 ok enqueue 1\n0 invoke enqueue 2\n0 fail enqueue 2\n2 invoke drain\n2 ok drain [1 2]");
    assert_eq!((r.valid, r.unexpected.clone()), (Verdict::Invalid, vec![("2".to_string(), 5)]), "{r:?}");
}

#[test]
fn one_consumer_getting_one_producers_values_out_of_order_is_a_reorder() {
    let enq = "0 invoke enqueue 1\n0 ok enqueue 1\n0 invoke enqueue 2\n0 ok enqueue 2\n";
    let r = check(&format!("{enq}1 invoke dequeue\n1 ok dequeue 2\n1 invoke dequeue\n1 ok dequeue 1\n2 invoke drain\n2 ok drain []"));
    let want = Reorder { first: ("1".into(), 0), then: ("2".into(), 2), delivered: (5, 7) };
    assert_eq!((r.valid, r.reordered.clone()), (Verdict::Invalid, vec![want]), "{r:?}");
    // within one drain too
    let r = check(&format!("{enq}2 invoke drain\n2 ok drain [2 1]"));
    assert_eq!((r.valid, r.reordered.len()), (Verdict::Invalid, 1), "{r:?}");
}

#[test]
fn look_alikes_of_a_reorder_are_not_one() {
    let enq = "0 invoke enqueue 1\n0 ok enqueue 1\n0 invoke enqueue 2\n0 ok enqueue 2\n";
    // two consumers: each saw one
    let r = check(&format!("{enq}1 invoke dequeue\n1 ok dequeue 2\n3 invoke dequeue\n3 ok dequeue 1\n2 invoke drain\n2 ok drain []"));
    assert_eq!(r.valid, Verdict::Valid, "{r:?}");
    // 1 went to another consumer unacknowledged and came back
    let r = check(&format!(
        "{enq}3 invoke dequeue \"no-ack\"\n3 ok dequeue 1\n1 invoke dequeue\n1 ok dequeue 2\n1 invoke dequeue\n1 ok dequeue 1\n2 invoke drain\n2 ok drain []"
    ));
    assert_eq!(r.valid, Verdict::Valid, "{r:?}");
    // a dequeue of unknown outcome may have held 1
    let r = check(&format!(
        "{enq}3 invoke dequeue\n3 info dequeue\n1 invoke dequeue\n1 ok dequeue 2\n1 invoke dequeue\n1 ok dequeue 1\n2 invoke drain\n2 ok drain []"
    ));
    assert!(r.reordered.is_empty(), "{r:?}");
    // 1 delivered again after a consumer acknowledged it: a duplicate, not also a reorder
    let r = check(&format!(
        "{enq}3 invoke dequeue\n3 ok dequeue 1\n1 invoke dequeue\n1 ok dequeue 2\n1 invoke dequeue\n1 ok dequeue 1\n2 invoke drain\n2 ok drain []"
    ));
    assert_eq!((r.valid, r.duplicated.len(), r.reordered.len()), (Verdict::Invalid, 1, 0), "{r:?}");
    // two producers promise no order between them
    let r = check("0 invoke enqueue 1\n0 ok enqueue 1\n4 invoke enqueue 2\n4 ok enqueue 2\n1 invoke dequeue\n1 ok dequeue 2\n1 invoke dequeue\n1 ok dequeue 1\n2 invoke drain\n2 ok drain []");
    assert_eq!(r.valid, Verdict::Valid, "{r:?}");
}

#[test]
fn a_queue_history_that_tested_nothing_is_unknown() {
    for (text, why) in [
        ("", "no enqueue was acknowledged"),
        ("0 invoke enqueue 1\n0 fail enqueue 1\n2 invoke drain\n2 ok drain []", "no enqueue was acknowledged"),
        ("0 invoke enqueue 1\n0 ok enqueue 1\n1 invoke dequeue\n1 info dequeue", "nothing was delivered"),
    ] {
        let r = check(text);
        assert_eq!(r.valid, Verdict::Unknown, "{text}: {r:?}");
        assert!(r.reason.as_deref().is_some_and(|r| r.ends_with(why)), "{text}: {r:?}");
    }
}
