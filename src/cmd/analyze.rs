//! `faultline analyze RUN_DIR` and `faultline heal`.

use crate::exit;
use crate::lab::Lab;
use crate::run::analysis::analyze;
use control::{Cluster, NodesFile, Options};
use std::path::PathBuf;

/// Re-check a stored run.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The run directory (e.g. store/latest).
    run_dir: PathBuf,
}

/// Heal leftovers of a killed run.
#[derive(clap::Args, Debug)]
pub struct HealArgs {
    /// The cluster's nodes file [default: the local lab's].
    #[arg(long)]
    nodes_file: Option<PathBuf>,
    /// Also start the processes of the system this file describes that a
    /// kill left stopped.
    #[arg(long)]
    system: Option<PathBuf>,
}

/// Index the runs of a store.
#[derive(clap::Args, Debug)]
pub struct IndexArgs {
    /// The store directory.
    store_dir: PathBuf,
}

/// Aggregate runs of a store.
#[derive(clap::Args, Debug)]
pub struct TrendsArgs {
    /// The store directory.
    store_dir: PathBuf,
    /// Only runs with this name.
    #[arg(long)]
    name: Option<String>,
}

/// Runs `faultline trends`: writes STORE_DIR/trends.json and trends.xml.
pub fn trends(a: TrendsArgs) -> i32 {
    let dirs = crate::run::report::store_runs(&a.store_dir, a.name.as_deref());
    if dirs.is_empty() {
        eprintln!("trends: no runs in {}", a.store_dir.display());
        return exit::BAD_INPUT;
    }
    match crate::run::report::write_trends(&a.store_dir, &dirs) {
        Ok(text) => {
            print!("{text}");
            exit::VALID
        }
        Err(e) => {
            eprintln!("trends: {e}");
            exit::INTERNAL
        }
    }
}

/// Runs `faultline index`.
pub fn index(a: IndexArgs) -> i32 {
    if !a.store_dir.is_dir() {
        eprintln!("index: {} is not a directory", a.store_dir.display());
        return exit::BAD_INPUT;
    }
    match crate::run::report::write_index(&a.store_dir) {
        Ok(n) => {
            println!("{}: {n} runs", a.store_dir.join("index.html").display());
            exit::VALID
        }
        Err(e) => {
            eprintln!("index: {e}");
            exit::INTERNAL
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

/// Runs `faultline heal`.
pub fn heal(a: HealArgs) -> i32 {
    let db = match a.system.as_deref().map(|p| super::system::load(p, "heal")).transpose() {
        Ok(d) => d,
        Err(code) => return code,
    };
    let file = match &a.nodes_file {
        Some(p) => NodesFile::load(p).map_err(|e| e.to_string()),
        None => Lab::default().current_nodes(),
    };
    let file = match file {
        Ok(f) => f,
        Err(e) => {
            eprintln!("heal: {e}");
            return exit::BAD_INPUT;
        }
    };
    let cluster = Cluster::new(file.resolve(), Options::default());
    if let Err(e) = nuclei::heal_leftovers(&cluster) {
        eprintln!("heal: {e}");
        return exit::INFRA;
    }
    for (node, (rules, stopped)) in nuclei::leftovers(&cluster) {
        println!("{node}: {rules} faultline rules, {stopped} stopped processes");
    }
    match db {
        Some(db) => super::system::restart(&db, &file),
        None => exit::VALID,
    }
}
