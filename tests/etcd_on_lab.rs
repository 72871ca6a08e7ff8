//! etcd on a real 3-node lab: start, wait ready (timed), operate, kill one
//! node and keep serving, restart, ready again, pause, logs, teardown; and
//! a cluster that cannot become ready fails clearly within its deadline.

mod common;

use common::lab_nodes;
use control::{Cluster, Cmd, Options};
use serde_json::json;
use std::time::{Duration, Instant};
use workloads::etcd::{Etcd, EtcdClient};
use workloads::{wait_ready, Completion, Db, Kill, Pause, Topology};

fn topology(c: &Cluster) -> Topology {
    Topology { nodes: c.clients().iter().map(|n| (n.node().name.clone(), n.node().address.clone())).collect() }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap()
}

/// Retries an operation until it is `ok` or the deadline passes (a
/// condition, not a sleep): returns the last completion.
async fn until_ok<F, Fut>(limit: Duration, mut f: F) -> Completion
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Completion>,
{
    let deadline = Instant::now() + limit;
    loop {
        let c = f().await;
        if matches!(c, Completion::Ok(_)) || Instant::now() >= deadline {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One member of three started: no quorum, never ready. The wait ends at
/// its deadline with each node's last probe error.
fn a_cluster_without_quorum_is_not_ready_by_the_deadline(db: &Etcd, cluster: &Cluster, topo: &Topology, rt: &tokio::runtime::Runtime) {
    let http = reqwest::Client::new();
    let started = Instant::now();
    db.start(&cluster.clients()[0], topo).unwrap();
    let s = rt.block_on(wait_ready(db, &http, topo, started, Duration::from_secs(4)));
    let waited = started.elapsed();
    assert!(!s.ready());
    assert!(waited >= Duration::from_secs(3) && waited < Duration::from_secs(9), "{waited:?}");
    let names: Vec<&str> = s.not_ready.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["n1", "n2", "n3"], "{s:?}");
    assert!(s.not_ready[1].1.starts_with("client: connect"), "{s:?}");
    db.teardown(&cluster.clients()[0]).unwrap();
}

/// The tests share the lab's etcd, so they run in order in one test.
#[test]
fn etcd_is_ready_only_with_quorum_serves_survives_a_kill_and_tears_down() {
    let cluster = Cluster::new(lab_nodes(), Options::default());
    let topo = topology(&cluster);
    let db = Etcd::default();
    db.prepare().unwrap();
    for (_, r) in cluster.on_all(|n| db.teardown(n).and_then(|_| db.setup(n, &topo))) {
        r.unwrap();
    }
    let http = reqwest::Client::new();
    let rt = rt();
    a_cluster_without_quorum_is_not_ready_by_the_deadline(&db, &cluster, &topo, &rt);
    let started = Instant::now();
    for (_, r) in cluster.on_all(|n| db.start(n, &topo)) {
        r.unwrap();
    }
    let s = rt.block_on(wait_ready(&db, &http, &topo, started, Duration::from_secs(30)));
    assert!(s.ready(), "not ready: {:?}", s.not_ready);
    assert_eq!(s.nodes.len(), 3);
    let cluster_t = s.cluster.unwrap();
    assert!(s.nodes.iter().all(|(_, t)| t.is_some_and(|t| t > 0.0 && t <= cluster_t)), "{s:?}");

    let c = |i: usize| EtcdClient::new(http.clone(), &topo.nodes[i].1, false).with_timeout(Duration::from_secs(3));
    rt.block_on(async {
        assert_eq!(c(0).write("k", &json!(1)).await, Completion::Ok(json!(1)));
        assert_eq!(c(1).read("k").await, Completion::Ok(json!(1)));
        assert_eq!(c(1).read("absent").await, Completion::Ok(json!(null)));
        assert_eq!(c(2).cas("k", &json!(1), &json!(2)).await, Completion::Ok(json!([1, 2])));
        assert_eq!(c(2).cas("k", &json!(1), &json!(3)).await, Completion::Fail("cas-mismatch".into()));
        assert_eq!(c(0).append("log", &json!("a")).await, Completion::Ok(json!(["a"])));
        assert_eq!(c(1).append("log", &json!("b")).await, Completion::Ok(json!(["a", "b"])));
    });

    // kill n3: the majority keeps serving; n3's client is refused (a definite fail)
    let n3 = &cluster.clients()[2];
    db.kill(n3).unwrap();
    rt.block_on(async {
        let (c0, four) = (c(0), json!(4));
        let w = until_ok(Duration::from_secs(15), || c0.write("k", &four)).await;
        assert_eq!(w, Completion::Ok(json!(4)));
        match c(2).read("k").await {
            // refused, or a pooled connection reset by the dying process:
            // either way a read that failed is a definite fail
            Completion::Fail(e) => assert!(e.starts_with("connect") || e.contains("reset"), "{e}"),
            other => panic!("a read from a killed node must fail: {other:?}"),
        }
    });
    let restarted = Instant::now();
    db.restart(n3, &topo).unwrap();
    let one = Topology { nodes: vec![topo.nodes[2].clone()] };
    let s = rt.block_on(wait_ready(&db, &http, &one, restarted, Duration::from_secs(30)));
    assert!(s.ready(), "n3 not ready after restart: {:?}", s.not_ready);
    rt.block_on(async { assert_eq!(c(2).read("k").await, Completion::Ok(json!(4))) });

    // pause n1: its client times out; a write is then indeterminate
    let n1 = &cluster.clients()[0];
    db.pause(n1).unwrap();
    let paused = rt.block_on(c(0).with_timeout(Duration::from_millis(500)).write("k", &json!(5)));
    db.resume(n1).unwrap();
    assert!(matches!(paused, Completion::Info(ref e) if e == "timeout"), "{paused:?}");

    // logs
    let dir = std::env::temp_dir().join(format!("faultline-etcd-logs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, r) in cluster.on_all(|n| n.download(&db.log_files()[0], &dir.join(&n.node().name))) {
        assert!(r.unwrap() > 0, "{name}: empty log");
        let text = std::fs::read_to_string(dir.join(&name)).unwrap();
        assert!(text.contains("raft") && text.contains("published"), "{name}: {}", &text[..text.len().min(300)]);
    }

    for (_, r) in cluster.on_all(|n| db.teardown(n)) {
        r.unwrap();
    }
    for (name, r) in cluster.run_all(&Cmd::script("pgrep -f '^/opt/faultline/bin/etcd ' || test -e /var/lib/faultline/etcd; echo $?")) {
        assert_eq!(r.unwrap().stdout.trim(), "1", "{name}: etcd still running or its data left");
    }
}
