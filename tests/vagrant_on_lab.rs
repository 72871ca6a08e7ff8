//! The nightly job on Vagrant nodes, end to end: `faultline lab box
//! --provider lxc` makes the local box from the lab's base, the top-level
//! Vagrantfile brings up n1..n3 with `vagrant up --provider lxc`,
//! `scripts/vagrant-nodes` writes their nodes file (host keys checked),
//! `faultline run --nodes-file` reaches a verdict on them, and `vagrant
//! destroy` leaves no container behind. Needs root; uses the lab's bridge.

mod common;

use common::faultline;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn top() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `vagrant ARGS` at the repository's top, its machine state in `dot`.
fn vagrant(dot: &Path, args: &[&str]) -> Output {
    Command::new("vagrant").args(args).current_dir(top()).env("VAGRANT_DOTFILE_PATH", dot).env("FAULTLINE_NODES", "3").output().expect("vagrant")
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
}

/// The containers in LXC's default path (where vagrant-lxc makes them).
fn containers() -> Vec<String> {
    let o = Command::new("lxc-ls").arg("-1").output().expect("lxc-ls");
    String::from_utf8_lossy(&o.stdout).split_whitespace().map(str::to_string).collect()
}

/// Destroys the Vagrant nodes however the test ends.
struct Destroy(PathBuf);

impl Drop for Destroy {
    fn drop(&mut self) {
        let _ = vagrant(&self.0, &["destroy", "-f"]);
    }
}

#[test]
fn the_main_job_reaches_a_verdict_on_vagrant_lxc_nodes_and_destroy_leaves_nothing() {
    let o = faultline(&["lab", "box", "--provider", "libvirt"]);
    assert_eq!(o.status.code(), Some(254), "libvirt is refused here: {}", text(&o));
    assert!(text(&o).contains("qemu-utils"), "with the reason: {}", text(&o));

    let o = faultline(&["lab", "box", "--provider", "lxc"]);
    assert!(o.status.success(), "lab box: {}", text(&o));
    let boxes = Command::new("vagrant").args(["box", "list"]).output().unwrap();
    assert!(text(&boxes).contains("faultline/bookworm-lxc"), "the box is added: {}", text(&boxes));

    let dot = std::env::temp_dir().join(format!("faultline-vagrant-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dot);
    let before = containers();
    let guard = Destroy(dot.clone());
    let up = vagrant(&dot, &["up", "--provider", "lxc"]);
    assert!(up.status.success(), "vagrant up: {}", text(&up));

    let nodes = Command::new(top().join("scripts/vagrant-nodes")).env("VAGRANT_DOTFILE_PATH", &dot).output().unwrap();
    assert!(nodes.status.success(), "vagrant-nodes: {}", text(&nodes));
    let file = dot.join("nodes.toml");
    std::fs::write(&file, &nodes.stdout).unwrap();
    let parsed = control::NodesFile::load(&file).unwrap();
    assert_eq!(parsed.nodes.iter().map(|n| n.name.as_str()).collect::<Vec<_>>(), ["n1", "n2", "n3"]);
    assert!(!parsed.capabilities.clock_skew && !parsed.capabilities.netem && parsed.capabilities.iptables, "a container's abilities: {parsed:?}");
    assert_eq!(parsed.host_key_check, control::HostKeyCheck::Strict, "host keys are checked");
    let keys = std::fs::read_to_string(dot.join("faultline_known_hosts")).unwrap();
    let distinct: std::collections::BTreeSet<&str> = keys.lines().filter_map(|l| l.split_whitespace().nth(2)).collect();
    assert_eq!(distinct.len(), 3, "each node has host keys of its own: {keys}");

    // the main job, with its default faults (partition, kill)
    let store = dot.join("store");
    let run = faultline(&["run", "--nodes-file", file.to_str().unwrap(), "--time-limit", "20", "--recovery-window", "10", "--store", store.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(0), "the run on the Vagrant nodes: {}", text(&run));

    drop(guard);
    let left: Vec<String> = containers().into_iter().filter(|c| !before.contains(c)).collect();
    assert!(left.is_empty(), "vagrant destroy left containers: {left:?}");
    let status = vagrant(&dot, &["status"]);
    assert!(text(&status).matches("not created").count() == 3, "{}", text(&status));
    let _ = std::fs::remove_dir_all(&dot);
}
