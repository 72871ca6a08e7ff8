//! rw-register: the smallest history of each anomaly the inference can
//! prove, and the look-alikes it must not flag.

use super::*;
use crate::synth::compact as h;
use Consistency::*;

fn check(text: &str, c: Consistency) -> TxnResult {
    check_rw_register(&h(text), c).unwrap()
}

fn check_wfr(text: &str, c: Consistency) -> TxnResult {
    check_rw_register_in(Source { h: &h(text), texts: None }, c, RegisterOrder { wfr_keys: true }).unwrap()
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
fn lost_updates_are_found_directly_and_writes_follow_reads_only_when_asked() {
    // both read x = 1 and overwrite it: one update is lost, whatever the
    // version order; with writes-follow-reads, 2 and 3 each follow 1 and
    // each reader of 1 anti-depends on the other's write: a cycle too
    let t = "0 invoke txn [[w x 1]]\n0 ok txn [[w x 1]]\n\
             1 invoke txn [[r x nil] [w x 2]]\n2 invoke txn [[r x nil] [w x 3]]\n\
             1 ok txn [[r x 1] [w x 2]]\n2 ok txn [[r x 1] [w x 3]]";
    let r = check(t, Serializable);
    assert_eq!((r.valid, names(&r)), (Verdict::Invalid, vec!["lost-update"]));
    assert_eq!(r.sources, vec!["initial-state"]);
    assert!(check(t, ReadCommitted).valid.is_valid(), "read committed allows lost updates");
    assert!(!check(t, RepeatableRead).valid.is_valid(), "repeatable read forbids lost updates");
    let r = check_wfr(t, Serializable);
    assert!(names(&r).iter().any(|n| n.starts_with("G-single") || n.starts_with("G2")), "{:?}", names(&r));
    assert_eq!(r.sources, vec!["initial-state", "wfr-keys"]);
}

#[test]
fn elle_wfr_test_is_valid_without_writes_follow_reads() {
    // Elle's rw_register_test "wfr": T1 = ry1wx1wy2 establishes y 1 -> 2
    // only by writes-follow-reads; T2 = rx1ry1 then anti-depends on T1
    let t = "0 invoke txn [[r y nil] [w x 1] [w y 2]]\n0 ok txn [[r y 1] [w x 1] [w y 2]]\n\
             0 invoke txn [[r x nil] [r y nil]]\n0 ok txn [[r x 1] [r y 1]]";
    let r = check(t, Serializable);
    assert_eq!(r.valid, Verdict::Valid, "{:?}", r.anomalies);
    assert_eq!(names(&r), vec!["garbage-read"], "y = 1 was never written: named, outside the models");
    let r = check_wfr(t, Serializable);
    assert_eq!((r.valid, names(&r)), (Verdict::Invalid, vec!["G-single-item", "garbage-read"]));
}

#[test]
fn aborted_intermediate_garbage_and_internal_reads_are_named() {
    let g1a = "0 invoke txn [[w x 1]]\n0 fail txn [[w x 1]]\n1 invoke txn [[r x nil]]\n1 ok txn [[r x 1]]";
    assert_eq!(names(&check(g1a, ReadUncommitted)), vec!["G1a", EMPTY]);
    assert_eq!((check(g1a, ReadCommitted).valid, check(g1a, ReadUncommitted).valid), (Verdict::Invalid, Verdict::Unknown));
    let g1b = "0 invoke txn [[w x 1] [w x 2]]\n0 ok txn [[w x 1] [w x 2]]\n1 invoke txn [[r x nil]]\n1 ok txn [[r x 1]]";
    assert_eq!(names(&check(g1b, ReadCommitted)), vec!["G1b", EMPTY]);
    let garbage = "0 invoke txn [[r x nil]]\n0 ok txn [[r x 9]]\n1 invoke txn [[w x 1]]\n1 ok txn [[w x 1]]\n2 invoke txn [[r x nil]]\n2 ok txn [[r x 1]]";
    let r = check(garbage, ReadUncommitted);
    assert_eq!((r.valid, names(&r)), (Verdict::Valid, vec!["garbage-read"]));
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
