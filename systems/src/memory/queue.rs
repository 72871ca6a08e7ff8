//! The in-memory system's queues: `enqueue`, `dequeue` (acknowledged, or
//! with `{"ack": false}` delivered and handed back, as a consumer that
//! crashed before acknowledging leaves it) and `drain`.

use super::MemoryClient;
use crate::{not_served, Call, Completion};
use serde_json::Value;

/// The queue operations it serves.
pub(super) const FS: &[&str] = &["enqueue", "dequeue", "drain"];

impl MemoryClient {
    /// Performs one queue call.
    pub(super) async fn queue(&self, call: &Call) -> Completion {
        let key = call.key.as_str();
        let value = call.value.clone().unwrap_or(Value::Null);
        match call.f.as_str() {
            "enqueue" => {
                self.mem
                    .request(self.node, true, |d| {
                        d.queues.entry(key.to_string()).or_default().push_back(value.clone());
                        value.clone()
                    })
                    .await
            }
            "dequeue" => {
                let ack = value.get("ack").and_then(Value::as_bool).unwrap_or(true);
                self.mem
                    .request(self.node, true, |d| {
                        let q = d.queues.entry(key.to_string()).or_default();
                        match (q.pop_front(), ack) {
                            (Some(v), false) => {
                                q.push_front(v.clone()); // redelivered first
                                v
                            }
                            (v, _) => v.unwrap_or(Value::Null),
                        }
                    })
                    .await
            }
            "drain" => self.mem.request(self.node, true, |d| Value::Array(d.queues.entry(key.to_string()).or_default().drain(..).collect())).await,
            f => not_served(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::Memory;
    use crate::Client;
    use serde_json::json;

    #[test]
    fn values_come_out_in_order_an_unacknowledged_one_again() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        let c = MemoryClient::new(Memory::new(3, &[]), "n1").unwrap();
        let call = |f: &str, v: Option<Value>| rt.block_on(c.invoke(&Call::new(f, "q", v)));
        assert!(FS.iter().all(|f| c.serves(f)));
        for v in 1..=3 {
            assert_eq!(call("enqueue", Some(json!(v))), Completion::Ok(json!(v)));
        }
        assert_eq!(call("dequeue", Some(json!({"ack": false}))), Completion::Ok(json!(1)));
        assert_eq!(call("dequeue", None), Completion::Ok(json!(1)));
        assert_eq!(call("dequeue", None), Completion::Ok(json!(2)));
        assert_eq!(call("drain", None), Completion::Ok(json!([3])));
        assert_eq!(call("dequeue", None), Completion::Ok(Value::Null));
    }
}
