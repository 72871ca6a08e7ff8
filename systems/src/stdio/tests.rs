//! The rules of the stdio protocol, against small shell clients that
//! misbehave in each way the rules cover.

use super::*;
use serde_json::json;
use std::time::Instant;

/// A client running `script` under `sh -c`, on node n1, process 7.
fn sh(script: &str, timeout_ms: u64) -> StdioClient {
    let cmd =
        ClientCommand { argv: vec!["sh".into(), "-c".into(), script.into()], dir: std::env::temp_dir(), env: vec![("EXTRA".into(), "x".into())], fs: None };
    let at = Endpoint { node: "n1".into(), address: "10.0.0.1".into(), process: 7, nodes: "n1=10.0.0.1".into() };
    StdioClient::new(Arc::new(cmd), at, Duration::from_millis(timeout_ms))
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// Answers one request with `value` (a shell expression), then exits.
const ANSWER_ONCE: &str = r#"read l; id=$(printf %s "$l" | sed 's/.*"id":\([0-9]*\).*/\1/'); printf '{"id":%s,"type":"ok","value":"%s"}\n' "$id" "VALUE""#;

#[test]
fn a_client_is_told_where_it_points_and_its_answer_is_the_completion() {
    let script = ANSWER_ONCE.replace("VALUE", "$FAULTLINE_NODE $FAULTLINE_ADDRESS $FAULTLINE_PROCESS $FAULTLINE_PROTOCOL $EXTRA");
    let c = sh(&script, 5000);
    assert_eq!(rt().block_on(c.call("read", "r1", None)), Completion::Ok(json!("n1 10.0.0.1 7 1 x")));
}

#[test]
fn a_program_that_cannot_start_fails_the_op_naming_the_command() {
    let cmd = ClientCommand { argv: vec!["/nonexistent/client".into()], dir: std::env::temp_dir(), env: vec![], fs: None };
    let at = Endpoint { node: "n1".into(), address: "a".into(), process: 0, nodes: String::new() };
    let c = StdioClient::new(Arc::new(cmd), at, Duration::from_secs(1));
    match rt().block_on(c.call("read", "r1", None)) {
        Completion::Fail(e) => assert!(e.contains("cannot start client `/nonexistent/client`"), "{e}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_program_that_crashes_names_its_status_and_stderr() {
    let c = sh("echo boom >&2; exit 3", 5000);
    match rt().block_on(c.call("write", "r1", Some(json!(1)))) {
        // the request may or may not have reached it: fail or info, both say why
        Completion::Fail(e) | Completion::Info(e) => assert!(e.contains("exit status: 3") && e.contains("boom"), "{e}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn garbage_makes_the_op_info_and_says_what_was_written() {
    let c = sh("read l; echo hello; sleep 30", 5000);
    match rt().block_on(c.call("write", "r1", Some(json!(1)))) {
        Completion::Info(e) => assert!(e.contains("not a completion") && e.contains("hello"), "{e}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn silence_is_info_at_the_op_timeout() {
    let c = sh("sleep 30", 300);
    let t = Instant::now();
    assert_eq!(rt().block_on(c.call("add", "set", Some(json!(1)))), Completion::Info("timeout".into()));
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
}

#[test]
fn a_program_that_exited_is_started_again_for_the_next_op() {
    let c = sh(&ANSWER_ONCE.replace("VALUE", "v"), 5000);
    let rt = rt();
    assert_eq!(rt.block_on(c.call("read", "r1", None)), Completion::Ok(json!("v")));
    // it exited after one answer: this op does not complete
    assert!(!matches!(rt.block_on(c.call("read", "r1", None)), Completion::Ok(_)));
    // and a new program answers the next
    assert_eq!(rt.block_on(c.call("read", "r1", None)), Completion::Ok(json!("v")));
}

#[test]
fn an_answer_to_another_request_is_garbage() {
    let c = sh(r#"read l; echo '{"id":99,"type":"ok"}'; sleep 30"#, 5000);
    match rt().block_on(c.call("read", "r1", None)) {
        Completion::Info(e) => assert!(e.contains("answered id 99 to request 1"), "{e}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn close_waits_for_the_program_and_names_one_that_stays() {
    let rt = rt();
    let polite = sh(&format!("{}; cat >/dev/null", ANSWER_ONCE.replace("VALUE", "v")), 5000);
    rt.block_on(polite.call("read", "r1", None));
    assert_eq!(rt.block_on(polite.close(Duration::from_secs(5))), Ok(()));
    let stubborn = sh(&format!("trap '' PIPE; {}; exec sleep 30", ANSWER_ONCE.replace("VALUE", "v")), 5000);
    rt.block_on(stubborn.call("read", "r1", None));
    let e = rt.block_on(stubborn.close(Duration::from_millis(300))).unwrap_err();
    assert!(e.to_string().contains("still ran"), "{e}");
}

#[test]
fn preflight_tells_a_broken_program_from_a_working_one() {
    let rt = rt();
    assert_eq!(rt.block_on(Client::preflight(&sh(&ANSWER_ONCE.replace("VALUE", "v"), 5000))), Ok(()));
    // a `fail` from the program is an answer: the program works
    let refuses = r#"read l; id=$(printf %s "$l" | sed 's/.*"id":\([0-9]*\).*/\1/'); printf '{"id":%s,"type":"fail","error":"no primary"}\n' "$id""#;
    assert_eq!(rt.block_on(Client::preflight(&sh(refuses, 5000))), Ok(()));
    let silent = rt.block_on(Client::preflight(&sh("sleep 30", 300))).unwrap_err();
    assert!(silent.contains("did not answer a read within 0.3 s") && silent.contains("sleep 30"), "{silent}");
    let crashes = rt.block_on(Client::preflight(&sh("echo 'ImportError: no module named redis' >&2; exit 1", 5000))).unwrap_err();
    assert!(crashes.contains("ImportError"), "{crashes}");
}
