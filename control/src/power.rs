//! Power switches of nodes: how the control node cuts a node's power and
//! switches it on again (`power-cut`). A nodes file names two commands run
//! on the control node, each with the node's name and address in place of
//! `{node}` and `{address}`:
//!
//! ```toml
//! [power]
//! off = "virsh destroy {node}"       # a hard power-off: nothing flushed
//! on = "virsh start {node}"          # boots it again (its disk kept)
//! boot_timeout_s = 300               # from on until it answers over SSH
//! ```
//!
//! The lab's VM nodes have one (`faultline lab power off|on`); LXC
//! containers have none: they share the host's kernel and page cache, so
//! stopping one loses nothing a power cut would.

use crate::local::{run_within, CommandError};
use crate::quote::quote;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A node's power switch: two commands on the control node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Power {
    /// Cuts the node's power at once (its page cache and disk caches lost).
    pub off: String,
    /// Switches it on again with its disk as the cut left it.
    pub on: String,
    /// How long a boot may take, from `on` until the node answers over SSH.
    #[serde(default = "boot_timeout_s")]
    pub boot_timeout_s: u64,
}

fn boot_timeout_s() -> u64 {
    300
}

/// How long one power command may run.
const COMMAND_LIMIT: Duration = Duration::from_secs(60);

impl Power {
    /// The command that switches `node` (at `address`) off or on, its
    /// name and address quoted for the shell.
    pub fn command(&self, on: bool, node: &str, address: &str) -> String {
        let template = if on { &self.on } else { &self.off };
        template.replace("{node}", &quote(node)).replace("{address}", &quote(address))
    }

    /// How long a boot may take.
    pub fn boot_timeout(&self) -> Duration {
        Duration::from_secs(self.boot_timeout_s)
    }

    /// Runs the command for `node` on the control node (`sh -c`, at most a
    /// minute); the error names the command and what it printed.
    pub fn switch(&self, on: bool, node: &str, address: &str) -> Result<(), CommandError> {
        let text = self.command(on, node, address);
        let fail = |cause: String| CommandError { command: text.clone(), cause };
        match run_within(&["sh", "-c", &text], COMMAND_LIMIT)? {
            None => Err(fail(format!("did not end within {COMMAND_LIMIT:?}"))),
            Some(f) if !f.success => Err(fail(format!("{}: {}", f.status, f.stderr.trim()))),
            Some(_) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_name_the_node_quoted_and_failures_name_the_command() {
        let p = Power { off: "echo off {node} {address}".into(), on: "exit 3 # {node}".into(), boot_timeout_s: 5 };
        assert_eq!(p.command(false, "n1", "10.0.0.1"), "echo off n1 10.0.0.1");
        assert_eq!(p.command(false, "n 1; rm", "a"), "echo off 'n 1; rm' a");
        assert!(p.switch(false, "n1", "a").is_ok());
        let e = p.switch(true, "n2", "b").unwrap_err().to_string();
        assert!(e.contains("exit 3 # n2") && e.contains("3"), "{e}");
        assert_eq!(p.boot_timeout(), Duration::from_secs(5));
    }

    #[test]
    fn a_power_section_is_read_with_its_default_boot_time() {
        let p: Power = toml::from_str("off = \"a {node}\"\non = \"b {node}\"\n").unwrap();
        assert_eq!(p.boot_timeout_s, 300);
        let e = toml::from_str::<Power>("off = \"a\"\non = \"b\"\nboot = 1\n").unwrap_err().to_string();
        assert!(e.contains("boot"), "{e}");
    }
}
