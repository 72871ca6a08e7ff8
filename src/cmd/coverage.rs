//! `faultline coverage STORE`: what a set of stored runs covered (the
//! features of every fault window: node-log templates, client outcomes,
//! recovery times), so that a nightly job can see whether it keeps testing
//! the same thing.

use crate::exit;
use std::path::PathBuf;

/// What stored runs covered.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The store (or any directory holding run directories).
    store: PathBuf,
    /// Print the whole coverage as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `faultline coverage`; the exit code.
pub fn run(a: Args) -> i32 {
    if !a.store.is_dir() {
        eprintln!("coverage: {}: no such directory", a.store.display());
        return exit::BAD_INPUT;
    }
    let c = explore::coverage::of_store(&a.store);
    for s in &c.skipped {
        eprintln!("coverage: skipped {s}");
    }
    if c.runs.is_empty() {
        eprintln!("coverage: no run directory under {}", a.store.display());
        return exit::BAD_INPUT;
    }
    if a.json {
        return match serde_json::to_string_pretty(&c) {
            Ok(t) => {
                println!("{t}");
                exit::VALID
            }
            Err(e) => {
                eprintln!("coverage: {e}");
                exit::INTERNAL
            }
        };
    }
    let tail = 10.min(c.runs.len().saturating_sub(1));
    println!(
        "{} runs: {} distinct features, {} seen by one run only; the last {tail} runs added nothing new in {} of them",
        c.runs.len(),
        c.distinct(),
        c.seen_once().len(),
        c.stale_tail(tail)
    );
    println!("growth: {}", c.growth.iter().map(usize::to_string).collect::<Vec<_>>().join(" "));
    for (kind, features) in &c.by_kind {
        let once = features.values().filter(|n| **n == 1).count();
        println!("  {kind}: {} features ({once} seen once)", features.len());
    }
    exit::VALID
}
