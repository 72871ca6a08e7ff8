//! `faultline check` from the outside: verdicts, exit codes, errors.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn corpus(f: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/porcupine").join(f)
}

fn faultline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_faultline")).args(args).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn tmp(name: &str, content: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("faultline-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p
}

#[test]
fn a_linearizable_history_exits_0_and_a_broken_one_exits_1() {
    let ok = corpus("jepsen/etcd_002.log");
    let o = faultline(&["check", ok.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("etcd_002.log: valid"));
    let bad = corpus("jepsen/etcd_000.log");
    let o = faultline(&["check", "--model", "cas-register", "--format", "jepsen-log", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let out = text(&o.stdout);
    assert!(out.contains("etcd_000.log: invalid:") && out.contains("cannot be placed"), "{out}");
}

#[test]
fn json_output_has_one_object_per_file() {
    let (a, b) = (corpus("kv/c01-ok.txt"), corpus("kv/c01-bad.txt"));
    let o = faultline(&["check", "--model", "kv", "--json", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let lines: Vec<serde_json::Value> = text(&o.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["valid"], "valid");
    assert_eq!(lines[1]["valid"], "invalid");
    assert_eq!(lines[1]["format"], "porcupine-kv");
    assert!(lines[1]["counterexample"]["unplaceable"]["op"].as_str().unwrap().contains("get"));
}

#[test]
fn past_the_timeout_the_verdict_is_unknown_and_exits_2() {
    let mut s = String::new();
    for p in 0..24 {
        s += &format!("{{\"process\":{p},\"type\":\"invoke\",\"f\":\"write\",\"value\":{p}}}\n");
    }
    for p in 0..24 {
        s += &format!("{{\"process\":{p},\"type\":\"info\",\"f\":\"write\",\"value\":{p}}}\n");
    }
    s += "{\"process\":99,\"type\":\"invoke\",\"f\":\"read\"}\n{\"process\":99,\"type\":\"ok\",\"f\":\"read\",\"value\":99}\n";
    let p = tmp("hard.jsonl", &s);
    let o = faultline(&["check", "--timeout", "0.2", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stdout));
    assert!(text(&o.stdout).contains("unknown: time budget exhausted"));
}

#[test]
fn bad_input_exits_254_naming_file_and_line_and_other_files_are_still_checked() {
    let bad = tmp("bad.jsonl", "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\"}\n{\"process\":1,\"type\":\"ok\",\"f\":\"read\"}\n");
    let ok = corpus("jepsen/etcd_002.log");
    let o = faultline(&["check", bad.to_str().unwrap(), ok.to_str().unwrap(), "/nonexistent/h.edn"]);
    assert_eq!(o.status.code(), Some(254));
    let err = text(&o.stderr);
    assert!(err.contains("bad.jsonl:2:") && err.contains("without an open invocation"), "{err}");
    assert!(err.contains("/nonexistent/h.edn") && err.contains("cannot read"), "{err}");
    assert!(text(&o.stdout).contains("etcd_002.log: valid"));
}

#[test]
fn bad_flags_exit_254_and_help_exits_0() {
    assert_eq!(faultline(&["check", "--model", "queue", "x"]).status.code(), Some(254));
    assert_eq!(faultline(&["check"]).status.code(), Some(254));
    assert_eq!(faultline(&["check", "--timeout", "-1", "x"]).status.code(), Some(254));
    assert_eq!(faultline(&["frobnicate"]).status.code(), Some(254));
    assert_eq!(faultline(&["check", "--help"]).status.code(), Some(0));
}

/// A register run's history as `faultline run` writes it: a header naming
/// the workload, client ops on independent keys, health probes and a final
/// read; `stale` makes a client read a value overwritten before it began.
fn run_history(stale: bool) -> String {
    let mut lines = vec![r#"{"faultline_history":1,"start_unix_ns":0,"name":"etcd-register","workload":"register"}"#.to_string()];
    let mut t = 0;
    let mut op = |p: u64, ty: &str, f: &str, v: &str, role: &str| {
        t += 1000;
        let role = if role.is_empty() { String::new() } else { format!(r#","role":"{role}""#) };
        lines.push(format!(r#"{{"index":{},"time":{t},"process":{p},"type":"{ty}","f":"{f}","value":{v},"node":"n1"{role}}}"#, lines.len() - 1));
    };
    op(1_000_000, "invoke", "probe", r#""client""#, "probe");
    op(0, "invoke", "write", "[1,1]", "");
    op(0, "ok", "write", "[1,1]", "");
    op(1_000_000, "ok", "probe", r#""client""#, "probe");
    op(1, "invoke", "write", "[1,2]", "");
    op(1, "ok", "write", "[1,2]", "");
    let seen = if stale { "[1,1]" } else { "[1,2]" };
    op(2, "invoke", "read", "[1,null]", "");
    op(2, "ok", "read", seen, "");
    op(900_000, "invoke", "read", "[1,null]", "final");
    op(900_000, "ok", "read", "[1,2]", "final");
    lines.join("\n") + "\n"
}

#[test]
fn a_runs_own_history_is_checked_without_flags_probes_left_out() {
    let good = tmp("run-valid.jsonl", &run_history(false));
    let o = faultline(&["check", good.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}{}", text(&o.stdout), text(&o.stderr));
    assert!(text(&o.stdout).contains("valid (4 ops"), "probes are not checked: {}", text(&o.stdout));
    let bad = tmp("run-stale.jsonl", &run_history(true));
    let o = faultline(&["check", "--json", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}{}", text(&o.stdout), text(&o.stderr));
    let v: serde_json::Value = serde_json::from_str(text(&o.stdout).trim()).unwrap();
    // the op named is the history's own index: the stale read's invoke
    assert_eq!(v["counterexample"]["unplaceable"]["id"], 6, "{v}");
}

#[test]
fn report_draws_the_counterexample_of_a_history_checked_on_its_own() {
    let bad = corpus("jepsen/etcd_000.log");
    let out = std::env::temp_dir().join(format!("faultline-check-report-{}.html", std::process::id()));
    let o = faultline(&["check", "--report", out.to_str().unwrap(), bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.contains("<svg") && html.contains("cannot be placed") && html.contains("process 11"), "lanes per process with the failing op");
    assert!(!html.contains("src=\"http"), "self-contained");
}

#[test]
fn list_append_histories_are_checked_for_isolation_with_the_exit_codes() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/txn");
    let run = |file: &str, c: &str| {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_faultline"))
            .args(["check", "--model", "list-append", "--consistency", c, "--json"])
            .arg(dir.join(file))
            .output()
            .unwrap();
        (o.status.code(), String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
    };
    let (code, out, _) = run("g2-item-write-skew.edn", "serializable");
    assert_eq!(code, Some(1), "{out}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["anomalies"]["G2-item"]["count"], 1);
    assert_eq!(v["anomalies"]["G2-item"]["examples"][0]["cycle"][0]["edge"], "rw");
    assert_eq!(run("g2-item-write-skew.edn", "snapshot-isolation").0, Some(0));
    assert_eq!(run("valid-serial.edn", "strict-serializable").0, Some(0));
    let (code, out, _) = run("valid-serial.edn", "serialisable");
    assert_eq!(code, Some(254));
    assert!(out.contains("unknown --consistency \\\"serialisable\\\""), "{out}");
}

#[test]
fn rw_register_histories_are_checked_for_isolation_too() {
    let skew = tmp(
        "write-skew.edn",
        "{:type :invoke, :f :txn, :value [[:r :x nil] [:w :y 1]], :process 0}\n{:type :invoke, :f :txn, :value [[:r :y nil] [:w :x 1]], :process 1}\n\
         {:type :ok, :f :txn, :value [[:r :x nil] [:w :y 1]], :process 0}\n{:type :ok, :f :txn, :value [[:r :y nil] [:w :x 1]], :process 1}\n",
    );
    let o = faultline(&["check", "--model", "rw-register", "--consistency", "serializable", "--json", skew.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_str(text(&o.stdout).trim()).unwrap();
    assert_eq!((v["model"].as_str(), v["anomalies"]["G2-item"]["count"].as_u64()), (Some("rw-register"), Some(1)));
    assert!(v["anomalies"]["G2-item"]["examples"][0]["cycle"][0]["why"].as_str().unwrap().contains("which the next overwrote with 1"));
    let o = faultline(&["check", "--model", "rw-register", "--consistency", "snapshot-isolation", skew.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
}

#[test]
fn writes_follow_reads_orders_register_versions_only_when_asked() {
    // Elle's rw_register_test "wfr": valid by Elle's default, G-single with it
    let wfr = tmp(
        "wfr.edn",
        "{:type :invoke, :f :txn, :value [[:r :y nil] [:w :x 1] [:w :y 2]], :process 0}\n{:type :ok, :f :txn, :value [[:r :y 1] [:w :x 1] [:w :y 2]], :process 0}\n\
         {:type :invoke, :f :txn, :value [[:r :x nil] [:r :y nil]], :process 0}\n{:type :ok, :f :txn, :value [[:r :x 1] [:r :y 1]], :process 0}\n",
    );
    let check = |extra: &[&str]| {
        let mut args = vec!["check", "--model", "rw-register", "--consistency", "serializable", "--json"];
        args.extend(extra);
        args.push(wfr.to_str().unwrap());
        let o = faultline(&args);
        let v: serde_json::Value = serde_json::from_str(text(&o.stdout).trim()).unwrap_or_default();
        (o.status.code(), v)
    };
    let (code, v) = check(&[]);
    assert_eq!((code, v["sources"].clone()), (Some(0), serde_json::json!(["initial-state"])), "{v}");
    let (code, v) = check(&["--wfr-keys"]);
    assert_eq!((code, v["sources"].clone()), (Some(1), serde_json::json!(["initial-state", "wfr-keys"])), "{v}");
    assert_eq!(v["anomalies"]["G-single-item"]["count"], 1, "{v}");
    let o = faultline(&["check", "--model", "list-append", "--wfr-keys", wfr.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(254));
    assert!(text(&o.stderr).contains("--wfr-keys applies to --model rw-register"), "{}", text(&o.stderr));
}

#[test]
fn a_closed_standard_output_ends_the_command_quietly() {
    // more lines than a pipe holds, and the reading end closed at once:
    // `faultline check ... | head -0`
    let h = tmp("tiny.jsonl", "{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"value\":1}\n{\"process\":0,\"type\":\"ok\",\"f\":\"write\",\"value\":1}\n");
    let files = vec![h.to_str().unwrap(); 3000];
    let mut child = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .arg("check")
        .arg("--json")
        .args(&files)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(141), "{}", text(&o.stderr));
    assert!(text(&o.stderr).is_empty(), "quiet: {}", text(&o.stderr));
}

#[test]
fn a_runs_own_history_is_judged_against_the_model_the_run_checked() {
    // read skew (G-single-item): read committed allows it, serializable not;
    // the run asked for read committed, and its header says so
    let op = |i: usize, p: u64, ty: &str, v: &str| format!(r#"{{"index":{i},"time":{},"process":{p},"type":"{ty}","f":"txn","value":{v}}}"#, i * 1000);
    let lines = [
        r#"{"faultline_history":1,"start_unix_ns":0,"workload":"list-append","check":{"consistency":"read-committed","linearizable_reads":true,"slow_append_s":1.0}}"#.to_string(),
        op(0, 0, "invoke", r#"[["r","x",null],["r","y",null]]"#),
        op(1, 1, "invoke", r#"[["append","x",1],["append","y",1]]"#),
        op(2, 1, "ok", r#"[["append","x",1],["append","y",1]]"#),
        op(3, 0, "ok", r#"[["r","x",[]],["r","y",[1]]]"#),
        op(4, 2, "invoke", r#"[["r","x",null]]"#),
        op(5, 2, "ok", r#"[["r","x",[1]]]"#),
    ];
    let h = tmp("run-read-committed.jsonl", &(lines.join("\n") + "\n"));
    let o = faultline(&["check", h.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}{}", text(&o.stdout), text(&o.stderr));
    assert!(text(&o.stdout).contains("valid under read-committed"), "{}", text(&o.stdout));
    let o = faultline(&["check", "--consistency", "serializable", h.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "--consistency still wins: {}", text(&o.stdout));
}

#[test]
fn a_history_that_tested_nothing_is_unknown_and_says_so() {
    // a set run whose every read failed: acknowledged adds, nothing read
    let op = |i: usize, p: u64, ty: &str, f: &str, v: &str| format!(r#"{{"index":{i},"time":{},"process":{p},"type":"{ty}","f":"{f}","value":{v}}}"#, i * 1000);
    let lines = [
        r#"{"faultline_history":1,"start_unix_ns":0,"workload":"set"}"#.to_string(),
        op(0, 0, "invoke", "add", "1"),
        op(1, 0, "ok", "add", "1"),
        op(2, 1, "invoke", "read", "null"),
        op(3, 1, "fail", "read", "null"),
    ];
    let h = tmp("set-no-read.jsonl", &(lines.join("\n") + "\n"));
    let o = faultline(&["check", h.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}{}", text(&o.stdout), text(&o.stderr));
    assert!(text(&o.stdout).contains("set: unknown: tested nothing: no read completed"), "{}", text(&o.stdout));
    // a register history of writes only
    let writes = tmp("writes-only.edn", "{:process 0, :type :invoke, :f :write, :value 1}\n{:process 0, :type :ok, :f :write, :value 1}\n");
    let o = faultline(&["check", writes.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}{}", text(&o.stdout), text(&o.stderr));
    assert!(text(&o.stdout).contains("unknown: tested nothing: no read completed"), "{}", text(&o.stdout));
}

#[test]
fn a_queue_history_is_checked_against_knossos_queue_models() {
    let op = |p: u64, t: &str, f: &str, v: &str| format!("{{\"process\":{p},\"type\":\"{t}\",\"f\":\"{f}\",\"value\":{v}}}\n");
    let mut h = op(0, "invoke", "enqueue", "1") + &op(0, "ok", "enqueue", "1") + &op(0, "invoke", "enqueue", "2") + &op(0, "ok", "enqueue", "2");
    h += &(op(1, "invoke", "dequeue", "null") + &op(1, "ok", "dequeue", "2") + &op(1, "invoke", "drain", "null") + &op(1, "ok", "drain", "[1]"));
    let file = tmp("queue.jsonl", &h);
    let o = faultline(&["check", "--model", "fifo-queue", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "2 came out before 1: {}", text(&o.stdout));
    assert!(text(&o.stdout).contains("dequeue 2"), "{}", text(&o.stdout));
    let o = faultline(&["check", "--model", "unordered-queue", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
}
