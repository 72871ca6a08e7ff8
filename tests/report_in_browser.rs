//! A report and the index opened in Debian's headless Chromium: no console
//! errors, every plot there, the timeline filled by its script, and a
//! hostile value from the history shown as text. A screenshot is kept in
//! target/test-artifacts/ to look at.

mod common;

use common::faultline;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

const EVIL: &str = "<script>alert('pwned')</script>";

/// A stored run made by hand: a register history with a hostile value, a
/// partition window and probes.
fn fake_run(store: &Path) -> PathBuf {
    let dir = store.join("etcd-register").join("20260101T000000");
    std::fs::create_dir_all(dir.join("nodes/n1")).unwrap();
    let test = json!({
        "name": "etcd-register", "db": "etcd", "workload": "register", "nemesis": ["partition"], "seed": 7,
        "options": {"db": "etcd", "workload": "register", "nemesis": ["partition"], "time_limit": 3.0, "rate": 10.0,
                    "concurrency": 2, "recovery_window": 1.0, "slo": [], "serializable": false},
        "command_line": ["faultline", "run"], "faultline_version": "test", "started_at": "2026-01-01T00:00:00+00:00"
    });
    std::fs::write(dir.join("test.json"), test.to_string()).unwrap();
    let mut lines = vec![json!({"faultline_history": 1, "start_unix_ns": 1_767_225_600_000_000_000i64})];
    let mut t = 0u64;
    let mut push = |p: Value, ty: &str, f: &str, v: Value, node: &str| {
        t += 50_000_000;
        let mut o = json!({"process": p, "type": ty, "f": f, "value": v, "time": t});
        if !node.is_empty() {
            o["node"] = json!(node);
        }
        if f == "probe" {
            o["role"] = json!("probe");
        }
        lines.push(o);
    };
    push(json!(0), "invoke", "write", json!([0, EVIL]), "n1");
    push(json!(0), "ok", "write", json!([0, EVIL]), "n1");
    push(json!("nemesis"), "invoke", "start-partition", json!({}), "");
    push(json!("nemesis"), "info", "start-partition", json!({"grudge": {"n1": ["n2"]}}), "");
    for i in 0..20 {
        push(json!(1), "invoke", "read", json!([0, null]), "n2");
        push(json!(1), if i % 5 == 0 { "fail" } else { "ok" }, "read", json!([0, EVIL]), "n2");
        push(json!(1_000_000), "invoke", "probe", json!("client"), "n1");
        push(json!(1_000_000), "ok", "probe", json!("client"), "n1");
        if i == 8 {
            push(json!("nemesis"), "invoke", "stop-partition", json!({}), "");
            push(json!("nemesis"), "info", "stop-partition", json!({}), "");
        }
    }
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(dir.join("history.jsonl"), text).unwrap();
    std::fs::write(dir.join("nodes/n1/etcd.log"), format!("{{\"ts\":\"2026-01-01T00:00:00.300Z\",\"msg\":\"{}\"}}\n", "<b>log</b>")).unwrap();
    dir
}

/// Loads a file in headless Chromium: (DOM after scripts ran, stderr).
fn chromium(url: &str, screenshot: Option<&Path>) -> (String, String) {
    let profile = std::env::temp_dir().join(format!("faultline-chromium-{}", std::process::id()));
    let mut cmd = Command::new("chromium");
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1100,2600",
    ]);
    cmd.arg(format!("--user-data-dir={}", profile.display()));
    match screenshot {
        Some(p) => cmd.arg(format!("--screenshot={}", p.display())),
        None => cmd.arg("--dump-dom"),
    };
    let o = cmd.arg(url).output().expect("chromium is installed by scripts/test (Debian package chromium)");
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

fn console_errors(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.contains("CONSOLE") && (l.contains("Uncaught") || l.contains("Error"))).collect()
}

#[test]
fn the_report_and_the_index_render_in_chromium_without_errors() {
    let store = std::env::temp_dir().join(format!("faultline-browser-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&store);
    let dir = fake_run(&store);
    let o = faultline(&["analyze", dir.to_str().unwrap()]);
    // the fake run has no run.json (a tester that stopped early) and its
    // history ends 0.6 s after its heal: unknown, exit 3; what matters here
    // is that the report and the index render
    assert!(matches!(o.status.code(), Some(0..=3)), "exit {:?}: {}{}", o.status.code(), String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert_eq!(faultline(&["index", store.to_str().unwrap()]).status.code(), Some(0));

    let report = std::fs::canonicalize(dir.join("report.html")).unwrap();
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(!html.contains(EVIL), "the hostile value must never appear unescaped");
    assert!(!html.contains("src=\"http") && !html.contains("href=\"http"), "nothing fetched from the network");

    let (dom, err) = chromium(&format!("file://{}", report.display()), None);
    assert!(console_errors(&err).is_empty(), "console errors: {:?}", console_errors(&err));
    assert!(dom.matches("<svg").count() >= 4, "plots missing");
    assert!(dom.contains("page 1 / "), "the timeline script did not run");
    assert!(dom.contains("&lt;script&gt;alert('pwned')&lt;/script&gt;"), "the hostile value is not shown as text");
    assert!(!dom.contains(EVIL));
    assert!(dom.contains("&lt;b&gt;log&lt;/b&gt;"), "log excerpt not shown as text");

    let index = std::fs::canonicalize(store.join("index.html")).unwrap();
    let (dom, err) = chromium(&format!("file://{}", index.display()), None);
    assert!(console_errors(&err).is_empty(), "console errors: {:?}", console_errors(&err));
    assert!(dom.contains("etcd-register/20260101T000000/report.html"));
    assert!(dom.matches("<svg").count() >= 2);

    let artifacts = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let shot = artifacts.join("report.png");
    let _ = std::fs::remove_file(&shot);
    chromium(&format!("file://{}", report.display()), Some(&shot));
    assert!(std::fs::metadata(&shot).map(|m| m.len() > 10_000).unwrap_or(false), "no screenshot");
}
