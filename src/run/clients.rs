//! Client operations against the SUT: a workload op in, a completion out,
//! with values in the shapes the checkers read.

use super::generator::ClientOp;
use serde_json::{json, Value};
use workloads::etcd::EtcdClient;
use workloads::restate::RestateClient;
use workloads::{Completion, Ops};

/// A client bound to one node.
pub enum Client {
    /// etcd's JSON gateway.
    Etcd(EtcdClient),
    /// Restate's ingress, calling faultline's SDK service.
    Restate(RestateClient),
    /// The in-memory system's client.
    Memory(workloads::memory::MemoryClient),
    /// Answers every op at once, in process: for measuring the runner.
    Noop,
}

fn map_ok(c: Completion, f: impl FnOnce(Value) -> Value) -> Completion {
    match c {
        Completion::Ok(v) => Completion::Ok(f(v)),
        other => other,
    }
}

impl Client {
    /// Performs one op.
    pub async fn invoke(&self, op: &ClientOp) -> Completion {
        match self {
            Client::Noop => Completion::Ok(op.value()),
            Client::Etcd(c) => perform(c, op).await,
            Client::Restate(c) => perform(c, op).await,
            Client::Memory(c) => perform(c, op).await,
        }
    }
}

/// One op through any SUT's client, its value in the checkers' shapes.
async fn perform<C: Ops>(c: &C, op: &ClientOp) -> Completion {
    match *op {
        ClientOp::Read { key } => map_ok(c.read(&format!("r{key}")).await, |v| json!([key, v])),
        ClientOp::Write { key, value } => map_ok(c.write(&format!("r{key}"), &json!(value)).await, |_| json!([key, value])),
        ClientOp::Cas { key, old, new } => map_ok(c.cas(&format!("r{key}"), &json!(old), &json!(new)).await, |_| json!([key, [old, new]])),
        ClientOp::Add { element } => map_ok(c.add("set", &json!(element)).await, |_| json!(element)),
        ClientOp::ReadSet => c.read_set("set").await,
        ClientOp::Append { log, value } => map_ok(c.append(&format!("log{log}"), &json!(value)).await, |_| json!([log, value])),
        ClientOp::ReadLog { log } => map_ok(c.read_log(&format!("log{log}")).await, |v| json!([log, v])),
    }
}
