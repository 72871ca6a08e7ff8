//! What the workloads ask of a SUT's client, one trait for every SUT: a
//! register per key, one set, logs. Each call ends in a [`Completion`].

use crate::Completion;
use serde_json::Value;
use std::future::Future;

/// The operations of the register, set and append workloads.
pub trait Ops: Send + Sync {
    /// Reads register `key`: its value, or `null`.
    fn read(&self, key: &str) -> impl Future<Output = Completion> + Send;
    /// Writes register `key`; `Ok(value)`.
    fn write(&self, key: &str, value: &Value) -> impl Future<Output = Completion> + Send;
    /// Sets register `key` to `new` if it holds `old`: `Ok([old, new])`, or
    /// `Fail("cas-mismatch")`.
    fn cas(&self, key: &str, old: &Value, new: &Value) -> impl Future<Output = Completion> + Send;
    /// Adds `element` to set `set`.
    fn add(&self, set: &str, element: &Value) -> impl Future<Output = Completion> + Send;
    /// Every element of set `set` (`[]` when empty).
    fn read_set(&self, set: &str) -> impl Future<Output = Completion> + Send;
    /// Appends `value` to log `log`: `Ok(the log after)`.
    fn append(&self, log: &str, value: &Value) -> impl Future<Output = Completion> + Send;
    /// The whole log `log` (`[]` when empty).
    fn read_log(&self, log: &str) -> impl Future<Output = Completion> + Send;
}

/// `null` (never written) as an empty list.
pub(crate) fn list_or_empty(c: Completion) -> Completion {
    match c {
        Completion::Ok(Value::Null) => Completion::Ok(Value::Array(Vec::new())),
        other => other,
    }
}
