//! The in-memory nodes' own logs: each node's changes of state (cut off,
//! rejoined and catching up, paused, resumed, killed, started) with the
//! time they happened, written as a real node's log (`memory.log`, an
//! RFC 3339 time and a message a line), so that runs of the in-memory
//! system have node logs to read as runs of real systems do.

use super::{Memory, CATCH_UP};
use std::path::Path;
use std::time::Instant;

/// What the nodes logged, and where the run's clock started.
#[derive(Debug, Default)]
pub(super) struct Events {
    /// The run's time 0 on the runtime's clock, and as Unix ns.
    start: Option<(Instant, i64)>,
    /// (when, node, message), in order.
    lines: Vec<(Instant, usize, String)>,
    /// When each node last rejoined the majority after a partition.
    pub(super) rejoined: std::collections::BTreeMap<usize, Instant>,
}

impl Memory {
    fn events(&self) -> std::sync::MutexGuard<'_, Events> {
        self.events.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Node `node` logs `what` now.
    pub(super) fn log(&self, node: usize, what: &str) {
        self.events().lines.push((crate::clock::now(), node, what.to_string()));
    }

    /// Node `node` rejoined the majority now: it catches up for [`CATCH_UP`].
    pub(super) fn rejoin(&self, node: usize) {
        let now = crate::clock::now();
        let mut e = self.events();
        e.rejoined.insert(node, now);
        e.lines.push((now, node, "rejoined the majority; catching up".into()));
    }

    /// True when `node` rejoined the majority less than [`CATCH_UP`] ago.
    pub(super) fn catching_up(&self, node: usize) -> bool {
        self.events().rejoined.get(&node).is_some_and(|t| crate::clock::since(*t) < CATCH_UP)
    }

    /// The run's time 0 (on the runtime's clock, and as Unix ns): the logs'
    /// times are written from it.
    pub fn start_clock(&self, t0: Instant, start_unix_ns: i64) {
        self.events().start = Some((t0, start_unix_ns));
    }

    /// Writes each node's log to `dir/<node>/memory.log`; the problems met.
    pub fn write_logs(&self, dir: &Path) -> Vec<String> {
        let e = self.events();
        let Some((t0, unix0)) = e.start else { return Vec::new() };
        let mut problems = Vec::new();
        for (i, name) in self.nodes.iter().enumerate() {
            let text: String = e
                .lines
                .iter()
                .filter(|(_, n, _)| *n == i)
                .map(|(at, _, what)| {
                    let ns = unix0 + at.saturating_duration_since(t0).as_nanos() as i64 - t0.saturating_duration_since(*at).as_nanos() as i64;
                    let time = chrono::DateTime::from_timestamp_nanos(ns).to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
                    format!("{time} INFO {name}: {what}\n")
                })
                .collect();
            let d = dir.join(name);
            if let Err(err) = std::fs::create_dir_all(&d).and_then(|()| std::fs::write(d.join("memory.log"), text)) {
                problems.push(format!("{name}: writing memory.log: {err}"));
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Bug, Memory, MemoryClient};
    use crate::{Completion, Ops};
    use nuclei::{grudge, Fault, Injector};
    use serde_json::json;
    use std::time::{Duration, Instant};

    #[test]
    fn a_pause_while_catching_up_loses_what_was_acknowledged_since_the_heal_and_the_node_logs_it() {
        let paused = tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().unwrap();
        let dir = std::env::temp_dir().join(format!("faultline-memory-events-{}", std::process::id()));
        // (ms from the heal to the pause, the node paused, lost)
        for (after_ms, node, lost) in [(500, "n3", true), (1500, "n3", false), (500, "n1", false)] {
            let m = Memory::new(3, &[Bug::PauseWhileCatchingUp]);
            let c = |n: &str| MemoryClient::new(m.clone(), n).unwrap();
            let names = m.nodes().to_vec();
            paused.block_on(async {
                m.start_clock(crate::clock::now(), 1_000_000_000);
                let t0 = Instant::now();
                m.apply(&Fault::StartPartition { grudge: grudge::isolate(&names, "n3"), ports: vec![] }, t0).unwrap();
                tokio::time::advance(Duration::from_secs(2)).await;
                m.apply(&Fault::StopPartition, t0).unwrap();
                assert_eq!(c("n1").add("s", &json!(1)).await, Completion::Ok(json!(1)));
                tokio::time::advance(Duration::from_millis(after_ms)).await;
                m.apply(&Fault::Pause { nodes: vec![node.into()] }, t0).unwrap();
                let want = if lost { json!([]) } else { json!([1]) };
                assert_eq!(c("n2").read_set("s").await, Completion::Ok(want), "pause of {node} {after_ms} ms after the heal");
            });
            let _ = std::fs::remove_dir_all(&dir);
            assert!(m.write_logs(&dir).is_empty());
            let log = std::fs::read_to_string(dir.join("n3/memory.log")).unwrap();
            let lines: Vec<&str> = log.lines().collect();
            assert_eq!(lines[0], "1970-01-01T00:00:01.000000Z INFO n3: cut off from the majority", "{log}");
            assert_eq!(lines[1], "1970-01-01T00:00:03.000000Z INFO n3: rejoined the majority; catching up", "{log}");
            let paused_line = lines.get(2).copied().unwrap_or("");
            assert_eq!(paused_line.ends_with("paused while catching up"), lost, "{log}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
