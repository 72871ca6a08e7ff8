//! Models: register, cas-register, kv, fifo-queue, unordered-queue, and the
//! independent-keys wrapper.

mod keyed;
mod kv;
mod queue;
mod register;

pub use keyed::Keyed;
pub use kv::{Kv, KvOp, KvRet};
pub use queue::{Queue, QueueOp, QueueRet, QueueState};
pub use register::{RegOp, RegRet, Register};

use crate::model::Model;
use history::Semantics;
use serde_json::Value;

/// How an operation completed, as a decoder sees it.
#[derive(Debug, Clone, Copy)]
pub enum Outcome<'a> {
    /// `ok`, with its value.
    Ok(&'a Value),
    /// `fail`, with its value.
    Fail(&'a Value),
    /// `info`, or never completed: unknown.
    Unknown,
}

/// What a decoder makes of one history operation.
pub type Decoded<M> = Option<(<M as Model>::Input, Option<<M as Model>::Output>)>;

/// A model that can read its operations from history ops.
pub trait Decode: Model {
    /// Turns an invocation's `f` and argument plus its outcome into a model
    /// operation; `Ok(None)` drops it (e.g. a `fail` that did not happen),
    /// an output of `None` marks it indeterminate. `Err` says why the op does
    /// not fit the model.
    fn decode(&self, f: &str, arg: &Value, outcome: Outcome<'_>, sem: &Semantics) -> Result<Decoded<Self>, String>;
}
