//! faultline as a library: the runner ([`run`]), the local lab ([`lab`]),
//! the commands ([`cmd`]) and the exit codes ([`exit`]) behind the
//! `faultline` binary. A system written in Rust, in another crate,
//! implements [`run::system::System`] and runs through
//! [`run::run_system`] (`examples/rust-system` does).

pub mod cmd;
pub mod exit;
pub mod lab;
pub mod run;
