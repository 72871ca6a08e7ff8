//! The set checker: unique elements added (`add`), whole-set reads
//! (`read`), and a final read after the heal.

use history::{pair, History, HistoryError, OpType};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// What the set checker found. Elements are their JSON text.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct SetResult {
    /// No lost, unexpected or duplicated element, and (when linearizable
    /// reads were asked for) no stale read.
    pub valid: crate::Verdict,
    /// Adds attempted / acknowledged (`ok`) / indeterminate (`info`).
    pub attempted: usize,
    /// Acknowledged adds.
    pub acknowledged: usize,
    /// Acknowledged adds missing from the final read, with the add's op index.
    pub lost: Vec<(String, u64)>,
    /// Elements read that no add ever tried, with the read's op index.
    pub unexpected: Vec<(String, u64)>,
    /// Elements that appear more than once in one read, with the read.
    pub duplicated: Vec<(String, u64)>,
    /// A read that began after the add was acknowledged, yet lacked the
    /// element, which a later read had: (element, read op index).
    pub stale: Vec<(String, u64)>,
    /// Attempted elements no read ever saw.
    pub never_read: Vec<String>,
    /// Indeterminate adds that a read saw (they did take effect).
    pub recovered: usize,
    /// Reads that completed ok; the final read's op index.
    pub reads: usize,
    /// The final read's op index.
    pub final_read: Option<u64>,
    /// Why the verdict is unknown: the history tested nothing (no
    /// acknowledged add, or no read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Checks a set history; `linearizable` makes stale reads invalid.
pub fn check_set(h: &History, linearizable: bool) -> Result<SetResult, HistoryError> {
    let pairs = pair(h)?;
    let mut r = SetResult::default();
    // element -> (add invoke pos, add completion pos if ok, info?)
    let mut adds: BTreeMap<String, (usize, Option<usize>, bool)> = BTreeMap::new();
    // (read invoke pos, read completion pos, elements)
    let mut reads: Vec<(usize, usize, Vec<String>)> = Vec::new();
    for p in &pairs {
        let inv = &h.ops[p.invoke];
        let done = p.completion.map(|c| (c, &h.ops[c]));
        match inv.f.as_str() {
            "add" => {
                let e = inv.value.to_string();
                r.attempted += 1;
                let (ok_at, info) = match done {
                    Some((c, op)) if op.kind == OpType::Ok => (Some(c), false),
                    Some((_, op)) if op.kind == OpType::Fail => continue, // did not happen
                    _ => (None, true),
                };
                if ok_at.is_some() {
                    r.acknowledged += 1;
                }
                adds.insert(e, (p.invoke, ok_at, info));
            }
            "read" => {
                if let Some((c, op)) = done {
                    if op.kind == OpType::Ok {
                        let elems: Vec<String> = match &op.value {
                            Value::Array(a) => a.iter().map(Value::to_string).collect(),
                            _ => Vec::new(),
                        };
                        reads.push((p.invoke, c, elems));
                    }
                }
            }
            _ => {}
        }
    }
    r.reads = reads.len();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for (_, c, elems) in &reads {
        let idx = h.ops[*c].index;
        let mut here = BTreeSet::new();
        for e in elems {
            if !here.insert(e.clone()) {
                r.duplicated.push((e.clone(), idx));
            }
            if !adds.contains_key(e) && !r.unexpected.iter().any(|(x, _)| x == e) {
                r.unexpected.push((e.clone(), idx));
            }
            seen.insert(e.clone());
        }
    }
    // stale: a read invoked after e's ack that lacks e, followed by a read with e
    for (e, (_, ok_at, _)) in &adds {
        let Some(ack) = ok_at else { continue };
        let last_with = reads.iter().rposition(|(_, _, els)| els.contains(e));
        for (i, (inv, c, els)) in reads.iter().enumerate() {
            if inv > ack && !els.contains(e) && last_with.is_some_and(|l| l > i) {
                r.stale.push((e.clone(), h.ops[*c].index));
                break;
            }
        }
    }
    // lost: acknowledged before the last read began, and not in it (an add
    // acknowledged later, as when a run stops early, cannot be judged)
    if let Some((read_inv, c, fin)) = reads.last() {
        r.final_read = Some(h.ops[*c].index);
        let fin: BTreeSet<&String> = fin.iter().collect();
        for (e, (inv, ok_at, _)) in &adds {
            if ok_at.is_some_and(|a| a < *read_inv) && !fin.contains(e) {
                r.lost.push((e.clone(), h.ops[*inv].index));
            }
        }
    }
    r.recovered = adds.iter().filter(|(e, (_, _, info))| *info && seen.contains(*e)).count();
    r.never_read = adds.keys().filter(|e| !seen.contains(*e)).cloned().collect();
    r.valid = crate::Verdict::of(r.lost.is_empty() && r.unexpected.is_empty() && r.duplicated.is_empty() && (!linearizable || r.stale.is_empty()));
    // a clean history that never acknowledged an add or never read proves nothing
    let nothing = match (r.acknowledged, r.reads) {
        (0, _) => Some("tested nothing: no add was acknowledged"),
        (_, 0) => Some("tested nothing: no read completed"),
        _ => None,
    };
    if let (true, Some(why)) = (r.valid.is_valid(), nothing) {
        r.valid = crate::Verdict::Unknown;
        r.reason = Some(why.to_string());
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::synth::compact as h;

    #[test]
    fn a_clean_set_is_valid() {
        let r = check_set(&h("0 invoke add 1\n0 ok add 1\n1 invoke add 2\n1 info add 2\n2 invoke read\n2 ok read [1 2]"), true).unwrap();
        assert!(r.valid.is_valid(), "{r:?}");
        assert_eq!((r.attempted, r.acknowledged, r.recovered), (2, 1, 1));
        assert!(r.never_read.is_empty());
    }

    #[test]
    fn lost_unexpected_duplicated_stale_and_never_read() {
        let r = check_set(
            &h("0 invoke add 1\n0 ok add 1\n0 invoke add 2\n0 ok add 2\n0 invoke add 3\n0 info add 3\n\
                1 invoke read\n1 ok read [2]\n1 invoke read\n1 ok read [1 2 9 9]\n1 invoke read\n1 ok read [2]"),
            true,
        )
        .unwrap();
        assert!(!r.valid.is_valid());
        assert_eq!(r.lost, [("1".to_string(), 0)]);
        assert_eq!(r.unexpected, [("9".to_string(), 9)]);
        assert_eq!(r.duplicated, [("9".to_string(), 9)]);
        assert_eq!(r.stale, [("1".to_string(), 7)]);
        assert_eq!(r.never_read, ["3"]);
    }

    #[test]
    fn failed_adds_are_not_expected() {
        let r = check_set(&h("0 invoke add 1\n0 fail add 1\n0 invoke add 2\n0 ok add 2\n1 invoke read\n1 ok read [2]"), true).unwrap();
        assert!(r.valid.is_valid() && r.attempted == 2 && r.acknowledged == 1, "{r:?}");
    }

    #[test]
    fn a_set_history_that_tested_nothing_is_unknown() {
        for (text, why) in [
            ("", "no add was acknowledged"),
            ("0 invoke add 1\n0 fail add 1\n1 invoke read\n1 ok read []", "no add was acknowledged"),
            ("0 invoke add 1\n0 ok add 1\n1 invoke read\n1 info read", "no read completed"),
        ] {
            let r = check_set(&h(text), true).unwrap();
            assert_eq!(r.valid, crate::Verdict::Unknown, "{text}: {r:?}");
            assert!(r.reason.as_deref().is_some_and(|r| r.ends_with(why)), "{text}: {r:?}");
        }
        // a lost element is invalid whatever else is missing
        let r = check_set(&h("0 invoke add 1\n0 ok add 1\n1 invoke read\n1 ok read []"), true).unwrap();
        assert_eq!((r.valid, r.reason), (crate::Verdict::Invalid, None));
    }
}
