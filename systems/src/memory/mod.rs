//! An in-memory system under test: a cluster of named nodes in this
//! process, with a register per key, sets, logs and list-append
//! transactions, that the runner drives
//! exactly like etcd (clients, probes, faults, readiness), without root,
//! network or lab.
//!
//! Correct, it is linearizable: every op takes effect at one instant
//! under one lock. A node serves only when it is up, not paused, and on the
//! majority side of a partition; otherwise a request hangs (as a minority
//! etcd member does) or, on a killed node, is refused. Switchable [`Bug`]s
//! break it the ways real systems break, so that tests can show each one
//! caught.

mod events;
mod faults;
mod queue;

use crate::txn::{self, Mop};
use crate::{Completion, Ops};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A way the in-memory system can be wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Bug {
    /// Writes, adds and appends sent to a node cut off from the majority
    /// are acknowledged and then lost.
    LostWrite,
    /// Reads on a node cut off from the majority answer from what it had
    /// when the partition began.
    StaleRead,
    /// After a partition heals, appends stall for [`STALL`].
    StallAppend,
    /// A node that was cut off by a partition never serves again.
    NoRecovery,
    /// A kill within [`KILL_AFTER_HEAL`] of a partition's heal loses the
    /// adds and appends acknowledged since the heal (state not yet durable
    /// after the recovery): a failure that needs two faults, in that order,
    /// close together.
    KillAfterHeal,
    /// Every heal hangs for [`HANG`], as a heal whose tool never answers:
    /// what a second interrupt must get the user out of.
    HangingHeal,
    /// fsync returns without syncing: what is acknowledged lives only in
    /// the page cache until the next writeback (every [`WRITEBACK`]), and a
    /// majority losing its unsynced data (`lose-unsynced`) loses it.
    NoFsync,
    /// A pause that starts on a node less than [`CATCH_UP`] after a
    /// partition that cut it off healed (while it catches up) loses the
    /// adds and appends acknowledged since that heal: a narrow bug, for
    /// `explore` to find.
    PauseWhileCatchingUp,
}

/// How often the page cache writes back with [`Bug::NoFsync`] (Linux's
/// dirty pages expire after 30 s; shorter, for short runs).
pub const WRITEBACK: Duration = Duration::from_secs(2);

/// How long a heal hangs with [`Bug::HangingHeal`].
pub const HANG: Duration = Duration::from_secs(60);

/// How soon after a heal a kill loses writes with [`Bug::KillAfterHeal`].
pub const KILL_AFTER_HEAL: Duration = Duration::from_secs(2);

/// How long a node cut off by a partition catches up after the heal.
pub const CATCH_UP: Duration = Duration::from_secs(1);

/// How long appends stall after a heal with [`Bug::StallAppend`].
pub const STALL: Duration = Duration::from_secs(3);

impl Bug {
    /// Every bug, in a stable order.
    pub const ALL: [Bug; 8] =
        [Bug::LostWrite, Bug::StaleRead, Bug::StallAppend, Bug::NoRecovery, Bug::KillAfterHeal, Bug::HangingHeal, Bug::NoFsync, Bug::PauseWhileCatchingUp];

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Bug::LostWrite => "lost-write",
            Bug::StaleRead => "stale-read",
            Bug::StallAppend => "stall-append",
            Bug::NoRecovery => "no-recovery",
            Bug::KillAfterHeal => "kill-after-heal",
            Bug::HangingHeal => "hanging-heal",
            Bug::NoFsync => "no-fsync",
            Bug::PauseWhileCatchingUp => "pause-while-catching-up",
        }
    }

    /// The bug of that name.
    pub fn parse(name: &str) -> Option<Bug> {
        Bug::ALL.into_iter().find(|b| b.name() == name)
    }
}

/// The data: registers, sets, logs.
#[derive(Debug, Clone, Default)]
struct Data {
    registers: HashMap<String, Value>,
    sets: HashMap<String, Vec<Value>>,
    logs: HashMap<String, Vec<Value>>,
    /// The transactions' lists and registers.
    txns: txn::Store,
    /// Queues, oldest value first.
    queues: HashMap<String, std::collections::VecDeque<Value>>,
}

/// Node states and faults in force.
#[derive(Debug, Default)]
struct Faults {
    killed: BTreeSet<usize>,
    paused: BTreeSet<usize>,
    /// node -> nodes whose traffic it drops.
    grudge: BTreeMap<usize, BTreeSet<usize>>,
    /// node -> probability that a request to it is lost.
    loss: BTreeMap<usize, f64>,
    /// Nodes a partition cut off, ever (for [`Bug::NoRecovery`]).
    cut_off: BTreeSet<usize>,
    /// What each cut-off node saw when it was cut off (for [`Bug::StaleRead`]).
    snapshots: HashMap<usize, Data>,
    /// When the last partition healed (for [`Bug::StallAppend`]).
    healed_at: Option<Instant>,
    /// How long each set and log was at that heal (for [`Bug::KillAfterHeal`]).
    healed_lens: Option<(HashMap<String, usize>, HashMap<String, usize>)>,
    /// Requests so far, to draw losses deterministically.
    requests: u64,
    /// What the disks hold, and since when, with [`Bug::NoFsync`] (else
    /// everything acknowledged is on disk).
    synced: Option<(Instant, Data)>,
}

/// The in-memory cluster.
#[derive(Debug)]
pub struct Memory {
    nodes: Vec<String>,
    bugs: BTreeSet<Bug>,
    data: Mutex<Data>,
    faults: Mutex<Faults>,
    events: Mutex<events::Events>,
}

/// What a node does with a request now.
enum Serve {
    /// Serve it from the shared data.
    Yes,
    /// Serve it wrongly (a node cut off, with a bug).
    CutOff,
    /// Refuse it at once (the node is down).
    Refuse,
    /// Never answer (paused, minority, lost).
    Hang,
}

impl Memory {
    /// A cluster of `n` nodes `n1..nN` with `bugs`.
    pub fn new(n: usize, bugs: &[Bug]) -> Arc<Memory> {
        Arc::new(Memory {
            nodes: (1..=n).map(|i| format!("n{i}")).collect(),
            bugs: bugs.iter().copied().collect(),
            data: Mutex::new(Data::default()),
            faults: Mutex::new(Faults::default()),
            events: Mutex::new(events::Events::default()),
        })
    }

    /// The nodes' names.
    pub fn nodes(&self) -> &[String] {
        &self.nodes
    }

    /// True when `bug` is switched on.
    pub fn has(&self, bug: Bug) -> bool {
        self.bugs.contains(&bug)
    }

    fn index(&self, name: &str) -> Result<usize, UnknownNode> {
        self.nodes.iter().position(|n| n == name).ok_or_else(|| UnknownNode(name.to_string()))
    }

    fn faults(&self) -> std::sync::MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn data(&self) -> std::sync::MutexGuard<'_, Data> {
        self.data.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// True when `node` and `other` can talk (neither drops the other).
    fn linked(f: &Faults, node: usize, other: usize) -> bool {
        !f.grudge.get(&node).is_some_and(|d| d.contains(&other)) && !f.grudge.get(&other).is_some_and(|d| d.contains(&node))
    }

    /// True when `node` reaches a majority of the cluster (itself included).
    fn in_majority(&self, f: &Faults, node: usize) -> bool {
        let seen = (0..self.nodes.len()).filter(|&o| o == node || (Memory::linked(f, node, o) && !f.killed.contains(&o))).count();
        seen * 2 > self.nodes.len()
    }

    fn serve(&self, node: usize) -> Serve {
        let mut f = self.faults();
        f.requests += 1;
        if f.killed.contains(&node) {
            return Serve::Refuse;
        }
        if f.paused.contains(&node) {
            return Serve::Hang;
        }
        if let Some(p) = f.loss.get(&node).copied() {
            // a fixed, evenly spread draw: no RNG state to share
            let draw = (f.requests.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 11) as f64 / (1u64 << 53) as f64;
            if draw < p {
                return Serve::Hang;
            }
        }
        if self.has(Bug::NoRecovery) && f.cut_off.contains(&node) && f.grudge.is_empty() {
            return Serve::Hang;
        }
        if self.in_majority(&f, node) {
            Serve::Yes
        } else if f.snapshots.contains_key(&node) && (self.has(Bug::LostWrite) || self.has(Bug::StaleRead)) {
            Serve::CutOff
        } else {
            Serve::Hang
        }
    }

    /// True when appends stall now (after a heal, with [`Bug::StallAppend`]).
    fn stalled(&self) -> bool {
        self.has(Bug::StallAppend) && self.faults().healed_at.is_some_and(|t| crate::clock::since(t) < STALL)
    }

    /// Runs `op` against the data as node `node` sees it. `write` says
    /// whether the op changes the data.
    /// A request that cannot be served waits until it can (a pending
    /// proposal commits once the partition heals), unless the caller gives
    /// up first.
    async fn request(&self, node: usize, write: bool, op: impl Fn(&mut Data) -> Value) -> Completion {
        loop {
            if let Some(c) = self.answer(node, write, &op) {
                return c;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The answer to a request now, or `None` while it cannot be served.
    fn answer(&self, node: usize, write: bool, op: &impl Fn(&mut Data) -> Value) -> Option<Completion> {
        match self.serve(node) {
            Serve::Refuse => Some(Completion::Fail("connect: refused".into())),
            Serve::Hang => None,
            Serve::Yes => {
                if write && self.has(Bug::NoFsync) {
                    self.writeback();
                }
                Some(Completion::Ok(op(&mut self.data())))
            }
            Serve::CutOff => {
                let wrong = if write { self.has(Bug::LostWrite) } else { self.has(Bug::StaleRead) };
                let mut f = self.faults();
                // acknowledged on the cut-off copy (never reaching the
                // majority), or read from it
                let snap = f.snapshots.get_mut(&node).filter(|_| wrong)?;
                Some(Completion::Ok(op(snap)))
            }
        }
    }

    /// With [`Bug::NoFsync`]: the page cache's writeback, if one is due
    /// (before a write, so the write itself is not on disk yet).
    fn writeback(&self) {
        let mut f = self.faults();
        if f.synced.as_ref().is_none_or(|(at, _)| crate::clock::since(*at) >= WRITEBACK) {
            f.synced = Some((crate::clock::now(), self.data().clone()));
        }
    }

    /// True when `node` serves now (its health probe).
    pub fn serving(&self, node: &str) -> bool {
        self.index(node).is_ok_and(|i| matches!(self.serve(i), Serve::Yes | Serve::CutOff))
    }
}

/// A name that is not a node of the in-memory cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownNode(pub String);

impl std::fmt::Display for UnknownNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is not a node of the in-memory cluster", self.0)
    }
}

impl std::error::Error for UnknownNode {}

impl From<UnknownNode> for nuclei::FaultError {
    fn from(e: UnknownNode) -> Self {
        nuclei::FaultError::Invalid(e.to_string())
    }
}

/// A client bound to one node of the in-memory cluster.
#[derive(Debug, Clone)]
pub struct MemoryClient {
    mem: Arc<Memory>,
    node: usize,
}

impl MemoryClient {
    /// A client of `node` (its name).
    pub fn new(mem: Arc<Memory>, node: &str) -> Result<MemoryClient, UnknownNode> {
        let node = mem.index(node)?;
        Ok(MemoryClient { mem, node })
    }
}

fn or_empty(v: Option<&Vec<Value>>) -> Value {
    Value::Array(v.cloned().unwrap_or_default())
}

impl Ops for MemoryClient {
    async fn read(&self, key: &str) -> Completion {
        self.mem.request(self.node, false, |d| d.registers.get(key).cloned().unwrap_or(Value::Null)).await
    }

    async fn write(&self, key: &str, value: &Value) -> Completion {
        self.mem
            .request(self.node, true, |d| {
                d.registers.insert(key.to_string(), value.clone());
                value.clone()
            })
            .await
    }

    async fn cas(&self, key: &str, old: &Value, new: &Value) -> Completion {
        let c = self
            .mem
            .request(self.node, true, |d| {
                let cur = d.registers.get(key).cloned().unwrap_or(Value::Null);
                let matched = cur == *old;
                if matched {
                    d.registers.insert(key.to_string(), new.clone());
                }
                Value::Bool(matched)
            })
            .await;
        match c {
            Completion::Ok(Value::Bool(true)) => Completion::Ok(Value::Array(vec![old.clone(), new.clone()])),
            Completion::Ok(_) => Completion::Fail("cas-mismatch".into()),
            other => other,
        }
    }

    async fn add(&self, set: &str, element: &Value) -> Completion {
        self.mem
            .request(self.node, true, |d| {
                d.sets.entry(set.to_string()).or_default().push(element.clone());
                element.clone()
            })
            .await
    }

    async fn read_set(&self, set: &str) -> Completion {
        self.mem.request(self.node, false, |d| or_empty(d.sets.get(set))).await
    }

    async fn append(&self, log: &str, value: &Value) -> Completion {
        while self.mem.stalled() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.mem
            .request(self.node, true, |d| {
                let l = d.logs.entry(log.to_string()).or_default();
                l.push(value.clone());
                Value::Array(l.clone())
            })
            .await
    }

    async fn read_log(&self, log: &str) -> Completion {
        self.mem.request(self.node, false, |d| or_empty(d.logs.get(log))).await
    }

    async fn txn(&self, mops: &[Mop]) -> Completion {
        let writes = mops.iter().any(|m| !m.is_read());
        // the whole transaction under one lock: serializable, and strict
        self.mem.request(self.node, writes, |d| d.txns.apply(mops)).await
    }

    fn runs_txns(&self) -> bool {
        true
    }

    fn serves_other(&self, f: &str) -> bool {
        queue::FS.contains(&f)
    }

    async fn other(&self, call: &crate::Call) -> Completion {
        self.queue(call).await
    }
}
