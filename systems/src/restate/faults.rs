//! Faults on Restate itself, through `restatectl` on the control node: log
//! reconfiguration and seals (with the chain before and after), wipes and
//! the steps a wiped node needs to rejoin, partition leadership, metadata
//! membership.

pub use super::records::LogTail;
use super::{restatectl, signal, sql, Restate, DATA, SERVER_PATTERN};
use crate::db::{DbError, SystemFaults, Topology};
use crate::NotReady;
use control::{Cmd, NodeClient};
use nuclei::{Kind, Package, SystemFault};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// How long a leader may take to move (10 s was not enough on a loaded
/// machine: a move 10.2 s after the pin, three clusters running at once).
const MOVE: Duration = Duration::from_secs(30);

/// Each log's tail from the rows of `logs_tail_segments` (a sealed chain
/// shows its last segment and a `sealed` marker row).
pub fn log_tails(rows: &[Value]) -> BTreeMap<u32, LogTail> {
    let mut tails: BTreeMap<u32, LogTail> = BTreeMap::new();
    for r in rows {
        let Some(id) = r["log_id"].as_u64().map(|v| v as u32) else { continue };
        let t = tails.entry(id).or_insert(LogTail { log_id: id, segment_index: 0, sealed: false, metadata_version: 0 });
        t.segment_index = t.segment_index.max(r["segment_index"].as_u64().unwrap_or(0) as u32);
        t.sealed |= r["kind"] == "sealed";
        t.metadata_version = t.metadata_version.max(r["logs_metadata_version"].as_u64().unwrap_or(0));
    }
    tails
}

/// For each partition led by one of `away` (rows of `partition_replica_set`
/// with `is_leader`), another replica to pin its leadership to.
pub fn new_leaders(replicas: &[Value], away: &[String]) -> BTreeMap<i64, String> {
    let mut by_part: BTreeMap<i64, (bool, Vec<String>)> = BTreeMap::new();
    for r in replicas {
        let (Some(p), Some(n)) = (r["partition_id"].as_i64(), r["plain_node_id"].as_str()) else { continue };
        let e = by_part.entry(p).or_default();
        if r["is_leader"] == true && away.iter().any(|a| a == n) {
            e.0 = true;
        }
        e.1.push(n.to_string());
    }
    by_part.into_iter().filter(|(_, (led, _))| *led).filter_map(|(p, (_, ns))| ns.into_iter().find(|n| !away.contains(n)).map(|n| (p, n))).collect()
}

/// `ids` as restatectl's ranges: `[0, 1, 2, 5]` -> `["0-2", "5"]`.
pub fn ranges(ids: &[u32]) -> Vec<String> {
    let mut sorted = ids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut out: Vec<(u32, u32)> = Vec::new();
    for id in sorted {
        match out.last_mut() {
            Some((_, end)) if *end + 1 == id => *end = id,
            _ => out.push((id, id)),
        }
    }
    out.into_iter().map(|(a, b)| if a == b { a.to_string() } else { format!("{a}-{b}") }).collect()
}

fn tool(e: NotReady) -> DbError {
    DbError::Sut(e.to_string())
}

/// How long a read a fault needs may be tried again.
const READ: Duration = Duration::from_secs(15);

/// The rows of a table a fault needs (never empty while the cluster is up:
/// nodes, partitions, log tails), tried again for up to [`READ`] while
/// restatectl fails or answers no row: while metadata members change or a
/// leader moves, one query may find no node to answer it, and a fault must
/// not fail on a read that the next try answers.
fn rows(ctl: &Path, addrs: &str, query: &str) -> Result<Vec<Value>, DbError> {
    let t0 = Instant::now();
    loop {
        let last = match sql(ctl, addrs, query) {
            Ok(rows) if !rows.is_empty() => return Ok(rows),
            Ok(_) => DbError::Sut(format!("restatectl sql: no row for {query:?}")),
            Err(e) => tool(e),
        };
        if t0.elapsed() > READ {
            return Err(last);
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// True when restatectl's output says it failed (it often exits 0 then).
pub(super) fn failed(out: &str) -> bool {
    out.contains("Error:") || out.contains("[ERR]") || out.contains(" ERROR ")
}

/// restatectl, failing when it printed an error.
pub(super) fn ctl_ok(ctl: &Path, args: &[&str]) -> Result<String, DbError> {
    let out = restatectl(ctl, args).map_err(tool)?;
    if failed(&out) {
        return Err(DbError::Sut(format!("restatectl {}: {}", args[2..].join(" "), out.trim())));
    }
    Ok(out)
}

impl Restate {
    fn tails(ctl: &Path, addrs: &str) -> Result<BTreeMap<u32, LogTail>, DbError> {
        let rows = rows(ctl, addrs, "SELECT log_id, segment_index, kind, logs_metadata_version FROM logs_tail_segments")?;
        Ok(log_tails(&rows))
    }

    /// The logs a fault names, or every log.
    fn named_logs(tails: &BTreeMap<u32, LogTail>, logs: &[u32]) -> Vec<u32> {
        if logs.is_empty() {
            tails.keys().copied().collect()
        } else {
            logs.to_vec()
        }
    }

    /// `restatectl logs reconfigure` (or `seal`) on each log; the chain
    /// before and after.
    fn on_logs(ctl: &Path, addrs: &str, logs: &[u32], verb: &str) -> Result<Value, DbError> {
        let before = Self::tails(ctl, addrs)?;
        let ids = Self::named_logs(&before, logs);
        // one restatectl a run of consecutive logs: all 24 of a cluster in
        // 0.75 s, against 3.6 s one at a time
        for range in ranges(&ids) {
            let args: Vec<&str> = match verb {
                "seal" => vec!["--address", addrs, "logs", "seal", &range, "--yes"],
                _ => vec!["--address", addrs, "logs", "reconfigure", "--log-id", &range, "--yes"],
            };
            ctl_ok(ctl, &args)?;
        }
        let after = Self::tails(ctl, addrs)?;
        let pick = |m: &BTreeMap<u32, LogTail>| ids.iter().filter_map(|i| m.get(i).cloned()).collect::<Vec<_>>();
        Ok(json!({"logs": ids, "before": pick(&before), "after": pick(&after)}))
    }

    /// Extends each named log still sealed; which ones it extended and
    /// which the cluster had already extended itself.
    fn extend(ctl: &Path, addrs: &str, logs: &[u32]) -> Result<Value, DbError> {
        let before = Self::tails(ctl, addrs)?;
        let ids = Self::named_logs(&before, logs);
        let sealed: Vec<u32> = ids.iter().copied().filter(|i| before.get(i).is_some_and(|t| t.sealed)).collect();
        let mut v = if sealed.is_empty() { json!({"before": [], "after": []}) } else { Self::on_logs(ctl, addrs, &sealed, "reconfigure")? };
        v["logs"] = json!(ids);
        v["extended_by_faultline"] = json!(sealed);
        v["already_writable"] = json!(ids.iter().filter(|i| !sealed.contains(i)).collect::<Vec<_>>());
        Ok(v)
    }

    /// name -> plain node id (`N3`).
    fn node_ids(ctl: &Path, addrs: &str) -> Result<BTreeMap<String, String>, DbError> {
        let rows = rows(ctl, addrs, "SELECT name, plain_node_id, storage_state FROM nodes")?;
        Ok(rows.iter().filter_map(|r| Some((r["name"].as_str()?.to_string(), r["plain_node_id"].as_str()?.to_string()))).collect())
    }

    pub(super) fn ids_of(ctl: &Path, addrs: &str, names: &[String]) -> Result<Vec<String>, DbError> {
        let ids = Self::node_ids(ctl, addrs)?;
        names.iter().map(|n| ids.get(n).cloned().ok_or_else(|| DbError::Sut(format!("{n} is not a node of the Restate cluster")))).collect()
    }

    fn move_leadership(&self, ctl: &Path, addrs: &str, names: &[String]) -> Result<Value, DbError> {
        let away = Self::ids_of(ctl, addrs, names)?;
        let replicas = rows(ctl, addrs, "SELECT partition_id, plain_node_id, is_leader FROM partition_replica_set")?;
        let moves = new_leaders(&replicas, &away);
        let t0 = Instant::now();
        for (p, to) in &moves {
            ctl_ok(ctl, &["--address", addrs, "partitions", "leadership", "pin", "--node", to, &p.to_string(), "--yes"])?;
            let mut pins = self.pins.lock().unwrap_or_else(|e| e.into_inner());
            for n in names {
                pins.entry(n.clone()).or_default().push(*p);
            }
        }
        // moved when no partition is led from the nodes any more
        let q = format!(
            "SELECT partition_id FROM partition_replica_set WHERE is_leader AND plain_node_id IN ({})",
            away.iter().map(|a| format!("'{a}'")).collect::<Vec<_>>().join(",")
        );
        let moved = loop {
            // a query that fails is "not known yet", asked again until MOVE
            let left = sql(ctl, addrs, &q).ok();
            let done = left.as_ref().is_some_and(Vec::is_empty);
            if done || t0.elapsed() > MOVE {
                break done;
            }
            std::thread::sleep(Duration::from_millis(200));
        };
        Ok(json!({"nodes": names, "pinned": moves, "moved": moved, "moved_in_s": t0.elapsed().as_secs_f64()}))
    }

    /// Unpins what `move-leadership` pinned away from `names`; every
    /// partition when this process pinned none (a heal after faultline
    /// itself was killed, when it cannot know which).
    fn return_leadership(&self, ctl: &Path, addrs: &str, names: &[String]) -> Result<Value, DbError> {
        let mut mine: Vec<i64> = {
            let mut pins = self.pins.lock().unwrap_or_else(|e| e.into_inner());
            names.iter().filter_map(|n| pins.remove(n)).flatten().collect()
        };
        mine.sort_unstable();
        mine.dedup();
        let parts: Vec<String> = if mine.is_empty() {
            let rows = rows(ctl, addrs, "SELECT partition_id FROM partitions")?;
            rows.iter().filter_map(|r| r["partition_id"].as_i64()).map(|p| p.to_string()).collect()
        } else {
            mine.iter().map(i64::to_string).collect()
        };
        let mut args = vec!["--address", addrs, "partitions", "leadership", "unpin"];
        args.extend(parts.iter().map(String::as_str));
        args.push("--yes");
        if !parts.is_empty() {
            ctl_ok(ctl, &args)?;
        }
        Ok(json!({"nodes": names, "unpinned": parts.len()}))
    }

    fn membership(ctl: &Path, addrs: &str, names: &[String], verb: &str) -> Result<Value, DbError> {
        let ids = Self::ids_of(ctl, addrs, names)?;
        ctl_ok(ctl, &["--address", addrs, "metadata-server", verb, &ids.join(","), "--yes"])?;
        Ok(json!({"nodes": names, "node_ids": ids}))
    }
}

/// A fault on Restate as a package: `on_node` names one node per
/// scheduled window; the inverse keeps the logs named.
const fn own(name: &'static str, start_f: &'static str, stop_f: &'static str, color: &'static str, on_node: bool) -> Package {
    Package { kind: Kind::System { on_node, keeps: &["logs"] }, name, start_f, stop_f, color }
}

/// Restate's own faults, through restatectl.
pub const PACKAGES: [Package; 5] = [
    own("reconfigure-log", "reconfigure-log", "settle-log", "#b8e0b0", false),
    own("seal-log", "seal-log", "extend-log", "#90c890", false),
    own("wipe-node", "wipe-node", "rejoin-node", "#e0a0c8", true),
    own("move-leadership", "move-leadership", "return-leadership", "#c0c0c0", true),
    own("metadata-membership", "remove-metadata-node", "add-metadata-node", "#d0b890", true),
];

/// The arguments of a fault on Restate's logs (every log when `logs` is
/// empty); a seal may be tried again for `retry_ms`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LogArgs {
    #[serde(default)]
    logs: Vec<u32>,
    #[serde(default)]
    retry_ms: u64,
}

/// What a fault on Restate takes: its logs (log faults), nothing else
/// (node faults: the nodes are the fault's own).
fn log_args(fault: &SystemFault) -> Result<LogArgs, String> {
    let a: LogArgs = fault.args().map_err(|e| e.to_string())?;
    match fault.f.as_str() {
        "seal-log" => Ok(a),
        "reconfigure-log" | "settle-log" | "extend-log" if a.retry_ms == 0 => Ok(a),
        "reconfigure-log" | "settle-log" | "extend-log" => Err(format!("{}: retry_ms is seal-log's alone", fault.f)),
        _ if fault.args.is_empty() => Ok(a),
        _ => Err(format!("{}: takes its nodes only, no {}", fault.f, fault.args.keys().cloned().collect::<Vec<_>>().join(", "))),
    }
}

impl SystemFaults for Restate {
    fn packages(&self) -> &'static [Package] {
        &PACKAGES
    }

    fn check(&self, fault: &SystemFault) -> Result<(), String> {
        log_args(fault).map(|_| ())
    }

    fn apply(&self, fault: &SystemFault, topo: &Topology, nodes: &[&NodeClient]) -> Result<Value, DbError> {
        let a = log_args(fault).map_err(DbError::Sut)?;
        let ctl = self.bins()?.restatectl.clone();
        let addrs = Self::addresses(topo);
        let (ctl, addrs) = (ctl.as_path(), addrs.as_str());
        let names = &fault.nodes;
        match fault.f.as_str() {
            "reconfigure-log" => Self::on_logs(ctl, addrs, &a.logs, "reconfigure"),
            "seal-log" if a.retry_ms == 0 => Self::on_logs(ctl, addrs, &a.logs, "seal"),
            "seal-log" => super::seal::seal_until(ctl, addrs, &a.logs, Duration::from_millis(a.retry_ms)),
            "settle-log" | "extend-log" => Self::extend(ctl, addrs, &a.logs),
            "wipe-node" => {
                for n in nodes {
                    signal(n, "-KILL", SERVER_PATTERN)?;
                    n.run(&Cmd::new(["rm", "-rf", DATA]).sudo())?;
                }
                Ok(json!({"nodes": names, "deleted": DATA}))
            }
            "rejoin-node" => {
                let mut steps = Vec::new();
                for n in nodes {
                    steps.push(self.rejoin(ctl, addrs, n, topo)?);
                }
                Ok(json!({"nodes": names, "steps": steps}))
            }
            "move-leadership" => self.move_leadership(ctl, addrs, names),
            "return-leadership" => self.return_leadership(ctl, addrs, names),
            "remove-metadata-node" => Self::membership(ctl, addrs, names, "remove-node"),
            "add-metadata-node" => Self::membership(ctl, addrs, names, "add-node"),
            other => Err(DbError::Sut(format!("{other} is not a fault on Restate itself"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_chain_reads_as_sealed_at_its_last_segment() {
        let rows = vec![
            json!({"log_id": 0, "segment_index": 0, "kind": "replicated", "logs_metadata_version": 26}),
            json!({"log_id": 0, "segment_index": 0, "kind": "sealed", "logs_metadata_version": 26}),
            json!({"log_id": 1, "segment_index": 2, "kind": "replicated", "logs_metadata_version": 27}),
        ];
        let t = log_tails(&rows);
        assert_eq!(t[&0], LogTail { log_id: 0, segment_index: 0, sealed: true, metadata_version: 26 });
        assert_eq!(t[&1], LogTail { log_id: 1, segment_index: 2, sealed: false, metadata_version: 27 });
    }

    #[test]
    fn consecutive_logs_are_one_range() {
        assert_eq!(ranges(&[5, 0, 1, 2, 2, 7, 8]), ["0-2", "5", "7-8"]);
        assert!(ranges(&[]).is_empty());
    }

    #[test]
    fn leadership_moves_to_another_replica_of_each_partition_led_from_the_node() {
        let r = |p: i64, n: &str, leader: bool| json!({"partition_id": p, "plain_node_id": n, "is_leader": leader});
        let rows = vec![r(0, "N3", false), r(0, "N1", true), r(1, "N1", false), r(1, "N2", true), r(2, "N1", true), r(2, "N2", false)];
        let m = new_leaders(&rows, &["N1".to_string()]);
        assert_eq!(m, BTreeMap::from([(0, "N3".to_string()), (2, "N2".to_string())]));
        assert!(new_leaders(&rows, &["N9".to_string()]).is_empty());
    }

    #[test]
    fn restates_faults_are_one_catalog_and_their_arguments_are_checked() {
        let c = nuclei::Catalog::with(&PACKAGES).unwrap();
        let fault = |v: Value| match serde_json::from_value::<nuclei::Fault>(v).unwrap() {
            nuclei::Fault::System(s) => s,
            other => panic!("{other:?}"),
        };
        let seal = fault(json!({"f": "seal-log", "logs": [0], "retry_ms": 60000}));
        assert_eq!(c.inverse(&nuclei::Fault::System(seal.clone())).map(|i| serde_json::to_value(i).unwrap()), Some(json!({"f": "extend-log", "logs": [0]})));
        assert!(log_args(&seal).is_ok());
        assert!(log_args(&fault(json!({"f": "wipe-node", "nodes": ["n2"]}))).is_ok());
        let e = log_args(&fault(json!({"f": "seal-log", "lgos": [0]}))).unwrap_err();
        assert!(e.starts_with("seal-log: unknown field `lgos`"), "{e}");
        assert!(log_args(&fault(json!({"f": "extend-log", "retry_ms": 5}))).unwrap_err().contains("seal-log's alone"));
        assert!(log_args(&fault(json!({"f": "wipe-node", "nodes": ["n2"], "logs": [1]}))).unwrap_err().contains("takes its nodes only, no logs"));
    }
}
