//! `list-append`: transactions of appends to and reads of lists, Elle's
//! workload. Keys rotate, as Elle's generator does, so that each key sees
//! a bounded number of appends; values are unique per key. The check
//! infers the dependency graph and finds the anomalies a consistency
//! model forbids (`checker::txn`).

use crate::{CheckContext, Generator, Op, Workload};
use checker::txn::{check_list_append, Anomaly, TxnResult};
use history::{History, HistoryError, Rng};
use reports::html::esc;
use results::Checks;
use serde_json::{json, Value};
use std::fmt::Write;
use systems::txn::{Kind, Mop};
use systems::Call;

/// Keys in use at once.
pub const ACTIVE_KEYS: usize = 3;
/// Appends (or writes) a key takes before a new key replaces it.
pub const APPENDS_PER_KEY: u64 = 32;
/// Micro-ops per transaction: 1 to this many.
pub const MAX_MOPS: u64 = 4;

/// The list-append workload.
pub struct ListAppend;

/// Transactions of either kind over rotating keys, seeded.
pub(crate) struct Txns {
    kind: Kind,
    rng: Rng,
    /// The keys in use, and how many appends each has had.
    active: Vec<(u64, u64)>,
    next_key: u64,
}

impl Generator for Txns {
    fn next(&mut self, _process: u64) -> Op {
        let n = 1 + self.rng.below(MAX_MOPS);
        let mops = (0..n)
            .map(|_| {
                let slot = self.rng.below(self.active.len() as u64) as usize;
                if self.active[slot].1 >= APPENDS_PER_KEY {
                    self.active[slot] = (self.next_key, 0);
                    self.next_key += 1;
                }
                let (key, written) = &mut self.active[slot];
                let (key, write) = (*key, self.rng.chance(0.5));
                if write {
                    *written += 1;
                }
                match (self.kind, write) {
                    (Kind::ListAppend, true) => Mop::Append { key, value: *written },
                    (Kind::ListAppend, false) => Mop::ReadList { key },
                    (Kind::RwRegister, true) => Mop::Write { key, value: *written },
                    (Kind::RwRegister, false) => Mop::ReadRegister { key },
                }
            })
            .collect::<Vec<_>>();
        txn(&mops)
    }
    fn final_reads(&self) -> Vec<Op> {
        let read = |key| if self.kind == Kind::ListAppend { Mop::ReadList { key } } else { Mop::ReadRegister { key } };
        vec![txn(&self.active.iter().map(|&(key, _)| read(key)).collect::<Vec<_>>())]
    }
}

/// A transaction of `mops` (its kind's `f`: `txn` or `rw-txn`); the
/// completion is the client's answer, refused unless it answers the same
/// micro-ops in order.
pub fn txn(mops: &[Mop]) -> Op {
    let asked = systems::txn::asked(mops);
    let f = systems::txn::kind(mops).f();
    Op { f: "txn", value: asked.clone(), call: Call::new(f, "txn", Some(asked)), read: mops.iter().all(Mop::is_read), answer: txn_answer }
}

/// A transaction's answer checked against the micro-ops asked.
fn txn_answer(op: &Op, answer: Value) -> Result<Value, crate::op::Malformed> {
    let mops = systems::txn::parse_asked(&op.call.f, &op.value).map_err(|e| crate::op::Malformed(e.to_string()))?;
    systems::txn::check_answer(&mops, &answer).map_err(|e| crate::op::Malformed(e.to_string()))?;
    Ok(answer)
}

/// The micro-ops of a transaction op (`None` for any other op).
pub fn mops_of(op: &Op) -> Option<Vec<Mop>> {
    systems::txn::parse_asked(&op.call.f, op.call.value.as_ref()?).ok().filter(|_| op.f == "txn")
}

impl Txns {
    /// A generator of `kind` transactions.
    pub(crate) fn boxed(kind: Kind, seed: u64) -> Box<dyn Generator> {
        let active = (0..ACTIVE_KEYS as u64).map(|k| (k, 0)).collect();
        Box::new(Txns { kind, rng: Rng::new(seed), active, next_key: ACTIVE_KEYS as u64 })
    }
}

impl Workload for ListAppend {
    fn name(&self) -> &'static str {
        "list-append"
    }
    fn fs(&self) -> &'static [&'static str] {
        &["txn"]
    }
    fn about(&self) -> &'static str {
        "transactions of list appends and reads (Elle's); isolation anomalies against --consistency"
    }
    fn generator(&self, _concurrency: usize, seed: u64) -> Box<dyn Generator> {
        Txns::boxed(Kind::ListAppend, seed)
    }
    fn check(&self, h: &History, ctx: &CheckContext, checks: &mut Checks) -> Result<(), HistoryError> {
        checks.record("txn", &check_list_append(h, ctx.consistency)?);
        Ok(())
    }
    fn findings(&self, checks: &Checks, _h: &History) -> String {
        crate::with_outcome(checks, "txn", findings)
    }
}

/// The transactional check as HTML: the verdict, then each anomaly kind
/// with its first examples, each cycle drawn and told step by step.
pub fn findings(r: &TxnResult) -> String {
    let anomalies: Vec<Value> = r
        .anomalies
        .iter()
        .map(|(name, g)| json!({"name": name, "count": g.count, "examples": g.examples.iter().take(3).map(anomaly).collect::<Vec<_>>()}))
        .collect();
    let ctx = json!({
        "valid": r.valid.as_str(), "consistency": r.consistency, "txns": r.txns, "reason": r.reason,
        "rules_out": r.not.join(", "), "sources": r.sources.join(", "), "anomalies": anomalies,
    });
    reports::template::render("list-append.html", include_str!("../templates/list-append.html"), ctx)
}

/// One anomaly's context: its explanation, its cycle (drawn, and step by
/// step) and its transactions.
fn anomaly(a: &Anomaly) -> Value {
    let cycle: Vec<Value> = a
        .cycle
        .iter()
        .map(|s| json!({"index": s.txn.index, "process": s.txn.process, "value": s.txn.value.to_string(), "edge": s.edge, "why": s.why}))
        .collect();
    let txns: Vec<Value> = a.txns.iter().map(|t| json!({"index": t.index, "process": t.process, "value": t.value.to_string()})).collect();
    let svg = if a.cycle.is_empty() { String::new() } else { cycle_svg(a) };
    json!({"explanation": a.explanation, "cycle": cycle, "svg": svg, "txns": txns})
}

/// A cycle drawn as a ring: each transaction a labelled dot, each edge an
/// arrow to the next one named by its kind.
pub fn cycle_svg(a: &Anomaly) -> String {
    let n = a.cycle.len().max(1) as f64;
    let (cx, cy, r) = (160.0, 110.0, 80.0);
    let at = |i: usize| {
        let t = std::f64::consts::TAU * i as f64 / n - std::f64::consts::FRAC_PI_2;
        (cx + r * t.cos(), cy + r * t.sin())
    };
    let mut b = String::from(
        "<svg class=\"cycle\" width=\"320\" height=\"220\" viewBox=\"0 0 320 220\" role=\"img\">\
         <defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"6\" markerHeight=\"6\" orient=\"auto\">\
         <path d=\"M0,0 L10,5 L0,10 z\"/></marker></defs>",
    );
    for (i, s) in a.cycle.iter().enumerate() {
        let ((x1, y1), (x2, y2)) = (at(i), at((i + 1) % a.cycle.len()));
        // stop short of the dots at both ends
        let (dx, dy) = (x2 - x1, y2 - y1);
        let len = (dx * dx + dy * dy).sqrt().max(1.0);
        let k = 14.0 / len;
        let _ = write!(
            b,
            "<line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#c33\" marker-end=\"url(#arrow)\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\">{}</text>",
            x1 + dx * k,
            y1 + dy * k,
            x2 - dx * k,
            y2 - dy * k,
            (x1 + x2) / 2.0,
            (y1 + y2) / 2.0 - 4.0,
            esc(&s.edge)
        );
    }
    for (i, s) in a.cycle.iter().enumerate() {
        let (x, y) = at(i);
        let _ = write!(
            b,
            "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"12\" fill=\"#fee\" stroke=\"#c33\"/>\
             <text x=\"{x:.1}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"middle\">T{}</text>",
            y + 3.5,
            s.txn.index
        );
    }
    b + "</svg>"
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn values_are_unique_per_key_and_keys_rotate() {
        let mut g = ListAppend.generator(4, 1);
        let mut seen: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
        for i in 0..2_000 {
            let mops = mops_of(&g.next(i % 4)).expect("a transaction");
            assert!((1..=MAX_MOPS as usize).contains(&mops.len()));
            for m in mops {
                if let Mop::Append { key, value } = m {
                    seen.entry(key).or_default().push(value);
                }
            }
        }
        assert!(seen.len() > ACTIVE_KEYS, "keys rotate: {}", seen.len());
        for (k, vs) in &seen {
            assert!(vs.len() as u64 <= APPENDS_PER_KEY, "key {k}");
            assert!(vs.windows(2).all(|w| w[0] < w[1]), "key {k}: unique values");
        }
        assert!(matches!(&g.final_reads()[..], [op] if mops_of(op).unwrap().len() == ACTIVE_KEYS));
    }
}
