//! Root file systems for the lab's nodes, built with debootstrap and
//! checked: a build that left out a package fails naming it, so a half-built
//! base is never taken for a good one.

use control::local as host;
use std::path::Path;

/// The Debian release the nodes run.
pub const SUITE: &str = "bookworm";
/// Debian's mirror (the nodes reach it only through the lab's NAT).
pub const MIRROR: &str = "http://deb.debian.org/debian";

/// Packages every node gets on top of debootstrap's minbase: an init, sshd,
/// the tools faults and systems use (iptables, tc, ps, kill, curl, nc).
const COMMON: [&str; 11] =
    ["systemd-sysv", "openssh-server", "iptables", "iproute2", "procps", "iputils-ping", "curl", "psmisc", "netcat-openbsd", "ca-certificates", "sudo"];

/// `extra` packages, then the common ones.
pub(crate) fn with_common(extra: &[&'static str]) -> Vec<&'static str> {
    extra.iter().copied().chain(COMMON).collect()
}

/// Makes `root` a Debian minbase system with `packages` (and their
/// dependencies) installed, then checks that each of them is.
pub(crate) fn debootstrap(root: &Path, packages: &[&str]) -> Result<(), String> {
    let _ = std::fs::remove_dir_all(root);
    std::fs::create_dir_all(root).map_err(|e| format!("{}: {e}", root.display()))?;
    let include = format!("--include={}", packages.join(","));
    host::run(&["debootstrap", "--variant=minbase", &include, SUITE, &root.to_string_lossy(), MIRROR])?;
    let missing = missing_packages(root, packages)?;
    if !missing.is_empty() {
        return Err(format!("debootstrap built {} without the packages {}", root.display(), missing.join(", ")));
    }
    Ok(())
}

/// The `packages` that are not fully installed in the system at `root`
/// (read from its dpkg database, no chroot).
pub(crate) fn missing_packages(root: &Path, packages: &[&str]) -> Result<Vec<String>, String> {
    let admin = root.join("var/lib/dpkg");
    if !admin.join("status").is_file() {
        return Err(format!("{}: no dpkg database (not a Debian root file system)", root.display()));
    }
    let admindir = format!("--admindir={}", admin.display());
    // dpkg-query exits 1 when a package is unknown: read what it printed
    let out = std::process::Command::new("dpkg-query")
        .args([admindir.as_str(), "-W", "-f=${Package} ${db:Status-Abbrev}\\n"])
        .args(packages)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("dpkg-query: {e}"))?;
    Ok(not_installed(&String::from_utf8_lossy(&out.stdout), packages))
}

/// The `packages` that `dpkg-query`'s `${Package} ${db:Status-Abbrev}`
/// lines do not show as installed (`ii`).
fn not_installed(query: &str, packages: &[&str]) -> Vec<String> {
    let installed: Vec<&str> = query
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter(|(_, st)| st.trim_end().starts_with("ii"))
        .map(|(p, _)| p.split(':').next().unwrap_or(p))
        .collect();
    packages.iter().filter(|p| !installed.contains(p)).map(|p| p.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::not_installed;

    #[test]
    fn a_package_not_shown_installed_is_missing() {
        let q = "openssh-server ii \niptables un \ncurl:amd64 ii \nsudo iF \n";
        let want = ["openssh-server", "iptables", "curl", "sudo", "psmisc"];
        assert_eq!(not_installed(q, &want), vec!["iptables", "sudo", "psmisc"]);
    }

    #[test]
    fn a_root_without_dpkg_database_is_an_error() {
        let d = std::env::temp_dir().join(format!("faultline-rootfs-test-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let e = super::missing_packages(&d, &["sudo"]).unwrap_err();
        assert!(e.contains("no dpkg database"), "{e}");
        let _ = std::fs::remove_dir_all(&d);
    }
}
