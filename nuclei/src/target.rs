//! The two small contracts around fault injection: what a fault needs from
//! the system under test ([`Target`], handed over by the runner: nuclei
//! knows no system), and what the runner needs from an injector
//! ([`Injector`]: the SSH [`crate::Nemesis`], or a system's own in-memory
//! one).

use crate::catalog::Catalog;
use crate::error::FaultError;
use crate::fault::{Fault, Needs, SystemFault};
use crate::package::Package;
use control::NodeClient;
use serde_json::Value;
use std::time::Instant;

/// What faults need from the system under test on real nodes. Each
/// ability is optional: a fault that needs one the system lacks is refused
/// before the run.
pub trait Target: Send + Sync {
    /// The system's name, for error messages.
    fn name(&self) -> &str;
    /// True when [`Target::kill`] and [`Target::restart`] work.
    fn can_kill(&self) -> bool {
        false
    }
    /// Kills the system's processes on the node (SIGKILL).
    fn kill(&self, node: &NodeClient) -> Result<(), FaultError> {
        Err(FaultError::Unsupported(format!("{}: {} cannot be killed", node.node().name, self.name())))
    }
    /// Starts the system on the node again after a kill.
    fn restart(&self, node: &NodeClient) -> Result<(), FaultError> {
        Err(FaultError::Unsupported(format!("{}: {} cannot be restarted", node.node().name, self.name())))
    }
    /// The directories the system keeps its data in on a node (absolute):
    /// what `lose-unsynced` serves through faultline's page cache. None:
    /// the system cannot lose unsynced data.
    fn data_dirs(&self) -> Vec<String> {
        Vec::new()
    }
    /// Which files under the data directories `corrupt` may pick (`find
    /// -path` patterns); none: any file.
    fn data_files(&self) -> Vec<String> {
        Vec::new()
    }
    /// The `pgrep -f` pattern of the processes a pause stops, if it can be paused.
    fn pause_pattern(&self) -> Option<&str> {
        None
    }
    /// True when the system can change its membership
    /// ([`Target::members`], [`Target::remove_member`], [`Target::add_member`]).
    fn can_change_members(&self) -> bool {
        false
    }
    /// The members as the system reports them (node names), asked
    /// through `via`.
    fn members(&self, via: &NodeClient) -> Result<Vec<String>, FaultError> {
        Err(FaultError::Unsupported(format!("{}: {} has no membership to list", via.node().name, self.name())))
    }
    /// Takes `node` out of the membership, asked through `via` (a member
    /// that stays): what it did, for the history.
    fn remove_member(&self, _via: &NodeClient, node: &NodeClient) -> Result<Value, FaultError> {
        Err(FaultError::Unsupported(format!("{}: {} cannot remove a member", node.node().name, self.name())))
    }
    /// Adds `node` to the membership again, asked through `via`, and
    /// starts it (its data wiped first when the system needs it): what it
    /// did, for the history.
    fn add_member(&self, _via: &NodeClient, node: &NodeClient) -> Result<Value, FaultError> {
        Err(FaultError::Unsupported(format!("{}: {} cannot add a member", node.node().name, self.name())))
    }
    /// Stops the system on `node` and deletes its data (a member replaced).
    fn wipe(&self, node: &NodeClient) -> Result<(), FaultError> {
        Err(FaultError::Unsupported(format!("{}: {} cannot be wiped", node.node().name, self.name())))
    }
    /// The node that leads now, if the system has a leader and one is known.
    fn primary(&self) -> Option<String> {
        None
    }
    /// The faults it applies itself ([`Target::system_fault`]), each a
    /// package of kind [`crate::Kind::System`] naming its inverse.
    fn packages(&self) -> &'static [Package] {
        &[]
    }
    /// Checks a fault of its own before a run: its arguments (the error
    /// names the fault and the argument).
    fn check_fault(&self, _fault: &SystemFault) -> Result<(), FaultError> {
        Ok(())
    }
    /// Applies a fault on the system itself (log reconfiguration,
    /// wipe, leadership, membership) on the nodes it names (`nodes`): what
    /// it did and saw, for the history.
    fn system_fault(&self, fault: &SystemFault, _nodes: &[&NodeClient]) -> Result<Value, FaultError> {
        Err(FaultError::Unsupported(format!("{} does not support {}", self.name(), fault.f)))
    }
}

/// A fault injector, as the runner uses it.
pub trait Injector: Send + Sync {
    /// The faults it can apply: the shared ones and the system's own.
    fn catalog(&self) -> Catalog {
        Catalog::shared()
    }
    /// Checks before a run that what the faults need is there; the error
    /// says which node or ability is missing.
    fn preflight(&self, needs: &[Needs]) -> Result<(), FaultError>;
    /// Checks one fault of a plan before the run (a system's own fault's
    /// arguments); the error names the fault.
    fn check_fault(&self, _fault: &Fault) -> Result<(), FaultError> {
        Ok(())
    }
    /// Prepares the nodes (and heals what an earlier, killed run left).
    fn setup(&self) -> Result<(), FaultError>;
    /// Applies one fault; what was done, with the time it took effect on
    /// each node (`at`: node -> ns since `t0`), for the history.
    fn apply(&self, fault: &Fault, t0: Instant) -> Result<Value, FaultError>;
    /// Heals everything it started; idempotent; the problems it met.
    fn heal_all(&self) -> Vec<FaultError>;
    /// Heals everything and removes what setup made; the problems it met.
    fn teardown(&self) -> Vec<FaultError> {
        self.heal_all()
    }
}

/// Heals everything when dropped: at the end of a run, on an early return
/// after an error, and while a panic unwinds. Each problem met is passed to
/// `report`.
pub struct HealGuard<'a> {
    injector: &'a dyn Injector,
    report: Box<dyn Fn(&str) + 'a>,
}

impl<'a> HealGuard<'a> {
    /// Guards `injector`.
    pub fn new(injector: &'a dyn Injector, report: impl Fn(&str) + 'a) -> HealGuard<'a> {
        HealGuard { injector, report: Box::new(report) }
    }
}

impl Drop for HealGuard<'_> {
    fn drop(&mut self) {
        for e in self.injector.teardown() {
            (self.report)(&e.to_string());
        }
    }
}
