//! The host packages faultline installs on the control node, in one list.
//!
//! The lab, the systems under test and the tests all install what they
//! need through [`ensure`], from [`HOST_PACKAGES`] alone, so the list and
//! the install steps cannot drift apart; `faultline host-packages` prints
//! the list, and CI removes exactly these packages (those the machine image
//! does not ship) before every run, so that each run takes the path a new
//! machine takes.

use std::fmt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;

/// A Debian package faultline installs on the control node when missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostPackage {
    /// The Debian package.
    pub package: &'static str,
    /// A command it installs: its presence on PATH says the package is
    /// there (or, for a package without one, an absolute path it installs).
    pub command: &'static str,
    /// Who needs it: a part of faultline (`lab`, `vm-image`, `tests`) or a
    /// system under test (its name, from the system's own list).
    pub need: &'static str,
}

/// A host package `package`, present when `command` is, needed by `need`.
pub const fn pkg(package: &'static str, command: &'static str, need: &'static str) -> HostPackage {
    HostPackage { package, command, need }
}

/// The host packages of faultline's own parts: the lab, the VM lab's
/// image, the tests. Each system under test lists its own beside it
/// (`systems::Registration::host_packages`). QEMU is not here: the VM
/// backend unpacks Debian's `qemu-system-x86` into a cache of its own
/// instead, because installing it would replace a newer `qemu-utils`.
pub const HOST_PACKAGES: &[HostPackage] = &[
    pkg("lxc", "lxc-create", LAB),
    pkg("debootstrap", "debootstrap", LAB),
    pkg("iptables", "iptables", LAB),
    pkg("openssh-client", "ssh-keygen", LAB),
    pkg("debootstrap", "debootstrap", VM_IMAGE),
    pkg("e2fsprogs", "mkfs.ext4", VM_IMAGE),
    pkg("qemu-utils", "qemu-img", VM_IMAGE),
    pkg("chromium", "chromium", TESTS),
    pkg("vagrant", "vagrant", TESTS),
    pkg("vagrant", "vagrant", VAGRANT),
    pkg("vagrant-lxc", "/usr/share/doc/vagrant-lxc/copyright", VAGRANT),
];

/// The LXC lab (`faultline lab up`).
pub const LAB: &str = "lab";
/// The VM lab's image (`faultline lab up --backend vm`).
pub const VM_IMAGE: &str = "vm-image";
/// The tests (browser test of the report, Vagrantfile check).
pub const TESTS: &str = "tests";
/// Vagrant nodes made from the lab's base (`faultline lab box`).
pub const VAGRANT: &str = "vagrant";

/// Installing host packages failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallError {
    /// The packages that were to be installed.
    pub packages: Vec<String>,
    /// What went wrong (the failing command and its output).
    pub cause: String,
}

impl fmt::Display for InstallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "installing host packages {} failed: {}", self.packages.join(" "), self.cause)
    }
}

impl std::error::Error for InstallError {}

/// True when `name` is an executable on PATH (or in /usr/sbin, /sbin).
pub fn has_command(name: &str) -> bool {
    if name.starts_with('/') {
        return Path::new(name).exists();
    }
    std::env::var_os("PATH").map(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file())).unwrap_or(false)
        || Path::new("/usr/sbin").join(name).is_file()
        || Path::new("/sbin").join(name).is_file()
}

/// The packages of `list` whose command is missing, each named once.
pub fn missing(list: &[HostPackage]) -> Vec<&'static str> {
    let mut v: Vec<&str> = list.iter().filter(|p| !has_command(p.command)).map(|p| p.package).collect();
    v.dedup();
    v
}

/// The packages of `list` that `need` needs.
pub fn needed_by(list: &[HostPackage], need: &str) -> Vec<HostPackage> {
    list.iter().filter(|p| p.need == need).copied().collect()
}

/// Installs (with apt) every package of `list` whose command is missing.
pub fn ensure(list: &[HostPackage]) -> Result<(), InstallError> {
    apt_install(&missing(list))
}

/// apt's lists are refreshed once per process.
static UPDATED: Mutex<bool> = Mutex::new(false);

/// `apt-get install` of `packages` (none: nothing to do), after one
/// `apt-get update` per process.
pub fn apt_install(packages: &[&str]) -> Result<(), InstallError> {
    if packages.is_empty() {
        return Ok(());
    }
    let err = |cause: String| InstallError { packages: packages.iter().map(|s| s.to_string()).collect(), cause };
    let mut updated = UPDATED.lock().unwrap_or_else(|e| e.into_inner());
    eprintln!("faultline: installing host packages: {}", packages.join(" "));
    if !*updated {
        apt(&["update", "-qq"]).map_err(err)?;
        *updated = true;
    }
    let mut args = vec!["install", "-y", "-qq", "--no-install-recommends"];
    args.extend(packages);
    apt(&args).map_err(err)
}

/// Runs apt-get non-interactively; the error names the command and its output.
fn apt(args: &[&str]) -> Result<(), String> {
    let out = Command::new("apt-get")
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("`apt-get {}`: {e}", args.join(" ")))?;
    if out.status.success() {
        return Ok(());
    }
    let text = String::from_utf8_lossy(&out.stderr);
    let tail: Vec<&str> = text.trim_end().lines().rev().take(6).collect::<Vec<_>>().into_iter().rev().collect();
    Err(format!("`apt-get {}` failed ({}): {}", args.join(" "), out.status, tail.join(" | ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_part_has_packages() {
        for n in [LAB, VM_IMAGE, TESTS, VAGRANT] {
            assert!(!needed_by(HOST_PACKAGES, n).is_empty(), "{n}");
        }
        assert!(needed_by(HOST_PACKAGES, "nope").is_empty());
    }

    #[test]
    fn a_present_command_needs_no_package() {
        // `sh` is on every machine: a package providing it is never missing
        assert!(has_command("sh"));
        assert!(!has_command("faultline-no-such-command"));
        assert!(has_command("/bin/sh") && !has_command("/usr/share/doc/faultline-no-such-package/copyright"));
    }
}
