//! Start-up phases of a Restate node, read from its log: when the process
//! started, opened its RocksDB databases, listened, joined the metadata
//! cluster, brought its log server out of provisioning, started its roles
//! and partition processors, and first led or caught up a partition. Times
//! are seconds after the process's first start line, on the node's clock.

use results::Phase;

/// (phase, the texts that mark it, all in one log entry), in start-up
/// order. The RocksDB and storage-state entries are logged at debug (the
/// node's `log-filter` turns them on).
const MARKS: [(&str, &[&str]); 11] = [
    ("process start", &["Starting Restate Server"]),
    ("RocksDB open: metadata store", &["Opened rocksdb database", "db: replicated-metadata-server"]),
    ("RocksDB open: log store", &["Opened rocksdb database", "db: log-server"]),
    ("listening", &["Server listening"]),
    ("metadata member", &["Run as member of the metadata cluster"]),
    ("node id", &["My Node ID is"]),
    ("log server out of provisioning", &["My storage state: ReadWrite"]),
    ("roles started", &["were started"]),
    ("partition processors", &["Reconciling partition processors"]),
    ("RocksDB open: partition store", &["Opened rocksdb database", "db: db"]),
    ("first partition led or caught up", &["became Leader"]),
];

/// Seconds since the epoch of a log line's leading RFC 3339 timestamp.
pub(super) fn stamp(line: &str) -> Option<f64> {
    let t = line.split_whitespace().next()?;
    let dt = chrono::DateTime::parse_from_rfc3339(t).ok()?;
    Some(dt.timestamp() as f64 + dt.timestamp_subsec_nanos() as f64 / 1e9)
}

/// Removes ANSI colour codes (Restate logs in colour).
pub(super) fn plain(s: &str) -> String {
    strip_ansi_escapes::strip_str(s)
}

/// The log's entries: each stamp with the lines up to the next stamp.
pub(super) fn entries(text: &str) -> Vec<(f64, String)> {
    let mut out: Vec<(f64, String)> = Vec::new();
    for line in text.lines() {
        match stamp(line) {
            Some(t) => out.push((t, line.to_string())),
            None => {
                if let Some((_, e)) = out.last_mut() {
                    e.push('\n');
                    e.push_str(line);
                }
            }
        }
    }
    out
}

/// The phases of the node's first start in `log` (a later restart starts
/// the log over: only the first is read), each the first entry that has
/// all of its marks.
pub fn startup_phases(log: &str) -> Vec<Phase> {
    let mut start: Option<f64> = None;
    let mut found: Vec<Phase> = Vec::new();
    let led = MARKS[MARKS.len() - 1].0;
    for (t, entry) in entries(&plain(log)) {
        for (name, marks) in MARKS {
            if !marks.iter().all(|m| entry.contains(m)) || found.iter().any(|p| p.name == name) {
                continue;
            }
            if name == "process start" {
                if start.is_some() {
                    return found;
                }
                start = Some(t);
            }
            if let Some(s) = start {
                found.push(Phase { name: name.to_string(), at_s: t - s });
            }
        }
        // "caught up" also ends the start-up for a follower
        if let Some(s) = start.filter(|_| entry.contains("caught up in") && !found.iter().any(|p| p.name == led)) {
            found.push(Phase { name: led.to_string(), at_s: t - s });
        }
    }
    found.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_come_from_the_first_start_only() {
        let log = "\u{1b}[2m2026-11-29T05:26:56.551657Z\u{1b}[0m INFO restate_server\n  Starting Restate Server 1.7.12\n\
                   2026-11-29T05:26:56.560000Z DEBUG restate_rocksdb::db_manager\n  Opened rocksdb database\n    db: log-server\n\
                   2026-11-29T05:26:56.640702Z INFO restate_core::network::net_util\n  Server listening\n\
                   2026-11-29T05:26:56.656765Z INFO member\n  Run as member of the metadata cluster\n\
                   2026-11-29T05:26:56.904413Z INFO restate_node\n  Restate node roles [admin] were started\n\
                   2026-11-29T05:26:56.900000Z DEBUG restate_log_server::service\n  My storage state: ReadWrite\n\
                   2026-11-29T05:27:03.324985Z INFO manager\n  Reconciling partition processors: starts=[P0]\n\
                   2026-11-29T05:27:03.400000Z DEBUG restate_rocksdb::db_manager\n  Opened rocksdb database\n    db: db\n    path: /x/db\n\
                   2026-11-29T05:27:03.512775Z INFO leadership\n  Processor became Leader of epoch e2\n\
                   2026-11-29T05:30:00.000000Z INFO restate_server\n  Starting Restate Server 1.7.12\n\
                   2026-11-29T05:30:01.000000Z INFO leadership\n  Server listening\n";
        let p = startup_phases(log);
        let names: Vec<&str> = p.iter().map(|x| x.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "process start",
                "RocksDB open: log store",
                "listening",
                "metadata member",
                "log server out of provisioning",
                "roles started",
                "partition processors",
                "RocksDB open: partition store",
                "first partition led or caught up"
            ]
        );
        assert!((p[2].at_s - 0.089).abs() < 1e-3 && (p[8].at_s - 6.961).abs() < 1e-3, "{p:?}");
        assert!(startup_phases("no stamps here").is_empty());
    }
}
