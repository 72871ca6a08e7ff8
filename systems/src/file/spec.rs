//! The system file's schema: what a user writes in `system.toml`. Every
//! table refuses unknown keys, so a typo is an error naming the key.

use serde::Deserialize;
use std::collections::BTreeMap;

/// A system described in a file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// Its name (`redis-sentinel`): lowercase letters, digits and dashes.
    pub name: String,
    /// One line about it (version, source), for reports.
    #[serde(default)]
    pub about: String,
    /// What the control node needs (packages the commands below use).
    #[serde(default)]
    pub control: Control,
    /// How it is installed on each node.
    #[serde(default)]
    pub install: Install,
    /// Its processes on each node, started in order.
    #[serde(default)]
    pub processes: Vec<Process>,
    /// Commands on each node that remove its data (run at teardown).
    #[serde(default)]
    pub wipe: Vec<String>,
    /// Directories on each node that hold its data (absolute paths):
    /// `lose-unsynced` serves them through faultline's page cache.
    #[serde(default)]
    pub data_dirs: Vec<String>,
    /// Which files under them `corrupt` picks from (`find -path` patterns,
    /// `*/appendonlydir/*`); none: any file.
    #[serde(default)]
    pub data_files: Vec<String>,
    /// Log files on each node, collected after a run (each process's own
    /// log is collected too).
    #[serde(default)]
    pub logs: Vec<String>,
    /// When a node, and the cluster, are ready.
    #[serde(default)]
    pub ready: Ready,
    /// How to find the primary (for `isolate-primary`).
    pub primary: Option<Primary>,
    /// How to list, remove and add members (`--nemesis membership`).
    pub membership: Option<Membership>,
    /// Its services, probed on every node for the recovery checker.
    #[serde(default)]
    pub services: Vec<Service>,
    /// Its client: a program speaking the stdio protocol.
    pub client: Client,
}

/// The control node's needs.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Control {
    /// Debian packages installed on the control node (`redis-tools`).
    #[serde(default)]
    pub packages: Vec<String>,
}

/// Installing on a node.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Install {
    /// Debian packages (installed with their services kept stopped:
    /// faultline starts the processes itself).
    #[serde(default)]
    pub packages: Vec<String>,
    /// Files to upload, each from the system file's directory.
    #[serde(default)]
    pub files: Vec<File>,
    /// Commands run as root after the packages and files, in order.
    #[serde(default)]
    pub commands: Vec<String>,
}

/// A file to upload.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    /// Its path, relative to the system file's directory.
    pub from: String,
    /// Where it goes on the node.
    pub to: String,
    /// Render it as a template with the node's name, address, id and peers.
    #[serde(default)]
    pub template: bool,
    /// Its mode, octal (`"0755"`); default `0644`.
    pub mode: Option<String>,
}

/// One process of the system on a node.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Process {
    /// Its name (`redis`): its log is `/var/log/faultline/SYSTEM-NAME.log`.
    pub name: String,
    /// The command that runs it in the foreground (as root, detached).
    pub command: Option<String>,
    /// Or a systemd unit (`systemctl start/stop/kill`).
    pub unit: Option<String>,
    /// `pgrep -f` pattern matching it (default: the command).
    pub pattern: Option<String>,
    /// The kill fault kills it (default true).
    #[serde(default = "yes")]
    pub kill: bool,
    /// The pause fault pauses it (default true).
    #[serde(default = "yes")]
    pub pause: bool,
}

fn yes() -> bool {
    true
}

/// Readiness conditions; each retried with backoff to the ready timeout.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ready {
    /// A node is ready (default: every service's check passes).
    pub node: Option<Check>,
    /// The cluster is ready, once every node is.
    pub cluster: Option<Check>,
}

/// A check: exactly one of a command on the control node, a TCP port, or
/// an HTTP URL.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Check {
    /// A shell command on the control node: passes when it exits 0 (and
    /// prints `expect`, if given).
    pub command: Option<String>,
    /// Text the command's output must contain.
    pub expect: Option<String>,
    /// A TCP port on the node that must accept a connection.
    pub tcp: Option<u16>,
    /// An HTTP URL that must answer `status` (default 200).
    pub http: Option<String>,
    /// The HTTP status that passes.
    pub status: Option<u16>,
}

/// Finding the primary.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Primary {
    /// A shell command on the control node whose output names the primary
    /// (its node name or address).
    pub command: String,
}

/// Changing the membership: each command runs on a member that stays,
/// with the node changed as `member` (`member.name`, `member.address`,
/// `member.id`) besides that node's own variables.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Membership {
    /// Prints the members: every node its output names (by name or
    /// address, as a whole word) is one.
    pub members: String,
    /// Takes `member` out of the membership.
    pub remove: String,
    /// Adds `member` again; the node's processes are started after it.
    pub add: String,
    /// Whether a node is wiped (its processes killed, the `wipe` commands
    /// run) and installed again before it is added [default: true].
    #[serde(default = "yes")]
    pub wipe: bool,
}

/// A probed service. Its check's keys are repeated here rather than
/// flattened from [`Check`]: serde refuses unknown keys only without
/// `flatten`, and a typo must be refused.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// Its name in histories and reports.
    pub name: String,
    /// A command on the control node (as in [`Check`]).
    pub command: Option<String>,
    /// Text the command's output must contain.
    pub expect: Option<String>,
    /// A TCP port.
    pub tcp: Option<u16>,
    /// An HTTP URL.
    pub http: Option<String>,
    /// The HTTP status that passes.
    pub status: Option<u16>,
}

impl Service {
    /// Its check.
    pub fn check(&self) -> Check {
        Check { command: self.command.clone(), expect: self.expect.clone(), tcp: self.tcp, http: self.http.clone(), status: self.status }
    }
}

/// The client program.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Client {
    /// The program and its arguments, run in the system file's directory
    /// (`{{ python }}` is the interpreter of the client's own venv).
    pub command: Vec<String>,
    /// PyPI requirements installed into a virtual environment of its own.
    #[serde(default)]
    pub python: Vec<String>,
    /// Extra environment variables.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// The operations (`f`s) it serves; absent: the protocol's standard
    /// ones (registers, sets, logs, transactions).
    #[serde(default)]
    pub fs: Option<Vec<String>>,
}
