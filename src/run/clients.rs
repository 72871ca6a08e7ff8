//! Client operations against the SUT: a workload op in, a completion out,
//! with values in the shapes the checkers read.

use systems::etcd::EtcdClient;
use systems::restate::RestateClient;
use systems::Completion;
use workloads::ClientOp;

/// A client bound to one node.
pub enum Client {
    /// etcd's JSON gateway.
    Etcd(EtcdClient),
    /// Restate's ingress, calling faultline's SDK service.
    Restate(RestateClient),
    /// The in-memory system's client.
    Memory(systems::memory::MemoryClient),
    /// Answers every op at once, in process: for measuring the runner.
    Noop,
}

impl Client {
    /// Performs one op.
    pub async fn invoke(&self, op: &ClientOp) -> Completion {
        match self {
            Client::Noop => Completion::Ok(op.value()),
            Client::Etcd(c) => workloads::perform(c, op).await,
            Client::Restate(c) => workloads::perform(c, op).await,
            Client::Memory(c) => workloads::perform(c, op).await,
        }
    }
}
