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
    pair_with(h, 1)
}

/// [`pair`] on up to `threads` threads: the history is cut into chunks
/// paired alone, then joined in order (an invocation left open at the end
/// of a chunk meets its completion in a later one). The error reported is
/// the first in the history, as [`pair`] reports it.
pub fn pair_with(h: &History, threads: usize) -> Result<Vec<Pair>, HistoryError> {
    Ok(pair_chunks(h, threads)?.concat())
}

/// [`pair_with`]'s pairs as they were found, in consecutive runs, one per
/// thread (every pair is in the run where its invocation is), so a caller
/// can go on with each run on its own thread without joining them first.
pub fn pair_chunks(h: &History, threads: usize) -> Result<Vec<Vec<Pair>>, HistoryError> {
    let threads = threads.clamp(1, h.ops.len() / 100_000 + 1);
    let size = h.ops.len().div_ceil(threads).max(1);
    let chunks: Vec<Chunk> = if threads == 1 {
        vec![chunk(h, 0, h.ops.len())]
    } else {
        std::thread::scope(|s| {
            let hs: Vec<_> = (0..h.ops.len()).step_by(size).map(|from| s.spawn(move || chunk(h, from, (from + size).min(h.ops.len())))).collect();
            hs.into_iter().map(|t| t.join().unwrap_or_else(|p| std::panic::resume_unwind(p))).collect()
        })
    };
    join(h, chunks)
}

/// One chunk paired alone.
#[derive(Default)]
struct Chunk {
    pairs: Vec<Pair>,
    /// Per process, its first event here when it is not paired here: a
    /// completion (needing an earlier chunk's open invocation) or an
    /// invocation (an error if an earlier chunk left the process open).
    first: FxHashMap<u64, usize>,
    /// Invocations still open at the end: process -> pair number here.
    open: FxHashMap<u64, usize>,
    /// The first error met here, by position.
    error: Option<(usize, HistoryError)>,
}

fn line_of(h: &History, j: usize) -> usize {
    h.lines.get(j).copied().unwrap_or(j + 1)
}

fn mismatched(h: &History, invoke: usize, completion: usize) -> Option<HistoryError> {
    let (inv, done) = (&h.ops[invoke], &h.ops[completion]);
    (inv.f != done.f).then(|| {
        HistoryError::at(line_of(h, completion), ErrorKind::MismatchedF { invoked: inv.f.clone(), completed: done.f.clone(), invoke_line: line_of(h, invoke) })
    })
}

fn chunk(h: &History, from: usize, to: usize) -> Chunk {
    let mut c = Chunk::default();
    let mut seen: FxHashMap<u64, ()> = FxHashMap::default();
    for i in from..to {
        let op = &h.ops[i];
        let Process::Client(p) = op.process else { continue };
        let first = seen.insert(p, ()).is_none();
        if op.kind == OpType::Invoke {
            if let Some(&k) = c.open.get(&p) {
                let open_line = line_of(h, c.pairs[k].invoke);
                c.error = Some((i, HistoryError::at(line_of(h, i), ErrorKind::DoubleInvocation { process: p.to_string(), open_line })));
                return c;
            }
            if first {
                c.first.insert(p, i);
            }
            c.open.insert(p, c.pairs.len());
            c.pairs.push(Pair { invoke: i, completion: None });
        } else if let Some(k) = c.open.remove(&p) {
            if let Some(e) = mismatched(h, c.pairs[k].invoke, i) {
                c.error = Some((i, e));
                return c;
            }
            c.pairs[k].completion = Some(i);
        } else if first {
            c.first.insert(p, i); // an earlier chunk's invocation, or an error
        } else {
            let e = HistoryError::at(line_of(h, i), ErrorKind::CompletionWithoutInvocation { process: p.to_string(), f: op.f.clone() });
            c.error = Some((i, e));
            return c;
        }
    }
    c
}

/// Joins chunks in order (completing the pairs a later chunk closes); the
/// first error by position wins.
fn join(h: &History, chunks: Vec<Chunk>) -> Result<Vec<Vec<Pair>>, HistoryError> {
    let mut errors: Vec<(usize, HistoryError)> = Vec::new();
    let mut runs: Vec<Vec<Pair>> = Vec::with_capacity(chunks.len());
    // process -> (run, pair number in it) of its open invocation
    let mut open: FxHashMap<u64, (usize, usize)> = FxHashMap::default();
    for c in chunks {
        errors.extend(c.error);
        for (&p, &i) in &c.first {
            let held = open.get(&p).copied();
            match (h.ops[i].kind == OpType::Invoke, held) {
                (true, Some((r, k))) => errors.push((
                    i,
                    HistoryError::at(line_of(h, i), ErrorKind::DoubleInvocation { process: p.to_string(), open_line: line_of(h, runs[r][k].invoke) }),
                )),
                (true, None) => {}
                (false, Some((r, k))) => match mismatched(h, runs[r][k].invoke, i) {
                    Some(e) => errors.push((i, e)),
                    None => {
                        runs[r][k].completion = Some(i);
                        open.remove(&p);
                    }
                },
                (false, None) => {
                    errors.push((i, HistoryError::at(line_of(h, i), ErrorKind::CompletionWithoutInvocation { process: p.to_string(), f: h.ops[i].f.clone() })))
                }
            }
        }
        for (&p, &k) in &c.open {
            open.insert(p, (runs.len(), k));
        }
        runs.push(c.pairs);
    }
    match errors.into_iter().min_by_key(|e| e.0) {
        Some((_, e)) => Err(e),
        None => Ok(runs),
    }
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

    #[test]
    fn chunks_joined_pair_as_one_pass_does_and_report_the_same_first_error() {
        // 4 processes, ops interleaved so that pairs cross every chunk edge
        let mut text = String::new();
        for i in 0..400_000u64 {
            let p = i % 4;
            let kind = if (i / 4) % 2 == 0 { "invoke" } else { "ok" };
            text += &format!("{{:process {p} :type :{kind} :f :write :value {i}}}\n");
        }
        let mut hist = h(&text);
        let one = pair(&hist).unwrap();
        assert_eq!(pair_with(&hist, 4).unwrap(), one);
        assert_eq!(one.len(), 200_000);
        // an open invocation at the end stays open
        hist.ops.truncate(399_999);
        assert_eq!(pair_with(&hist, 3).unwrap(), pair(&hist).unwrap());
        // the first error is the one a single pass meets, wherever it is
        for at in [5usize, 150_001, 299_998] {
            let mut bad = hist.clone();
            bad.ops[at].kind = if bad.ops[at].kind == OpType::Invoke { OpType::Ok } else { OpType::Invoke };
            bad.ops[350_000].f = "read".into();
            assert_eq!(pair_with(&bad, 4).unwrap_err(), pair(&bad).unwrap_err(), "error at {at}");
        }
    }
}
