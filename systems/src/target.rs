//! A [`Db`] as the fault injector's [`Target`]: its kill, restart, pause
//! and primary abilities, handed to [`nuclei::Nemesis`] by the runner.

use crate::{Db, Topology};
use control::NodeClient;
use nuclei::{FaultError, Target};
use std::sync::Arc;

/// What faults need of a [`Db`] running on `topo`.
pub struct DbTarget {
    db: Arc<dyn Db>,
    topo: Topology,
}

impl DbTarget {
    /// `db` on the nodes of `topo`.
    pub fn new(db: Arc<dyn Db>, topo: Topology) -> DbTarget {
        DbTarget { db, topo }
    }
}

impl DbTarget {
    fn membership(&self) -> Result<&dyn crate::Membership, FaultError> {
        self.db.as_membership().ok_or_else(|| FaultError::Unsupported(format!("{} has no membership faultline can change", self.db.name())))
    }
}

/// An error of the system on `node`, as a fault's error naming the node.
fn on(node: &NodeClient, e: crate::DbError) -> FaultError {
    FaultError::Node(node.node().name.clone(), e.to_string())
}

impl Target for DbTarget {
    fn name(&self) -> &str {
        self.db.name()
    }
    fn can_kill(&self) -> bool {
        self.db.as_kill().is_some()
    }
    fn kill(&self, node: &NodeClient) -> Result<(), FaultError> {
        let k = self.db.as_kill().ok_or_else(|| FaultError::Unsupported(format!("{} cannot be killed", self.db.name())))?;
        k.kill(node).map_err(|e| FaultError::Node(node.node().name.clone(), e.to_string()))
    }
    fn restart(&self, node: &NodeClient) -> Result<(), FaultError> {
        let k = self.db.as_kill().ok_or_else(|| FaultError::Unsupported(format!("{} cannot be restarted", self.db.name())))?;
        k.restart(node, &self.topo).map_err(|e| FaultError::Node(node.node().name.clone(), e.to_string()))
    }
    fn data_dirs(&self) -> Vec<String> {
        self.db.data_dirs()
    }
    fn data_files(&self) -> Vec<String> {
        self.db.data_files()
    }
    fn pause_pattern(&self) -> Option<&str> {
        self.db.as_pause().map(|p| p.pause_pattern())
    }
    fn packages(&self) -> &'static [nuclei::Package] {
        self.db.as_faults().map_or(&[], |f| f.packages())
    }
    fn check_fault(&self, fault: &nuclei::SystemFault) -> Result<(), FaultError> {
        let f = self.db.as_faults().ok_or_else(|| FaultError::Unsupported(format!("{} has no fault {:?} of its own", self.db.name(), fault.f)))?;
        f.check(fault).map_err(FaultError::Invalid)
    }
    fn system_fault(&self, fault: &nuclei::SystemFault, nodes: &[&NodeClient]) -> Result<serde_json::Value, FaultError> {
        let f = self.db.as_faults().ok_or_else(|| FaultError::Unsupported(format!("{} has no fault {:?} of its own", self.db.name(), fault.f)))?;
        f.apply(fault, &self.topo, nodes).map_err(|e| match e {
            crate::DbError::Control(c) => FaultError::Node(nodes.first().map(|n| n.node().name.clone()).unwrap_or_default(), c.to_string()),
            other => FaultError::System(fault.f.clone(), other.to_string()),
        })
    }
    fn can_change_members(&self) -> bool {
        self.db.as_membership().is_some()
    }
    fn members(&self, via: &NodeClient) -> Result<Vec<String>, FaultError> {
        self.membership()?.members(via, &self.topo).map_err(|e| on(via, e))
    }
    fn remove_member(&self, via: &NodeClient, node: &NodeClient) -> Result<serde_json::Value, FaultError> {
        self.membership()?.remove(via, node, &self.topo).map_err(|e| on(node, e))
    }
    fn add_member(&self, via: &NodeClient, node: &NodeClient) -> Result<serde_json::Value, FaultError> {
        self.membership()?.add(via, node, &self.topo).map_err(|e| on(node, e))
    }
    fn wipe(&self, node: &NodeClient) -> Result<(), FaultError> {
        self.membership()?.wipe(node, &self.topo).map_err(|e| on(node, e))
    }
    fn primary(&self) -> Option<String> {
        let p = self.db.as_primary()?;
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
        rt.block_on(p.primary(&reqwest::Client::new(), &self.topo))
    }
}
