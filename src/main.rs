//! The `faultline` binary: wires the crates together behind a CLI.

mod cmd;
mod exit;
mod lab;

use clap::{Parser, Subcommand};

/// faultline: a Jepsen-style black-box tester for distributed systems.
#[derive(Parser, Debug)]
#[command(name = "faultline", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check histories for linearizability (exit 0 valid, 1 invalid, 2 unknown).
    Check(cmd::check::Args),
    /// A local lab of real nodes (LXC containers): up, down, status, ssh.
    Lab(cmd::lab::Args),
}

fn main() {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { exit::BAD_INPUT } else { 0 };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    let code = match cli.command {
        Command::Check(a) => cmd::check::run(a),
        Command::Lab(a) => cmd::lab::run(a),
    };
    std::process::exit(code);
}
