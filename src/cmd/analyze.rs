//! `faultline analyze RUN_DIR`, `index` and `trends`.

use crate::exit;
use runner::analysis::analyze;
use std::path::PathBuf;

/// Re-check a stored run.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The run directory (e.g. store/latest).
    run_dir: PathBuf,
}

/// Index the runs of a store.
#[derive(clap::Args, Debug)]
pub struct IndexArgs {
    /// The store directory.
    store_dir: PathBuf,
}

/// Aggregate the runs of one store, or merge many (shards of a nightly
/// job, as directories or `.tar.gz` archives).
#[derive(clap::Args, Debug)]
pub struct TrendsArgs {
    /// The store directories or their archives (`store.tar.gz`).
    #[arg(required = true)]
    stores: Vec<PathBuf>,
    /// Only runs with this name.
    #[arg(long)]
    name: Option<String>,
    /// Where trends.json and trends.xml go [default: the store, when there
    /// is one directory].
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Runs `faultline trends`: writes trends.json and trends.xml.
pub fn trends(a: TrendsArgs) -> i32 {
    let out = match (&a.out, a.stores.as_slice()) {
        (Some(o), _) => o.clone(),
        (None, [one]) if one.is_dir() => one.clone(),
        _ => {
            eprintln!("trends: several stores or an archive need --out DIR");
            return exit::BAD_INPUT;
        }
    };
    let mut dirs = Vec::new();
    for store in &a.stores {
        let dir = match runner::store::unpacked(store, &out) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("trends: {e}");
                return exit::BAD_INPUT;
            }
        };
        let runs = runner::report::store_runs(&dir, a.name.as_deref());
        if runs.is_empty() {
            eprintln!("trends: no runs in {}", store.display());
            return exit::BAD_INPUT;
        }
        dirs.extend(runs);
    }
    match runner::report::write_trends(&out, &dirs) {
        Ok(text) => {
            print!("{text}");
            exit::VALID
        }
        Err(e) => {
            eprintln!("trends: {e}");
            exit::INFRA
        }
    }
}

/// Runs `faultline index`.
pub fn index(a: IndexArgs) -> i32 {
    if !a.store_dir.is_dir() {
        eprintln!("index: {} is not a directory", a.store_dir.display());
        return exit::BAD_INPUT;
    }
    match runner::report::write_index(&a.store_dir) {
        Ok(n) => {
            println!("{}: {n} runs", a.store_dir.join("index.html").display());
            exit::VALID
        }
        Err(e) => {
            eprintln!("index: {e}");
            exit::INFRA
        }
    }
}

/// Runs `faultline analyze`.
pub fn run(a: Args) -> i32 {
    if !a.run_dir.join("test.json").exists() {
        eprintln!("analyze: {} is not a run directory (no test.json)", a.run_dir.display());
        return exit::BAD_INPUT;
    }
    match analyze(&a.run_dir) {
        Ok(r) => {
            println!("{}: {} ({})", a.run_dir.display(), r.valid.as_str(), r.summary);
            r.exit_code
        }
        Err(e) => {
            eprintln!("analyze: {e}");
            e.exit_code()
        }
    }
}
