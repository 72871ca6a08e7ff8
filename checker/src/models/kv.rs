//! One key of a key-value store with get, put and append on strings
//! (Porcupine's kv model); wrap it in [`super::Keyed`] for many keys.

use super::{Decode, Decoded, Outcome};
use crate::model::Model;
use history::{NilRead, Semantics};
use serde_json::Value;

/// A string value, initially empty.
#[derive(Debug, Clone, Copy, Default)]
pub struct Kv;

/// A kv operation on one key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum KvOp {
    /// Read the value.
    Get,
    /// Replace the value.
    Put(String),
    /// Append to the value.
    Append(String),
}

/// What a kv operation returned.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum KvRet {
    /// The value read.
    Got(String),
    /// A put or append completed.
    Done,
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl Model for Kv {
    type State = String;
    type Input = KvOp;
    type Output = KvRet;

    fn init(&self) -> String {
        String::new()
    }

    fn step(&self, s: &String, input: &KvOp, output: Option<&KvRet>) -> Option<String> {
        match (input, output) {
            (KvOp::Get, None) => Some(s.clone()),
            (KvOp::Get, Some(KvRet::Got(v))) => (v == s).then(|| s.clone()),
            (KvOp::Put(v), None | Some(KvRet::Done)) => Some(v.clone()),
            (KvOp::Append(v), None | Some(KvRet::Done)) => Some(format!("{s}{v}")),
            _ => None,
        }
    }

    fn is_read_only(&self, input: &KvOp) -> bool {
        *input == KvOp::Get
    }

    fn describe_op(&self, input: &KvOp, output: Option<&KvRet>) -> String {
        match (input, output) {
            (KvOp::Get, Some(KvRet::Got(v))) => format!("get {v:?}"),
            (KvOp::Get, _) => "get ?".into(),
            (KvOp::Put(v), o) => format!("put {v:?}{}", if o.is_none() { " (indeterminate)" } else { "" }),
            (KvOp::Append(v), o) => format!("append {v:?}{}", if o.is_none() { " (indeterminate)" } else { "" }),
        }
    }

    fn describe_state(&self, s: &String) -> String {
        format!("{s:?}")
    }
}

impl Decode for Kv {
    fn decode(&self, f: &str, arg: &Value, outcome: Outcome<'_>, sem: &Semantics) -> Result<Decoded<Self>, String> {
        let input = match f {
            "get" | "read" => KvOp::Get,
            "put" | "write" => KvOp::Put(text(arg)),
            "append" => KvOp::Append(text(arg)),
            other => return Err(format!("{other:?} is not a kv operation (get, put, append)")),
        };
        let output = match outcome {
            Outcome::Fail(_) => return Ok(None),
            Outcome::Unknown => None,
            Outcome::Ok(v) if input == KvOp::Get => {
                if v.is_null() && sem.nil_read == NilRead::Unconstrained {
                    None
                } else {
                    Some(KvRet::Got(text(v)))
                }
            }
            Outcome::Ok(_) => Some(KvRet::Done),
        };
        Ok(Some((input, output)))
    }
}
