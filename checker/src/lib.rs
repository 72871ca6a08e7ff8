//! faultline's checkers: pure functions of a history.
//!
//! This crate answers "is this history linearizable?" with a three-valued
//! [`Verdict`] and the evidence: a Wing-Gong-Lowe search ([`linear`]) over a
//! typed [`Model`] (register, cas-register, kv, any model over independent
//! keys), with the history split into independent parts checked in
//! parallel, and a time and memory budget past which the answer is
//! `unknown`, never a hang.
//!
//! ```
//! use checker::{check_history, CheckOptions, ModelKind, Verdict};
//! let h = history::parse(
//!     "{:process 0 :type :invoke :f :write :value 1}\n\
//!      {:process 0 :type :ok :f :write :value 1}\n\
//!      {:process 1 :type :invoke :f :read :value nil}\n\
//!      {:process 1 :type :ok :f :read :value 2}",
//!     history::Format::Edn,
//! ).unwrap();
//! let r = check_history(&h, &CheckOptions::new(ModelKind::Register)).unwrap();
//! assert_eq!(r.valid, Verdict::Invalid);
//! ```

mod check;
mod concat;
pub mod linear;
pub mod logs;
mod model;
pub mod models;
pub mod queue;
pub mod recovery;
mod seen;
pub mod sets;
pub mod slo;
pub mod sprt;
pub mod synth;
pub mod trends;
pub mod txn;
mod values;

pub use check::{check_history, check_ops, prepare, CheckOptions, Linearizability, ModelKind};
pub use linear::{Budget, Counterexample, OpRef, Step};
pub use model::{Model, Operation, OPEN};
pub use values::{Values, NIL};

use serde::{Deserialize, Serialize};

/// A checker's answer. Ordered as Jepsen merges answers: `Valid` <
/// `Unknown` < `Invalid`, so the merge of several is their maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord, Default)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The history satisfies the property.
    #[default]
    Valid,
    /// The checker could not decide (budget exhausted, crash); the result
    /// says why.
    Unknown,
    /// The history violates it; the result carries the evidence.
    Invalid,
}

impl Verdict {
    /// Jepsen's exit code: 0 valid, 1 invalid, 2 unknown.
    pub fn exit_code(self) -> i32 {
        match self {
            Verdict::Valid => 0,
            Verdict::Invalid => 1,
            Verdict::Unknown => 2,
        }
    }

    /// `Valid` when `ok`, else `Invalid`.
    pub fn of(ok: bool) -> Verdict {
        if ok {
            Verdict::Valid
        } else {
            Verdict::Invalid
        }
    }

    /// The merge of several answers: invalid over unknown over valid
    /// (none: valid).
    pub fn merge(all: impl IntoIterator<Item = Verdict>) -> Verdict {
        all.into_iter().max().unwrap_or(Verdict::Valid)
    }

    /// True for `Valid`.
    pub fn is_valid(self) -> bool {
        self == Verdict::Valid
    }

    /// `valid`, `invalid` or `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Valid => "valid",
            Verdict::Invalid => "invalid",
            Verdict::Unknown => "unknown",
        }
    }
}
