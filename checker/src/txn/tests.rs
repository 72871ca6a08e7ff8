//! The smallest history of each anomaly, and of what only looks like one.

use super::*;
use crate::synth::compact as h;
use Consistency::*;

fn check(text: &str, c: Consistency) -> TxnResult {
    check_list_append(&h(text), c).unwrap()
}

fn names(r: &TxnResult) -> Vec<&str> {
    r.anomalies.keys().map(String::as_str).collect()
}

const SERIAL: &str = "0 invoke txn [[append x 1]]\n0 ok txn [[append x 1]]\n\
                      1 invoke txn [[r x nil] [append x 2]]\n1 ok txn [[r x [1]] [append x 2]]\n\
                      2 invoke txn [[r x nil]]\n2 ok txn [[r x [1 2]]]";

#[test]
fn a_serial_history_is_valid_under_every_model() {
    for c in models::ALL {
        let r = check(SERIAL, c);
        assert_eq!(r.valid, Verdict::Valid, "{}: {:?}", c.name(), r.anomalies);
        assert!(r.anomalies.is_empty() && r.not.is_empty());
    }
    assert_eq!(check(SERIAL, Serializable).txns, 3);
}

#[test]
fn concurrent_transactions_with_no_order_and_a_prefix_read_are_fine() {
    // 1 reads [1] while 2 appends 2: concurrent, both orders work
    let t = "0 invoke txn [[append x 1]]\n0 ok txn [[append x 1]]\n\
             1 invoke txn [[r x nil]]\n2 invoke txn [[append x 2]]\n2 ok txn [[append x 2]]\n1 ok txn [[r x [1]]]\n\
             3 invoke txn [[r x nil]]\n3 ok txn [[r x [1 2]]]";
    assert_eq!(check(t, StrictSerializable).valid, Verdict::Valid);
}

#[test]
fn write_cycles_are_g0() {
    let t = "0 invoke txn [[append x 1] [append y 1]]\n1 invoke txn [[append x 2] [append y 2]]\n\
             0 ok txn [[append x 1] [append y 1]]\n1 ok txn [[append x 2] [append y 2]]\n\
             2 invoke txn [[r x nil] [r y nil]]\n2 ok txn [[r x [1 2]] [r y [2 1]]]";
    let r = check(t, ReadUncommitted);
    assert_eq!(r.valid, Verdict::Invalid);
    assert_eq!(names(&r), vec!["G0"]);
    let cycle = &r.anomalies["G0"].examples[0].cycle;
    assert_eq!(cycle.len(), 2);
    assert!(cycle.iter().all(|s| s.edge == "ww") && cycle[0].why.contains("right after"), "{cycle:?}");
    assert_eq!(r.not[0], "read-uncommitted");
}

#[test]
fn circular_information_flow_is_g1c() {
    let t = "0 invoke txn [[append x 1] [r y nil]]\n1 invoke txn [[append y 1] [r x nil]]\n\
             0 ok txn [[append x 1] [r y [1]]]\n1 ok txn [[append y 1] [r x [1]]]";
    let r = check(t, ReadCommitted);
    assert_eq!((r.valid, names(&r)), (Verdict::Invalid, vec!["G1c"]));
    assert!(r.anomalies["G1c"].examples[0].cycle.iter().all(|s| s.edge == "wr"));
}

#[test]
fn aborted_and_intermediate_reads_and_internal_inconsistency() {
    let g1a = "0 invoke txn [[append x 1]]\n0 fail txn [[append x 1]]\n1 invoke txn [[r x nil]]\n1 ok txn [[r x [1]]]";
    // one transaction reads: no edge, Elle's empty transaction graph beside G1a
    let r = check(g1a, ReadCommitted);
    assert_eq!((r.valid, names(&r)), (Verdict::Invalid, vec!["G1a", EMPTY]));
    assert_eq!(check(g1a, ReadUncommitted).valid, Verdict::Unknown, "read uncommitted allows G1a; nothing else to judge");
    let g1b = "0 invoke txn [[append x 1] [append x 2]]\n1 invoke txn [[r x nil]]\n1 ok txn [[r x [1]]]\n0 ok txn [[append x 1] [append x 2]]";
    assert!(names(&check(g1b, ReadCommitted)).contains(&"G1b"));
    let internal = "0 invoke txn [[append x 1] [r x nil]]\n0 ok txn [[append x 1] [r x []]]";
    let r = check(internal, SnapshotIsolation);
    assert_eq!((r.valid, names(&r)), (Verdict::Invalid, vec![EMPTY, "internal"]));
    assert_eq!(
        check(internal, ReadCommitted).valid,
        Verdict::Unknown,
        "read committed allows internal inconsistency, as in Elle; one transaction orders nothing"
    );
    let dup = "0 invoke txn [[r x nil]]\n0 ok txn [[r x [1 1]]]\n1 invoke txn [[append x 1]]\n1 ok txn [[append x 1]]";
    assert!(names(&check(dup, ReadUncommitted)).contains(&"duplicate-elements"));
    let incompatible = "0 invoke txn [[append x 1]]\n0 ok txn [[append x 1]]\n1 invoke txn [[append x 2]]\n1 ok txn [[append x 2]]\n\
                        2 invoke txn [[r x nil]]\n2 ok txn [[r x [1 2]]]\n3 invoke txn [[r x nil]]\n3 ok txn [[r x [2]]]";
    assert!(names(&check(incompatible, ReadCommitted)).contains(&"incompatible-order"));
}

#[test]
fn read_skew_is_g_single_which_snapshot_isolation_forbids() {
    // 0 sees x before 1's append but y after it
    let t = "0 invoke txn [[r x nil] [r y nil]]\n1 invoke txn [[append x 1] [append y 1]]\n\
             1 ok txn [[append x 1] [append y 1]]\n0 ok txn [[r x []] [r y [1]]]\n\
             2 invoke txn [[r x nil]]\n2 ok txn [[r x [1]]]";
    let r = check(t, SnapshotIsolation);
    assert_eq!((r.valid, names(&r)), (Verdict::Invalid, vec!["G-single-item"]));
    assert_eq!(check(t, ReadCommitted).valid, Verdict::Valid);
    let edges: Vec<&str> = r.anomalies["G-single-item"].examples[0].cycle.iter().map(|s| s.edge.as_str()).collect();
    assert_eq!(edges.iter().filter(|e| **e == "rw").count(), 1);
}

#[test]
fn write_skew_is_g2_item_allowed_by_snapshot_isolation() {
    let t = "0 invoke txn [[r x nil] [append y 1]]\n1 invoke txn [[r y nil] [append x 1]]\n\
             0 ok txn [[r x []] [append y 1]]\n1 ok txn [[r y []] [append x 1]]\n\
             2 invoke txn [[r x nil] [r y nil]]\n2 ok txn [[r x [1]] [r y [1]]]";
    let r = check(t, Serializable);
    assert_eq!((r.valid, names(&r)), (Verdict::Invalid, vec!["G2-item"]));
    assert_eq!(check(t, SnapshotIsolation).valid, Verdict::Valid);
    assert!(r.not.contains(&"repeatable-read".to_string()) && !r.not.contains(&"snapshot-isolation".to_string()));
}

#[test]
fn a_stale_read_after_a_completed_write_is_a_realtime_anomaly() {
    // 1 begins after 0's append completed, and does not see it
    let t = "0 invoke txn [[append x 1]]\n0 ok txn [[append x 1]]\n1 invoke txn [[r x nil]]\n1 ok txn [[r x []]]\n\
             2 invoke txn [[r x nil]]\n2 ok txn [[r x [1]]]";
    let r = check(t, StrictSerializable);
    assert_eq!(r.valid, Verdict::Invalid);
    assert!(names(&r).iter().any(|n| n.starts_with("G-single-item-")), "{:?}", names(&r));
    assert_eq!(check(t, Serializable).valid, Verdict::Valid);
}

#[test]
fn a_malformed_transaction_names_its_line() {
    let e = check_list_append(&h("0 invoke txn [[append x 1]]\n0 ok txn [[frob x 1]]"), Serializable).unwrap_err();
    assert_eq!(e.line, 2);
    assert!(e.to_string().contains("frob"), "{e}");
}

#[test]
fn anti_dependencies_never_adjacent_are_g_nonadjacent_which_snapshot_isolation_forbids() {
    // 0 -rw-> 1 -wr-> 2 -rw-> 3 -wr-> 0
    let t = "0 invoke txn [[r a nil] [r d nil]]\n1 invoke txn [[append a 1] [append b 1]]\n\
             2 invoke txn [[r b nil] [r c nil]]\n3 invoke txn [[append c 1] [append d 1]]\n\
             1 ok txn [[append a 1] [append b 1]]\n3 ok txn [[append c 1] [append d 1]]\n\
             0 ok txn [[r a []] [r d [1]]]\n2 ok txn [[r b [1]] [r c []]]\n\
             4 invoke txn [[r a nil] [r c nil]]\n4 ok txn [[r a [1]] [r c [1]]]";
    let r = check(t, SnapshotIsolation);
    assert_eq!((r.valid, names(&r)), (Verdict::Invalid, vec!["G-nonadjacent-item"]));
    let edges: Vec<&str> = r.anomalies["G-nonadjacent-item"].examples[0].cycle.iter().map(|s| s.edge.as_str()).collect();
    assert_eq!(edges.len(), 4);
    assert_eq!(check(t, ReadCommitted).valid, Verdict::Valid);
}

#[test]
fn generated_serializable_histories_are_valid_under_every_model() {
    for seed in 0..5 {
        let h = synth::generate(&synth::TxnSpec::new(2_000, seed));
        for c in [ReadCommitted, SnapshotIsolation, StrictSerializable] {
            let r = check_list_append(&h, c).unwrap();
            assert_eq!(r.valid, Verdict::Valid, "seed {seed}, {}: {:?}", c.name(), r.anomalies.keys().collect::<Vec<_>>());
        }
    }
}

#[test]
fn a_planted_stale_read_is_found_and_classified() {
    // make one completed read miss the last element it saw: an
    // anti-dependency back in time, a G-single cycle with real-time order
    let mut h = synth::generate(&synth::TxnSpec::new(2_000, 7));
    let (at, mop) = h
        .ops
        .iter()
        .enumerate()
        .filter(|(_, o)| o.kind == history::OpType::Ok)
        .find_map(|(i, o)| o.value.as_array()?.iter().position(|m| m[0] == "r" && m[2].as_array().is_some_and(|l| l.len() >= 3)).map(|j| (i, j)))
        .unwrap();
    let list = h.ops[at].value[mop][2].as_array_mut().unwrap();
    list.pop();
    let r = check_list_append(&h, StrictSerializable).unwrap();
    assert_eq!(r.valid, Verdict::Invalid);
    assert!(r.anomalies.keys().any(|n| n.starts_with("G-single-item") || n.starts_with("G2-item")), "{:?}", r.anomalies.keys().collect::<Vec<_>>());
}

#[test]
fn planted_g1c_and_g2_item_cycles_are_found_among_thousands_of_valid_transactions() {
    let mut h = synth::generate(&synth::TxnSpec::new(5_000, 3));
    synth::plant_cycles(&mut h);
    let r = check_list_append(&h, StrictSerializable).unwrap();
    assert_eq!(names(&r), vec!["G1c", "G2-item"], "{:?}", r.anomalies);
    for n in ["G1c", "G2-item"] {
        assert_eq!(r.anomalies[n].count, 1);
        assert_eq!(r.anomalies[n].examples[0].cycle.len(), 2, "{n}: the shortest cycle");
    }
}

#[test]
fn garbage_dirty_updates_and_lost_updates_are_named() {
    // 9 was never appended: named, but outside every model, as Elle has no
    // such anomaly
    let garbage = "0 invoke txn [[append x 1]]\n0 ok txn [[append x 1]]\n1 invoke txn [[r x nil]]\n1 ok txn [[r x [1 9]]]\n\
                   2 invoke txn [[r x nil]]\n2 ok txn [[r x [1]]]";
    for c in models::ALL {
        let r = check(garbage, c);
        assert!(names(&r) == vec!["garbage-read"] && r.valid == Verdict::Valid, "{}: {:?}", c.name(), names(&r));
    }
    // a committed append right after a failed one in x's order
    let dirty = "0 invoke txn [[append x 1]]\n0 fail txn [[append x 1]]\n1 invoke txn [[append x 2]]\n1 ok txn [[append x 2]]\n\
                 2 invoke txn [[r x nil]]\n2 ok txn [[r x [1 2]]]";
    let r = check(dirty, ReadUncommitted);
    assert!(names(&r).contains(&"dirty-update"), "{:?}", names(&r));
    assert!(check(dirty, ReadCommitted).valid == Verdict::Invalid);
    // both read [1] and appended: one of the updates is lost
    let lost = "0 invoke txn [[append x 1]]\n0 ok txn [[append x 1]]\n\
                1 invoke txn [[r x nil] [append x 2]]\n2 invoke txn [[r x nil] [append x 3]]\n\
                1 ok txn [[r x [1]] [append x 2]]\n2 ok txn [[r x [1]] [append x 3]]\n\
                3 invoke txn [[r x nil]]\n3 ok txn [[r x [1 2 3]]]";
    let r = check(lost, RepeatableRead);
    assert!(names(&r).contains(&"lost-update") && r.valid == Verdict::Invalid, "{:?}", names(&r));
    assert_eq!(r.anomalies["lost-update"].examples[0].txns.len(), 2);
}
