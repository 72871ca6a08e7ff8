//! Healing outside a run: what a killed run left on the nodes, and clocks.

use crate::commands as c;
use crate::error::FaultError;
use control::{Cluster, Cmd, NodeClient};
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn now_unix_ns() -> i128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as i128).unwrap_or(0)
}

/// Sets a node's clock to the control node's: stops a strobe loop, then
/// shifts the clock by minus its measured offset (in that order: a loop
/// still running could flip it again), accurate to about half an SSH round
/// trip. For nodes with a clock of their own (VMs) only.
pub fn reset_node_clock(cl: &NodeClient, limit: Duration) -> Result<(), FaultError> {
    let fail = |e: control::ControlError| FaultError::Node(cl.node().name.clone(), e.to_string());
    cl.run(&c::stop_strobe().timeout(limit)).map_err(fail)?;
    let off = clock_offset(cl).ok_or_else(|| FaultError::Node(cl.node().name.clone(), "cannot read its clock".into()))?;
    cl.run(&c::reset_clock(-off.round() as i64).timeout(limit)).map(|_| ()).map_err(fail)
}

/// A node's clock offset from the control node's, in ms: of three
/// readings, the one with the shortest SSH round trip, taken at its
/// midpoint (accurate to about half that round trip).
pub(crate) fn clock_offset(cl: &control::NodeClient) -> Option<f64> {
    let mut best: Option<(i128, f64)> = None;
    for _ in 0..3 {
        let before = now_unix_ns();
        let Ok(out) = cl.run(&Cmd::new(["date", "+%s%N"])) else { continue };
        let after = now_unix_ns();
        let Ok(remote) = out.stdout.trim().parse::<i128>() else { continue };
        let offset = (remote - (before + after) / 2) as f64 / 1e6;
        if best.is_none_or(|(rtt, _)| after - before < rtt) {
            best = Some((after - before, offset));
        }
    }
    best.map(|(_, o)| o)
}

/// What a run left on a node (`u32::MAX`: could not be counted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Leftovers {
    /// Rules in faultline's chains.
    pub rules: u32,
    /// Processes faultline stopped and did not resume.
    pub stopped: u32,
    /// Page cache mounts over a system's data directories.
    pub mounts: u32,
}

impl Leftovers {
    /// True when nothing is left.
    pub fn is_clean(&self) -> bool {
        *self == Leftovers::default()
    }
}

impl std::fmt::Display for Leftovers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} faultline rules, {} stopped processes, {} page cache mounts", self.rules, self.stopped, self.mounts)
    }
}

/// What is left on each node: fault rules in faultline's chains, stopped
/// processes, page cache mounts.
pub fn leftovers(cluster: &Cluster) -> BTreeMap<String, Leftovers> {
    cluster
        .on_all(|cl| {
            let count = |cmd: Cmd| cl.exec(&cmd).ok().and_then(|o| o.stdout.trim().parse::<u32>().ok()).unwrap_or(u32::MAX);
            Leftovers { rules: count(c::count_rules()), stopped: count(c::count_stopped()), mounts: count(crate::disk::count_mounts()) }
        })
        .into_iter()
        .collect()
}

/// Removes what a killed run may have left on every node: a node with a
/// power switch that does not answer is switched on (its power was cut)
/// and booted; faultline's chains and rules, netem, stopped processes,
/// page cache mounts (each data directory then holds what was synced);
/// resets clocks on nodes that have their own. Waits at most 30 s per
/// node command.
pub fn heal_leftovers(cluster: &Cluster) -> Result<(), FaultError> {
    let t = Duration::from_secs(30);
    let errs: Vec<FaultError> = cluster
        .on_all(|cl| {
            crate::nemesis::power::power_on_if_off(cl).map_err(|e| FaultError::Node(cl.node().name.clone(), format!("switching it on: {e}")))?;
            // a page cache left serving: its unsynced data is lost, as in the run
            let mut cmd = c::teardown().and(c::resume_paused()).and(crate::disk::lose()).and(crate::corrupt::forget());
            if cl.node().capabilities.netem {
                cmd = cmd.and(c::netem_off());
            }
            cl.run(&cmd.timeout(t)).map_err(|e| FaultError::Node(cl.node().name.clone(), e.to_string()))?;
            if cl.node().capabilities.clock_skew {
                reset_node_clock(cl, t)?;
            }
            Ok::<(), FaultError>(())
        })
        .into_iter()
        .filter_map(|(_, r)| r.err())
        .collect();
    match FaultError::all(errs) {
        None => Ok(()),
        Some(e) => Err(e),
    }
}
