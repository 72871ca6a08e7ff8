//! What the workloads ask of a SUT's client, one trait for every SUT: a
//! register per key, one set, logs, and (optionally) transactions. Each call ends in a [`Completion`].

use crate::txn::Mop;
use crate::{BoxFuture, Completion};
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
    /// Runs a transaction (list-append or rw-register, [`crate::txn`])
    /// atomically: `Ok(the micro-ops completed)`. The default: this client
    /// runs none ([`Ops::runs_txns`] is false).
    fn txn(&self, mops: &[Mop]) -> impl Future<Output = Completion> + Send {
        let _ = mops;
        async { Completion::Fail("this system's client runs no transactions".into()) }
    }
    /// True when [`Ops::txn`] is implemented.
    fn runs_txns(&self) -> bool {
        false
    }
    /// Before a run: `Err` when the client itself is broken (a program that
    /// cannot start, dies, writes garbage or never answers), whatever the
    /// system would say. The default: it works.
    fn preflight(&self) -> impl Future<Output = Result<(), String>> + Send {
        async { Ok(()) }
    }
}

/// `null` (never written) as an empty list.
pub(crate) fn list_or_empty(c: Completion) -> Completion {
    match c {
        Completion::Ok(Value::Null) => Completion::Ok(Value::Array(Vec::new())),
        other => other,
    }
}

/// A client as the runner holds it, behind a pointer: every [`Ops`] is one.
pub trait Client: Send + Sync {
    /// [`Ops::read`].
    fn read<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Completion>;
    /// [`Ops::write`].
    fn write<'a>(&'a self, key: &'a str, value: &'a Value) -> BoxFuture<'a, Completion>;
    /// [`Ops::cas`].
    fn cas<'a>(&'a self, key: &'a str, old: &'a Value, new: &'a Value) -> BoxFuture<'a, Completion>;
    /// [`Ops::add`].
    fn add<'a>(&'a self, set: &'a str, element: &'a Value) -> BoxFuture<'a, Completion>;
    /// [`Ops::read_set`].
    fn read_set<'a>(&'a self, set: &'a str) -> BoxFuture<'a, Completion>;
    /// [`Ops::append`].
    fn append<'a>(&'a self, log: &'a str, value: &'a Value) -> BoxFuture<'a, Completion>;
    /// [`Ops::read_log`].
    fn read_log<'a>(&'a self, log: &'a str) -> BoxFuture<'a, Completion>;
    /// [`Ops::txn`].
    fn txn<'a>(&'a self, mops: &'a [Mop]) -> BoxFuture<'a, Completion>;
    /// [`Ops::runs_txns`].
    fn runs_txns(&self) -> bool;
    /// [`Ops::preflight`].
    fn preflight(&self) -> BoxFuture<'_, Result<(), String>>;
}

impl<T: Ops> Client for T {
    fn read<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Completion> {
        Box::pin(Ops::read(self, key))
    }
    fn write<'a>(&'a self, key: &'a str, value: &'a Value) -> BoxFuture<'a, Completion> {
        Box::pin(Ops::write(self, key, value))
    }
    fn cas<'a>(&'a self, key: &'a str, old: &'a Value, new: &'a Value) -> BoxFuture<'a, Completion> {
        Box::pin(Ops::cas(self, key, old, new))
    }
    fn add<'a>(&'a self, set: &'a str, element: &'a Value) -> BoxFuture<'a, Completion> {
        Box::pin(Ops::add(self, set, element))
    }
    fn read_set<'a>(&'a self, set: &'a str) -> BoxFuture<'a, Completion> {
        Box::pin(Ops::read_set(self, set))
    }
    fn append<'a>(&'a self, log: &'a str, value: &'a Value) -> BoxFuture<'a, Completion> {
        Box::pin(Ops::append(self, log, value))
    }
    fn read_log<'a>(&'a self, log: &'a str) -> BoxFuture<'a, Completion> {
        Box::pin(Ops::read_log(self, log))
    }
    fn txn<'a>(&'a self, mops: &'a [Mop]) -> BoxFuture<'a, Completion> {
        Box::pin(Ops::txn(self, mops))
    }
    fn runs_txns(&self) -> bool {
        Ops::runs_txns(self)
    }
    fn preflight(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(Ops::preflight(self))
    }
}

/// Answers every op at once, in process, without a system: for measuring
/// the runner itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoopClient;

impl Ops for NoopClient {
    async fn read(&self, _key: &str) -> Completion {
        Completion::Ok(Value::Null)
    }
    async fn write(&self, _key: &str, value: &Value) -> Completion {
        Completion::Ok(value.clone())
    }
    async fn cas(&self, _key: &str, old: &Value, new: &Value) -> Completion {
        Completion::Ok(Value::Array(vec![old.clone(), new.clone()]))
    }
    async fn add(&self, _set: &str, element: &Value) -> Completion {
        Completion::Ok(element.clone())
    }
    async fn read_set(&self, _set: &str) -> Completion {
        Completion::Ok(Value::Array(Vec::new()))
    }
    async fn append(&self, _log: &str, value: &Value) -> Completion {
        Completion::Ok(Value::Array(vec![value.clone()]))
    }
    async fn read_log(&self, _log: &str) -> Completion {
        Completion::Ok(Value::Array(Vec::new()))
    }
}
