//! Start-up phases of a Restate node, read from its log: when the process
//! started, listened, joined the metadata cluster, started its roles, its
//! partition processors, and first led or caught up a partition. Times are
//! seconds after the process's first start line, on the node's clock.

use results::system_faults::Phase;

/// (phase, the text of the log line that marks it), in start-up order.
const MARKS: [(&str, &str); 7] = [
    ("process start", "Starting Restate Server"),
    ("listening", "Server listening"),
    ("metadata member", "Run as member of the metadata cluster"),
    ("node id", "My Node ID is"),
    ("roles started", "were started"),
    ("partition processors", "Reconciling partition processors"),
    ("first partition led or caught up", "became Leader"),
];

/// Seconds since the epoch of a log line's leading RFC 3339 timestamp.
fn stamp(line: &str) -> Option<f64> {
    let t = line.split_whitespace().next()?;
    let dt = chrono::DateTime::parse_from_rfc3339(t).ok()?;
    Some(dt.timestamp() as f64 + dt.timestamp_subsec_nanos() as f64 / 1e9)
}

/// Removes ANSI colour codes (Restate logs in colour).
fn plain(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The phases of the node's first start in `log` (a later restart starts
/// the log over: only the first is read).
pub fn startup_phases(log: &str) -> Vec<Phase> {
    let text = plain(log);
    let mut last_stamp: Option<f64> = None;
    let mut start: Option<f64> = None;
    let mut found: Vec<Phase> = Vec::new();
    for line in text.lines() {
        if let Some(t) = stamp(line) {
            last_stamp = Some(t);
        }
        let Some(t) = last_stamp else { continue };
        // the message is on the line after its stamp: the stamp before it counts
        for (name, mark) in MARKS {
            if !line.contains(mark) || found.iter().any(|p| p.name == name) {
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
        if line.contains("caught up in") && start.is_some() && !found.iter().any(|p| p.name == MARKS[6].0) {
            found.push(Phase { name: MARKS[6].0.to_string(), at_s: t - start.unwrap_or(t) });
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_come_from_the_first_start_only() {
        let log = "\u{1b}[2m2026-11-29T05:26:56.551657Z\u{1b}[0m INFO restate_server\n  Starting Restate Server 1.7.12\n\
                   2026-11-29T05:26:56.640702Z INFO restate_core::network::net_util\n  Server listening\n\
                   2026-11-29T05:26:56.656765Z INFO member\n  Run as member of the metadata cluster\n\
                   2026-11-29T05:26:56.904413Z INFO restate_node\n  Restate node roles [admin] were started\n\
                   2026-11-29T05:27:03.324985Z INFO manager\n  Reconciling partition processors: starts=[P0]\n\
                   2026-11-29T05:27:03.512775Z INFO leadership\n  Processor became Leader of epoch e2\n\
                   2026-11-29T05:30:00.000000Z INFO restate_server\n  Starting Restate Server 1.7.12\n\
                   2026-11-29T05:30:01.000000Z INFO leadership\n  Server listening\n";
        let p = startup_phases(log);
        let names: Vec<&str> = p.iter().map(|x| x.name.as_str()).collect();
        assert_eq!(names, ["process start", "listening", "metadata member", "roles started", "partition processors", "first partition led or caught up"]);
        assert!((p[1].at_s - 0.089).abs() < 1e-3 && (p[5].at_s - 6.961).abs() < 1e-3, "{p:?}");
        assert!(startup_phases("no stamps here").is_empty());
    }
}
