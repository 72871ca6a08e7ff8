//! Checking a run directory: the same code after a run and for
//! `faultline analyze RUN_DIR` (offline, from the stored files only).

use super::store::{read_json, write_json};
use super::RunFacts;
use crate::exit;
use checker::recovery::{availability_outside, check_recovery, Slos};
use checker::{check_history, Budget, CheckOptions, ModelKind, Verdict};
use history::{History, Semantics};
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};

/// The outcome of an analysis.
pub struct Analysis {
    /// The verdict.
    pub verdict: Verdict,
    /// The exit code for it.
    pub exit_code: i32,
    /// One line.
    pub summary: String,
}

/// Only the ops of the workload (clients and final reads; no probes, no nemesis).
fn client_ops(h: &History) -> History {
    let mut out = History { header: h.header.clone(), ..History::default() };
    for (op, line) in h.ops.iter().zip(&h.lines) {
        if op.is_workload() {
            out.ops.push(op.clone());
            out.lines.push(*line);
        }
    }
    out
}

fn verdict_of(valid: bool) -> Verdict {
    if valid {
        Verdict::Valid
    } else {
        Verdict::Invalid
    }
}

/// Checks the run in `dir` and writes `results.json` (and the report).
pub fn analyze(dir: &Path) -> Result<Analysis, String> {
    let test = read_json(&dir.join("test.json"))?;
    let facts: RunFacts = match read_json(&dir.join("run.json")) {
        Ok(v) => serde_json::from_value(v).map_err(|e| format!("run.json: {e}"))?,
        Err(_) => RunFacts::default(), // a run killed before it wrote run.json
    };
    let opts = &test["options"];
    let mut results = json!({
        "startup": facts.startup,
        "infrastructure_error": facts.infrastructure_error,
        "refused": facts.refused,
        "heal_errors": facts.heal_errors,
        "interrupted": facts.interrupted,
    });
    let history_path = dir.join("history.jsonl");
    let mut verdicts = Vec::new();
    let mut history = History::default();
    if history_path.exists() {
        let (_, h) = history::load(&history_path, Some(history::Format::Jsonl)).map_err(|e| e.to_string())?;
        history = h;
        let h = &history;
        let clients = client_ops(h);
        let started = Instant::now();
        let workload = test["workload"].as_str().unwrap_or("register");
        let slo_items: Vec<String> = opts["slo"].as_array().into_iter().flatten().filter_map(|v| v.as_str().map(String::from)).collect();
        let slos = Slos::parse(&slo_items).map_err(|e| format!("test.json: {e}"))?;
        let append_slo = slos.append;
        let mut appends = None;

        let check = match workload {
            "register" => {
                let mut o = CheckOptions::new(ModelKind::CasRegister);
                o.independent = true;
                o.semantics = Semantics::FAULTLINE;
                o.budget = Budget { deadline: Some(Instant::now() + Duration::from_secs(120)), max_bytes: 4 << 30 };
                let r = check_history(&clients, &o).map_err(|e| format!("history.jsonl: {e}"))?;
                verdicts.push(r.valid);
                json!({"linearizable": r})
            }
            "set" => {
                let linearizable = !opts["serializable"].as_bool().unwrap_or(false);
                let r = checker::sets::check_set(&clients, linearizable).map_err(|e| format!("history.jsonl: {e}"))?;
                verdicts.push(verdict_of(r.valid));
                json!({"set": r})
            }
            _ => {
                let r = checker::logs::check_append(&clients, append_slo.unwrap_or(1.0).min(1.0)).map_err(|e| format!("history.jsonl: {e}"))?;
                appends = Some(r.clone());
                verdicts.push(verdict_of(r.valid));
                json!({"append": r})
            }
        };
        let windows = nuclei::PACKAGES.iter().map(|p| (p.start_f.to_string(), p.stop_f.to_string(), p.name.to_string())).collect();
        let rec = check_recovery(h, &slos.recovery_options(windows));
        verdicts.push(verdict_of(rec.valid));
        let mut checks = check;
        if let Some(min) = slos.availability {
            let got = availability_outside(h, &rec.windows);
            let pass = got.is_some_and(|a| a >= min);
            verdicts.push(verdict_of(pass));
            checks["availability"] = json!({"valid": pass, "min": min, "outside_windows": got});
        }
        if let (Some(limit), Some(a)) = (slos.append, &appends) {
            let worst = checker::logs::slowest_outside(a, h, &rec.windows);
            let pass = worst <= limit;
            verdicts.push(verdict_of(pass));
            checks["append_latency"] = json!({"valid": pass, "slo_s": limit, "worst_s": worst});
        }
        if let Some(limit) = slos.startup {
            let took = facts.startup.as_ref().and_then(|s| s["cluster"].as_f64());
            let pass = took.is_some_and(|t| t <= limit);
            verdicts.push(verdict_of(pass));
            checks["startup"] = json!({"valid": pass, "slo_s": limit, "cluster_s": took, "nodes": facts.startup.as_ref().map(|s| s["nodes"].clone())});
        }
        checks["slos"] = serde_json::to_value(&slos).unwrap_or(Value::Null);
        checks["recovery"] = serde_json::to_value(&rec).unwrap_or(Value::Null);
        results["checks"] = checks;
        let count = |k: history::OpType| clients.ops.iter().filter(|o| o.kind == k).count();
        results["stats"] = json!({
            "invocations": count(history::OpType::Invoke),
            "ok": count(history::OpType::Ok),
            "fail": count(history::OpType::Fail),
            "info": count(history::OpType::Info),
            "duration_s": h.ops.last().map(|o| o.time as f64 / 1e9).unwrap_or(0.0),
            "check_s": started.elapsed().as_secs_f64(),
            "truncated_line": h.truncated_line,
        });
    }
    let (verdict, exit_code, summary) = if let Some(r) = &facts.refused {
        (Verdict::Unknown, exit::BAD_INPUT, format!("refused: {r}"))
    } else if let Some(e) = &facts.infrastructure_error {
        (Verdict::Unknown, exit::INFRA, format!("infrastructure failure: {e}"))
    } else if verdicts.is_empty() {
        (Verdict::Unknown, exit::UNKNOWN, "no history".to_string())
    } else {
        let v = if verdicts.contains(&Verdict::Invalid) {
            Verdict::Invalid
        } else if verdicts.contains(&Verdict::Unknown) {
            Verdict::Unknown
        } else {
            Verdict::Valid
        };
        (v, v.exit_code(), summarize(&results))
    };
    results["valid"] = json!(verdict.as_str());
    results["summary"] = json!(summary);
    results["exit_code"] = json!(exit_code);
    write_json(&dir.join("results.json"), &results)?;
    super::report::write_report(dir, &test, &results, &history)?;
    std::fs::write(dir.join("junit.xml"), super::junit::run_junit(&test, &results)).map_err(|e| format!("junit.xml: {e}"))?;
    Ok(Analysis { verdict, exit_code, summary })
}

fn summarize(r: &Value) -> String {
    let c = &r["checks"];
    let mut parts = Vec::new();
    for k in ["linearizable", "set", "append"] {
        if let Some(v) = c.get(k) {
            let valid = &v["valid"];
            let text = valid.as_str().map(str::to_string).unwrap_or_else(|| if valid.as_bool() == Some(true) { "valid".into() } else { "invalid".into() });
            parts.push(format!("{k}: {text}"));
        }
    }
    if let Some(rec) = c.get("recovery") {
        let n = rec["recoveries"].as_array().map(|a| a.len()).unwrap_or(0);
        let failed = rec["recoveries"].as_array().map(|a| a.iter().filter(|x| x["pass"] == false).count()).unwrap_or(0);
        parts.push(format!("recovery: {} of {n} node-service windows within SLO, worst {:.2} s", n - failed, rec["worst_s"].as_f64().unwrap_or(0.0)));
    }
    parts.join("; ")
}
