//! Helpers shared by the tests that need the lab.
#![allow(dead_code)]

use control::{Node, NodesFile};
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// Runs the faultline binary.
pub fn faultline(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_faultline")).args(args).output().expect("run faultline")
}

/// Brings the 3-node lab up once per test binary (idempotent: seconds when
/// it is already up) and returns its nodes file.
pub fn lab() -> &'static PathBuf {
    static UP: OnceLock<PathBuf> = OnceLock::new();
    UP.get_or_init(|| {
        let o = faultline(&["lab", "up", "--nodes", "3"]);
        assert!(
            o.status.success(),
            "faultline lab up failed (the lab tests need root and LXC): {}",
            String::from_utf8_lossy(&o.stderr)
        );
        PathBuf::from(String::from_utf8_lossy(&o.stdout).trim())
    })
}

/// The lab's nodes, resolved.
pub fn lab_nodes() -> Vec<Node> {
    NodesFile::load(lab()).unwrap().resolve()
}
