//! `faultline lab`: up is idempotent and resizes, down removes every node
//! and undoes every host change.

mod common;

use common::faultline;

fn sh(cmd: &str) -> String {
    let o = std::process::Command::new("sh").arg("-c").arg(cmd).output().unwrap();
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn ip_forward() -> String {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap().trim().to_string()
}

fn lab_nodes_present() -> Vec<String> {
    sh("lxc-ls -P /var/lib/faultline/lxc -1 2>/dev/null").split_whitespace().filter(|n| n.starts_with('n')).map(String::from).collect()
}

fn ok(args: &[&str]) -> String {
    let o = faultline(args);
    assert!(o.status.success(), "faultline {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
}

#[test]
fn up_resize_and_down_leave_the_host_as_it_was() {
    ok(&["lab", "down"]);
    let before = (ip_forward(), sh("ip -br link"), sh("iptables-save | grep -v '^#' | grep -v '^:'"));
    assert!(!before.1.contains("flbr0"));

    let out = ok(&["lab", "up", "--nodes", "3"]);
    assert!(out.contains("/var/lib/faultline/lab/nodes.toml"), "{out}");
    for n in ["n1", "n2", "n3"] {
        assert_eq!(ok(&["lab", "ssh", n, "hostname"]).trim(), n);
    }
    assert_eq!(ok(&["lab", "ssh", "n1", "getent", "hosts", "n3"]).split_whitespace().next(), Some("10.77.0.13"));
    assert_eq!(ip_forward(), "1");
    // a second up finds the running nodes
    assert!(ok(&["lab", "up", "--nodes", "3"]).contains("base reused"));
    // fewer nodes: the extra one goes
    ok(&["lab", "up", "--nodes", "2"]);
    assert_eq!(lab_nodes_present(), ["n1", "n2"]);
    let status = ok(&["lab", "status"]);
    assert!(status.contains("bridge flbr0: up") && status.contains("n2"), "{status}");
    assert_eq!(faultline(&["lab", "ssh", "n3", "true"]).status.code(), Some(254));

    ok(&["lab", "down"]);
    let after = (ip_forward(), sh("ip -br link"), sh("iptables-save | grep -v '^#' | grep -v '^:'"));
    assert_eq!(after, before, "the host differs after lab down");
    assert!(lab_nodes_present().is_empty());
    assert!(!sh("iptables-save").contains("faultline-lab"));
    assert_eq!(faultline(&["lab", "ssh", "n1", "true"]).status.code(), Some(3));
}

#[test]
fn bad_lab_arguments_exit_254() {
    let o = faultline(&["lab", "up", "--nodes", "0"]);
    assert_eq!(o.status.code(), Some(254));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--nodes must be between 1 and"));
    assert_eq!(faultline(&["lab", "up", "--backend", "cloud"]).status.code(), Some(254));
    assert_eq!(faultline(&["lab", "frob"]).status.code(), Some(254));
}
