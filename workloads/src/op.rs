//! One client operation as a workload asks it: what the history records
//! (`f` and value, Jepsen's shapes) and what the system's client is asked
//! (a [`Call`], the stdio protocol's request). A workload builds its own.

use serde_json::{json, Value};
use systems::{Call, Client, Completion};

/// The completion's value in the history's shape, from the client's
/// answer to `op`; `Err` says why the answer is malformed (the op is then
/// `info`: it may have happened, what it returned is unknown).
pub type Answer = fn(op: &Op, answer: Value) -> Result<Value, Malformed>;

/// Why a client's answer is not what the op asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct Malformed(pub String);

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Malformed {}

/// One client operation.
#[derive(Debug, Clone)]
pub struct Op {
    /// The history's `f`.
    pub f: &'static str,
    /// The invocation's value, as the history records it.
    pub value: Value,
    /// What the client is asked.
    pub call: Call,
    /// True for reads: a read that times out is a definite `fail`.
    pub read: bool,
    /// How the client's answer becomes the completion's value.
    pub answer: Answer,
}

impl PartialEq for Op {
    fn eq(&self, o: &Op) -> bool {
        (self.f, &self.value, &self.call, self.read) == (o.f, &o.value, &o.call, o.read)
    }
}

impl Op {
    /// An op whose completion records what was asked (writes, adds,
    /// appends: the answer is ignored).
    pub fn update(f: &'static str, value: Value, call: Call) -> Op {
        Op { f, value, call, read: false, answer: as_asked }
    }
    /// A read whose completion is `[key, answer]` (Jepsen's independent
    /// keys: the key is the invocation value's first element).
    pub fn keyed_read(f: &'static str, key: u64, call: Call) -> Op {
        Op { f, value: json!([key, null]), call, read: true, answer: keyed }
    }
}

/// The completion's value is the invocation's.
pub fn as_asked(op: &Op, _answer: Value) -> Result<Value, Malformed> {
    Ok(op.value.clone())
}

/// The completion's value is `[key, answer]`, the key from the invocation.
pub fn keyed(op: &Op, answer: Value) -> Result<Value, Malformed> {
    Ok(json!([op.value[0], answer]))
}

/// The key a system stores the workload's log `log` under.
pub fn log_key(log: u64) -> String {
    format!("log{log}")
}

/// The workload's log (as its history names it) that a system key holds,
/// if the key is one of [`log_key`]'s.
pub fn log_of_key(key: &str) -> Option<String> {
    key.strip_prefix("log")?.parse::<u64>().ok().map(|l| l.to_string())
}

/// One op through any system's client, its value in the history's shape.
pub async fn perform(c: &dyn Client, op: &Op) -> Completion {
    match c.invoke(&op.call).await {
        Completion::Ok(v) => match (op.answer)(op, v) {
            Ok(v) => Completion::Ok(v),
            Err(e) => Completion::Info(format!("malformed answer: {e}")),
        },
        other => other,
    }
}

/// The `f`s of `need` a client does not serve, in order.
pub fn unserved(c: &dyn Client, need: &[&str]) -> Vec<String> {
    need.iter().filter(|f| !c.serves(f)).map(|f| f.to_string()).collect()
}
