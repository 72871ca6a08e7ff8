//! Faults on a real 3-node etcd cluster: an isolated leader is replaced and
//! cannot commit writes, 30% loss drops about 30%, kill and pause are
//! visible to clients, and every healing path leaves nothing behind.

mod common;

use common::lab_nodes;
use control::{Cluster, Cmd, Options};
use nuclei::{grudge, heal_leftovers, leftovers, Fault, HealGuard, Injector};
use serde_json::json;
use std::time::{Duration, Instant};
use systems::etcd::{Etcd, EtcdClient};
use systems::{wait_ready, Completion, Db, Primary, Topology};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap()
}

fn clean(cluster: &Cluster) {
    for (node, left) in leftovers(cluster) {
        assert!(left.is_clean(), "{node}: {left} left");
    }
}

/// Polls `f` until it returns Some or `limit` passes.
fn until<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(x) = f() {
            return Some(x);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn faults_take_effect_and_every_heal_leaves_the_nodes_clean() {
    let cluster = Cluster::new(lab_nodes(), Options::default());
    let topo = Topology { nodes: cluster.clients().iter().map(|c| (c.node().name.clone(), c.node().address.clone())).collect() };
    let names: Vec<String> = topo.nodes.iter().map(|(n, _)| n.clone()).collect();
    let db = Etcd::default();
    db.prepare().unwrap();
    for (_, r) in cluster.on_all(|n| db.teardown(n).and_then(|_| db.setup(n, &topo))) {
        r.unwrap();
    }
    let rt = rt();
    let http = reqwest::Client::new();
    let started = Instant::now();
    for (_, r) in cluster.on_all(|n| db.start(n, &topo)) {
        r.unwrap();
    }
    assert!(rt.block_on(wait_ready(&db, &http, &topo, started, Duration::from_secs(30))).ready());
    let client = |name: &str| EtcdClient::new(http.clone(), topo.address(name).unwrap(), false).with_timeout(Duration::from_secs(2));
    let nemesis = common::nemesis(lab_nodes(), Etcd::default());
    nemesis.setup().unwrap();
    let t0 = Instant::now();

    // isolate the leader: the majority elects another, the old one cannot commit
    let leader = until(Duration::from_secs(10), || rt.block_on(db.primary(&http, &topo))).expect("a leader");
    let done = nemesis.apply(&Fault::IsolatePrimary { ports: vec![] }, t0).unwrap();
    assert_eq!(done["at"].as_object().unwrap().len(), 3, "{done}");
    assert_eq!((done["primary"].as_str(), done["primary_found"].as_bool()), (Some(leader.as_str()), Some(true)), "{done}");
    let majority = Topology { nodes: topo.nodes.iter().filter(|(n, _)| *n != leader).cloned().collect() };
    let new_leader = until(Duration::from_secs(20), || rt.block_on(db.primary(&http, &majority))).expect("the majority elects a leader");
    assert_ne!(new_leader, leader);
    let w = rt.block_on(client(&leader).write("x", &json!(1)));
    assert!(matches!(w, Completion::Info(_)), "an isolated member must not commit: {w:?}");
    assert!(matches!(rt.block_on(client(&new_leader).write("x", &json!(2))), Completion::Ok(_)));
    nemesis.apply(&Fault::StopPartition, t0).unwrap();
    let back = until(Duration::from_secs(20), || match rt.block_on(client(&leader).read("x")) {
        Completion::Ok(v) => Some(v),
        _ => None,
    });
    assert_eq!(back, Some(json!(2)), "the healed node serves linearizable reads again");

    // 30% loss on the path into n1: about 30% of pings from n2 go unanswered
    nemesis
        .apply(
            &Fault::StartLoss { grudge: grudge::one_way(&grudge::isolate(&names, "n1")).into_iter().filter(|(n, _)| n == "n1").collect(), probability: 0.3 },
            t0,
        )
        .unwrap();
    let ping = cluster
        .node("n2")
        .unwrap()
        .exec(&Cmd::new(["ping", "-q", "-c", "300", "-i", "0.005", "-W", "1", topo.address("n1").unwrap()]).timeout(Duration::from_secs(30)))
        .unwrap();
    let loss: f64 =
        ping.stdout.split(", ").find(|p| p.contains("packet loss")).and_then(|p| p.split('%').next()).and_then(|x| x.trim().parse().ok()).unwrap_or(-1.0);
    assert!((15.0..=45.0).contains(&loss), "loss {loss}%: {}", ping.stdout);
    nemesis.apply(&Fault::StopLoss, t0).unwrap();

    // kill: the client is refused; start: it serves again
    nemesis.apply(&Fault::Kill { nodes: vec!["n3".into()] }, t0).unwrap();
    let r = rt.block_on(client("n3").read("x"));
    assert!(matches!(r, Completion::Fail(_)), "a read from a killed node fails: {r:?}");
    nemesis.apply(&Fault::Start { nodes: vec!["n3".into()] }, t0).unwrap();
    assert!(until(Duration::from_secs(20), || matches!(rt.block_on(client("n3").read("x")), Completion::Ok(_)).then_some(())).is_some());

    // pause: a write times out (indeterminate); heal_all resumes it
    nemesis.apply(&Fault::Pause { nodes: vec!["n2".into()] }, t0).unwrap();
    let w = rt.block_on(client("n2").with_timeout(Duration::from_millis(500)).write("x", &json!(3)));
    assert!(matches!(w, Completion::Info(ref e) if e == "timeout"), "{w:?}");
    nemesis.apply(&Fault::StartPartition { grudge: grudge::isolate(&names, "n1"), ports: vec![2380] }, t0).unwrap();
    assert!(nemesis.heal_all().is_empty());
    assert!(until(Duration::from_secs(20), || matches!(rt.block_on(client("n2").read("x")), Completion::Ok(_)).then_some(())).is_some());
    clean(&cluster);
    assert!(nemesis.teardown().is_empty());
    clean(&cluster);
    for (node, r) in cluster.run_all(&nuclei::commands::count_traces()) {
        assert_eq!(r.unwrap().stdout.trim(), "0", "{node}: faultline chains left after teardown");
    }

    // a panic in the middle of a run: the guard heals while it unwinds
    let panicking = common::nemesis(lab_nodes(), Etcd::default());
    panicking.setup().unwrap();
    let problems = std::sync::Mutex::new(Vec::new());
    let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _guard = HealGuard::new(&panicking, |e| problems.lock().unwrap().push(e.to_string()));
        panicking.apply(&Fault::StartPartition { grudge: grudge::isolate(&names, "n3"), ports: vec![] }, t0).unwrap();
        panicking.apply(&Fault::Pause { nodes: vec!["n2".into()] }, t0).unwrap();
        assert!(leftovers(&cluster).values().any(|l| l.rules > 0 || l.stopped > 0));
        panic!("a bug in the middle of a run");
    }));
    assert!(unwound.is_err());
    assert!(problems.lock().unwrap().is_empty(), "{problems:?}");
    clean(&cluster);

    // what a killed faultline leaves (rules in its chains, a stopped SUT) is
    // found and removed by the next run's setup (heal_leftovers); a process
    // of the node's own that was stopped before stays stopped
    let n1 = cluster.node("n1").unwrap();
    let theirs = n1.exec(&Cmd::script("setsid nohup sleep 600 >/dev/null 2>&1 </dev/null & p=$!; kill -STOP $p; echo $p")).unwrap();
    let theirs = theirs.stdout.trim().to_string();
    let state = |pid: &str| n1.exec(&Cmd::new(["ps", "-o", "stat=", "-p", pid])).unwrap().stdout.trim().to_string();
    let etcd_state = || n1.exec(&Cmd::script("ps -o stat= -p $(pgrep -f '^/opt/faultline/bin/etcd ')")).unwrap().stdout.trim().to_string();
    assert!(state(&theirs).starts_with('T'), "{}", state(&theirs));
    let other = common::nemesis(lab_nodes(), Etcd::default());
    other.setup().unwrap();
    other.apply(&Fault::StartPartition { grudge: grudge::isolate(&names, "n2"), ports: vec![] }, t0).unwrap();
    other.apply(&Fault::Pause { nodes: vec!["n1".into()] }, t0).unwrap();
    std::mem::forget(other); // as if faultline died here
    assert!(leftovers(&cluster).values().any(|l| l.rules > 0 || l.stopped > 0));
    assert!(etcd_state().starts_with('T'), "etcd paused: {}", etcd_state());
    heal_leftovers(&cluster).unwrap();
    assert!(!etcd_state().starts_with('T'), "etcd resumed: {}", etcd_state());
    assert!(state(&theirs).starts_with('T'), "a process faultline did not stop was resumed: {}", state(&theirs));
    n1.exec(&Cmd::new(["kill", "-KILL", &theirs])).unwrap();
    clean(&cluster);

    for (_, r) in cluster.on_all(|n| db.teardown(n)) {
        r.unwrap();
    }
}
