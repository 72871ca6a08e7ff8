//! Snapshot tests: the report and a plot rendered from a fixed history are
//! byte-for-byte what was reviewed. After an intended change, regenerate
//! with `UPDATE_SNAPSHOTS=1 cargo test -p faultline-reports --test snapshots`
//! and look at the diff.

use history::{History, Op, OpType, Process};
use reports::plots::{latency, Shade};
use reports::{render_run, RunReport};
use serde_json::json;
use std::path::Path;

fn fixed_history() -> History {
    let mut h = History::default();
    let mut t = 0u64;
    let mut push = |h: &mut History, p: Process, k: OpType, f: &str, v: serde_json::Value, node: Option<&str>| {
        t += 100_000_000;
        let mut op = Op::new(p, k, f, v);
        op.index = h.ops.len() as u64;
        op.time = t;
        op.node = node.map(String::from);
        h.ops.push(op);
        h.lines.push(h.lines.len() + 1);
    };
    for i in 0..10u64 {
        let node = format!("n{}", i % 3 + 1);
        push(&mut h, Process::Client(i % 3), OpType::Invoke, "write", json!([0, i]), Some(&node));
        let kind = [OpType::Ok, OpType::Fail, OpType::Info][(i % 3) as usize];
        push(&mut h, Process::Client(i % 3), kind, "write", json!([0, i]), Some(&node));
        if i == 3 {
            push(&mut h, Process::Nemesis, OpType::Invoke, "kill", json!({"nodes": ["n2"]}), None);
            push(&mut h, Process::Nemesis, OpType::Info, "kill", json!({"nodes": ["n2"]}), None);
        }
    }
    h
}

fn check(name: &str, got: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots").join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e} (UPDATE_SNAPSHOTS=1 to create it)", path.display()));
    assert!(want == got, "{name} differs from its snapshot (UPDATE_SNAPSHOTS=1 to accept a reviewed change)");
}

#[test]
fn the_latency_plot_matches_its_snapshot() {
    let points = vec![(0.5, 2.0, 0), (1.0, 150.0, 1), (1.5, 2000.0, 2), (2.0, 3.5, 0)];
    let shades = vec![Shade { label: "partition".into(), start: 0.8, end: 1.6, color: "#e8a0a0".into() }];
    let svg = latency(&points, &shades, 2.5);
    assert!(svg.starts_with("<svg") && svg.contains("partition"));
    check("latency.svg", &svg);
}

#[test]
fn the_report_matches_its_snapshot() {
    let h = fixed_history();
    let test = json!({"name": "snapshot", "db": "etcd", "workload": "register", "nemesis": ["kill"], "seed": 42, "command_line": ["faultline", "run", "--nemesis", "kill", "--time-limit", "2", "--interval", "0.5", "--slo", "restart=10s"], "started_at": "2026-01-01T00:00:00+00:00", "faultline_version": "snapshot",
                      "options": {"db": "etcd", "workload": "register", "nemesis": ["kill"], "time_limit": 2.0, "rate": 5.0,
                                  "concurrency": 3, "recovery_window": 1.0, "slo": ["restart=10s"]}});
    let results = json!({
        "version": 1, "valid": "invalid", "summary": "recovery: 2 of 3 node-service windows within SLO", "exit_code": 1,
        "checks": {
            "linearizable": {"valid": "valid", "reason": null, "model": "cas-register", "ops": 10, "partitions": 1, "steps": 10, "configurations": 10},
            "recovery": {"valid": "invalid", "windows": [{"fault": "kill", "start_s": 0.8, "healed_at_s": null}],
                         "recoveries": [], "worst_s": null,
                         "timeline": {"bucket_s": 1.0, "series": {"n1 client": [[1, 0, 1], [2, 0, 0]], "n2 client": [[0, 2, 0], [1, 0, 0]]}}}
        },
        "startup": {"nodes": [["n1", 0.8], ["n2", 1.1], ["n3", null]], "cluster": 1.2, "not_ready": []}
    });
    let test: results::TestRecord = serde_json::from_value(test).unwrap();
    let results: results::RunResults = serde_json::from_value(results).unwrap();
    let shades = vec![Shade { label: "kill".into(), start: 0.8, end: 2.1, color: "#a0a0e8".into() }];
    let html = render_run(&RunReport {
        test: &test,
        results: &results,
        history: &h,
        shades,
        logs: vec![],
        findings: "<h2>Linearizability: valid</h2>".into(),
        system: String::new(),
    });
    assert!(html.contains("The kill window opened at 0.80 s was never healed."));
    check("report.html", &html);
}
