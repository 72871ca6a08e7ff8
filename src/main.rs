//! The `faultline` binary: wires the crates together behind a CLI.

use faultline::{cmd, exit};

use clap::{Parser, Subcommand};

/// mimalloc: the checkers allocate from several threads at once, where
/// glibc's allocator neither scales nor frees cheaply (BENCHMARKS.md);
/// without transparent huge pages (`no_thp`), which cost a small check
/// 2-5 ms of zeroed pages at start-up.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// A local lab of real nodes (LXC containers or QEMU VMs): up, down, status, ssh.
    Lab(cmd::lab::Args),
    /// Run a test: SUT, workload and faults on a cluster; check; report.
    Run(Box<cmd::run::RunArgs>),
    /// The named scenarios `run --scenario` takes; `scenarios NAME` prints
    /// one's file to copy and edit.
    Scenarios(cmd::scenarios::Args),
    /// Re-check a stored run offline and rewrite its results.
    Analyze(cmd::analyze::Args),
    /// Remove faultline's leftover faults from a cluster's nodes.
    Heal(cmd::heal::HealArgs),
    /// Write STORE_DIR/index.html listing every stored run.
    Index(cmd::analyze::IndexArgs),
    /// Aggregate stored runs: recovery percentiles per service, SLO
    /// violation rate with a 95% interval (trends.json, trends.xml).
    Trends(cmd::analyze::TrendsArgs),
    /// From a failing run to the smallest fault plan that still fails the
    /// same way (shrink.json, shrink.html, plan.json).
    Shrink(cmd::shrink::Args),
    /// Search for failures: fault plans mutated from those whose runs saw
    /// something new (explore.json, explore.html), violations shrunk.
    Explore(Box<cmd::explore::Args>),
    /// What stored runs covered: node-log templates, client outcomes and
    /// recovery times per fault kind, and their growth over runs.
    Coverage(cmd::coverage::Args),
    /// Check a client program against the stdio protocol (docs/client-protocol.md),
    /// op by op beside a correct in-memory store; exit 0 when it conforms.
    ClientCheck(cmd::client::Args),
    /// The reference stdio client: the protocol served from an in-memory store.
    #[command(hide = true)]
    ClientReference,
    /// The host packages faultline installs (`--install PART` installs them), and its caches.
    HostPackages(cmd::packages::Args),
    /// Measure the runner against an in-process no-op client.
    #[command(hide = true)]
    BenchRunner {
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        #[arg(long, default_value_t = 6)]
        concurrency: usize,
        #[arg(long, default_value_t = 30000.0)]
        rate: f64,
        /// Through the reference stdio client (one program a process).
        #[arg(long)]
        stdio: bool,
    },
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
    // a closed standard output ends the command quietly, as SIGPIPE ends a
    // Unix tool, but by unwinding, so the guards still heal every fault
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !exit::is_closed_pipe(info.payload()) {
            default_hook(info);
        }
    }));
    // any other panic is faultline's own bug: the one exit code for it,
    // after the guards on the way out have healed every fault
    let code = std::panic::catch_unwind(|| dispatch(cli.command)).unwrap_or_else(|payload| {
        if exit::is_closed_pipe(payload.as_ref()) {
            return exit::CLOSED_PIPE;
        }
        eprintln!("faultline: internal error (a bug in faultline; the message above says where)");
        exit::INTERNAL
    });
    std::process::exit(code);
}

/// Runs one command: its exit code, from the table in `exit`.
fn dispatch(command: Command) -> i32 {
    match command {
        Command::Check(a) => cmd::check::run(a),
        Command::Lab(a) => cmd::lab::run(a),
        Command::Run(a) => cmd::run::run(*a),
        Command::Scenarios(a) => cmd::scenarios::command(a),
        Command::Analyze(a) => cmd::analyze::run(a),
        Command::Heal(a) => cmd::heal::heal(a),
        Command::Index(a) => cmd::analyze::index(a),
        Command::HostPackages(a) => cmd::packages::run(a),
        Command::ClientCheck(a) => cmd::client::run(a),
        Command::ClientReference => cmd::client::reference(),
        Command::Trends(a) => cmd::analyze::trends(a),
        Command::Shrink(a) => cmd::shrink::run(a),
        Command::Explore(a) => cmd::explore::run(*a),
        Command::Coverage(a) => cmd::coverage::run(a),
        Command::BenchRunner { seconds, concurrency, rate, stdio } => runner::bench_runner(seconds, concurrency, rate, stdio),
    }
}
