//! Commands on the control node itself: argument vectors, no shell;
//! sysctls, links and iptables rules (host packages: [`crate::packages`]).

use std::path::Path;

pub use crate::packages::has_command;
use std::process::{Command, Stdio};

/// A command on the control node failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandError {
    /// The command (or the file, for a sysctl).
    pub command: String,
    /// Why: it could not start, its exit status and last stderr lines, or
    /// the I/O error.
    pub cause: String,
}

impl std::fmt::Display for CommandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}` failed: {}", self.command, self.cause)
    }
}

impl std::error::Error for CommandError {}

/// For callers that report errors as text.
impl From<CommandError> for String {
    fn from(e: CommandError) -> String {
        e.to_string()
    }
}

/// Runs a host command; its stdout, or an error naming the command with
/// its stderr.
pub fn run(argv: &[&str]) -> Result<String, CommandError> {
    let err = |cause: String| CommandError { command: argv.join(" "), cause };
    let out = Command::new(argv[0]).args(&argv[1..]).stdin(Stdio::null()).output().map_err(|e| err(e.to_string()))?;
    if !out.status.success() {
        let text = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = text.trim_end().lines().rev().take(6).collect::<Vec<_>>().into_iter().rev().collect();
        return Err(err(format!("{}: {}", out.status, tail.join(" | "))));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// True when the command exits 0 (its output discarded).
pub fn succeeds(argv: &[&str]) -> bool {
    Command::new(argv[0]).args(&argv[1..]).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

/// Where faultline keeps what it downloads on the control node
/// (`/var/cache/faultline`, or `$FAULTLINE_CACHE_DIR`).
pub fn cache_dir() -> std::path::PathBuf {
    std::env::var_os("FAULTLINE_CACHE_DIR").map(Into::into).unwrap_or_else(|| "/var/cache/faultline".into())
}

/// True when this process runs as root.
pub fn is_root() -> bool {
    run(&["id", "-u"]).map(|s| s.trim() == "0").unwrap_or(false)
}

/// Reads a sysctl value.
pub fn sysctl_get(key: &str) -> Option<String> {
    std::fs::read_to_string(format!("/proc/sys/{}", key.replace('.', "/"))).ok().map(|s| s.trim().to_string())
}

/// Writes a sysctl value.
pub fn sysctl_set(key: &str, value: &str) -> Result<(), CommandError> {
    std::fs::write(format!("/proc/sys/{}", key.replace('.', "/")), value)
        .map_err(|e| CommandError { command: format!("sysctl {key}={value}"), cause: e.to_string() })
}

/// True when the network interface exists.
pub fn link_exists(name: &str) -> bool {
    Path::new("/sys/class/net").join(name).exists()
}

/// An iptables rule (table, chain, spec); `present` checks with `-C`.
pub struct Rule<'a> {
    /// iptables table.
    pub table: &'a str,
    /// Chain.
    pub chain: &'a str,
    /// The rule's match and target.
    pub spec: Vec<String>,
}

impl Rule<'_> {
    fn argv<'b>(&'b self, op: &'b str) -> Vec<&'b str> {
        let mut v = vec!["iptables", "-w", "-t", self.table, op, self.chain];
        v.extend(self.spec.iter().map(String::as_str));
        v
    }
    /// True when the rule is in its chain.
    pub fn present(&self) -> bool {
        succeeds(&self.argv("-C"))
    }
    /// Inserts the rule if it is not there; true if it was added.
    pub fn ensure(&self) -> Result<bool, CommandError> {
        if self.present() {
            return Ok(false);
        }
        run(&self.argv("-I")).map(|_| true)
    }
    /// Deletes every copy of the rule.
    pub fn remove(&self) -> Result<(), CommandError> {
        while self.present() {
            run(&self.argv("-D"))?;
        }
        Ok(())
    }
}
