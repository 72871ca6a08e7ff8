//! `results.json`: every check's typed result and the run's verdict.

use crate::records::RunFacts;
use checker::recovery::RecoveryResult;
use checker::slo::Slos;
use checker::Verdict;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The version of `results.json` this crate writes.
pub const RESULTS_VERSION: u32 = 1;

/// The availability SLO's check.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Availability {
    /// Whether it held.
    pub valid: Verdict,
    /// The minimum success ratio asked for.
    pub min: f64,
    /// The ratio outside fault windows (`None`: no ops there).
    pub outside_windows: Option<f64>,
}

/// The start-up SLO's check.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StartupCheck {
    /// Whether it held.
    pub valid: Verdict,
    /// The SLO, seconds.
    pub slo_s: f64,
    /// Seconds from start to a ready cluster (`None`: never ready).
    pub cluster_s: Option<f64>,
}

/// The append-latency SLO's check (appends invoked outside fault windows).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AppendLatency {
    /// Whether it held.
    pub valid: Verdict,
    /// The SLO, seconds.
    pub slo_s: f64,
    /// The slowest such append, seconds.
    pub worst_s: f64,
}

/// Every check of a run; a check that did not run is `None`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Checks {
    /// Recovery after every fault window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery: Option<RecoveryResult>,
    /// The availability SLO.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability: Option<Availability>,
    /// The start-up SLO.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startup: Option<StartupCheck>,
    /// The append-latency SLO.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub append_latency: Option<AppendLatency>,
    /// The SLOs applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slos: Option<Slos>,
    /// Checks that could not decide (an error or a crash in the checker),
    /// with the reason: each counts as `unknown`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unknown: BTreeMap<String, String>,
    /// The workload's checks (`linearizable`, `set`, `append`, `txn`,
    /// `queue`) and the system's own (a log system's `reconfiguration`), by
    /// name beside the others, each in its owner's own type.
    #[serde(flatten)]
    pub named: BTreeMap<String, crate::OwnCheck>,
}

impl Checks {
    /// Every check's verdict, by name: the named ones, then recovery and the SLOs.
    pub fn verdicts(&self) -> Vec<(&str, Verdict)> {
        let mut v: Vec<(&str, Verdict)> = self.named.iter().map(|(name, c)| (name.as_str(), c.valid)).collect();
        let mut add = |name: &'static str, x: Option<Verdict>| {
            if let Some(x) = x {
                v.push((name, x));
            }
        };
        add("recovery", self.recovery.as_ref().map(|c| c.valid));
        add("availability", self.availability.as_ref().map(|c| c.valid));
        add("startup", self.startup.as_ref().map(|c| c.valid));
        add("append_latency", self.append_latency.as_ref().map(|c| c.valid));
        v
    }

    /// Why each undecided check is unknown, by name (the checker's own
    /// reason, such as "tested nothing", and the checks that could not run).
    pub fn unknown_reasons(&self) -> Vec<(String, String)> {
        let named = self.named.iter().filter(|(_, c)| c.valid == Verdict::Unknown);
        let named = named.filter_map(|(n, c)| Some((n.clone(), c.reason.clone()?)));
        named.chain(self.unknown.iter().map(|(n, r)| (n.clone(), r.clone()))).collect()
    }

    /// Every verdict merged, each check that could not decide counting as
    /// unknown.
    pub fn merged(&self) -> Verdict {
        Verdict::merge(self.verdicts().into_iter().map(|(_, v)| v).chain(self.unknown.keys().map(|_| Verdict::Unknown)))
    }

    /// Records a check's typed outcome under its name; an outcome that
    /// cannot be recorded makes the check unknown, with the reason.
    pub fn record<T: Serialize>(&mut self, name: &str, outcome: &T) {
        match crate::OwnCheck::of(outcome) {
            Ok(c) => {
                self.named.insert(name.to_string(), c);
            }
            Err(e) => {
                self.unknown.insert(name.to_string(), format!("its outcome could not be recorded: {e}"));
            }
        }
    }

    /// The typed outcome of the check of that name, if it ran; `Err` when
    /// it is not of that type.
    pub fn outcome<T: DeserializeOwned>(&self, name: &str) -> Option<Result<T, serde_json::Error>> {
        self.named.get(name).map(crate::OwnCheck::outcome)
    }
}

/// Counts of the workload's ops.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Invocations.
    pub invocations: usize,
    /// ok completions.
    pub ok: usize,
    /// fail completions.
    pub fail: usize,
    /// info completions.
    pub info: usize,
    /// Seconds from the first op to the last.
    pub duration_s: f64,
    /// Seconds the checks took.
    pub check_s: f64,
    /// A cut-short last line of the history, if any.
    pub truncated_line: Option<usize>,
}

/// `results.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunResults {
    /// The format's version ([`RESULTS_VERSION`]).
    pub version: u32,
    /// The run's verdict: every check merged (invalid over unknown over
    /// valid); `unknown` when the infrastructure failed.
    pub valid: Verdict,
    /// One line.
    pub summary: String,
    /// The exit code the run gave.
    pub exit_code: i32,
    /// The checks.
    #[serde(default)]
    pub checks: Checks,
    /// Op counts (`None`: no history).
    #[serde(default)]
    pub stats: Option<Stats>,
    /// What happened besides the history (run.json's facts, inlined).
    #[serde(flatten)]
    pub facts: RunFacts,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_round_trip_and_verdicts_merge_as_jepsen() {
        let mut r = RunResults { version: RESULTS_VERSION, ..RunResults::default() };
        let set = checker::sets::SetResult { valid: Verdict::Invalid, reason: Some("lost".into()), ..Default::default() };
        r.checks.record("set", &set);
        r.checks.unknown.insert("append".into(), "checker crashed".into());
        let back: RunResults = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        let set_back: checker::sets::SetResult = back.checks.outcome("set").unwrap().unwrap();
        assert_eq!((set_back.valid, set_back.reason), (Verdict::Invalid, Some("lost".into())));
        assert_eq!(back.checks.unknown["append"], "checker crashed");
        assert!(back.checks.outcome::<checker::sets::SetResult>("txn").is_none());
        // a system's own check sits beside the others, and counts
        r.checks.named.clear();
        r.checks.named.insert("stall".into(), crate::OwnCheck { valid: Verdict::Invalid, reason: None, detail: serde_json::Map::new() });
        let text = serde_json::to_string(&r).unwrap();
        assert!(text.contains(r#""checks":{"unknown":{"append":"checker crashed"},"stall":{"valid":"invalid"}}"#), "{text}");
        let back: RunResults = serde_json::from_str(&text).unwrap();
        assert_eq!(back.checks.verdicts(), [("stall", Verdict::Invalid)]);
        assert_eq!(Verdict::merge([Verdict::Valid, Verdict::Unknown]), Verdict::Unknown);
        assert_eq!(Verdict::merge([Verdict::Unknown, Verdict::Invalid, Verdict::Valid]), Verdict::Invalid);
        assert_eq!(Verdict::merge([]), Verdict::Valid);
    }

    #[test]
    fn a_renamed_or_missing_field_is_an_error_not_an_empty_cell() {
        let e = serde_json::from_str::<RunResults>(r#"{"version":1,"valid":"valid","summary":"","exit_code":0,"checks":{"set":{"valid":"nope"}}}"#);
        assert!(e.is_err());
        let e = serde_json::from_str::<RunResults>(r#"{"version":1,"verdict":"valid"}"#);
        assert!(e.is_err(), "`valid` is required");
    }
}
