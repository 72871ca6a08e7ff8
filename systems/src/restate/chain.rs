//! Reading and naming Restate's log chains: each log's tail from
//! `logs_tail_segments`, restatectl's ranges of log ids, and the logs a
//! conflicting seal or reconfiguration names.

use super::records::LogTail;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

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

/// What restatectl prints when a log's chain changed between its read of
/// the metadata and the seal or reconfiguration (seen in CI: log 0's seal
/// refused with `segment index found in metadata does not match expected
/// 1!=2` while logs 1 and 2 sealed, 2 s after a reconfiguration): a
/// conflict, tried again on the logs it names, each recorded.
pub const CONFLICT: &str = "does not match expected";
/// How long conflicts are tried again before the fault fails.
pub const CONFLICT_RETRY: Duration = Duration::from_secs(10);

/// The logs restatectl says it failed on (`... for log=0: ...`).
pub fn conflicted_logs(out: &str) -> Vec<u32> {
    let mut ids: Vec<u32> = out.split("for log=").skip(1).filter_map(|rest| rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// The logs of one of restatectl's ranges (`"0-2"` -> `[0, 1, 2]`).
pub fn expand(range: &str) -> Vec<u32> {
    let mut ends = range.splitn(2, '-').filter_map(|v| v.parse::<u32>().ok());
    match (ends.next(), ends.next()) {
        (Some(a), Some(b)) => (a..=b).collect(),
        (Some(a), None) => vec![a],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_conflicting_seal_is_tried_again_on_the_logs_it_names() {
        let out = "restatectl logs seal 0-2 --yes: ✅ log=1 chain has been sealed\n\n2026-12-07T20:25:14Z ERROR restatectl::commands::log::seal: Failed to seal log chain for log=0: Encountered multiple errors:\n - http://10.77.0.101:5122/ -> Internal error: segment index found in metadata does not match expected 1!=2";
        assert!(out.contains(CONFLICT));
        assert_eq!(conflicted_logs(out), vec![0]);
        assert_eq!(expand("0-2"), vec![0, 1, 2]);
        assert_eq!(expand("5"), vec![5]);
        assert_eq!(ranges(&expand("3-4")), vec!["3-4"]);
    }

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
}
