//! The load phase of a run: the fault schedule in real time, the client
//! processes, the health probes, the final reads and the progress bar, all
//! until one deadline that a late heal moves: the recovery window is
//! observed after the last heal, however long the heal took.

use super::log::{self, Log};
use super::recorder::Recorder;
use super::system::System;
use super::{Cancel, RunConfig, FINAL_BASE, PROBE_BASE};
use history::{Op, OpType, Process, Rng, Role};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use systems::{clock, Client, Completion, Topology};
use workloads::{Generator, Op as WorkOp};

/// When the load stops: the time limit plus the recovery window, never
/// while a fault or heal is being applied, and pushed later when a heal
/// ends so late that less than the recovery window would be left after it.
pub struct Deadline {
    t0: Instant,
    cancel: Cancel,
    end_ms: AtomicU64,
    recovery: Duration,
    pub(crate) applying: AtomicBool,
}

impl Deadline {
    /// The load ends `end` after `t0`, unless a heal moves it or `cancel`
    /// is set.
    pub fn new(t0: Instant, end: Duration, recovery: Duration, cancel: Cancel) -> Self {
        Deadline { t0, cancel, end_ms: AtomicU64::new(end.as_millis() as u64), recovery, applying: AtomicBool::new(false) }
    }
    /// The instant the load stops, as things stand.
    pub fn end(&self) -> Instant {
        self.t0 + Duration::from_millis(self.end_ms.load(Ordering::SeqCst))
    }
    /// Whether the load should stop now.
    pub fn passed(&self) -> bool {
        (clock::now() >= self.end() && !self.applying.load(Ordering::SeqCst)) || self.cancelled()
    }
    /// Whether the run was stopped (its token set).
    pub fn cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }
    /// A heal ended now: at least the recovery window follows it. Returns
    /// the new end (s since t0) if it moved.
    pub fn healed_now(&self) -> Option<f64> {
        let want = (clock::since(self.t0) + self.recovery).as_millis() as u64;
        let before = self.end_ms.fetch_max(want, Ordering::SeqCst);
        (want > before).then(|| want as f64 / 1e3)
    }
}

/// Makes the client of a logical process (the second argument) on a node
/// (its index, the first).
pub type MakeClient<'a> = dyn Fn(usize, u64) -> Box<dyn Client> + Sync + 'a;

/// The client processes: each bound to a node, issuing ops at its share of
/// the rate with random stagger, until `end` or an interrupt.
pub async fn drive(
    cfg: &RunConfig,
    clients: &MakeClient<'_>,
    generator: &Mutex<Box<dyn Generator>>,
    rec: &Recorder,
    topo: &Topology,
    end: &Deadline,
    seed: u64,
) {
    let n = cfg.concurrency;
    let per_process = Duration::from_secs_f64(n as f64 / cfg.rate);
    let op_deadline = Duration::from_secs_f64(cfg.op_timeout + 1.0);
    let tasks = (0..n).map(|i| {
        let ni = i % topo.nodes.len();
        let node = topo.nodes[ni].0.clone();
        let mut rng = Rng::new(seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        async move {
            let mut process = i as u64;
            let mut client = clients(ni, process);
            // paced by due times, not per-op sleeps: sub-millisecond intervals
            // (high rates) work, and the stagger keeps processes apart
            let mut due = clock::now() + per_process.mul_f64(rng.below(1000) as f64 / 1000.0);
            while !end.passed() {
                let now = clock::now();
                if due > now + Duration::from_millis(1) {
                    tokio::time::sleep_until(due.into()).await;
                } else if now > due + Duration::from_secs(1) {
                    due = now; // after a stall (a slow op), no burst to catch up
                }
                let op = generator.lock().unwrap_or_else(|e| e.into_inner()).next(process);
                let info = invoke(rec, &*client, &op, process, &node, op_deadline, Role::Client).await;
                if info {
                    // Jepsen: a process whose op is indeterminate is never
                    // reused; its successor gets a client of its own
                    process += n as u64;
                    client = clients(ni, process);
                }
                due += per_process.mul_f64(rng.below(2000) as f64 / 1000.0);
                tokio::task::yield_now().await;
            }
        }
    });
    systems::futures_join_all(tasks).await;
}

/// Records an invocation, performs it, records its completion; true if
/// the outcome is indeterminate.
async fn invoke(rec: &Recorder, client: &dyn Client, op: &WorkOp, process: u64, node: &str, deadline: Duration, role: Role) -> bool {
    let mut inv = Op::new(Process::Client(process), OpType::Invoke, op.f, op.value.clone());
    inv.node = Some(node.to_string());
    inv.role = role;
    rec.record(inv);
    let done = match tokio::time::timeout(deadline, workloads::perform(client, op)).await {
        Ok(c) => c,
        Err(_) if op.read => Completion::Fail("timeout".into()),
        Err(_) => Completion::Info("timeout".into()),
    };
    let (kind, value, error) = match done {
        Completion::Ok(v) => (OpType::Ok, v, None),
        Completion::Fail(e) => (OpType::Fail, op.value.clone(), Some(e)),
        Completion::Info(e) => (OpType::Info, op.value.clone(), Some(e)),
    };
    let mut c = Op::new(Process::Client(process), kind, op.f, value);
    c.node = Some(node.to_string());
    c.error = error.map(Value::String);
    c.role = role;
    rec.record(c);
    kind == OpType::Info
}

/// The process number of the probe of service `si` (of `services`) on node
/// `ni`: one apart from every other, however many services a system has.
fn probe_process(ni: usize, si: usize, services: usize) -> u64 {
    PROBE_BASE + (ni * services.max(1) + si) as u64
}

/// Probes every service on every node four times a second, for the
/// recovery checker.
pub async fn probes(system: &dyn System, topo: &Topology, rec: &Recorder, end: &Deadline) {
    let services = system.services();
    let per_node = services.len();
    let tasks = topo.nodes.iter().enumerate().flat_map(|(ni, (node, _))| {
        services.iter().enumerate().map(move |(si, s)| async move {
            let process = probe_process(ni, si, per_node);
            while !end.passed() {
                let tick = clock::now();
                let mut inv = Op::new(Process::Client(process), OpType::Invoke, "probe", json!(s));
                inv.node = Some(node.clone());
                inv.role = Role::Probe;
                rec.record(inv);
                let r = system.probe(ni, s, Duration::from_millis(1000)).await;
                let (kind, err) = match r {
                    Ok(()) => (OpType::Ok, None),
                    Err(e) => (OpType::Fail, Some(Value::String(e.to_string()))),
                };
                let mut c = Op::new(Process::Client(process), kind, "probe", json!(s));
                c.node = Some(node.clone());
                c.error = err;
                c.role = Role::Probe;
                rec.record(c);
                tokio::time::sleep(Duration::from_millis(250).saturating_sub(clock::since(tick))).await;
            }
        })
    });
    systems::futures_join_all(tasks).await;
}

/// How often the runner asks who leads.
const LEADER_EVERY: Duration = Duration::from_secs(2);

/// Asks who leads every 2 s until the deadline, one ask at a time (a slow
/// answer makes the samples sparser, never piles asks up; the last is
/// abandoned at the deadline): the primary at the start and at every
/// change, times from the history's time 0. Nothing for a system that
/// cannot name its primary.
pub async fn leaders(system: &dyn System, rec: &Recorder, end: &Deadline) -> Vec<results::Leader> {
    let mut seen: Vec<results::Leader> = Vec::new();
    if !system.names_primary() {
        return seen;
    }
    while !end.passed() {
        let tick = clock::now();
        let left = end.end().saturating_duration_since(tick);
        let Ok(who) = tokio::time::timeout(left, system.primary()).await else { break };
        if seen.last().is_none_or(|l| l.primary != who) {
            seen.push(results::Leader { time: rec.now(), primary: who });
        }
        tokio::time::sleep(LEADER_EVERY.saturating_sub(clock::since(tick))).await;
    }
    seen
}

/// The workload's final reads, from every node, after the recovery window.
pub async fn final_reads(generator: &Mutex<Box<dyn Generator>>, system: &dyn System, timeout: Duration, topo: &Topology, rec: &Recorder) {
    let reads = generator.lock().unwrap_or_else(|e| e.into_inner()).final_reads();
    let mut p = FINAL_BASE;
    for op in &reads {
        for (i, (node, _)) in topo.nodes.iter().enumerate() {
            let c = system.client(i, p, timeout);
            invoke(rec, &*c, op, p, node, Duration::from_secs(10), Role::Final).await;
            p += 1;
        }
    }
}

/// The progress bar (on a terminal): once a second, the time, ok/s, fail,
/// info and the fault in force.
pub async fn progress(rec: &Recorder, log: &Log, end: &Deadline) {
    log.start_progress(end.end().saturating_duration_since(rec.t0()));
    let c = rec.counters.clone();
    let mut last = 0u64;
    while !end.passed() {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let ok = c.ok.load(Ordering::Relaxed);
        let (fail, info) = (c.fail.load(Ordering::Relaxed), c.info.load(Ordering::Relaxed));
        log.progress(Duration::from_nanos(rec.now()), log::Tally { ok_per_s: ok - last, fail, info });
        last = ok;
    }
    log.finish_progress();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_of_many_services_never_share_a_process() {
        let (nodes, services) = (5, 20);
        let all: std::collections::BTreeSet<u64> = (0..nodes).flat_map(|n| (0..services).map(move |s| probe_process(n, s, services))).collect();
        assert_eq!(all.len(), nodes * services);
        assert!(all.iter().all(|&p| p >= PROBE_BASE), "probes stay apart from clients and final reads");
    }
}
