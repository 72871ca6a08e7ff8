//! Errors that name the node, the command and the cause.

use std::fmt;

/// What went wrong talking to a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// Nothing listens on the SSH port.
    Refused,
    /// Connecting, or the command, took longer than allowed.
    TimedOut(String),
    /// The address cannot be reached or resolved.
    Unreachable(String),
    /// The key was not accepted.
    AuthFailed(String),
    /// The host key is unknown or differs from known_hosts.
    HostKey(String),
    /// The command ran and exited non-zero.
    Exit { status: i32, stderr: String },
    /// The connection dropped while the command ran: it may or may not have run.
    Lost(String),
    /// A file transfer failed.
    Transfer(String),
    /// A local file could not be read or written.
    Local(String),
}

/// An error with the node and, when there was one, the command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlError {
    /// The node's name.
    pub node: String,
    /// `user@address:port`.
    pub target: String,
    /// The command or transfer, if the error is about one.
    pub command: Option<String>,
    /// What went wrong.
    pub cause: Cause,
}

impl ControlError {
    /// True when the node could not be reached at all (an infrastructure
    /// failure, as opposed to a command that failed).
    pub fn is_unreachable(&self) -> bool {
        matches!(self.cause, Cause::Refused | Cause::Unreachable(_) | Cause::AuthFailed(_) | Cause::HostKey(_))
            || (matches!(self.cause, Cause::TimedOut(_)) && self.command.is_none())
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Refused => f.write_str("connection refused"),
            Cause::TimedOut(what) => write!(f, "timed out {what}"),
            Cause::Unreachable(e) => write!(f, "unreachable: {e}"),
            Cause::AuthFailed(e) => write!(f, "authentication failed: {e}"),
            Cause::HostKey(e) => write!(f, "host key check failed: {e}"),
            Cause::Exit { status, stderr } => {
                let tail: Vec<&str> = stderr.trim_end().lines().rev().take(5).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                write!(f, "exit status {status}")?;
                if !tail.is_empty() {
                    write!(f, ": {}", tail.join(" | "))?;
                }
                Ok(())
            }
            Cause::Lost(e) => write!(f, "connection lost: {e}"),
            Cause::Transfer(e) => write!(f, "transfer failed: {e}"),
            Cause::Local(e) => write!(f, "{e}"),
        }
    }
}

impl fmt::Display for ControlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "node {} ({})", self.node, self.target)?;
        if let Some(c) = &self.command {
            let short: String = c.chars().take(200).collect();
            write!(f, ": `{short}`")?;
        }
        write!(f, ": {}", self.cause)
    }
}

impl std::error::Error for ControlError {}
