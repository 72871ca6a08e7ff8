//! The set checker: unique elements added (`add`), whole-set reads
//! (`read`), and a final read after the heal.

use history::{pair, History, HistoryError, OpType, Role};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// A read, as a finding names it: the op index of its completion, and the
/// node it went through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadRef {
    /// The read's completion, by its index in the history.
    pub op: u64,
    /// The node it went through, if the history says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
}

/// An element the final reads disagree on: some have it, some lack it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disagreement {
    /// The element (its JSON text).
    pub element: String,
    /// The final reads that have it.
    pub present: Vec<ReadRef>,
    /// The final reads that lack it.
    pub absent: Vec<ReadRef>,
}

/// How a lost or disagreed-on element came to be known and went missing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElementStory {
    /// The element (its JSON text).
    pub element: String,
    /// Its add's invocation, by op index (`None`: never added).
    pub add_invoke: Option<u64>,
    /// Its add's completion (`None`: never completed).
    pub add_completion: Option<u64>,
    /// The add's outcome (`ok`, `info`), if it completed.
    pub add_outcome: Option<String>,
    /// The last read that saw it.
    pub last_seen: Option<ReadRef>,
    /// The reads that began after it was known and lacked it.
    pub missed_by: Vec<ReadRef>,
}

/// What the set checker found. Elements are their JSON text.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct SetResult {
    /// No lost, unexpected or duplicated element, final reads that agree,
    /// and (when linearizable reads were asked for) no stale read.
    pub valid: crate::Verdict,
    /// Adds attempted / acknowledged (`ok`) / indeterminate (`info`).
    pub attempted: usize,
    /// Acknowledged adds.
    pub acknowledged: usize,
    /// Elements known present (an acknowledged add, or a read that saw
    /// them) before the final reads began, and absent from every final
    /// read, with the add's op index (the first read's, for an element
    /// never acknowledged).
    pub lost: Vec<(String, u64)>,
    /// Elements read that no add ever tried, with the read's op index.
    pub unexpected: Vec<(String, u64)>,
    /// Elements that appear more than once in one read, with the read.
    pub duplicated: Vec<(String, u64)>,
    /// A read before the final reads that began after the element was
    /// known (acknowledged, or seen by a completed read) yet lacked it:
    /// (element, read op index), the first such read.
    pub stale: Vec<(String, u64)>,
    /// Elements the final reads disagree on: a replica that diverged. Each
    /// makes the run invalid, whichever order the final reads came in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disagree: Vec<Disagreement>,
    /// For each lost or disagreed-on element: its add, the last read that
    /// saw it, the reads that missed it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stories: Vec<ElementStory>,
    /// Attempted elements no read ever saw.
    pub never_read: Vec<String>,
    /// Indeterminate adds that a read saw (they did take effect).
    pub recovered: usize,
    /// Reads that completed ok; the final read's op index.
    pub reads: usize,
    /// The last final read's op index.
    pub final_read: Option<u64>,
    /// Why the verdict is unknown: the history tested nothing (no
    /// acknowledged add, or no read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One completed read: its invocation and completion positions, its
/// elements, whether it is a final read, its node.
struct Read {
    invoke: usize,
    completion: usize,
    elements: BTreeSet<String>,
    listed: Vec<String>,
    is_final: bool,
}

/// Checks a set history; `linearizable` makes stale reads invalid.
///
/// The final reads are the reads made after the last heal and recovery
/// window (their role is `final`); a history without them (an imported
/// one) has its last read as the final read. An element is known from its
/// acknowledgement or the first read that saw it; it is lost when it was
/// known before the final reads began and no final read has it, and the
/// final reads disagree when some have an element others lack. Neither
/// depends on the order the final reads came in (Jepsen's set-full is the
/// anchor: present once, absent from every read after some instant).
pub fn check_set(h: &History, linearizable: bool) -> Result<SetResult, HistoryError> {
    let pairs = pair(h)?;
    let mut r = SetResult::default();
    // element -> (add invoke pos, add completion pos and kind)
    let mut adds: BTreeMap<String, (usize, Option<(usize, OpType)>)> = BTreeMap::new();
    let mut reads: Vec<Read> = Vec::new();
    for p in &pairs {
        let inv = &h.ops[p.invoke];
        let done = p.completion.map(|c| (c, &h.ops[c]));
        match inv.f.as_str() {
            "add" => {
                r.attempted += 1;
                let completed = match done {
                    Some((_, op)) if op.kind == OpType::Fail => continue, // did not happen
                    Some((c, op)) => Some((c, op.kind)),
                    None => None,
                };
                if completed.is_some_and(|(_, k)| k == OpType::Ok) {
                    r.acknowledged += 1;
                }
                adds.insert(inv.value.to_string(), (p.invoke, completed));
            }
            "read" => {
                if let Some((c, op)) = done.filter(|(_, op)| op.kind == OpType::Ok) {
                    let listed: Vec<String> = match &op.value {
                        Value::Array(a) => a.iter().map(Value::to_string).collect(),
                        _ => Vec::new(),
                    };
                    let elements = listed.iter().cloned().collect();
                    reads.push(Read { invoke: p.invoke, completion: c, elements, listed, is_final: inv.role == Role::Final });
                }
            }
            _ => {}
        }
    }
    reads.sort_by_key(|x| x.invoke);
    r.reads = reads.len();
    let read_ref = |x: &Read| ReadRef { op: h.ops[x.completion].index, node: h.ops[x.completion].node.clone().or_else(|| h.ops[x.invoke].node.clone()) };
    let mut seen: BTreeSet<&String> = BTreeSet::new();
    for x in &reads {
        let idx = h.ops[x.completion].index;
        let mut here = BTreeSet::new();
        for e in &x.listed {
            if !here.insert(e) {
                r.duplicated.push((e.clone(), idx));
            }
            if !adds.contains_key(e) && !r.unexpected.iter().any(|(u, _)| u == e) {
                r.unexpected.push((e.clone(), idx));
            }
            seen.insert(e);
        }
    }
    // the final reads: those made as such, else the last read
    let mut finals: Vec<&Read> = reads.iter().filter(|x| x.is_final).collect();
    if finals.is_empty() {
        finals.extend(reads.last());
    }
    let finals_begin = finals.iter().map(|x| x.invoke).min();
    r.final_read = finals.iter().map(|x| h.ops[x.completion].index).max();
    // when each element became known: its acknowledgement, or the first read that saw it
    let mut known: BTreeMap<&String, usize> = BTreeMap::new();
    for (e, (_, done)) in &adds {
        if let Some((c, OpType::Ok)) = done {
            known.insert(e, *c);
        }
    }
    for x in &reads {
        // an element never added is unexpected, not known
        for e in x.elements.iter().filter(|e| adds.contains_key(*e)) {
            let k = known.entry(e).or_insert(x.completion);
            *k = (*k).min(x.completion);
        }
    }
    let mut storied: BTreeSet<String> = BTreeSet::new();
    if let Some(begin) = finals_begin {
        for (e, at) in &known {
            if *at < begin && finals.iter().all(|x| !x.elements.contains(*e)) {
                let op = adds.get(*e).map(|(inv, _)| h.ops[*inv].index).unwrap_or(h.ops[*at].index);
                r.lost.push(((*e).clone(), op));
                storied.insert((*e).clone());
            }
        }
    }
    if finals.len() > 1 {
        let union: BTreeSet<&String> = finals.iter().flat_map(|x| &x.elements).collect();
        for e in union {
            let (present, absent): (Vec<&&Read>, Vec<&&Read>) = finals.iter().partition(|x| x.elements.contains(e));
            if !absent.is_empty() {
                let refs = |v: Vec<&&Read>| v.into_iter().map(|x| read_ref(x)).collect();
                r.disagree.push(Disagreement { element: e.clone(), present: refs(present), absent: refs(absent) });
                storied.insert(e.clone());
            }
        }
    }
    // stale: the first read before the final ones, begun after the element
    // was known, that lacks it (what the final reads lack is lost or disagreement)
    let final_invokes: BTreeSet<usize> = finals.iter().map(|x| x.invoke).collect();
    for (e, at) in &known {
        if let Some(x) = reads.iter().find(|x| !final_invokes.contains(&x.invoke) && x.invoke > *at && !x.elements.contains(*e)) {
            r.stale.push(((*e).clone(), h.ops[x.completion].index));
        }
    }
    r.stale.sort_by_key(|(_, op)| *op);
    for e in &storied {
        let at = known.get(e).copied();
        let (add_invoke, add_completion, add_outcome) = match adds.get(e) {
            Some((inv, done)) => (Some(h.ops[*inv].index), done.map(|(c, _)| h.ops[c].index), done.map(|(_, k)| k.as_str().to_string())),
            None => (None, None, None),
        };
        let last_seen = reads.iter().rev().find(|x| x.elements.contains(e)).map(read_ref);
        let missed_by = reads.iter().filter(|x| at.is_some_and(|a| x.invoke > a) && !x.elements.contains(e)).map(read_ref).collect();
        r.stories.push(ElementStory { element: e.clone(), add_invoke, add_completion, add_outcome, last_seen, missed_by });
    }
    r.recovered = adds.iter().filter(|(e, (_, done))| done.is_none_or(|(_, k)| k == OpType::Info) && seen.contains(e)).count();
    r.never_read = adds.keys().filter(|e| !seen.contains(e)).cloned().collect();
    r.valid = crate::Verdict::of(
        r.lost.is_empty() && r.unexpected.is_empty() && r.duplicated.is_empty() && r.disagree.is_empty() && (!linearizable || r.stale.is_empty()),
    );
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

    /// Adds 1 and 2 acknowledged, then one final read per node, in `order`
    /// (each `(node, elements)`), as a run's history has them.
    fn with_finals(order: &[(&str, &[u64])]) -> History {
        use history::{Op, Process};
        let mut h = History::default();
        let mut push = |p: u64, kind: OpType, f: &str, v: Value, node: &str, role: Role| {
            let mut op = Op::new(Process::Client(p), kind, f, v);
            op.index = h.ops.len() as u64;
            op.time = op.index * 1_000_000;
            op.node = Some(node.to_string());
            op.role = role;
            h.ops.push(op);
        };
        for e in [1u64, 2] {
            push(0, OpType::Invoke, "add", e.into(), "n1", Role::Client);
            push(0, OpType::Ok, "add", e.into(), "n1", Role::Client);
        }
        for (i, (node, els)) in order.iter().enumerate() {
            let p = 10 + i as u64;
            push(p, OpType::Invoke, "read", Value::Null, node, Role::Final);
            push(p, OpType::Ok, "read", serde_json::json!(els), node, Role::Final);
        }
        h
    }

    #[test]
    fn final_reads_that_disagree_are_invalid_whatever_their_order() {
        let reads: [(&str, &[u64]); 3] = [("n1", &[1, 2]), ("n2", &[1, 2]), ("n3", &[2])];
        for order in [[0, 1, 2], [2, 0, 1], [0, 2, 1]] {
            let finals: Vec<(&str, &[u64])> = order.iter().map(|&i| reads[i]).collect();
            let r = check_set(&with_finals(&finals), true).unwrap();
            assert_eq!(r.valid, crate::Verdict::Invalid, "{order:?}: {r:?}");
            assert!(r.lost.is_empty() && r.stale.is_empty(), "not lost, not stale: the final reads disagree ({order:?}): {r:?}");
            assert_eq!(r.disagree.len(), 1, "{r:?}");
            let d = &r.disagree[0];
            let nodes = |v: &[ReadRef]| v.iter().filter_map(|x| x.node.clone()).collect::<BTreeSet<_>>();
            assert_eq!((d.element.as_str(), nodes(&d.present), nodes(&d.absent)), ("1", ["n1".into(), "n2".into()].into(), ["n3".into()].into()));
            // its story: the add, the last read that saw it, the read that missed it
            let s = &r.stories[0];
            assert_eq!((s.element.as_str(), s.add_invoke, s.add_completion, s.add_outcome.as_deref()), ("1", Some(0), Some(1), Some("ok")));
            assert!(s.last_seen.as_ref().is_some_and(|x| x.node.as_deref() != Some("n3")), "{s:?}");
            assert_eq!(nodes(&s.missed_by), ["n3".into()].into(), "{s:?}");
        }
    }

    #[test]
    fn an_element_every_final_read_lacks_is_lost_and_agreeing_final_reads_are_valid() {
        let r = check_set(&with_finals(&[("n1", &[2]), ("n2", &[2]), ("n3", &[2])]), true).unwrap();
        assert_eq!((r.valid, r.lost.clone(), r.disagree.len()), (crate::Verdict::Invalid, vec![("1".to_string(), 0)], 0), "{r:?}");
        assert_eq!(r.stories.len(), 1);
        let r = check_set(&with_finals(&[("n1", &[1, 2]), ("n3", &[2, 1]), ("n2", &[1, 2])]), true).unwrap();
        assert!(r.valid.is_valid() && r.disagree.is_empty() && r.stories.is_empty(), "{r:?}");
        assert_eq!(r.final_read, Some(9), "the last final read");
    }

    #[test]
    fn an_indeterminate_add_a_read_saw_is_known_and_can_be_lost() {
        let r = check_set(&h("0 invoke add 1\n0 info add 1\n0 invoke add 2\n0 ok add 2\n1 invoke read\n1 ok read [1 2]\n1 invoke read\n1 ok read [2]"), true)
            .unwrap();
        assert_eq!(r.lost, [("1".to_string(), 0)], "seen, then absent from the final read: {r:?}");
        assert_eq!(r.recovered, 1);
    }
}
