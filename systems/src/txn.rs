//! Transactions as the workloads ask a client for them: a list of
//! micro-ops over integer keys, run atomically (or not, if the system is
//! wrong), answered with the same micro-ops completed. The shapes are
//! Elle's: `[["append", 3, 1], ["r", 4, null]]` asked,
//! `[["append", 3, 1], ["r", 4, [1, 2]]]` answered.

use serde_json::{json, Value};

/// One micro-op of a list-append transaction.
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
    Read {
        /// The key.
        key: u64,
    },
}

impl Mop {
    /// The key it is about.
    pub fn key(&self) -> u64 {
        match *self {
            Mop::Append { key, .. } | Mop::Read { key } => key,
        }
    }

    /// As asked: `["append", k, v]` or `["r", k, null]`.
    pub fn asked(&self) -> Value {
        match *self {
            Mop::Append { key, value } => json!(["append", key, value]),
            Mop::Read { key } => json!(["r", key, null]),
        }
    }
}

/// A transaction as asked, for the history's invocation.
pub fn asked(mops: &[Mop]) -> Value {
    Value::Array(mops.iter().map(Mop::asked).collect())
}

/// A transaction as asked, read back (a client's side of the protocol).
pub fn parse_asked(v: &Value) -> Result<Vec<Mop>, String> {
    let list = v.as_array().ok_or_else(|| format!("a transaction is a list of micro-ops, got {v}"))?;
    list.iter()
        .map(|m| match m.as_array().map(Vec::as_slice) {
            Some([f, k, x]) if f == "append" && k.is_u64() && x.is_u64() => {
                Ok(Mop::Append { key: k.as_u64().unwrap_or_default(), value: x.as_u64().unwrap_or_default() })
            }
            Some([f, k, x]) if f == "r" && k.is_u64() && x.is_null() => Ok(Mop::Read { key: k.as_u64().unwrap_or_default() }),
            _ => Err(format!("not a micro-op: {m}")),
        })
        .collect()
}

/// A transaction as completed, from the lists each read saw (in order,
/// one per read).
pub fn completed(mops: &[Mop], mut reads: impl Iterator<Item = Vec<u64>>) -> Value {
    Value::Array(
        mops.iter()
            .map(|m| match *m {
                Mop::Append { .. } => m.asked(),
                Mop::Read { key } => json!(["r", key, reads.next().unwrap_or_default()]),
            })
            .collect(),
    )
}

/// Checks a client's answer to `mops`: the same micro-ops in the same
/// order, each read a list of integers. `Err` says what is wrong.
pub fn check_answer(mops: &[Mop], answer: &Value) -> Result<(), String> {
    let Some(got) = answer.as_array() else { return Err(format!("a transaction's answer must be a list, got {answer}")) };
    if got.len() != mops.len() {
        return Err(format!("{} micro-ops asked, {} answered", mops.len(), got.len()));
    }
    for (i, (m, g)) in mops.iter().zip(got).enumerate() {
        let ok = match (m, g.as_array().map(Vec::as_slice)) {
            (Mop::Append { key, value }, Some([f, k, v])) => f == "append" && k == key && v == value,
            (Mop::Read { key }, Some([f, k, v])) => f == "r" && k == key && v.as_array().is_some_and(|l| l.iter().all(Value::is_u64)),
            _ => false,
        };
        if !ok {
            return Err(format!("micro-op {i}: asked {}, answered {g}", m.asked()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_checked_against_what_was_asked() {
        let mops = [Mop::Append { key: 3, value: 1 }, Mop::Read { key: 4 }];
        assert_eq!(asked(&mops), json!([["append", 3, 1], ["r", 4, null]]));
        let done = completed(&mops, [vec![1, 2]].into_iter());
        assert_eq!(done, json!([["append", 3, 1], ["r", 4, [1, 2]]]));
        assert!(check_answer(&mops, &done).is_ok());
        assert_eq!(parse_asked(&asked(&mops)).unwrap(), mops);
        assert!(parse_asked(&json!([["append", "x", 1]])).is_err());
        for bad in [json!(7), json!([["append", 3, 1]]), json!([["append", 3, 2], ["r", 4, []]]), json!([["append", 3, 1], ["r", 4, null]])] {
            assert!(check_answer(&mops, &bad).is_err(), "{bad}");
        }
    }
}
