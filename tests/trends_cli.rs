//! `faultline trends` over stored runs: percentiles per service and the
//! SLO violation rate with its Wilson interval; JUnit XML for CI.

mod common;

use common::faultline;
use serde_json::{json, Value};

#[test]
fn trends_of_stored_runs_give_exact_percentiles_and_interval() {
    let store = std::env::temp_dir().join(format!("faultline-trends-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&store);
    for i in 1..=20u32 {
        let dir = store.join("nightly").join(format!("20260101T0000{i:02}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("test.json"), json!({"name": "nightly"}).to_string()).unwrap();
        // run 20 violates: its ingress never recovers
        let ingress = if i == 20 { Value::Null } else { json!(0.5) };
        let results = json!({
            "valid": if i == 20 { "invalid" } else { "valid" },
            "checks": {"recovery": {"recoveries": [
                {"service": "client", "recovered_s": i as f64, "pass": true},
                {"service": "ingress", "recovered_s": ingress, "pass": i != 20},
            ]}}
        });
        std::fs::write(dir.join("results.json"), results.to_string()).unwrap();
    }
    let o = faultline(&["trends", store.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("20 runs, 1 violating an SLO or a check: 5.0% (95% Wilson interval 0.9%..23.6%)"), "{out}");
    assert!(out.contains("client: recovery p50 10.00 s, p95 19.00 s, p99 20.00 s, max 20.00 s over 20 windows; never recovered: 0"), "{out}");
    assert!(out.contains("ingress: recovery p50 0.50 s") && out.contains("never recovered: 1"), "{out}");
    let t: Value = serde_json::from_str(&std::fs::read_to_string(store.join("trends.json")).unwrap()).unwrap();
    assert_eq!(t["runs"], 20);
    let xml = std::fs::read_to_string(store.join("trends.xml")).unwrap();
    assert!(xml.contains("tests=\"3\" failures=\"2\"") && xml.contains("1 of 20 runs"), "{xml}");
    assert_eq!(faultline(&["trends", "/nonexistent"]).status.code(), Some(254));
}
