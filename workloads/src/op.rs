//! One client operation, and how any system's client performs it.

use serde_json::{json, Value};
use systems::txn::{self, Mop};
use systems::{Client, Completion};

/// One client operation, as a workload asks for it.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientOp {
    /// Read an independent register.
    Read { key: u64 },
    /// Write it.
    Write { key: u64, value: u64 },
    /// Compare and set it.
    Cas { key: u64, old: u64, new: u64 },
    /// Add a unique element to the set.
    Add { element: u64 },
    /// Read the whole set.
    ReadSet,
    /// Append a unique value to a log.
    Append { log: u64, value: u64 },
    /// Read a whole log.
    ReadLog { log: u64 },
    /// A transaction (list-append or rw-register).
    Txn(Vec<Mop>),
}

impl ClientOp {
    /// The history `f`.
    pub fn f(&self) -> &'static str {
        match self {
            ClientOp::Read { .. } | ClientOp::ReadSet | ClientOp::ReadLog { .. } => "read",
            ClientOp::Write { .. } => "write",
            ClientOp::Cas { .. } => "cas",
            ClientOp::Add { .. } => "add",
            ClientOp::Append { .. } => "append",
            ClientOp::Txn(_) => "txn",
        }
    }

    /// The invocation's value (registers and logs as `[key value]`
    /// tuples, Jepsen's independent convention).
    pub fn value(&self) -> Value {
        if let ClientOp::Txn(mops) = self {
            return txn::asked(mops);
        }
        match *self {
            ClientOp::Read { key } => json!([key, null]),
            ClientOp::Write { key, value } => json!([key, value]),
            ClientOp::Cas { key, old, new } => json!([key, [old, new]]),
            ClientOp::Add { element } => json!(element),
            ClientOp::ReadSet => Value::Null,
            ClientOp::Append { log, value } => json!([log, value]),
            ClientOp::ReadLog { log } => json!([log, null]),
            ClientOp::Txn(_) => Value::Null,
        }
    }

    /// True for reads (a failed read is a definite `fail`).
    pub fn is_read(&self) -> bool {
        match self {
            ClientOp::Txn(mops) => mops.iter().all(Mop::is_read),
            _ => matches!(self, ClientOp::Read { .. } | ClientOp::ReadSet | ClientOp::ReadLog { .. }),
        }
    }
}

fn map_ok(c: Completion, f: impl FnOnce(Value) -> Value) -> Completion {
    match c {
        Completion::Ok(v) => Completion::Ok(f(v)),
        other => other,
    }
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

/// One op through any system's client, its value in the checkers' shapes.
pub async fn perform(c: &dyn Client, op: &ClientOp) -> Completion {
    match op {
        &ClientOp::Read { key } => map_ok(c.read(&format!("r{key}")).await, |v| json!([key, v])),
        &ClientOp::Write { key, value } => map_ok(c.write(&format!("r{key}"), &json!(value)).await, |_| json!([key, value])),
        &ClientOp::Cas { key, old, new } => map_ok(c.cas(&format!("r{key}"), &json!(old), &json!(new)).await, |_| json!([key, [old, new]])),
        &ClientOp::Add { element } => map_ok(c.add("set", &json!(element)).await, |_| json!(element)),
        ClientOp::ReadSet => c.read_set("set").await,
        &ClientOp::Append { log, value } => map_ok(c.append(&log_key(log), &json!(value)).await, |_| json!([log, value])),
        &ClientOp::ReadLog { log } => map_ok(c.read_log(&log_key(log)).await, |v| json!([log, v])),
        ClientOp::Txn(mops) => match c.txn(mops).await {
            // an answer that does not match the question: the transaction
            // may have run, what it read is unknown
            Completion::Ok(v) => match txn::check_answer(mops, &v) {
                Ok(()) => Completion::Ok(v),
                Err(e) => Completion::Info(format!("malformed answer: {e}")),
            },
            other => other,
        },
    }
}
