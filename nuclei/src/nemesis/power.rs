//! Power cuts: each node's power switch (its nodes file's `[power]`) run on
//! the control node. A cut loses what the node's kernel and disk had not
//! made durable, data and metadata alike; switching it on boots it, and
//! what a boot takes away of faultline's own (its chains, the clock a VM
//! was set to) is made again before the system is started.

use super::Nemesis;
use crate::commands as c;
use crate::error::FaultError;
use crate::fault::Needs;
use crate::heal::reset_node_clock;
use control::{NodeClient, Power};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The node's power switch, or why it has none.
pub(crate) fn switch_of(cl: &NodeClient) -> Result<&Power, String> {
    cl.node().power.as_ref().ok_or_else(|| {
        format!(
            "{}: no power switch: power-cut needs a [power] section in the nodes file (the lab's VM nodes have one; an LXC container shares the host's page cache, which no container stop loses)",
            cl.node().name
        )
    })
}

/// Waits until the node answers over SSH again, for at most `limit`.
pub(crate) fn wait_for_boot(cl: &NodeClient, limit: Duration) -> Result<(), String> {
    let give_up = Instant::now() + limit;
    cl.disconnect();
    loop {
        match cl.probe() {
            Ok(()) => return Ok(()),
            Err(e) if Instant::now() >= give_up => return Err(format!("did not answer over SSH within {limit:?} of power-on: {e}")),
            Err(_) => std::thread::sleep(Duration::from_millis(500)),
        }
    }
}

/// Switches on a node that does not answer (a run killed while its power
/// was cut) and waits until it boots; nothing for a node that answers.
pub(crate) fn power_on_if_off(cl: &NodeClient) -> Result<bool, String> {
    let Some(p) = cl.node().power.as_ref() else { return Ok(false) };
    if cl.probe().is_ok() {
        return Ok(false);
    }
    p.switch(true, &cl.node().name, &cl.node().address).map_err(|e| e.to_string())?;
    wait_for_boot(cl, p.boot_timeout())?;
    Ok(true)
}

impl Nemesis {
    /// Cuts the power of `nodes`; they stay off until [`Nemesis::power_on`].
    pub(super) fn power_cut(&self, nodes: &[String]) -> Result<(BTreeMap<String, Instant>, Value), FaultError> {
        self.check(&[Needs::Power])?;
        self.active().powered_off.extend(nodes.iter().cloned());
        let d = self.on_nodes(nodes, |cl| {
            let p = switch_of(cl)?;
            p.switch(false, &cl.node().name, &cl.node().address).map_err(|e| e.to_string())?;
            // its sessions died with it
            cl.disconnect();
            Ok(())
        })?;
        Ok((d, json!({"nodes": nodes})))
    }

    /// Switches `nodes` on, waits until each boots, makes faultline's
    /// chains again (and sets a VM's clock, serves the data directories
    /// through the page cache if the run does), and starts the system.
    /// The history records how long each took to boot.
    pub(super) fn power_on(&self, nodes: &[String]) -> Result<(BTreeMap<String, Instant>, Value), FaultError> {
        self.check(&[Needs::Power])?;
        let mount = self.active().disk.then(|| crate::disk::mount(&self.target.data_dirs(), &self.page_cache));
        let boots = std::sync::Mutex::new(BTreeMap::new());
        let d = self.on_nodes(nodes, |cl| {
            let p = switch_of(cl)?;
            let t = Instant::now();
            p.switch(true, &cl.node().name, &cl.node().address).map_err(|e| e.to_string())?;
            wait_for_boot(cl, p.boot_timeout())?;
            boots.lock().unwrap_or_else(|e| e.into_inner()).insert(cl.node().name.clone(), t.elapsed().as_millis() as u64);
            cl.run(&c::setup()).map_err(|e| e.to_string())?;
            if cl.node().capabilities.clock_skew {
                reset_node_clock(cl, Duration::from_secs(30)).map_err(|e| e.to_string())?;
            }
            if let Some(m) = &mount {
                cl.run(m).map_err(|e| e.to_string())?;
            }
            self.target.restart(cl).map_err(|e| e.to_string())
        })?;
        {
            // a boot ends every fault of the node's own: nothing stays paused, killed or unsynced
            let mut guard = self.active();
            let a = &mut *guard;
            for set in [&mut a.powered_off, &mut a.paused, &mut a.killed, &mut a.lost, &mut a.clocks] {
                set.retain(|n| !nodes.contains(n));
            }
        }
        let boot_ms = boots.into_inner().unwrap_or_else(|e| e.into_inner());
        Ok((d, json!({"nodes": nodes, "boot_ms": boot_ms})))
    }
}
