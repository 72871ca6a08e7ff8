//! faultline's operation model.
//!
//! A *history* is the sequence of [`Op`]s a test recorded: every client
//! operation as an `invoke` and its completion (`ok`, `fail` or `info`), and
//! the nemesis's fault events, with Jepsen's fields. This crate stores
//! histories as JSON Lines ([`JsonlWriter`], [`JsonlReader`]), imports
//! Jepsen's formats ([`load`], [`Format`]), and checks that invocations and
//! completions pair up ([`pair`]). It knows nothing of checkers, SSH or
//! clusters.
//!
//! ```
//! use history::{parse, pair, Format};
//! let h = parse("{:process 0 :type :invoke :f :write :value 1}\n\
//!                {:process 0 :type :ok :f :write :value 1}", Format::Edn).unwrap();
//! let pairs = pair(&h).unwrap();
//! assert_eq!(pairs[0].completion, Some(1));
//! ```

pub mod edn;
mod error;
mod import;
mod jsonl;
mod jsonl_parts;
mod op;
mod rng;
mod validate;

pub use error::{ErrorKind, HistoryError};
pub use import::{detect, load, parse, Format, History};
pub use jsonl::{parse_line, JsonlReader, JsonlWriter};
pub use jsonl_parts::parse_jsonl_values_apart;
pub use op::{CheckSettings, Header, Op, OpType, Process, Role};
pub use rng::Rng;
pub use validate::{pair, pair_chunks, pair_with, Pair};

/// How to read the outcomes whose meaning differs between sources.
///
/// In every mode an `info` completion (or an invocation that never
/// completed) is indeterminate: the operation may or may not have taken
/// effect, and if it did, at any time after its invocation; it stays open to
/// the end of the history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Semantics {
    /// What a `fail` completion means.
    pub fail: FailMeaning,
    /// What an `ok` read of `nil` means.
    pub nil_read: NilRead,
}

/// What a `fail` completion means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailMeaning {
    /// Jepsen's and Knossos's rule: a failed op did not take effect, and is
    /// dropped from the check.
    NotApplied,
    /// Porcupine's key-value register model: a `fail` of a compare-and-set is a completed
    /// cas that saw a value other than the expected one (an observation
    /// that constrains the state); other failed ops did not take effect.
    CasObserved,
}

/// What an `ok` read of `nil` means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NilRead {
    /// The register held nil (its initial value): Porcupine's reading.
    Value,
    /// Knossos's reading: a `nil` read is unconstrained (as if the read
    /// returned nothing), so it can never make a history invalid.
    Unconstrained,
}

impl Semantics {
    /// Jepsen / Knossos: `fail` did not happen, a nil read constrains nothing.
    pub const KNOSSOS: Semantics = Semantics { fail: FailMeaning::NotApplied, nil_read: NilRead::Unconstrained };
    /// Porcupine's key-value register model: `fail :cas` observed another value, nil is a value.
    pub const PORCUPINE: Semantics = Semantics { fail: FailMeaning::CasObserved, nil_read: NilRead::Value };
    /// faultline's own histories: `fail` did not happen, nil is the initial value.
    pub const FAULTLINE: Semantics = Semantics { fail: FailMeaning::NotApplied, nil_read: NilRead::Value };

    /// The usual semantics of a source format.
    pub fn for_format(f: Format) -> Semantics {
        match f {
            Format::JepsenLog | Format::PorcupineKv => Semantics::PORCUPINE,
            Format::Edn => Semantics::KNOSSOS,
            Format::Jsonl => Semantics::FAULTLINE,
        }
    }
}
