//! A system under test written in Rust, outside faultline: a key-value
//! store of three in-process "nodes" sharing one map, whose nodes can be
//! killed and started again. It implements faultline's runner contract
//! ([`runner::system::System`]), its client contract
//! ([`systems::Ops`]) and its fault contract ([`nuclei::Injector`]), and
//! runs through [`runner::run_system`]: the same generator,
//! history, checkers and report as any built-in system.

use nuclei::{Fault, FaultError, Injector, Needs};
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use systems::{BoxFuture, Client, Completion, NotReady, Ops, Topology};

/// The store: one map, and which nodes are down.
#[derive(Default)]
pub struct Store {
    data: Mutex<HashMap<String, Value>>,
    down: Mutex<BTreeSet<String>>,
}

impl Store {
    fn up(&self, node: &str) -> bool {
        !self.down.lock().unwrap_or_else(|e| e.into_inner()).contains(node)
    }
}

/// A client of one node: refused while the node is down.
pub struct KvClient {
    store: Arc<Store>,
    node: String,
}

impl KvClient {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, Value>) -> T) -> Result<T, Completion> {
        if !self.store.up(&self.node) {
            return Err(Completion::Fail(format!("connect: {} is down", self.node)));
        }
        Ok(f(&mut self.store.data.lock().unwrap_or_else(|e| e.into_inner())))
    }

    fn list(&self, key: &str, push: Option<&Value>) -> Completion {
        let r = self.with(|d| {
            let e = d.entry(key.to_string()).or_insert_with(|| json!([]));
            if let (Some(v), Some(a)) = (push, e.as_array_mut()) {
                a.push(v.clone());
            }
            e.clone()
        });
        r.map_or_else(|c| c, Completion::Ok)
    }
}

impl Ops for KvClient {
    async fn read(&self, key: &str) -> Completion {
        self.with(|d| d.get(key).cloned().unwrap_or(Value::Null)).map_or_else(|c| c, Completion::Ok)
    }
    async fn write(&self, key: &str, value: &Value) -> Completion {
        self.with(|d| d.insert(key.to_string(), value.clone())).map_or_else(|c| c, |_| Completion::Ok(value.clone()))
    }
    async fn cas(&self, key: &str, old: &Value, new: &Value) -> Completion {
        let r = self.with(|d| {
            if d.get(key).unwrap_or(&Value::Null) == old {
                d.insert(key.to_string(), new.clone());
                true
            } else {
                false
            }
        });
        match r {
            Ok(true) => Completion::Ok(json!([old, new])),
            Ok(false) => Completion::Fail("cas-mismatch".into()),
            Err(c) => c,
        }
    }
    async fn add(&self, set: &str, element: &Value) -> Completion {
        self.list(set, Some(element))
    }
    async fn read_set(&self, set: &str) -> Completion {
        self.list(set, None)
    }
    async fn append(&self, log: &str, value: &Value) -> Completion {
        self.list(log, Some(value))
    }
    async fn read_log(&self, log: &str) -> Completion {
        self.list(log, None)
    }
}

impl Injector for Store {
    fn preflight(&self, needs: &[Needs]) -> Result<(), FaultError> {
        match needs.iter().find(|n| **n != Needs::Kill) {
            Some(n) => Err(FaultError::Unsupported(format!("the example store can only be killed, not {n:?}"))),
            None => Ok(()),
        }
    }
    fn setup(&self) -> Result<(), FaultError> {
        Ok(())
    }
    fn apply(&self, fault: &Fault, _t0: Instant) -> Result<Value, FaultError> {
        let mut down = self.down.lock().unwrap_or_else(|e| e.into_inner());
        match fault {
            Fault::Kill { nodes } => down.extend(nodes.iter().cloned()),
            Fault::Start { nodes } => nodes.iter().for_each(|n| {
                down.remove(n);
            }),
            other => return Err(FaultError::Unsupported(format!("{} is not supported", other.f()))),
        }
        Ok(json!({"down": *down}))
    }
    fn heal_all(&self) -> Vec<FaultError> {
        self.down.lock().unwrap_or_else(|e| e.into_inner()).clear();
        Vec::new()
    }
}

/// The example system as faultline's runner sees it.
pub struct KvSystem {
    store: Arc<Store>,
    topo: Topology,
}

impl Default for KvSystem {
    fn default() -> Self {
        KvSystem { store: Arc::default(), topo: Topology { nodes: (1..=3).map(|i| (format!("n{i}"), format!("kv:n{i}"))).collect() } }
    }
}

impl runner::system::System for KvSystem {
    fn name(&self) -> &str {
        "example-kv"
    }
    fn topology(&self) -> &Topology {
        &self.topo
    }
    fn injector(&self) -> &dyn Injector {
        &*self.store
    }
    fn services(&self) -> Vec<String> {
        vec!["kv".into()]
    }
    fn probe<'a>(&'a self, node: usize, _service: &'a str, _timeout: Duration) -> BoxFuture<'a, Result<(), NotReady>> {
        let name = self.topo.nodes[node].0.clone();
        Box::pin(async move {
            if self.store.up(&name) {
                Ok(())
            } else {
                Err(NotReady::Unreachable("connect: down".into()))
            }
        })
    }
    fn client(&self, node: usize, _process: u64, _timeout: Duration) -> Box<dyn Client> {
        Box::new(KvClient { store: self.store.clone(), node: self.topo.nodes[node].0.clone() })
    }
}
