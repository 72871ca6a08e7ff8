//! Restate on a real 3-node lab: nodes started but not provisioned are
//! never ready (the deadline ends the wait, naming each node's state); then
//! provision and register (bootstrap), wait ready (timed), call the
//! Register / Set / Log objects through every ingress, kill one node and
//! keep serving, restart it, ready again, pause, logs, teardown.

mod common;

use common::lab_nodes;
use control::{Cluster, Cmd, Options};
use serde_json::json;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use workloads::restate::{Restate, RestateClient};
use workloads::{wait_ready, Completion, Db, Kill, Pause, Primary, Topology};

fn topology(c: &Cluster) -> Topology {
    Topology { nodes: c.clients().iter().map(|n| (n.node().name.clone(), n.node().address.clone())).collect() }
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

/// The tests share the lab, so they run in order in one test.
#[test]
fn restate_is_ready_only_when_provisioned_serves_survives_a_kill_and_tears_down() {
    let cluster = Cluster::new(lab_nodes(), Options::default());
    let topo = topology(&cluster);
    let db = Restate::with_service(PathBuf::from(env!("CARGO_BIN_EXE_faultline-restate-service")));
    db.prepare().unwrap();
    for (_, r) in cluster.on_all(|n| db.teardown(n).and_then(|_| db.setup(n, &topo))) {
        r.unwrap();
    }
    let http = reqwest::Client::new();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();

    // started, never provisioned: not ready by the deadline
    let started = Instant::now();
    for (_, r) in cluster.on_all(|n| db.start(n, &topo)) {
        r.unwrap();
    }
    let s = rt.block_on(wait_ready(&db, &http, &topo, started, Duration::from_secs(4)));
    let waited = started.elapsed();
    assert!(!s.ready());
    assert!(waited >= Duration::from_secs(3) && waited < Duration::from_secs(10), "{waited:?}");
    assert_eq!(s.not_ready.len(), 3, "{s:?}");
    // an unprovisioned node is up but its metadata server awaits provisioning
    // (or, in its first moments, its health endpoint is not listening yet)
    assert!(s.not_ready.iter().all(|(_, e)| e.contains("AwaitingProvisioning") || e.contains("connect")), "{s:?}");
    // and an operation sent now does not succeed
    let early = rt.block_on(RestateClient::new(http.clone(), &topo.nodes[0].1).with_timeout(Duration::from_secs(2)).write("early", &json!(1)));
    assert!(!matches!(early, Completion::Ok(_)), "{early:?}");

    // provision, register, ready
    rt.block_on(db.bootstrap(&http, &topo, Duration::from_secs(60))).unwrap();
    let s = rt.block_on(wait_ready(&db, &http, &topo, started, Duration::from_secs(90)));
    assert!(s.ready(), "not ready: {:?}", s.not_ready);
    let cluster_t = s.cluster.unwrap();
    assert!(s.nodes.iter().all(|(_, t)| t.is_some_and(|t| t > 0.0 && t <= cluster_t)), "{s:?}");
    // bootstrap again is harmless (already provisioned, same deployment)
    rt.block_on(db.bootstrap(&http, &topo, Duration::from_secs(30))).unwrap();
    // the "primary": the node leading the most partitions
    let primary = rt.block_on(db.primary(&http, &topo)).expect("a node leads partitions");
    assert!(topo.address(&primary).is_some(), "{primary}");

    let c = |i: usize| RestateClient::new(http.clone(), &topo.nodes[i].1).with_timeout(Duration::from_secs(5));
    rt.block_on(async {
        assert_eq!(c(0).write("k", &json!(1)).await, Completion::Ok(json!(1)));
        assert_eq!(c(1).read("k").await, Completion::Ok(json!(1)));
        assert_eq!(c(1).read("absent").await, Completion::Ok(json!(null)));
        assert_eq!(c(2).cas("k", &json!(1), &json!(2)).await, Completion::Ok(json!([1, 2])));
        assert_eq!(c(2).cas("k", &json!(1), &json!(3)).await, Completion::Fail("cas-mismatch".into()));
        assert_eq!(c(0).add("s", &json!(7)).await, Completion::Ok(json!(7)));
        assert_eq!(c(1).add("s", &json!(8)).await, Completion::Ok(json!(8)));
        assert_eq!(c(2).read_set("s").await, Completion::Ok(json!([7, 8])));
        assert_eq!(c(0).append("log", &json!("a")).await, Completion::Ok(json!(["a"])));
        assert_eq!(c(1).append("log", &json!("b")).await, Completion::Ok(json!(["a", "b"])));
        assert_eq!(c(2).read_log("log").await, Completion::Ok(json!(["a", "b"])));
        // a request the ingress rejects is a definite failure
        match c(0).call("NoSuchService", "k", "get", None, workloads::Effect::Write).await {
            Completion::Fail(e) => assert!(e.starts_with("404"), "{e}"),
            other => panic!("{other:?}"),
        }
    });

    // kill n3: the others take over its partitions and keep serving
    let n3 = &cluster.clients()[2];
    db.kill(n3).unwrap();
    rt.block_on(async {
        let (c0, four) = (c(0), json!(4));
        let w = until_ok(Duration::from_secs(30), || c0.write("k", &four)).await;
        assert_eq!(w, Completion::Ok(json!(4)));
        for i in 0..8 {
            let key = format!("after-kill-{i}");
            let w = until_ok(Duration::from_secs(30), || c0.write(&key, &four)).await;
            assert_eq!(w, Completion::Ok(json!(4)), "{key}");
        }
        match c(2).read("k").await {
            Completion::Fail(e) => assert!(e.starts_with("connect") || e.contains("reset"), "{e}"),
            other => panic!("a read from a killed node must fail: {other:?}"),
        }
    });
    let restarted = Instant::now();
    db.restart(n3, &topo).unwrap();
    let one = Topology { nodes: vec![topo.nodes[2].clone()] };
    let s = rt.block_on(wait_ready(&db, &http, &one, restarted, Duration::from_secs(60)));
    assert!(s.ready(), "n3 not ready after restart: {:?}", s.not_ready);
    rt.block_on(async { assert_eq!(c(2).read("k").await, Completion::Ok(json!(4))) });

    // pause n1's server: its ingress does not answer; a write is indeterminate
    let n1 = &cluster.clients()[0];
    db.pause(n1).unwrap();
    let paused = rt.block_on(c(0).with_timeout(Duration::from_millis(500)).write("k", &json!(5)));
    db.resume(n1).unwrap();
    assert!(matches!(paused, Completion::Info(ref e) if e == "timeout"), "{paused:?}");

    // logs: the server's and the SDK service's
    let dir = std::env::temp_dir().join(format!("faultline-restate-logs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, r) in cluster.on_all(|n| n.download(&db.log_files()[0], &dir.join(&n.node().name))) {
        assert!(r.unwrap() > 0, "{name}: empty log");
        let text = std::fs::read_to_string(dir.join(&name)).unwrap();
        assert!(text.contains("Restate") && text.contains(&name), "{name}: {}", &text[..text.len().min(300)]);
    }
    let svc = cluster.clients()[0].exec(&Cmd::new(["cat", &db.log_files()[1]])).unwrap().stdout;
    assert!(svc.contains("listening on 0.0.0.0:9080"), "{svc}");

    for (_, r) in cluster.on_all(|n| db.teardown(n)) {
        r.unwrap();
    }
    let gone = "pgrep -f '^/opt/faultline/bin/(restate-server|faultline-restate-service)' || test -e /var/lib/faultline/restate; echo $?";
    for (name, r) in cluster.run_all(&Cmd::script(gone)) {
        assert_eq!(r.unwrap().stdout.trim(), "1", "{name}: restate still running or its data left");
    }
}
