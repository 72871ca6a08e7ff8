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

/// What a command bounded in time printed, once it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    /// It exited 0.
    pub success: bool,
    /// Its exit status, as the shell shows it.
    pub status: String,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

/// Runs a host command for at most `limit`: what it printed once it ended,
/// or `None` when it did not end in time (it is killed). Both pipes are read
/// while it runs, so output of any size never blocks it.
pub fn run_within(argv: &[&str], limit: std::time::Duration) -> Result<Option<Finished>, CommandError> {
    use std::io::Read;
    let err = |cause: String| CommandError { command: argv.join(" "), cause };
    let mut child =
        Command::new(argv[0]).args(&argv[1..]).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().map_err(|e| err(e.to_string()))?;
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut bytes);
            }
            let _ = tx.send(String::from_utf8_lossy(&bytes).into_owned());
        });
        rx
    };
    let out = drain(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let errs = drain(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let t0 = std::time::Instant::now();
    let status = loop {
        match child.try_wait().map_err(|e| err(e.to_string()))? {
            Some(status) => break status,
            None if t0.elapsed() < limit => std::thread::sleep(std::time::Duration::from_millis(10).min(limit)),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                return Ok(None); // its readers end when whatever still holds the pipes lets go
            }
        }
    };
    // a process it left behind may hold the pipes: what was read within a second is taken
    let read = |rx: std::sync::mpsc::Receiver<String>| rx.recv_timeout(std::time::Duration::from_secs(1)).unwrap_or_default();
    let (stdout, stderr) = (read(out), read(errs));
    Ok(Some(Finished { success: status.success(), status: status.to_string(), stdout, stderr }))
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn output_larger_than_a_pipe_never_blocks_a_bounded_command() {
        let f = run_within(&["sh", "-c", "head -c 300000 /dev/zero | tr '\\0' x; echo done >&2"], Duration::from_secs(30)).unwrap().expect("it ended");
        assert!(f.success && f.stdout.len() == 300_000 && f.stderr == "done\n", "{} bytes, {:?}", f.stdout.len(), f.stderr);
    }

    #[test]
    fn a_command_past_its_limit_is_killed_and_says_none() {
        let t0 = Instant::now();
        assert_eq!(run_within(&["sleep", "30"], Duration::from_millis(200)).unwrap(), None);
        // a shell whose child keeps the pipes open is not waited for either
        assert_eq!(run_within(&["sh", "-c", "sleep 30; true"], Duration::from_millis(200)).unwrap(), None);
        assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());
        let f = run_within(&["sh", "-c", "exit 3"], Duration::from_secs(30)).unwrap().unwrap();
        assert!(!f.success && f.status.contains('3'), "{f:?}");
        assert!(run_within(&["/nonexistent/tool"], Duration::from_secs(1)).unwrap_err().to_string().contains("/nonexistent/tool"));
    }
}
