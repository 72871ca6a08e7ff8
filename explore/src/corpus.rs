//! The search's memory: every run tried (how its plan was made, what it
//! covered that no run had before, what it failed), how often each
//! feature has been seen, and the corpus of plans that covered something
//! new. A parent is drawn with a weight that favours plans whose features
//! are rare (a power schedule, as AFL's and Mallory's). It is stored as
//! `explore.json` and read back to resume.

use crate::signature::Signature;
use crate::ExploreError;
use history::Rng;
use nuclei::Step;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A plan that covered something new.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    /// The run that found it (its number in `runs`).
    pub run: usize,
    /// Its plan, as the run applied it.
    pub plan: Vec<Step>,
    /// What it covered.
    pub features: BTreeSet<String>,
    /// Times it was chosen as a parent.
    #[serde(default)]
    pub chosen: u64,
}

/// One run of the search.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tried {
    /// Its run directory (none: the runner refused the plan before the
    /// run began, `exit_code` says how; it stays a step of the search, so
    /// that run numbers match positions here).
    pub dir: Option<PathBuf>,
    /// `random` (a schedule drawn as `run` draws it) or `mutated`.
    pub how: String,
    /// The corpus entry it was made from, and the operators applied.
    pub parent: Option<usize>,
    /// The operators that made it from its parent.
    pub operators: Vec<String>,
    /// Features no earlier run had.
    pub new_features: usize,
    /// Distinct features seen by all runs so far, this one included.
    pub covered: usize,
    /// What it failed (as `shrink` names failures); empty when it passed.
    pub failures: Vec<String>,
    /// Its exit code.
    pub exit_code: i32,
}

/// A violation found, and its shrunk plan.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Found {
    /// The run (its number) that failed first this way.
    pub run: usize,
    /// What it failed.
    pub failures: Vec<String>,
    /// The shrink's directory, if it was shrunk.
    pub shrink: Option<PathBuf>,
    /// The shrunk plan.
    pub plan: Vec<Step>,
    /// The shrunk plan's failures in its replays, and the replays.
    pub rate: Option<(usize, usize)>,
}

/// The state of a search.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Corpus {
    /// `guided` or `random`.
    pub mode: String,
    /// The search's seed.
    pub seed: u64,
    /// Every run, in order.
    pub runs: Vec<Tried>,
    /// Plans that covered something new.
    pub entries: Vec<Entry>,
    /// Runs that saw each feature.
    pub counts: BTreeMap<String, u64>,
    /// Each distinct failure found.
    pub found: Vec<Found>,
}

impl Corpus {
    /// Reads a stored search (`None` when there is none).
    pub fn load(path: &Path) -> Result<Option<Corpus>, ExploreError> {
        let err = |e: &dyn std::fmt::Display| ExploreError::Store(path.to_path_buf(), e.to_string());
        match std::fs::read_to_string(path) {
            Ok(t) => serde_json::from_str(&t).map(Some).map_err(|e| err(&e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(err(&e)),
        }
    }

    /// Writes it to `path`.
    pub fn save(&self, path: &Path) -> Result<(), ExploreError> {
        let err = |e: &dyn std::fmt::Display| ExploreError::Store(path.to_path_buf(), e.to_string());
        let text = serde_json::to_string_pretty(self).map_err(|e| err(&e))?;
        std::fs::write(path, text).map_err(|e| err(&e))
    }

    /// Records what a run covered; the number of features no run had
    /// before. A plan that covered something new joins the corpus.
    pub fn observe(&mut self, run: usize, plan: &[Step], sig: &Signature) -> usize {
        let new = sig.iter().filter(|f| !self.counts.contains_key(*f)).count();
        for f in sig {
            *self.counts.entry(f.clone()).or_default() += 1;
        }
        if new > 0 && !plan.is_empty() {
            self.entries.push(Entry { run, plan: plan.to_vec(), features: sig.clone(), chosen: 0 });
        }
        new
    }

    /// An entry's energy: the sum over its features of one over the square
    /// of the runs that saw each (rare features weigh most: on the
    /// in-memory narrow bug, median 13 runs to it against 14 with one over
    /// the runs), lowered the more it was chosen already.
    pub fn energy(&self, e: &Entry) -> f64 {
        let rarity: f64 = e.features.iter().map(|f| 1.0 / (self.counts.get(f).copied().unwrap_or(1).max(1) as f64).powi(2)).sum();
        rarity / (1.0 + e.chosen as f64).sqrt()
    }

    /// Draws a parent by energy; its index.
    pub fn choose(&mut self, rng: &mut Rng) -> Option<usize> {
        let weights: Vec<f64> = self.entries.iter().map(|e| self.energy(e)).collect();
        let total: f64 = weights.iter().sum();
        if self.entries.is_empty() || total <= 0.0 {
            return None;
        }
        let mut x = rng.below(1 << 30) as f64 / (1u64 << 30) as f64 * total;
        let i = weights.iter().position(|w| {
            x -= w;
            x < 0.0
        });
        let i = i.unwrap_or(self.entries.len() - 1);
        self.entries[i].chosen += 1;
        Some(i)
    }

    /// The first run that failed, counting from 1.
    pub fn first_failure(&self) -> Option<usize> {
        self.runs.iter().position(|r| !r.failures.is_empty()).map(|i| i + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(fs: &[&str]) -> Signature {
        fs.iter().map(|f| f.to_string()).collect()
    }

    fn step() -> Vec<Step> {
        vec![Step { at_ms: 1000, fault: nuclei::Fault::Kill { nodes: vec!["n1".into()] } }]
    }

    #[test]
    fn a_plan_joins_only_when_it_covers_something_new_and_rare_ones_are_chosen_most() {
        let mut c = Corpus::default();
        assert_eq!(c.observe(0, &step(), &sig(&["kill a", "kill b"])), 2);
        assert_eq!(c.observe(1, &step(), &sig(&["kill a", "kill b"])), 0);
        for r in 2..12 {
            c.observe(r, &step(), &sig(&["kill a"]));
        }
        assert_eq!(c.observe(12, &step(), &sig(&["kill a", "pause c"])), 1);
        assert_eq!(c.entries.len(), 2);
        // "pause c" seen once, "kill b" twice, "kill a" 12 times
        assert!(c.energy(&c.entries[1]) > c.energy(&c.entries[0]), "{} {}", c.energy(&c.entries[1]), c.energy(&c.entries[0]));
        let mut rng = Rng::new(3);
        let picks: Vec<usize> = (0..1000).filter_map(|_| c.choose(&mut rng)).collect();
        let rare = picks.iter().filter(|&&i| i == 1).count();
        assert!(rare > 500, "the rarer plan is chosen more often: {rare} of 1000");
        assert!(picks.contains(&0), "the other is still chosen");
    }

    #[test]
    fn a_search_is_stored_and_read_back() {
        let dir = std::env::temp_dir().join(format!("faultline-corpus-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut c = Corpus { mode: "guided".into(), seed: 9, ..Corpus::default() };
        c.observe(0, &step(), &sig(&["kill a"]));
        let p = dir.join("explore.json");
        c.save(&p).unwrap();
        let tried = |dir: Option<&str>| Tried {
            dir: dir.map(PathBuf::from),
            how: "mutated".into(),
            parent: Some(0),
            operators: vec!["shift".into()],
            new_features: 0,
            covered: 1,
            failures: Vec::new(),
            exit_code: if dir.is_some() { 0 } else { 254 },
        };
        // a refused plan is a step too: run numbers stay positions in `runs`
        c.runs = vec![tried(Some("/store/a")), tried(None)];
        c.save(&p).unwrap();
        let back = Corpus::load(&p).unwrap().unwrap();
        assert_eq!((back.seed, back.entries.len(), back.counts.len(), back.runs.len()), (9, 1, 1, 2));
        assert_eq!((back.runs[0].dir.as_deref(), back.runs[1].dir.as_deref()), (Some(Path::new("/store/a")), None));
        assert_eq!(back.runs[1].exit_code, 254);
        assert!(Corpus::load(&dir.join("none.json")).unwrap().is_none());
        let _ = std::fs::remove_dir_all(dir);
    }
}
