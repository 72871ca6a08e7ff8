//! What Restate's faults record, as typed data (the log tails before and
//! after a log fault, a seal tried until it succeeds, a wiped node's
//! rejoining), and its check of the seals tried while it started.

use checker::Verdict;
use results::StartupFault;
use serde::{Deserialize, Serialize};

/// One log's tail, as a log fault records it before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogTail {
    /// The log (Restate: one per partition).
    pub log_id: u32,
    /// The tail segment's index in the chain.
    pub segment_index: u32,
    /// True when the tail is sealed (not yet extended).
    pub sealed: bool,
    /// The logs metadata version it was read at.
    pub metadata_version: u64,
}

/// What a log fault (`reconfigure-log`, `seal-log`, `extend-log`,
/// `settle-log`) records: the logs' tails before and after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogChange {
    /// The logs it acted on.
    #[serde(default)]
    pub logs: Vec<u32>,
    /// Their tails before.
    #[serde(default)]
    pub before: Vec<LogTail>,
    /// Their tails after.
    #[serde(default)]
    pub after: Vec<LogTail>,
}

/// One step of a wiped node's rejoining.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RejoinStep {
    /// Seconds since the rejoin began.
    pub at_s: f64,
    /// What happened or was done.
    pub step: String,
}

/// How one wiped node rejoined.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rejoin {
    /// The node.
    pub node: String,
    /// Its steps, in order.
    pub steps: Vec<RejoinStep>,
    /// True when an operator's step was needed (the system would not take
    /// the node back by itself).
    pub operator_steps: bool,
}

/// What `rejoin-node` records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rejoins {
    /// Per node.
    pub steps: Vec<Rejoin>,
}

/// One attempt of a seal tried again until it succeeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SealAttempt {
    /// Seconds since the first attempt began.
    pub at_s: f64,
    /// How long it took.
    pub took_s: f64,
    /// `ok`, `fail` (a definite refusal) or `timeout` (no answer: unknown).
    pub outcome: String,
    /// The tool's last line.
    pub message: String,
    /// The log servers' storage states just before it (`n1=provisioning`),
    /// when the cluster could tell.
    #[serde(default)]
    pub log_servers: Vec<String>,
}

/// A seal tried again until it succeeded (or gave up).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SealAttempts {
    /// The logs sealed.
    pub logs: Vec<u32>,
    /// Every attempt, in order.
    pub attempts: Vec<SealAttempt>,
    /// Seconds from the first attempt to the first success, if any.
    pub sealed_after_s: Option<f64>,
    /// Attempts that got no answer in time.
    pub hung: usize,
}

/// The check of faults applied while the system started: a seal must fail
/// definitely until it succeeds (never hang, never an unknown outcome).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StartupFaultsCheck {
    /// Invalid when an attempt hung; unknown when no seal ever succeeded.
    pub valid: Verdict,
    /// Each seal tried while starting.
    pub seals: Vec<SealAttempts>,
    /// Why, in one line.
    pub summary: String,
}

/// Checks the seals among `faults`: `None` when there were none.
pub fn check_startup_seals(faults: &[StartupFault]) -> Option<StartupFaultsCheck> {
    let seals: Vec<SealAttempts> = faults.iter().filter(|f| f.f == "seal-log").filter_map(|f| serde_json::from_value(f.value.clone()).ok()).collect();
    if seals.is_empty() {
        return None;
    }
    let hung: usize = seals.iter().map(|s| s.hung).sum();
    let failed: usize = seals.iter().map(|s| s.attempts.iter().filter(|a| a.outcome == "fail").count()).sum();
    let never = seals.iter().filter(|s| s.sealed_after_s.is_none()).count();
    let (valid, summary) = if hung > 0 {
        (Verdict::Invalid, format!("{hung} seal attempt(s) hung with no answer (outcome unknown); {failed} failed definitely"))
    } else if never > 0 {
        (Verdict::Unknown, format!("no seal succeeded ({failed} failed definitely, none hung)"))
    } else {
        let t = seals.iter().filter_map(|s| s.sealed_after_s).fold(0.0, f64::max);
        (Verdict::Valid, format!("{failed} early seal(s) failed definitely, none hung; sealed after {t:.2} s"))
    };
    Some(StartupFaultsCheck { valid, seals, summary })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn seal(outcomes: &[&str]) -> StartupFault {
        let attempts: Vec<Value> = outcomes
            .iter()
            .enumerate()
            .map(|(i, o)| json!({"at_s": i as f64 * 0.25, "took_s": 0.01, "outcome": o, "message": "", "log_servers": ["n1=provisioning"]}))
            .collect();
        let ok = outcomes.iter().position(|o| *o == "ok").map(|i| i as f64 * 0.25 + 0.01);
        let hung = outcomes.iter().filter(|o| **o == "timeout").count();
        StartupFault {
            at_ms: 0,
            fault: json!({"f": "seal-log"}),
            f: "seal-log".into(),
            value: json!({"logs": [0], "attempts": attempts, "sealed_after_s": ok, "hung": hung}),
            error: None,
        }
    }

    #[test]
    fn early_seals_must_fail_definitely_until_one_succeeds() {
        let c = check_startup_seals(&[seal(&["fail", "fail", "ok"])]).unwrap();
        assert_eq!(c.valid, Verdict::Valid, "{c:?}");
        assert!(c.summary.contains("2 early seal(s) failed definitely") && c.summary.contains("0.51 s"), "{}", c.summary);
        assert_eq!(check_startup_seals(&[seal(&["fail", "timeout", "ok"])]).unwrap().valid, Verdict::Invalid);
        assert_eq!(check_startup_seals(&[seal(&["fail", "fail"])]).unwrap().valid, Verdict::Unknown);
        assert!(check_startup_seals(&[]).is_none());
    }
}
