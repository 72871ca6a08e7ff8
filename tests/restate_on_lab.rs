//! Restate on a real 3-node lab: nodes started but not provisioned are
//! never ready (the deadline ends the wait, naming each node's state); then
//! provision and register (bootstrap), wait ready (timed), call the
//! Register / Set / Log objects through every ingress, kill one node and
//! keep serving, restart it, ready again, pause, logs, teardown.

mod common;

use common::{kill_restart_pause, lab_nodes, node_logs, register_and_log_ops, topology};
use control::{Cluster, Cmd, Options};
use serde_json::json;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use systems::restate::{Restate, RestateClient};
use systems::{wait_ready, Completion, Db, Ops, Primary};

/// The tests share the lab, so they run in order in one test.
#[test]
fn restate_is_ready_only_when_provisioned_serves_survives_a_kill_and_tears_down() {
    let cluster = Cluster::new(lab_nodes(), Options::default());
    let topo = topology(&cluster);
    // built beside faultline (cargo build builds both)
    let db = Restate::with_service(PathBuf::from(env!("CARGO_BIN_EXE_faultline")).with_file_name("faultline-restate-service"));
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
    register_and_log_ops(&rt, c);
    rt.block_on(async {
        assert_eq!(c(0).add("s", &json!(7)).await, Completion::Ok(json!(7)));
        assert_eq!(c(1).add("s", &json!(8)).await, Completion::Ok(json!(8)));
        assert_eq!(c(2).read_set("s").await, Completion::Ok(json!([7, 8])));
        // a request the ingress rejects is a definite failure
        match c(0).call("NoSuchService", "k", "get", None, systems::Effect::Write).await {
            Completion::Fail(e) => assert!(e.starts_with("404"), "{e}"),
            other => panic!("{other:?}"),
        }
    });

    // kill n3: the others take over its partitions and keep serving;
    // restart; pause n1's server
    let client = |i: usize, t: Duration| RestateClient::new(http.clone(), &topo.nodes[i].1).with_timeout(t);
    kill_restart_pause(&db, &cluster, &rt, client, Duration::from_secs(30), Duration::from_secs(60));

    // logs: the server's and the SDK service's
    for (name, text) in node_logs(&cluster, &db.log_files()[0]) {
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
