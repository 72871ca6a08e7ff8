//! Generated list-append histories from a serializable in-memory database:
//! each transaction takes effect atomically at one instant between its
//! invocation and its completion (so the history is strict serializable),
//! keys rotate so that each sees a bounded number of appends, as Elle's
//! generator does. Anomalies can then be planted by editing reads.

use history::{History, Op, OpType, Process, Rng};
use serde_json::{json, Value};

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct TxnSpec {
    /// Transactions.
    pub txns: usize,
    /// Concurrent processes.
    pub processes: usize,
    /// Micro-ops per transaction: from `mops.0` to `mops.1`.
    pub mops: (usize, usize),
    /// Keys in use at once.
    pub active_keys: usize,
    /// Appends a key takes before it is retired for a new one.
    pub appends_per_key: usize,
    /// RNG seed.
    pub seed: u64,
}

impl TxnSpec {
    /// `txns` transactions, 10 processes, 4-8 micro-ops, 10 keys of 32 appends.
    pub fn new(txns: usize, seed: u64) -> TxnSpec {
        TxnSpec { txns, processes: 10, mops: (4, 8), active_keys: 10, appends_per_key: 32, seed }
    }
}

struct Db {
    lists: Vec<Vec<u64>>,
    active: Vec<usize>,
    next_value: Vec<u64>,
}

impl Db {
    fn key(&mut self, rng: &mut Rng, per_key: usize) -> usize {
        let slot = rng.below(self.active.len() as u64) as usize;
        if self.next_value[self.active[slot]] as usize >= per_key {
            self.lists.push(Vec::new());
            self.next_value.push(0);
            self.active[slot] = self.lists.len() - 1;
        }
        self.active[slot]
    }
}

/// A valid (strict serializable) list-append history.
pub fn generate(spec: &TxnSpec) -> History {
    let mut rng = Rng::new(spec.seed);
    let keys = spec.active_keys.max(1);
    let mut db = Db { lists: vec![Vec::new(); keys], active: (0..keys).collect(), next_value: vec![0; keys] };
    let procs = spec.processes.max(1);
    let mut open: Vec<Option<Vec<(bool, usize, u64)>>> = vec![None; procs];
    let mut h = History::default();
    let emit = |h: &mut History, p: usize, kind: OpType, v: Value| {
        let mut op = Op::new(Process::Client(p as u64), kind, "txn", v);
        op.index = h.ops.len() as u64;
        op.time = op.index * 1000;
        h.ops.push(op);
        h.lines.push(h.lines.len() + 1);
    };
    let (mut started, mut running) = (0usize, 0usize);
    while started < spec.txns || running > 0 {
        let p = rng.below(procs as u64) as usize;
        match open[p].take() {
            None if started < spec.txns => {
                let n = spec.mops.0 + rng.below((spec.mops.1.saturating_sub(spec.mops.0) + 1) as u64) as usize;
                let mops: Vec<(bool, usize, u64)> = (0..n)
                    .map(|_| {
                        let k = db.key(&mut rng, spec.appends_per_key);
                        if rng.chance(0.5) {
                            db.next_value[k] += 1;
                            (true, k, db.next_value[k])
                        } else {
                            (false, k, 0)
                        }
                    })
                    .collect();
                let v: Vec<Value> = mops.iter().map(|&(a, k, x)| if a { json!(["append", k, x]) } else { json!(["r", k, null]) }).collect();
                emit(&mut h, p, OpType::Invoke, Value::Array(v));
                open[p] = Some(mops);
                started += 1;
                running += 1;
            }
            None => {}
            Some(mops) => {
                // takes effect now, atomically
                let v: Vec<Value> = mops
                    .iter()
                    .map(|&(a, k, x)| {
                        if a {
                            db.lists[k].push(x);
                            json!(["append", k, x])
                        } else {
                            json!(["r", k, db.lists[k]])
                        }
                    })
                    .collect();
                emit(&mut h, p, OpType::Ok, Value::Array(v));
                running -= 1;
            }
        }
    }
    h
}

/// Appends to `h` one G1c cycle (two transactions each reading the
/// other's append) and one G2-item cycle (write skew: each reads a key
/// empty that the other appends to, a later read showing both appends), on
/// keys and processes of their own, after everything else completed.
pub fn plant_cycles(h: &mut History) {
    let p = h.ops.iter().filter_map(|o| o.process.client()).max().map_or(0, |p| p + 1);
    let (a, b, c, d) = (1_000_000_001u64, 1_000_000_002u64, 1_000_000_003u64, 1_000_000_004u64);
    let txns: [(u64, Value, Value); 5] = [
        (p, json!([["append", a, 1], ["r", b, null]]), json!([["append", a, 1], ["r", b, [1]]])),
        (p + 1, json!([["append", b, 1], ["r", a, null]]), json!([["append", b, 1], ["r", a, [1]]])),
        (p + 2, json!([["r", c, null], ["append", d, 1]]), json!([["r", c, []], ["append", d, 1]])),
        (p + 3, json!([["r", d, null], ["append", c, 1]]), json!([["r", d, []], ["append", c, 1]])),
        (p + 4, json!([["r", c, null], ["r", d, null]]), json!([["r", c, [1]], ["r", d, [1]]])),
    ];
    let mut emit = |process: u64, kind: OpType, v: &Value| {
        let mut op = Op::new(Process::Client(process), kind, "txn", v.clone());
        op.index = h.ops.len() as u64;
        op.time = op.index * 1000;
        h.ops.push(op);
        h.lines.push(h.lines.len() + 1);
    };
    // the two pairs run concurrently; the final read after both
    for pair in [&txns[0..2], &txns[2..4]] {
        for (p, inv, _) in pair {
            emit(*p, OpType::Invoke, inv);
        }
        for (p, _, ok) in pair {
            emit(*p, OpType::Ok, ok);
        }
    }
    let (p, inv, ok) = &txns[4];
    emit(*p, OpType::Invoke, inv);
    emit(*p, OpType::Ok, ok);
}
