//! Membership changes on etcd on the lab: a member removed and added back,
//! one replaced (removed, wiped, added as a new member), as a plan (with
//! partitions and kills too: `scripts/measure-membership`); etcd stays
//! linearizable, the history holds each
//! view of the membership as etcd reported it, and each add is a window
//! whose recovery is measured. A member left out at the end of the
//! workload is added back by the final heal (seen with `--keep`), and one
//! left out by a killed run by `faultline heal --db etcd`. The
//! same plan on ZooKeeper, through its system file's `[membership]`
//! (dynamic reconfiguration).

mod common;

use common::{faultline, lab, lab_nodes, topology};
use control::{Cluster, Options};
use serde_json::Value;
use std::path::{Path, PathBuf};
use systems::etcd::Etcd;
use systems::Db;

/// (etcd refuses to remove a member until the members that stay have been
/// connected for 5 s: "etcdserver: unhealthy cluster"; the first change,
/// and the change after an add, wait that.)
const PLAN: &str = r#"[
  {"at_ms": 6000, "fault": {"f": "remove-member", "nodes": ["n1"]}},
  {"at_ms": 10000, "fault": {"f": "add-member", "nodes": ["n1"]}},
  {"at_ms": 17000, "fault": {"f": "replace-member", "nodes": ["n2"]}},
  {"at_ms": 21000, "fault": {"f": "add-member", "nodes": ["n2"]}}
]"#;

/// The tests share the lab's cluster: one at a time.
static LAB: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// `faultline run` of the register workload with `plan` (`extra` names
/// the system): exit code, run directory.
fn run(store: &Path, plan: &str, time_limit: &str, extra: &[&str]) -> (i32, PathBuf) {
    let file = store.join("plan.json");
    std::fs::write(&file, plan).unwrap();
    let mut args = vec!["run", "--workload", "register", "--time-limit", time_limit, "--recovery-window", "8", "--store", store.to_str().unwrap()];
    args.extend(["--fault-plan", file.to_str().unwrap()]);
    args.extend_from_slice(extra);
    let o = faultline(&args);
    (o.status.code().unwrap_or(-1), PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
}

/// Each membership op that completed: its f, the members before and after.
fn views(dir: &Path) -> Vec<(String, Value, Value)> {
    std::fs::read_to_string(dir.join("history.jsonl"))
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["type"] == "info" && v["f"].as_str().is_some_and(|f| f.ends_with("-member")))
        .map(|v| (v["f"].as_str().unwrap().to_string(), v["value"]["members_before"].clone(), v["value"]["members_after"].clone()))
        .collect()
}

#[test]
fn etcd_members_removed_replaced_and_added_back_stay_linearizable_and_the_heal_restores_the_membership() {
    let _l = LAB.lock().unwrap_or_else(|e| e.into_inner());
    lab();
    let store = std::env::temp_dir().join(format!("faultline-membership-{}", std::process::id()));
    std::fs::create_dir_all(&store).unwrap();
    // two of three out at once would lose etcd's quorum: refused before the run
    let losing = r#"[{"at_ms": 6000, "fault": {"f": "remove-member", "nodes": ["n1"]}},
 {"at_ms": 7000, "fault": {"f": "remove-member", "nodes": ["n2"]}}]"#;
    std::fs::write(store.join("losing.json"), losing).unwrap();
    let refused = faultline(&[
        "run",
        "--db",
        "etcd",
        "--workload",
        "register",
        "--fault-plan",
        store.join("losing.json").to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(254), "{err}");
    assert!(err.contains("step 2 (at_ms 7000, remove-member): leaves 1 of 3 nodes members"), "{err}");

    let (code, dir) = run(&store, PLAN, "25", &["--db", "etcd"]);
    assert_views(code, &dir);

    // n3 taken out and never added back by the plan: the final heal adds it
    let left_out = r#"[{"at_ms": 6000, "fault": {"f": "remove-member", "nodes": ["n3"]}}]"#;
    let (code, dir) = run(&store, left_out, "9", &["--db", "etcd", "--keep"]);
    assert!(matches!(code, 0 | 2), "{code}: {}", dir.display());
    let cluster = Cluster::new(lab_nodes(), Options::default());
    let topo = topology(&cluster);
    let db = Etcd::default();
    let membership = db.as_membership().unwrap();
    let members = membership.members(&cluster.clients()[0], &topo);
    // a killed run's leftover: n3 out of the membership; `faultline heal
    // --db etcd` adds it back (etcd refuses a change until the members are
    // connected for 5 s: asked again until it takes it)
    let (c, t0) = (cluster.clients(), std::time::Instant::now());
    let removed = loop {
        match membership.remove(&c[0], &c[2], &topo) {
            Err(e) if e.to_string().contains("unhealthy") && t0.elapsed().as_secs() < 30 => std::thread::sleep(std::time::Duration::from_millis(500)),
            r => break r,
        }
    };
    let healed = faultline(&["heal", "--db", "etcd"]);
    let after_heal = membership.members(&c[0], &topo);
    for n in cluster.clients() {
        db.teardown(n).unwrap();
    }
    assert_eq!(members.unwrap(), ["n1", "n2", "n3"], "the original membership after the final heal");
    removed.unwrap();
    let out = String::from_utf8_lossy(&healed.stdout);
    assert_eq!(healed.status.code(), Some(0), "{out}{}", String::from_utf8_lossy(&healed.stderr));
    assert!(out.contains("n3: added back to etcd's membership (members were n1, n2)"), "{out}");
    assert_eq!(after_heal.unwrap(), ["n1", "n2", "n3"], "the original membership after `faultline heal`");
}

#[test]
fn zookeeper_members_removed_replaced_and_added_back_through_its_system_file() {
    let _l = LAB.lock().unwrap_or_else(|e| e.into_inner());
    lab();
    let store = std::env::temp_dir().join(format!("faultline-membership-zk-{}", std::process::id()));
    std::fs::create_dir_all(&store).unwrap();
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("systems/zookeeper/system.toml");
    let (code, dir) = run(&store, PLAN, "25", &["--system", file.to_str().unwrap(), "--client-env", "FAULTLINE_ZK_SYNC=1"]);
    assert_views(code, &dir);
}

/// The run was valid, recorded each view of the membership as the plan
/// changed it, and every window (each add) recovered.
fn assert_views(code: i32, dir: &Path) {
    let results: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    assert_eq!(code, 0, "{}: {}", dir.display(), results["summary"]);
    let all = serde_json::json!(["n1", "n2", "n3"]);
    let v = views(dir);
    let want = [
        ("remove-member", all.clone(), serde_json::json!(["n2", "n3"])),
        ("add-member", serde_json::json!(["n2", "n3"]), all.clone()),
        ("replace-member", all.clone(), serde_json::json!(["n1", "n3"])),
        ("add-member", serde_json::json!(["n1", "n3"]), all.clone()),
    ];
    assert_eq!(v, want.map(|(f, a, b)| (f.to_string(), a, b)), "{}", dir.display());
    let rec = &results["checks"]["recovery"];
    let windows = rec["windows"].as_array().unwrap();
    assert_eq!(windows.len(), 2, "two membership windows: {rec}");
    for r in rec["recoveries"].as_array().unwrap() {
        assert_eq!(r["pass"], true, "each add and the heal recovered within the SLO: {r}");
    }
}
