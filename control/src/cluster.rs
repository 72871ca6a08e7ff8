//! All the nodes of a test: one client per node, commands on all of them
//! in parallel.

use crate::error::ControlError;
use crate::node::Node;
use crate::quote::Cmd;
use crate::session::{NodeClient, Options, Output};

/// The nodes of a cluster and their SSH clients.
pub struct Cluster {
    clients: Vec<NodeClient>,
}

impl Cluster {
    /// Clients for `nodes`; nothing connects until used.
    pub fn new(nodes: Vec<Node>, opts: Options) -> Cluster {
        Cluster { clients: nodes.into_iter().map(|n| NodeClient::new(n, opts)).collect() }
    }

    /// Every node's client, in the nodes file's order.
    pub fn clients(&self) -> &[NodeClient] {
        &self.clients
    }

    /// The client of the node named `name`.
    pub fn node(&self, name: &str) -> Option<&NodeClient> {
        self.clients.iter().find(|c| c.node().name == name)
    }

    /// Node names, in order.
    pub fn names(&self) -> Vec<String> {
        self.clients.iter().map(|c| c.node().name.clone()).collect()
    }

    /// Calls `f` on every node at once (one thread each) and returns the
    /// results in node order.
    pub fn on_all<T: Send>(&self, f: impl Fn(&NodeClient) -> T + Sync) -> Vec<(String, T)> {
        std::thread::scope(|s| {
            let handles: Vec<_> = self.clients.iter().map(|c| s.spawn(|| f(c))).collect();
            handles
                .into_iter()
                .zip(&self.clients)
                .map(|(h, c)| {
                    let r = match h.join() {
                        Ok(r) => r,
                        Err(p) => std::panic::resume_unwind(p),
                    };
                    (c.node().name.clone(), r)
                })
                .collect()
        })
    }

    /// Runs `cmd` on every node in parallel; each node's result.
    pub fn run_all(&self, cmd: &Cmd) -> Vec<(String, Result<Output, ControlError>)> {
        self.on_all(|c| c.run(cmd))
    }

    /// Runs `cmd` on every node; the first error, if any.
    pub fn run_all_ok(&self, cmd: &Cmd) -> Result<Vec<Output>, ControlError> {
        self.run_all(cmd).into_iter().map(|(_, r)| r).collect()
    }

    /// Checks that every node answers over SSH; every node's error.
    pub fn preflight(&self) -> Result<(), Vec<ControlError>> {
        let errs: Vec<ControlError> = self.on_all(|c| c.probe()).into_iter().filter_map(|(_, r)| r.err()).collect();
        if errs.is_empty() {
            Ok(())
        } else {
            Err(errs)
        }
    }
}
