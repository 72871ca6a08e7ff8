//! A seal tried again until it succeeds: what `restate-seal-while-provisioning`
//! measures. Each attempt is bounded, and its outcome recorded: `ok`,
//! `fail` (restatectl answered with an error: a definite refusal) or
//! `timeout` (no answer: the outcome is unknown, which a seal must never be).

use super::records::{SealAttempt, SealAttempts};
use crate::db::DbError;
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};

/// How long one attempt may take before it counts as hung.
pub const ATTEMPT: Duration = Duration::from_secs(10);
/// The pause between attempts.
const PAUSE: Duration = Duration::from_millis(250);

/// Runs restatectl for at most `limit`: (exit success, its output), or
/// `None` when it did not finish (it is killed). Its pipes are read while it
/// runs: a long answer never blocks it into a false "hung".
fn run_within(ctl: &Path, args: &[&str], limit: Duration) -> Result<Option<(bool, String)>, DbError> {
    let ctl = ctl.display().to_string();
    let argv: Vec<&str> = std::iter::once(ctl.as_str()).chain(args.iter().copied()).collect();
    let done = control::local::run_within(&argv, limit).map_err(|e| DbError::Local(e.to_string()))?;
    Ok(done.map(|f| (f.success, f.stdout + &f.stderr)))
}

/// The outcome restatectl's answer means: it exits 0 even when the seal
/// failed (logging an ERROR line), so only its success line counts.
pub fn outcome(success: bool, text: &str) -> &'static str {
    if success && text.contains("has been sealed") && !super::faults::failed(text) {
        "ok"
    } else {
        "fail"
    }
}

/// Seals `logs` through `addrs`, again every 250 ms until it succeeds or
/// `retry` has passed: every attempt, the time to the first success.
pub fn seal_until(ctl: &Path, addrs: &str, logs: &[u32], retry: Duration) -> Result<Value, DbError> {
    if logs.is_empty() {
        return Err(DbError::Sut("a seal tried again must name its logs (the cluster may not know them yet)".into()));
    }
    let ids: Vec<String> = logs.iter().map(u32::to_string).collect();
    let mut args = vec!["--address", addrs, "logs", "seal"];
    args.extend(ids.iter().map(String::as_str));
    args.push("--yes");
    let t0 = Instant::now();
    let mut attempts: Vec<SealAttempt> = Vec::new();
    loop {
        let states = super::sql(ctl, addrs, "SELECT name, storage_state FROM nodes ORDER BY name").unwrap_or_default();
        let log_servers: Vec<String> = states.iter().filter_map(|r| Some(format!("{}={}", r["name"].as_str()?, r["storage_state"].as_str()?))).collect();
        let at = t0.elapsed();
        let r = run_within(ctl, &args, ATTEMPT)?;
        let (outcome, message) = match r {
            Some((ok, text)) => (outcome(ok, &text), text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim().to_string()),
            None => ("timeout", format!("no answer within {} s", ATTEMPT.as_secs())),
        };
        attempts.push(SealAttempt { at_s: at.as_secs_f64(), took_s: (t0.elapsed() - at).as_secs_f64(), outcome: outcome.to_string(), message, log_servers });
        if outcome == "ok" || t0.elapsed() >= retry {
            break;
        }
        std::thread::sleep(PAUSE);
    }
    let sealed_after_s = attempts.iter().find(|a| a.outcome == "ok").map(|a| a.at_s + a.took_s);
    let hung = attempts.iter().filter(|a| a.outcome == "timeout").count();
    let record = SealAttempts { logs: logs.to_vec(), attempts, sealed_after_s, hung };
    serde_json::to_value(record).map_err(|e| DbError::Sut(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_longer_than_a_pipe_is_an_answer_not_a_hung_seal() {
        // restatectl's place taken by sh printing 300 kB (a pipe holds 64 KiB)
        let r = run_within(Path::new("/bin/sh"), &["-c", "head -c 300000 /dev/zero | tr '\\0' x"], Duration::from_secs(30)).unwrap();
        let (ok, text) = r.expect("it answered");
        assert!(ok && text.len() == 300_000, "{ok} {}", text.len());
        assert_eq!(run_within(Path::new("/bin/sh"), &["-c", "sleep 30"], Duration::from_millis(200)).unwrap(), None, "a hung seal is one");
    }

    #[test]
    fn an_error_printed_with_exit_0_is_a_failure() {
        assert_eq!(outcome(true, "✅ log=0 chain has been sealed"), "ok");
        assert_eq!(outcome(true, "Error: cluster is not provisioned"), "fail");
        let logged = "2026-11-29T05:23:20.927424Z ERROR restatectl::commands::log::seal: Failed to seal log chain for log=0: tcp connect error";
        assert_eq!(outcome(true, logged), "fail");
        assert_eq!(outcome(false, "connection refused"), "fail");
    }

    #[test]
    fn a_command_that_does_not_answer_in_time_is_killed_and_reported() {
        let r = run_within(Path::new("/bin/sleep"), &["5"], Duration::from_millis(200)).unwrap();
        assert_eq!(r, None);
        let r = run_within(Path::new("/bin/echo"), &["log=0 chain has been sealed"], Duration::from_secs(5)).unwrap();
        assert_eq!(r.map(|(ok, t)| outcome(ok, &t)), Some("ok"));
        let r = run_within(Path::new("/bin/echo"), &["Error: no"], Duration::from_secs(5)).unwrap();
        assert_eq!(r.map(|(ok, t)| outcome(ok, &t)), Some("fail"));
    }
}
