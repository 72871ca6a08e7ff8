//! `--system FILE` for `lab up` and `heal`: a system file's install and
//! start on the nodes of a nodes file.

use crate::exit;
use control::{Cluster, NodesFile, Options};
use std::path::Path;
use systems::file::{FileDb, SystemFile};
use systems::{Db, Topology};

/// The system a file describes, or the exit code after saying why not.
pub fn load(path: &Path, who: &str) -> Result<FileDb, i32> {
    SystemFile::load(path).map(FileDb::new).map_err(|e| {
        eprintln!("{who}: {e}");
        exit::BAD_INPUT
    })
}

/// Runs `step` for `db` on every node of `nodes`; the exit code.
pub fn on_nodes(
    db: &FileDb,
    nodes: &NodesFile,
    who: &str,
    step: impl Fn(&FileDb, &control::NodeClient, &Topology) -> Result<(), systems::DbError> + Sync,
) -> i32 {
    let cluster = Cluster::new(nodes.resolve(), Options::default());
    let topo = Topology { nodes: cluster.clients().iter().map(|c| (c.node().name.clone(), c.node().address.clone())).collect() };
    let failed: Vec<String> = cluster.on_all(|c| step(db, c, &topo)).into_iter().filter_map(|(n, r)| r.err().map(|e| format!("{n}: {e}"))).collect();
    if failed.is_empty() {
        exit::VALID
    } else {
        eprintln!("{who}: {} on {}: {}", db.name(), failed.len(), failed.join("; "));
        exit::INFRA
    }
}

/// Installs the system on every node (`lab up --system`).
pub fn install(db: &FileDb, nodes: &NodesFile) -> i32 {
    if let Err(e) = db.prepare() {
        eprintln!("lab up: {}: {e}", db.name());
        return exit::INFRA;
    }
    on_nodes(db, nodes, "lab up", |db, c, topo| db.setup(c, topo))
}

/// Starts the system's processes that are not running (`heal --system`:
/// the kill fault's inverse).
pub fn restart(db: &FileDb, nodes: &NodesFile) -> i32 {
    on_nodes(db, nodes, "heal", |db, c, topo| db.start(c, topo))
}

/// Starts the system on every node, bootstraps it and waits until it is
/// ready (`lab up --system F --start`); the exit code.
pub fn start(db: &FileDb, nodes: &NodesFile) -> i32 {
    let code = on_nodes(db, nodes, "lab up", |db, c, topo| db.start(c, topo));
    if code != exit::VALID {
        return code;
    }
    let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return exit::INTERNAL };
    let topo = Topology { nodes: nodes.resolve().into_iter().map(|n| (n.name, n.address)).collect() };
    let http = reqwest::Client::new();
    let (started, deadline) = (std::time::Instant::now(), std::time::Duration::from_secs(120));
    if let Err(e) = rt.block_on(db.bootstrap(&http, &topo, deadline)) {
        eprintln!("lab up: {}: bootstrap: {e}", db.name());
        return exit::INFRA;
    }
    let st = rt.block_on(systems::wait_ready(db, &http, &topo, started, deadline));
    match st.cluster {
        Some(t) => {
            eprintln!("lab up: {} started and ready in {t:.1} s", db.name());
            exit::VALID
        }
        None => {
            let why: Vec<String> = st.not_ready.iter().map(|(n, e)| format!("{n}: {e}")).collect();
            eprintln!("lab up: {} started but not ready within {} s: {}", db.name(), deadline.as_secs(), why.join("; "));
            exit::INFRA
        }
    }
}
