//! Small hand-written histories, one per rule of the search and semantics.

use checker::{check_history, Budget, CheckOptions, ModelKind, Verdict};
use history::{History, Semantics};
use std::time::Instant;

use checker::synth::compact as h;

fn check(model: ModelKind, sem: Semantics, text: &str) -> checker::Linearizability {
    let mut o = CheckOptions::new(model);
    o.semantics = sem;
    check_history(&h(text), &o).unwrap()
}

fn verdict(text: &str) -> Verdict {
    check(ModelKind::CasRegister, Semantics::FAULTLINE, text).valid
}

#[test]
fn a_sequential_history_that_reads_what_was_written_is_valid() {
    assert_eq!(verdict("0 invoke write 1\n0 ok write 1\n1 invoke read\n1 ok read 1"), Verdict::Valid);
}

#[test]
fn a_history_that_tested_nothing_is_unknown() {
    for (text, why) in [
        ("", "no operation completed"),
        ("0 invoke write 1\n0 info write 1\n1 invoke read\n1 info read", "no operation completed"),
        ("0 invoke write 1\n0 fail write 1\n1 invoke read", "no operation completed"),
        ("0 invoke write 1\n0 ok write 1\n1 invoke write 2\n1 ok write 2", "no read completed"),
    ] {
        let r = check(ModelKind::CasRegister, Semantics::FAULTLINE, text);
        assert_eq!(r.valid, Verdict::Unknown, "{text}: {r:?}");
        assert_eq!(r.reason.as_deref(), Some(format!("tested nothing: {why}").as_str()), "{text}");
    }
    // a stale read is invalid however little else completed
    assert_eq!(verdict("0 invoke write 1\n0 ok write 1\n1 invoke read\n1 ok read nil"), Verdict::Invalid);
}

#[test]
fn a_stale_read_is_invalid_and_names_the_read() {
    let r = check(ModelKind::CasRegister, Semantics::FAULTLINE, "0 invoke write 1\n0 ok write 1\n1 invoke read\n1 ok read nil");
    assert_eq!(r.valid, Verdict::Invalid);
    let cx = r.counterexample.unwrap();
    assert_eq!(cx.prefix_len, 1);
    assert_eq!(cx.steps.len(), 1);
    assert_eq!(cx.steps[0].op.op, "write 1");
    assert_eq!(cx.steps[0].state, "1");
    assert_eq!((cx.unplaceable.id, cx.unplaceable.process), (2, 1));
    assert_eq!(cx.unplaceable.op, "read null");
    assert!(cx.concurrent.is_empty(), "{:?}", cx.concurrent);
}

#[test]
fn a_read_concurrent_with_a_write_may_see_either_value() {
    for v in ["nil", "1"] {
        assert_eq!(verdict(&format!("0 invoke write 1\n1 invoke read\n1 ok read {v}\n0 ok write 1")), Verdict::Valid);
    }
}

#[test]
fn the_counterexample_lists_the_concurrent_ops() {
    let r = check(ModelKind::CasRegister, Semantics::FAULTLINE, "0 invoke write 1\n0 ok write 1\n1 invoke write 2\n2 invoke read\n2 ok read 3\n1 ok write 2");
    let cx = r.counterexample.unwrap();
    assert_eq!(cx.unplaceable.op, "read 3");
    assert_eq!(cx.concurrent.iter().map(|c| c.op.as_str()).collect::<Vec<_>>(), ["write 2"]);
}

#[test]
fn an_info_write_may_take_effect_at_any_later_time() {
    let base = "0 invoke write 1\n0 info write 1\n";
    assert_eq!(verdict(&format!("{base}1 invoke read\n1 ok read nil\n1 invoke read\n1 ok read 1")), Verdict::Valid);
    assert_eq!(verdict(&format!("{base}1 invoke read\n1 ok read nil\n1 invoke read\n1 ok read nil")), Verdict::Valid);
    // once seen, it has happened: it cannot be undone
    assert_eq!(verdict(&format!("{base}1 invoke read\n1 ok read 1\n1 invoke read\n1 ok read nil")), Verdict::Invalid);
}

#[test]
fn an_invocation_that_never_completed_is_indeterminate() {
    assert_eq!(verdict("0 invoke write 1\n1 invoke read\n1 ok read 1"), Verdict::Valid);
    assert_eq!(verdict("0 invoke write 1\n1 invoke read\n1 ok read 2"), Verdict::Invalid);
}

#[test]
fn a_failed_write_did_not_happen() {
    assert_eq!(verdict("0 invoke write 1\n0 fail write 1\n1 invoke read\n1 ok read 1"), Verdict::Invalid);
}

#[test]
fn a_failed_cas_is_dropped_or_observed_by_the_semantics_chosen() {
    let text = "0 invoke write 1\n0 ok write 1\n1 invoke cas [1 2]\n1 fail cas [1 2]";
    // Jepsen: the cas did not happen, nothing to contradict (and nothing read: tested nothing)
    assert_eq!(check(ModelKind::CasRegister, Semantics::FAULTLINE, text).valid, Verdict::Unknown);
    assert_eq!(check(ModelKind::CasRegister, Semantics::FAULTLINE, &format!("{text}\n1 invoke read\n1 ok read 1")).valid, Verdict::Valid);
    // Porcupine: the cas saw a value other than 1, but the register held 1
    assert_eq!(check(ModelKind::CasRegister, Semantics::PORCUPINE, text).valid, Verdict::Invalid);
}

#[test]
fn knossos_treats_a_nil_read_as_unconstrained() {
    let text = "0 invoke write 1\n0 ok write 1\n1 invoke read\n1 ok read nil";
    // the nil read constrains nothing, so nothing was read: tested nothing
    assert_eq!(check(ModelKind::Register, Semantics::KNOSSOS, text).valid, Verdict::Unknown);
    assert_eq!(check(ModelKind::Register, Semantics::KNOSSOS, &format!("{text}\n1 invoke read\n1 ok read 1")).valid, Verdict::Valid);
    assert_eq!(check(ModelKind::Register, Semantics::FAULTLINE, text).valid, Verdict::Invalid);
}

#[test]
fn independent_keys_are_checked_apart_and_the_bad_key_is_named() {
    let text = "0 invoke write [a 1]\n0 ok write [a 1]\n1 invoke write [b 2]\n1 ok write [b 2]\n\
                2 invoke read [a nil]\n2 ok read [a 1]\n2 invoke read [b nil]\n2 ok read [b 1]";
    let mut o = CheckOptions::new(ModelKind::Register);
    o.independent = true;
    let r = check_history(&h(text), &o).unwrap();
    assert_eq!((r.valid, r.partitions), (Verdict::Invalid, 2));
    assert_eq!(r.counterexample.unwrap().unplaceable.op, "key \"b\": read 1");
    o.split = false;
    let r = check_history(&h(text), &o).unwrap();
    assert_eq!((r.valid, r.partitions), (Verdict::Invalid, 1));
}

#[test]
fn ops_the_model_does_not_know_are_errors_naming_the_line() {
    let e = check_history(&h("0 invoke write 1\n0 ok write 1\n0 invoke cas [1 2]\n0 ok cas [1 2]"), &CheckOptions::new(ModelKind::Register)).unwrap_err();
    assert_eq!(e.line, 3);
    assert!(e.to_string().contains("cas-register"), "{e}");
    let e = check_history(&h("0 invoke frob 1"), &CheckOptions::new(ModelKind::CasRegister)).unwrap_err();
    assert!(e.to_string().contains("frob"), "{e}");
}

/// A history whose search explodes: many concurrent indeterminate writes and
/// a final read no order can explain.
fn hard() -> History {
    h(&hard_text())
}

fn hard_text() -> String {
    let mut s = String::new();
    for p in 0..24 {
        s += &format!("{p} invoke write {p}\n");
    }
    for p in 0..24 {
        s += &format!("{p} info write {p}\n");
    }
    s += "100 invoke read\n100 ok read 99\n";
    s
}

#[test]
fn past_its_time_budget_the_verdict_is_unknown_with_the_reason() {
    let mut o = CheckOptions::new(ModelKind::Register);
    o.budget = Budget { deadline: Some(Instant::now()), ..Budget::default() };
    let r = check_history(&hard(), &o).unwrap();
    assert_eq!(r.valid, Verdict::Unknown);
    assert!(r.reason.unwrap().contains("time budget"));
}

#[test]
fn past_its_memory_budget_the_verdict_is_unknown_with_the_reason() {
    let mut o = CheckOptions::new(ModelKind::Register);
    o.budget = Budget { deadline: None, max_bytes: 1 << 20, per_part: None };
    let r = check_history(&hard(), &o).unwrap();
    assert_eq!(r.valid, Verdict::Unknown);
    assert!(r.reason.unwrap().contains("memory budget"));
}

#[test]
fn a_slow_key_is_unknown_by_name_and_the_other_keys_are_still_decided() {
    // key 7: the hard history above; keys 1 and 2: a write and a read each
    let mut s = String::new();
    for line in hard_text().lines() {
        let w: Vec<&str> = line.splitn(4, ' ').collect();
        let v = w.get(3).copied().unwrap_or("nil");
        s += &format!("{} {} {} [7 {v}]\n", w[0], w[1], w[2]);
    }
    for k in [1, 2] {
        s += &format!("200 invoke write [{k} 5]\n200 ok write [{k} 5]\n201 invoke read [{k} nil]\n201 ok read [{k} 5]\n");
    }
    let mut o = CheckOptions::new(ModelKind::CasRegister);
    o.independent = true;
    o.budget = Budget { per_part: Some(std::time::Duration::ZERO), ..Budget::default() };
    let r = check_history(&h(&s), &o).unwrap();
    assert_eq!(r.valid, Verdict::Unknown);
    let why = r.reason.unwrap();
    assert!(why.contains("1 of 3 parts undecided (key 7)") && why.contains("time budget"), "{why}");
    // a stale read on a small key is still found beside the slow one
    s += "300 invoke write [3 1]\n300 ok write [3 1]\n301 invoke read [3 nil]\n301 ok read [3 nil]\n";
    assert_eq!(check_history(&h(&s), &o).unwrap().valid, Verdict::Invalid);
}

#[test]
fn identical_indeterminate_ops_are_tried_once_each_time() {
    // 12 timed-out cas 0 -> 1 and 12 timed-out writes of 0: which of the
    // identical ones took effect does not matter, so the search places
    // the first pending one of each kind only (without that, every pair
    // of subsets of equal size: millions of configurations)
    let mut text = String::from("50 invoke write 0\n50 ok write 0\n");
    for p in 0..24 {
        text += &format!("{p} invoke {}\n", if p % 2 == 0 { "cas [0 1]" } else { "write 0" });
    }
    for p in 0..24 {
        text += &format!("{p} info {}\n", if p % 2 == 0 { "cas [0 1]" } else { "write 0" });
    }
    let r = check(ModelKind::CasRegister, Semantics::FAULTLINE, &(text.clone() + "100 invoke read\n100 ok read 2\n"));
    assert_eq!(r.valid, Verdict::Invalid);
    assert!(r.configurations < 1000, "{} configurations", r.configurations);
    let r = check(ModelKind::CasRegister, Semantics::FAULTLINE, &(text + "100 invoke read\n100 ok read 1\n"));
    assert_eq!(r.valid, Verdict::Valid);
}

#[test]
fn an_indeterminate_op_that_changes_nothing_is_not_placed_there() {
    // 24 timed-out cas from values the register never holds: placing one
    // changes nothing, so the search leaves them all for the end
    let mut text = String::new();
    for p in 0..24 {
        text += &format!("{p} invoke cas [{} 7]\n", 10 + p);
    }
    for p in 0..24 {
        text += &format!("{p} info cas [{} 7]\n", 10 + p);
    }
    let r = check(ModelKind::CasRegister, Semantics::FAULTLINE, &(text.clone() + "100 invoke read\n100 ok read nil\n"));
    assert_eq!(r.valid, Verdict::Valid);
    assert!(r.configurations < 100, "{} configurations", r.configurations);
    let r = check(ModelKind::CasRegister, Semantics::FAULTLINE, &(text + "100 invoke read\n100 ok read 7\n"));
    assert_eq!(r.valid, Verdict::Invalid);
}
