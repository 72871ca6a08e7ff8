//! A client for Restate's ingress, calling the virtual objects of
//! faultline's SDK service (`Register`, `Set`, `Log`) with Jepsen's outcome
//! rules: refused before sending is `fail`; a timeout, a lost response or a
//! server error is `info` for a write (Restate keeps running an invocation
//! it accepted, whether or not the caller still waits); a read that fails is
//! always `fail`; a rejected request (4xx: unknown service, bad input) and a
//! failed compare are `fail` with the reason.

use crate::completion::{classify, Completion, Effect};
use crate::ops::Ops;
use serde_json::{json, Value};
use std::time::Duration;

/// The ingress port.
pub const INGRESS_PORT: u16 = 8080;

/// A client bound to one node's ingress.
#[derive(Debug, Clone)]
pub struct RestateClient {
    http: reqwest::Client,
    base: String,
    timeout: Duration,
}

/// Maps a non-2xx answer of the ingress: 4xx means the ingress refused the
/// request (nothing was invoked); anything else may have been accepted.
fn refused(status: reqwest::StatusCode, body: &str, effect: Effect) -> Completion {
    let msg =
        serde_json::from_str::<Value>(body).ok().and_then(|v| v["message"].as_str().map(str::to_string)).unwrap_or_else(|| body.chars().take(200).collect());
    let why = format!("{}: {msg}", status.as_u16());
    if status.is_client_error() || effect == Effect::ReadOnly {
        Completion::Fail(why)
    } else {
        Completion::Info(why)
    }
}

impl RestateClient {
    /// A client for the ingress of the node at `address`.
    pub fn new(http: reqwest::Client, address: &str) -> RestateClient {
        RestateClient { http, base: format!("http://{address}:{INGRESS_PORT}"), timeout: Duration::from_secs(5) }
    }

    /// The per-request timeout (default 5 s).
    pub fn with_timeout(mut self, t: Duration) -> RestateClient {
        self.timeout = t;
        self
    }

    /// Calls `handler` of the virtual object `service/key` and waits for its
    /// result (the ingress's request-response call).
    pub async fn call(&self, service: &str, key: &str, handler: &str, arg: Option<&Value>, effect: Effect) -> Completion {
        let url = format!("{}/{service}/{}/{handler}", self.base, urlenc(key));
        let mut req = self.http.post(url).timeout(self.timeout);
        if let Some(a) = arg {
            req = req.json(a);
        }
        let r = match req.send().await {
            Ok(r) => r,
            Err(e) => return classify(&e, effect),
        };
        let status = r.status();
        let body = match r.text().await {
            Ok(b) => b,
            Err(e) => return classify(&e, effect),
        };
        if !status.is_success() {
            return refused(status, &body, effect);
        }
        match serde_json::from_str(&body) {
            Ok(v) => Completion::Ok(v),
            Err(e) => {
                let why = format!("answer is not JSON: {e}");
                if effect == Effect::ReadOnly {
                    Completion::Fail(why)
                } else {
                    Completion::Info(why)
                }
            }
        }
    }
}

/// `Register`, `Set` and `Log` objects of faultline's SDK service.
impl Ops for RestateClient {
    // Reads register `key`: its value, or `null`.
    async fn read(&self, key: &str) -> Completion {
        self.call("Register", key, "get", None, Effect::ReadOnly).await
    }

    // Writes register `key`.
    async fn write(&self, key: &str, value: &Value) -> Completion {
        self.call("Register", key, "set", Some(value), Effect::Write).await
    }

    // Sets register `key` to `new` if it holds `old`; a mismatch is a `fail`.
    async fn cas(&self, key: &str, old: &Value, new: &Value) -> Completion {
        match self.call("Register", key, "cas", Some(&json!([old, new])), Effect::Write).await {
            Completion::Ok(v) if v["ok"] == json!(true) => Completion::Ok(json!([old, new])),
            Completion::Ok(v) if v["ok"] == json!(false) => Completion::Fail("cas-mismatch".into()),
            Completion::Ok(v) => Completion::Info(format!("unexpected cas answer {v}")),
            other => other,
        }
    }

    // Adds `element` to set `key`.
    async fn add(&self, key: &str, element: &Value) -> Completion {
        self.call("Set", key, "add", Some(element), Effect::Write).await
    }

    // Every element of set `key`.
    async fn read_set(&self, key: &str) -> Completion {
        self.call("Set", key, "read", None, Effect::ReadOnly).await
    }

    // Appends `value` to log `key`: the log after the append.
    async fn append(&self, key: &str, value: &Value) -> Completion {
        self.call("Log", key, "append", Some(value), Effect::Write).await
    }

    // The whole log `key`.
    async fn read_log(&self, key: &str) -> Completion {
        self.call("Log", key, "read", None, Effect::ReadOnly).await
    }
}

/// Percent-encodes a key for a URL path segment.
fn urlenc(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_encoded_and_errors_classified() {
        assert_eq!(urlenc("r1"), "r1");
        assert_eq!(urlenc("a b/c"), "a%20b%2Fc");
        let nf = reqwest::StatusCode::NOT_FOUND;
        let body = r#"{"code":404,"message":"service 'Nope' not found"}"#;
        assert_eq!(refused(nf, body, Effect::Write), Completion::Fail("404: service 'Nope' not found".into()));
        let unavailable = reqwest::StatusCode::SERVICE_UNAVAILABLE;
        assert_eq!(refused(unavailable, "busy", Effect::Write), Completion::Info("503: busy".into()));
        assert_eq!(refused(unavailable, "busy", Effect::ReadOnly), Completion::Fail("503: busy".into()));
    }
}
