//! JUnit XML for CI dashboards: one file per run, and one for an aggregate.

use checker::trends::Trends;
use checker::Verdict;
use results::{RunResults, TestRecord};
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
pub fn run_junit(test: &TestRecord, r: &RunResults) -> String {
    let suite = if test.name.is_empty() { "faultline" } else { test.name.as_str() };
    let mut cases = String::new();
    let mut n = 0;
    let mut failures = 0;
    let mut add = |cases: &mut String, class: &str, name: &str, f: Option<String>| {
        n += 1;
        failures += f.is_some() as usize;
        case(cases, class, name, f);
    };
    if let Some(e) = r.facts.infrastructure_error.as_ref().or(r.facts.refused.as_ref()) {
        add(&mut cases, suite, "infrastructure", Some(e.clone()));
    }
    let c = &r.checks;
    for (name, v) in c.verdicts() {
        if name == "recovery" {
            continue;
        }
        let why = c.named.get(name).and_then(|n| n.reason.clone());
        add(&mut cases, suite, name, (v != Verdict::Valid).then(|| why.unwrap_or_else(|| format!("{name} check: {}", v.as_str()))));
    }
    for (name, why) in &c.unknown {
        add(&mut cases, suite, name, Some(format!("unknown: {why}")));
    }
    for x in c.recovery.iter().flat_map(|rec| &rec.recoveries) {
        let name = format!("recovery window {} {} {} {}", x.window, x.fault, x.node, x.service);
        let f = (!x.pass).then(|| {
            let took = x.recovered_s.map(|s| format!("recovered after {s:.2} s")).unwrap_or_else(|| format!("not recovered in {:.1} s", x.observed_s));
            format!("{}: {took} (SLO {} s)", x.outcome.as_str(), x.slo_s)
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
