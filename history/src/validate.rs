//! Pairing invocations with completions, and the rules a history must keep.

use crate::error::{ErrorKind, HistoryError};
use crate::import::History;
use crate::op::{OpType, Process};
use rustc_hash::FxHashMap;

/// One client operation: its invocation and, if it completed, its completion
/// (positions in [`History::ops`]). `completion: None` means the history ended
/// with the operation still open: as indeterminate as an `info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pair {
    /// Position of the `invoke`.
    pub invoke: usize,
    /// Position of the `ok` / `fail` / `info`, if any.
    pub completion: Option<usize>,
}

/// Pairs every client invocation with its completion, checking that
/// - no completion comes without an open invocation on its process,
/// - no process invokes while it has an invocation open,
/// - a completion has its invocation's `f`.
///
/// Nemesis ops are not paired (Jepsen's nemesis logs `info` pairs).
/// Errors name the line of the offending op.
pub fn pair(h: &History) -> Result<Vec<Pair>, HistoryError> {
    let mut open: FxHashMap<u64, usize> = FxHashMap::default();
    let mut pairs: Vec<Pair> = Vec::new();
    let mut slot: Vec<usize> = Vec::new(); // op position -> pair number, for invokes
    slot.resize(h.ops.len(), usize::MAX);
    for (i, op) in h.ops.iter().enumerate() {
        let Process::Client(p) = op.process else { continue };
        let line = h.lines.get(i).copied().unwrap_or(i + 1);
        let line_of = |j: usize| h.lines.get(j).copied().unwrap_or(j + 1);
        if op.kind == OpType::Invoke {
            if let Some(&j) = open.get(&p) {
                return Err(HistoryError::at(line, ErrorKind::DoubleInvocation { process: p.to_string(), open_line: line_of(j) }));
            }
            open.insert(p, i);
            slot[i] = pairs.len();
            pairs.push(Pair { invoke: i, completion: None });
        } else {
            let Some(j) = open.remove(&p) else {
                return Err(HistoryError::at(line, ErrorKind::CompletionWithoutInvocation { process: p.to_string(), f: op.f.clone() }));
            };
            if h.ops[j].f != op.f {
                return Err(HistoryError::at(line, ErrorKind::MismatchedF { invoked: h.ops[j].f.clone(), completed: op.f.clone(), invoke_line: line_of(j) }));
            }
            pairs[slot[j]].completion = Some(i);
        }
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::{parse, Format};

    fn h(text: &str) -> History {
        parse(text, Format::Edn).unwrap()
    }

    #[test]
    fn pairs_ops_and_leaves_open_ones_open() {
        let p = pair(&h("{:process 0 :type :invoke :f :read}
             {:process 1 :type :invoke :f :write :value 1}
             {:process 0 :type :ok :f :read :value nil}
             {:process :nemesis :type :info :f :start}"))
        .unwrap();
        assert_eq!(p, vec![Pair { invoke: 0, completion: Some(2) }, Pair { invoke: 1, completion: None }]);
    }

    #[test]
    fn each_rule_names_its_line() {
        let e = pair(&h("{:process 0 :type :ok :f :read}")).unwrap_err();
        assert_eq!((e.line, matches!(e.kind, ErrorKind::CompletionWithoutInvocation { .. })), (1, true));
        let e = pair(&h("{:process 0 :type :invoke :f :read}\n{:process 0 :type :invoke :f :read}")).unwrap_err();
        assert_eq!(e.kind, ErrorKind::DoubleInvocation { process: "0".into(), open_line: 1 });
        assert_eq!(e.line, 2);
        let e = pair(&h("{:process 0 :type :invoke :f :read}\n\n{:process 0 :type :ok :f :write}")).unwrap_err();
        assert_eq!(e.line, 3);
        assert!(matches!(e.kind, ErrorKind::MismatchedF { invoke_line: 1, .. }));
        assert!(e.to_string().contains("line 3"), "{e}");
    }
}
