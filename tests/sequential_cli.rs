//! `faultline run --until-confident`: Wald's test on the in-memory system
//! stops as soon as the runs decide, below the threshold for the correct
//! system and above it for one that loses writes in every run.

use checker::sprt::Decision;
use checker::trends::Trends;
use std::path::Path;
use std::process::Command;

fn until_confident(store: &Path, args: &[&str]) -> (Option<i32>, Trends, String) {
    let _ = std::fs::remove_dir_all(store);
    let o = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(["run", "--db", "memory", "--workload", "set", "--store", store.to_str().unwrap(), "--until-confident", "--rate-threshold", "0.3"])
        .args(args)
        .output()
        .unwrap();
    let t: Trends = results::read(&store.join("memory-set/trends.json")).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)));
    (o.status.code(), t, String::from_utf8_lossy(&o.stdout).into_owned())
}

#[test]
fn the_sequential_test_stops_when_the_runs_decide() {
    let tmp = std::env::temp_dir().join(format!("faultline-sprt-{}", std::process::id()));
    // correct: every run passes; 4 clean runs decide "below 30%"
    let quick = ["--nemesis", "partition", "--time-limit", "1.5", "--recovery-window", "0.5", "--interval", "0.5", "--fault-duration", "0.5"];
    let (code, t, out) = until_confident(&tmp.join("ok"), &quick);
    assert_eq!(code, Some(0), "{out}");
    let s = t.sequential.expect("the decision is in trends.json");
    assert_eq!((s.decision, s.runs, s.violations, t.runs), (Decision::Below, 4, 0, 4));
    assert!(out.contains("sequential test: the violation rate is below 30.0% after 4 runs"), "{out}");
    // lost acknowledged adds in every run: 3 runs decide "above 30%"
    let plan = tmp.join("plan.json");
    std::fs::write(
        &plan,
        r#"[{"at_ms": 1000, "fault": {"f": "start-partition", "grudge": {"n3": ["n1", "n2"], "n1": ["n3"], "n2": ["n3"]}, "ports": []}},
            {"at_ms": 3000, "fault": {"f": "stop-partition"}}]"#,
    )
    .unwrap();
    // stale-read too: a cut-off node answers reads from its own copy, so
    // its processes keep adding (without it, reads there wait for the heal,
    // and when each of its processes happens to read at the cut, no add
    // reaches it and nothing is lost: a run that passes by chance)
    let lossy = [
        "--bug",
        "lost-write",
        "--bug",
        "stale-read",
        "--fault-plan",
        plan.to_str().unwrap(),
        "--time-limit",
        "3.5",
        "--recovery-window",
        "1",
        "--rate",
        "200",
        "--op-timeout",
        "0.5",
    ];
    let (code, t, out) = until_confident(&tmp.join("lossy"), &lossy);
    assert_eq!(code, Some(1), "{out}");
    let s = t.sequential.unwrap();
    assert_eq!((s.decision, s.runs, s.violations), (Decision::Above, 3, 3), "{out}");
    let _ = std::fs::remove_dir_all(tmp);
}
