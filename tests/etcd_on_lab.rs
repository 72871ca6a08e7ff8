//! etcd on a real 3-node lab: start, wait ready (timed), operate, kill one
//! node and keep serving, restart, ready again, pause, logs, teardown; and
//! a cluster that cannot become ready fails clearly within its deadline.

mod common;

use common::{kill_restart_pause, lab_nodes, node_logs, register_and_log_ops, topology};
use control::{Cluster, Cmd, Options};
use std::time::{Duration, Instant};
use systems::etcd::{Etcd, EtcdClient};
use systems::{wait_ready, Db, Topology};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap()
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

    register_and_log_ops(&rt, |i| EtcdClient::new(http.clone(), &topo.nodes[i].1, false).with_timeout(Duration::from_secs(3)));

    // kill n3: the majority keeps serving; restart; pause n1
    let client = |i: usize, t: Duration| EtcdClient::new(http.clone(), &topo.nodes[i].1, false).with_timeout(t);
    kill_restart_pause(&db, &cluster, &rt, client, Duration::from_secs(15), Duration::from_secs(30));

    // logs
    for (name, text) in node_logs(&cluster, &db.log_files()[0]) {
        assert!(text.contains("raft") && text.contains("published"), "{name}: {}", &text[..text.len().min(300)]);
    }

    for (_, r) in cluster.on_all(|n| db.teardown(n)) {
        r.unwrap();
    }
    for (name, r) in cluster.run_all(&Cmd::script("pgrep -f '^/opt/faultline/bin/etcd ' || test -e /var/lib/faultline/etcd; echo $?")) {
        assert_eq!(r.unwrap().stdout.trim(), "1", "{name}: etcd still running or its data left");
    }
}
