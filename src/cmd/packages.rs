//! `faultline host-packages`: what faultline installs on the control node.

use crate::exit;
use control::packages::{self, Need, HOST_PACKAGES};

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
        println!("{}", crate::lab::Lab::default().dir.display());
        println!("{}", control::local::cache_dir().display());
        return exit::VALID;
    }
    if !a.install.is_empty() {
        let mut needs = Vec::new();
        for name in &a.install {
            match Need::parse(name) {
                Some(n) => needs.push(n),
                None => {
                    let all: Vec<&str> = Need::ALL.iter().map(|n| n.name()).collect();
                    eprintln!("host-packages: unknown part {name:?} (one of {})", all.join(", "));
                    return exit::BAD_INPUT;
                }
            }
        }
        for n in needs {
            if let Err(e) = packages::ensure(n) {
                eprintln!("host-packages: {e}");
                return exit::INFRA;
            }
        }
        return exit::VALID;
    }
    let mut seen = Vec::new();
    for p in HOST_PACKAGES {
        if a.names {
            if !seen.contains(&p.package) {
                seen.push(p.package);
                println!("{}", p.package);
            }
        } else {
            let present = if packages::has_command(p.command) { "present" } else { "missing" };
            println!("{}\t{}\t{}\t{present}", p.package, p.need.name(), p.command);
        }
    }
    exit::VALID
}
