//! The `faultline` binary's commands ([`cmd`]): each turns flags and files
//! into what a library crate takes (the runner's `RunConfig`, a history to
//! check, the lab's cluster) and its outcome into an exit code
//! ([`exit`], the runner's table). A system written in Rust, in another
//! crate, needs none of this: it implements `runner::system::System` and
//! runs through `runner::run_system` (`examples/rust-system` does).

pub mod cmd;
pub use runner::exit;
