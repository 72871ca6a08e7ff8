//! `faultline heal`: what a killed run left on a cluster taken away: its
//! rules, stopped processes and mounts (every fault's inverse that needs no
//! record of the run), the system's killed processes started again, and
//! its original membership restored (every node of the nodes file a member
//! again).

use crate::exit;
use control::{Cluster, NodesFile, Options};
use lab::Lab;
use std::path::PathBuf;
use std::sync::Arc;
use systems::{Db, Topology};

/// Heal leftovers of a killed run.
#[derive(clap::Args, Debug)]
pub struct HealArgs {
    /// The cluster's nodes file [default: the local lab's].
    #[arg(long)]
    nodes_file: Option<PathBuf>,
    /// Also start the processes of the system this file describes that a
    /// kill left stopped, and add back every node its membership lacks.
    #[arg(long, conflicts_with = "db")]
    system: Option<PathBuf>,
    /// Also add back every node the membership of this built-in system
    /// lacks (etcd, restate).
    #[arg(long)]
    db: Option<String>,
}

/// Adds back every node of `cluster` the system's membership lacks; the
/// exit code.
fn restore(db: &dyn Db, cluster: &Cluster) -> i32 {
    let Some(m) = db.as_membership() else { return exit::VALID };
    let topo = Topology { nodes: cluster.clients().iter().map(|c| (c.node().name.clone(), c.node().address.clone())).collect() };
    match systems::restore_membership(m, cluster.clients(), &topo) {
        Ok(r) => {
            for n in &r.added {
                println!("{n}: added back to {}'s membership (members were {})", db.name(), r.before.join(", "));
            }
            exit::VALID
        }
        Err(e) => {
            eprintln!("heal: {}'s membership: {e}", db.name());
            exit::INFRA
        }
    }
}

/// Runs `faultline heal`.
pub fn heal(a: HealArgs) -> i32 {
    let file_db = match a.system.as_deref().map(|p| super::system::load(p, "heal")).transpose() {
        Ok(d) => d,
        Err(code) => return code,
    };
    let built_in: Option<Arc<dyn Db>> = match a.db.as_deref() {
        None => None,
        Some(name) => match systems::by_name(name, &systems::Choice::default()) {
            Some(db) => Some(db),
            None => {
                eprintln!("heal: --db {name}: no such built-in system (one of: {})", systems::names().join(", "));
                return exit::BAD_INPUT;
            }
        },
    };
    let file = match &a.nodes_file {
        Some(p) => NodesFile::load(p).map_err(|e| e.to_string()),
        None => Lab::default().current_nodes().map_err(|e| e.to_string()),
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
    for (node, left) in nuclei::leftovers(&cluster) {
        println!("{node}: {left}");
    }
    if let Some(db) = &file_db {
        let code = super::system::restart(db, &file);
        if code != exit::VALID {
            return code;
        }
        return restore(db, &cluster);
    }
    match built_in {
        Some(db) => restore(db.as_ref(), &cluster),
        None => exit::VALID,
    }
}
