//! Faults on Restate itself, through `restatectl` on the control node: log
//! reconfiguration and seals (with the chain before and after), wipes and
//! the steps a wiped node needs to rejoin, partition leadership, metadata
//! membership.

pub use super::chain::log_tails;
use super::chain::{conflicted_logs, expand, ranges, CONFLICT, CONFLICT_RETRY};
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
pub(super) fn rows(ctl: &Path, addrs: &str, query: &str) -> Result<Vec<Value>, DbError> {
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
        let mut conflicts = Vec::new();
        let mut todo = ids.clone();
        let t0 = Instant::now();
        while !todo.is_empty() {
            let mut again = Vec::new();
            for range in ranges(&todo) {
                let args: Vec<&str> = match verb {
                    "seal" => vec!["--address", addrs, "logs", "seal", &range, "--yes"],
                    _ => vec!["--address", addrs, "logs", "reconfigure", "--log-id", &range, "--yes"],
                };
                match ctl_ok(ctl, &args) {
                    Ok(_) => {}
                    Err(DbError::Sut(e)) if e.contains(CONFLICT) && t0.elapsed() < CONFLICT_RETRY => {
                        let failed = conflicted_logs(&e);
                        again.extend(if failed.is_empty() { expand(&range) } else { failed });
                        conflicts.push(e.lines().find(|l| l.contains(CONFLICT)).unwrap_or("").trim().to_string());
                    }
                    Err(e) => return Err(e),
                }
            }
            if !again.is_empty() {
                std::thread::sleep(Duration::from_millis(500));
            }
            todo = again;
        }
        let after = Self::tails(ctl, addrs)?;
        let pick = |m: &BTreeMap<u32, LogTail>| ids.iter().filter_map(|i| m.get(i).cloned()).collect::<Vec<_>>();
        Ok(json!({"logs": ids, "before": pick(&before), "after": pick(&after), "conflicts": conflicts}))
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
    pub(super) fn node_ids(ctl: &Path, addrs: &str) -> Result<BTreeMap<String, String>, DbError> {
        let rows = rows(ctl, addrs, "SELECT name, plain_node_id, storage_state FROM nodes")?;
        Ok(rows.iter().filter_map(|r| Some((r["name"].as_str()?.to_string(), r["plain_node_id"].as_str()?.to_string()))).collect())
    }

    pub(super) fn ids_of(ctl: &Path, addrs: &str, names: &[String]) -> Result<Vec<String>, DbError> {
        let ids = Self::node_ids(ctl, addrs)?;
        names.iter().map(|n| ids.get(n).cloned().ok_or_else(|| DbError::Sut(format!("{n} is not a node of the Restate cluster")))).collect()
    }
}

/// A fault on Restate as a package: `on_node` names one node per
/// scheduled window; the inverse keeps the logs named.
const fn own(name: &'static str, start_f: &'static str, stop_f: &'static str, color: &'static str, on_node: bool) -> Package {
    Package { kind: Kind::System { on_node, keeps: &["logs"] }, name, start_f, stop_f, color }
}

/// Restate's own faults, through restatectl.
pub const PACKAGES: [Package; 4] = [
    own("reconfigure-log", "reconfigure-log", "settle-log", "#b8e0b0", false),
    own("seal-log", "seal-log", "extend-log", "#90c890", false),
    own("wipe-node", "wipe-node", "rejoin-node", "#e0a0c8", true),
    own("move-leadership", "move-leadership", "return-leadership", "#c0c0c0", true),
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
                    steps.push(self.rejoin(ctl, addrs, n, topo, true)?);
                }
                Ok(json!({"nodes": names, "steps": steps}))
            }
            "move-leadership" => self.move_leadership(ctl, addrs, names),
            "return-leadership" => self.return_leadership(ctl, addrs, names),
            other => Err(DbError::Sut(format!("{other} is not a fault on Restate itself"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
