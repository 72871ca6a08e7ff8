//! Nodes files: which nodes there are and how to reach them.
//!
//! The lab writes one; the same format describes any cluster (cloud VMs,
//! Vagrant, bare metal):
//!
//! ```toml
//! backend = "vagrant"            # informational: lxc, vm, vagrant, static
//! user = "vagrant"               # defaults for every node
//! key = "/home/me/.ssh/id_ed25519"
//! known_hosts = "/home/me/.ssh/known_hosts"
//! host_key_check = "strict"      # or "off" (recorded in every run)
//! [capabilities]
//! clock_skew = true
//! netem = true
//! [power]                        # optional: power-cut (see power.rs)
//! off = "vagrant halt --force {node}"
//! on = "vagrant up {node}"
//! [[node]]
//! name = "n1"
//! address = "192.168.56.11"
//! ```

use crate::power::Power;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Whether to verify a node's host key against `known_hosts`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum HostKeyCheck {
    /// The key must be in `known_hosts` and match (the default).
    #[default]
    Strict,
    /// No check: explicit opt-out, recorded with every run.
    Off,
}

/// What faults a node supports. What a nodes file leaves out is what can
/// be taken without proof: iptables (a node without it makes a partition
/// fail, harming nothing), but neither a clock of its own (in a privileged
/// container `date -s` would set the host's clock) nor netem; the lab and
/// `scripts/vagrant-nodes` write what their nodes have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Capabilities {
    /// The node has its own clock (own kernel): clock faults are possible.
    pub clock_skew: bool,
    /// `tc netem` exists in the node's kernel: delay, jitter, reorder.
    pub netem: bool,
    /// iptables works on the node: partitions and packet loss.
    pub iptables: bool,
}

impl Default for Capabilities {
    fn default() -> Self {
        Capabilities { clock_skew: false, netem: false, iptables: true }
    }
}

/// One node as written in a nodes file; unset fields take the file's defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeEntry {
    /// Short name (`n1`), used in histories and reports.
    pub name: String,
    /// IP address or host name.
    pub address: String,
    /// SSH port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// SSH user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Private key file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<PathBuf>,
    /// What this node supports, if not the file's defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Capabilities>,
}

/// A nodes file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodesFile {
    /// Where the nodes came from (`lxc`, `vm`, `vagrant`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<String>,
    /// Default SSH user.
    #[serde(default = "root")]
    pub user: String,
    /// Default private key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<PathBuf>,
    /// Default SSH port.
    #[serde(default = "ssh_port")]
    pub port: u16,
    /// known_hosts file for host-key checks (default `~/.ssh/known_hosts`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_hosts: Option<PathBuf>,
    /// Host-key checking.
    #[serde(default)]
    pub host_key_check: HostKeyCheck,
    /// Default capabilities.
    #[serde(default)]
    pub capabilities: Capabilities,
    /// How to cut each node's power and switch it on (none: no power-cut).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power: Option<Power>,
    /// The nodes.
    #[serde(rename = "node", default)]
    pub nodes: Vec<NodeEntry>,
}

fn root() -> String {
    "root".into()
}
fn ssh_port() -> u16 {
    22
}

/// A node with everything needed to reach it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Node {
    /// Short name.
    pub name: String,
    /// Address.
    pub address: String,
    /// SSH port.
    pub port: u16,
    /// SSH user.
    pub user: String,
    /// Private key file (else the SSH agent).
    pub key: Option<PathBuf>,
    /// known_hosts file.
    pub known_hosts: Option<PathBuf>,
    /// Host-key checking.
    pub host_key_check: HostKeyCheck,
    /// What the node supports.
    pub capabilities: Capabilities,
    /// Its power switch, if it has one.
    pub power: Option<Power>,
}

impl Node {
    /// `user@address:port`, for messages.
    pub fn target(&self) -> String {
        format!("{}@{}:{}", self.user, self.address, self.port)
    }
}

/// A nodes file is unreadable or wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodesFileError {
    /// The file, when there is one.
    pub path: Option<std::path::PathBuf>,
    /// What is wrong and where (TOML's own message names the line).
    pub cause: String,
}

impl std::fmt::Display for NodesFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.path {
            Some(p) => write!(f, "{}: {}", p.display(), self.cause),
            None => f.write_str(&self.cause),
        }
    }
}

impl std::error::Error for NodesFileError {}

/// For callers that report errors as text.
impl From<NodesFileError> for String {
    fn from(e: NodesFileError) -> String {
        e.to_string()
    }
}

impl NodesFile {
    /// Parses a nodes file's text; errors say what is wrong and where.
    pub fn parse(text: &str) -> Result<NodesFile, NodesFileError> {
        let bad = |cause: String| NodesFileError { path: None, cause };
        let f: NodesFile = toml::from_str(text).map_err(|e| bad(e.to_string().trim_end().to_string()))?;
        if f.nodes.is_empty() {
            return Err(bad("no [[node]] entries".into()));
        }
        let mut seen = std::collections::HashSet::new();
        for n in &f.nodes {
            if n.name.is_empty() || n.address.is_empty() {
                return Err(bad(format!("node {:?}: name and address must not be empty", n.name)));
            }
            if !seen.insert(&n.name) {
                return Err(bad(format!("node {:?} appears twice", n.name)));
            }
        }
        Ok(f)
    }

    /// Reads and parses a nodes file; errors name the file.
    pub fn load(path: &Path) -> Result<NodesFile, NodesFileError> {
        let at = |cause: String| NodesFileError { path: Some(path.to_path_buf()), cause };
        let text = std::fs::read_to_string(path).map_err(|e| at(e.to_string()))?;
        NodesFile::parse(&text).map_err(|e| at(e.cause))
    }

    /// Writes the file as TOML.
    pub fn save(&self, path: &Path) -> Result<(), NodesFileError> {
        let at = |cause: String| NodesFileError { path: Some(path.to_path_buf()), cause };
        let text = toml::to_string_pretty(self).map_err(|e| at(e.to_string()))?;
        std::fs::write(path, text).map_err(|e| at(e.to_string()))
    }

    /// Every node with the file's defaults filled in.
    pub fn resolve(&self) -> Vec<Node> {
        self.nodes
            .iter()
            .map(|n| Node {
                name: n.name.clone(),
                address: n.address.clone(),
                port: n.port.unwrap_or(self.port),
                user: n.user.clone().unwrap_or_else(|| self.user.clone()),
                key: n.key.clone().or_else(|| self.key.clone()),
                known_hosts: self.known_hosts.clone(),
                host_key_check: self.host_key_check,
                capabilities: n.capabilities.unwrap_or(self.capabilities),
                power: self.power.clone(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_in_and_nodes_override() {
        let f = NodesFile::parse(
            "user = \"vagrant\"\nkey = \"/k\"\n[capabilities]\nclock_skew = false\n\
             [[node]]\nname = \"n1\"\naddress = \"10.0.0.1\"\n\
             [[node]]\nname = \"n2\"\naddress = \"10.0.0.2\"\nport = 2222\nuser = \"root\"\n",
        )
        .unwrap();
        let n = f.resolve();
        assert_eq!(n[0].target(), "vagrant@10.0.0.1:22");
        assert_eq!(n[1].target(), "root@10.0.0.2:2222");
        assert_eq!(n[0].key.as_deref(), Some(Path::new("/k")));
        assert!(!n[1].capabilities.clock_skew && n[1].capabilities.iptables);
        assert_eq!(n[0].host_key_check, HostKeyCheck::Strict);
        assert_eq!(NodesFile::parse(&toml::to_string(&f).unwrap()).unwrap(), f);
    }

    #[test]
    fn capabilities_left_out_are_only_those_that_harm_nothing() {
        let f = NodesFile::parse("[[node]]\nname = \"n1\"\naddress = \"10.0.0.1\"\n").unwrap();
        let c = f.resolve()[0].capabilities;
        assert!(!c.clock_skew, "a clock fault on a node not known to have its own clock could set the host's");
        assert!(!c.netem && c.iptables, "{c:?}");
        let f = NodesFile::parse("[capabilities]\nnetem = true\n[[node]]\nname = \"n1\"\naddress = \"a\"\n").unwrap();
        assert_eq!(f.resolve()[0].capabilities, Capabilities { clock_skew: false, netem: true, iptables: true });
    }

    #[test]
    fn a_power_section_gives_every_node_its_switch() {
        let f = NodesFile::parse("[power]\noff = \"kill {node}\"\non = \"boot {node}\"\n[[node]]\nname = \"n1\"\naddress = \"a\"\n").unwrap();
        let p = f.resolve()[0].power.clone().unwrap();
        assert_eq!((p.command(false, "n1", "a").as_str(), p.command(true, "n1", "a").as_str()), ("kill n1", "boot n1"));
        assert!(NodesFile::parse("[[node]]\nname = \"n1\"\naddress = \"a\"\n").unwrap().resolve()[0].power.is_none());
        assert_eq!(NodesFile::parse(&toml::to_string(&f).unwrap()).unwrap(), f);
    }

    #[test]
    fn bad_files_say_what_and_where() {
        let e = NodesFile::parse("[[node]]\nname = \"n1\"\n").unwrap_err().to_string();
        assert!(e.contains("address"), "{e}");
        let e = NodesFile::parse("[[node]]\nname = \"n1\"\naddress = \"a\"\nprot = 1\n").unwrap_err().to_string();
        assert!(e.contains("line 4") && e.contains("prot"), "{e}");
        let e = NodesFile::parse("user = \"x\"\n").unwrap_err().to_string();
        assert!(e.contains("no [[node]]"), "{e}");
        let e = NodesFile::parse("[[node]]\nname = \"n1\"\naddress = \"a\"\n[[node]]\nname = \"n1\"\naddress = \"b\"\n").unwrap_err().to_string();
        assert!(e.contains("twice"), "{e}");
        let e = NodesFile::load(Path::new("/nonexistent/nodes.toml")).unwrap_err().to_string();
        assert!(e.starts_with("/nonexistent/nodes.toml: "), "{e}");
    }
}
