//! `faultline run`'s refusals: what the options name is what runs, and a
//! misconfiguration exits 254 on every path (issue 22's bugs 11 and 13).
//! No lab: each case is refused before a node is reached. And `--stagger`
//! draws the schedule's spacing (on the in-memory system).

use std::path::PathBuf;
use std::process::{Command, Output};

fn faultline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_faultline")).args(args).output().unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("faultline-run-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A system file whose name is `memory`: a system on nodes like any other.
fn system_named_memory(dir: &std::path::Path) -> PathBuf {
    let f = dir.join("system.toml");
    std::fs::write(&f, "name = \"memory\"\n[[processes]]\nname = \"server\"\ncommand = \"true\"\n[[services]]\nname = \"client\"\ntcp = 7000\n[client]\ncommand = [\"true\"]\n").unwrap();
    f
}

#[test]
fn a_system_file_named_memory_runs_on_its_nodes_not_in_memory() {
    let dir = tmp("named-memory");
    let sys = system_named_memory(&dir);
    let missing = dir.join("no-such-nodes.toml");
    let store = dir.join("store");
    let o = faultline(&[
        "run",
        "--system",
        sys.to_str().unwrap(),
        "--nodes-file",
        missing.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
        "--time-limit",
        "1",
    ]);
    // it needs its nodes: the missing nodes file is named, nothing ran in memory
    assert_eq!(o.status.code(), Some(254), "{}", text(&o));
    assert!(text(&o).contains("no-such-nodes.toml"), "{}", text(&o));
    // the in-memory system's bugs are not a system file's
    let o = faultline(&["run", "--system", sys.to_str().unwrap(), "--bug", "lost-write", "--store", store.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(254), "{}", text(&o));
    assert!(text(&o).contains("--bug applies to --db memory only"), "{}", text(&o));
}

#[test]
fn until_confident_keeps_a_misconfiguration_a_misconfiguration() {
    let dir = tmp("confident");
    let missing = dir.join("no-such-nodes.toml");
    let store = dir.join("store");
    let o = faultline(&["run", "--db", "etcd", "--nodes-file", missing.to_str().unwrap(), "--store", store.to_str().unwrap(), "--until-confident"]);
    // 254 (fix the options), not 3 (infrastructure: retry)
    assert_eq!(o.status.code(), Some(254), "{}", text(&o));
    assert!(text(&o).contains("no-such-nodes.toml"), "{}", text(&o));
}

#[test]
fn a_plan_naming_a_node_outside_the_cluster_or_past_the_end_is_refused() {
    let dir = tmp("plan");
    let store = dir.join("store");
    for (plan, says) in [
        (r#"[{"at_ms": 500, "fault": {"f": "kill", "nodes": ["n9"]}}]"#, r#"step 1 (at_ms 500, kill): node "n9" is not in the cluster (n1, n2, n3)"#),
        (
            r#"[{"at_ms": 0, "fault": {"f": "pause", "nodes": ["n1"]}}, {"at_ms": 9000, "fault": {"f": "resume", "nodes": ["n1"]}}]"#,
            "step 2 (at_ms 9000, resume): after the time limit (1000 ms)",
        ),
    ] {
        let f = dir.join("plan.json");
        std::fs::write(&f, plan).unwrap();
        let o = faultline(&["run", "--db", "memory", "--fault-plan", f.to_str().unwrap(), "--time-limit", "1", "--store", store.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(254), "{}", text(&o));
        assert!(text(&o).contains(says), "{}", text(&o));
    }
}

#[test]
fn what_cannot_be_written_exits_3_not_255() {
    let dir = tmp("unwritable");
    let file = dir.join("a-file");
    std::fs::write(&file, "").unwrap();
    // a store under a regular file: the run directory cannot be made
    let store = file.join("store");
    let o = faultline(&["run", "--db", "memory", "--time-limit", "1", "--store", store.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains("a-file"), "{}", text(&o));
    // the store's index.html is a directory: the index cannot be written
    let store = dir.join("store");
    std::fs::create_dir_all(store.join("index.html")).unwrap();
    let o = faultline(&["index", store.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains("index.html"), "{}", text(&o));
    // check's report under a regular file
    let h = dir.join("h.edn");
    std::fs::write(&h, "{:process 0, :type :invoke, :f :write, :value 1}\n{:process 0, :type :ok, :f :write, :value 1}\n{:process 0, :type :invoke, :f :read, :value nil}\n{:process 0, :type :ok, :f :read, :value 1}\n").unwrap();
    let report = file.join("report.html");
    let o = faultline(&["check", "--report", report.to_str().unwrap(), h.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
}

#[test]
fn stagger_draws_each_interval_and_window_around_its_length() {
    let store = tmp("stagger");
    let gaps = |stagger: bool| -> Vec<u64> {
        // a fixed seed: the spread below is a property of these draws, not a chance
        let mut args =
            vec!["run", "--db", "memory", "--nemesis", "pause", "--interval", "2", "--fault-duration", "2", "--time-limit", "40", "--seed", "11", "--store"];
        args.push(store.to_str().unwrap());
        if stagger {
            args.push("--stagger");
        }
        let o = faultline(&args);
        let dir = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
        let facts: results::RunFacts = results::read(&dir.join("run.json")).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)));
        let at: Vec<u64> = facts.schedule.iter().filter_map(|s| s["at_ms"].as_u64()).collect();
        at.windows(2).map(|w| w[1] - w[0]).collect()
    };
    let exact = gaps(false);
    assert!(exact.len() >= 8 && exact.iter().all(|g| *g == 2000), "{exact:?}");
    let drawn = gaps(true);
    assert!(drawn.len() >= 8 && drawn.iter().all(|g| (1000..3000).contains(g)), "{drawn:?}");
    assert!(drawn.iter().any(|g| *g < 1500) && drawn.iter().any(|g| *g > 2500), "spread over the range: {drawn:?}");
}
