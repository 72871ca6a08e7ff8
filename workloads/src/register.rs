//! `register`: independent registers, three processes to a key, a key
//! retired after a budget of ops; read / write / cas; linearizability per
//! key (Knossos's cas-register, Jepsen's independent keys).

use crate::{CheckContext, Generator, Op, Workload};
use checker::{check_history, Budget, CheckOptions, Linearizability, ModelKind};
use history::{History, HistoryError, Rng, Semantics};
use results::Checks;
use serde_json::json;
use std::time::{Duration, Instant};
use systems::Call;

/// Ops on one key before it is retired for a fresh one.
pub const OPS_PER_KEY: u64 = 100;

/// The register workload.
pub struct Register;

struct Keys {
    rng: Rng,
    /// The key each slot works on, and its op count.
    slots: Vec<(u64, u64)>,
    next_key: u64,
    ops_per_key: u64,
}

impl Keys {
    /// One key per three processes, each retired after `ops_per_key` ops.
    fn new(concurrency: usize, ops_per_key: u64, seed: u64) -> Keys {
        let n = concurrency.div_ceil(3).max(1) as u64;
        Keys { rng: Rng::new(seed), slots: (0..n).map(|k| (k, 0)).collect(), next_key: n, ops_per_key: ops_per_key.max(1) }
    }
}

impl Generator for Keys {
    fn next(&mut self, process: u64) -> Op {
        let slot = (process % self.slots.len() as u64) as usize;
        if self.slots[slot].1 >= self.ops_per_key {
            self.slots[slot] = (self.next_key, 0);
            self.next_key += 1;
        }
        self.slots[slot].1 += 1;
        let key = self.slots[slot].0;
        match self.rng.below(4) {
            0 | 1 => read(key),
            2 => write(key, self.rng.below(5)),
            _ => cas(key, self.rng.below(5), self.rng.below(5)),
        }
    }

    fn final_reads(&self) -> Vec<Op> {
        self.slots.iter().map(|&(key, _)| read(key)).collect()
    }
}

/// The system's key of register `key`.
fn register(key: u64) -> String {
    format!("r{key}")
}

/// Reads register `key`: `[key, value]`.
pub fn read(key: u64) -> Op {
    Op::keyed_read("read", key, Call::new("read", register(key), None))
}

/// Writes `value` to register `key`: `[key, value]`.
pub fn write(key: u64, value: u64) -> Op {
    Op::update("write", json!([key, value]), Call::new("write", register(key), Some(json!(value))))
}

/// Sets register `key` from `old` to `new`: `[key, [old, new]]`.
pub fn cas(key: u64, old: u64, new: u64) -> Op {
    Op::update("cas", json!([key, [old, new]]), Call::new("cas", register(key), Some(json!([old, new]))))
}

impl Workload for Register {
    fn name(&self) -> &'static str {
        "register"
    }
    fn fs(&self) -> &'static [&'static str] {
        &["read", "write", "cas"]
    }
    fn about(&self) -> &'static str {
        "independent registers: read / write / cas, linearizability per key"
    }
    fn generator(&self, concurrency: usize, seed: u64) -> Box<dyn crate::Generator> {
        Box::new(Keys::new(concurrency, OPS_PER_KEY, seed))
    }
    fn check(&self, h: &History, _ctx: &CheckContext, checks: &mut Checks) -> Result<(), HistoryError> {
        let mut o = CheckOptions::new(ModelKind::CasRegister);
        o.independent = true;
        o.semantics = Semantics::FAULTLINE;
        o.budget = Budget { deadline: Some(Instant::now() + Duration::from_secs(120)), max_bytes: 4 << 30, per_part: Some(Duration::from_secs(20)) };
        checks.record("linearizable", &check_history(h, &o)?);
        Ok(())
    }
    fn findings(&self, checks: &Checks, h: &History) -> String {
        crate::with_outcome(checks, "linearizable", |l| findings(l, h))
    }
}

/// The verdict, and a counterexample drawn as lanes with the last steps of
/// the longest linearizable prefix.
pub fn findings(lin: &Linearizability, h: &History) -> String {
    let lanes = lin.counterexample.as_ref().map(|cx| reports::counterexample::render(cx, h)).unwrap_or_default();
    let ctx = serde_json::json!({"valid": lin.valid.as_str(), "reason": lin.reason, "cx": lin.counterexample, "lanes": lanes});
    reports::template::render("register.html", include_str!("../templates/register.html"), ctx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_keys_rotate_after_their_op_budget() {
        let mut g = Keys::new(3, 4, 1);
        let keys: Vec<u64> = (0..10).map(|_| g.next(0).value[0].as_u64().unwrap()).collect();
        assert_eq!(keys, [0, 0, 0, 0, 1, 1, 1, 1, 2, 2]);
    }

    #[test]
    fn processes_share_keys_three_to_a_key() {
        let mut g = Keys::new(6, 100, 1);
        let key = |op: Op| op.value[0].as_u64().unwrap();
        let ks: Vec<u64> = (0..6).map(|p| key(g.next(p))).collect();
        assert_eq!(ks, [0, 1, 0, 1, 0, 1]);
        assert_eq!(g.final_reads(), [read(0), read(1)]);
    }

    #[test]
    fn the_mix_is_seeded_and_has_every_op() {
        let run = |seed| {
            let mut g = Register.generator(3, seed);
            (0..400).map(|i| g.next(i % 3).f).collect::<Vec<_>>()
        };
        let a = run(5);
        assert_eq!(a, run(5));
        assert_ne!(a, run(6));
        for f in ["read", "write", "cas"] {
            assert!(a.iter().filter(|x| **x == f).count() > 50, "{f}");
        }
        let c = cas(1, 2, 3);
        assert_eq!((c.value, c.call), (json!([1, [2, 3]]), Call::new("cas", "r1", Some(json!([2, 3])))));
        let r = read(4);
        assert_eq!((r.read, (r.answer)(&r, json!(7))), (true, Ok(json!([4, 7]))));
    }
}
