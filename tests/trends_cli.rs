//! `faultline trends` over stored runs: percentiles per service and the
//! SLO violation rate with its Wilson interval; JUnit XML for CI.

mod common;

use checker::recovery::{Outcome, Recovery, RecoveryResult, Timeline};
use common::faultline;
use results::{RunResults, TestRecord, Verdict};

/// One recovery measurement of `service` (`None`: never recovered).
fn recovery(service: &str, recovered_s: Option<f64>) -> Recovery {
    let outcome = if recovered_s.is_some() { Outcome::Recovered } else { Outcome::NotRecovered };
    Recovery {
        window: 0,
        fault: "partition".into(),
        start_s: 1.0,
        healed_at_s: 2.0,
        node: "n1".into(),
        service: service.into(),
        first_success_s: recovered_s,
        recovered_s,
        observed_s: 30.0,
        pass: recovered_s.is_some(),
        outcome,
        slo_s: 20.0,
    }
}

#[test]
fn trends_of_stored_runs_give_exact_percentiles_and_interval() {
    let store = std::env::temp_dir().join(format!("faultline-trends-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&store);
    for i in 1..=20u32 {
        let dir = store.join("nightly").join(format!("20260101T0000{i:02}"));
        std::fs::create_dir_all(&dir).unwrap();
        results::write(&dir.join("test.json"), &TestRecord { name: "nightly".into(), ..TestRecord::default() }).unwrap();
        // run 20 violates: its ingress never recovers
        let ingress = if i == 20 { None } else { Some(0.5) };
        let valid = if i == 20 { Verdict::Invalid } else { Verdict::Valid };
        let recoveries = vec![recovery("client", Some(i as f64)), recovery("ingress", ingress)];
        let rec = RecoveryResult { valid, windows: vec![], recoveries, worst_s: None, timeline: Timeline { bucket_s: 1.0, series: Default::default() } };
        let mut r = RunResults { version: results::RESULTS_VERSION, valid, ..RunResults::default() };
        r.checks.recovery = Some(rec);
        results::write(&dir.join("results.json"), &r).unwrap();
    }
    let o = faultline(&["trends", store.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("20 runs: 1 violating an SLO or a check, 19 passed, 0 undecided; 0 infrastructure failures and 0 interrupted"), "{out}");
    assert!(out.contains("violation rate 5.0% (95% Wilson interval 0.9%..23.6%); 1 of 20: the rate is below 21.6% with 95% confidence"), "{out}");
    assert!(out.contains("client: recovery p50 10.00 s, p95 19.00 s, p99 20.00 s, max 20.00 s over 20 windows; never recovered: 0"), "{out}");
    assert!(out.contains("ingress: recovery p50 0.50 s") && out.contains("never recovered: 1"), "{out}");
    let t: checker::trends::Trends = results::read(&store.join("trends.json")).unwrap();
    assert_eq!((t.runs, t.violations), (20, 1));
    let xml = std::fs::read_to_string(store.join("trends.xml")).unwrap();
    assert!(xml.contains("tests=\"3\" failures=\"2\"") && xml.contains("1 of 20 runs"), "{xml}");
    assert_eq!(faultline(&["trends", "/nonexistent"]).status.code(), Some(254));
}

#[test]
fn infrastructure_failures_and_killed_testers_are_counted_apart_from_violations() {
    let store = std::env::temp_dir().join(format!("faultline-trends-apart-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&store);
    let run = |i: u32| {
        let dir = store.join("nightly").join(format!("20260102T0000{i:02}"));
        std::fs::create_dir_all(&dir).unwrap();
        results::write(&dir.join("test.json"), &TestRecord { name: "nightly".into(), ..TestRecord::default() }).unwrap();
        dir
    };
    for i in 1..=20 {
        let r = RunResults { version: results::RESULTS_VERSION, valid: Verdict::Valid, ..RunResults::default() };
        results::write(&run(i).join("results.json"), &r).unwrap();
    }
    // nodes without iptables: unknown, an infrastructure failure
    let mut r = RunResults { version: results::RESULTS_VERSION, valid: Verdict::Unknown, ..RunResults::default() };
    r.facts.infrastructure_error = Some("n2: iptables: command not found".into());
    results::write(&run(21).join("results.json"), &r).unwrap();
    // a tester killed mid-run: test.json, no results
    run(22);
    let o = faultline(&["trends", store.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("22 runs: 0 violating an SLO or a check, 20 passed, 0 undecided; 1 infrastructure failures and 1 interrupted, not counted"), "{out}");
    assert!(out.contains("0 of 20: the rate is below 13.9% with 95% confidence; ruling out 5.0% needs 39 more runs without a violation (59 in all)"), "{out}");
    let t: checker::trends::Trends = results::read(&store.join("trends.json")).unwrap();
    assert_eq!((t.violations, t.passed, t.infrastructure, t.interrupted), (0, 20, 1, 1));
    assert_eq!(t.violation_rate, 0.0);
}

#[test]
fn shards_stores_and_archives_merge_into_one_aggregate_with_each_run_traceable() {
    // three stores made by the in-memory system, as three CI shards would:
    // two correct, one losing writes
    let tmp = std::env::temp_dir().join(format!("faultline-shards-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let plan = tmp.join("plan.json");
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::write(
        &plan,
        r#"[{"at_ms": 500, "fault": {"f": "start-partition", "grudge": {"n3": ["n1", "n2"], "n1": ["n3"], "n2": ["n3"]}, "ports": []}},
            {"at_ms": 2000, "fault": {"f": "stop-partition"}}]"#,
    )
    .unwrap();
    for (shard, bug) in [("shard-1", None), ("shard-2", None), ("shard-3", Some("lost-write"))] {
        let store = tmp.join(shard);
        let mut args = vec!["run", "--db", "memory", "--workload", "set", "--name", "nightly", "--store", store.to_str().unwrap(), "--repeat", "2"];
        args.extend(["--fault-plan", plan.to_str().unwrap(), "--time-limit", "2.5", "--recovery-window", "0.5", "--rate", "200", "--op-timeout", "0.5"]);
        if let Some(b) = bug {
            args.extend(["--bug", b]);
        }
        let o = faultline(&args);
        assert!(o.status.code().is_some_and(|c| c <= 1), "{shard}: {}", String::from_utf8_lossy(&o.stderr));
    }
    // the third shard arrives as an archive, as an uploaded artifact would
    let archive = tmp.join("shard-3.tar.gz");
    let tar = std::process::Command::new("tar").arg("-czf").arg(&archive).arg("-C").arg(&tmp).arg("shard-3").status().unwrap();
    assert!(tar.success());
    let merged = tmp.join("merged");
    let (s1, s2) = (tmp.join("shard-1"), tmp.join("shard-2"));
    let o = faultline(&["trends", s1.to_str().unwrap(), s2.to_str().unwrap(), archive.to_str().unwrap(), "--out", merged.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}{}", String::from_utf8_lossy(&o.stderr));
    let t: checker::trends::Trends = results::read(&merged.join("trends.json")).unwrap();
    assert_eq!((t.runs, t.violations + t.passed), (6, 6), "{out}");
    assert!(t.violations >= 1, "the lossy shard lost writes: {out}");
    assert_eq!(t.shards.len(), 3, "{:?}", t.shards);
    let lossy = t.shards.iter().find(|(k, _)| k.contains("shard-3")).map(|(_, c)| c.clone()).unwrap();
    assert_eq!((lossy.runs, lossy.violations), (2, t.violations), "{:?}", t.shards);
    assert!(t.violating.iter().all(|r| r.contains("shards/shard-3")), "each violating run named with its shard: {:?}", t.violating);
    assert!(out.contains("violating") && out.contains("shard-3"), "{out}");
    // several stores need --out; a file that is no store is named
    assert_eq!(faultline(&["trends", s1.to_str().unwrap(), s2.to_str().unwrap()]).status.code(), Some(254));
    let o = faultline(&["trends", plan.to_str().unwrap(), "--out", merged.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(254));
    assert!(String::from_utf8_lossy(&o.stderr).contains("plan.json: not a store directory"));
    let _ = std::fs::remove_dir_all(tmp);
}
