//! `faultline client-check` against the reference client and against
//! clients that break the protocol; system files refused before any node
//! is touched.

use std::process::Command;

fn faultline() -> Command {
    Command::new(env!("CARGO_BIN_EXE_faultline"))
}

fn check(client: &[&str]) -> (i32, String) {
    let out = faultline().args(["client-check", "--timeout", "1", "--"]).args(client).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn the_reference_client_conforms() {
    let (code, out) = check(&[env!("CARGO_BIN_EXE_faultline"), "client-reference"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("every check passed"), "{out}");
    assert_eq!(out.lines().filter(|l| l.starts_with("ok")).count(), 16, "{out}");
    // with transactions: five more, each answered as the reference store does
    let out = faultline().args(["client-check", "--txn", "--", env!("CARGO_BIN_EXE_faultline"), "client-reference"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(text.lines().filter(|l| l.starts_with("ok   txn")).count(), 3, "{text}");
    assert_eq!(text.lines().filter(|l| l.starts_with("ok   rw-txn")).count(), 2, "{text}");
}

#[test]
fn a_client_that_answers_wrongly_or_not_at_all_fails_and_says_where() {
    // answers every request `ok` with value 0: reads are wrong
    let liar = r#"while read l; do id=$(printf %s "$l" | sed 's/.*"id":\([0-9]*\).*/\1/'); printf '{"id":%s,"type":"ok","value":0}\n' "$id"; done"#;
    let (code, out) = check(&["sh", "-c", liar]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL read-set") && out.contains("FAIL cas"), "{out}");
    // prints nothing: every op times out, and the check ends
    let (code, out) = check(&["sh", "-c", "cat >/dev/null"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("info timeout"), "{out}");
    // cannot start
    let (code, out) = check(&["/nonexistent/client"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("cannot start client `/nonexistent/client`"), "{out}");
}

#[test]
fn a_system_file_with_a_typo_is_refused_before_any_node_is_touched() {
    let dir = std::env::temp_dir().join(format!("faultline-typo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("system.toml");
    let good = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("systems/etcd/system.toml")).unwrap();
    std::fs::write(&file, good.replace("pattern =", "patern =")).unwrap();
    let o = faultline().args(["run", "--system", file.to_str().unwrap(), "--nodes-file", "/nonexistent/nodes.toml"]).output().unwrap();
    assert_eq!(o.status.code(), Some(254));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("system.toml:") && err.contains("patern"), "{err}");
    let o = faultline().args(["lab", "up", "--system", file.to_str().unwrap()]).output().unwrap();
    assert_eq!(o.status.code(), Some(254), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn db_args_a_system_file_would_ignore_are_refused() {
    let dir = std::env::temp_dir().join(format!("faultline-dbargs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // loopback only: the run is refused before it connects
    let nodes = dir.join("nodes.toml");
    std::fs::write(&nodes, "[[node]]\nname = \"n1\"\naddress = \"127.0.0.1\"\n").unwrap();
    let etcd = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("systems/etcd/system.toml");
    let o = faultline().args(["run", "--system", etcd.to_str().unwrap(), "--nodes-file", nodes.to_str().unwrap(), "--db-arg=--flag"]).output().unwrap();
    assert_eq!(o.status.code(), Some(254), "{}", String::from_utf8_lossy(&o.stderr));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--db-arg") && err.contains("does not read {{ db_args }}"), "{err}");
    let o = faultline().args(["run", "--db", "memory", "--db-arg=--flag"]).output().unwrap();
    assert_eq!(o.status.code(), Some(254), "{}", String::from_utf8_lossy(&o.stderr));
}

/// A client for the set workload only: adds and whole-set reads, in memory.
const SET_ONLY: &str = r#"
import json, sys
sets = {}
for line in sys.stdin:
    r = json.loads(line)
    s = sets.setdefault(r["key"], [])
    if r["f"] == "add":
        s.append(r["value"]); out = {"id": r["id"], "type": "ok"}
    elif r["f"] == "read-set":
        out = {"id": r["id"], "type": "ok", "value": s}
    else:
        out = {"id": r["id"], "type": "fail", "error": "unsupported"}
    print(json.dumps(out), flush=True)
"#;

#[test]
fn a_client_for_one_workload_passes_that_workloads_checks() {
    let client = ["python3", "-c", SET_ONLY];
    // every workload's checks: a set-only client fails the others'
    let (code, out) = check(&client);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL read faultline-check") && out.contains("FAIL append"), "{out}");
    // the set workload's: add and read-set, then the crash and stdin checks
    let o = faultline().args(["client-check", "--timeout", "2", "--workload", "set", "--"]).args(client).output().unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(text.contains("the ops of set: add, read-set"), "{text}");
    assert_eq!(text.lines().filter(|l| l.starts_with("ok")).count(), 6, "{text}");
    assert!(!text.contains(" cas ") && !text.contains("read-log"), "{text}");
    let o = faultline().args(["client-check", "--workload", "sett", "--"]).args(client).output().unwrap();
    assert_eq!(o.status.code(), Some(254));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown --workload \"sett\""));
}

/// A queue whose dequeue never takes the value away: every value is
/// delivered again.
const QUEUE_PEEKS: &str = r#"
import json, sys
q = []
for line in sys.stdin:
    r = json.loads(line)
    out = {"id": r["id"], "type": "ok"}
    if r["f"] == "enqueue":
        q.append(r["value"])
    elif r["f"] == "dequeue":
        out["value"] = q[0] if q else None
    elif r["f"] == "drain":
        out["value"], q = q, []
    else:
        out = {"id": r["id"], "type": "fail", "error": "unknown f"}
    print(json.dumps(out), flush=True)
"#;

#[test]
fn the_queue_workloads_check_passes_a_queue_and_fails_one_that_delivers_twice() {
    let o = faultline().args(["client-check", "--workload", "queue", "--", env!("CARGO_BIN_EXE_faultline"), "client-reference"]).output().unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(text.contains("the ops of queue: enqueue, dequeue, drain"), "{text}");
    assert!(text.contains("ok   the queue delivered each value enqueued once, acknowledged: [1, 2, 3]"), "{text}");
    let o = faultline().args(["client-check", "--timeout", "2", "--workload", "queue", "--", "python3", "-c", QUEUE_PEEKS]).output().unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(text.contains("FAIL the queue delivered each value enqueued once, acknowledged: [1, 1, 2, 3]"), "{text}");
}
