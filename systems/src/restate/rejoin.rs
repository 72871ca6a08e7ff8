//! How a wiped Restate node rejoins: started again, and the steps an
//! operator must take for Restate 1.7 to take it back, each timed.

use super::faults::ctl_ok;
use super::records::{Rejoin, RejoinStep};
use super::{sql, Restate, FABRIC_PORT, SERVER_PATTERN};
use crate::db::{DbError, Topology};
use control::{Cmd, NodeClient};
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};

/// How long a wiped node may take to rejoin.
const REJOIN: Duration = Duration::from_secs(90);

/// The node's `/health` answer, or `None` while it does not answer.
fn health(address: &str) -> Option<Value> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
    rt.block_on(async {
        let r = reqwest::Client::new().get(format!("http://{address}:{FABRIC_PORT}/health")).timeout(Duration::from_secs(2)).send().await.ok()?;
        r.json::<Value>().await.ok()
    })
}

impl Restate {
    /// Starts a wiped node and does what an operator must for it to rejoin,
    /// each step with its time (s since the start): Restate 1.7 marks a log
    /// server that lost its data `data-loss` and refuses to start it, and a
    /// metadata server that lost its state stays `Standby`. A node still a
    /// metadata `member` is removed and added again; one removed before
    /// its wipe (`replace-member`) is added.
    pub(super) fn rejoin(&self, ctl: &Path, addrs: &str, node: &NodeClient, topo: &Topology, member: bool) -> Result<Value, DbError> {
        let name = node.node().name.clone();
        let id = Self::ids_of(ctl, addrs, std::slice::from_ref(&name))?.remove(0);
        let t0 = Instant::now();
        let mut steps: Vec<RejoinStep> = Vec::new();
        let mut step = |what: &str| steps.push(RejoinStep { at_s: t0.elapsed().as_secs_f64(), step: what.to_string() });
        let start = |n: &NodeClient| n.run(&self.start_cmd()).map(|_| ());
        start(node)?;
        step("started");
        let (mut forced, mut removed, mut readded) = (false, !member, false);
        // a step restatectl could not do yet (the node still starting, unreachable) is tried
        // again on the next round, until REJOIN: a rejoin is a sequence of waits, not of one-shot calls
        loop {
            if t0.elapsed() > REJOIN {
                return Err(DbError::Sut(format!("{name} did not rejoin within {} s after its wipe: {steps:?}", REJOIN.as_secs())));
            }
            let states = sql(ctl, addrs, &format!("SELECT storage_state FROM nodes WHERE name = '{name}'")).unwrap_or_default();
            let storage = states.first().and_then(|r| r["storage_state"].as_str()).unwrap_or("").to_string();
            let running = node.exec(&Cmd::new(["pgrep", "-f", SERVER_PATTERN]))?.status == 0;
            if storage == "data-loss" && !forced {
                step("log server refused: storage-state data-loss");
                match ctl_ok(ctl, &["--address", addrs, "nodes", "set-storage-state", "--nodes", &id, "--storage-state", "provisioning", "--force", "--yes"]) {
                    Ok(_) => {
                        step("storage-state set to provisioning (--force)");
                        forced = true;
                    }
                    Err(e) => step(&format!("set-storage-state not done yet ({e}): tried again")),
                }
            }
            if !running {
                start(node)?;
                step("started again");
            }
            let h = topo.address(&name).and_then(health);
            let meta = h.as_ref().and_then(|h| h["metadata_server_status"].as_str()).unwrap_or("").to_string();
            let outside = meta == "Standby" || (!member && !meta.is_empty() && meta != "Member");
            if outside && storage == "read-write" && !readded {
                if !removed {
                    step("metadata server standby");
                    match ctl_ok(ctl, &["--address", addrs, "metadata-server", "remove-node", &id, "--yes"]) {
                        Ok(_) => removed = true,
                        Err(e) => step(&format!("metadata-server remove-node not done yet ({e}): tried again")),
                    }
                }
                if removed {
                    match ctl_ok(ctl, &["--address", addrs, "metadata-server", "add-node", &id, "--yes"]) {
                        Ok(_) => {
                            step(if member { "metadata server removed and added" } else { "metadata server added" });
                            readded = true;
                        }
                        Err(e) => step(&format!("metadata-server add-node not done yet ({e}): tried again")),
                    }
                }
            }
            if storage == "read-write" && h.as_ref().is_some_and(|h| super::node_health(h).is_ok()) {
                step("rejoined: every role ready, log server read-write");
                break;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        let r = Rejoin { node: name, steps, operator_steps: forced || readded };
        serde_json::to_value(r).map_err(|e| DbError::Sut(e.to_string()))
    }
}
