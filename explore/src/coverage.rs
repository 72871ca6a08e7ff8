//! What a set of runs covered: the distinct features after each run (the
//! growth curve), each fault kind's features with the runs that saw them,
//! and those seen by one run only. For a nightly job's store as for a
//! search's.

use crate::signature::{kind_of, of_run, Signature};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// What a set of runs covered.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Coverage {
    /// The runs read, in order.
    pub runs: Vec<PathBuf>,
    /// Runs that could not be read, with why.
    pub skipped: Vec<String>,
    /// Distinct features after each run.
    pub growth: Vec<usize>,
    /// For each fault kind, each feature and the runs that saw it.
    pub by_kind: BTreeMap<String, BTreeMap<String, u64>>,
}

impl Coverage {
    /// Adds a run's signature.
    pub fn add(&mut self, dir: PathBuf, sig: &Signature) {
        for f in sig {
            *self.by_kind.entry(kind_of(f).to_string()).or_default().entry(f.clone()).or_default() += 1;
        }
        self.runs.push(dir);
        self.growth.push(self.distinct());
    }

    /// Distinct features seen.
    pub fn distinct(&self) -> usize {
        self.by_kind.values().map(BTreeMap::len).sum()
    }

    /// Features only one run saw.
    pub fn seen_once(&self) -> Vec<&str> {
        self.by_kind.values().flat_map(|m| m.iter().filter(|(_, n)| **n == 1).map(|(f, _)| f.as_str())).collect()
    }

    /// How many of the last `n` runs added nothing.
    pub fn stale_tail(&self, n: usize) -> usize {
        let g = &self.growth;
        g.windows(2).rev().take(n).filter(|w| w[1] == w[0]).count()
    }
}

/// Every run directory under `store` (a directory with `results.json`),
/// oldest first (run directories are named by their start time).
pub fn run_dirs(store: &Path) -> Vec<PathBuf> {
    fn walk(d: &Path, depth: usize, out: &mut Vec<PathBuf>) {
        if d.join("results.json").is_file() && d.join("history.jsonl").is_file() {
            out.push(d.to_path_buf());
            return;
        }
        if depth == 0 {
            return;
        }
        let Ok(rd) = std::fs::read_dir(d) else { return };
        let mut subs: Vec<PathBuf> = rd.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.is_dir() && !p.is_symlink()).collect();
        subs.sort();
        for s in subs {
            walk(&s, depth - 1, out);
        }
    }
    let mut out = Vec::new();
    walk(store, 4, &mut out);
    out.sort_by_key(|d| order(d));
    out
}

/// A run directory's place in time: its start (`20261207T210044`), then
/// its number among runs started in the same second (`-2`, `-10`).
fn order(dir: &Path) -> (String, u64, PathBuf) {
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let (ts, n) = match name.rsplit_once('-') {
        Some((ts, n)) if n.chars().all(|c| c.is_ascii_digit()) => (ts.to_string(), n.parse().unwrap_or(1)),
        _ => (name, 1),
    };
    (ts, n, dir.to_path_buf())
}

/// What the runs under `store` covered.
pub fn of_store(store: &Path) -> Coverage {
    let mut c = Coverage::default();
    for dir in run_dirs(store) {
        match of_run(&dir) {
            Ok(sig) => c.add(dir, &sig),
            Err(e) => c.skipped.push(e.to_string()),
        }
    }
    c
}

/// The kinds a coverage saw, with their number of features.
pub fn kinds(c: &Coverage) -> BTreeSet<(String, usize)> {
    c.by_kind.iter().map(|(k, m)| (k.clone(), m.len())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_counts_distinct_features_and_once_seen_ones_are_named() {
        let mut c = Coverage::default();
        let s = |fs: &[&str]| fs.iter().map(|f| f.to_string()).collect::<Signature>();
        c.add("r1".into(), &s(&["kill log a", "none op read ok x1"]));
        c.add("r2".into(), &s(&["kill log a"]));
        c.add("r3".into(), &s(&["kill log a", "pause log b"]));
        assert_eq!(c.growth, [2, 2, 3]);
        assert_eq!(c.seen_once(), ["none op read ok x1", "pause log b"]);
        assert_eq!(c.by_kind["kill"]["kill log a"], 3);
        assert_eq!(c.stale_tail(2), 1);
        assert_eq!(kinds(&c).len(), 3);
    }

    #[test]
    fn runs_of_one_second_are_in_the_order_they_started() {
        let mut v: Vec<PathBuf> =
            ["s/x/20261207T210044-10", "s/x/20261207T210044-2", "s/x/20261207T210044", "s/x/20261207T210043-3"].map(PathBuf::from).to_vec();
        v.sort_by_key(|d| order(d));
        let names: Vec<String> = v.iter().map(|d| d.file_name().unwrap().to_string_lossy().into_owned()).collect();
        assert_eq!(names, ["20261207T210043-3", "20261207T210044", "20261207T210044-2", "20261207T210044-10"]);
    }
}
