//! Applying faults to a cluster, remembering what is active, and healing
//! all of it (on normal end, on error, and for leftovers of a killed run).

use crate::catalog::Catalog;
use crate::commands::{self as c, LOSS_CHAIN, PARTITION_CHAIN};
use crate::error::FaultError;
use crate::fault::{Fault, Needs, SystemFault};
use crate::grudge::{valid_for, Grudge};
use crate::heal::{clock_offset, heal_leftovers, reset_node_clock};
use crate::target::{Injector, Target};
use control::{Cluster, Cmd, NodeClient};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Default)]
struct Active {
    partition: bool,
    loss: bool,
    slow: bool,
    killed: BTreeSet<String>,
    paused: BTreeSet<String>,
    clocks: BTreeSet<String>,
    /// Nodes whose unsynced data was lost and that were not restarted.
    lost: BTreeSet<String>,
    /// Nodes with a snapshot not yet restored.
    snapshots: BTreeSet<String>,
    /// Nodes whose power is cut.
    powered_off: BTreeSet<String>,
    /// Nodes taken out of the system's membership and not added back.
    removed: BTreeSet<String>,
    /// The run's faults cut power: setup syncs every node's disk once the
    /// system is installed (set by preflight).
    power: bool,
    /// The run's faults need the page cache: setup serves the data
    /// directories through it (set by preflight).
    disk: bool,
    /// Faults on the system itself whose windows are open, in order.
    system: Vec<Fault>,
}

mod files;
mod membership;
pub(crate) mod power;

/// The fault injector of one run on real nodes (over SSH).
pub struct Nemesis {
    cluster: Arc<Cluster>,
    target: Arc<dyn Target>,
    /// (name, address) of every node.
    nodes: Vec<(String, String)>,
    active: Mutex<Active>,
    /// The shared faults and the system's own (or why its own are wrong).
    catalog: Result<Catalog, String>,
    /// How the page cache serves the data directories.
    page_cache: crate::disk::PageCache,
}

impl Nemesis {
    /// A nemesis for `cluster`, running the system `target`.
    pub fn new(cluster: Arc<Cluster>, target: Arc<dyn Target>) -> Self {
        let nodes = cluster.clients().iter().map(|c| (c.node().name.clone(), c.node().address.clone())).collect();
        let catalog = Catalog::with(target.packages()).map_err(|e| format!("{}'s own faults: {e}", target.name()));
        Nemesis { cluster, target, nodes, active: Mutex::new(Active::default()), catalog, page_cache: Default::default() }
    }

    /// With the page cache serving the data directories as `how` says.
    pub fn with_page_cache(mut self, how: crate::disk::PageCache) -> Self {
        self.page_cache = how;
        self
    }

    fn active(&self) -> std::sync::MutexGuard<'_, Active> {
        self.active.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn ip(&self, name: &str) -> Result<String, FaultError> {
        self.nodes.iter().find(|(n, _)| n == name).map(|(_, a)| a.clone()).ok_or_else(|| FaultError::Invalid(format!("{name} is not a node of this cluster")))
    }

    fn names(&self) -> Vec<String> {
        self.nodes.iter().map(|(n, _)| n.clone()).collect()
    }

    fn check(&self, needs: &[Needs]) -> Result<(), FaultError> {
        let mut errs = Vec::new();
        if let Err(e) = &self.catalog {
            errs.push(e.clone());
        }
        for need in needs {
            match need {
                Needs::Kill if !self.target.can_kill() => errs.push(format!("{} cannot be killed and restarted", self.target.name())),
                Needs::Pause if self.target.pause_pattern().is_none() => errs.push(format!("{} cannot be paused", self.target.name())),
                Needs::Disk if !self.target.can_kill() || self.target.data_dirs().is_empty() => {
                    errs.push(format!("{} cannot lose unsynced data: it names no data directory, or cannot be killed and restarted", self.target.name()))
                }
                Needs::Files if !self.target.can_kill() || self.target.data_dirs().is_empty() => {
                    errs.push(format!("{} cannot have its files corrupted: it names no data directory, or cannot be killed and restarted", self.target.name()))
                }
                Needs::Membership if !self.target.can_change_members() || !self.target.can_kill() => errs.push(format!(
                    "{} has no membership faultline can change (a system declares how to list, remove and add members: a system file's [membership]), or cannot be started again",
                    self.target.name()
                )),
                Needs::Power if !self.target.can_kill() => {
                    errs.push(format!("{} cannot have its power cut: it cannot be started again after the boot", self.target.name()))
                }
                Needs::Disk => {
                    if let Err(e) = crate::disk::local_binary() {
                        errs.push(e.to_string())
                    }
                }
                Needs::System(f) if !self.target.packages().iter().any(|p| p.start_f == f || p.stop_f == f) => {
                    errs.push(format!("{} has no fault {f:?} of its own (faults on the system are done through its own tools)", self.target.name()))
                }
                _ => {}
            }
            for cl in self.cluster.clients() {
                let n = cl.node();
                let caps = n.capabilities;
                match need {
                    Needs::Iptables if !caps.iptables => errs.push(format!("{}: no iptables (partitions and loss need it)", n.name)),
                    Needs::Clock if !caps.clock_skew => errs.push(format!(
                        "{}: clock faults refused: the node has no clock of its own (an LXC container shares the host's clock, which faultline never changes); use VMs",
                        n.name
                    )),
                    Needs::Power => {
                        if let Err(e) = power::switch_of(cl) {
                            errs.push(e)
                        }
                    }
                    Needs::Netem if !caps.netem => errs.push(format!(
                        "{}: slow links unsupported on this node: its kernel has no tc netem (partitions and loss with iptables still work)",
                        n.name
                    )),
                    _ => {}
                }
            }
        }
        match FaultError::all(errs.into_iter().map(FaultError::Unsupported).collect()) {
            None => Ok(()),
            Some(e) => Err(e),
        }
    }

    /// Runs `f` on the named nodes in parallel; when each finished (ns since
    /// `t0` is added by the caller), or every error.
    fn on_nodes(&self, names: &[String], f: impl Fn(&NodeClient) -> Result<(), String> + Sync) -> Result<BTreeMap<String, Instant>, FaultError> {
        let results = self.cluster.on_all(|cl| if names.contains(&cl.node().name) { Some(f(cl).map(|_| Instant::now())) } else { None });
        let mut done = BTreeMap::new();
        let mut errs = Vec::new();
        for (name, r) in results {
            match r {
                Some(Ok(t)) => {
                    done.insert(name, t);
                }
                Some(Err(e)) => errs.push(FaultError::Node(name, e)),
                None => {}
            }
        }
        match FaultError::all(errs) {
            None => Ok(done),
            Some(e) => Err(e),
        }
    }

    fn drop_per_grudge(&self, chain: &str, g: &Grudge, ports: &[u16], p: Option<f64>) -> Result<BTreeMap<String, Instant>, FaultError> {
        valid_for(g, &self.names())?;
        let mut sources: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (n, drops) in g {
            sources.insert(n.clone(), drops.iter().map(|d| self.ip(d)).collect::<Result<_, _>>()?);
        }
        let names: Vec<String> = g.keys().cloned().collect();
        self.on_nodes(&names, |cl| {
            let src = &sources[&cl.node().name];
            cl.run(&c::drop_from(chain, src, ports, p)).map(|_| ()).map_err(|e| e.to_string())
        })
    }

    /// A fault the system applies itself, on the nodes it names; its
    /// window is remembered until its inverse runs.
    fn apply_system(&self, s: &SystemFault, t0: Instant) -> Result<Value, FaultError> {
        let fault = Fault::System(s.clone());
        self.check(&[fault.needs()])?;
        let catalog = self.catalog.as_ref().map_err(|e| FaultError::Unsupported(e.clone()))?;
        let names = &s.nodes;
        for n in names {
            self.ip(n)?;
        }
        let clients: Vec<&NodeClient> = self.cluster.clients().iter().filter(|c| names.contains(&c.node().name)).collect();
        let mut done = self.target.system_fault(s, &clients)?;
        let now = json!(Instant::now().saturating_duration_since(t0).as_nanos() as u64);
        {
            let mut a = self.active();
            if catalog.opens(&fault) {
                a.system.push(fault.clone());
            } else if let Some(i) = a.system.iter().position(|o| catalog.inverse(o).as_ref() == Some(&fault)) {
                a.system.remove(i);
            }
        }
        if !done.is_object() {
            done = json!({"result": done});
        }
        let at: Map<String, Value> = if names.is_empty() { self.names() } else { names.to_vec() }.into_iter().map(|n| (n, now.clone())).collect();
        done["at"] = Value::Object(at);
        Ok(done)
    }

    fn apply_fault(&self, fault: &Fault, t0: Instant) -> Result<Value, FaultError> {
        let all = self.names();
        let (done, mut extra) = match fault {
            Fault::StartPartition { grudge, ports } => {
                let d = self.drop_per_grudge(PARTITION_CHAIN, grudge, ports, None)?;
                self.active().partition = true;
                (d, json!({"grudge": grudge, "ports": ports}))
            }
            Fault::IsolatePrimary { ports } => {
                let (victim, found) = match self.primary() {
                    Some(p) => (p, true),
                    None => (all[0].clone(), false), // no leader known: the first node
                };
                let g = crate::grudge::isolate(&all, &victim);
                let d = self.drop_per_grudge(PARTITION_CHAIN, &g, ports, None)?;
                self.active().partition = true;
                (d, json!({"grudge": g, "ports": ports, "primary": victim, "primary_found": found}))
            }
            Fault::StopPartition => {
                let d = self.on_nodes(&all, |cl| cl.run(&c::flush(PARTITION_CHAIN)).map(|_| ()).map_err(|e| e.to_string()))?;
                self.active().partition = false;
                (d, json!({}))
            }
            Fault::StartLoss { grudge, probability } => {
                if !(0.0..=1.0).contains(probability) {
                    return Err(FaultError::Invalid(format!("loss probability {probability} is not between 0 and 1")));
                }
                let d = self.drop_per_grudge(LOSS_CHAIN, grudge, &[], Some(*probability))?;
                self.active().loss = true;
                (d, json!({"grudge": grudge, "probability": probability}))
            }
            Fault::StopLoss => {
                let d = self.on_nodes(&all, |cl| cl.run(&c::flush(LOSS_CHAIN)).map(|_| ()).map_err(|e| e.to_string()))?;
                self.active().loss = false;
                (d, json!({}))
            }
            Fault::StartSlow { nodes, delay_ms, jitter_ms, loss_pct, reorder_pct } => {
                self.check(&[Needs::Netem])?;
                let d = self.on_nodes(nodes, |cl| {
                    let others: Vec<String> = self.nodes.iter().filter(|(n, _)| *n != cl.node().name).map(|(_, a)| a.clone()).collect();
                    let cmd = c::netem_on(&others, *delay_ms, *jitter_ms, *loss_pct, *reorder_pct);
                    cl.run(&c::netem_off().and(cmd)).map(|_| ()).map_err(|e| e.to_string())
                })?;
                self.active().slow = true;
                (d, json!({"nodes": nodes, "delay_ms": delay_ms, "jitter_ms": jitter_ms, "loss_pct": loss_pct, "reorder_pct": reorder_pct}))
            }
            Fault::StopSlow => {
                let d = self.on_nodes(&all, |cl| cl.run(&c::netem_off()).map(|_| ()).map_err(|e| e.to_string()))?;
                self.active().slow = false;
                (d, json!({}))
            }
            Fault::Kill { nodes } => {
                self.check(&[Needs::Kill])?;
                self.active().killed.extend(nodes.iter().cloned());
                (self.on_nodes(nodes, |cl| self.target.kill(cl).map_err(|e| e.to_string()))?, json!({"nodes": nodes}))
            }
            Fault::Start { nodes } => {
                self.check(&[Needs::Kill])?;
                let d = self.on_nodes(nodes, |cl| self.target.restart(cl).map_err(|e| e.to_string()))?;
                self.active().killed.retain(|n| !nodes.contains(n));
                (d, json!({"nodes": nodes}))
            }
            Fault::Pause { nodes } => {
                let p = self.target.pause_pattern().ok_or_else(|| FaultError::Unsupported(format!("{} cannot be paused", self.target.name())))?;
                self.active().paused.extend(nodes.iter().cloned());
                let pause = c::pause(p);
                (self.on_nodes(nodes, |cl| cl.run(&pause).map(|_| ()).map_err(|e| e.to_string()))?, json!({"nodes": nodes}))
            }
            Fault::Resume { nodes } => {
                let d = self.on_nodes(nodes, |cl| cl.run(&c::resume_paused()).map(|_| ()).map_err(|e| e.to_string()))?;
                self.active().paused.retain(|n| !nodes.contains(n));
                (d, json!({"nodes": nodes}))
            }
            Fault::BumpClock { offsets_ms } => {
                self.check(&[Needs::Clock])?;
                let names: Vec<String> = offsets_ms.keys().cloned().collect();
                self.active().clocks.extend(names.iter().cloned());
                let d = self.on_nodes(&names, |cl| cl.run(&c::bump_clock(offsets_ms[&cl.node().name])).map(|_| ()).map_err(|e| e.to_string()))?;
                (d, json!({"offsets_ms": offsets_ms, "measured_ms": self.clock_offsets()}))
            }
            Fault::StrobeClock { nodes, delta_ms, period_ms, duration_ms } => {
                self.check(&[Needs::Clock])?;
                self.active().clocks.extend(nodes.iter().cloned());
                let flips = strobe_cycles(*duration_ms, *period_ms);
                let period = format!("{:.3}", *period_ms as f64 / 1e3);
                let (up, down) = (c::bump_clock(*delta_ms), c::bump_clock(-*delta_ms));
                let script = format!(
                    "setsid nohup sh -c {} >/dev/null 2>&1 </dev/null &",
                    control::quote(&format!(
                        ": {}; i=0; while [ $i -lt {flips} ]; do {}; sleep {period}; {}; sleep {period}; i=$((i+1)); done",
                        c::STROBE_TAG,
                        up.text(),
                        down.text()
                    ))
                );
                let d = self.on_nodes(nodes, |cl| cl.run(&Cmd::script(&script).sudo()).map(|_| ()).map_err(|e| e.to_string()))?;
                (d, json!({"nodes": nodes, "delta_ms": delta_ms, "period_ms": period_ms, "duration_ms": duration_ms, "flips": flips}))
            }
            Fault::ResetClock { nodes } => {
                self.check(&[Needs::Clock])?;
                let d = self.on_nodes(nodes, |cl| reset_node_clock(cl, Duration::from_secs(30)).map_err(|e| e.to_string()))?;
                self.active().clocks.retain(|n| !nodes.contains(n));
                (d, json!({"nodes": nodes, "measured_ms": self.clock_offsets()}))
            }
            Fault::LoseUnsynced { nodes } => {
                self.check(&[Needs::Disk])?;
                self.active().lost.extend(nodes.iter().cloned());
                let lose = crate::disk::lose();
                let names = Mutex::new(BTreeMap::new());
                let d = self.on_nodes(nodes, |cl| {
                    self.target.kill(cl).map_err(|e| e.to_string())?;
                    let out = cl.run(&lose).map_err(|e| e.to_string())?.stdout;
                    names.lock().unwrap_or_else(|e| e.into_inner()).insert(cl.node().name.clone(), crate::disk::undone(&out, 50));
                    Ok(())
                })?;
                let mut v = json!({"nodes": nodes, "dirs": self.target.data_dirs()});
                if self.page_cache.unsynced_names {
                    // each node's names that no directory fsync had made durable
                    v["names_undone"] = json!(names.into_inner().unwrap_or_else(|e| e.into_inner()));
                }
                (d, v)
            }
            Fault::Restart { nodes } => {
                self.check(&[Needs::Disk])?;
                let mount = crate::disk::mount(&self.target.data_dirs(), &self.page_cache);
                let d = self.on_nodes(nodes, |cl| {
                    cl.run(&mount).map_err(|e| e.to_string())?;
                    self.target.restart(cl).map_err(|e| e.to_string())
                })?;
                self.active().lost.retain(|n| !nodes.contains(n));
                (d, json!({"nodes": nodes}))
            }
            Fault::Bitflip { nodes, probability, chunks, seed } => {
                let (d, mut v) = self.corrupt(nodes, files::How::Bitflip { chunks: *chunks, probability: *probability }, *seed)?;
                v["probability"] = json!(probability);
                (d, v)
            }
            Fault::Truncate { nodes, drop_bytes, seed } => self.corrupt(nodes, files::How::Truncate { bytes: *drop_bytes }, *seed)?,
            Fault::Snapshot { nodes, chunks, seed } => self.corrupt(nodes, files::How::Snapshot { chunks: *chunks }, *seed)?,
            Fault::Restore { nodes } => self.restore(nodes)?,
            Fault::PowerCut { nodes } => self.power_cut(nodes)?,
            Fault::PowerOn { nodes } => self.power_on(nodes)?,
            Fault::RemoveMember { nodes } => self.remove_members(nodes, false)?,
            Fault::ReplaceMember { nodes } => self.remove_members(nodes, true)?,
            Fault::AddMember { nodes } => self.add_members(nodes)?,
            Fault::System(s) => return self.apply_system(s, t0),
        };
        let at: Map<String, Value> = done.into_iter().map(|(n, t)| (n, json!(t.saturating_duration_since(t0).as_nanos() as u64))).collect();
        extra["at"] = Value::Object(at);
        Ok(extra)
    }

    /// The SUT's current leader or primary, if it exposes one and one is known.
    pub fn primary(&self) -> Option<String> {
        self.target.primary()
    }

    /// Each node's clock offset from the control node's, in ms (midpoint of
    /// the SSH round trip; accurate to about half of it).
    pub fn clock_offsets(&self) -> BTreeMap<String, f64> {
        let r = self.cluster.on_all(clock_offset);
        r.into_iter().filter_map(|(n, o)| o.map(|v| (n, v))).collect()
    }

    fn heal_everything(&self) -> Vec<FaultError> {
        let mut errs = Vec::new();
        let all = self.names();
        let mut note = |r: Result<BTreeMap<String, Instant>, FaultError>| {
            if let Err(e) = r {
                errs.push(e)
            }
        };
        // first: every other heal needs the node up
        let off: Vec<String> = self.active().powered_off.iter().cloned().collect();
        if !off.is_empty() {
            note(self.apply_fault(&Fault::PowerOn { nodes: off }, Instant::now()).map(|_| BTreeMap::new()));
        }
        note(self.on_nodes(&all, |cl| cl.run(&c::flush(PARTITION_CHAIN).and(c::flush(LOSS_CHAIN))).map(|_| ()).map_err(|e| e.to_string())));
        let (slow, paused, killed, lost, snapshots, clocks, removed, system) = {
            let a = self.active();
            let nodes = |s: &BTreeSet<String>| s.iter().cloned().collect::<Vec<_>>();
            let closing = self.catalog.as_ref().map(|c| c.closing(&a.system)).unwrap_or_default();
            (a.slow, nodes(&a.paused), nodes(&a.killed), nodes(&a.lost), nodes(&a.snapshots), nodes(&a.clocks), nodes(&a.removed), closing)
        };
        if slow {
            note(self.apply_fault(&Fault::StopSlow, Instant::now()).map(|_| BTreeMap::new()));
        }
        if !paused.is_empty() {
            note(self.apply_fault(&Fault::Resume { nodes: paused }, Instant::now()).map(|_| BTreeMap::new()));
        }
        if !killed.is_empty() {
            note(self.apply_fault(&Fault::Start { nodes: killed }, Instant::now()).map(|_| BTreeMap::new()));
        }
        if !lost.is_empty() {
            note(self.apply_fault(&Fault::Restart { nodes: lost }, Instant::now()).map(|_| BTreeMap::new()));
        }
        if !snapshots.is_empty() {
            note(self.apply_fault(&Fault::Restore { nodes: snapshots }, Instant::now()).map(|_| BTreeMap::new()));
        }
        if !clocks.is_empty() {
            note(self.apply_fault(&Fault::ResetClock { nodes: clocks }, Instant::now()).map(|_| BTreeMap::new()));
        }
        if !removed.is_empty() {
            // the original membership again, once the network is whole
            note(self.apply_fault(&Fault::AddMember { nodes: removed }, Instant::now()).map(|_| BTreeMap::new()));
        }
        for inverse in system {
            note(self.apply_fault(&inverse, Instant::now()).map(|_| BTreeMap::new()));
        }
        let mut a = self.active();
        a.partition = false;
        a.loss = false;
        errs
    }

    fn remove_chains(&self) -> Vec<FaultError> {
        let mut errs = self.heal_everything();
        let mut cmd = c::teardown();
        if self.active().disk {
            // the system is stopped next: its data directories are its own again
            cmd = cmd.and(crate::disk::unmount());
        }
        if let Err(e) = self.on_nodes(&self.names(), |cl| cl.run(&cmd).map(|_| ()).map_err(|e| e.to_string())) {
            errs.push(e);
        }
        errs
    }

    /// Serves the system's data directories through the page cache on
    /// every node (the binary uploaded, /dev/fuse made).
    fn serve_data_dirs(&self) -> Result<(), FaultError> {
        let local = crate::disk::local_binary()?;
        let installed = self.cluster.on_all(|cl| crate::disk::install(cl, &local).err());
        if let Some(e) = FaultError::all(installed.into_iter().filter_map(|(_, e)| e).collect()) {
            return Err(e);
        }
        let mount = crate::disk::mount(&self.target.data_dirs(), &self.page_cache);
        self.on_nodes(&self.names(), |cl| cl.run(&mount).map(|_| ()).map_err(|e| e.to_string()))?;
        Ok(())
    }
}

impl Injector for Nemesis {
    fn catalog(&self) -> Catalog {
        self.catalog.clone().unwrap_or_default()
    }

    fn check_fault(&self, fault: &Fault) -> Result<(), FaultError> {
        match fault {
            Fault::System(s) => self.target.check_fault(s),
            _ => Ok(()),
        }
    }

    /// Checks that every node supports what the faults need; the error says
    /// which node lacks what, and why.
    fn preflight(&self, needs: &[Needs]) -> Result<(), FaultError> {
        self.check(needs)?;
        let mut a = self.active();
        a.disk = needs.contains(&Needs::Disk);
        a.power = needs.contains(&Needs::Power);
        Ok(())
    }

    /// Heals what an earlier, killed run left, then creates faultline's
    /// chains on every node.
    fn setup(&self) -> Result<(), FaultError> {
        heal_leftovers(&self.cluster)?;
        self.on_nodes(&self.names(), |cl| cl.run(&c::setup()).map(|_| ()).map_err(|e| e.to_string()))?;
        if self.active().disk {
            self.serve_data_dirs()?;
        }
        if self.active().power {
            // the system as installed is on disk before any power cut
            self.on_nodes(&self.names(), |cl| cl.run(&Cmd::new(["sync"])).map(|_| ()).map_err(|e| e.to_string()))?;
        }
        Ok(())
    }

    fn apply(&self, fault: &Fault, t0: Instant) -> Result<Value, FaultError> {
        self.apply_fault(fault, t0)
    }

    /// Partitions and loss removed, netem removed, paused processes
    /// resumed, killed ones started, clocks reset.
    fn heal_all(&self) -> Vec<FaultError> {
        self.heal_everything()
    }

    /// Heals everything and removes faultline's chains from every node.
    fn teardown(&self) -> Vec<FaultError> {
        self.remove_chains()
    }
}

/// How many up-and-down cycles a strobe of `duration_ms` makes: each is
/// one period ahead and one period back, so the strobe lasts `duration_ms`
/// (at least one cycle), not twice it.
fn strobe_cycles(duration_ms: u64, period_ms: u64) -> u64 {
    (duration_ms / (2 * period_ms.max(1))).max(1)
}

#[cfg(test)]
mod tests {
    use super::strobe_cycles;

    #[test]
    fn a_strobe_lasts_its_duration_not_twice_it() {
        for (duration, period) in [(100, 10), (1000, 100), (10_000, 250), (5, 10), (0, 0)] {
            let cycles = strobe_cycles(duration, period);
            let period = period.max(1);
            let lasts = cycles * 2 * period;
            assert!(lasts <= duration.max(2 * period), "{duration} ms at {period} ms: {cycles} cycles last {lasts} ms");
            assert!(lasts + 2 * period > duration, "{duration} ms at {period} ms: {cycles} cycles end too early");
        }
    }
}
