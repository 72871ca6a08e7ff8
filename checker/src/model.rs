//! The model API: a sequential specification the linearizability search
//! checks a history against.

use std::fmt::Debug;
use std::hash::Hash;

/// A sequential specification (Porcupine's contract, stateright's types).
///
/// `step` is pure: from `state`, can `input` return `output`, and if so, what
/// is the state after? `output` is `None` when the outcome is indeterminate
/// (an `info` op): then `step` must accept and return the state after the
/// operation took effect (the search tries "never took effect" itself, by
/// placing the operation after everything else).
pub trait Model: Sync {
    /// The state of the object. Small and cheap to clone and hash.
    type State: Clone + Eq + Hash + Debug + Send;
    /// What an operation asks (read, write 3, cas 1 -> 2, ...).
    type Input: Clone + PartialEq + Debug + Send + Sync;
    /// What an operation returned.
    type Output: Clone + Debug + Send + Sync;

    /// The state before any operation.
    fn init(&self) -> Self::State;

    /// The state after `input` returned `output` in `state`, or `None` if
    /// that cannot happen.
    fn step(&self, state: &Self::State, input: &Self::Input, output: Option<&Self::Output>) -> Option<Self::State>;

    /// Splits a history into independent parts (P-compositionality): each
    /// part is checked alone, and the history is linearizable iff every part
    /// is. `None` (the default) checks the history whole.
    fn partition(&self, _ops: &[Operation<Self::Input, Self::Output>]) -> Option<Vec<Vec<usize>>> {
        None
    }

    /// A name for the part holding `op` when the history is partitioned
    /// (`key 3`), for the reasons of an `unknown` verdict.
    fn part_name(&self, _op: &Operation<Self::Input, Self::Output>) -> Option<String> {
        None
    }

    /// True if `input` never changes the state; such an operation with an
    /// indeterminate outcome constrains nothing and is left out of the search.
    fn is_read_only(&self, _input: &Self::Input) -> bool {
        false
    }

    /// True if `input` observes the state (a read, a dequeue): a history
    /// in which no such operation completed tested nothing. The default:
    /// the read-only ones.
    fn observes(&self, input: &Self::Input) -> bool {
        self.is_read_only(input)
    }

    /// A short description of an operation for reports.
    fn describe_op(&self, input: &Self::Input, output: Option<&Self::Output>) -> String {
        match output {
            Some(o) => format!("{input:?} -> {o:?}"),
            None => format!("{input:?} -> ?"),
        }
    }

    /// A short description of a state for reports.
    fn describe_state(&self, state: &Self::State) -> String {
        format!("{state:?}")
    }
}

/// One operation as the search sees it: an interval and what it did.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation<I, O> {
    /// Where it came from: the position of its invocation in the history.
    pub id: usize,
    /// The client process.
    pub process: u64,
    /// When it was invoked (any monotonic unit; the history position works).
    pub call: u64,
    /// When it completed; [`OPEN`] for indeterminate operations.
    pub ret: u64,
    /// What it asked.
    pub input: I,
    /// What it returned; `None` when unknown.
    pub output: Option<O>,
}

/// The `ret` of an operation that never completed (or completed `info`).
pub const OPEN: u64 = u64::MAX;
