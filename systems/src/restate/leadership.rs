//! Partition leadership moved away from nodes and given back: pins
//! through restatectl, the pins this process made remembered per node.

use super::faults::{ctl_ok, rows};
use super::{sql, Restate};
use crate::db::DbError;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// How long a leader may take to move (10 s was not enough on a loaded
/// machine: a move 10.2 s after the pin, three clusters running at once).
const MOVE: Duration = Duration::from_secs(30);

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

impl Restate {
    pub(super) fn move_leadership(&self, ctl: &Path, addrs: &str, names: &[String]) -> Result<Value, DbError> {
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
    pub(super) fn return_leadership(&self, ctl: &Path, addrs: &str, names: &[String]) -> Result<Value, DbError> {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leadership_moves_to_another_replica_of_each_partition_led_from_the_node() {
        let r = |p: i64, n: &str, leader: bool| json!({"partition_id": p, "plain_node_id": n, "is_leader": leader});
        let rows = vec![r(0, "N3", false), r(0, "N1", true), r(1, "N1", false), r(1, "N2", true), r(2, "N1", true), r(2, "N2", false)];
        let m = new_leaders(&rows, &["N1".to_string()]);
        assert_eq!(m, BTreeMap::from([(0, "N3".to_string()), (2, "N2".to_string())]));
        assert!(new_leaders(&rows, &["N9".to_string()]).is_empty());
    }
}
