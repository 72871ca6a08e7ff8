//! The Wing-Gong-Lowe linearizability search with memoisation.
//!
//! Operations become call and return events on a doubly linked list in time
//! order. The search repeatedly picks a call that comes before the first
//! return in the list (a "minimal" operation), applies it to the model and
//! removes ("lifts") it; when it meets a return whose operation cannot be
//! placed it backtracks. A cache of (linearized set, model state) prunes
//! configurations seen before (Lowe's improvement, used by Knossos and
//! Porcupine).
//!
//! The linearized set is kept as a 128-bit Zobrist fingerprint (XOR of a
//! random key per operation), updated in O(1) per step instead of hashing and
//! copying a bitset: two different sets share a fingerprint with probability
//! 2^-128 per pair, far below any hardware error rate. A configuration is
//! remembered as that fingerprint XOR a 128-bit hash of the model state
//! ([`crate::seen`]): states are never cloned into the memo.
//!
//! Indeterminate operations (no return: they may take effect at any time
//! after their call, or never) are where searches explode, and three rules
//! that keep every linearization reachable cut them down: the search
//! succeeds as soon as every operation that completed is placed (the rest
//! take effect last, or never); it does not place an indeterminate
//! operation where it changes nothing (leaving it for later covers that);
//! and of identical pending indeterminate operations it tries only the
//! first (swapping two of them changes no state and breaks no order).
//! Porcupine has none of these: on the corpus's register histories they cut the
//! configurations 5-11x (BENCHMARKS.md).

use crate::model::{Model, Operation, OPEN};
use crate::seen::{bytes, state_key, Seen};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Limits on one search: past them the verdict is `unknown`, never a hang.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Give up at this instant.
    pub deadline: Option<Instant>,
    /// Give up when the search's cache and stack would exceed this many bytes.
    pub max_bytes: usize,
    /// Give up on one part (one key) after this long: a slow key is
    /// `unknown` and the others are still decided.
    pub per_part: Option<std::time::Duration>,
}

impl Default for Budget {
    fn default() -> Self {
        Budget { deadline: None, max_bytes: 1 << 30, per_part: None }
    }
}

/// An operation named in a counterexample.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OpRef {
    /// Position of the operation's invocation in the history.
    pub id: usize,
    /// Its process.
    pub process: u64,
    /// What it did, as the model describes it.
    pub op: String,
}

/// One step of the longest linearizable prefix.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Step {
    /// The operation placed.
    #[serde(flatten)]
    pub op: OpRef,
    /// The model state after it.
    pub state: String,
}

/// Why a history is not linearizable.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Counterexample {
    /// Operations in the longest linearizable prefix the search found.
    pub prefix_len: usize,
    /// The model state before the first step shown.
    pub start_state: String,
    /// The last steps of that prefix (at most [`SHOWN_STEPS`]), with the
    /// state after each.
    pub steps: Vec<Step>,
    /// The operation that had to be placed next and could not be: it
    /// completed before any remaining operation could be linearized.
    pub unplaceable: OpRef,
    /// The operations concurrent with the unplaceable one (their intervals
    /// overlap), in invocation order.
    pub concurrent: Vec<OpRef>,
}

/// How many final steps of the prefix a counterexample shows.
pub const SHOWN_STEPS: usize = 32;

/// How many concurrent operations a counterexample lists.
pub const SHOWN_CONCURRENT: usize = 64;

/// The result of searching one part of a history.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Linearizable.
    Ok,
    /// Not linearizable, with the evidence.
    Illegal(Box<Counterexample>),
    /// The budget ran out (or the search was cancelled); the reason.
    Unknown(String),
}

/// Counters from a search.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Stats {
    /// Model steps tried.
    pub steps: u64,
    /// Distinct (set, state) configurations cached.
    pub configurations: u64,
}

const NIL: u32 = u32::MAX;
const HEAD: u32 = 0;

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The event list: node 0 is the head, event `e` is node `e + 1`.
struct Events {
    next: Vec<u32>,
    prev: Vec<u32>,
    /// Per node: the local operation, and whether the node is its call.
    op: Vec<u32>,
    is_call: Vec<bool>,
    /// Per node: for a call, its return node.
    matching: Vec<u32>,
}

impl Events {
    fn new<I, O>(ops: &[&Operation<I, O>]) -> Events {
        let n = ops.len();
        // (time, 0 = call / 1 = return, op); calls sort before returns at
        // equal times, so operations touching at an instant are concurrent.
        let mut ev: Vec<(u64, u8, u32)> = Vec::with_capacity(2 * n);
        for (i, o) in ops.iter().enumerate() {
            ev.push((o.call, 0, i as u32));
            ev.push((o.ret, 1, i as u32));
        }
        ev.sort_unstable_by_key(|&(t, k, i)| (t, k, if t == OPEN { i } else { 0 }));
        let m = ev.len() + 1;
        let mut e = Events {
            next: (1..=m as u32).collect(),
            prev: (0..m as u32).map(|i| i.wrapping_sub(1)).collect(),
            op: vec![NIL; m],
            is_call: vec![false; m],
            matching: vec![NIL; m],
        };
        e.next[m - 1] = NIL;
        e.prev[0] = NIL;
        let mut call_node = vec![NIL; n];
        for (k, &(_, kind, i)) in ev.iter().enumerate() {
            let node = (k + 1) as u32;
            e.op[node as usize] = i;
            e.is_call[node as usize] = kind == 0;
            if kind == 0 {
                call_node[i as usize] = node;
            } else {
                e.matching[call_node[i as usize] as usize] = node;
            }
        }
        e
    }

    #[inline]
    fn unlink(&mut self, x: u32) {
        let (p, n) = (self.prev[x as usize], self.next[x as usize]);
        self.next[p as usize] = n;
        if n != NIL {
            self.prev[n as usize] = p;
        }
    }

    #[inline]
    fn relink(&mut self, x: u32) {
        let (p, n) = (self.prev[x as usize], self.next[x as usize]);
        self.next[p as usize] = x;
        if n != NIL {
            self.prev[n as usize] = x;
        }
    }

    #[inline]
    fn lift(&mut self, call: u32) {
        self.unlink(call);
        self.unlink(self.matching[call as usize]);
    }

    #[inline]
    fn unlift(&mut self, call: u32) {
        self.relink(self.matching[call as usize]);
        self.relink(call);
    }
}

/// Searches for a linearization of `ops` (one part of a history).
///
/// `cancel` stops the search early (another part was already found
/// illegal); it then answers `Unknown`.
pub fn search<M: Model>(model: &M, mut ops: Vec<&Operation<M::Input, M::Output>>, budget: &Budget, cancel: &AtomicBool) -> (Outcome, Stats) {
    // An indeterminate operation that changes nothing constrains nothing.
    ops.retain(|o| o.output.is_some() || !model.is_read_only(&o.input));
    let keys: Vec<u128> = (0..ops.len() as u64).map(|i| ((splitmix64(2 * i) as u128) << 64) | splitmix64(2 * i + 1) as u128).collect();
    let mut ev = Events::new(&ops);
    let mut state = model.init();
    let mut fp: u128 = 0;
    let mut stack: Vec<(u32, M::State)> = Vec::new();
    let mut cache = Seen::default();
    let mut stats = Stats::default();
    let mut best = Best::default();
    let mut entry = ev.next[HEAD as usize];
    while ev.next[HEAD as usize] != NIL {
        stats.steps += 1;
        if stats.steps & 0xFFF == 0 {
            if cancel.load(Ordering::Relaxed) {
                return (Outcome::Unknown("cancelled".into()), stats);
            }
            if budget.deadline.is_some_and(|d| Instant::now() >= d) {
                let why = format!("time budget exhausted after {} steps, {} configurations", stats.steps, cache.len());
                return (Outcome::Unknown(why), stats);
            }
            let bytes = bytes(&cache) + stack.capacity() * std::mem::size_of::<(u32, M::State)>();
            if bytes > budget.max_bytes {
                let why = format!("memory budget of {} MB exhausted: {} configurations", budget.max_bytes >> 20, cache.len());
                return (Outcome::Unknown(why), stats);
            }
        }
        let node = entry as usize;
        if ev.is_call[node] {
            let i = ev.op[node] as usize;
            if let Some(next) = model.step(&state, &ops[i].input, ops[i].output.as_ref()) {
                let nfp = fp ^ keys[i];
                // an indeterminate operation that changes nothing here is
                // not placed here: leaving it for later (or the end, where
                // it always fits) covers every linearization that places it
                let idle = ops[i].ret == OPEN && (next == state || twin_tried(&ev, &ops, entry));
                if !idle && cache.insert(nfp ^ state_key(&next)) {
                    stack.push((entry, std::mem::replace(&mut state, next)));
                    fp = nfp;
                    ev.lift(entry);
                    if stack.len() > best.len {
                        best.len = stack.len();
                        best.saved = false;
                    }
                    entry = ev.next[HEAD as usize];
                    continue;
                }
            }
            entry = ev.next[node];
        } else {
            if ops[ev.op[node] as usize].ret == OPEN {
                // every operation that completed is placed: the
                // indeterminate rest can take effect last, or never
                break;
            }
            if stack.len() == best.len && !best.saved {
                best.save(model, &ops, &ev, &stack, &state, entry);
            }
            let Some((call, prior)) = stack.pop() else {
                stats.configurations = cache.len() as u64;
                return (Outcome::Illegal(Box::new(best.into_counterexample(model, &ops))), stats);
            };
            state = prior;
            fp ^= keys[ev.op[call as usize] as usize];
            ev.unlift(call);
            entry = ev.next[call as usize];
        }
    }
    stats.configurations = cache.len() as u64;
    (Outcome::Ok, stats)
}

/// True when an indeterminate operation with the same input as the one at
/// `node` comes before it among the minimal calls: placing either first
/// leads to the same state, and a linearization that places this one
/// first places the other one there instead (neither has a return to
/// respect, and what must precede either is placed already), so only the
/// first of identical twins is tried.
fn twin_tried<I: PartialEq, O>(ev: &Events, ops: &[&Operation<I, O>], node: u32) -> bool {
    let me = ops[ev.op[node as usize] as usize];
    let mut n = ev.next[HEAD as usize];
    while n != node && n != NIL && ev.is_call[n as usize] {
        let o = ops[ev.op[n as usize] as usize];
        if o.ret == OPEN && o.input == me.input {
            return true;
        }
        n = ev.next[n as usize];
    }
    false
}

/// The deepest point the search reached, saved when it first backtracks
/// from there.
#[derive(Default)]
struct Best {
    len: usize,
    saved: bool,
    cx: Option<Counterexample>,
}

impl Best {
    fn save<M: Model>(&mut self, model: &M, ops: &[&Operation<M::Input, M::Output>], ev: &Events, stack: &[(u32, M::State)], state: &M::State, blocked: u32) {
        let r = |node: u32| {
            let o = ops[ev.op[node as usize] as usize];
            OpRef { id: o.id, process: o.process, op: model.describe_op(&o.input, o.output.as_ref()) }
        };
        let from = stack.len().saturating_sub(SHOWN_STEPS);
        let shown = &stack[from..];
        let start_state = match shown.first() {
            Some((_, s)) => model.describe_state(s),
            None => model.describe_state(state),
        };
        let steps = shown
            .iter()
            .enumerate()
            .map(|(k, (node, _))| {
                let after = shown.get(k + 1).map(|(_, s)| s).unwrap_or(state);
                Step { op: r(*node), state: model.describe_state(after) }
            })
            .collect();
        self.cx = Some(Counterexample { prefix_len: stack.len(), start_state, steps, unplaceable: r(blocked), concurrent: Vec::new() });
        self.saved = true;
    }

    /// The saved counterexample, with every operation whose interval
    /// overlaps the unplaceable one's (at most [`SHOWN_CONCURRENT`]).
    fn into_counterexample<M: Model>(self, model: &M, ops: &[&Operation<M::Input, M::Output>]) -> Counterexample {
        let mut cx = self.cx.expect("a counterexample is saved before the search backtracks past the root");
        if let Some(u) = ops.iter().find(|o| o.id == cx.unplaceable.id) {
            cx.concurrent = ops
                .iter()
                .filter(|o| o.id != u.id && o.call < u.ret && o.ret > u.call)
                .take(SHOWN_CONCURRENT)
                .map(|o| OpRef { id: o.id, process: o.process, op: model.describe_op(&o.input, o.output.as_ref()) })
                .collect();
        }
        cx
    }
}
