//! `faultline lab`: real nodes on this machine for tests and development.
//!
//! The `lxc` backend makes Debian bookworm system containers `n1..nN` on a
//! bridge of the lab's own (`flbr0`, 10.77.0.0/24), cloned in a fraction of
//! a second from a base container that is built once (debootstrap) and kept.
//! Each node has a static address, every node's name in `/etc/hosts`, root
//! SSH with a key the lab generates, and NAT to reach Debian's mirror. The
//! lab writes a nodes file that `faultline run` uses by default, and a
//! known_hosts file so host keys are checked. `down` removes the nodes and
//! undoes every host change (bridge, NAT and forwarding rules, ip_forward);
//! the base and the key stay for the next `up`. The host clock is never
//! touched and no traffic goes anywhere but the lab's own addresses (and the
//! Debian mirror, through NAT, when a node installs a package).
//!
//! One lab holds several independent clusters at once (`$FAULTLINE_LAB_CLUSTER`
//! = 1..15; 0 or unset: the lab's own): each has nodes `n1..nN` of its own
//! (containers of the same names in an LXC path of its own, hostnames and
//! `/etc/hosts` of its own), addresses of its own on the one bridge, and its
//! own nodes file; every cluster is cloned from the one base. `up` and
//! `down` take the lab's lock, so clusters may come and go concurrently.

mod lxc;
mod power;
mod qemu;
mod rootfs;
mod vagrant;
pub use vagrant::{refused as vagrant_refused, BOX_NAME};
mod vm;

use control::local as host;
use control::packages;
use control::{Capabilities, Cluster, Cmd, HostKeyCheck, NodeEntry, NodesFile, Options};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The lab's bridge.
pub const BRIDGE: &str = "flbr0";
/// The lab's subnet.
pub const SUBNET: &str = "10.77.0.0/24";
/// The host's address on the bridge (the nodes' gateway).
pub const HOST_IP: &str = "10.77.0.1";
/// Most nodes a lab can have.
pub const MAX_NODES: usize = 50;

/// Most nodes a cluster other than the lab's own can have.
pub const MAX_CLUSTER_NODES: usize = 9;

/// The highest cluster number besides the lab's own (0).
pub const MAX_CLUSTER: u8 = 15;

/// The address of node `i` (1-based) of the lab's own cluster.
pub fn node_ip(i: usize) -> String {
    cluster_node_ip(0, i)
}

/// The address of node `i` (1-based) of cluster `k`: the lab's own from
/// .11, cluster k from .(100 + 10 (k - 1) + 1).
pub fn cluster_node_ip(k: u8, i: usize) -> String {
    match k {
        0 => format!("10.77.0.{}", 10 + i),
        k => format!("10.77.0.{}", 100 + 10 * (k as usize - 1) + i),
    }
}

/// The nodes' sshd settings: no PAM (every command's session would
/// otherwise go through logind), no DNS lookups, room for many sessions.
const SSHD_CONFIG: &str = "UseDNS no\nUsePAM no\nPermitRootLogin prohibit-password\nMaxStartups 100:30:200\nMaxSessions 100\n";

/// What went wrong with the lab: what was being done, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct LabError(pub String);

impl std::fmt::Display for LabError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LabError {}

impl From<String> for LabError {
    fn from(s: String) -> LabError {
        LabError(s)
    }
}

impl From<LabError> for String {
    fn from(e: LabError) -> String {
        e.0
    }
}

/// What the lab's nodes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// LXC system containers (fast; share the host's kernel and clock).
    Lxc,
    /// QEMU virtual machines with their own kernel (clock skew, netem).
    Vm,
}

impl std::str::FromStr for Backend {
    type Err = String;
    fn from_str(s: &str) -> Result<Backend, String> {
        match s {
            "lxc" => Ok(Backend::Lxc),
            "vm" => Ok(Backend::Vm),
            other => Err(format!("{other:?} is not a backend (lxc or vm)")),
        }
    }
}

impl Backend {
    /// Its name in nodes files.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Lxc => "lxc",
            Backend::Vm => "vm",
        }
    }
}

/// Where the lab keeps its files, and which of its clusters this is.
#[derive(Debug, Clone)]
pub struct Lab {
    /// Root directory (`/var/lib/faultline`, or `$FAULTLINE_LAB_DIR`).
    pub dir: PathBuf,
    /// The cluster (`$FAULTLINE_LAB_CLUSTER`; 0: the lab's own).
    pub cluster: u8,
}

/// What `up` changed on the host, so `down` can undo exactly that.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct HostState {
    ip_forward_before: Option<String>,
    bridge_created: bool,
}

impl Default for Lab {
    fn default() -> Self {
        let dir = std::env::var_os("FAULTLINE_LAB_DIR").map(PathBuf::from).unwrap_or_else(|| "/var/lib/faultline".into());
        // a malformed cluster number is refused by `check`, not guessed
        let cluster = std::env::var("FAULTLINE_LAB_CLUSTER").ok().filter(|s| !s.is_empty()).map_or(0, |s| s.parse().unwrap_or(u8::MAX));
        Lab { dir, cluster }
    }
}

impl Lab {
    /// Refuses a cluster number out of range, naming the variable.
    pub fn check(&self) -> Result<(), LabError> {
        self.check_cluster().map_err(LabError)
    }

    /// [`Lab::check`], its error as text.
    fn check_cluster(&self) -> Result<(), String> {
        if self.cluster > MAX_CLUSTER {
            let v = std::env::var("FAULTLINE_LAB_CLUSTER").unwrap_or_default();
            return Err(format!("FAULTLINE_LAB_CLUSTER={v:?}: a cluster is a number from 0 (the lab's own) to {MAX_CLUSTER}"));
        }
        Ok(())
    }
    /// The LXC path of the base (the lab's own: always absolute, a relative
    /// one breaks lxc-attach).
    pub fn base_lxcpath(&self) -> PathBuf {
        self.dir.join("lxc")
    }
    /// The LXC path of this cluster's nodes.
    pub fn lxcpath(&self) -> PathBuf {
        match self.cluster {
            0 => self.base_lxcpath(),
            k => self.dir.join(format!("lxc-c{k}")),
        }
    }
    fn state_dir(&self) -> PathBuf {
        self.dir.join("lab")
    }
    fn cluster_dir(&self) -> PathBuf {
        match self.cluster {
            0 => self.state_dir(),
            k => self.state_dir().join(format!("c{k}")),
        }
    }
    /// The lab's other clusters that have nodes (for `down` of the whole lab).
    fn other_clusters(&self) -> Vec<Lab> {
        (1..=MAX_CLUSTER).filter(|k| *k != self.cluster).map(|k| Lab { dir: self.dir.clone(), cluster: k }).filter(|l| l.lxcpath().exists()).collect()
    }
    /// The address of this cluster's node `i`.
    pub fn node_ip(&self, i: usize) -> String {
        cluster_node_ip(self.cluster, i)
    }
    /// The lab's SSH private key.
    pub fn key(&self) -> PathBuf {
        self.state_dir().join("id_ed25519")
    }
    /// This cluster's known_hosts file.
    pub fn known_hosts(&self) -> PathBuf {
        self.cluster_dir().join("known_hosts")
    }
    /// The nodes file `up` writes for this cluster.
    pub fn nodes_file(&self) -> PathBuf {
        self.cluster_dir().join("nodes.toml")
    }
    /// Holds the lab's lock while it lives: one `up` or `down` at a time,
    /// whichever cluster and process asks.
    fn lock(&self) -> Result<std::fs::File, String> {
        std::fs::create_dir_all(self.state_dir()).map_err(|e| format!("{}: {e}", self.state_dir().display()))?;
        let path = self.state_dir().join("lock");
        let f = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        f.lock().map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(f)
    }
    fn host_state_file(&self) -> PathBuf {
        self.state_dir().join("host.json")
    }

    fn load_host_state(&self) -> HostState {
        std::fs::read_to_string(self.host_state_file()).ok().and_then(|s| serde_json::from_str(&s).ok()).unwrap_or_default()
    }

    fn save_host_state(&self, s: &HostState) -> Result<(), String> {
        let text = serde_json::to_string_pretty(s).map_err(|e| e.to_string())?;
        std::fs::write(self.host_state_file(), text).map_err(|e| format!("{}: {e}", self.host_state_file().display()))
    }

    fn nat_rules(&self) -> Vec<host::Rule<'static>> {
        let tag = |mut v: Vec<&str>| {
            v.extend(["-m", "comment", "--comment", "faultline-lab"]);
            v.into_iter().map(String::from).collect::<Vec<_>>()
        };
        vec![
            host::Rule { table: "nat", chain: "POSTROUTING", spec: tag(vec!["-s", SUBNET, "!", "-o", BRIDGE, "-j", "MASQUERADE"]) },
            host::Rule { table: "filter", chain: "FORWARD", spec: tag(vec!["-s", SUBNET, "-j", "ACCEPT"]) },
            host::Rule { table: "filter", chain: "FORWARD", spec: tag(vec!["-d", SUBNET, "-j", "ACCEPT"]) },
        ]
    }

    /// Bridge, forwarding and NAT for the lab subnet; remembers what it changed.
    fn host_network_up(&self) -> Result<(), String> {
        let mut st = self.load_host_state();
        if !host::link_exists(BRIDGE) {
            host::run(&["ip", "link", "add", BRIDGE, "type", "bridge"])?;
            st.bridge_created = true;
        }
        let cidr = format!("{HOST_IP}/24");
        if !host::run(&["ip", "-4", "addr", "show", "dev", BRIDGE])?.contains(&cidr) {
            host::run(&["ip", "addr", "add", &cidr, "dev", BRIDGE])?;
        }
        host::run(&["ip", "link", "set", BRIDGE, "up"])?;
        if st.ip_forward_before.is_none() {
            st.ip_forward_before = host::sysctl_get("net.ipv4.ip_forward");
        }
        self.save_host_state(&st)?;
        host::sysctl_set("net.ipv4.ip_forward", "1")?;
        for r in self.nat_rules() {
            r.ensure()?;
        }
        Ok(())
    }

    /// Undoes `host_network_up`.
    fn host_network_down(&self) -> Result<(), String> {
        let st = self.load_host_state();
        for r in self.nat_rules() {
            r.remove()?;
        }
        if host::link_exists(BRIDGE) {
            host::run(&["ip", "link", "del", BRIDGE])?;
        }
        if let Some(v) = &st.ip_forward_before {
            host::sysctl_set("net.ipv4.ip_forward", v)?;
        }
        let _ = std::fs::remove_file(self.host_state_file());
        Ok(())
    }

    fn ensure_key(&self) -> Result<String, String> {
        std::fs::create_dir_all(self.state_dir()).map_err(|e| format!("{}: {e}", self.state_dir().display()))?;
        let key = self.key();
        if !key.exists() {
            let k = key.to_string_lossy().into_owned();
            host::run(&["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "faultline-lab", "-f", &k])?;
        }
        std::fs::read_to_string(key.with_extension("pub")).map_err(|e| format!("lab public key: {e}"))
    }

    /// Brings up `n` nodes of `backend` (idempotent); returns the nodes
    /// file's path. One lab at a time: nodes of the other backend must be
    /// taken down first.
    pub fn up(&self, n: usize, backend: Backend) -> Result<PathBuf, LabError> {
        self.bring_up(n, backend).map_err(LabError)
    }

    /// [`Lab::up`], its error as text.
    fn bring_up(&self, n: usize, backend: Backend) -> Result<PathBuf, String> {
        self.check_cluster()?;
        let most = if self.cluster == 0 { MAX_NODES } else { MAX_CLUSTER_NODES };
        if !(1..=most).contains(&n) {
            return Err(format!("--nodes must be between 1 and {most}{}", if self.cluster == 0 { "" } else { " in a cluster other than the lab's own" }));
        }
        if backend == Backend::Vm && self.cluster != 0 {
            return Err(format!("FAULTLINE_LAB_CLUSTER={}: VM nodes are the lab's own cluster only", self.cluster));
        }
        if !host::is_root() {
            return Err("the lab needs root (containers, VMs, bridge, iptables)".into());
        }
        let _lock = self.lock()?;
        let t0 = Instant::now();
        packages::ensure(&packages::needed_by(packages::HOST_PACKAGES, packages::LAB)).map_err(|e| e.to_string())?;
        let other = match backend {
            Backend::Lxc => vm::any_nodes(self).then_some("vm"),
            Backend::Vm => lxc::any_nodes(self).then_some("lxc"),
        };
        if let Some(o) = other {
            return Err(format!("the lab's nodes are {o} nodes now: run `faultline lab down` first (one lab at a time)"));
        }
        let pubkey = self.ensure_key()?;
        let built = match backend {
            Backend::Lxc => lxc::ensure_base(self, &pubkey)?,
            Backend::Vm => vm::ensure_base(self, &pubkey)?,
        };
        self.host_network_up()?;
        let host_key = match backend {
            Backend::Lxc => {
                lxc::ensure_nodes(self, n)?;
                lxc::base_host_key(self)?
            }
            Backend::Vm => {
                vm::ensure_nodes(self, n)?;
                vm::base_host_key(self)?
            }
        };
        let kh: String = (1..=n).map(|i| format!("{} {host_key}\n", self.node_ip(i))).collect();
        write(&self.known_hosts(), &kh)?;
        let clock_skew = backend == Backend::Vm;
        let mut file = self.nodes_file_for(n, backend, Capabilities { clock_skew, netem: false, iptables: true });
        if backend == Backend::Vm {
            file.power = Some(self.power_switch()?);
        }
        let cluster = Cluster::new(file.resolve(), Options::default());
        // software-emulated VMs boot in one to two minutes
        let limit = Duration::from_secs(if backend == Backend::Vm { 420 } else { 90 });
        if let Err(e) = wait_for_ssh(&cluster, limit) {
            if backend == Backend::Vm {
                let consoles: Vec<String> = (1..=n).map(|i| format!("n{i} console: {}", vm::console_tail(self, i))).collect();
                return Err(format!("{e}\n{}", consoles.join("\n")));
            }
            return Err(e);
        }
        if backend == Backend::Vm {
            // no time service in the VMs: start them on the control node's clock
            for (name, r) in cluster.on_all(|c| nuclei::reset_node_clock(c, Duration::from_secs(30))) {
                r.map_err(|e| format!("{name}: setting its clock: {e}"))?;
            }
        }
        let hosts: String = std::iter::once("127.0.0.1 localhost\n".to_string()).chain((1..=n).map(|i| format!("{} n{i}\n", self.node_ip(i)))).collect();
        cluster.run_all_ok(&Cmd::new(["tee", "/etc/hosts"]).stdin(hosts)).map_err(|e| e.to_string())?;
        if backend == Backend::Vm {
            // on disk before any power cut
            cluster.run_all_ok(&Cmd::new(["sync"])).map_err(|e| e.to_string())?;
        }
        // The nodes share the host's kernel: netem exists only if it has it.
        let netem = Cmd::script("tc qdisc add dev lo root netem delay 1ms && tc qdisc del dev lo root");
        file.capabilities.netem = cluster.clients()[0].exec(&netem).map(|o| o.status == 0).unwrap_or(false);
        file.save(&self.nodes_file())?;
        eprintln!(
            "lab: {n} {} nodes up in {:.1} s ({}); nodes file {}",
            backend.name(),
            t0.elapsed().as_secs_f64(),
            if built { "base built" } else { "base reused" },
            self.nodes_file().display()
        );
        Ok(self.nodes_file())
    }

    fn nodes_file_for(&self, n: usize, backend: Backend, caps: Capabilities) -> NodesFile {
        NodesFile {
            backend: Some(backend.name().into()),
            user: "root".into(),
            key: Some(self.key()),
            port: 22,
            known_hosts: Some(self.known_hosts()),
            host_key_check: HostKeyCheck::Strict,
            capabilities: caps,
            power: None,
            nodes: (1..=n)
                .map(|i| NodeEntry { name: format!("n{i}"), address: self.node_ip(i), port: None, user: None, key: None, capabilities: None })
                .collect(),
        }
    }

    /// Removes the nodes and undoes the host changes; `purge` also removes
    /// the base container and the key.
    pub fn down(&self, purge: bool) -> Result<(), LabError> {
        self.take_down(purge).map_err(LabError)
    }

    /// [`Lab::down`], its error as text.
    fn take_down(&self, purge: bool) -> Result<(), String> {
        self.check_cluster()?;
        if !host::is_root() {
            return Err("the lab needs root".into());
        }
        let _lock = self.lock()?;
        if self.cluster != 0 {
            // this cluster alone: the bridge, the base and the others stay
            if purge {
                return Err(format!("FAULTLINE_LAB_CLUSTER={}: --purge removes the whole lab's base; take the lab's own cluster down for it", self.cluster));
            }
            lxc::remove_nodes(self, 0)?;
            let _ = std::fs::remove_dir_all(self.cluster_dir());
            let _ = std::fs::remove_dir(self.lxcpath());
            return Ok(());
        }
        for other in self.other_clusters() {
            lxc::remove_nodes(&other, 0)?;
            let _ = std::fs::remove_dir_all(other.cluster_dir());
            let _ = std::fs::remove_dir(other.lxcpath());
        }
        lxc::remove_nodes(self, 0)?;
        vm::remove_nodes(self, 0)?;
        self.host_network_down()?;
        let _ = std::fs::remove_file(self.nodes_file());
        let _ = std::fs::remove_file(self.known_hosts());
        if purge {
            lxc::remove_base(self)?;
            vm::remove_base(self)?;
            self.remove_box();
            let _ = std::fs::remove_file(self.key());
            let _ = std::fs::remove_file(self.key().with_extension("pub"));
        }
        Ok(())
    }

    /// A human summary of the lab.
    pub fn status(&self) -> String {
        let mut s = format!("lab dir: {}\n", self.dir.display());
        if self.cluster != 0 {
            s += &format!("cluster {} (FAULTLINE_LAB_CLUSTER)\n", self.cluster);
        }
        s += &format!("bridge {BRIDGE}: {}\n", if host::link_exists(BRIDGE) { "up" } else { "absent" });
        s += &format!("base container: {}\n", if lxc::base_ready(self) { "ready" } else { "not built" });
        s += &format!("VM image: {}\n", if vm::base_ready(self) { "ready" } else { "not built" });
        s += &lxc::listing(self);
        s += &vm::listing(self);
        if self.nodes_file().exists() {
            s += &format!("nodes file: {}\n", self.nodes_file().display());
        }
        s
    }

    /// The lab's nodes file, if the lab is up.
    pub fn current_nodes(&self) -> Result<NodesFile, LabError> {
        self.nodes_now().map_err(LabError)
    }

    /// [`Lab::current_nodes`], its error as text.
    fn nodes_now(&self) -> Result<NodesFile, String> {
        self.check_cluster()?;
        if !self.nodes_file().exists() {
            return Err("the lab is not up (run `faultline lab up`)".into());
        }
        Ok(NodesFile::load(&self.nodes_file())?)
    }
}

/// Waits until every node answers over SSH.
fn wait_for_ssh(cluster: &Cluster, limit: Duration) -> Result<(), String> {
    let deadline = Instant::now() + limit;
    loop {
        match cluster.preflight() {
            Ok(()) => return Ok(()),
            Err(errs) if Instant::now() >= deadline => {
                let all: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
                return Err(format!("nodes did not answer over SSH within {limit:?}: {}", all.join("; ")));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

/// True when `path` looks like one of the lab's node names (`n1`, `n12`).
pub fn is_node_name(name: &str) -> bool {
    name.len() > 1 && name.starts_with('n') && name[1..].bytes().all(|b| b.is_ascii_digit())
}

/// Writes a file (and its directory), naming it in the error.
fn write(path: &Path, text: &str) -> Result<(), String> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The `type base64` of an OpenSSH public key file (a base's host key,
/// shared by every node made from it).
fn host_key(path: &Path) -> Result<String, String> {
    let text = read(path)?;
    let parts: Vec<&str> = text.split_whitespace().take(2).collect();
    match parts[..] {
        [t, k] => Ok(format!("{t} {k}")),
        _ => Err(format!("{}: malformed host key", path.display())),
    }
}

/// Reads a file, naming it in the error.
fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}
