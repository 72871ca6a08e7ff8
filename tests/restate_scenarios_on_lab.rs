//! The Restate scenarios on the 3-node lab, each from one command: seals
//! from the first instant of a fresh start fail definitely until one
//! succeeds; appends keep flowing through repeated log reconfigurations,
//! with a stall measured per seal and log; a cold start timed per phase,
//! running the user's own binaries, whose version is recorded.

mod common;

use common::{faultline, lab};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn store(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("faultline-restate-scenarios-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))).unwrap()
}

/// `faultline run --scenario NAME args...`: (exit code, run directory).
fn scenario(name: &str, args: &[&str]) -> (i32, PathBuf) {
    lab();
    let s = store(name);
    let mut all = vec!["run", "--scenario", name, "--store", s.to_str().unwrap()];
    all.extend_from_slice(args);
    let o = faultline(&all);
    assert!(o.status.code().is_some_and(|c| c <= 1), "{name}: {}", String::from_utf8_lossy(&o.stderr));
    (o.status.code().unwrap_or(-1), PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
}

#[test]
fn restate_scenarios_measure_seals_stalls_and_start_up_on_the_users_build() {
    // 4. the seal from the first instant: refused definitely, never hung
    let (code, dir) = scenario("restate-seal-while-provisioning", &["--time-limit", "3", "--recovery-window", "1"]);
    assert_eq!(code, 0);
    let r = json(&dir.join("results.json"));
    let c = &r["checks"]["startup_faults"];
    assert_eq!(c["valid"], "valid", "{c}");
    let attempts = c["seals"][0]["attempts"].as_array().unwrap();
    let fails = attempts.iter().filter(|a| a["outcome"] == "fail").count();
    assert!(fails >= 1 && attempts.last().unwrap()["outcome"] == "ok", "{attempts:?}");
    assert!(attempts.iter().all(|a| a["outcome"] != "timeout" && a["took_s"].as_f64().unwrap() < 10.0), "{attempts:?}");
    assert!(c["seals"][0]["sealed_after_s"].as_f64().unwrap() > 0.0);
    // the sealed log was extended once the cluster was ready
    let facts = json(&dir.join("run.json"));
    let fs: Vec<&str> = facts["startup_faults"].as_array().unwrap().iter().filter_map(|f| f["f"].as_str()).collect();
    assert_eq!(fs, ["seal-log", "extend-log"]);

    // 5. appends through repeated reconfigurations: none lost, a stall per
    // seal and log, the chain in the report
    let (_, dir) = scenario("restate-append-during-reconfiguration", &["--time-limit", "12", "--recovery-window", "3"]);
    let r = json(&dir.join("results.json"));
    assert_eq!(r["checks"]["append"]["valid"], "valid", "no acknowledged append lost: {}", r["checks"]["append"]);
    let stalls = r["checks"]["reconfiguration"]["stalls"].as_array().unwrap();
    let seals =
        std::fs::read_to_string(dir.join("history.jsonl")).unwrap().lines().filter(|l| l.contains("\"invoke\"") && l.contains("\"reconfigure-log\"")).count();
    assert!(seals >= 2 && stalls.len() >= seals, "{seals} seals, {} stalls", stalls.len());
    assert!(stalls.iter().all(|s| s["stall_s"].as_f64().is_some()), "every stall ended: {stalls:?}");
    // each measured from the seal of the Restate log its key writes to, as
    // the node logs show it, within the reconfiguration
    assert!(stalls.iter().all(|s| s["system_log"].as_u64().is_some()), "every stall from its log's own seal: {stalls:?}");
    let report = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(report.contains("The log chain") && report.contains("stall after each seal"), "the report shows the chain and the stalls");

    // 3. a cold start timed per phase, on the user's own binaries
    let cache = systems::restate::cache_dir(systems::restate::VERSION).join("node_modules/@restatedev");
    let own = store("own-build");
    for (pkg, bin) in [("restate-server-linux-x64", "restate-server"), ("restatectl-linux-x64", "restatectl")] {
        std::fs::copy(cache.join(pkg).join("bin").join(bin), own.join(bin)).unwrap();
    }
    let server = format!("restate-server={}", own.join("restate-server").display());
    let ctl = format!("restatectl={}", own.join("restatectl").display());
    let (code, dir) = scenario("restate-cold-start", &["--binary", &server, "--binary", &ctl, "--time-limit", "3"]);
    assert_eq!(code, 0);
    let test = json(&dir.join("test.json"));
    assert_eq!(test["sut_version"].as_str(), Some(format!("restate-server {}", systems::restate::VERSION).as_str()));
    assert!(test["options"]["binaries"][0].as_str().unwrap().contains("own-build"), "{}", test["options"]);
    let facts = json(&dir.join("run.json"));
    let phases = facts["startup_phases"].as_array().unwrap();
    assert_eq!(phases.len(), 3, "{phases:?}");
    for p in phases {
        let names: Vec<&str> = p[1].as_array().unwrap().iter().filter_map(|x| x["name"].as_str()).collect();
        for phase in [
            "process start",
            "RocksDB open: metadata store",
            "RocksDB open: log store",
            "log server out of provisioning",
            "RocksDB open: partition store",
            "first partition led or caught up",
            "ready (an operation answered)",
        ] {
            assert!(names.contains(&phase), "{phase} in {p}");
        }
    }
    let index = std::fs::read_to_string(dir.parent().unwrap().parent().unwrap().join("index.html")).unwrap();
    assert!(index.contains("restate (restate-server 1.7.12)"), "the index shows the version that ran");
}
