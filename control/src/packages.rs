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

/// Which part of faultline needs a host package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Need {
    /// The LXC lab (`faultline lab up`).
    Lab,
    /// The VM lab's image (`faultline lab up --backend vm`).
    VmImage,
    /// The etcd system under test (its binary is uploaded to the nodes).
    Etcd,
    /// The Restate system under test (npm installs its binaries).
    Restate,
    /// The tests (browser test of the report, Vagrantfile check).
    Tests,
}

impl Need {
    /// Every need, in a stable order.
    pub const ALL: [Need; 5] = [Need::Lab, Need::VmImage, Need::Etcd, Need::Restate, Need::Tests];

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Need::Lab => "lab",
            Need::VmImage => "vm-image",
            Need::Etcd => "etcd",
            Need::Restate => "restate",
            Need::Tests => "tests",
        }
    }

    /// The need of that name.
    pub fn parse(name: &str) -> Option<Need> {
        Need::ALL.into_iter().find(|n| n.name() == name)
    }
}

/// A Debian package faultline installs on the control node when missing.
#[derive(Debug, Clone, Copy)]
pub struct HostPackage {
    /// The Debian package.
    pub package: &'static str,
    /// A command it installs: its presence on PATH says the package is there.
    pub command: &'static str,
    /// Who needs it.
    pub need: Need,
}

const fn pkg(package: &'static str, command: &'static str, need: Need) -> HostPackage {
    HostPackage { package, command, need }
}

/// Every host package faultline or its tests install. QEMU is not here:
/// the VM backend unpacks Debian's `qemu-system-x86` into a cache of its
/// own instead, because installing it would replace a newer `qemu-utils`.
pub const HOST_PACKAGES: &[HostPackage] = &[
    pkg("lxc", "lxc-create", Need::Lab),
    pkg("debootstrap", "debootstrap", Need::Lab),
    pkg("iptables", "iptables", Need::Lab),
    pkg("openssh-client", "ssh-keygen", Need::Lab),
    pkg("debootstrap", "debootstrap", Need::VmImage),
    pkg("e2fsprogs", "mkfs.ext4", Need::VmImage),
    pkg("qemu-utils", "qemu-img", Need::VmImage),
    pkg("etcd-server", "etcd", Need::Etcd),
    pkg("npm", "npm", Need::Restate),
    pkg("chromium", "chromium", Need::Tests),
    pkg("vagrant", "vagrant", Need::Tests),
];

/// The packages one part needs.
pub fn needed_by(need: Need) -> impl Iterator<Item = &'static HostPackage> {
    HOST_PACKAGES.iter().filter(move |p| p.need == need)
}

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
    std::env::var_os("PATH").map(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file())).unwrap_or(false)
        || Path::new("/usr/sbin").join(name).is_file()
        || Path::new("/sbin").join(name).is_file()
}

/// The packages of `need` whose command is missing.
pub fn missing(need: Need) -> Vec<&'static str> {
    let mut v: Vec<&str> = needed_by(need).filter(|p| !has_command(p.command)).map(|p| p.package).collect();
    v.dedup();
    v
}

/// Installs (with apt) every package of `need` whose command is missing.
pub fn ensure(need: Need) -> Result<(), InstallError> {
    apt_install(&missing(need))
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
    fn every_need_has_packages_and_names_round_trip() {
        for n in Need::ALL {
            assert!(needed_by(n).count() > 0, "{n:?}");
            assert_eq!(Need::parse(n.name()), Some(n));
        }
        assert_eq!(Need::parse("nope"), None);
    }

    #[test]
    fn a_present_command_needs_no_package() {
        // `sh` is on every machine: a package providing it is never missing
        assert!(has_command("sh"));
        assert!(!has_command("faultline-no-such-command"));
    }
}
