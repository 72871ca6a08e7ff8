//! The VM nodes' power switch (`faultline lab power off|on NODE`), and
//! the `[power]` section the lab writes into their nodes file so that
//! `power-cut` can use it. LXC nodes have none: they share the host's
//! kernel and its page cache, which no container stop loses.

use super::{is_node_name, vm, Lab, LabError};
use control::{quote, Power};

/// How long a software-emulated VM may take to boot to SSH (one boots in
/// 36-46 s alone, three at once in 80-96 s: LAB.md).
const BOOT_TIMEOUT_S: u64 = 420;

impl Lab {
    /// Cuts the power of VM node `node` (`on` false) or switches it on
    /// again with its disk as the cut left it (`on` true; it answers over
    /// SSH once booted). The lab's own cluster of VMs only.
    pub fn power(&self, node: &str, on: bool) -> Result<(), LabError> {
        self.check()?;
        let i = match node.strip_prefix('n').and_then(|d| d.parse::<usize>().ok()) {
            Some(i) if is_node_name(node) && i >= 1 => i,
            _ => return Err(LabError(format!("{node:?} is not a node name (n1, n2, ...)"))),
        };
        if self.cluster != 0 || !vm::any_nodes(self) {
            return Err(LabError(format!(
                "{node}: only the lab's VM nodes have a power switch (`faultline lab up --backend vm`); LXC nodes share the host's page cache"
            )));
        }
        let _lock = self.lock()?;
        let r = if on { vm::power_on(self, i) } else { vm::power_off(self, i) };
        r.map_err(|e| LabError(format!("{node}: power {}: {e}", if on { "on" } else { "off" })))
    }

    /// The power switch written into the VM nodes' file: this very
    /// executable's `lab power`, with the lab's directory.
    pub(crate) fn power_switch(&self) -> Result<Power, String> {
        let exe = std::env::current_exe().map_err(|e| format!("the running executable: {e}"))?;
        let exe = quote(&exe.to_string_lossy());
        let dir = quote(&self.dir.to_string_lossy());
        let cmd = |what: &str| format!("FAULTLINE_LAB_DIR={dir} FAULTLINE_LAB_CLUSTER= {exe} lab power {what} {{node}}");
        Ok(Power { off: cmd("off"), on: cmd("on"), boot_timeout_s: BOOT_TIMEOUT_S })
    }
}
