//! `lose-unsynced` on etcd on the lab: every node loses what it had not
//! fsynced at once (a coordinated power loss), twice, and restarts. etcd as
//! shipped (fsync on every commit) loses nothing and serves again; with
//! `--unsafe-no-fsync` (passed through `--db-arg`) its members come back
//! with empty logs and no peers and never serve again: the run is invalid.
//! Nothing of the page cache is left on the nodes after either run.

mod common;

use common::{faultline, lab, lab_nodes};
use control::{Cluster, Options};
use serde_json::Value;
use std::path::{Path, PathBuf};

const PLAN: &str = r#"[
  {"at_ms": 4000, "fault": {"f": "lose-unsynced", "nodes": ["n1", "n2", "n3"]}},
  {"at_ms": 6000, "fault": {"f": "restart", "nodes": ["n1", "n2", "n3"]}},
  {"at_ms": 11000, "fault": {"f": "lose-unsynced", "nodes": ["n1", "n2", "n3"]}},
  {"at_ms": 13000, "fault": {"f": "restart", "nodes": ["n1", "n2", "n3"]}}
]"#;

fn json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))).unwrap()
}

/// `faultline run` of the set workload on etcd with the plan: exit code, run directory.
fn run(store: &Path, extra: &[&str]) -> (i32, PathBuf) {
    let plan = store.join("plan.json");
    std::fs::write(&plan, PLAN).unwrap();
    let mut args = vec!["run", "--db", "etcd", "--workload", "set", "--time-limit", "18", "--recovery-window", "6", "--store", store.to_str().unwrap()];
    args.extend(["--fault-plan", plan.to_str().unwrap()]);
    args.extend_from_slice(extra);
    let o = faultline(&args);
    (o.status.code().unwrap_or(-1), PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
}

/// Each lose-unsynced op of the history: the nodes it reached.
fn losses(dir: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(dir.join("history.jsonl")).unwrap();
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["f"] == "lose-unsynced" && v["type"] == "info")
        .map(|v| v["value"]["at"].clone())
        .collect()
}

fn nothing_left(cluster: &Cluster) {
    for (node, r) in cluster.run_all(&nuclei::disk::count_mounts()) {
        assert_eq!(r.unwrap().stdout.trim(), "0", "{node}: a page cache mount left after the run");
    }
    for (node, r) in cluster.run_all(&control::Cmd::script("pgrep -c -f '^/opt/faultline/bin/faultline-pagecache ' || true")) {
        assert_eq!(r.unwrap().stdout.trim(), "0", "{node}: a page cache process left after the run");
    }
}

#[test]
fn etcd_loses_nothing_synced_and_without_fsync_never_serves_again() {
    lab();
    let cluster = Cluster::new(lab_nodes(), Options::default());
    let store = std::env::temp_dir().join(format!("faultline-disk-{}", std::process::id()));
    std::fs::create_dir_all(&store).unwrap();

    let (code, dir) = run(&store, &[]);
    let results = json(&dir.join("results.json"));
    assert_eq!(code, 0, "etcd as shipped: {}", results["checks"]);
    assert_eq!(results["checks"]["set"]["valid"], "valid");
    assert!(results["checks"]["set"]["acknowledged"].as_u64().unwrap() > 100, "{}", results["checks"]["set"]);
    let lost = losses(&dir);
    assert_eq!(lost.len(), 2, "both power losses applied on every node: {lost:?}");
    assert!(lost.iter().all(|at| at.as_object().is_some_and(|m| m.len() == 3)), "{lost:?}");
    nothing_left(&cluster);

    let (code, dir) = run(&store, &["--db-arg=--unsafe-no-fsync"]);
    let test = json(&dir.join("test.json"));
    assert_eq!(test["options"]["db_args"], serde_json::json!(["--unsafe-no-fsync"]), "the argument is recorded");
    let results = json(&dir.join("results.json"));
    assert_eq!(code, 1, "without fsync: {}", results["checks"]);
    let recoveries = results["checks"]["recovery"]["recoveries"].as_array().unwrap();
    assert!(recoveries.iter().all(|r| r["outcome"] == "not-recovered"), "no member serves again: {recoveries:?}");
    let log = std::fs::read_to_string(dir.join("nodes/n1/etcd.log")).unwrap();
    assert!(log.contains("lastindex: 0"), "n1 restarted with an empty log");
    nothing_left(&cluster);
    let _ = std::fs::remove_dir_all(&store);
}
