//! Across runs: recovery time distributions per service and the
//! probability that a run violates an SLO, with a 95% Wilson interval, so
//! "fails in about 5% of runs" becomes a measured figure with its
//! uncertainty.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How a run ended, for counting: only system violations enter the
/// violation rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Every check and SLO held.
    Passed,
    /// The system violated an SLO or a check.
    Violated,
    /// A check could not decide (a budget ran out): neither.
    Undecided,
    /// The infrastructure failed (nodes, faults, setup, a refused run):
    /// says nothing about the system.
    Infrastructure,
    /// The tester was stopped or killed before the run ended.
    Interrupted,
}

/// What one run contributes.
#[derive(Debug, Clone)]
pub struct RunSummary {
    /// The run's directory or name.
    pub run: String,
    /// The store (shard) it came from.
    pub shard: String,
    /// How it ended.
    pub outcome: Outcome,
    /// Per (service, seconds to sustained recovery; `None` if not recovered).
    pub recoveries: Vec<(String, Option<f64>)>,
}

/// A distribution of recovery times.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Distribution {
    /// Recovered measurements.
    pub count: usize,
    /// Measurements that never recovered.
    pub not_recovered: usize,
    /// Median, seconds.
    pub p50: f64,
    /// 95th percentile, seconds.
    pub p95: f64,
    /// 99th percentile, seconds.
    pub p99: f64,
    /// Maximum, seconds.
    pub max: f64,
}

/// The aggregate.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Trends {
    /// Runs aggregated, whatever their outcome.
    pub runs: usize,
    /// Runs where the system violated an SLO or a check.
    pub violations: usize,
    /// Runs that passed.
    #[serde(default)]
    pub passed: usize,
    /// Runs whose checks could not decide.
    #[serde(default)]
    pub undecided: usize,
    /// Runs the infrastructure failed (not counted in the rate).
    #[serde(default)]
    pub infrastructure: usize,
    /// Runs stopped or killed before they ended (not counted in the rate).
    #[serde(default)]
    pub interrupted: usize,
    /// violations / (violations + passed): the system's runs only.
    pub violation_rate: f64,
    /// 95% Wilson score interval of the violation probability.
    pub violation_ci95: (f64, f64),
    /// The rate the runs so far rule out: the exact one-sided 95% upper
    /// bound (Clopper-Pearson), "below this with 95% confidence".
    #[serde(default)]
    pub upper95: f64,
    /// Runs and violations per store (shard), when runs came from several.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub shards: BTreeMap<String, ShardCount>,
    /// The runs where the system violated an SLO or a check.
    #[serde(default)]
    pub violating: Vec<String>,
    /// The sequential test, when the runs were repeated until it decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequential: Option<crate::sprt::Sprt>,
    /// Recovery time per service.
    pub services: BTreeMap<String, Distribution>,
}

/// One shard's share of the runs.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ShardCount {
    /// Its runs.
    pub runs: usize,
    /// Of which the system violated an SLO or a check.
    pub violations: usize,
}

/// The 95% Wilson score interval for `k` successes in `n` trials.
pub fn wilson(k: usize, n: usize) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let (k, n, z) = (k as f64, n as f64, 1.959_963_984_540_054_f64);
    let p = k / n;
    let denom = 1.0 + z * z / n;
    let centre = (p + z * z / (2.0 * n)) / denom;
    let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / denom;
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// The nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

/// Aggregates runs.
pub fn aggregate(runs: &[RunSummary]) -> Trends {
    let mut per: BTreeMap<String, (Vec<f64>, usize)> = BTreeMap::new();
    for r in runs {
        for (service, t) in &r.recoveries {
            let e = per.entry(service.clone()).or_default();
            match t {
                Some(t) => e.0.push(*t),
                None => e.1 += 1,
            }
        }
    }
    let services = per
        .into_iter()
        .map(|(s, (mut v, nr))| {
            v.sort_by(f64::total_cmp);
            let d = Distribution {
                count: v.len(),
                not_recovered: nr,
                p50: percentile(&v, 0.5),
                p95: percentile(&v, 0.95),
                p99: percentile(&v, 0.99),
                max: v.last().copied().unwrap_or(0.0),
            };
            (s, d)
        })
        .collect();
    let count = |o: Outcome| runs.iter().filter(|r| r.outcome == o).count();
    let mut shards: BTreeMap<String, ShardCount> = BTreeMap::new();
    for r in runs {
        let s = shards.entry(r.shard.clone()).or_default();
        s.runs += 1;
        s.violations += usize::from(r.outcome == Outcome::Violated);
    }
    if shards.len() < 2 {
        shards.clear();
    }
    let (violations, passed) = (count(Outcome::Violated), count(Outcome::Passed));
    let decided = violations + passed;
    Trends {
        runs: runs.len(),
        violations,
        passed,
        undecided: count(Outcome::Undecided),
        infrastructure: count(Outcome::Infrastructure),
        interrupted: count(Outcome::Interrupted),
        violation_rate: if decided == 0 { 0.0 } else { violations as f64 / decided as f64 },
        violation_ci95: wilson(violations, decided),
        upper95: upper_bound(violations, decided, 0.05),
        shards,
        violating: runs.iter().filter(|r| r.outcome == Outcome::Violated).map(|r| r.run.clone()).collect(),
        sequential: None,
        services,
    }
}

/// P(X <= k) for X ~ Binomial(n, p), summed in logs.
pub fn binomial_cdf(k: usize, n: usize, p: f64) -> f64 {
    if k >= n {
        return 1.0;
    }
    // term by term in logs: no overflow at thousands of runs
    let (lp, lq) = (p.ln(), (1.0 - p).ln());
    let mut log_c = 0.0; // ln C(n, 0)
    let mut sum = 0.0;
    for i in 0..=k {
        if i > 0 {
            log_c += ((n - i + 1) as f64).ln() - (i as f64).ln();
        }
        sum += (log_c + i as f64 * lp + (n - i) as f64 * lq).exp();
    }
    sum.min(1.0)
}

/// The exact one-sided upper confidence bound on a rate after `k` events in
/// `n` trials: the `p` at which seeing `k` or fewer has probability `alpha`
/// (Clopper-Pearson). With `k` = 0 it is `1 - alpha^(1/n)`.
pub fn upper_bound(k: usize, n: usize, alpha: f64) -> f64 {
    if n == 0 || k >= n {
        return 1.0;
    }
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    for _ in 0..100 {
        let mid = (lo + hi) / 2.0;
        if binomial_cdf(k, n, mid) > alpha {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    hi
}

/// How many more runs without a violation would bring the 95% upper bound
/// below `rate`, after `k` violations in `n` runs (`None`: more than a
/// million).
pub fn runs_to_rule_out(rate: f64, k: usize, n: usize) -> Option<usize> {
    if !(rate > 0.0 && rate < 1.0) {
        return None;
    }
    let below = |m: usize| upper_bound(k, n + m, 0.05) < rate;
    if below(0) {
        return Some(0);
    }
    let mut hi = 1;
    while !below(hi) {
        hi *= 2;
        if hi > 1_000_000 {
            return None;
        }
    }
    let mut lo = hi / 2;
    while lo + 1 < hi {
        let mid = (lo + hi) / 2;
        if below(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Some(hi)
}

/// What the runs so far can and cannot rule out, in words: "0 of 20: the
/// rate is below 13.9% with 95% confidence; ruling out 5.0% needs 39 more
/// runs without a violation (59 in all)".
pub fn rule_out_text(t: &Trends, rate: f64) -> String {
    let decided = t.violations + t.passed;
    let mut s = format!("{} of {decided}: the rate is below {:.1}% with 95% confidence", t.violations, t.upper95 * 100.0);
    match runs_to_rule_out(rate, t.violations, decided) {
        Some(0) => s += &format!("; {:.1}% is ruled out", rate * 100.0),
        Some(m) => s += &format!("; ruling out {:.1}% needs {m} more runs without a violation ({} in all)", rate * 100.0, decided + m),
        None => s += &format!("; {:.1}% cannot be ruled out at this violation count", rate * 100.0),
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_intervals_match_known_values() {
        // 5 violations in 100 runs: 5.0% with interval about 2.15%..11.18%
        let (lo, hi) = wilson(5, 100);
        assert!((lo - 0.021_543).abs() < 1e-4 && (hi - 0.111_752).abs() < 1e-4, "{lo} {hi}");
        let (lo, hi) = wilson(0, 20);
        assert_eq!(lo, 0.0);
        assert!((hi - 0.161_125).abs() < 1e-4, "{hi}");
        assert_eq!(wilson(0, 0), (0.0, 1.0));
        let (lo, hi) = wilson(10, 10);
        assert!((lo - 0.722_467).abs() < 1e-4 && (hi - 1.0).abs() < 1e-12, "{lo} {hi}");
    }

    #[test]
    fn percentiles_and_distributions_per_service() {
        let runs: Vec<RunSummary> = (1..=100)
            .map(|i| RunSummary {
                run: format!("r{i}"),
                shard: String::new(),
                outcome: if i % 20 == 0 { Outcome::Violated } else { Outcome::Passed },
                recoveries: vec![("client".into(), Some(i as f64)), ("ingress".into(), if i == 7 { None } else { Some(1.0) })],
            })
            .collect();
        let t = aggregate(&runs);
        assert_eq!((t.runs, t.violations), (100, 5));
        assert!((t.violation_rate - 0.05).abs() < 1e-12);
        let c = &t.services["client"];
        assert_eq!((c.count, c.p50, c.p95, c.p99, c.max), (100, 50.0, 95.0, 99.0, 100.0));
        let i = &t.services["ingress"];
        assert_eq!((i.count, i.not_recovered, i.max), (99, 1, 1.0));
    }

    #[test]
    fn only_the_systems_runs_enter_the_rate() {
        let mut runs: Vec<RunSummary> =
            (0..18).map(|i| RunSummary { run: format!("r{i}"), shard: String::new(), outcome: Outcome::Passed, recoveries: vec![] }).collect();
        for o in [Outcome::Violated, Outcome::Violated, Outcome::Infrastructure, Outcome::Interrupted, Outcome::Undecided] {
            runs.push(RunSummary { run: "x".into(), shard: String::new(), outcome: o, recoveries: vec![] });
        }
        let t = aggregate(&runs);
        assert_eq!((t.runs, t.violations, t.passed, t.infrastructure, t.interrupted, t.undecided), (23, 2, 18, 1, 1, 1));
        assert!((t.violation_rate - 0.1).abs() < 1e-12, "2 of 20, not of 23");
    }

    #[test]
    fn clean_runs_bound_the_rate_as_the_rule_of_three_says() {
        // 0 of 20: below 1 - 0.05^(1/20) = 13.9%; ruling out 5% takes 59 in all
        let u = upper_bound(0, 20, 0.05);
        assert!((u - (1.0 - 0.05f64.powf(1.0 / 20.0))).abs() < 1e-9, "{u}");
        assert_eq!(runs_to_rule_out(0.05, 0, 20), Some(39));
        assert_eq!(runs_to_rule_out(0.01, 0, 0), Some(299), "about 300 runs show a rate under 1%");
        // with violations the bound is Clopper-Pearson's: 1 of 20 -> 21.6%
        assert!((upper_bound(1, 20, 0.05) - 0.2161).abs() < 1e-3, "{}", upper_bound(1, 20, 0.05));
        // half the runs violate: only hundreds of clean runs would dilute it
        assert!(runs_to_rule_out(0.05, 10, 20).is_some_and(|m| m > 300), "{:?}", runs_to_rule_out(0.05, 10, 20));
        let t = aggregate(
            &(0..20).map(|i| RunSummary { run: format!("r{i}"), shard: String::new(), outcome: Outcome::Passed, recoveries: vec![] }).collect::<Vec<_>>(),
        );
        assert_eq!(
            rule_out_text(&t, 0.05),
            "0 of 20: the rate is below 13.9% with 95% confidence; ruling out 5.0% needs 39 more runs without a violation (59 in all)"
        );
    }
}
