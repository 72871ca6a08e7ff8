//! Applying faults to a cluster, remembering what is active, and healing
//! all of it (on normal end, on error, and for leftovers of a killed run).

use crate::commands::{self as c, LOSS_CHAIN, PARTITION_CHAIN};
use crate::fault::{Fault, Needs};
use crate::grudge::{valid_for, Grudge};
use control::{Cluster, Cmd, NodeClient};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use workloads::{Db, Topology};

/// The network interface faults shape on each node.
pub const DEV: &str = "eth0";

#[derive(Debug, Default)]
struct Active {
    partition: bool,
    loss: bool,
    slow: bool,
    killed: BTreeSet<String>,
    paused: BTreeSet<String>,
    clocks: BTreeSet<String>,
}

/// The fault injector of one run.
pub struct Nemesis<'a> {
    cluster: &'a Cluster,
    db: &'a dyn Db,
    topo: &'a Topology,
    active: Mutex<Active>,
}

fn now_unix_ns() -> i128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as i128).unwrap_or(0)
}

impl<'a> Nemesis<'a> {
    /// A nemesis for the cluster running `db`.
    pub fn new(cluster: &'a Cluster, db: &'a dyn Db, topo: &'a Topology) -> Self {
        Nemesis { cluster, db, topo, active: Mutex::new(Active::default()) }
    }

    fn active(&self) -> std::sync::MutexGuard<'_, Active> {
        self.active.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn ip(&self, name: &str) -> Result<String, String> {
        self.topo.address(name).map(str::to_string).ok_or_else(|| format!("{name} is not a node of this cluster"))
    }

    fn names(&self) -> Vec<String> {
        self.topo.nodes.iter().map(|(n, _)| n.clone()).collect()
    }

    /// Checks before a run that every node supports what the faults need;
    /// the error says which node lacks what, and why.
    pub fn preflight(&self, needs: &[Needs]) -> Result<(), String> {
        let mut errs = Vec::new();
        for need in needs {
            match need {
                Needs::Kill if self.db.as_kill().is_none() => errs.push(format!("{} cannot be killed and restarted", self.db.name())),
                Needs::Pause if self.db.as_pause().is_none() => errs.push(format!("{} cannot be paused", self.db.name())),
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
                    Needs::Netem if !caps.netem => errs.push(format!(
                        "{}: slow links unsupported on this node: its kernel has no tc netem (partitions and loss with iptables still work)",
                        n.name
                    )),
                    _ => {}
                }
            }
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(errs.join("; "))
        }
    }

    /// Heals what an earlier, killed run left, then creates faultline's
    /// chains on every node.
    pub fn setup(&self) -> Result<(), String> {
        heal_leftovers(self.cluster)?;
        self.on_nodes(&self.names(), |cl| cl.run(&c::setup()).map(|_| ()).map_err(|e| e.to_string()))?;
        Ok(())
    }

    /// Runs `f` on the named nodes in parallel; when each finished (ns since
    /// `t0` is added by the caller), or every error.
    fn on_nodes(&self, names: &[String], f: impl Fn(&NodeClient) -> Result<(), String> + Sync) -> Result<BTreeMap<String, Instant>, String> {
        let results = self.cluster.on_all(|cl| if names.contains(&cl.node().name) { Some(f(cl).map(|_| Instant::now())) } else { None });
        let mut done = BTreeMap::new();
        let mut errs = Vec::new();
        for (name, r) in results {
            match r {
                Some(Ok(t)) => {
                    done.insert(name, t);
                }
                Some(Err(e)) => errs.push(e),
                None => {}
            }
        }
        if errs.is_empty() {
            Ok(done)
        } else {
            Err(errs.join("; "))
        }
    }

    fn drop_per_grudge(&self, chain: &str, g: &Grudge, ports: &[u16], p: Option<f64>) -> Result<BTreeMap<String, Instant>, String> {
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

    /// Applies one fault. Returns what was done, with the time it took
    /// effect on each node (ns since `t0`), for the history.
    pub fn apply(&self, fault: &Fault, t0: Instant) -> Result<Value, String> {
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
                    return Err(format!("loss probability {probability} is not between 0 and 1"));
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
                self.preflight(&[Needs::Netem])?;
                let d = self.on_nodes(nodes, |cl| {
                    let others: Vec<String> = self.topo.nodes.iter().filter(|(n, _)| *n != cl.node().name).map(|(_, a)| a.clone()).collect();
                    let cmd = c::netem_on(DEV, &others, *delay_ms, *jitter_ms, *loss_pct, *reorder_pct);
                    cl.run(&c::netem_off(DEV).and(cmd)).map(|_| ()).map_err(|e| e.to_string())
                })?;
                self.active().slow = true;
                (d, json!({"nodes": nodes, "delay_ms": delay_ms, "jitter_ms": jitter_ms, "loss_pct": loss_pct, "reorder_pct": reorder_pct}))
            }
            Fault::StopSlow => {
                let d = self.on_nodes(&all, |cl| cl.run(&c::netem_off(DEV)).map(|_| ()).map_err(|e| e.to_string()))?;
                self.active().slow = false;
                (d, json!({}))
            }
            Fault::Kill { nodes } => {
                let k = self.db.as_kill().ok_or("the SUT cannot be killed")?;
                self.active().killed.extend(nodes.iter().cloned());
                (self.on_nodes(nodes, |cl| k.kill(cl).map_err(|e| e.to_string()))?, json!({"nodes": nodes}))
            }
            Fault::Start { nodes } => {
                let k = self.db.as_kill().ok_or("the SUT cannot be killed")?;
                let d = self.on_nodes(nodes, |cl| k.restart(cl, self.topo).map_err(|e| e.to_string()))?;
                self.active().killed.retain(|n| !nodes.contains(n));
                (d, json!({"nodes": nodes}))
            }
            Fault::Pause { nodes } => {
                let p = self.db.as_pause().ok_or("the SUT cannot be paused")?;
                self.active().paused.extend(nodes.iter().cloned());
                let pause = c::pause(p.pause_pattern());
                (self.on_nodes(nodes, |cl| cl.run(&pause).map(|_| ()).map_err(|e| e.to_string()))?, json!({"nodes": nodes}))
            }
            Fault::Resume { nodes } => {
                let d = self.on_nodes(nodes, |cl| cl.run(&c::resume_paused()).map(|_| ()).map_err(|e| e.to_string()))?;
                self.active().paused.retain(|n| !nodes.contains(n));
                (d, json!({"nodes": nodes}))
            }
            Fault::BumpClock { offsets_ms } => {
                self.preflight(&[Needs::Clock])?;
                let names: Vec<String> = offsets_ms.keys().cloned().collect();
                self.active().clocks.extend(names.iter().cloned());
                let d = self.on_nodes(&names, |cl| cl.run(&c::bump_clock(offsets_ms[&cl.node().name])).map(|_| ()).map_err(|e| e.to_string()))?;
                (d, json!({"offsets_ms": offsets_ms, "measured_ms": self.clock_offsets()}))
            }
            Fault::StrobeClock { nodes, delta_ms, period_ms, duration_ms } => {
                self.preflight(&[Needs::Clock])?;
                self.active().clocks.extend(nodes.iter().cloned());
                let flips = (duration_ms / period_ms.max(&1)).max(1);
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
                (d, json!({"nodes": nodes, "delta_ms": delta_ms, "period_ms": period_ms, "flips": flips}))
            }
            Fault::ResetClock { nodes } => {
                self.preflight(&[Needs::Clock])?;
                let d = self.on_nodes(nodes, |cl| reset_node_clock(cl, Duration::from_secs(30)))?;
                self.active().clocks.retain(|n| !nodes.contains(n));
                (d, json!({"nodes": nodes, "measured_ms": self.clock_offsets()}))
            }
        };
        let at: Map<String, Value> = done.into_iter().map(|(n, t)| (n, json!(t.saturating_duration_since(t0).as_nanos() as u64))).collect();
        extra["at"] = Value::Object(at);
        Ok(extra)
    }

    /// The SUT's current leader or primary, if it exposes one and one is known.
    pub fn primary(&self) -> Option<String> {
        let p = self.db.as_primary()?;
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
        let http = reqwest::Client::new();
        rt.block_on(p.primary(&http, self.topo))
    }

    /// Each node's clock offset from the control node's, in ms (midpoint of
    /// the SSH round trip; accurate to about half of it).
    pub fn clock_offsets(&self) -> BTreeMap<String, f64> {
        let r = self.cluster.on_all(clock_offset);
        r.into_iter().filter_map(|(n, o)| o.map(|v| (n, v))).collect()
    }

    /// Heals everything this nemesis started: partitions and loss removed,
    /// netem removed, paused processes resumed, killed ones started, clocks
    /// reset. Idempotent; returns the problems it met (it keeps going).
    pub fn heal_all(&self) -> Vec<String> {
        let mut errs = Vec::new();
        let all = self.names();
        let mut note = |r: Result<BTreeMap<String, Instant>, String>| {
            if let Err(e) = r {
                errs.push(e)
            }
        };
        note(self.on_nodes(&all, |cl| cl.run(&c::flush(PARTITION_CHAIN).and(c::flush(LOSS_CHAIN))).map(|_| ()).map_err(|e| e.to_string())));
        let (slow, paused, killed, clocks) = {
            let a = self.active();
            (a.slow, a.paused.iter().cloned().collect::<Vec<_>>(), a.killed.iter().cloned().collect::<Vec<_>>(), a.clocks.iter().cloned().collect::<Vec<_>>())
        };
        if slow {
            note(self.apply(&Fault::StopSlow, Instant::now()).map(|_| BTreeMap::new()));
        }
        if !paused.is_empty() {
            note(self.apply(&Fault::Resume { nodes: paused }, Instant::now()).map(|_| BTreeMap::new()));
        }
        if !killed.is_empty() {
            note(self.apply(&Fault::Start { nodes: killed }, Instant::now()).map(|_| BTreeMap::new()));
        }
        if !clocks.is_empty() {
            note(self.apply(&Fault::ResetClock { nodes: clocks }, Instant::now()).map(|_| BTreeMap::new()));
        }
        let mut a = self.active();
        a.partition = false;
        a.loss = false;
        errs
    }

    /// Heals everything and removes faultline's chains from every node.
    pub fn teardown(&self) -> Vec<String> {
        let mut errs = self.heal_all();
        if let Err(e) = self.on_nodes(&self.names(), |cl| cl.run(&c::teardown()).map(|_| ()).map_err(|e| e.to_string())) {
            errs.push(e);
        }
        errs
    }
}

/// Heals everything when dropped: at the end of a run, on an early return
/// after an error, and while a panic unwinds. Each problem met is passed to
/// `report`.
pub struct HealGuard<'a> {
    nemesis: &'a Nemesis<'a>,
    report: Box<dyn Fn(&str) + 'a>,
}

impl<'a> HealGuard<'a> {
    /// Guards `nemesis`.
    pub fn new(nemesis: &'a Nemesis<'a>, report: impl Fn(&str) + 'a) -> HealGuard<'a> {
        HealGuard { nemesis, report: Box::new(report) }
    }
}

impl Drop for HealGuard<'_> {
    fn drop(&mut self) {
        for e in self.nemesis.teardown() {
            (self.report)(&e);
        }
    }
}

/// Sets a node's clock to the control node's: stops a strobe loop, then
/// shifts the clock by minus its measured offset (in that order: a loop
/// still running could flip it again), accurate to about half an SSH round
/// trip. For nodes with a clock of their own (VMs) only.
pub fn reset_node_clock(cl: &NodeClient, limit: Duration) -> Result<(), String> {
    cl.run(&c::stop_strobe().timeout(limit)).map_err(|e| e.to_string())?;
    let off = clock_offset(cl).ok_or_else(|| format!("{}: cannot read its clock", cl.node().name))?;
    cl.run(&c::reset_clock(-off.round() as i64).timeout(limit)).map(|_| ()).map_err(|e| e.to_string())
}

/// A node's clock offset from the control node's, in ms: of three
/// readings, the one with the shortest SSH round trip, taken at its
/// midpoint (accurate to about half that round trip).
fn clock_offset(cl: &control::NodeClient) -> Option<f64> {
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

/// What is left on each node: fault rules in faultline's chains, and
/// stopped processes.
pub fn leftovers(cluster: &Cluster) -> BTreeMap<String, (u32, u32)> {
    cluster
        .on_all(|cl| {
            let count = |cmd: Cmd| cl.exec(&cmd).ok().and_then(|o| o.stdout.trim().parse::<u32>().ok()).unwrap_or(u32::MAX);
            (count(c::count_rules()), count(c::count_stopped()))
        })
        .into_iter()
        .collect()
}

/// Removes what a killed run may have left on every node: faultline's
/// chains and rules, netem, stopped processes; resets clocks on nodes that
/// have their own. Waits at most `Duration` per node command.
pub fn heal_leftovers(cluster: &Cluster) -> Result<(), String> {
    let t = Duration::from_secs(30);
    let errs: Vec<String> = cluster
        .on_all(|cl| {
            let mut cmd = c::teardown().and(c::resume_paused());
            if cl.node().capabilities.netem {
                cmd = cmd.and(c::netem_off(DEV));
            }
            cl.run(&cmd.timeout(t)).map_err(|e| e.to_string())?;
            if cl.node().capabilities.clock_skew {
                reset_node_clock(cl, t)?;
            }
            Ok::<(), String>(())
        })
        .into_iter()
        .filter_map(|(_, r)| r.err())
        .collect();
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs.join("; "))
    }
}
