//! What a part outside the generic crates adds to a run's records by
//! name: a workload's checks, a system's own (a log system's stall after
//! each seal) and the facts a system reads of a run. Each is the owner's own type, written with
//! serde and read back into that type by the owner alone; generic readers
//! see a check's verdict and nothing else.

use checker::Verdict;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A check by name in `results.json`'s checks (a workload's or a
/// system's): its verdict, and the rest of its outcome as its owner wrote it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OwnCheck {
    /// Whether it held.
    pub valid: Verdict,
    /// Why the verdict is unknown (or invalid), when the owner says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The rest of the outcome, as its owner's type serialized it.
    #[serde(flatten)]
    pub detail: Map<String, Value>,
}

impl OwnCheck {
    /// From the owner's typed outcome, which has a `valid` field.
    pub fn of<T: Serialize>(outcome: &T) -> Result<OwnCheck, serde_json::Error> {
        serde_json::from_value(serde_json::to_value(outcome)?)
    }

    /// The owner's typed outcome, back.
    pub fn outcome<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_value(serde_json::to_value(self)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Stall {
        valid: Verdict,
        worst_s: f64,
    }

    #[test]
    fn a_typed_outcome_goes_in_and_comes_back() {
        let s = Stall { valid: Verdict::Invalid, worst_s: 1.5 };
        let c = OwnCheck::of(&s).unwrap();
        assert_eq!(c.valid, Verdict::Invalid);
        assert_eq!(c.outcome::<Stall>().unwrap(), s);
        assert!(OwnCheck::of(&1).is_err(), "an outcome is an object with a verdict");
    }
}
