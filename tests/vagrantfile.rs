//! The top-level Vagrantfile is valid for any node count (checked with
//! Debian's `vagrant validate`; no box or provider needed).

use std::process::Command;

fn validate(nodes: &str) -> (bool, String) {
    let o = Command::new("vagrant")
        .args(["validate", "--ignore-provider"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("FAULTLINE_NODES", nodes)
        .output()
        .expect("vagrant is installed by scripts/test (Debian package vagrant)");
    (o.status.success(), String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr))
}

#[test]
fn the_vagrantfile_validates_with_three_and_five_nodes() {
    for (n, last) in [("3", "n3"), ("5", "n5")] {
        let (ok, out) = validate(n);
        assert!(ok && out.contains("validated successfully"), "{out}");
        assert!(out.contains(&format!("==> {last}:")), "{out}");
    }
}

#[test]
fn a_bad_node_count_fails_validation() {
    let (ok, out) = validate("three");
    assert!(!ok, "{out}");
}
