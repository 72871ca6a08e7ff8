//! faultline's control plane: SSH to the nodes of a cluster.
//!
//! A [`Cluster`] holds one [`NodeClient`] per node of a [`NodesFile`]. A
//! client keeps its SSH sessions (libssh2) open and reuses them, reconnects
//! with backoff after a node or its sshd restarts, runs [`Cmd`]s with a
//! deadline, uploads and downloads files, and its errors name the node, the
//! command and the cause. Commands are argument vectors quoted for the
//! shell, so a value can never inject a command.
//!
//! ```no_run
//! use control::{Cluster, Cmd, NodesFile, Options};
//! let nodes = NodesFile::load("nodes.toml".as_ref()).unwrap().resolve();
//! let cluster = Cluster::new(nodes, Options::default());
//! for (node, r) in cluster.run_all(&Cmd::new(["uname", "-r"])) {
//!     println!("{node}: {}", r.map(|o| o.stdout).unwrap_or_else(|e| e.to_string()));
//! }
//! ```

mod cluster;
mod error;
pub mod local;
mod node;
pub mod packages;
mod power;
mod quote;
mod session;

pub use cluster::Cluster;
pub use error::{Cause, ControlError};
pub use local::CommandError;
pub use node::{Capabilities, HostKeyCheck, Node, NodeEntry, NodesFile, NodesFileError};
pub use power::Power;
pub use quote::{quote, Cmd, DEFAULT_TIMEOUT};
pub use session::{NodeClient, Options, Output};
