//! Generated histories for tests and benchmarks: concurrent clients of a
//! correct object, so every history is linearizable by construction (until
//! a test corrupts it).

use history::{History, Op, OpType, Process};
use serde_json::{json, Value};

pub use history::Rng;

/// A tiny history DSL for tests: one op per line, `PROCESS TYPE F [VALUE]`
/// with the value in EDN (`0 invoke write 1`, `1 ok read [0 [1 2]]`); op
/// `i` is at time `i` seconds.
pub fn compact(text: &str) -> History {
    let edn: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let w: Vec<&str> = l.splitn(4, ' ').collect();
            let at = |i: usize| w.get(i).copied().unwrap_or("nil");
            format!("{{:process {} :type :{} :f :{} :value {}}}", at(0), at(1), at(2), at(3))
        })
        .collect();
    let mut h = history::parse(&edn.join("\n"), history::Format::Edn).unwrap_or_else(|e| panic!("compact history: {e}"));
    for op in &mut h.ops {
        op.time = op.index * 1_000_000_000;
    }
    h
}

/// Which object the clients use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Object {
    /// One register with read / write / cas (values 0..`values`).
    CasRegister,
    /// Independent cas registers, values `[key value]`.
    KeyedCasRegister,
    /// A kv store: get / put / append of short strings, values `[key value]`.
    Kv,
}

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// The object.
    pub object: Object,
    /// Operations (invocations) in all.
    pub ops: usize,
    /// Concurrent client processes.
    pub processes: usize,
    /// Keys (for keyed objects).
    pub keys: usize,
    /// Distinct values written.
    pub values: u64,
    /// Fraction of operations that complete `info` (half of those took
    /// effect, half did not).
    pub info_rate: f64,
    /// RNG seed.
    pub seed: u64,
}

impl Spec {
    /// A spec with 5 processes, one key, 5 values, no info ops.
    pub fn new(object: Object, ops: usize, seed: u64) -> Spec {
        Spec { object, ops, processes: 5, keys: 1, values: 5, info_rate: 0.0, seed }
    }
}

#[derive(Clone)]
enum Slot {
    Idle,
    Pending { f: &'static str, key: usize, arg: Value, result: Option<(OpType, Value)> },
}

/// The true state of key `key` after applying an op; returns the outcome.
fn apply(obj: Object, state: &mut Value, f: &str, arg: &Value) -> (OpType, Value) {
    match (obj, f) {
        (Object::Kv, "get") => (OpType::Ok, state.clone()),
        (Object::Kv, "put") => {
            *state = arg.clone();
            (OpType::Ok, arg.clone())
        }
        (Object::Kv, _) => {
            let s = format!("{}{}", state.as_str().unwrap_or(""), arg.as_str().unwrap_or(""));
            *state = Value::String(s);
            (OpType::Ok, arg.clone())
        }
        (_, "read") => (OpType::Ok, state.clone()),
        (_, "write") => {
            *state = arg.clone();
            (OpType::Ok, arg.clone())
        }
        _ => {
            if *state == arg[0] {
                *state = arg[1].clone();
                (OpType::Ok, arg.clone())
            } else {
                (OpType::Fail, arg.clone())
            }
        }
    }
}

fn choose(obj: Object, rng: &mut Rng, values: u64, seq: usize) -> (&'static str, Value) {
    let r = rng.below(10);
    match obj {
        Object::Kv => match r {
            0..=4 => ("get", Value::Null),
            5..=7 => ("put", json!(format!("x{seq}"))),
            _ => ("append", json!(format!("+{}", rng.below(values)))),
        },
        _ => match r {
            0..=3 => ("read", Value::Null),
            4..=7 => ("write", json!(rng.below(values))),
            _ => ("cas", json!([rng.below(values), rng.below(values)])),
        },
    }
}

/// Generates a linearizable history of `spec.ops` operations.
pub fn generate(spec: &Spec) -> History {
    let mut rng = Rng::new(spec.seed);
    let keyed = spec.object != Object::CasRegister;
    let init = if spec.object == Object::Kv { json!("") } else { Value::Null };
    let mut state = vec![init; spec.keys.max(1)];
    let procs = spec.processes.max(1);
    let mut slots = vec![Slot::Idle; procs];
    let mut ids: Vec<u64> = (0..procs as u64).collect();
    let (mut started, mut idle) = (0usize, procs);
    let mut h = History::default();
    let emit = |h: &mut History, p: u64, kind: OpType, f: &str, v: Value| {
        let mut op = Op::new(Process::Client(p), kind, f, v);
        op.index = h.ops.len() as u64;
        op.time = op.index * 1000;
        h.ops.push(op);
        h.lines.push(h.lines.len() + 1);
    };
    let wrap = |key: usize, v: Value| if keyed { json!([key.to_string(), v]) } else { v };
    while started < spec.ops || idle < procs {
        let s = rng.below(procs as u64) as usize;
        match &mut slots[s] {
            Slot::Idle if started < spec.ops => {
                let key = rng.below(state.len() as u64) as usize;
                let (f, arg) = choose(spec.object, &mut rng, spec.values, started);
                emit(&mut h, ids[s], OpType::Invoke, f, wrap(key, arg.clone()));
                slots[s] = Slot::Pending { f, key, arg, result: None };
                started += 1;
                idle -= 1;
            }
            Slot::Idle => {}
            Slot::Pending { f, key, arg, result } => {
                let info = rng.chance(spec.info_rate);
                if result.is_none() && !(info && rng.chance(0.5)) {
                    *result = Some(apply(spec.object, &mut state[*key], f, arg));
                    continue;
                }
                let (kind, v) = match result.take() {
                    _ if info => (OpType::Info, Value::Null),
                    Some((kind, v)) => (kind, wrap(*key, v)),
                    None => (OpType::Info, Value::Null),
                };
                let f = *f;
                emit(&mut h, ids[s], kind, f, v);
                if kind == OpType::Info {
                    ids[s] += procs as u64; // Jepsen: a crashed process gets a new id
                }
                slots[s] = Slot::Idle;
                idle += 1;
            }
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histories_pair_up_and_have_the_requested_size() {
        for object in [Object::CasRegister, Object::KeyedCasRegister, Object::Kv] {
            let mut spec = Spec::new(object, 500, 7);
            spec.info_rate = 0.05;
            spec.keys = 3;
            let h = generate(&spec);
            let pairs = history::pair(&h).unwrap();
            assert_eq!(pairs.len(), 500);
            assert!(h.ops.iter().any(|o| o.kind == OpType::Info));
        }
    }
}
