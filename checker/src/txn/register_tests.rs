//! rw-register: the smallest history of each anomaly the inference can
//! prove, and the look-alikes it must not flag.

use super::*;
use crate::synth::compact as h;
use Consistency::*;

fn check(text: &str, c: Consistency) -> TxnResult {
    check_rw_register(&h(text), c).unwrap()
}

fn names(r: &TxnResult) -> Vec<&str> {
    r.anomalies.keys().map(String::as_str).collect()
}

#[test]
fn a_serial_history_and_concurrent_unordered_ones_are_valid_under_every_model() {
    let serial = "0 invoke txn [[r x nil] [w x 1]]\n0 ok txn [[r x nil] [w x 1]]\n\
                  1 invoke txn [[r x nil] [w x 2] [w y 1]]\n1 ok txn [[r x 1] [w x 2] [w y 1]]\n\
                  2 invoke txn [[r x nil] [r y nil]]\n2 ok txn [[r x 2] [r y 1]]";
    for c in models::ALL {
        let r = check(serial, c);
        assert_eq!(r.valid, Verdict::Valid, "{}: {:?}", c.name(), r.anomalies);
        assert!(r.anomalies.is_empty());
    }
    // a read of nil concurrent with the first write: either order works
    let concurrent = "0 invoke txn [[w x 1]]\n1 invoke txn [[r x nil]]\n1 ok txn [[r x nil]]\n0 ok txn [[w x 1]]";
    assert_eq!(check(concurrent, StrictSerializable).valid, Verdict::Valid);
}

#[test]
fn read_skew_is_g_single_and_write_skew_is_g2() {
    // T0 writes x and y; T1 read x before it and y after it
    let skew = "0 invoke txn [[r x nil] [w x 1] [r y nil] [w y 1]]\n0 ok txn [[r x nil] [w x 1] [r y nil] [w y 1]]\n\
                1 invoke txn [[r x nil] [r y nil]]\n1 ok txn [[r x nil] [r y 1]]";
    let r = check(skew, SnapshotIsolation);
    assert_eq!((r.valid, names(&r)), (Verdict::Invalid, vec!["G-single-item"]));
    let steps = &r.anomalies["G-single-item"].examples[0].cycle;
    assert!(steps.iter().any(|s| s.edge == "rw" && s.why.contains("read x = nil")), "{steps:?}");
    assert!(check(skew, ReadCommitted).valid.is_valid());
    // each reads what the other overwrites: write skew, allowed by SI
    let write_skew = "0 invoke txn [[r x nil] [w y 1]]\n1 invoke txn [[r y nil] [w x 1]]\n\
                      0 ok txn [[r x nil] [w y 1]]\n1 ok txn [[r y nil] [w x 1]]";
    let r = check(write_skew, Serializable);
    assert_eq!((r.valid, names(&r)), (Verdict::Invalid, vec!["G2-item"]));
    assert!(check(write_skew, SnapshotIsolation).valid.is_valid());
}

#[test]
fn writes_following_reads_order_versions_and_find_lost_updates_as_g_single() {
    // both read x = 1 and overwrite it: 2 and 3 each follow 1, and each
    // read 1, which the other overwrote: two anti-dependencies in a cycle
    // (the classic lost update)
    let t = "0 invoke txn [[w x 1]]\n0 ok txn [[w x 1]]\n\
             1 invoke txn [[r x nil] [w x 2]]\n2 invoke txn [[r x nil] [w x 3]]\n\
             1 ok txn [[r x 1] [w x 2]]\n2 ok txn [[r x 1] [w x 3]]";
    let r = check(t, Serializable);
    assert_eq!(r.valid, Verdict::Invalid, "{:?}", r.anomalies);
    assert!(names(&r).iter().any(|n| n.starts_with("G-single") || n.starts_with("G2")), "{:?}", names(&r));
    assert!(names(&r).contains(&"lost-update"), "{:?}", names(&r));
    assert!(check(t, ReadCommitted).valid.is_valid(), "read committed allows lost updates");
    assert!(!check(t, RepeatableRead).valid.is_valid(), "repeatable read forbids lost updates");
}

#[test]
fn aborted_intermediate_garbage_and_internal_reads_are_named() {
    let g1a = "0 invoke txn [[w x 1]]\n0 fail txn [[w x 1]]\n1 invoke txn [[r x nil]]\n1 ok txn [[r x 1]]";
    assert_eq!(names(&check(g1a, ReadUncommitted)), vec!["G1a"]);
    assert!(!check(g1a, ReadCommitted).valid.is_valid() && check(g1a, ReadUncommitted).valid.is_valid());
    let g1b = "0 invoke txn [[w x 1] [w x 2]]\n0 ok txn [[w x 1] [w x 2]]\n1 invoke txn [[r x nil]]\n1 ok txn [[r x 1]]";
    assert_eq!(names(&check(g1b, ReadCommitted)), vec!["G1b"]);
    let garbage = "0 invoke txn [[r x nil]]\n0 ok txn [[r x 9]]";
    let r = check(garbage, ReadUncommitted);
    assert_eq!((r.valid, names(&r)), (Verdict::Invalid, vec!["garbage-read"]));
    let internal = "0 invoke txn [[w x 1] [r x nil]]\n0 ok txn [[w x 1] [r x 2]]\n1 invoke txn [[w x 2]]\n1 ok txn [[w x 2]]";
    let r = check(internal, SnapshotIsolation);
    assert!(names(&r).contains(&"internal"), "{:?}", names(&r));
    assert!(r.anomalies["internal"].examples[0].explanation.contains("it had seen or written 1"));
}

#[test]
fn a_malformed_micro_op_names_its_line() {
    let e = check_rw_register(&h("0 invoke txn [[w x nil]]\n0 ok txn [[w x nil]]"), Serializable).unwrap_err();
    assert!(e.to_string().contains("line 1") || e.to_string().contains("[w k v]"), "{e}");
}
