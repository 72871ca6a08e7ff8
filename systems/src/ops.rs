//! The one operation contract: a [`Call`] is an `f`, the key it is about
//! and a value (the stdio protocol's request), and a [`Client`] says which
//! `f`s it serves and performs them. [`Ops`] is a shortcut for clients of
//! key-value stores: a register per key, sets, logs and (optionally)
//! transactions as typed methods, served as the standard `f`s ([`KV_FS`]).

use crate::txn::{self, Mop};
use crate::{BoxFuture, Completion};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::future::Future;

/// One operation as a client is asked it: the stdio protocol's request
/// without its id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Call {
    /// The operation (`read`, `append`, `enqueue`, ...): the workload's name for it.
    pub f: String,
    /// The register, set, log or queue it is about (`txn` for a transaction).
    pub key: String,
    /// The argument; absent for reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
}

impl Call {
    /// A call of `f` on `key` with `value`.
    pub fn new(f: &str, key: impl Into<String>, value: Option<Value>) -> Self {
        Call { f: f.to_string(), key: key.into(), value }
    }
}

/// The `f`s of registers, sets and logs that every [`Ops`] serves.
pub const KV_FS: &[&str] = &["read", "write", "cas", "add", "read-set", "append", "read-log"];

/// The `f`s of transactions ([`txn::Kind::f`]), served when [`Ops::runs_txns`].
pub const TXN_FS: &[&str] = &["txn", "rw-txn"];

/// A client as the runner holds it, behind a pointer: it serves some `f`s.
pub trait Client: Send + Sync {
    /// True when it performs `f` (preflight refuses a workload needing an
    /// `f` its system's client does not serve, naming it).
    fn serves(&self, f: &str) -> bool;
    /// Performs one call; a call of an `f` it does not serve is a `fail`.
    fn invoke<'a>(&'a self, call: &'a Call) -> BoxFuture<'a, Completion>;
    /// Before a run: `Err` when the client itself is broken (a program that
    /// cannot start, dies, writes garbage or never answers).
    fn preflight(&self) -> BoxFuture<'_, Result<(), String>>;
}

/// What a client says of an `f` it does not serve.
pub fn not_served(f: &str) -> Completion {
    Completion::Fail(format!("this client does not serve `{f}`"))
}

/// A key-value store's client as typed methods; every `Ops` is a
/// [`Client`] serving [`KV_FS`] (and [`TXN_FS`] when it runs transactions),
/// plus any `f` of its own through [`Ops::serves_other`] and [`Ops::other`].
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
    /// True when it serves `f` beyond the key-value ones, in [`Ops::other`].
    fn serves_other(&self, f: &str) -> bool {
        let _ = f;
        false
    }
    /// Performs a call of an `f` of its own. The default: none.
    fn other(&self, call: &Call) -> impl Future<Output = Completion> + Send {
        let c = not_served(&call.f);
        async { c }
    }
    /// Before a run: `Err` when the client itself is broken, whatever the
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

/// A call's value, or `null` when it has none.
fn arg(call: &Call) -> &Value {
    call.value.as_ref().unwrap_or(&Value::Null)
}

/// Performs a call on an [`Ops`]: the standard `f`s by its typed methods,
/// any other by [`Ops::other`].
pub async fn serve<T: Ops>(ops: &T, call: &Call) -> Completion {
    let key = call.key.as_str();
    match call.f.as_str() {
        "read" => ops.read(key).await,
        "write" => ops.write(key, arg(call)).await,
        "cas" => match arg(call).as_array().map(Vec::as_slice) {
            Some([old, new]) => ops.cas(key, old, new).await,
            _ => Completion::Fail(format!("cas needs [old, new], got {}", arg(call))),
        },
        "add" => ops.add(key, arg(call)).await,
        "read-set" => ops.read_set(key).await,
        "append" => ops.append(key, arg(call)).await,
        "read-log" => ops.read_log(key).await,
        f @ ("txn" | "rw-txn") if ops.runs_txns() => match txn::parse_asked(f, arg(call)) {
            Ok(mops) => ops.txn(&mops).await,
            Err(e) => Completion::Fail(e.to_string()),
        },
        f if ops.serves_other(f) => ops.other(call).await,
        f => not_served(f),
    }
}

impl<T: Ops> Client for T {
    fn serves(&self, f: &str) -> bool {
        KV_FS.contains(&f) || (self.runs_txns() && TXN_FS.contains(&f)) || self.serves_other(f)
    }
    fn invoke<'a>(&'a self, call: &'a Call) -> BoxFuture<'a, Completion> {
        Box::pin(serve(self, call))
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
    }

    #[test]
    fn an_ops_serves_the_key_value_fs_and_refuses_others_by_name() {
        let c: &dyn Client = &NoopClient;
        assert!(KV_FS.iter().all(|f| c.serves(f)));
        assert!(!c.serves("txn") && !c.serves("enqueue"));
        let cas = Call::new("cas", "r1", Some(json!([1, 2])));
        assert_eq!(run(c.invoke(&cas)), Completion::Ok(json!([1, 2])));
        assert_eq!(run(c.invoke(&Call::new("write", "r1", Some(json!(3))))), Completion::Ok(json!(3)));
        let Completion::Fail(e) = run(c.invoke(&Call::new("enqueue", "q", Some(json!(1))))) else { panic!() };
        assert!(e.contains("`enqueue`"), "{e}");
        let Completion::Fail(e) = run(c.invoke(&Call::new("cas", "r1", Some(json!(1))))) else { panic!() };
        assert!(e.contains("[old, new]"), "{e}");
        let Completion::Fail(e) = run(c.invoke(&Call::new("txn", "txn", Some(json!([]))))) else { panic!() };
        assert!(e.contains("`txn`"), "{e}");
    }

    #[test]
    fn calls_have_the_protocols_request_shape() {
        let c = Call::new("read", "r1", None);
        assert_eq!(serde_json::to_string(&c).unwrap(), r#"{"f":"read","key":"r1"}"#);
    }
}
