//! A client for etcd's JSON gateway (`/v3/kv/*`), with Jepsen's outcome
//! rules: refused before sending is `fail`, a timeout or a lost response is
//! `info` (for writes; a read that fails is always `fail`), a failed compare
//! is `fail` with its reason.

use crate::completion::{b64, classify, unb64, Completion, Effect};
use crate::ops::{list_or_empty, Ops};
use serde_json::{json, Value};
use std::time::Duration;

/// A client bound to one node.
#[derive(Debug, Clone)]
pub struct EtcdClient {
    http: reqwest::Client,
    base: String,
    serializable: bool,
    timeout: Duration,
}

fn enc(v: &Value) -> String {
    b64(v.to_string().as_bytes())
}

fn dec(s: &str) -> Result<Value, String> {
    let bytes = unb64(s).ok_or("value is not base64")?;
    serde_json::from_slice(&bytes).map_err(|e| format!("value is not JSON: {e}"))
}

/// A field that etcd's gateway may spell in snake_case or camelCase.
fn field<'a>(v: &'a Value, snake: &str, camel: &str) -> &'a Value {
    if v[snake].is_null() {
        &v[camel]
    } else {
        &v[snake]
    }
}

impl EtcdClient {
    /// A client for the etcd member at `address`; `serializable` reads are
    /// served by the member alone (may be stale: not linearizable).
    pub fn new(http: reqwest::Client, address: &str, serializable: bool) -> EtcdClient {
        EtcdClient { http, base: format!("http://{address}:2379"), serializable, timeout: Duration::from_secs(5) }
    }

    /// The per-request timeout (default 5 s).
    pub fn with_timeout(mut self, t: Duration) -> EtcdClient {
        self.timeout = t;
        self
    }

    async fn post(&self, path: &str, body: Value, effect: Effect) -> Result<Value, Completion> {
        let r = self.http.post(format!("{}{path}", self.base)).json(&body).timeout(self.timeout).send().await.map_err(|e| classify(&e, effect))?;
        let status = r.status();
        let v: Value = r.json().await.map_err(|e| classify(&e, effect))?;
        if !status.is_success() {
            let msg = v["message"].as_str().or(v["error"].as_str()).unwrap_or("error").to_string();
            let why = format!("{status}: {msg}");
            return Err(match effect {
                Effect::ReadOnly => Completion::Fail(why),
                Effect::Write => Completion::Info(why),
            });
        }
        Ok(v)
    }

    async fn range(&self, key: &str) -> Result<(Value, String), Completion> {
        let mut body = json!({"key": b64(key.as_bytes())});
        if self.serializable {
            body["serializable"] = json!(true);
        }
        let v = self.post("/v3/kv/range", body, Effect::ReadOnly).await?;
        match v["kvs"].get(0) {
            None => Ok((Value::Null, "0".into())),
            Some(kv) => {
                let value = dec(kv["value"].as_str().unwrap_or("")).map_err(Completion::Fail)?;
                let rev = field(kv, "mod_revision", "modRevision").as_str().unwrap_or("0").to_string();
                Ok((value, rev))
            }
        }
    }

    /// Reads a key: its value, or `null` when absent.
    pub async fn read(&self, key: &str) -> Completion {
        match self.range(key).await {
            Ok((v, _)) => Completion::Ok(v),
            Err(c) => c,
        }
    }

    /// Writes a key.
    pub async fn write(&self, key: &str, value: &Value) -> Completion {
        let body = json!({"key": b64(key.as_bytes()), "value": enc(value)});
        match self.post("/v3/kv/put", body, Effect::Write).await {
            Ok(_) => Completion::Ok(value.clone()),
            Err(c) => c,
        }
    }

    async fn txn(&self, key: &str, compare: Value, value: &Value) -> Result<bool, Completion> {
        let body = json!({
            "compare": [compare],
            "success": [{"requestPut": {"key": b64(key.as_bytes()), "value": enc(value)}}],
        });
        let v = self.post("/v3/kv/txn", body, Effect::Write).await?;
        Ok(v["succeeded"].as_bool().unwrap_or(false))
    }

    /// Sets `key` to `new` if it holds `old`; a mismatch is a `fail`.
    pub async fn cas(&self, key: &str, old: &Value, new: &Value) -> Completion {
        let compare = json!({"key": b64(key.as_bytes()), "target": "VALUE", "result": "EQUAL", "value": enc(old)});
        match self.txn(key, compare, new).await {
            Ok(true) => Completion::Ok(json!([old, new])),
            Ok(false) => Completion::Fail("cas-mismatch".into()),
            Err(c) => c,
        }
    }

    /// Appends `elem` to the list stored at `key` (a txn on the key's
    /// revision, retried on conflict up to 3 times); the list after.
    pub async fn append(&self, key: &str, elem: &Value) -> Completion {
        for _ in 0..3 {
            let (cur, rev) = match self.range(key).await {
                Ok(x) => x,
                // the read failed: nothing was written
                Err(Completion::Fail(e) | Completion::Info(e)) => return Completion::Fail(e),
                Err(c) => return c,
            };
            let mut list = match cur {
                Value::Null => vec![],
                Value::Array(a) => a,
                other => return Completion::Fail(format!("{key} holds {other}, not a list")),
            };
            list.push(elem.clone());
            let compare = json!({"key": b64(key.as_bytes()), "target": "MOD", "result": "EQUAL", "modRevision": rev});
            match self.txn(key, compare, &Value::Array(list.clone())).await {
                Ok(true) => return Completion::Ok(Value::Array(list)),
                Ok(false) => continue,
                Err(c) => return c,
            }
        }
        Completion::Fail("append conflicted 3 times".into())
    }
}

/// The set is a list under one key; logs are lists under theirs.
impl Ops for EtcdClient {
    async fn read(&self, key: &str) -> Completion {
        EtcdClient::read(self, key).await
    }
    async fn write(&self, key: &str, value: &Value) -> Completion {
        EtcdClient::write(self, key, value).await
    }
    async fn cas(&self, key: &str, old: &Value, new: &Value) -> Completion {
        EtcdClient::cas(self, key, old, new).await
    }
    async fn add(&self, set: &str, element: &Value) -> Completion {
        match EtcdClient::append(self, set, element).await {
            Completion::Ok(_) => Completion::Ok(element.clone()),
            other => other,
        }
    }
    async fn read_set(&self, set: &str) -> Completion {
        list_or_empty(EtcdClient::read(self, set).await)
    }
    async fn append(&self, log: &str, value: &Value) -> Completion {
        EtcdClient::append(self, log, value).await
    }
    async fn read_log(&self, log: &str) -> Completion {
        list_or_empty(EtcdClient::read(self, log).await)
    }
}
