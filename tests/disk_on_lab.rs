//! `lose-unsynced` on etcd on the lab: every node loses what it had not
//! fsynced at once (a coordinated power loss), twice, and restarts. etcd as
//! shipped (fsync on every commit) loses nothing and serves again; with
//! `--unsafe-no-fsync` (passed through `--db-arg`) its members come back
//! with empty logs and no peers and never serve again: the run is invalid.
//! Nothing of the page cache is left on the nodes after either run, and
//! `faultline heal` takes it away after a run killed while it served.

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

#[test]
fn heal_after_a_killed_run_unmounts_the_page_cache_and_leaves_the_data_usable() {
    lab();
    let cluster = Cluster::new(lab_nodes(), Options::default());
    let store = std::env::temp_dir().join(format!("faultline-disk-killed-{}", std::process::id()));
    std::fs::create_dir_all(&store).unwrap();
    // --page-cache: served through it with no fault at all
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(["run", "--db", "etcd", "--workload", "set", "--time-limit", "60", "--name", "killed", "--store", store.to_str().unwrap()])
        .args(["--nemesis", "none", "--page-cache"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // the workload runs on the page cache: some adds acknowledged
    let acknowledged = || {
        let runs = std::fs::read_dir(store.join("killed")).ok()?;
        let dir = runs.filter_map(|e| e.ok()).map(|e| e.path()).find(|p| p.join("history.jsonl").is_file())?;
        let text = std::fs::read_to_string(dir.join("history.jsonl")).ok()?;
        (text.matches("\"type\":\"ok\",\"f\":\"add\"").count() >= 20).then_some(())
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while acknowledged().is_none() {
        assert!(std::time::Instant::now() < deadline, "no acknowledged add within 120 s");
        assert!(child.try_wait().unwrap().is_none(), "the run ended before it was killed");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    child.kill().unwrap(); // SIGKILL: no teardown
    child.wait().unwrap();
    let before = nuclei::leftovers(&cluster);
    assert!(before.values().all(|l| l.mounts >= 1), "the killed run left its mounts: {before:?}");

    let o = faultline(&["heal"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("0 page cache mounts"), "{}", String::from_utf8_lossy(&o.stdout));
    nothing_left(&cluster);
    // the data directory is a plain directory again: it can be listed and written
    for (node, r) in cluster.run_all(&control::Cmd::script(
        "ls /var/lib/faultline/etcd >/dev/null && touch /var/lib/faultline/etcd/.probe && rm /var/lib/faultline/etcd/.probe && echo ok",
    )) {
        assert_eq!(r.map(|o| o.stdout.trim().to_string()).unwrap_or_else(|e| e.to_string()), "ok", "{node}");
    }
    let _ = std::fs::remove_dir_all(&store);
}
