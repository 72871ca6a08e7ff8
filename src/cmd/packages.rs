//! `faultline host-packages`: what faultline installs on the control node.

use crate::exit;
use control::packages;

/// List (or install) the host packages faultline installs, and the caches it fills.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Install what these parts need (lab, vm-image, etcd, restate, tests), comma-separated.
    #[arg(long, value_delimiter = ',')]
    install: Vec<String>,
    /// Print only the package names, one per line.
    #[arg(long)]
    names: bool,
    /// Print the directories faultline fills (lab, caches), one per line.
    #[arg(long)]
    caches: bool,
}

/// Runs `faultline host-packages`; returns the exit code.
pub fn run(a: Args) -> i32 {
    if a.caches {
        println!("{}", lab::Lab::default().dir.display());
        println!("{}", control::local::cache_dir().display());
        return exit::VALID;
    }
    let all = systems::host_packages();
    if !a.install.is_empty() {
        let mut parts: Vec<&str> = all.iter().map(|p| p.need).collect();
        parts.dedup();
        if let Some(bad) = a.install.iter().find(|n| !parts.contains(&n.as_str())) {
            eprintln!("host-packages: unknown part {bad:?} (one of {})", parts.join(", "));
            return exit::BAD_INPUT;
        }
        for name in &a.install {
            if let Err(e) = packages::ensure(&packages::needed_by(&all, name)) {
                eprintln!("host-packages: {e}");
                return exit::INFRA;
            }
        }
        return exit::VALID;
    }
    let mut seen = Vec::new();
    for p in &all {
        if a.names {
            if !seen.contains(&p.package) {
                seen.push(p.package);
                println!("{}", p.package);
            }
        } else {
            let present = if packages::has_command(p.command) { "present" } else { "missing" };
            println!("{}\t{}\t{}\t{present}", p.package, p.need, p.command);
        }
    }
    exit::VALID
}
