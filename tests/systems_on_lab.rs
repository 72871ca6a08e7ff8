//! Systems described in files (`systems/*/system.toml`), each with a client
//! in Python over the stdio protocol, on the real lab: every run reaches a
//! verdict through `faultline run --system`, the clients' ops are recorded
//! as the built-in ones are, nothing is left behind.

mod common;

use common::{faultline, lab, lab_nodes};
use control::{Cluster, Cmd, Options};
use results::RunResults;
use std::path::{Path, PathBuf};

fn store(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("faultline-systems-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `faultline run --system systems/SYSTEM/system.toml ARGS`: (exit code,
/// results, run directory).
fn run(system: &str, args: &[&str]) -> (i32, RunResults, PathBuf) {
    run_file(&Path::new(env!("CARGO_MANIFEST_DIR")).join("systems").join(system).join("system.toml"), args)
}

/// `faultline run --system FILE ARGS`.
fn run_file(file: &Path, args: &[&str]) -> (i32, RunResults, PathBuf) {
    lab();
    let s = store(&file.parent().unwrap().file_name().unwrap().to_string_lossy());
    let mut all = vec!["run", "--store", s.to_str().unwrap(), "--system", file.to_str().unwrap(), "--time-limit", "30", "--recovery-window", "10"];
    all.extend_from_slice(args);
    let o = faultline(&all);
    let dir = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
    let r: RunResults = results::read(&dir.join("results.json")).unwrap_or_else(|e| panic!("{e}\n{}", String::from_utf8_lossy(&o.stderr)));
    (o.status.code().unwrap_or(-1), r, dir)
}

/// No process of `pattern` left on any node, no faultline rule.
/// A queue run's verdict is explained by what the checker found: valid
/// with no finding, invalid only with one, and unknown only when values
/// never delivered may have been taken by dequeues of unknown outcome (a
/// dequeue that timed out: the checker cannot tell, and says so).
fn queue_verdict_explained(code: i32, q: &checker::queue::QueueResult, summary: &str) {
    assert!((0..=2).contains(&code), "exit {code}: {summary}");
    let found = !(q.lost.is_empty() && q.duplicated.is_empty() && q.unexpected.is_empty() && q.reordered.is_empty());
    match q.valid {
        checker::Verdict::Valid => assert!(!found, "valid with a finding: {q:?}"),
        checker::Verdict::Invalid => assert!(found, "invalid only with a finding: {q:?}"),
        checker::Verdict::Unknown => assert!(
            q.unknown_dequeues >= q.lost.len() && q.duplicated.is_empty() && q.unexpected.is_empty() && q.reordered.is_empty(),
            "unknown only when dequeues of unknown outcome may explain it: {q:?}"
        ),
    }
}

fn nothing_left(pattern: &str) {
    let cluster = Cluster::new(lab_nodes(), Options::default());
    for (node, left) in nuclei::leftovers(&cluster) {
        assert!(left.is_clean(), "{node}: {left} left");
    }
    for (node, out) in cluster.run_all(&Cmd::script(&format!("pgrep -fc {} || true", control::quote(pattern)))) {
        assert_eq!(out.unwrap().stdout.trim(), "0", "{node}: {pattern} still runs after teardown");
    }
}

/// The systems share the lab: one test runs them in turn.
#[test]
fn redis_rabbitmq_zookeeper_and_etcd_from_their_system_files_reach_verdicts() {
    // Redis + Sentinel, set workload, partitions (some isolate the primary):
    // Redis documents that acknowledged writes can be lost; the verdict is
    // whatever the set checker finds, and the run must have done real work
    let (code, r, dir) = run("redis-sentinel", &["--workload", "set", "--nemesis", "partition"]);
    assert!(code == 0 || code == 1, "exit {code}: {}", r.summary);
    assert!(r.facts.infrastructure_error.is_none(), "{:?}", r.facts.infrastructure_error);
    let set: checker::sets::SetResult = r.checks.outcome("set").expect("the set checker ran").unwrap();
    assert!(set.acknowledged > 50 && set.final_read.is_some(), "{set:?}");
    // invalid only with a finding to show for it
    let found = !(set.lost.is_empty() && set.unexpected.is_empty() && set.duplicated.is_empty() && set.stale.is_empty() && set.disagree.is_empty());
    assert!(set.valid.is_valid() != found, "{set:?}");
    assert!(dir.join("nodes/n1/redis-sentinel-redis.log").exists());
    nothing_left("^redis-");

    // the queue workload on Redis Streams (a consumer group), the primary
    // isolated twice: Sentinel promotes a replica while the old primary
    // still takes writes from clients that reach it, and replication is
    // asynchronous, so what it acknowledged alone may be lost, and acks of
    // the consumer group with it (redelivered: duplicates). The verdict is
    // the checker's; the run must have done real work and drained the queue
    let plan = store("redis-plan").join("isolate-primary.json");
    std::fs::write(
        &plan,
        r#"[{"at_ms": 5000, "fault": {"f": "isolate-primary", "ports": []}}, {"at_ms": 13000, "fault": {"f": "stop-partition"}},
            {"at_ms": 18000, "fault": {"f": "isolate-primary", "ports": []}}, {"at_ms": 26000, "fault": {"f": "stop-partition"}}]"#,
    )
    .unwrap();
    let (code, r, _) = run("redis-sentinel", &["--workload", "queue", "--fault-plan", plan.to_str().unwrap()]);
    let q: checker::queue::QueueResult = r.checks.outcome("queue").expect("the queue checker ran").unwrap();
    assert!(q.acknowledged > 50 && q.delivered > 50 && q.drained, "{q:?}");
    queue_verdict_explained(code, &q, &r.summary);
    nothing_left("^redis-");

    // the queue workload on RabbitMQ's quorum queues, partitions, kills and
    // pauses: RabbitMQ documents that a confirmed message survives a
    // minority's failure and that an unacknowledged one is delivered again
    let (code, r, _) = run("rabbitmq", &["--workload", "queue", "--nemesis", "partition,kill,pause"]);
    let q: checker::queue::QueueResult = r.checks.outcome("queue").expect("the queue checker ran").unwrap();
    assert!(q.acknowledged > 50 && q.delivered > 50 && q.redelivered > 0 && q.drained, "{q:?}");
    queue_verdict_explained(code, &q, &r.summary);
    nothing_left("^/usr/lib/erlang/");

    // ZooKeeper with sync before each read, register workload
    let (code, r, _) = run("zookeeper", &["--workload", "register", "--nemesis", "partition", "--client-env", "FAULTLINE_ZK_SYNC=1"]);
    assert!(code == 0 || code == 1, "exit {code}: {}", r.summary);
    assert!(r.stats.as_ref().is_some_and(|s| s.ok > 50), "{:?}", r.stats);
    assert!(r.checks.named.contains_key("linearizable"), "{}", r.summary);
    nothing_left("QuorumPeerMain");

    // etcd through its system file, kept outside the repository as a
    // user's would be: its client checked against the running system for
    // the register workload alone, then a run, linearizable as the
    // built-in etcd is
    let outside = std::env::temp_dir().join(format!("faultline-user-{}/etcd", std::process::id()));
    std::fs::create_dir_all(&outside).unwrap();
    for f in ["system.toml", "client.py"] {
        std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join("systems/etcd").join(f), outside.join(f)).unwrap();
    }
    let file = outside.join("system.toml");
    let o = faultline(&["client-check", "--system", file.to_str().unwrap(), "--workload", "register"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{text}\n{}", String::from_utf8_lossy(&o.stderr));
    assert!(text.contains("every check passed") && text.contains("ok   cas"), "{text}");
    nothing_left("^/usr/bin/etcd ");
    let (code, r, _) = run_file(&file, &["--workload", "register", "--nemesis", "partition,kill"]);
    assert_eq!(code, 0, "{}", r.summary);
    assert!(r.stats.as_ref().is_some_and(|s| s.ok > 300), "{:?}", r.stats);
    nothing_left("^/usr/bin/etcd ");

    // `heal --system` starts the processes a kill left stopped (here: all)
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("systems/etcd/system.toml");
    let o = faultline(&["heal", "--system", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let cluster = Cluster::new(lab_nodes(), Options::default());
    for (node, out) in cluster.run_all(&Cmd::script("pgrep -fc '^/usr/bin/etcd ' || true")) {
        assert_eq!(out.unwrap().stdout.trim(), "1", "{node}: heal --system did not start etcd");
    }
    let stop = || {
        for (node, out) in cluster.run_all(&Cmd::script("pkill -9 -f '^/usr/bin/etcd '; rm -rf /var/lib/faultline/etcd-file; true")) {
            out.unwrap_or_else(|e| panic!("{node}: {e}"));
        }
        nothing_left("^/usr/bin/etcd ");
    };
    stop();

    // `lab up --system F --start`: installed, started and ready, to try by hand
    let o = faultline(&["lab", "up", "--system", file.to_str().unwrap(), "--start"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("started and ready in"), "{}", String::from_utf8_lossy(&o.stderr));
    for (node, out) in cluster.run_all(&Cmd::script("pgrep -fc '^/usr/bin/etcd ' || true")) {
        assert_eq!(out.unwrap().stdout.trim(), "1", "{node}: lab up --start did not start etcd");
    }
    stop();
}
