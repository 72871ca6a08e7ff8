//! `faultline lab up|down|box|status|ssh|power`.

use crate::exit;
use clap::Subcommand;
use control::{Cluster, Cmd, Options};
use lab::{Backend, Lab};
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::time::Duration;

/// Manage the local lab.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Subcommand, Debug)]
enum Action {
    /// Make N nodes n1..nN (idempotent) and write the nodes file.
    Up {
        /// Number of nodes.
        #[arg(long, default_value_t = 3)]
        nodes: usize,
        /// What the nodes are.
        #[arg(long, default_value = "lxc")]
        backend: Backend,
        /// Also install the system this file describes on the nodes
        /// (installed, not started: `faultline run` starts it).
        #[arg(long)]
        system: Option<std::path::PathBuf>,
        /// With --system: also start it and wait until it is ready (for
        /// `client-check` against a running system, or trying it by hand;
        /// `faultline heal --system F` starts it again after a kill).
        #[arg(long, requires = "system")]
        start: bool,
    },
    /// Remove the nodes and undo every host change (the base is kept).
    Down {
        /// Also remove the base container and the lab's key.
        #[arg(long)]
        purge: bool,
    },
    /// Show the lab's nodes and host state.
    Status,
    /// Run a command on a node (or open a shell without one).
    Ssh {
        /// Node name (n1, n2, ...).
        node: String,
        /// The command and its arguments, run through the node's shell.
        command: Vec<String>,
    },
    /// Make a Vagrant box of the lab's base and add it to Vagrant
    /// (`faultline/bookworm-lxc`), for the Vagrantfile's `vagrant up
    /// --provider lxc`.
    Box {
        /// The Vagrant provider (lxc; libvirt is refused here, with the reason).
        #[arg(long, default_value = "lxc")]
        provider: String,
    },
    /// Cut a VM node's power (off: its QEMU killed, what the guest had
    /// not flushed lost) or switch it on again with its disk as the cut
    /// left it (on). What `--nemesis power-cut` runs.
    Power {
        /// off or on.
        #[arg(value_parser = ["off", "on"])]
        state: String,
        /// Node name (n1, n2, ...).
        node: String,
    },
}

/// Runs `faultline lab`; returns the exit code.
pub fn run(a: Args) -> i32 {
    let lab = Lab::default();
    if let Err(e) = lab.check() {
        eprintln!("lab: {e}");
        return exit::BAD_INPUT;
    }
    match a.action {
        Action::Up { nodes, backend, system, start } => {
            if !(1..=lab::MAX_NODES).contains(&nodes) {
                eprintln!("lab up: --nodes must be between 1 and {}", lab::MAX_NODES);
                return exit::BAD_INPUT;
            }
            // a broken system file is found before the lab is touched
            let db = match system.as_deref().map(|p| super::system::load(p, "lab up")).transpose() {
                Ok(d) => d,
                Err(code) => return code,
            };
            match lab.up(nodes, backend) {
                Ok(path) => {
                    println!("{}", path.display());
                    match (db, lab.current_nodes()) {
                        (Some(db), Ok(file)) => match super::system::install(&db, &file) {
                            0 if start => super::system::start(&db, &file),
                            code => code,
                        },
                        _ => exit::VALID,
                    }
                }
                Err(e) => {
                    eprintln!("lab up failed: {e}");
                    exit::INFRA
                }
            }
        }
        Action::Down { purge } => match lab.down(purge) {
            Ok(()) => exit::VALID,
            Err(e) => {
                eprintln!("lab down failed: {e}");
                exit::INFRA
            }
        },
        Action::Box { provider } => match lab.vagrant_box(&provider) {
            Ok(file) => {
                println!("{}", file.display());
                exit::VALID
            }
            Err(e) => {
                eprintln!("lab box: {e}");
                if lab::vagrant_refused(&provider).is_some() {
                    exit::BAD_INPUT
                } else {
                    exit::INFRA
                }
            }
        },
        Action::Status => {
            print!("{}", lab.status());
            exit::VALID
        }
        Action::Ssh { node, command } => ssh(&lab, &node, &command),
        Action::Power { state, node } => match lab.power(&node, state == "on") {
            Ok(()) => exit::VALID,
            Err(e) => {
                eprintln!("lab power: {e}");
                exit::BAD_INPUT
            }
        },
    }
}

fn ssh(lab: &Lab, node: &str, command: &[String]) -> i32 {
    let file = match lab.current_nodes() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("lab ssh: {e}");
            return exit::INFRA;
        }
    };
    let nodes = file.resolve();
    let Some(n) = nodes.iter().find(|n| n.name == node) else {
        let names: Vec<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
        eprintln!("lab ssh: no node {node:?} (the lab has {})", names.join(", "));
        return exit::BAD_INPUT;
    };
    if command.is_empty() {
        // An interactive shell: hand over to the system's ssh client.
        let err = std::process::Command::new("ssh")
            .args(["-i", &lab.key().to_string_lossy(), "-o", &format!("UserKnownHostsFile={}", lab.known_hosts().display())])
            .arg(format!("{}@{}", n.user, n.address))
            .exec();
        eprintln!("lab ssh: cannot run ssh: {err}");
        return exit::INFRA;
    }
    let cluster = Cluster::new(vec![n.clone()], Options::default());
    // The words are joined as the node's shell command, as `ssh` does.
    let cmd = Cmd::script(&command.join(" ")).timeout(Duration::from_secs(3600));
    match cluster.clients()[0].exec(&cmd) {
        Ok(o) => {
            let _ = std::io::stdout().write_all(o.stdout.as_bytes());
            let _ = std::io::stderr().write_all(o.stderr.as_bytes());
            o.status.clamp(0, 255)
        }
        Err(e) => {
            eprintln!("lab ssh: {e}");
            exit::INFRA
        }
    }
}
