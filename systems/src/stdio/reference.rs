//! A reference client: the stdio protocol served from an in-memory store
//! of its own (one per program). `faultline client-reference` runs it; it
//! is the model for `client-check` and the client the protocol benchmark
//! measures.

use super::protocol::{Outcome, Request, Response};
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, Write};

/// Registers, sets, logs and queues, by key.
#[derive(Debug, Default)]
pub struct Store {
    registers: HashMap<String, Value>,
    sets: HashMap<String, BTreeSet<String>>,
    set_values: HashMap<String, Vec<Value>>,
    logs: HashMap<String, Vec<Value>>,
    txns: crate::txn::Store,
    queues: HashMap<String, std::collections::VecDeque<Value>>,
}

impl Store {
    /// Performs one request: its completion.
    pub fn apply(&mut self, r: Request) -> Response {
        let arg = r.value.unwrap_or(Value::Null);
        let (outcome, value, error) = match r.f.as_str() {
            "read" => (Outcome::Ok, self.registers.get(&r.key).cloned().unwrap_or(Value::Null), None),
            "write" => {
                self.registers.insert(r.key, arg);
                (Outcome::Ok, Value::Null, None)
            }
            "cas" => match arg.as_array().map(|a| a.as_slice()) {
                Some([old, new]) if self.registers.get(&r.key).unwrap_or(&Value::Null) == old => {
                    self.registers.insert(r.key, new.clone());
                    (Outcome::Ok, Value::Null, None)
                }
                Some([_, _]) => (Outcome::Fail, Value::Null, Some(json!("cas-mismatch"))),
                _ => (Outcome::Fail, Value::Null, Some(json!("cas takes [old, new]"))),
            },
            "add" => {
                if self.sets.entry(r.key.clone()).or_default().insert(arg.to_string()) {
                    self.set_values.entry(r.key).or_default().push(arg);
                }
                (Outcome::Ok, Value::Null, None)
            }
            "read-set" => (Outcome::Ok, Value::Array(self.set_values.get(&r.key).cloned().unwrap_or_default()), None),
            "append" => {
                self.logs.entry(r.key).or_default().push(arg);
                (Outcome::Ok, Value::Null, None)
            }
            "read-log" => (Outcome::Ok, Value::Array(self.logs.get(&r.key).cloned().unwrap_or_default()), None),
            "txn" | "rw-txn" => match crate::txn::parse_asked(&r.f, &arg) {
                Ok(mops) => (Outcome::Ok, self.txns.apply(&mops), None),
                Err(e) => (Outcome::Fail, Value::Null, Some(json!(e.to_string()))),
            },
            "enqueue" => {
                self.queues.entry(r.key).or_default().push_back(arg);
                (Outcome::Ok, Value::Null, None)
            }
            "dequeue" => {
                let q = self.queues.entry(r.key).or_default();
                let v = q.pop_front().unwrap_or(Value::Null);
                if arg.get("ack") == Some(&json!(false)) && !v.is_null() {
                    q.push_front(v.clone()); // not acknowledged: delivered again
                }
                (Outcome::Ok, v, None)
            }
            "drain" => (Outcome::Ok, Value::Array(self.queues.entry(r.key).or_default().drain(..).collect()), None),
            other => (Outcome::Fail, Value::Null, Some(json!(format!("unknown f {other:?}")))),
        };
        Response { id: r.id, outcome, value, error }
    }
}

/// Serves requests from `input` until it ends, answering on `output`.
/// A line that is not a request ends the program with an error.
pub fn serve(input: impl BufRead, mut output: impl Write) -> Result<(), ServeError> {
    let mut store = Store::default();
    for line in input.lines() {
        let line = line.map_err(ServeError::Stdin)?;
        if line.trim().is_empty() {
            continue;
        }
        let req: Request = serde_json::from_str(&line).map_err(|error| ServeError::NotARequest { error, line })?;
        let resp = store.apply(req);
        let text = serde_json::to_string(&resp).expect("a response serializes");
        writeln!(output, "{text}").and_then(|_| output.flush()).map_err(ServeError::Stdout)?;
    }
    Ok(())
}

/// Why the reference client stopped serving.
#[derive(Debug)]
pub enum ServeError {
    /// Its standard input could not be read.
    Stdin(std::io::Error),
    /// A line that is not a request.
    NotARequest {
        /// What the JSON parser said.
        error: serde_json::Error,
        /// The line.
        line: String,
    },
    /// Its standard output could not be written.
    Stdout(std::io::Error),
}

impl std::fmt::Display for ServeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServeError::Stdin(e) => write!(f, "stdin: {e}"),
            ServeError::NotARequest { error, line } => write!(f, "not a request ({error}): {line}"),
            ServeError::Stdout(e) => write!(f, "stdout: {e}"),
        }
    }
}

impl std::error::Error for ServeError {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stdio::protocol::parse_response;

    #[test]
    fn the_reference_answers_each_f_as_the_protocol_says() {
        let input = [
            r#"{"id":1,"f":"read","key":"r1"}"#,
            r#"{"id":2,"f":"write","key":"r1","value":3}"#,
            r#"{"id":3,"f":"cas","key":"r1","value":[3,4]}"#,
            r#"{"id":4,"f":"cas","key":"r1","value":[3,5]}"#,
            r#"{"id":5,"f":"read","key":"r1"}"#,
            r#"{"id":6,"f":"add","key":"s","value":1}"#,
            r#"{"id":7,"f":"add","key":"s","value":1}"#,
            r#"{"id":8,"f":"read-set","key":"s"}"#,
            r#"{"id":9,"f":"append","key":"l","value":2}"#,
            r#"{"id":10,"f":"read-log","key":"l"}"#,
            r#"{"id":11,"f":"txn","key":"txn","value":[["append",1,5],["r",1,null]]}"#,
            r#"{"id":12,"f":"rw-txn","key":"txn","value":[["w",1,5],["r",1,null]]}"#,
            r#"{"id":13,"f":"enqueue","key":"q","value":1}"#,
            r#"{"id":14,"f":"enqueue","key":"q","value":2}"#,
            r#"{"id":15,"f":"dequeue","key":"q","value":{"ack":false}}"#,
            r#"{"id":16,"f":"dequeue","key":"q"}"#,
            r#"{"id":17,"f":"drain","key":"q"}"#,
            r#"{"id":18,"f":"dequeue","key":"q"}"#,
        ]
        .join("\n");
        let mut out = Vec::new();
        serve(input.as_bytes(), &mut out).unwrap();
        let got: Vec<Response> = String::from_utf8(out).unwrap().lines().map(|l| parse_response(l).unwrap()).collect();
        let values: Vec<(u64, Outcome, Value)> = got.into_iter().map(|r| (r.id, r.outcome, r.value)).collect();
        assert_eq!(values[0], (1, Outcome::Ok, Value::Null));
        assert_eq!(values[3].1, Outcome::Fail);
        assert_eq!(values[4], (5, Outcome::Ok, json!(4)));
        assert_eq!(values[7], (8, Outcome::Ok, json!([1])));
        assert_eq!(values[9], (10, Outcome::Ok, json!([2])));
        assert_eq!(values[10], (11, Outcome::Ok, json!([["append", 1, 5], ["r", 1, [5]]])));
        assert_eq!(values[11], (12, Outcome::Ok, json!([["w", 1, 5], ["r", 1, 5]])));
        let queue: Vec<Value> = values[14..].iter().map(|v| v.2.clone()).collect();
        assert_eq!(queue, [json!(1), json!(1), json!([2]), Value::Null], "an unacknowledged value comes again");
        assert!(serve("garbage\n".as_bytes(), Vec::new()).unwrap_err().to_string().contains("not a request"));
    }
}
