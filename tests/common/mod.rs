//! Helpers shared by the tests that need the lab.
#![allow(dead_code)]

use control::{Node, NodesFile};
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// Runs the faultline binary.
pub fn faultline(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_faultline")).args(args).output().expect("run faultline")
}

/// Brings the 3-node lab up once per test binary (idempotent: seconds when
/// it is already up) and returns its nodes file.
pub fn lab() -> &'static PathBuf {
    static UP: OnceLock<PathBuf> = OnceLock::new();
    UP.get_or_init(|| {
        let o = faultline(&["lab", "up", "--nodes", "3"]);
        assert!(o.status.success(), "faultline lab up failed (the lab tests need root and LXC): {}", String::from_utf8_lossy(&o.stderr));
        PathBuf::from(String::from_utf8_lossy(&o.stdout).trim())
    })
}

/// The lab's nodes, resolved.
pub fn lab_nodes() -> Vec<Node> {
    NodesFile::load(lab()).unwrap().resolve()
}

/// The topology of a cluster: every node's name and address.
pub fn topology(c: &control::Cluster) -> systems::Topology {
    systems::Topology { nodes: c.clients().iter().map(|n| (n.node().name.clone(), n.node().address.clone())).collect() }
}

/// A nemesis on `nodes` for `db`, as the runner makes one.
pub fn nemesis(nodes: Vec<Node>, db: impl systems::Db + 'static) -> nuclei::Nemesis {
    let cluster = std::sync::Arc::new(control::Cluster::new(nodes, control::Options::default()));
    let topo = topology(&cluster);
    nuclei::Nemesis::new(cluster, std::sync::Arc::new(systems::DbTarget::new(std::sync::Arc::new(db), topo)))
}

/// Retries an operation until it is `ok` or the deadline passes (a
/// condition, not a sleep): returns the last completion.
pub async fn until_ok<F, Fut>(limit: std::time::Duration, mut f: F) -> systems::Completion
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = systems::Completion>,
{
    let deadline = std::time::Instant::now() + limit;
    loop {
        let c = f().await;
        if matches!(c, systems::Completion::Ok(_)) || std::time::Instant::now() >= deadline {
            return c;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// The crash and pause sequence every SUT must pass, on a ready 3-node
/// cluster whose register `k` holds anything: kill n3, and writes through
/// n1 keep succeeding (within `failover`) while a read through n3 fails
/// definitely; restart n3, ready again within `ready`, and it reads the
/// last write; pause n1, and a write through it is an indeterminate
/// timeout.
pub fn kill_restart_pause<C: systems::Ops>(
    db: &dyn systems::Db,
    cluster: &control::Cluster,
    rt: &tokio::runtime::Runtime,
    client: impl Fn(usize, std::time::Duration) -> C,
    failover: std::time::Duration,
    ready: std::time::Duration,
) {
    use serde_json::json;
    use std::time::{Duration, Instant};
    use systems::Completion;
    let topo = topology(cluster);
    let http = reqwest::Client::new();
    let (kill, pause) = (db.as_kill().expect("the SUT can be killed"), db.as_pause().expect("the SUT can be paused"));
    let c = |i: usize| client(i, Duration::from_secs(5));
    kill.kill(&cluster.clients()[2]).unwrap();
    rt.block_on(async {
        let (c0, four) = (c(0), json!(4));
        for key in ["k", "after-kill-1", "after-kill-2", "after-kill-3"] {
            let w = until_ok(failover, || c0.write(key, &four)).await;
            assert_eq!(w, Completion::Ok(json!(4)), "{key}");
        }
        match c(2).read("k").await {
            // refused, or a pooled connection reset by the dying process:
            // either way a read that failed is a definite fail
            Completion::Fail(e) => assert!(e.starts_with("connect") || e.contains("reset"), "{e}"),
            other => panic!("a read from a killed node must fail: {other:?}"),
        }
    });
    let restarted = Instant::now();
    kill.restart(&cluster.clients()[2], &topo).unwrap();
    let one = systems::Topology { nodes: vec![topo.nodes[2].clone()] };
    let s = rt.block_on(systems::wait_ready(db, &http, &one, restarted, ready));
    assert!(s.ready(), "n3 not ready after restart: {:?}", s.not_ready);
    rt.block_on(async { assert_eq!(c(2).read("k").await, Completion::Ok(json!(4))) });

    let n1 = &cluster.clients()[0];
    n1.run(&nuclei::commands::pause(pause.pause_pattern())).unwrap();
    let paused = rt.block_on(client(0, Duration::from_millis(500)).write("k", &json!(5)));
    n1.run(&nuclei::commands::resume_paused()).unwrap();
    assert!(matches!(paused, Completion::Info(ref e) if e == "timeout"), "{paused:?}");
}

/// Register and log operations through every node of a ready 3-node
/// cluster: a write seen by another node, `null` for a key never written,
/// cas that succeeds and cas that fails, appends in order.
pub fn register_and_log_ops<C: systems::Ops>(rt: &tokio::runtime::Runtime, c: impl Fn(usize) -> C) {
    use serde_json::json;
    use systems::Completion;
    rt.block_on(async {
        assert_eq!(c(0).write("k", &json!(1)).await, Completion::Ok(json!(1)));
        assert_eq!(c(1).read("k").await, Completion::Ok(json!(1)));
        assert_eq!(c(1).read("absent").await, Completion::Ok(json!(null)));
        assert_eq!(c(2).cas("k", &json!(1), &json!(2)).await, Completion::Ok(json!([1, 2])));
        assert_eq!(c(2).cas("k", &json!(1), &json!(3)).await, Completion::Fail("cas-mismatch".into()));
        assert_eq!(c(0).append("log", &json!("a")).await, Completion::Ok(json!(["a"])));
        assert_eq!(c(1).append("log", &json!("b")).await, Completion::Ok(json!(["a", "b"])));
        assert_eq!(c(2).read_log("log").await, Completion::Ok(json!(["a", "b"])));
    });
}

/// Downloads `file` from every node: (node, its text), each non-empty.
pub fn node_logs(cluster: &control::Cluster, file: &str) -> Vec<(String, String)> {
    let dir = std::env::temp_dir().join(format!("faultline-logs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let got = cluster.on_all(|n| n.download(file, &dir.join(&n.node().name)));
    got.into_iter()
        .map(|(name, r)| {
            assert!(r.unwrap() > 0, "{name}: {file} is empty");
            let text = std::fs::read_to_string(dir.join(&name)).unwrap();
            (name, text)
        })
        .collect()
}
