//! Deciding whether a violation rate is above or below a threshold with as
//! few runs as the evidence allows: Wald's sequential probability ratio
//! test on Bernoulli outcomes. It tests the rate `p0` = threshold / 2
//! ("below") against `p1` = 2 x threshold ("above"), with error rates
//! `alpha` (saying above when the rate is at most `p0`) and `beta` (saying
//! below when it is at least `p1`); between the two is the indifference
//! zone, where either answer is acceptable. [`fixed_runs`] is the fixed
//! number of runs that gives the same error rates, for comparison.

use crate::trends::binomial_cdf as cdf;
use serde::{Deserialize, Serialize};

/// What the test says so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// The rate is above the threshold (accepts `p1`).
    Above,
    /// The rate is below the threshold (accepts `p0`).
    Below,
    /// Not enough evidence yet.
    Continue,
}

/// A running test, and what it decided (stored in `trends.json`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Sprt {
    /// The threshold asked about.
    pub threshold: f64,
    /// The "below" hypothesis' rate.
    pub p0: f64,
    /// The "above" hypothesis' rate.
    pub p1: f64,
    /// P(decide above | rate = p0).
    pub alpha: f64,
    /// P(decide below | rate = p1).
    pub beta: f64,
    /// Runs observed (the system's: passed or violated).
    pub runs: usize,
    /// Of which violated.
    pub violations: usize,
    /// The log-likelihood ratio of p1 over p0 so far.
    pub llr: f64,
    /// The decision so far.
    pub decision: Decision,
}

/// Why a sequential test cannot be made.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SprtError {
    /// The rate threshold is not strictly between 0 and 0.5.
    Threshold(f64),
    /// An error rate (alpha, beta) is not strictly between 0 and 0.5.
    ErrorRates(f64, f64),
}

impl std::fmt::Display for SprtError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SprtError::Threshold(t) => write!(f, "the rate threshold must be between 0 and 0.5, got {t}"),
            SprtError::ErrorRates(a, b) => write!(f, "error rates must be between 0 and 0.5, got {a} and {b}"),
        }
    }
}

impl std::error::Error for SprtError {}

impl Sprt {
    /// A test of `threshold` (0 < threshold < 0.5) with error rates
    /// `alpha` and `beta`.
    pub fn new(threshold: f64, alpha: f64, beta: f64) -> Result<Sprt, SprtError> {
        if !(threshold > 0.0 && threshold < 0.5) {
            return Err(SprtError::Threshold(threshold));
        }
        if !(alpha > 0.0 && alpha < 0.5 && beta > 0.0 && beta < 0.5) {
            return Err(SprtError::ErrorRates(alpha, beta));
        }
        Ok(Sprt { threshold, p0: threshold / 2.0, p1: 2.0 * threshold, alpha, beta, runs: 0, violations: 0, llr: 0.0, decision: Decision::Continue })
    }

    /// Adds one run's outcome; the decision after it (once decided, it stays).
    pub fn observe(&mut self, violated: bool) -> Decision {
        if self.decision != Decision::Continue {
            return self.decision;
        }
        self.runs += 1;
        self.violations += usize::from(violated);
        self.llr += if violated { (self.p1 / self.p0).ln() } else { ((1.0 - self.p1) / (1.0 - self.p0)).ln() };
        let (upper, lower) = (((1.0 - self.beta) / self.alpha).ln(), (self.beta / (1.0 - self.alpha)).ln());
        self.decision = if self.llr >= upper {
            Decision::Above
        } else if self.llr <= lower {
            Decision::Below
        } else {
            Decision::Continue
        };
        self.decision
    }

    /// The decision in words.
    pub fn text(&self) -> String {
        let what = match self.decision {
            Decision::Above => format!("the violation rate is above {:.1}%", self.threshold * 100.0),
            Decision::Below => format!("the violation rate is below {:.1}%", self.threshold * 100.0),
            Decision::Continue => "undecided".to_string(),
        };
        format!(
            "sequential test: {what} after {} runs ({} violating); it tells a rate <= {:.1}% from >= {:.1}% with error rates {:.0}% / {:.0}%; a fixed number of runs would need {}",
            self.runs,
            self.violations,
            self.p0 * 100.0,
            self.p1 * 100.0,
            self.alpha * 100.0,
            self.beta * 100.0,
            fixed_runs(self.p0, self.p1, self.alpha, self.beta).0
        )
    }
}

/// The smallest fixed number of runs `n`, with its cut-off `c` (say
/// "above" when more than `c` violate), that tells `p0` from `p1` with
/// error rates at most `alpha` and `beta`.
pub fn fixed_runs(p0: f64, p1: f64, alpha: f64, beta: f64) -> (usize, usize) {
    for n in 1..100_000 {
        // the least c with P(X > c | p0) <= alpha, then check beta at p1
        let Some(c) = (0..=n).find(|&c| 1.0 - cdf(c, n, p0) <= alpha) else { continue };
        if cdf(c, n, p1) <= beta {
            return (n, c);
        }
    }
    (usize::MAX, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small seeded generator (splitmix64) for simulated runs.
    fn draws(seed: u64) -> impl FnMut() -> f64 {
        let mut s = seed;
        move || {
            s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    #[test]
    fn clear_rates_are_decided_right_and_sooner_than_a_fixed_number() {
        let (n_fixed, _) = fixed_runs(0.025, 0.10, 0.05, 0.05);
        for (rate, want) in [(0.01, Decision::Below), (0.20, Decision::Above)] {
            let (mut right, mut runs) = (0, 0);
            for trial in 0..400 {
                let mut t = Sprt::new(0.05, 0.05, 0.05).unwrap();
                let mut draw = draws(trial);
                while t.observe(draw() < rate) == Decision::Continue {}
                right += usize::from(t.decision == want);
                runs += t.runs;
            }
            assert!(right >= 380, "rate {rate}: {right} of 400 right");
            let mean = runs as f64 / 400.0;
            assert!(mean < n_fixed as f64 / 2.0, "rate {rate}: {mean} runs on average against {n_fixed} fixed");
        }
    }

    #[test]
    fn fixed_runs_meet_both_error_rates_and_bad_input_is_refused() {
        let (n, c) = fixed_runs(0.025, 0.10, 0.05, 0.05);
        assert!(1.0 - cdf(c, n, 0.025) <= 0.05 && cdf(c, n, 0.10) <= 0.05);
        assert!(n > 50 && n < 200, "{n}");
        assert!(Sprt::new(0.0, 0.05, 0.05).is_err() && Sprt::new(0.05, 0.7, 0.05).is_err());
        let mut t = Sprt::new(0.05, 0.05, 0.05).unwrap();
        for _ in 0..200 {
            t.observe(false);
        }
        assert_eq!(t.decision, Decision::Below);
        assert!(t.text().starts_with("sequential test: the violation rate is below 5.0% after"), "{}", t.text());
    }
}
