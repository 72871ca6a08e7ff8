//! `faultline lab`: up is idempotent and resizes, clusters of their own
//! come and go beside the lab's, down removes every node and undoes every
//! host change.

mod common;

use common::faultline;

fn sh(cmd: &str) -> String {
    let o = std::process::Command::new("sh").arg("-c").arg(cmd).output().unwrap();
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn ip_forward() -> String {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap().trim().to_string()
}

/// The host's iptables rules, without the empty tables' headers: on a new
/// machine iptables is not there before the first `lab up` installs it,
/// and an installed one lists its empty tables.
fn rules() -> String {
    sh("iptables-save 2>/dev/null | grep -v '^#' | grep -v '^:' | grep -v '^[*]' | grep -v '^COMMIT'")
}

fn lab_nodes_present() -> Vec<String> {
    sh("lxc-ls -P /var/lib/faultline/lxc -1 2>/dev/null").split_whitespace().filter(|n| n.starts_with('n')).map(String::from).collect()
}

/// faultline in cluster `k` of the lab (`FAULTLINE_LAB_CLUSTER`).
fn in_cluster(k: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_faultline")).args(args).env("FAULTLINE_LAB_CLUSTER", k).output().unwrap()
}

fn ok_in(k: &str, args: &[&str]) -> String {
    let o = in_cluster(k, args);
    assert!(o.status.success(), "FAULTLINE_LAB_CLUSTER={k} faultline {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
}

fn ok(args: &[&str]) -> String {
    let o = faultline(args);
    assert!(o.status.success(), "faultline {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
}

#[test]
fn up_resize_and_down_leave_the_host_as_it_was() {
    ok(&["lab", "down"]);
    let before = (ip_forward(), sh("ip -br link"), rules());
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

    // a cluster of its own beside the lab's: nodes n1..n2 with its own
    // addresses, hostnames, /etc/hosts and nodes file
    let out = ok_in("1", &["lab", "up", "--nodes", "2"]);
    assert!(out.contains("/var/lib/faultline/lab/c1/nodes.toml"), "{out}");
    assert_eq!(ok_in("1", &["lab", "ssh", "n2", "hostname"]).trim(), "n2");
    assert_eq!(ok_in("1", &["lab", "ssh", "n2", "getent", "hosts", "n1"]).split_whitespace().next(), Some("10.77.0.101"));
    assert!(ok_in("1", &["lab", "ssh", "n1", "--", "hostname", "-I"]).contains("10.77.0.101"));
    assert!(ok(&["lab", "ssh", "n1", "--", "hostname", "-I"]).contains("10.77.0.11"), "the lab's own n1 is another node");
    // taking the cluster down leaves the lab's own nodes up
    ok_in("1", &["lab", "down"]);
    assert!(sh("lxc-ls -P /var/lib/faultline/lxc-c1 -1 2>/dev/null").trim().is_empty());
    assert_eq!(in_cluster("1", &["lab", "ssh", "n1", "true"]).status.code(), Some(3), "cluster 1 is down");
    assert_eq!(ok(&["lab", "ssh", "n2", "hostname"]).trim(), "n2");
    // the lab's own down takes every cluster with it
    ok_in("2", &["lab", "up", "--nodes", "1"]);

    ok(&["lab", "down"]);
    assert!(sh("lxc-ls -P /var/lib/faultline/lxc-c2 -1 2>/dev/null").trim().is_empty(), "cluster 2 went with the lab");
    let after = (ip_forward(), sh("ip -br link"), rules());
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
    for bad in ["16", "x"] {
        let o = in_cluster(bad, &["lab", "up"]);
        assert_eq!(o.status.code(), Some(254), "FAULTLINE_LAB_CLUSTER={bad}");
        assert!(String::from_utf8_lossy(&o.stderr).contains(&format!("FAULTLINE_LAB_CLUSTER=\"{bad}\"")), "{}", String::from_utf8_lossy(&o.stderr));
    }
}
