//! `faultline shrink` on the in-memory system with a planted bug that
//! needs two faults in order, close together (`kill-after-heal`: a kill
//! within 2 s after a partition heals loses acknowledged adds), buried
//! among ten fault windows: the shrink finds the two-window plan.

use std::path::{Path, PathBuf};
use std::process::Command;

fn faultline(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_faultline")).args(args).output().unwrap()
}

/// Ten windows: kills and pauses first, the partition that the bug needs,
/// the kill 250 ms after its heal, more pauses, a decoy partition that no
/// kill follows.
const PLAN: &str = r#"[
 {"at_ms": 100, "fault": {"f": "kill", "nodes": ["n1"]}}, {"at_ms": 250, "fault": {"f": "start", "nodes": ["n1"]}},
 {"at_ms": 300, "fault": {"f": "pause", "nodes": ["n2"]}}, {"at_ms": 450, "fault": {"f": "resume", "nodes": ["n2"]}},
 {"at_ms": 500, "fault": {"f": "kill", "nodes": ["n3"]}}, {"at_ms": 650, "fault": {"f": "start", "nodes": ["n3"]}},
 {"at_ms": 700, "fault": {"f": "pause", "nodes": ["n1"]}}, {"at_ms": 850, "fault": {"f": "resume", "nodes": ["n1"]}},
 {"at_ms": 900, "fault": {"f": "start-partition", "grudge": {"n1": ["n2", "n3"], "n2": ["n1"], "n3": ["n1"]}, "ports": []}},
 {"at_ms": 1050, "fault": {"f": "stop-partition"}},
 {"at_ms": 1100, "fault": {"f": "pause", "nodes": ["n3"]}}, {"at_ms": 1250, "fault": {"f": "resume", "nodes": ["n3"]}},
 {"at_ms": 1300, "fault": {"f": "kill", "nodes": ["n2"]}}, {"at_ms": 1450, "fault": {"f": "start", "nodes": ["n2"]}},
 {"at_ms": 1500, "fault": {"f": "pause", "nodes": ["n2"]}}, {"at_ms": 1650, "fault": {"f": "resume", "nodes": ["n2"]}},
 {"at_ms": 3700, "fault": {"f": "start-partition", "grudge": {"n3": ["n1", "n2"], "n1": ["n3"], "n2": ["n3"]}, "ports": []}},
 {"at_ms": 3850, "fault": {"f": "stop-partition"}},
 {"at_ms": 3900, "fault": {"f": "pause", "nodes": ["n1"]}}, {"at_ms": 4050, "fault": {"f": "resume", "nodes": ["n1"]}}
]"#;

#[test]
fn shrink_finds_the_two_windows_a_planted_bug_needs_among_ten() {
    let tmp = std::env::temp_dir().join(format!("faultline-shrink-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    let plan = tmp.join("plan.json");
    std::fs::write(&plan, PLAN).unwrap();
    let store = tmp.join("store");
    let o = faultline(&[
        "run",
        "--db",
        "memory",
        "--workload",
        "set",
        "--bug",
        "kill-after-heal",
        "--fault-plan",
        plan.to_str().unwrap(),
        "--time-limit",
        "4.3",
        "--recovery-window",
        "0.5",
        "--store",
        store.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "the planted run fails: {}", String::from_utf8_lossy(&o.stderr));
    let run = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
    let o = faultline(&["shrink", run.to_str().unwrap(), "--runs-per-candidate", "1", "--final-runs", "2", "--budget", "6m"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "the final plan still fails: {out}\n{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.contains("shrink: 10 windows -> 2"), "{out}");
    let shrink = run.join("shrink");
    let steps: Vec<serde_json::Value> = serde_json::from_str(&std::fs::read_to_string(shrink.join("plan.json")).unwrap()).unwrap();
    let fs: Vec<&str> = steps.iter().map(|s| s["fault"]["f"].as_str().unwrap()).collect();
    assert_eq!(fs, ["start-partition", "stop-partition", "kill", "start"], "the partition, then the kill: {steps:?}");
    let heal = steps[1]["at_ms"].as_u64().unwrap();
    let kill = steps[2]["at_ms"].as_u64().unwrap();
    assert!(kill > heal && kill - heal < 2000, "the kill within 2 s of the heal: {heal} {kill}");
    let rec: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(shrink.join("shrink.json")).unwrap()).unwrap();
    assert_eq!(rec["failure"], serde_json::json!(["set"]));
    assert!(rec["candidates"].as_array().unwrap().iter().any(|c| c["phase"] == "windows" && c["kept"] == true));
    assert!(std::fs::read_to_string(shrink.join("shrink.html")).unwrap().contains("Final plan"));
    assert!(out.contains("--fault-plan") && out.contains("--bug kill-after-heal"), "the command that reproduces it: {out}");
    // a run that did not fail has nothing to shrink
    let o = faultline(&[
        "run",
        "--db",
        "memory",
        "--workload",
        "set",
        "--nemesis",
        "none",
        "--time-limit",
        "1",
        "--recovery-window",
        "0",
        "--store",
        store.to_str().unwrap(),
    ]);
    let ok = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
    let o = faultline(&["shrink", ok.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(254));
    assert!(String::from_utf8_lossy(&o.stderr).contains("did not fail: nothing to shrink"));
    assert_eq!(faultline(&["shrink", Path::new("/nonexistent").to_str().unwrap()]).status.code(), Some(254));
    let _ = std::fs::remove_dir_all(tmp);
}

/// Ctrl-C during a shrink (issue 22's bug 1): no candidate runs after it,
/// none is counted from an interrupted replay, and what is written is the
/// best plan found before it, marked interrupted.
#[test]
fn shrink_stops_at_ctrl_c_and_keeps_the_best_plan_so_far() {
    use std::time::{Duration, Instant};
    let tmp = std::env::temp_dir().join(format!("faultline-shrink-int-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    let plan = tmp.join("plan.json");
    std::fs::write(
        &plan,
        r#"[{"at_ms": 300, "fault": {"f": "pause", "nodes": ["n1"]}}, {"at_ms": 600, "fault": {"f": "resume", "nodes": ["n1"]}},
            {"at_ms": 1000, "fault": {"f": "start-partition", "grudge": {"n3": ["n1", "n2"], "n1": ["n3"], "n2": ["n3"]}, "ports": []}},
            {"at_ms": 4000, "fault": {"f": "stop-partition"}}]"#,
    )
    .unwrap();
    let store = tmp.join("store");
    // stale reads too: a process on the cut-off node is never held in a
    // read for the whole window, so it adds there and the adds are lost
    // (with lost-write alone, one seed in many left n3's one process
    // waiting in a read and the planted run valid)
    let args = ["run", "--db", "memory", "--workload", "set", "--bug", "lost-write", "--bug", "stale-read", "--time-limit", "5", "--recovery-window", "0.5"];
    let o = faultline(&[&args[..], &["--fault-plan", plan.to_str().unwrap(), "--store", store.to_str().unwrap()]].concat());
    assert_eq!(o.status.code(), Some(1), "the planted run fails: {}", String::from_utf8_lossy(&o.stderr));
    let run = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
    let mut child = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(["shrink", run.to_str().unwrap(), "--runs-per-candidate", "1", "--final-runs", "5"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // the first candidate's replay has its load going
    let replays = run.join("shrink/store/candidate");
    let started =
        |dir: &Path| std::fs::read_dir(dir).map(|d| d.filter_map(Result::ok).filter(|e| e.path().join("history.jsonl").exists()).count()).unwrap_or(0);
    let has_ops = |dir: &Path| {
        std::fs::read_dir(dir).is_ok_and(|d| {
            d.filter_map(Result::ok).any(|e| std::fs::read_to_string(e.path().join("history.jsonl")).is_ok_and(|t| t.contains("\"type\":\"invoke\"")))
        })
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while !has_ops(&replays) {
        assert!(Instant::now() < deadline, "no candidate was replayed");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap().success());
    let deadline = Instant::now() + Duration::from_secs(60);
    let code = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s.code();
        }
        assert!(Instant::now() < deadline, "shrink went on after Ctrl-C");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(code, Some(2), "interrupted: the plan's rate is not known");
    let shrink = run.join("shrink");
    let rec: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(shrink.join("shrink.json")).unwrap()).unwrap();
    assert_eq!(rec["interrupted"], true, "{rec}");
    let counted = rec["candidates"].as_array().unwrap().len();
    // the interrupted replay is not counted, and none started after it
    assert_eq!(started(&replays), counted + 1, "{rec}");
    assert_eq!(rec["final_runs"], 0, "{rec}");
    let steps: Vec<serde_json::Value> = serde_json::from_str(&std::fs::read_to_string(shrink.join("plan.json")).unwrap()).unwrap();
    assert!(steps.iter().any(|s| s["fault"]["f"] == "start-partition"), "the best plan so far still holds the partition the failure needs: {steps:?}");
    assert!(std::fs::read_to_string(shrink.join("shrink.html")).unwrap().contains("interrupted"));
}
