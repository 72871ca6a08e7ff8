//! `faultline client-check`: a client program against the stdio protocol,
//! op by op beside the reference client's in-memory store; and
//! `faultline client-reference`, that reference client.

use crate::exit;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use systems::stdio::protocol::Request;
use systems::stdio::reference::Store;
use systems::stdio::{ClientCommand, StdioClient};
use systems::{Completion, Endpoint};

/// Check that a client program speaks the stdio protocol and answers as a
/// correct system would.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The node the client is pointed at (FAULTLINE_ADDRESS).
    #[arg(long, default_value = "127.0.0.1")]
    address: String,
    /// The node's name (FAULTLINE_NODE).
    #[arg(long, default_value = "n1")]
    node: String,
    /// Every node as name=address, comma-separated (FAULTLINE_NODES) [default: NODE=ADDRESS].
    #[arg(long)]
    nodes: Option<String>,
    /// Seconds each op may take.
    #[arg(long, default_value_t = 5.0)]
    timeout: f64,
    /// Also check transactions (`txn` and `rw-txn`, the list-append and
    /// rw-register workloads').
    #[arg(long)]
    txn: bool,
    /// Check only the operations these workloads need (comma-separated):
    /// register read, write, cas; set add, read-set; append append,
    /// read-log; list-append txn; rw-register rw-txn. Default: every
    /// workload's but the transactions (unless --txn).
    #[arg(long, value_delimiter = ',')]
    workload: Vec<String>,
    /// The client's working directory [default: the current one].
    #[arg(long)]
    dir: Option<PathBuf>,
    /// The system this file describes: installed and started on the
    /// nodes (the lab's, or --nodes-file's), its own client checked against
    /// the first node, the system torn down after.
    #[arg(long, conflicts_with_all = ["command", "address", "node", "nodes"])]
    system: Option<PathBuf>,
    /// With --system: the nodes [default: the lab's, brought up if needed].
    #[arg(long, requires = "system")]
    nodes_file: Option<PathBuf>,
    /// The client program and its arguments.
    #[arg(required_unless_present = "system", trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

/// The system a `--system` check runs against, torn down when dropped.
struct Running {
    db: systems::file::FileDb,
    nodes: control::NodesFile,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = super::system::on_nodes(&self.db, &self.nodes, "client-check", |db, c, _| systems::Db::teardown(db, c));
    }
}

/// Brings the system of `file` up on `nodes_file`'s nodes (else the lab's)
/// and hands out its client program and the first node; the exit code
/// after saying why not.
fn bring_up(file: &std::path::Path, nodes_file: Option<&std::path::Path>) -> Result<(Running, Arc<ClientCommand>, Endpoint), i32> {
    let db = super::system::load(file, "client-check")?;
    let nodes = match nodes_file {
        Some(p) => control::NodesFile::load(p).map_err(|e| {
            eprintln!("client-check: {e}");
            exit::BAD_INPUT
        })?,
        None => {
            let lab = lab::Lab::default();
            let up = lab.current_nodes().or_else(|_| lab.up(3, lab::Backend::Lxc).and_then(|_| lab.current_nodes()));
            up.map_err(|e| {
                eprintln!("client-check: the lab: {e}");
                exit::INFRA
            })?
        }
    };
    match super::system::install(&db, &nodes) {
        0 => {}
        code => return Err(code),
    }
    let running = Running { db, nodes };
    match super::system::start(&running.db, &running.nodes) {
        0 => {}
        code => return Err(code),
    }
    let command = running.db.command().map_err(|e| {
        eprintln!("client-check: {}: the client: {e}", systems::Db::name(&running.db));
        exit::BAD_INPUT
    })?;
    let all = running.nodes.resolve();
    let Some(first) = all.first() else {
        eprintln!("client-check: the nodes file names no node");
        return Err(exit::BAD_INPUT);
    };
    let list = all.iter().map(|n| format!("{}={}", n.name, n.address)).collect::<Vec<_>>().join(",");
    let at = Endpoint { node: first.name.clone(), address: first.address.clone(), process: 0, nodes: list };
    Ok((running, command, at))
}

/// One step: what is sent.
struct Step {
    f: &'static str,
    key: String,
    value: Option<Value>,
}

/// The ops of every workload, on keys no earlier check used.
fn script(prefix: &str) -> Vec<Step> {
    let s = |f, key: &str, value: Option<Value>| Step { f, key: format!("{prefix}{key}"), value };
    vec![
        s("read", "r1", None),
        s("write", "r1", Some(json!(1))),
        s("read", "r1", None),
        s("cas", "r1", Some(json!([1, 2]))),
        s("cas", "r1", Some(json!([1, 3]))),
        s("read", "r1", None),
        s("read-set", "set", None),
        s("add", "set", Some(json!(1))),
        s("add", "set", Some(json!(2))),
        s("read-set", "set", None),
        s("read-log", "log0", None),
        s("append", "log0", Some(json!(1))),
        s("append", "log0", Some(json!(2))),
        s("read-log", "log0", None),
    ]
}

/// A queue's ops on a queue no earlier check used: what comes out
/// acknowledged must be each value enqueued, once.
fn queue_script(prefix: &str) -> Vec<Step> {
    let q = |f, value: Option<Value>| Step { f, key: format!("{prefix}queue"), value };
    vec![
        q("enqueue", Some(json!(1))),
        q("enqueue", Some(json!(2))),
        q("dequeue", Some(json!({"ack": false}))),
        q("dequeue", None),
        q("enqueue", Some(json!(3))),
        q("drain", None),
        q("dequeue", None),
    ]
}

/// The values a queue's steps took with an acknowledgement, sorted.
fn acknowledged(steps: &[(Step, Completion)]) -> Vec<String> {
    let mut got: Vec<String> = steps
        .iter()
        .filter(|(s, _)| (s.f == "dequeue" && s.value.is_none()) || s.f == "drain")
        .flat_map(|(s, c)| match (s.f, c) {
            ("drain", Completion::Ok(Value::Array(a))) => a.iter().map(Value::to_string).collect(),
            ("dequeue", Completion::Ok(v)) if !v.is_null() => vec![v.to_string()],
            _ => Vec::new(),
        })
        .collect();
    got.sort();
    got
}

/// Transactions on integer keys no earlier check used.
fn txn_script(base: u64) -> Vec<Step> {
    let (a, b) = (base, base + 1);
    let t = |f, v: Value| Step { f, key: "txn".into(), value: Some(v) };
    vec![
        t("txn", json!([["r", a, null]])),
        t("txn", json!([["append", a, 1], ["r", a, null]])),
        t("txn", json!([["append", a, 2], ["append", b, 3], ["r", a, null], ["r", b, null]])),
        t("rw-txn", json!([["r", a, null]])),
        t("rw-txn", json!([["w", a, 1], ["w", b, 2], ["r", a, null], ["r", b, null]])),
    ]
}

/// Whether the client's answer agrees with the reference's: the same
/// type, and for reads the same value (sets in any order).
fn agrees(f: &str, got: &Completion, want: &Completion) -> bool {
    let sorted = |v: &Value| {
        let mut a: Vec<String> = v.as_array().map(|a| a.iter().map(|x| x.to_string()).collect()).unwrap_or_default();
        a.sort();
        a
    };
    match (got, want) {
        (Completion::Ok(g), Completion::Ok(w)) => match f {
            "read" | "read-log" | "txn" | "rw-txn" => g == w,
            "read-set" => g.is_array() && sorted(g) == sorted(w),
            // which value a dequeue takes is the system's (a value not
            // acknowledged may come back later): checked as a whole below
            "drain" => g.is_array(),
            _ => true,
        },
        (Completion::Fail(_), Completion::Fail(_)) => true,
        _ => false,
    }
}

/// A completion as a history line shows it (`ok 1`, `fail cas-mismatch`).
fn show(c: &Completion) -> String {
    match c {
        Completion::Ok(v) => format!("ok {v}"),
        Completion::Fail(e) => format!("fail {e}"),
        Completion::Info(e) => format!("info {e}"),
    }
}

/// Runs `faultline client-check`; returns the exit code.
pub fn run(a: Args) -> i32 {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return exit::INTERNAL };
    let (_running, command, at) = match &a.system {
        Some(file) => match bring_up(file, a.nodes_file.as_deref()) {
            Ok((r, c, at)) => (Some(r), c, at),
            Err(code) => return code,
        },
        None => {
            let dir = a.dir.clone().or_else(|| std::env::current_dir().ok()).unwrap_or_else(|| PathBuf::from("."));
            let command = Arc::new(ClientCommand { argv: a.command.clone(), dir, env: Vec::new(), fs: None });
            let nodes = a.nodes.clone().unwrap_or_else(|| format!("{}={}", a.node, a.address));
            (None, command, Endpoint { node: a.node.clone(), address: a.address.clone(), process: 0, nodes })
        }
    };
    let client = StdioClient::new(command.clone(), at, Duration::from_secs_f64(a.timeout));
    let prefix = format!("faultline-check-{}-", std::process::id());
    let mut store = Store::default();
    let mut failed = 0;
    let mut say = |ok: bool, what: String| {
        println!("{} {what}", if ok { "ok  " } else { "FAIL" });
        failed += usize::from(!ok);
    };
    let mut steps = script(&prefix);
    if a.txn || !a.workload.is_empty() {
        steps.extend(txn_script(1_000_000 + u64::from(std::process::id()) * 2));
    }
    if !a.workload.is_empty() {
        steps.extend(queue_script(&prefix));
    }
    if !a.workload.is_empty() {
        let mut fs: Vec<&str> = Vec::new();
        for name in &a.workload {
            let Some(w) = workloads::by_name(name) else {
                eprintln!("client-check: unknown --workload {name:?} (one of {})", workloads::names().join(", "));
                return exit::BAD_INPUT;
            };
            fs.extend(w.fs());
        }
        steps.retain(|s| fs.contains(&s.f));
        println!("client-check: the ops of {}: {}", a.workload.join(", "), fs.join(", "));
    }
    println!("client-check: `{}` (protocol {})", command.display(), systems::stdio::protocol::VERSION);
    // after a crash, a new program must answer the first read checked
    let reread = steps.iter().find(|s| s.value.is_none() || s.f.ends_with("txn")).map(|s| (s.f, s.key.clone(), s.value.clone()));
    let mut queued = Vec::new();
    for (id, step) in steps.into_iter().enumerate() {
        let req = Request { id: id as u64, f: step.f.into(), key: step.key.clone(), value: step.value.clone() };
        let want = store.apply(req).completion();
        let got = rt.block_on(client.call(step.f, &step.key, step.value.clone()));
        let arg = step.value.as_ref().map(|v| format!(" {v}")).unwrap_or_default();
        say(agrees(step.f, &got, &want), format!("{} {}{arg}: {} (a correct system: {})", step.f, step.key, show(&got), show(&want)));
        if matches!(step.f, "enqueue" | "dequeue" | "drain") {
            queued.push((step, got));
        }
    }
    if !queued.is_empty() {
        let got = acknowledged(&queued);
        say(got == ["1", "2", "3"], format!("the queue delivered each value enqueued once, acknowledged: [{}] (a correct system: [1, 2, 3])", got.join(", ")));
    }
    // a crash: the next op starts a new program, which must answer (what
    // it reads is the system's: 2 if the system kept the write)
    rt.block_on(client.crash());
    if let Some((f, key, value)) = reread {
        let got = rt.block_on(client.call(f, &key, value));
        say(matches!(got, Completion::Ok(_)), format!("after a crash, a new program answers {f} {key}: {}", show(&got)));
    }
    let closed = rt.block_on(client.close(Duration::from_secs(5)));
    say(closed.is_ok(), format!("exits when its stdin closes: {}", closed.err().map_or_else(|| "yes".into(), |e| e.to_string())));
    if failed == 0 {
        println!("client-check: every check passed");
        exit::VALID
    } else {
        println!("client-check: {failed} check(s) failed");
        exit::INVALID
    }
}

/// Runs `faultline client-reference`: the reference client on stdin/stdout.
pub fn reference() -> i32 {
    match systems::stdio::reference::serve(std::io::stdin().lock(), std::io::stdout().lock()) {
        Ok(()) => exit::VALID,
        Err(e) => {
            eprintln!("client-reference: {e}");
            exit::BAD_INPUT
        }
    }
}
