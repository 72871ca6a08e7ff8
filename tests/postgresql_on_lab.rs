//! PostgreSQL 15 (Debian's) on one lab node, installed and started by
//! faultline from `systems/postgresql`, the list-append workload as SQL
//! transactions under kills and pauses, at each isolation level.
//! PostgreSQL documents what each level prevents
//! (https://www.postgresql.org/docs/15/transaction-iso.html), which gives
//! the expected verdicts: SERIALIZABLE shows no anomaly; REPEATABLE READ
//! (snapshot isolation) shows write skew (G2-item) and nothing snapshot
//! isolation forbids; READ COMMITTED shows read skew (G-single).

mod common;

use checker::txn::TxnResult;
use common::{faultline, lab};
use control::NodesFile;
use std::path::{Path, PathBuf};

fn scratch() -> PathBuf {
    let d = std::env::temp_dir().join(format!("faultline-postgresql-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The lab's nodes file cut to its first node: PostgreSQL is not
/// replicated, so every kill and pause lands on the one database.
fn one_node(dir: &Path) -> PathBuf {
    let mut f = NodesFile::load(lab()).unwrap();
    f.nodes.truncate(1);
    let p = dir.join("one-node.toml");
    f.save(&p).unwrap();
    p
}

/// A 30 s list-append run at `level`, checked against `consistency`: the
/// transactional check's verdict as an exit code, and the check.
fn run(dir: &Path, nodes: &Path, level: &str, consistency: &str) -> (i32, TxnResult) {
    run_workload(dir, nodes, "list-append", level, consistency)
}

fn run_workload(dir: &Path, nodes: &Path, workload: &str, level: &str, consistency: &str) -> (i32, TxnResult) {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("systems/postgresql/system.toml");
    let store = dir.join("store");
    let (env, name) = (format!("FAULTLINE_PG_ISOLATION={level}"), format!("{workload}-{level}"));
    let args = [
        "run",
        "--system",
        file.to_str().unwrap(),
        "--nodes-file",
        nodes.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
        "--name",
        &name,
        "--workload",
        workload,
        "--consistency",
        consistency,
        "--client-env",
        &env,
        "--nemesis",
        "kill,pause",
        "--time-limit",
        "30",
        "--recovery-window",
        "5",
    ];
    let o = faultline(&args);
    let run_dir = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
    let r: results::RunResults =
        results::read(&run_dir.join("results.json")).unwrap_or_else(|e| panic!("{level}: {e}\n{}", String::from_utf8_lossy(&o.stderr)));
    assert!(r.facts.infrastructure_error.is_none() && r.facts.refused.is_none(), "{level}: {}", r.summary);
    let txn: checker::txn::TxnResult = r.checks.outcome("txn").unwrap_or_else(|| panic!("{level}: no transactional check: {}", r.summary)).unwrap();
    assert!(r.stats.as_ref().is_some_and(|s| s.ok > 500), "{level}: too little work to judge: {:?}", r.stats);
    assert!(o.status.code().is_some_and(|c| c <= 2), "{level}: no verdict: {}", r.summary);
    // the transactional check's verdict as an exit code: the run's own also
    // holds the recovery check's, which turns on how fast PostgreSQL starts
    // again after the last kill on a loaded machine (5 s of recovery here),
    // not on its isolation levels
    let code = match txn.valid {
        checker::Verdict::Valid => 0,
        checker::Verdict::Invalid => 1,
        checker::Verdict::Unknown => 2,
    };
    (code, txn)
}

#[test]
fn postgresql_levels_show_the_anomalies_its_documentation_allows_and_no_other() {
    let dir = scratch();
    let nodes = one_node(&dir);

    let (code, r) = run(&dir, &nodes, "serializable", "strict-serializable");
    assert!(r.anomalies.is_empty(), "SERIALIZABLE: {:?}", r.anomalies.keys().collect::<Vec<_>>());
    assert_eq!(code, 0, "{}", r.reason);

    let (code, r) = run(&dir, &nodes, "repeatable-read", "snapshot-isolation");
    assert_eq!(code, 0, "REPEATABLE READ is snapshot isolation: {}", r.reason);
    assert!(r.anomalies.contains_key("G2-item"), "write skew expected: {:?}", r.anomalies.keys().collect::<Vec<_>>());
    assert!(r.not.iter().any(|m| m == "serializable"));

    let (code, r) = run(&dir, &nodes, "read-committed", "read-committed");
    assert_eq!(code, 0, "READ COMMITTED: {}", r.reason);
    assert!(r.anomalies.contains_key("G-single-item"), "read skew expected: {:?}", r.anomalies.keys().collect::<Vec<_>>());
    assert!(r.not.iter().any(|m| m == "snapshot-isolation"));

    // rw-register infers less (a read shows one version), but what it
    // finds must still be what snapshot isolation allows
    let (code, r) = run_workload(&dir, &nodes, "rw-register", "repeatable-read", "snapshot-isolation");
    assert_eq!((code, r.model.as_str()), (0, "rw-register"), "REPEATABLE READ, registers: {}", r.reason);
    let _ = std::fs::remove_dir_all(dir);
}
