//! `faultline scenarios`: the built-in scenarios, listed or printed.

use runner::exit;
use runner::scenario::{load, parse, BUILT_IN};

/// `faultline scenarios [NAME]`: lists the built-in scenarios, or prints
/// one's file to copy and edit.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print this scenario's file.
    pub name: Option<String>,
}

/// Runs `faultline scenarios`: its exit code.
pub fn command(a: Args) -> i32 {
    match a.name {
        Some(n) => match load(&n) {
            Ok((_, text)) => {
                print!("{text}");
                exit::VALID
            }
            Err(e) => {
                eprintln!("faultline scenarios: {e}");
                exit::BAD_INPUT
            }
        },
        None => {
            for (name, text) in BUILT_IN {
                let d = parse(name, text).map(|s| s.description).unwrap_or_else(|e| e.to_string());
                println!("{name:40} {d}");
            }
            println!("\nrun one: faultline run --scenario NAME [flags override it]; copy one: faultline scenarios NAME > my.toml");
            exit::VALID
        }
    }
}
