//! Transactions as the workloads ask a client for them: a list of
//! micro-ops over integer keys, run atomically (or not, if the system is
//! wrong), answered with the same micro-ops completed. The shapes are
//! Elle's. list-append: `[["append", 3, 1], ["r", 4, null]]` asked,
//! `[["append", 3, 1], ["r", 4, [1, 2]]]` answered; rw-register:
//! `[["w", 3, 1], ["r", 4, null]]` asked, `[["w", 3, 1], ["r", 4, 7]]`
//! answered (`null`: never written). One transaction is of one kind.

use serde_json::{json, Value};
use std::collections::HashMap;

/// One micro-op of a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mop {
    /// Append `value` to the list at `key`.
    Append {
        /// The key.
        key: u64,
        /// The element, unique per key.
        value: u64,
    },
    /// Read the whole list at `key`.
    ReadList {
        /// The key.
        key: u64,
    },
    /// Write `value` to the register at `key`.
    Write {
        /// The key.
        key: u64,
        /// The value, unique per key.
        value: u64,
    },
    /// Read the register at `key`.
    ReadRegister {
        /// The key.
        key: u64,
    },
}

/// The kind of a transaction: its workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Appends to and reads of lists.
    ListAppend,
    /// Writes to and reads of registers.
    RwRegister,
}

impl Kind {
    /// The stdio protocol's `f` for it.
    pub fn f(self) -> &'static str {
        match self {
            Kind::ListAppend => "txn",
            Kind::RwRegister => "rw-txn",
        }
    }
}

impl Mop {
    /// The key it is about.
    pub fn key(&self) -> u64 {
        match *self {
            Mop::Append { key, .. } | Mop::ReadList { key } | Mop::Write { key, .. } | Mop::ReadRegister { key } => key,
        }
    }

    /// True for a read.
    pub fn is_read(&self) -> bool {
        matches!(self, Mop::ReadList { .. } | Mop::ReadRegister { .. })
    }

    /// Its transaction's kind.
    pub fn kind(&self) -> Kind {
        match self {
            Mop::Append { .. } | Mop::ReadList { .. } => Kind::ListAppend,
            Mop::Write { .. } | Mop::ReadRegister { .. } => Kind::RwRegister,
        }
    }

    /// As asked: `["append", k, v]`, `["w", k, v]` or `["r", k, null]`.
    pub fn asked(&self) -> Value {
        match *self {
            Mop::Append { key, value } => json!(["append", key, value]),
            Mop::Write { key, value } => json!(["w", key, value]),
            Mop::ReadList { key } | Mop::ReadRegister { key } => json!(["r", key, null]),
        }
    }
}

/// The kind of a transaction (list-append when it has no micro-op).
pub fn kind(mops: &[Mop]) -> Kind {
    mops.first().map(Mop::kind).unwrap_or(Kind::ListAppend)
}

/// A transaction as asked, for the history's invocation.
pub fn asked(mops: &[Mop]) -> Value {
    Value::Array(mops.iter().map(Mop::asked).collect())
}

/// What is wrong with a transaction as asked or answered.
#[derive(Debug, Clone, PartialEq)]
pub enum MopError {
    /// The transaction is not a list.
    NotAList(Value),
    /// An element is not `[op, key, value]` with an integer key.
    NotAMop(Value),
    /// A micro-op that the transaction's kind (`f`) has not.
    NotOfKind {
        /// The kind (`txn`, `rw-txn`).
        f: String,
        /// The micro-op.
        mop: Value,
    },
    /// The answer is not a list.
    AnswerNotAList(Value),
    /// The answer has another number of micro-ops.
    Count {
        /// Asked.
        asked: usize,
        /// Answered.
        answered: usize,
    },
    /// Micro-op `index` was answered with something else.
    Mismatch {
        /// Its place in the transaction.
        index: usize,
        /// As asked.
        asked: Value,
        /// As answered.
        answered: Value,
    },
}

impl std::fmt::Display for MopError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MopError::NotAList(v) => write!(f, "a transaction is a list of micro-ops, got {v}"),
            MopError::NotAMop(m) => write!(f, "not a micro-op: {m}"),
            MopError::NotOfKind { f: kind, mop } => write!(f, "not a micro-op of {kind}: {mop}"),
            MopError::AnswerNotAList(v) => write!(f, "a transaction's answer must be a list, got {v}"),
            MopError::Count { asked, answered } => write!(f, "{asked} micro-ops asked, {answered} answered"),
            MopError::Mismatch { index, asked, answered } => write!(f, "micro-op {index}: asked {asked}, answered {answered}"),
        }
    }
}

impl std::error::Error for MopError {}

/// A transaction as asked, read back (a client's side of the protocol):
/// `f` says its kind.
pub fn parse_asked(f: &str, v: &Value) -> Result<Vec<Mop>, MopError> {
    let list = v.as_array().ok_or_else(|| MopError::NotAList(v.clone()))?;
    let registers = f == Kind::RwRegister.f();
    list.iter()
        .map(|m| {
            let (op, key, x) = match m.as_array().map(Vec::as_slice) {
                Some([op, k, x]) if k.is_u64() => (op.as_str().unwrap_or_default(), k.as_u64().unwrap_or_default(), x),
                _ => return Err(MopError::NotAMop(m.clone())),
            };
            match (op, registers, x.as_u64()) {
                ("append", false, Some(value)) => Ok(Mop::Append { key, value }),
                ("w", true, Some(value)) => Ok(Mop::Write { key, value }),
                ("r", false, None) if x.is_null() => Ok(Mop::ReadList { key }),
                ("r", true, None) if x.is_null() => Ok(Mop::ReadRegister { key }),
                _ => Err(MopError::NotOfKind { f: f.to_string(), mop: m.clone() }),
            }
        })
        .collect()
}

/// Checks a client's answer to `mops`: the same micro-ops in the same
/// order, each list read a list of integers, each register read an
/// integer or `null`. `Err` says what is wrong.
pub fn check_answer(mops: &[Mop], answer: &Value) -> Result<(), MopError> {
    let Some(got) = answer.as_array() else { return Err(MopError::AnswerNotAList(answer.clone())) };
    if got.len() != mops.len() {
        return Err(MopError::Count { asked: mops.len(), answered: got.len() });
    }
    for (i, (m, g)) in mops.iter().zip(got).enumerate() {
        let ok = match (m, g.as_array().map(Vec::as_slice)) {
            (Mop::Append { .. } | Mop::Write { .. }, Some([..])) => *g == m.asked(),
            (Mop::ReadList { key }, Some([f, k, v])) => f == "r" && k == key && v.as_array().is_some_and(|l| l.iter().all(Value::is_u64)),
            (Mop::ReadRegister { key }, Some([f, k, v])) => f == "r" && k == key && (v.is_u64() || v.is_null()),
            _ => false,
        };
        if !ok {
            return Err(MopError::Mismatch { index: i, asked: m.asked(), answered: g.clone() });
        }
    }
    Ok(())
}

/// Lists and registers that run transactions one at a time: the correct
/// store that the in-memory system and the reference client share.
#[derive(Debug, Clone, Default)]
pub struct Store {
    lists: HashMap<u64, Vec<u64>>,
    registers: HashMap<u64, u64>,
}

impl Store {
    /// Runs `mops` at once: the transaction completed.
    pub fn apply(&mut self, mops: &[Mop]) -> Value {
        Value::Array(
            mops.iter()
                .map(|m| match *m {
                    Mop::Append { key, value } => {
                        self.lists.entry(key).or_default().push(value);
                        m.asked()
                    }
                    Mop::Write { key, value } => {
                        self.registers.insert(key, value);
                        m.asked()
                    }
                    Mop::ReadList { key } => json!(["r", key, self.lists.get(&key).cloned().unwrap_or_default()]),
                    Mop::ReadRegister { key } => json!(["r", key, self.registers.get(&key)]),
                })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_checked_against_what_was_asked() {
        let mops = [Mop::Append { key: 3, value: 1 }, Mop::ReadList { key: 4 }, Mop::ReadList { key: 3 }];
        assert_eq!(asked(&mops), json!([["append", 3, 1], ["r", 4, null], ["r", 3, null]]));
        let done = Store::default().apply(&mops);
        assert_eq!(done, json!([["append", 3, 1], ["r", 4, []], ["r", 3, [1]]]));
        assert!(check_answer(&mops, &done).is_ok());
        assert_eq!(parse_asked("txn", &asked(&mops)).unwrap(), mops);
        assert!(parse_asked("txn", &json!([["append", "x", 1]])).is_err());
        for bad in [
            json!(7),
            json!([["append", 3, 1]]),
            json!([["append", 3, 2], ["r", 4, []], ["r", 3, []]]),
            json!([["append", 3, 1], ["r", 4, null], ["r", 3, []]]),
        ] {
            assert!(check_answer(&mops, &bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn register_transactions_read_what_was_written_or_null() {
        let mops = [Mop::Write { key: 1, value: 5 }, Mop::ReadRegister { key: 1 }, Mop::ReadRegister { key: 2 }];
        assert_eq!(kind(&mops), Kind::RwRegister);
        let done = Store::default().apply(&mops);
        assert_eq!(done, json!([["w", 1, 5], ["r", 1, 5], ["r", 2, null]]));
        assert!(check_answer(&mops, &done).is_ok());
        assert!(check_answer(&mops, &json!([["w", 1, 5], ["r", 1, [5]], ["r", 2, null]])).is_err());
        assert_eq!(parse_asked("rw-txn", &asked(&mops)).unwrap(), mops);
        assert!(parse_asked("txn", &json!([["w", 1, 5]])).is_err(), "a write is no list-append micro-op");
    }
}
