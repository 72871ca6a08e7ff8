//! faultline's search and stateright's `LinearizabilityTester` give the same
//! verdict on thousands of random small histories (11,500 in all) (register and
//! cas-register, with indeterminate ops).

use checker::synth::Rng;
use checker::{check_history, CheckOptions, ModelKind, Verdict};
use history::{History, Op, OpType, Process, Semantics};
use serde_json::{json, Value};
use stateright::semantics::{ConsistencyTester, LinearizabilityTester, SequentialSpec};

/// The oracle's register: values are small integers, `None` is nil.
#[derive(Clone, Debug, Default, PartialEq, Hash)]
struct CasReg(Option<u64>);

#[derive(Clone, Debug, PartialEq)]
enum RegOp {
    Read,
    Write(u64),
    Cas(u64, u64),
}

#[derive(Clone, Debug, PartialEq)]
enum RegRet {
    Read(Option<u64>),
    Written,
    Cas(bool),
}

impl SequentialSpec for CasReg {
    type Op = RegOp;
    type Ret = RegRet;
    fn invoke(&mut self, op: &RegOp) -> RegRet {
        match *op {
            RegOp::Read => RegRet::Read(self.0),
            RegOp::Write(v) => {
                self.0 = Some(v);
                RegRet::Written
            }
            RegOp::Cas(a, b) => {
                let hit = self.0 == Some(a);
                if hit {
                    self.0 = Some(b);
                }
                RegRet::Cas(hit)
            }
        }
    }
}

/// A random history, not necessarily linearizable: processes invoke random
/// ops and complete them with random (but plausible) results; some complete
/// `info` and their process continues under a new id.
fn random_history(rng: &mut Rng, max_ops: usize, cas: bool) -> History {
    let procs = 2 + rng.below(3) as usize;
    let total = 1 + rng.below(max_ops as u64) as usize;
    let mut ids: Vec<u64> = (0..procs as u64).collect();
    let mut open: Vec<Option<(String, Value)>> = vec![None; procs];
    let mut h = History::default();
    let (mut started, mut pending) = (0, 0);
    let val = |rng: &mut Rng| json!(rng.below(3));
    while started < total || pending > 0 {
        let p = rng.below(procs as u64) as usize;
        let op = match open[p].take() {
            None if started < total => {
                let (f, v) = match rng.below(if cas { 3 } else { 2 }) {
                    0 => ("read", Value::Null),
                    1 => ("write", val(rng)),
                    _ => ("cas", json!([rng.below(3), rng.below(3)])),
                };
                open[p] = Some((f.to_string(), v.clone()));
                started += 1;
                pending += 1;
                Op::new(Process::Client(ids[p]), OpType::Invoke, f, v)
            }
            None => continue,
            Some((f, v)) => {
                pending -= 1;
                let kind = match rng.below(10) {
                    0 => OpType::Info,
                    1..=3 if f == "cas" => OpType::Fail,
                    _ => OpType::Ok,
                };
                let value = match (f.as_str(), kind) {
                    ("read", OpType::Ok) => {
                        if rng.below(4) == 0 {
                            Value::Null
                        } else {
                            val(rng)
                        }
                    }
                    _ => v,
                };
                let op = Op::new(Process::Client(ids[p]), kind, &f, value);
                if kind == OpType::Info {
                    ids[p] += procs as u64;
                }
                op
            }
        };
        h.lines.push(h.ops.len() + 1);
        h.ops.push(Op { index: h.ops.len() as u64, ..op });
    }
    h
}

fn num(v: &Value) -> Option<u64> {
    v.as_u64()
}

/// stateright's verdict, with Porcupine's semantics: a failed cas saw
/// another value; `info` ops stay in flight.
fn oracle(h: &History) -> bool {
    let mut t = LinearizabilityTester::new(CasReg::default());
    let mut invoked: std::collections::HashMap<u64, RegOp> = Default::default();
    for op in &h.ops {
        let Process::Client(p) = op.process else { continue };
        match op.kind {
            OpType::Invoke => {
                let o = match op.f.as_str() {
                    "read" => RegOp::Read,
                    "write" => RegOp::Write(op.value.as_u64().unwrap()),
                    _ => RegOp::Cas(num(&op.value[0]).unwrap(), num(&op.value[1]).unwrap()),
                };
                invoked.insert(p, o.clone());
                t.on_invoke(p, o).unwrap();
            }
            OpType::Ok | OpType::Fail => {
                let ret = match invoked[&p] {
                    RegOp::Read => RegRet::Read(num(&op.value)),
                    RegOp::Write(_) => RegRet::Written,
                    RegOp::Cas(..) => RegRet::Cas(op.kind == OpType::Ok),
                };
                t.on_return(p, ret).unwrap();
            }
            OpType::Info => {} // stays in flight; the process is never reused
        }
    }
    t.is_consistent()
}

fn agree_on(count: usize, max_ops: usize, cas: bool, seed: u64) {
    let mut rng = Rng::new(seed);
    let model = if cas { ModelKind::CasRegister } else { ModelKind::Register };
    let mut opts = CheckOptions::new(model);
    opts.semantics = Semantics::PORCUPINE;
    opts.threads = 1;
    let (mut valid, mut invalid) = (0, 0);
    for i in 0..count {
        let h = random_history(&mut rng, max_ops, cas);
        let want = oracle(&h);
        let got = check_history(&h, &opts).unwrap();
        // unknown only when nothing was tested (no completed op or read): stateright calls that valid
        let tested_nothing = got.reason.as_deref().is_some_and(|r| r.starts_with("tested nothing"));
        assert!(got.valid != Verdict::Unknown || tested_nothing, "history {i}: {got:?}");
        if (got.valid != Verdict::Invalid) != want {
            let lines: Vec<String> = h.ops.iter().map(|o| o.to_string()).collect();
            panic!("history {i}: faultline {:?}, stateright valid={want}\n{}", got.valid, lines.join("\n"));
        }
        if want {
            valid += 1
        } else {
            invalid += 1
        }
    }
    // the generator must exercise both verdicts, or this test proves little
    assert!(valid > count / 10 && invalid > count / 10, "{valid} valid / {invalid} invalid");
}

#[test]
fn register_verdicts_match_stateright() {
    agree_on(5000, 12, false, 1);
}

#[test]
fn cas_register_verdicts_match_stateright() {
    agree_on(5000, 12, true, 2);
}

#[test]
fn longer_cas_register_histories_match_stateright() {
    agree_on(1500, 20, true, 3);
}
