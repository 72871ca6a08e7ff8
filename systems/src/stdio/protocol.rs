//! The stdio client protocol, version 1: one JSON request a line on the
//! client's stdin, one JSON completion a line on its stdout
//! (`docs/client-protocol.md`).

use crate::Completion;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The protocol's version, given to a client as `FAULTLINE_PROTOCOL`.
pub const VERSION: u32 = 1;

/// Every `f` a request can carry, with what its completion's value is.
pub const FS: &[(&str, &str)] = &[
    ("read", "the register's value, or null"),
    ("write", "ignored"),
    ("cas", "ignored; `fail` with error `cas-mismatch` when it does not hold `value[0]`"),
    ("add", "ignored"),
    ("read-set", "every element of the set, a list"),
    ("append", "ignored"),
    ("read-log", "the whole log, a list in order"),
    ("txn", "the micro-ops completed, each read with its list"),
    ("rw-txn", "the micro-ops completed, each read with its value or null"),
    ("enqueue", "ignored"),
    ("dequeue", "the value taken, or null when the queue is empty"),
    ("drain", "every value left, a list in queue order"),
];

/// One request to a client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// Increasing within one client program; echoed in the completion.
    pub id: u64,
    /// The operation (`read`, `write`, `cas`, `add`, `read-set`, `append`, `read-log`, `txn`, `rw-txn`,
    /// `enqueue`, `dequeue`, `drain`, or a workload's own).
    pub f: String,
    /// The register, set or log it is about (`r3`, `set`, `log0`; `txn`
    /// for a transaction, whose micro-ops name their keys).
    pub key: String,
    /// The argument: the value written, `[old, new]` for `cas`, the element
    /// added or appended, a transaction's micro-ops; absent for reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
}

/// How an operation ended, as a client says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// It happened; `value` is its result.
    Ok,
    /// It definitely did not happen.
    Fail,
    /// Unknown: it may or may not have happened.
    Info,
}

/// One completion from a client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Response {
    /// The request's id.
    pub id: u64,
    /// How it ended.
    #[serde(rename = "type")]
    pub outcome: Outcome,
    /// The result (reads).
    #[serde(default)]
    pub value: Value,
    /// Why it failed or is unknown: a short string, or any JSON.
    #[serde(default)]
    pub error: Option<Value>,
}

impl Response {
    /// As the runner records it.
    pub fn completion(self) -> Completion {
        let why = |e: Option<Value>, default: &str| match e {
            Some(Value::String(s)) => s,
            Some(Value::Null) | None => default.to_string(),
            Some(v) => v.to_string(),
        };
        match self.outcome {
            Outcome::Ok => Completion::Ok(self.value),
            Outcome::Fail => Completion::Fail(why(self.error, "fail")),
            Outcome::Info => Completion::Info(why(self.error, "info")),
        }
    }
}

/// Parses one line of a client's stdout: the completion, or what is wrong
/// with the line.
pub fn parse_response(line: &str) -> Result<Response, NotACompletion> {
    serde_json::from_str(line.trim()).map_err(|error| NotACompletion { error, line: clip(line) })
}

/// A line of a client's stdout that is not a completion.
#[derive(Debug)]
pub struct NotACompletion {
    /// What the JSON parser said.
    pub error: serde_json::Error,
    /// The line, at most 200 characters of it.
    pub line: String,
}

impl std::fmt::Display for NotACompletion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "not a completion ({}): {}", self.error, self.line)
    }
}

impl std::error::Error for NotACompletion {}

/// At most 200 characters of `s`, for error messages.
pub fn clip(s: &str) -> String {
    let s = s.trim();
    match s.char_indices().nth(200) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn requests_and_completions_have_the_documented_shapes() {
        let r = Request { id: 3, f: "write".into(), key: "r1".into(), value: Some(json!(7)) };
        assert_eq!(serde_json::to_value(&r).unwrap(), json!({"id": 3, "f": "write", "key": "r1", "value": 7}));
        let read = Request { id: 4, f: "read".into(), key: "r1".into(), value: None };
        assert_eq!(serde_json::to_string(&read).unwrap(), r#"{"id":4,"f":"read","key":"r1"}"#);
        let ok = parse_response(r#"{"id":4,"type":"ok","value":7}"#).unwrap();
        assert_eq!(ok.completion(), Completion::Ok(json!(7)));
        let fail = parse_response(r#"{"id":5,"type":"fail","error":"cas-mismatch"}"#).unwrap();
        assert_eq!(fail.completion(), Completion::Fail("cas-mismatch".into()));
        let info = parse_response(r#"{"id":6,"type":"info","error":{"code":14}}"#).unwrap();
        assert_eq!(info.completion(), Completion::Info(r#"{"code":14}"#.into()));
        assert_eq!(parse_response(r#"{"id":6,"type":"info"}"#).unwrap().completion(), Completion::Info("info".into()));
    }

    #[test]
    fn garbage_is_named_not_guessed() {
        for bad in ["", "hello", r#"{"id":1}"#, r#"{"id":1,"type":"done"}"#, r#"{"id":"x","type":"ok"}"#, r#"{"id":1,"type":"ok","extra":1}"#] {
            let e = parse_response(bad).unwrap_err();
            assert!(e.to_string().starts_with("not a completion"), "{bad}: {e}");
        }
        assert_eq!(clip(&"x".repeat(300)).len(), 203);
    }
}
