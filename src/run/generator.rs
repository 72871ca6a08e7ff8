//! Generators: what each client process does next. Pure and seeded, so
//! they are unit-tested without a cluster.

use history::Rng;
use serde_json::{json, Value};

/// One client operation, as the workload asks for it.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientOp {
    /// Read an independent register.
    Read { key: u64 },
    /// Write it.
    Write { key: u64, value: u64 },
    /// Compare and set it.
    Cas { key: u64, old: u64, new: u64 },
    /// Add a unique element to the set.
    Add { element: u64 },
    /// Read the whole set.
    ReadSet,
    /// Append a unique value to a log.
    Append { log: u64, value: u64 },
    /// Read a whole log.
    ReadLog { log: u64 },
}

impl ClientOp {
    /// The history `f`.
    pub fn f(&self) -> &'static str {
        match self {
            ClientOp::Read { .. } | ClientOp::ReadSet | ClientOp::ReadLog { .. } => "read",
            ClientOp::Write { .. } => "write",
            ClientOp::Cas { .. } => "cas",
            ClientOp::Add { .. } => "add",
            ClientOp::Append { .. } => "append",
        }
    }

    /// The invocation's value (registers and logs as `[key value]`
    /// tuples, Jepsen's independent convention).
    pub fn value(&self) -> Value {
        match *self {
            ClientOp::Read { key } => json!([key, null]),
            ClientOp::Write { key, value } => json!([key, value]),
            ClientOp::Cas { key, old, new } => json!([key, [old, new]]),
            ClientOp::Add { element } => json!(element),
            ClientOp::ReadSet => Value::Null,
            ClientOp::Append { log, value } => json!([log, value]),
            ClientOp::ReadLog { log } => json!([log, null]),
        }
    }

    /// True for reads (a failed read is a definite `fail`).
    pub fn is_read(&self) -> bool {
        matches!(self, ClientOp::Read { .. } | ClientOp::ReadSet | ClientOp::ReadLog { .. })
    }
}

/// The workload kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Workload {
    /// Independent registers: read / write / cas, linearizability per key.
    Register,
    /// A set: unique adds and whole-set reads.
    Set,
    /// Logs: unique appends and whole-log reads.
    Append,
}

impl Workload {
    /// Its name on the command line and in records.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Register => "register",
            Workload::Set => "set",
            Workload::Append => "append",
        }
    }
}

/// The state of a workload's generator: shared by all processes.
#[derive(Debug, Clone)]
pub struct Generator {
    workload: Workload,
    rng: Rng,
    /// Register: the key each of `slots` key slots works on, and its op count.
    slots: Vec<(u64, u64)>,
    next_key: u64,
    ops_per_key: u64,
    next_unique: u64,
    logs: u64,
}

impl Generator {
    /// A generator for `workload` with `concurrency` processes. Registers:
    /// one key per three processes, each key retired after `ops_per_key`
    /// ops. Appends: a few logs.
    pub fn new(workload: Workload, concurrency: usize, ops_per_key: u64, seed: u64) -> Generator {
        let n = concurrency.div_ceil(3).max(1) as u64;
        Generator {
            workload,
            rng: Rng::new(seed),
            slots: (0..n).map(|k| (k, 0)).collect(),
            next_key: n,
            ops_per_key: ops_per_key.max(1),
            next_unique: 0,
            logs: 3,
        }
    }

    /// The next op for `process`.
    pub fn next(&mut self, process: u64) -> ClientOp {
        match self.workload {
            Workload::Register => {
                let slot = (process % self.slots.len() as u64) as usize;
                if self.slots[slot].1 >= self.ops_per_key {
                    self.slots[slot] = (self.next_key, 0);
                    self.next_key += 1;
                }
                self.slots[slot].1 += 1;
                let key = self.slots[slot].0;
                match self.rng.below(4) {
                    0 | 1 => ClientOp::Read { key },
                    2 => ClientOp::Write { key, value: self.rng.below(5) },
                    _ => ClientOp::Cas { key, old: self.rng.below(5), new: self.rng.below(5) },
                }
            }
            Workload::Set => {
                if self.rng.below(4) == 0 {
                    ClientOp::ReadSet
                } else {
                    self.next_unique += 1;
                    ClientOp::Add { element: self.next_unique }
                }
            }
            Workload::Append => {
                let log = self.rng.below(self.logs);
                if self.rng.below(3) == 0 {
                    ClientOp::ReadLog { log }
                } else {
                    self.next_unique += 1;
                    ClientOp::Append { log, value: self.next_unique }
                }
            }
        }
    }

    /// The reads that end a run, after the heal: one per register key in
    /// use, the whole set, every log.
    pub fn final_reads(&self) -> Vec<ClientOp> {
        match self.workload {
            Workload::Register => self.slots.iter().map(|&(key, _)| ClientOp::Read { key }).collect(),
            Workload::Set => vec![ClientOp::ReadSet],
            Workload::Append => (0..self.logs).map(|log| ClientOp::ReadLog { log }).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_keys_rotate_after_their_op_budget() {
        let mut g = Generator::new(Workload::Register, 3, 4, 1);
        let keys: Vec<u64> = (0..10)
            .map(|_| match g.next(0) {
                ClientOp::Read { key } | ClientOp::Write { key, .. } | ClientOp::Cas { key, .. } => key,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(keys, [0, 0, 0, 0, 1, 1, 1, 1, 2, 2]);
    }

    #[test]
    fn processes_share_keys_three_to_a_key() {
        let mut g = Generator::new(Workload::Register, 6, 100, 1);
        let key = |op: ClientOp| match op {
            ClientOp::Read { key } | ClientOp::Write { key, .. } | ClientOp::Cas { key, .. } => key,
            _ => unreachable!(),
        };
        let ks: Vec<u64> = (0..6).map(|p| key(g.next(p))).collect();
        assert_eq!(ks, [0, 1, 0, 1, 0, 1]);
    }

    #[test]
    fn the_mix_is_seeded_and_has_every_op() {
        let run = |seed| {
            let mut g = Generator::new(Workload::Register, 3, 1000, seed);
            (0..400).map(|i| g.next(i % 3).f()).collect::<Vec<_>>()
        };
        let a = run(5);
        assert_eq!(a, run(5));
        assert_ne!(a, run(6));
        for f in ["read", "write", "cas"] {
            assert!(a.iter().filter(|x| **x == f).count() > 50, "{f}");
        }
    }

    #[test]
    fn set_and_append_elements_are_unique() {
        let mut g = Generator::new(Workload::Set, 4, 10, 1);
        let adds: Vec<u64> = (0..200).filter_map(|i| if let ClientOp::Add { element } = g.next(i) { Some(element) } else { None }).collect();
        let uniq: std::collections::BTreeSet<_> = adds.iter().collect();
        assert_eq!(uniq.len(), adds.len());
        assert!(adds.len() > 100);
        assert_eq!(g.final_reads(), [ClientOp::ReadSet]);
        let mut g = Generator::new(Workload::Append, 4, 10, 1);
        let ops: Vec<ClientOp> = (0..100).map(|i| g.next(i)).collect();
        assert!(ops.iter().any(|o| matches!(o, ClientOp::ReadLog { .. })));
        assert_eq!(g.final_reads().len(), 3);
        assert_eq!(ClientOp::Cas { key: 1, old: 2, new: 3 }.value(), json!([1, [2, 3]]));
    }
}
