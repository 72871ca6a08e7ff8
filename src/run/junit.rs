//! JUnit XML for CI dashboards: one file per run, and one for an aggregate.

use checker::trends::Trends;
use serde_json::Value;
use std::fmt::Write;

fn xml(s: &str) -> String {
    reports::html::esc(s)
}

fn case(out: &mut String, class: &str, name: &str, failure: Option<String>) {
    let _ = write!(out, "  <testcase classname=\"{}\" name=\"{}\"", xml(class), xml(name));
    match failure {
        Some(f) => {
            let _ = writeln!(out, "><failure message=\"{}\"/></testcase>", xml(&f));
        }
        None => out.push_str("/>\n"),
    }
}

/// A run's checks and every recovery measurement as test cases.
pub fn run_junit(test: &Value, results: &Value) -> String {
    let suite = test["name"].as_str().unwrap_or("faultline");
    let mut cases = String::new();
    let mut n = 0;
    let mut failures = 0;
    let mut add = |cases: &mut String, class: &str, name: &str, f: Option<String>| {
        n += 1;
        failures += f.is_some() as usize;
        case(cases, class, name, f);
    };
    if let Some(e) = results["infrastructure_error"].as_str().or(results["refused"].as_str()) {
        add(&mut cases, suite, "infrastructure", Some(e.to_string()));
    }
    let checks = &results["checks"];
    for k in ["linearizable", "set", "append", "availability", "startup"] {
        let c = &checks[k];
        if c.is_null() {
            continue;
        }
        let ok = c["valid"] == true || c["valid"] == "valid";
        let why = c["reason"].as_str().map(String::from).unwrap_or_else(|| format!("{k} check failed"));
        add(&mut cases, suite, k, (!ok).then_some(why));
    }
    for r in checks["recovery"]["recoveries"].as_array().into_iter().flatten() {
        let name = format!(
            "recovery window {} {} {} {}",
            r["window"],
            r["fault"].as_str().unwrap_or(""),
            r["node"].as_str().unwrap_or(""),
            r["service"].as_str().unwrap_or("")
        );
        let f = (r["pass"] != true).then(|| {
            format!(
                "{}: {} (SLO {} s)",
                r["outcome"].as_str().unwrap_or(""),
                r["recovered_s"]
                    .as_f64()
                    .map(|s| format!("recovered after {s:.2} s"))
                    .unwrap_or_else(|| format!("not recovered in {:.1} s", r["observed_s"].as_f64().unwrap_or(0.0))),
                r["slo_s"]
            )
        });
        add(&mut cases, suite, &name, f);
    }
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"{}\" tests=\"{n}\" failures=\"{failures}\">\n{cases}</testsuite>\n", xml(suite))
}

/// The aggregate as test cases: SLO violation rate and each service's
/// recovery distribution.
pub fn trends_junit(name: &str, t: &Trends) -> String {
    let mut cases = String::new();
    case(
        &mut cases,
        name,
        "runs violating an SLO",
        (t.violations > 0).then(|| {
            format!(
                "{} of {} runs ({:.1}%, 95% CI {:.1}%..{:.1}%)",
                t.violations,
                t.runs,
                t.violation_rate * 100.0,
                t.violation_ci95.0 * 100.0,
                t.violation_ci95.1 * 100.0
            )
        }),
    );
    for (s, d) in &t.services {
        case(&mut cases, name, &format!("recovery {s}"), (d.not_recovered > 0).then(|| format!("{} windows never recovered", d.not_recovered)));
    }
    let failures = cases.matches("<failure").count();
    let n = cases.matches("<testcase").count();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"{} trends\" tests=\"{n}\" failures=\"{failures}\">\n{cases}</testsuite>\n",
        xml(name)
    )
}
