//! Where Restate's seals land: each seal its node logs show ("Seal task
//! completed", with the loglet's log and segment), and which of its logs
//! each virtual object key writes to (the key's partition key from the
//! admin's `state` table, the partition's key range and log from
//! restatectl's `partitions` table).

use super::phases::{entries, plain};
use super::stall::LogSeal;
use super::{sql, Restate, ADMIN_PORT};
use crate::db::Topology;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// The seals in a node's log `text`, in seconds since `start_unix_s`.
pub fn seals_in(text: &str, start_unix_s: f64) -> Vec<LogSeal> {
    let mut out = Vec::new();
    for (t, entry) in entries(&plain(text)) {
        if !entry.contains("Seal task completed") {
            continue;
        }
        let Some(id) = entry.lines().find_map(|l| l.trim().strip_prefix("loglet_id: ")) else { continue };
        let Some((log, segment)) = id.trim().split_once('_') else { continue };
        if let (Ok(log), Ok(segment)) = (log.parse(), segment.parse()) {
            out.push(LogSeal { log, segment, at_s: t - start_unix_s });
        }
    }
    out
}

/// The rows of an admin API query on the node at `address`.
fn admin_query(address: &str, query: &str) -> Option<Vec<Value>> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
    rt.block_on(async {
        let r = reqwest::Client::new()
            .post(format!("http://{address}:{ADMIN_PORT}/query"))
            .header("accept", "application/json")
            .json(&serde_json::json!({ "query": query }))
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .ok()?;
        let v: Value = r.json().await.ok()?;
        v["rows"].as_array().cloned()
    })
}

/// Each key's log, from the keys' partition keys and the partitions' key
/// ranges and logs.
pub fn logs_of_keys(keys: &[Value], partitions: &[Value]) -> BTreeMap<String, u32> {
    let ranges: Vec<(u64, u64, u32)> =
        partitions.iter().filter_map(|p| Some((p["start_key"].as_u64()?, p["end_key"].as_u64()?, p["log_id"].as_u64()? as u32))).collect();
    let mut out = BTreeMap::new();
    for k in keys {
        let (Some(key), Some(pk)) = (k["service_key"].as_str(), k["partition_key"].as_u64()) else { continue };
        if let Some((_, _, log)) = ranges.iter().find(|(lo, hi, _)| (*lo..=*hi).contains(&pk)) {
            out.insert(key.to_string(), *log);
        }
    }
    out
}

impl Restate {
    /// The log each key of the objects the workloads call writes to, asked
    /// of the first node that answers; empty when none does.
    pub(super) fn logs_of_keys(&self, topo: &Topology) -> BTreeMap<String, u32> {
        let Ok(b) = self.bins() else { return BTreeMap::new() };
        let Ok(partitions) = sql(&b.restatectl, &Self::addresses(topo), "SELECT start_key, end_key, log_id FROM partitions") else { return BTreeMap::new() };
        let keys = topo.nodes.iter().find_map(|(_, a)| admin_query(a, "SELECT DISTINCT service_key, partition_key FROM state"));
        logs_of_keys(&keys.unwrap_or_default(), &partitions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn seals_and_key_logs_are_read_as_restate_writes_them() {
        let log = "2026-11-29T07:47:41.215293Z INFO restate_bifrost::providers::replicated_loglet::tasks::seal\n  \
                   Seal task completed on f-majority of nodes in 3.071152ms. Nodeset status [N1(?), N2(S), N3(S)]\n    \
                   loglet_id: 5_2\n    replication: {node: 2}\n\
                   2026-11-29T07:47:42.000000Z INFO other\n  loglet_id: 6_0\n";
        let start = chrono::DateTime::parse_from_rfc3339("2026-11-29T07:47:40Z").unwrap().timestamp() as f64;
        let s = seals_in(log, start);
        assert_eq!(s.len(), 1, "{s:?}");
        assert_eq!((s[0].log, s[0].segment), (5, 2));
        assert!((s[0].at_s - 1.215293).abs() < 1e-6);
        let keys = [json!({"service_key": "log0", "partition_key": 11766741522332832005u64}), json!({"service_key": "log1", "partition_key": 5})];
        let parts = [
            json!({"start_key": 0, "end_key": 768614336404564650u64, "log_id": 0}),
            json!({"start_key": 11529215046068469760u64, "end_key": 12297829382473034410u64, "log_id": 15}),
        ];
        let m = logs_of_keys(&keys, &parts);
        assert_eq!(m, BTreeMap::from([("log0".to_string(), 15), ("log1".to_string(), 0)]));
    }
}
