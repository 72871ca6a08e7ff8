//! A single register: read and write, and compare-and-set when enabled.

use super::{Decode, Decoded, Outcome};
use crate::model::Model;
use crate::values::{Values, NIL};
use history::{FailMeaning, NilRead, Semantics};
use serde_json::Value;

/// A register holding one value, initially `nil`.
#[derive(Debug, Clone, Default)]
pub struct Register {
    /// Accept `cas` operations (the cas-register model).
    pub cas: bool,
    /// The values seen, interned.
    pub values: Values,
}

/// A register operation; values are ids in [`Register::values`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RegOp {
    /// Read the value.
    Read,
    /// Write a value.
    Write(u32),
    /// If the value is the first, make it the second.
    Cas(u32, u32),
}

/// What a register operation returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RegRet {
    /// The value read.
    Read(u32),
    /// A write completed.
    Written,
    /// Whether the compare matched (and the set happened).
    Cas(bool),
}

impl Register {
    /// A read/write register.
    pub fn new() -> Self {
        Register::default()
    }

    /// A register with compare-and-set.
    pub fn with_cas() -> Self {
        Register { cas: true, values: Values::new() }
    }
}

impl Model for Register {
    type State = u32;
    type Input = RegOp;
    type Output = RegRet;

    fn init(&self) -> u32 {
        NIL
    }

    fn step(&self, s: &u32, input: &RegOp, output: Option<&RegRet>) -> Option<u32> {
        match (*input, output) {
            (RegOp::Read, None) => Some(*s),
            (RegOp::Read, Some(RegRet::Read(v))) => (v == s).then_some(*s),
            (RegOp::Write(v), None | Some(RegRet::Written)) => Some(v),
            (RegOp::Cas(a, b), None) => Some(if *s == a { b } else { *s }),
            (RegOp::Cas(a, b), Some(RegRet::Cas(true))) => (*s == a).then_some(b),
            (RegOp::Cas(a, _), Some(RegRet::Cas(false))) => (*s != a).then_some(*s),
            _ => None,
        }
    }

    fn is_read_only(&self, input: &RegOp) -> bool {
        *input == RegOp::Read
    }

    fn describe_op(&self, input: &RegOp, output: Option<&RegRet>) -> String {
        let v = |id: u32| self.values.get(id).to_string();
        match (input, output) {
            (RegOp::Read, Some(RegRet::Read(x))) => format!("read {}", v(*x)),
            (RegOp::Read, _) => "read ?".into(),
            (RegOp::Write(x), None) => format!("write {} (indeterminate)", v(*x)),
            (RegOp::Write(x), _) => format!("write {}", v(*x)),
            (RegOp::Cas(a, b), Some(RegRet::Cas(ok))) => {
                format!("cas {} -> {} ({})", v(*a), v(*b), if *ok { "ok" } else { "failed" })
            }
            (RegOp::Cas(a, b), _) => format!("cas {} -> {} (indeterminate)", v(*a), v(*b)),
        }
    }

    fn describe_state(&self, s: &u32) -> String {
        self.values.get(*s).to_string()
    }
}

impl Decode for Register {
    fn decode(&self, f: &str, arg: &Value, outcome: Outcome<'_>, sem: &Semantics) -> Result<Decoded<Self>, String> {
        let out = match (f, outcome) {
            ("read" | "r", Outcome::Ok(v)) => {
                if v.is_null() && sem.nil_read == NilRead::Unconstrained {
                    None
                } else {
                    Some(RegRet::Read(self.values.id(v)))
                }
            }
            ("write" | "w", Outcome::Ok(_)) => Some(RegRet::Written),
            ("cas", Outcome::Ok(_)) => Some(RegRet::Cas(true)),
            ("cas", Outcome::Fail(_)) if sem.fail == FailMeaning::CasObserved => Some(RegRet::Cas(false)),
            ("read" | "r" | "write" | "w" | "cas", Outcome::Fail(_)) => return Ok(None),
            (_, _) => None,
        };
        let input = match f {
            "read" | "r" => RegOp::Read,
            "write" | "w" => RegOp::Write(self.values.id(arg)),
            "cas" if self.cas => match arg.as_array().map(Vec::as_slice) {
                Some([a, b]) => RegOp::Cas(self.values.id(a), self.values.id(b)),
                _ => return Err(format!("cas wants [expected new], got {arg}")),
            },
            "cas" => return Err("the register model has no cas; use --model cas-register".into()),
            other => return Err(format!("{other:?} is not a register operation (read, write, cas)")),
        };
        Ok(Some((input, out)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps() {
        let r = Register::with_cas();
        assert_eq!(r.step(&0, &RegOp::Read, Some(&RegRet::Read(0))), Some(0));
        assert_eq!(r.step(&0, &RegOp::Read, Some(&RegRet::Read(1))), None);
        assert_eq!(r.step(&0, &RegOp::Write(2), Some(&RegRet::Written)), Some(2));
        assert_eq!(r.step(&2, &RegOp::Cas(2, 3), Some(&RegRet::Cas(true))), Some(3));
        assert_eq!(r.step(&1, &RegOp::Cas(2, 3), Some(&RegRet::Cas(true))), None);
        assert_eq!(r.step(&1, &RegOp::Cas(2, 3), Some(&RegRet::Cas(false))), Some(1));
        assert_eq!(r.step(&2, &RegOp::Cas(2, 3), Some(&RegRet::Cas(false))), None);
        assert_eq!(r.step(&2, &RegOp::Cas(2, 3), None), Some(3));
        assert_eq!(r.step(&1, &RegOp::Cas(2, 3), None), Some(1));
    }
}
