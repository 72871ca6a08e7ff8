//! Service-level objectives: what `--slo NAME=VALUE` sets, parsed into
//! typed thresholds for the recovery, availability and append checks.

use crate::recovery::RecoveryOptions;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Service-level objectives, as `--slo` gives them: `recovery=20s`,
/// `recovery.SERVICE=15s`, `restart=10s`, `startup=60s`,
/// `availability=0.99` (minimum success ratio outside fault windows),
/// `append=1s` (the slowest acknowledged append), `reconfigure=5s` (the
/// appends' stall around each log seal or reconfiguration).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Slos {
    /// Recovery SLO per service, `"*"` the default (20 s).
    pub recovery: BTreeMap<String, f64>,
    /// Kill windows: restart to serving again.
    pub restart: Option<f64>,
    /// SUT start to ready (the cluster).
    pub startup: Option<f64>,
    /// Minimum success ratio of ops outside fault windows.
    pub availability: Option<f64>,
    /// Longest an acknowledged append may take (the append workload).
    pub append: Option<f64>,
    /// Longest the appends may stall after a log is sealed or reconfigured.
    #[serde(default)]
    pub reconfigure: Option<f64>,
}

impl Default for Slos {
    fn default() -> Self {
        Slos { recovery: [("*".to_string(), 20.0)].into(), restart: None, startup: None, availability: None, append: None, reconfigure: None }
    }
}

/// What is wrong with one `--slo` item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SloProblem {
    /// No `=` in it.
    NotNameValue,
    /// The value is not a duration (`20s`, `500ms`, `1m`).
    NotADuration,
    /// The availability is not a number, or not between 0 and 1.
    NotARatio,
    /// No SLO of that name.
    UnknownName,
}

/// A `--slo` item that could not be parsed: the item and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SloError {
    /// The item as given (`recovery=fast`).
    pub item: String,
    /// What is wrong with it.
    pub problem: SloProblem,
}

impl fmt::Display for SloError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let item = &self.item;
        match self.problem {
            SloProblem::NotNameValue => write!(f, "--slo {item:?}: expected NAME=VALUE, e.g. recovery=20s"),
            SloProblem::NotADuration => write!(f, "--slo {item:?}: not a duration such as 20s or 500ms"),
            SloProblem::NotARatio => write!(f, "--slo {item:?}: availability must be a ratio between 0 and 1 (or 0% and 100%)"),
            SloProblem::UnknownName => {
                write!(f, "--slo {item:?}: unknown SLO (recovery, recovery.SERVICE, restart, startup, availability, append, reconfigure)")
            }
        }
    }
}

impl std::error::Error for SloError {}

/// Seconds from `20s`, `500ms`, `1m` or a bare number of seconds.
fn seconds(v: &str) -> Option<f64> {
    let (num, scale) = if let Some(x) = v.strip_suffix("ms") {
        (x, 1e-3)
    } else if let Some(x) = v.strip_suffix('s') {
        (x, 1.0)
    } else if let Some(x) = v.strip_suffix('m') {
        (x, 60.0)
    } else {
        (v, 1.0)
    };
    num.parse::<f64>().ok().filter(|x| x.is_finite() && *x >= 0.0).map(|x| x * scale)
}

/// A ratio from `0.99` or `99%`, between 0 and 1.
fn ratio(v: &str) -> Option<f64> {
    let r: f64 = v.trim_end_matches('%').parse().ok()?;
    let r = if v.ends_with('%') { r / 100.0 } else { r };
    (0.0..=1.0).contains(&r).then_some(r)
}

impl Slos {
    /// Parses `--slo` values; later ones override earlier ones.
    pub fn parse(items: &[String]) -> Result<Slos, SloError> {
        let mut s = Slos::default();
        for item in items {
            let fail = |problem| SloError { item: item.clone(), problem };
            let (k, v) = item.split_once('=').ok_or_else(|| fail(SloProblem::NotNameValue))?;
            let dur = || seconds(v).ok_or_else(|| fail(SloProblem::NotADuration));
            match k {
                "recovery" => {
                    s.recovery.insert("*".into(), dur()?);
                }
                "restart" => s.restart = Some(dur()?),
                "startup" => s.startup = Some(dur()?),
                "append" => s.append = Some(dur()?),
                "reconfigure" => s.reconfigure = Some(dur()?),
                "availability" => s.availability = Some(ratio(v).ok_or_else(|| fail(SloProblem::NotARatio))?),
                _ => match k.strip_prefix("recovery.") {
                    Some(service) if !service.is_empty() => {
                        s.recovery.insert(service.to_string(), dur()?);
                    }
                    _ => return Err(fail(SloProblem::UnknownName)),
                },
            }
        }
        Ok(s)
    }

    /// Recovery options with these SLOs.
    pub fn recovery_options(&self, windows: Vec<(String, String, String)>) -> RecoveryOptions {
        RecoveryOptions { windows, sustained: 5, slo_s: self.recovery.clone(), restart_slo_s: self.restart, bucket_s: 1.0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slos_parse_with_units_and_per_service_overrides() {
        let s =
            Slos::parse(&["recovery=20s".into(), "recovery.ingress=15s".into(), "restart=10s".into(), "startup=1m".into(), "availability=99%".into()]).unwrap();
        assert_eq!(s.recovery["*"], 20.0);
        assert_eq!(s.recovery["ingress"], 15.0);
        assert_eq!((s.restart, s.startup, s.availability), (Some(10.0), Some(60.0), Some(0.99)));
        let o = s.recovery_options(vec![]);
        assert_eq!((o.slo("kill", "client"), o.slo("partition", "ingress"), o.slo("partition", "admin")), (10.0, 15.0, 20.0));
        assert_eq!(Slos::parse(&["recovery=500ms".into()]).unwrap().recovery["*"], 0.5);
    }

    #[test]
    fn each_bad_item_names_itself_and_its_problem() {
        use SloProblem::*;
        for (bad, problem) in [
            ("recovery", NotNameValue),
            ("recovery=fast", NotADuration),
            ("latency=1s", UnknownName),
            ("availability=2", NotARatio),
            ("recovery.=1s", UnknownName),
        ] {
            let e = Slos::parse(&["restart=1s".into(), bad.to_string()]).unwrap_err();
            assert_eq!(e, SloError { item: bad.into(), problem }, "{bad}");
            assert!(e.to_string().contains(bad), "{e}");
        }
    }
}
