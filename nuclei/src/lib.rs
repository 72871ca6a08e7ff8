//! faultline's fault injectors ("nuclei").
//!
//! Faults are data ([`Fault`]), each with a named inverse (a system's own
//! faults with the inverses it declares: [`Catalog`]); partitions are
//! grudges built by pure functions ([`grudge`]); node commands are rendered
//! as argument vectors ([`commands`]); packages carry report metadata and
//! schedules are pure functions of the seeded RNG ([`package`]). A
//! [`Nemesis`] applies faults to a cluster, remembers what is active and
//! heals all of it; [`heal_leftovers`] cleans up after a run that was killed.

mod catalog;
pub mod commands;
pub mod corrupt;
pub mod disk;
mod error;
mod fault;
pub mod grudge;
mod heal;
mod nemesis;
pub mod package;
mod plan;
pub mod shrink;
mod target;

pub use catalog::Catalog;
pub use error::FaultError;
pub use fault::{Fault, Needs, SystemFault, SHARED_FS};
pub use grudge::Grudge;
pub use heal::{heal_leftovers, leftovers, reset_node_clock, Leftovers};
pub use nemesis::Nemesis;
pub use package::{schedule, Kind, Package, Spacing, Step, PACKAGES};
pub use plan::{check_plan, check_quorum};
pub use target::{HealGuard, Injector, Target};
