//! The native JSON-lines store: round trips, headers, and what a crashed
//! writer leaves behind.

use history::{load, Format, Header, JsonlWriter, Op, OpType, Process};
use serde_json::json;
use std::io::Write;

fn tmp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("faultline-history-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("history.jsonl")
}

fn op(i: u64, p: Process, kind: OpType, f: &str, v: serde_json::Value) -> Op {
    Op { index: i, time: i * 10, node: Some("n1".into()), ..Op::new(p, kind, f, v) }
}

#[test]
fn ops_round_trip_with_the_header() {
    let path = tmp("roundtrip");
    let ops = vec![
        op(0, Process::Client(3), OpType::Invoke, "cas", json!([1, 2])),
        op(1, Process::Nemesis, OpType::Info, "start-partition", json!({"n1": ["n2", "n3"]})),
        Op { error: Some(json!("timeout")), ..op(2, Process::Client(3), OpType::Info, "cas", json!([1, 2])) },
    ];
    let mut w = JsonlWriter::create(&path, &Header::new(1_700_000_000_000_000_000)).unwrap();
    for o in &ops {
        w.append(o).unwrap();
    }
    let (format, h) = load(&path, None).unwrap();
    assert_eq!(format, Format::Jsonl);
    assert_eq!(h.ops, ops);
    assert_eq!(h.lines, vec![2, 3, 4]);
    assert_eq!(h.header.unwrap().wall_clock_ns(5), 1_700_000_000_000_000_005);
}

#[test]
fn each_op_is_on_disk_as_soon_as_it_is_appended() {
    let path = tmp("flush");
    let mut w = JsonlWriter::create(&path, &Header::new(0)).unwrap();
    w.append(&op(0, Process::Client(0), OpType::Invoke, "read", json!(null))).unwrap();
    // read while the writer is still open: nothing buffered in the process
    let (_, h) = load(&path, None).unwrap();
    assert_eq!(h.ops.len(), 1);
    drop(w);
}

#[test]
fn a_truncated_last_line_is_skipped_and_reported() {
    let path = tmp("truncated");
    let mut w = JsonlWriter::create(&path, &Header::new(0)).unwrap();
    w.append(&op(0, Process::Client(0), OpType::Invoke, "read", json!(null))).unwrap();
    drop(w);
    let mut f = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
    f.write_all(b"{\"index\":1,\"time\":10,\"proc").unwrap();
    let (_, h) = load(&path, None).unwrap();
    assert_eq!(h.ops.len(), 1);
    assert_eq!(h.truncated_line, Some(3));
}

#[test]
fn a_bad_line_in_the_middle_is_an_error_naming_file_and_line() {
    let path = tmp("bad");
    std::fs::write(
        &path,
        "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\"}\n{\"process\":0,\"type\":\"done\",\"f\":\"read\"}\n{\"process\":0,\"type\":\"ok\",\"f\":\"read\"}\n",
    )
    .unwrap();
    let e = load(&path, None).unwrap_err();
    assert_eq!(e.line, 2);
    let msg = e.to_string();
    assert!(msg.contains("history.jsonl:2:") && msg.contains("unknown op type"), "{msg}");
    std::fs::write(&path, "{\"process\":0,\"f\":\"read\"}\n").unwrap();
    assert!(load(&path, None).unwrap_err().to_string().contains("field `type`: missing"));
    std::fs::write(&path, "{\"process\":0,\"type\":\"ok\",\"f\":\"read\"\nmore\n").unwrap();
    assert!(load(&path, None).unwrap_err().to_string().contains(":1: unparsable"));
}
