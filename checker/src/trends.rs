//! Across runs: recovery time distributions per service and the
//! probability that a run violates an SLO, with a 95% Wilson interval, so
//! "fails in about 5% of runs" becomes a measured figure with its
//! uncertainty.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What one run contributes.
#[derive(Debug, Clone)]
pub struct RunSummary {
    /// The run's directory or name.
    pub run: String,
    /// Whether the run violated any SLO (or any check).
    pub violated: bool,
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
    /// Runs aggregated.
    pub runs: usize,
    /// Runs that violated an SLO or a check.
    pub violations: usize,
    /// violations / runs.
    pub violation_rate: f64,
    /// 95% Wilson score interval of the violation probability.
    pub violation_ci95: (f64, f64),
    /// Recovery time per service.
    pub services: BTreeMap<String, Distribution>,
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
    let violations = runs.iter().filter(|r| r.violated).count();
    Trends {
        runs: runs.len(),
        violations,
        violation_rate: if runs.is_empty() { 0.0 } else { violations as f64 / runs.len() as f64 },
        violation_ci95: wilson(violations, runs.len()),
        services,
    }
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
                violated: i % 20 == 0,
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
}
