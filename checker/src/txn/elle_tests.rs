//! Elle's own list-append test histories (test/elle/list_append_test.clj),
//! re-expressed here, with the verdicts and anomalies Elle gives them. Each
//! failed before faultline placed unobserved appends, found future reads,
//! reported dirty updates through indeterminate appends and judged an empty
//! transaction graph `unknown`, as Elle does.

use super::*;
use crate::synth::compact;
use Consistency::*;

/// Elle's op language: `ax1` appends 1 to x, `ry12` reads y = [1 2], `rx`
/// reads x = []; one micro-op after another (`ax1ry1`).
fn mops(op: &str, completed: bool) -> String {
    let mut out: Vec<(char, char, Vec<char>)> = Vec::new();
    for c in op.chars() {
        match c {
            'a' | 'r' => out.push((c, ' ', Vec::new())),
            d if d.is_ascii_digit() => out.last_mut().expect("a digit after a micro-op").2.push(d),
            k => out.last_mut().expect("a key after a micro-op").1 = k,
        }
    }
    let text: Vec<String> = out
        .iter()
        .map(|(f, k, v)| match (f, completed) {
            ('a', _) => format!("[append {k} {}]", v.iter().collect::<String>()),
            (_, false) => format!("[r {k} nil]"),
            _ => format!("[r {k} [{}]]", v.iter().map(char::to_string).collect::<Vec<_>>().join(" ")),
        })
        .collect();
    format!("[{}]", text.join(" "))
}

/// Elle's `pair`s one after another: each op invoked and completed (`ok`,
/// or the type before a colon: `fail:ax1`) before the next begins, each on
/// a process of its own.
fn serial(ops: &[&str]) -> History {
    let lines: Vec<String> = ops
        .iter()
        .enumerate()
        .map(|(p, op)| {
            let (kind, op) = op.split_once(':').unwrap_or(("ok", op));
            format!("{p} invoke txn {}\n{p} {kind} txn {}", mops(op, false), mops(op, true))
        })
        .collect();
    compact(&lines.join("\n"))
}

/// Every op invoked before any completes: no real-time order.
fn concurrent(ops: &[&str]) -> History {
    let invokes = ops.iter().enumerate().map(|(p, op)| format!("{p} invoke txn {}", mops(op, false)));
    let oks = ops.iter().enumerate().map(|(p, op)| format!("{p} ok txn {}", mops(op, true)));
    compact(&invokes.chain(oks).collect::<Vec<_>>().join("\n"))
}

/// The verdict and what Elle would report: the anomalies `c` forbids and
/// the empty graph (faultline also names the anomalies `c` allows).
fn check(h: &History, c: Consistency) -> (Verdict, Vec<String>) {
    let r = check_list_append(h, c).unwrap();
    (r.valid, r.anomalies.into_keys().filter(|n| c.forbids(n) || n == EMPTY).collect())
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn unobserved_writes_follow_the_longest_read() {
    // unobserved-write-test: ry2 misses y's 1, so ry -rw-> w1 -ww-> w2 -wr-> ry
    // (G-single), and y puts w2 before w1 where x puts w1 first (G0)
    let h = concurrent(&["ax1ay1", "ax2ay2", "ax3ay3", "rx12", "ry2"]);
    assert_eq!(check(&h, Serializable), (Verdict::Invalid, names(&["G-single-item", "G0"])));
}

#[test]
fn an_intermediate_read_is_g1b_and_g_single() {
    // G1b: rx1 sees ax1 but not ax2 of the same transaction
    let h = serial(&["ax1ax2", "rx1"]);
    assert_eq!(check(&h, StrictSerializable), (Verdict::Invalid, names(&["G-single-item", "G1b"])));
}

#[test]
fn reads_of_the_initial_state_anti_depend_on_unread_appends() {
    // G-single: ax2ry missed ay1, whose transaction came before it on x
    let h = concurrent(&["ax1ay1", "ax2ry", "rx12"]);
    assert_eq!(check(&h, SnapshotIsolation), (Verdict::Invalid, names(&["G-single-item"])));
    assert_eq!(check(&h, ReadCommitted).0, Verdict::Valid);
    // G2: two transactions each miss the other's append, which no one read
    let h = concurrent(&["ax1ry", "ay1rx"]);
    assert_eq!(check(&h, ReadCommitted).0, Verdict::Valid);
    for c in [RepeatableRead, Serializable] {
        assert_eq!(check(&h, c), (Verdict::Invalid, names(&["G2-item"])), "{}", c.name());
    }
    // repeatable-read-test: the same with the read first
    let h = concurrent(&["rxay1", "ryax1"]);
    assert_eq!(check(&h, ReadCommitted).0, Verdict::Valid);
    assert_eq!(check(&h, RepeatableRead), (Verdict::Invalid, names(&["G2-item"])));
    // rr-g-single-item-test
    let h = serial(&["ax1ay1", "rx1ry"]);
    assert_eq!(check(&h, RepeatableRead), (Verdict::Invalid, names(&["G-single-item"])));
    // rr-g-nonadjacent-item-test
    let h = serial(&["ax1at1", "rx1ry", "ay1az2", "rz2rt"]);
    assert_eq!(check(&h, RepeatableRead), (Verdict::Invalid, names(&["G-nonadjacent-item"])));
    // G-nonadjacent-test, and its look-alike with two rw edges in a row
    let h = serial(&["ax1", "rx1ry", "ay1", "ry1rx"]);
    let (v, found) = check(&h, StrictSerializable);
    assert!(v == Verdict::Invalid && found.contains(&"G-nonadjacent-item".to_string()), "{found:?}");
    let h = serial(&["rx5ay1", "ryaz2", "rzat3", "rt3au4", "ruax5"]);
    assert_eq!(check(&h, SnapshotIsolation).0, Verdict::Valid);
}

#[test]
fn lost_updates_are_g2_item_too() {
    // lost-update-test: both read [0] and appended; neither saw the other
    // (faultline also names the G-single-item-realtime cycle t2 -rw-> t1
    // -realtime-> t2; Elle misses it, as its t1 -> t2 edge is both rw and
    // real-time and counts as a second rw)
    let h = serial(&["ax0", "rx0ax1", "rx0ax2"]);
    assert_eq!(check(&h, StrictSerializable), (Verdict::Invalid, names(&["G-single-item-realtime", "G2-item", "lost-update"])));
    assert_eq!(check(&h, Serializable), (Verdict::Invalid, names(&["G2-item", "lost-update"])));
    assert_eq!(check(&h, SnapshotIsolation).0, Verdict::Invalid, "SI forbids lost updates (update atomic)");
    // one txn, double write: not a lost update
    let h = serial(&["rxax1ax2", "rx12"]);
    assert_eq!(check(&h, StrictSerializable), (Verdict::Valid, vec![]));
}

#[test]
fn a_read_of_ones_own_later_append_is_a_future_read() {
    // future-read-test: one transaction, so nothing else to order
    let h = compact("0 invoke txn [[r x [1]] [append x 1]]\n0 ok txn [[r x [1]] [append x 1]]");
    assert_eq!(check(&h, ReadCommitted), (Verdict::Invalid, names(&["empty-transaction-graph", "future-read"])));
    assert_eq!(check(&h, ReadUncommitted).0, Verdict::Unknown);
    let r = check_list_append(&h, ReadCommitted).unwrap();
    assert!(r.anomalies["future-read"].examples[0].explanation.contains("appended 1 there itself"), "{:?}", r.anomalies);
}

#[test]
fn an_aborted_read_alone_is_g1a_and_an_empty_graph() {
    // checker-test "G1a": T2 sees T1's failed append, and nothing else
    let h = serial(&["fail:ax1", "rx1"]);
    assert_eq!(check(&h, ReadUncommitted), (Verdict::Unknown, names(&["empty-transaction-graph"])));
    for c in [ReadCommitted, RepeatableRead] {
        assert_eq!(check(&h, c), (Verdict::Invalid, names(&["G1a", "empty-transaction-graph"])), "{}", c.name());
    }
    // a failed transaction is outside the graph, real-time order too
    assert_eq!(check(&h, StrictSerializable), (Verdict::Invalid, names(&["G1a", "empty-transaction-graph"])));
    let h = serial(&["ay2", "fail:ax1", "rx1"]);
    assert_eq!(check(&h, StrictSerializable), (Verdict::Invalid, names(&["G1a"])), "ordered in real time: not empty");
    assert_eq!(check(&h, ReadUncommitted).0, Verdict::Unknown, "nor data edges: empty without real-time order");
}

#[test]
fn a_dirty_update_may_have_indeterminate_appends_between() {
    // x's order is 1 (failed), 2 (indeterminate), 3 (committed)
    let h = compact(
        "0 invoke txn [[append x 1]]\n0 fail txn [[append x 1]]\n1 invoke txn [[append x 2]]\n1 info txn [[append x 2]]\n\
         2 invoke txn [[append x 3]]\n2 ok txn [[append x 3]]\n3 invoke txn [[r x nil]]\n3 ok txn [[r x [1 2 3]]]",
    );
    let r = check_list_append(&h, ReadCommitted).unwrap();
    assert!(r.anomalies.contains_key("dirty-update") && r.anomalies.contains_key("G1a"), "{:?}", r.anomalies.keys());
    assert!(r.anomalies["dirty-update"].examples[0].explanation.contains("only indeterminate appends between"));
    assert_eq!(r.valid, Verdict::Invalid);
}

#[test]
fn checker_test_g0_g1c_and_realtime_cases_agree() {
    let h = concurrent(&["ax1ay1", "ax2ay2", "rx12ry21"]);
    assert_eq!(check(&h, ReadUncommitted), (Verdict::Invalid, names(&["G0"])));
    let h = concurrent(&["ax1ry1", "ax2ay1", "rx12ry1"]);
    assert_eq!(check(&h, ReadCommitted), (Verdict::Invalid, names(&["G1c"])));
    // Strong SI violation: rx1 began after ax2 completed and missed it
    let h = serial(&["ax1", "ax2", "rx1", "rx12"]);
    assert_eq!(check(&h, Serializable).0, Verdict::Valid);
    let (v, found) = check(&h, StrictSerializable);
    assert!(v == Verdict::Invalid && found == names(&["G-single-item-realtime"]), "{found:?}");
}
