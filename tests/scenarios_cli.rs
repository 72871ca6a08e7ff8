//! `faultline scenarios` and `run --scenario`, `--version`, `--binary`:
//! listed, printed, run (on the in-memory system, flags overriding the
//! scenario), and every bad input refused with exit 254 and a message
//! naming what is wrong. No lab.

use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};

fn faultline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_faultline")).args(args).output().unwrap()
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("faultline-scenarios-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn refused(args: &[&str], says: &[&str]) {
    let o = faultline(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(254), "{args:?}: {err}");
    for s in says {
        assert!(err.contains(s), "{args:?}: {err:?} does not say {s:?}");
    }
}

#[test]
fn the_five_scenarios_are_listed_printed_and_copied_files_run() {
    let o = faultline(&["scenarios"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0));
    for n in
        ["restate-crash-restart", "restate-partition-heal", "restate-cold-start", "restate-seal-while-provisioning", "restate-append-during-reconfiguration"]
    {
        assert!(out.contains(n), "{n} missing: {out}");
    }
    // printed to copy and edit: the copy runs, with the flags overriding it
    let d = scratch("copy");
    let o = faultline(&["scenarios", "restate-crash-restart"]);
    let text = String::from_utf8_lossy(&o.stdout).replace("time_limit = 20.0", "time_limit = 3.0");
    let copy = d.join("mine.toml");
    std::fs::write(&copy, text).unwrap();
    let store = d.join("store");
    let o = faultline(&["run", "--scenario", copy.to_str().unwrap(), "--db", "memory", "--recovery-window", "1", "--store", store.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let dir = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
    assert!(dir.starts_with(store.join("mine")), "the run is named after the scenario: {}", dir.display());
    let test: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("test.json")).unwrap()).unwrap();
    let opts = &test["options"];
    assert_eq!((opts["db"].as_str(), opts["time_limit"].as_f64(), opts["recovery_window"].as_f64()), (Some("memory"), Some(3.0), Some(1.0)));
    assert_eq!(opts["nemesis"], serde_json::json!(["kill"]));
    assert_eq!(opts["slo"], serde_json::json!(["restart=10s"]));
    assert_eq!(opts["scenario"].as_str(), copy.to_str());
    let results: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    assert!(results["checks"]["recovery"]["windows"].as_array().is_some_and(|w| !w.is_empty()), "kill windows ran");
}

#[test]
fn bad_scenarios_versions_and_binaries_are_refused_by_name() {
    let d = scratch("bad");
    refused(&["scenarios", "restate-nope"], &["no scenario", "restate-crash-restart"]);
    refused(&["run", "--scenario", "restate-nope"], &["no scenario \"restate-nope\""]);
    let typo = d.join("typo.toml");
    std::fs::write(&typo, "description = \"x\"\n[run]\ndb = \"memory\"\nnemesiss = [\"kill\"]\n").unwrap();
    refused(&["run", "--scenario", typo.to_str().unwrap()], &["typo.toml", "nemesiss"]);
    let plan = d.join("plan.toml");
    std::fs::write(&plan, "description = \"x\"\n[run]\ndb = \"memory\"\n[[run.plan]]\nat_ms = 10\nfault = { f = \"seal-lgo\", logs = [] }\n").unwrap();
    refused(&["run", "--scenario", plan.to_str().unwrap()], &["plan.toml", "step 1", "has no fault \"seal-lgo\""]);
    // a fault of a system's own, in a plan for a system without it
    std::fs::write(&plan, "description = \"x\"\n[run]\ndb = \"etcd\"\n[[run.plan]]\nat_ms = 10\nfault = { f = \"seal-log\", logs = [] }\n").unwrap();
    refused(&["run", "--scenario", plan.to_str().unwrap()], &["plan.toml", "etcd has no fault \"seal-log\""]);
    refused(&["run", "--scenario", "restate-cold-start", "--config", typo.to_str().unwrap()], &["cannot be used with"]);
    // a fault of a real system's own, asked of the in-memory one
    refused(&["run", "--db", "memory", "--nemesis", "reconfigure-log", "--time-limit", "2"], &["unknown fault \"reconfigure-log\" in --nemesis for memory"]);
    // --version and --binary: what each system takes
    refused(&["run", "--db", "etcd", "--version", "3.5.0", "--time-limit", "1"], &["Debian package", "--binary etcd=PATH"]);
    refused(&["run", "--db", "restate", "--version", "latest; rm -rf /", "--time-limit", "1"], &["not a release number"]);
    refused(&["run", "--db", "restate", "--binary", "etcd=/bin/true", "--time-limit", "1"], &["restate takes restate-server, restatectl"]);
    refused(&["run", "--db", "restate", "--binary", "restate-server=/no/such/file", "--time-limit", "1"], &["/no/such/file: no such file"]);
    refused(&["run", "--db", "restate", "--binary", "restate-server", "--time-limit", "1"], &["expected NAME=PATH"]);
    refused(&["run", "--db", "memory", "--version", "1.0", "--time-limit", "1"], &["built-in systems"]);
}
