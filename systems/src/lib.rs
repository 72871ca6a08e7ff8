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
pub mod memory;
mod not_ready;
mod ops;
mod ready;
pub mod restate;
mod target;

pub use completion::{b64, classify, classify_text, unb64, Completion, Effect};
pub use db::{BoxFuture, Db, DbError, Kill, Pause, Primary, Service, Topology};
pub use not_ready::{probe_result, NotReady};
pub use ops::Ops;
pub use ready::{futures_join_all, wait_ready, Startup};
pub use target::DbTarget;
