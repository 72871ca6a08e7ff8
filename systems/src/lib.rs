//! faultline's systems under test and their clients.
//!
//! A [`Db`] installs, starts and removes a SUT on a node over SSH
//! ([`control`]), names its services, and says what "ready" means; optional
//! abilities ([`Kill`], [`Pause`], [`Primary`]) are separate traits.
//! [`wait_ready`] polls readiness with backoff and a deadline and records
//! start-up times. Clients return a [`Completion`] that keeps a definite
//! failure (`fail`) apart from an unknown outcome (`info`).

pub mod clock;
mod completion;
mod db;
pub mod etcd;
pub mod file;
pub mod memory;
mod not_ready;
mod ops;
pub mod own;
mod ready;
pub mod restate;
mod restore;
pub mod stdio;
mod target;
pub mod txn;

pub use completion::{b64, classify, classify_text, unb64, Completion, Effect};
pub use db::{BoxFuture, Db, DbError, Endpoint, Kill, Membership, Pause, Primary, Service, SystemFaults, Topology};
pub use not_ready::{probe_result, NotReady};
pub use ops::{not_served, serve, Call, Client, NoopClient, Ops, KV_FS, TXN_FS};
pub use own::{OwnRun, RunView};
pub use ready::{futures_join_all, wait_ready, Startup};
pub use restore::{restore_membership, Restored};
pub use target::DbTarget;

use std::sync::Arc;

/// What shapes a built-in system beyond its name.
#[derive(Debug, Clone, Default)]
pub struct Choice {
    /// Clients read with serializable (local) reads where the system has them.
    pub serializable: bool,
    /// The nodes are slow (VMs under software emulation): relaxed timeouts.
    pub slow_nodes: bool,
    /// The release to install from the system's registry (Restate: npm),
    /// instead of the one faultline pins.
    pub version: Option<String>,
    /// The user's own binaries, by name (`restate-server`, `restatectl`,
    /// `etcd`), uploaded instead of the packaged ones.
    pub binaries: std::collections::BTreeMap<String, std::path::PathBuf>,
    /// Extra arguments for its server (`--db-arg`), after faultline's own.
    pub server_args: Vec<String>,
}

/// The binaries a user may give each built-in system (`--binary NAME=PATH`),
/// and whether it installs other releases from a registry (`--version`).
pub fn own_builds(system: &str) -> Option<(&'static [&'static str], bool)> {
    SYSTEMS.iter().find(|r| r.name == system).map(|r| (r.own_binaries, r.registry_versions))
}

/// A built-in system: its name, how to make it, and what it needs.
#[derive(Debug, Clone, Copy)]
pub struct Registration {
    /// Its name (`--db NAME`).
    pub name: &'static str,
    /// Makes it as chosen.
    pub make: fn(&Choice) -> Arc<dyn Db>,
    /// What it installs on the control node.
    pub host_packages: &'static [control::packages::HostPackage],
    /// The binaries a user may give it (`--binary NAME=PATH`).
    pub own_binaries: &'static [&'static str],
    /// True when it installs other releases from a registry (`--version`).
    pub registry_versions: bool,
}

/// Every built-in system: adding one is a module and a line here.
pub static SYSTEMS: &[Registration] = &[etcd::Etcd::REGISTRATION, restate::Restate::REGISTRATION];

/// The built-in system of that name.
pub fn by_name(name: &str, choice: &Choice) -> Option<Arc<dyn Db>> {
    SYSTEMS.iter().find(|r| r.name == name).map(|r| (r.make)(choice))
}

/// Every built-in system's name, for help and error messages.
pub fn names() -> Vec<&'static str> {
    SYSTEMS.iter().map(|r| r.name).collect()
}

/// Every host package: faultline's own parts' and each built-in system's.
pub fn host_packages() -> Vec<control::packages::HostPackage> {
    let mut all = control::packages::HOST_PACKAGES.to_vec();
    all.extend(SYSTEMS.iter().flat_map(|r| r.host_packages.iter().copied()));
    all
}
