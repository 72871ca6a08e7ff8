//! faultline's systems under test and their clients.
//!
//! A [`Db`] installs, starts and removes a SUT on a node over SSH
//! ([`control`]), names its services, and says what "ready" means; optional
//! abilities ([`Kill`], [`Pause`], [`Primary`]) are separate traits.
//! [`wait_ready`] polls readiness with backoff and a deadline and records
//! start-up times. Clients return a [`Completion`] that keeps a definite
//! failure (`fail`) apart from an unknown outcome (`info`).

mod completion;
mod db;
pub mod etcd;
pub mod file;
pub mod memory;
mod not_ready;
mod ops;
mod ready;
pub mod restate;
pub mod stdio;
mod target;
pub mod txn;

pub use completion::{b64, classify, classify_text, unb64, Completion, Effect};
pub use db::{BoxFuture, Db, DbError, Endpoint, Kill, Pause, Primary, Service, SystemFaults, Topology};
pub use not_ready::{probe_result, NotReady};
pub use ops::{Client, NoopClient, Ops};
pub use ready::{futures_join_all, wait_ready, Startup};
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
}

/// The binaries a user may give each built-in system (`--binary NAME=PATH`),
/// and whether it installs other releases from a registry (`--version`).
pub fn own_builds(system: &str) -> Option<(&'static [&'static str], bool)> {
    match system {
        "etcd" => Some((&["etcd"], false)),
        "restate" => Some((&["restate-server", "restatectl"], true)),
        _ => None,
    }
}

/// A system's name and how to make it.
pub type Registration = (&'static str, fn(&Choice) -> Arc<dyn Db>);

/// Every built-in system: adding one is a module and a line here.
pub static SYSTEMS: &[Registration] = &[("etcd", etcd::Etcd::chosen), ("restate", restate::Restate::chosen)];

/// The built-in system of that name.
pub fn by_name(name: &str, choice: &Choice) -> Option<Arc<dyn Db>> {
    SYSTEMS.iter().find(|(n, _)| *n == name).map(|(_, make)| make(choice))
}

/// Every built-in system's name, for help and error messages.
pub fn names() -> Vec<&'static str> {
    SYSTEMS.iter().map(|(n, _)| *n).collect()
}
