//! `faultline explore`: a search for failures instead of a wait for them.
//! Each run's fault plan is either drawn as `run` draws one (the first
//! runs, one in ten after, and every run with `--random`) or made from a
//! plan of the corpus by the mutation operators, the parent drawn by a
//! power schedule that favours plans whose observations are rare. After
//! every run its signature (node-log templates, client outcomes, recovery
//! times, per fault window) is compared with all seen so far; a plan that
//! covered something new joins the corpus. A violating run is shrunk
//! (`faultline shrink`) and its smallest plan kept. The search is stored
//! (`explore.json`, `explore.html`) and resumed from its store.

use super::run::{config, RunArgs};
use super::shrink::{self, failures};
use crate::exit;
use explore::mutate::{mutate, Ingredients};
use explore::{Corpus, Found, Tried};
use history::Rng;
use nuclei::shrink::{plan, windows, Window};
use nuclei::{Catalog, Step};
use results::{RunFacts, RunResults};
use runner::options::RunConfig;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Search for failures: guided fault plans, what they covered.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The run's options, as `faultline run` takes them (`--nemesis` names
    /// the faults drawn; `--seed` makes the search repeatable).
    #[command(flatten)]
    run: RunArgs,
    /// At most this many runs (counted over resumptions).
    #[arg(long, default_value_t = 100)]
    runs: usize,
    /// Stop starting runs after this long (90s, 30m, 2h).
    #[arg(long)]
    budget: Option<String>,
    /// Random schedules only: the baseline the guided search is measured against.
    #[arg(long)]
    random: bool,
    /// Stop at the first violating run.
    #[arg(long)]
    stop_at_first: bool,
    /// Keep violating runs as they are (no shrink).
    #[arg(long)]
    no_shrink: bool,
    /// Runs with drawn schedules before any plan is mutated.
    #[arg(long, default_value_t = 3)]
    seed_runs: usize,
    /// Replays of each shrunk plan, for its failure rate.
    #[arg(long, default_value_t = 10)]
    final_runs: usize,
}

/// The plan a stored run applied.
fn applied(dir: &Path) -> Result<Vec<Step>, String> {
    let facts: RunFacts = results::read(&dir.join("run.json")).map_err(|e| e.to_string())?;
    facts.schedule.into_iter().map(serde_json::from_value).collect::<Result<_, _>>().map_err(|e| format!("{}: schedule: {e}", dir.join("run.json").display()))
}

/// The nodes a stored run's clients talked to.
fn nodes_of(dir: &Path) -> Vec<String> {
    let Ok((_, h)) = history::load(&dir.join("history.jsonl"), Some(history::Format::Jsonl)) else { return Vec::new() };
    let set: std::collections::BTreeSet<String> = h.ops.into_iter().filter_map(|o| o.node).collect();
    set.into_iter().collect()
}

/// How the next run's plan is made.
enum Next {
    Drawn,
    Mutated { parent: usize, windows: Vec<Window>, operators: Vec<&'static str> },
}

struct Search<'a> {
    a: &'a Args,
    base: RunConfig,
    text: Option<String>,
    catalog: Catalog,
    out: PathBuf,
    corpus: Corpus,
    nodes: Vec<String>,
}

impl Search<'_> {
    fn next(&mut self, i: usize, rng: &mut Rng) -> Next {
        if self.a.random || i < self.a.seed_runs || rng.chance(0.1) {
            return Next::Drawn;
        }
        let limit_ms = (self.base.time_limit * 1000.0) as u64;
        let plans: Vec<Vec<Window>> = self.corpus.entries.iter().map(|e| windows(&e.plan, &self.catalog)).collect();
        let faults: Vec<nuclei::Fault> = plans.iter().flatten().map(|w| w.fault.clone()).collect();
        let Some(parent) = self.corpus.choose(rng) else { return Next::Drawn };
        let ing = Ingredients { faults: &faults, donors: &plans, nodes: &self.nodes, limit_ms };
        match mutate(&plans[parent], &ing, rng) {
            Some((windows, operators)) => Next::Mutated { parent, windows, operators },
            None => Next::Drawn,
        }
    }

    /// One run; false when the search should stop.
    fn step(&mut self, i: usize, rng: &mut Rng) -> Result<bool, String> {
        let next = self.next(i, rng);
        let mut cfg = RunConfig { seed: Some(rng.next_u64()), ..self.base.clone() };
        let (how, parent, operators) = match &next {
            Next::Drawn => ("random", None, Vec::new()),
            Next::Mutated { parent, windows, operators } => {
                let file = self.out.join(format!("plan-{}.json", i + 1));
                let text = serde_json::to_string_pretty(&plan(windows, &self.catalog)).map_err(|e| e.to_string())?;
                std::fs::write(&file, text).map_err(|e| format!("{}: {e}", file.display()))?;
                cfg.fault_plan = Some(file);
                ("mutated", Some(*parent), operators.iter().map(|s| s.to_string()).collect())
            }
        };
        let (code, dir) = runner::run_once(&cfg, self.text.clone());
        if runner::cancelled() {
            return Ok(false);
        }
        let Some(dir) = dir else {
            eprintln!("explore: run {} made no run directory (exit {code})", i + 1);
            let covered = self.corpus.counts.len();
            let refused = Tried { dir: None, how: how.into(), parent, operators, new_features: 0, covered, failures: Vec::new(), exit_code: code };
            self.corpus.runs.push(refused);
            return Ok(code != exit::BAD_INPUT || parent.is_some());
        };
        let sig = explore::of_run(&dir).map_err(|e| e.to_string())?;
        if self.nodes.is_empty() {
            self.nodes = nodes_of(&dir);
        }
        let steps = applied(&dir)?;
        let new = self.corpus.observe(i, &steps, &sig);
        let r: RunResults = results::read(&dir.join("results.json")).map_err(|e| e.to_string())?;
        let failed: Vec<String> = failures(&r).into_iter().collect();
        let covered = self.corpus.counts.len();
        eprintln!(
            "explore: run {} ({how}{}): {covered} features (+{new}), corpus {}, {}",
            i + 1,
            parent.map(|p| format!(" from #{}: {}", self.corpus.entries[p].run + 1, operators.join(", "))).unwrap_or_default(),
            self.corpus.entries.len(),
            if failed.is_empty() { "passed".to_string() } else { format!("FAILED {}", failed.join(", ")) }
        );
        let first_of_kind = !failed.is_empty() && !self.corpus.found.iter().any(|f| f.failures == failed);
        self.corpus.runs.push(Tried {
            dir: Some(dir.clone()),
            how: how.into(),
            parent,
            operators,
            new_features: new,
            covered,
            failures: failed.clone(),
            exit_code: code,
        });
        if first_of_kind {
            let mut found = Found { run: i, failures: failed, shrink: None, plan: steps, rate: None };
            if !self.a.no_shrink {
                let out = self.out.join(format!("shrink-{}", i + 1));
                match shrink::shrink(&shrink::Args::of(&dir, &out, "10m", self.a.final_runs)) {
                    Ok((_, rec)) => {
                        found.plan = rec.plan.clone();
                        found.rate = Some((rec.final_failures, rec.final_runs));
                        found.shrink = Some(out);
                    }
                    Err(e) => eprintln!("explore: shrinking run {}: {e}", i + 1),
                }
            }
            self.corpus.found.push(found);
            if self.a.stop_at_first {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// Runs `faultline explore`; the exit code.
pub fn run(a: Args) -> i32 {
    match search(&a) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("explore: {e}");
            exit::BAD_INPUT
        }
    }
}

fn search(a: &Args) -> Result<i32, String> {
    if a.run.repeat != 1 || a.run.until_confident {
        return Err("explore decides how many runs itself: --runs and --budget, not --repeat or --until-confident".into());
    }
    let (base, text) = config(&a.run)?;
    if base.fault_plan.is_some() || !base.plan.is_empty() {
        return Err("explore makes its own fault plans: give the faults to draw with --nemesis, not a plan".into());
    }
    if base.nemesis.is_empty() {
        return Err("explore needs faults to draw: --nemesis partition,kill,... (none given)".into());
    }
    let budget = a.budget.as_deref().map(shrink::parse_budget).transpose()?.unwrap_or(Duration::MAX);
    let catalog = base.catalog().map_err(|e| e.to_string())?;
    let mode = if a.random { "random" } else { "guided" };
    let out = base.store.join(format!("explore-{}-{mode}", base.run_name()));
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let state = out.join("explore.json");
    let corpus = match Corpus::load(&state).map_err(|e| e.to_string())? {
        Some(c) if c.mode == mode => c,
        Some(c) => return Err(format!("{} holds a {} search, not a {mode} one", state.display(), c.mode)),
        None => Corpus { mode: mode.into(), seed: base.seed.unwrap_or_else(|| Rng::new(std::process::id() as u64).next_u64()), ..Corpus::default() },
    };
    let resumed = corpus.runs.len();
    let mut rng = Rng::new(corpus.seed ^ (resumed as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut s = Search { a, base, text, catalog, out: out.clone(), corpus, nodes: Vec::new() };
    if let Some(last) = s.corpus.runs.iter().rev().find_map(|r| r.dir.as_deref()) {
        s.nodes = nodes_of(last);
        eprintln!("explore: resuming {} after {resumed} runs", state.display());
    }
    let started = Instant::now();
    for i in resumed..a.runs {
        if started.elapsed() > budget || runner::cancelled() {
            break;
        }
        let go_on = s.step(i, &mut rng)?;
        s.corpus.save(&state).map_err(|e| e.to_string())?;
        if !go_on {
            break;
        }
    }
    s.corpus.save(&state).map_err(|e| e.to_string())?;
    super::explore_report::write(&out, &s.corpus)?;
    let c = &s.corpus;
    println!(
        "explore: {} runs ({mode}), {} features, corpus {}; {}\n  {}",
        c.runs.len(),
        c.counts.len(),
        c.entries.len(),
        match c.first_failure() {
            Some(k) => format!("first violation at run {k}; {} distinct failures", c.found.len()),
            None => "no violation".into(),
        },
        out.join("explore.html").display()
    );
    Ok(if c.found.is_empty() { exit::VALID } else { exit::INVALID })
}
