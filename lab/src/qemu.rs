//! QEMU for the `vm` backend, without touching the host's packages.
//!
//! A host that already has `qemu-system-x86_64` uses it. Otherwise Debian's
//! `qemu-system-x86` and the libraries it lacks are downloaded with apt and
//! unpacked (never installed) into faultline's cache: installing them would
//! replace a newer `qemu-utils` that a machine may ship (Debian 12's QEMU
//! breaks `qemu-utils` 8 and later). The unpacked QEMU runs with its own
//! library path, module directory and firmware directories.

use control::local as host;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The Debian package that holds the emulator.
const PACKAGE: &str = "qemu-system-x86";

/// How to run QEMU here.
#[derive(Debug, Clone)]
pub(crate) struct Qemu {
    /// The `qemu-system-x86_64` binary.
    pub bin: PathBuf,
    /// Where it was unpacked (`None`: the host's own QEMU).
    prefix: Option<PathBuf>,
}

/// The unpacked QEMU's directory.
pub(crate) fn unpack_dir() -> PathBuf {
    host::cache_dir().join("qemu")
}

fn stamp(dir: &Path) -> PathBuf {
    dir.join("faultline-unpacked")
}

impl Qemu {
    /// The host's QEMU if it has one, else the unpacked one (unpacked now
    /// if need be: a minute the first time).
    pub(crate) fn ensure() -> Result<Qemu, String> {
        if host::has_command("qemu-system-x86_64") {
            return Ok(Qemu { bin: "qemu-system-x86_64".into(), prefix: None });
        }
        let dir = unpack_dir();
        if !stamp(&dir).exists() {
            unpack(&dir)?;
        }
        Ok(Qemu { bin: dir.join("usr/bin/qemu-system-x86_64"), prefix: Some(dir) })
    }

    /// A command running QEMU with `args`, set up to find its libraries,
    /// modules and firmware.
    pub(crate) fn command(&self) -> Command {
        let mut c = Command::new(&self.bin);
        if let Some(p) = &self.prefix {
            let libs = [p.join("usr/lib/x86_64-linux-gnu"), p.join("lib/x86_64-linux-gnu")];
            let joined = std::env::join_paths(libs.iter()).unwrap_or_default();
            c.env("LD_LIBRARY_PATH", joined);
            c.env("QEMU_MODULE_DIR", p.join("usr/lib/x86_64-linux-gnu/qemu"));
            for fw in ["usr/share/qemu", "usr/share/seabios", "usr/lib/ipxe/qemu"] {
                c.arg("-L").arg(p.join(fw));
            }
        }
        c
    }

    /// Runs QEMU with `args` to completion (with `-daemonize`, until the VM
    /// is started); the error quotes its stderr.
    pub(crate) fn run(&self, args: &[String]) -> Result<(), String> {
        let out = self.command().args(args).stdin(Stdio::null()).output().map_err(|e| format!("{}: {e}", self.bin.display()))?;
        if out.status.success() {
            return Ok(());
        }
        Err(format!("{} failed ({}): {}", self.bin.display(), out.status, String::from_utf8_lossy(&out.stderr).trim()))
    }
}

/// Downloads `qemu-system-x86` and every package of its dependencies that
/// the host lacks, and unpacks them into `dir`.
fn unpack(dir: &Path) -> Result<(), String> {
    eprintln!("lab: unpacking Debian's {PACKAGE} into {} (not installed: the host's packages stay as they are)", dir.display());
    let _ = std::fs::remove_dir_all(dir);
    let debs = dir.join("debs");
    std::fs::create_dir_all(&debs).map_err(|e| format!("{}: {e}", debs.display()))?;
    host::run(&["apt-get", "update", "-qq"])?;
    // apt's own resolution says what the host lacks (what it would install)
    let sim = host::run(&["apt-get", "install", "-s", "--no-install-recommends", PACKAGE])?;
    let mut names = to_install(&sim);
    if names.is_empty() {
        return Err(format!("apt would install nothing for {PACKAGE}: is it installed without qemu-system-x86_64 on PATH?"));
    }
    // firmware the emulator loads at boot (recommended, not required)
    for fw in ["seabios", "ipxe-qemu"] {
        if !names.iter().any(|n| n == fw) {
            names.push(fw.to_string());
        }
    }
    let mut argv = vec!["apt-get", "download", "-qq"];
    argv.extend(names.iter().map(String::as_str));
    let out = Command::new(argv[0]).args(&argv[1..]).current_dir(&debs).stdin(Stdio::null()).output().map_err(|e| format!("apt-get download: {e}"))?;
    if !out.status.success() {
        return Err(format!("`apt-get download {}` failed: {}", names.join(" "), String::from_utf8_lossy(&out.stderr).trim()));
    }
    let entries = std::fs::read_dir(&debs).map_err(|e| format!("{}: {e}", debs.display()))?;
    for deb in entries.filter_map(|e| e.ok()).map(|e| e.path()) {
        host::run(&["dpkg-deb", "-x", &deb.to_string_lossy(), &dir.to_string_lossy()])?;
    }
    let _ = std::fs::remove_dir_all(&debs);
    let bin = dir.join("usr/bin/qemu-system-x86_64");
    let q = Qemu { bin: bin.clone(), prefix: Some(dir.to_path_buf()) };
    let ver = q.command().arg("--version").stdin(Stdio::null()).output().map_err(|e| format!("{}: {e}", bin.display()))?;
    if !ver.status.success() {
        return Err(format!("the unpacked QEMU does not run: {}", String::from_utf8_lossy(&ver.stderr).trim()));
    }
    std::fs::write(stamp(dir), &ver.stdout).map_err(|e| format!("{}: {e}", stamp(dir).display()))
}

/// The packages an `apt-get install -s` would install (its `Inst` lines).
fn to_install(simulation: &str) -> Vec<String> {
    simulation.lines().filter_map(|l| l.strip_prefix("Inst ")).filter_map(|l| l.split_whitespace().next()).map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::to_install;

    #[test]
    fn the_packages_to_unpack_are_read_from_apts_simulation() {
        let sim = "NOTE: This is only a simulation!\nRemv qemu-utils [1:10.0.2]\nInst seabios (1.16.2-1 Debian:12 [all])\n\
                   Inst qemu-system-x86 (1:7.2 Debian:12 [amd64])\nConf seabios (1.16.2-1 Debian:12 [all])\n";
        assert_eq!(to_install(sim), vec!["seabios", "qemu-system-x86"]);
    }
}
