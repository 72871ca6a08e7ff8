//! The `lxc` backend: a base container built once, nodes cloned from it as
//! overlay snapshots.

use super::{host_key, is_node_name, read, rootfs, write, Lab, BRIDGE, HOST_IP, SSHD_CONFIG};
use control::local as host;
use std::path::PathBuf;

/// The base container's name (never started).
const BASE: &str = "fl-base";

/// Debian packages every LXC node gets: the common ones, and libfaketime.
fn node_packages() -> Vec<&'static str> {
    rootfs::with_common(&["faketime"])
}

fn lxcpath(lab: &Lab) -> String {
    lab.lxcpath().to_string_lossy().into_owned()
}

/// The base's LXC path (the lab's own cluster's).
fn base_path(lab: &Lab) -> String {
    lab.base_lxcpath().to_string_lossy().into_owned()
}

fn rootfs(lab: &Lab) -> PathBuf {
    lab.base_lxcpath().join(BASE).join("rootfs")
}

/// The base container's root file system (what a Vagrant box is made from).
pub(crate) fn base_rootfs(lab: &Lab) -> PathBuf {
    rootfs(lab)
}

fn stamp(lab: &Lab) -> PathBuf {
    lab.base_lxcpath().join(BASE).join("faultline-ready")
}

/// What the stamp of a complete base says: how it was built and with what.
fn stamp_text() -> String {
    format!("debootstrap {} {}\n", rootfs::SUITE, node_packages().join(","))
}

/// True when the base exists, was built completely with the current
/// package list, and still has every package (else it is rebuilt).
pub(crate) fn base_ready(lab: &Lab) -> bool {
    std::fs::read_to_string(stamp(lab)).is_ok_and(|s| s == stamp_text()) && rootfs::missing_packages(&rootfs(lab), &node_packages()).is_ok_and(|m| m.is_empty())
}

/// The base's LXC configuration (LXC's common settings; no template).
fn config(lab: &Lab) -> String {
    format!(
        "# faultline's lab base: never started, nodes are overlay clones of it\n\
         lxc.include = /usr/share/lxc/config/common.conf\n\
         lxc.tty.dir =\n\
         lxc.apparmor.profile = generated\n\
         lxc.apparmor.allow_nesting = 1\n\
         lxc.arch = linux64\n\
         lxc.uts.name = {BASE}\n\
         lxc.rootfs.path = dir:{}\n\
         lxc.net.0.type = veth\n\
         lxc.net.0.link = {BRIDGE}\n\
         lxc.net.0.flags = up\n",
        rootfs(lab).display()
    )
}

/// Builds the base container if needed (debootstrap: a minute or two the
/// first time, seconds from LXC's cache); returns true if it built one.
pub(crate) fn ensure_base(lab: &Lab, pubkey: &str) -> Result<bool, String> {
    let p = base_path(lab);
    let built = !base_ready(lab);
    if built {
        std::fs::create_dir_all(lab.base_lxcpath()).map_err(|e| format!("{p}: {e}"))?;
        if lab.base_lxcpath().join(BASE).exists() {
            // a half-built or outdated base; its clones go with it
            remove_nodes(lab, 0)?;
            remove_base(lab)?;
        }
        eprintln!("lab: building the base container (debootstrap {}; slow only the first time)", rootfs::SUITE);
        let _ = std::fs::remove_file(stamp(lab));
        rootfs::debootstrap(&rootfs(lab), &node_packages())?;
        // the clone hook renames this to each node's name
        write(&rootfs(lab).join("etc/hostname"), &format!("{BASE}\n"))?;
        write(&lab.base_lxcpath().join(BASE).join("config"), &config(lab))?;
    }
    configure_rootfs(lab, pubkey)?;
    if built {
        write(&stamp(lab), &stamp_text())?;
    }
    Ok(built)
}

/// The base's files the lab owns, rewritten at every `up` (cheap, and a
/// newer faultline's settings reach an older base).
fn configure_rootfs(lab: &Lab, pubkey: &str) -> Result<(), String> {
    let r = rootfs(lab);
    // No DHCP on the lab bridge: a dhcp eth0 hangs the boot before sshd.
    write(&r.join("etc/network/interfaces"), "auto lo\niface lo inet loopback\nauto eth0\niface eth0 inet manual\n")?;
    write(&r.join("etc/ssh/sshd_config.d/faultline.conf"), SSHD_CONFIG)?;
    let ssh = r.join("root/.ssh");
    write(&ssh.join("authorized_keys"), pubkey)?;
    host::run(&["chmod", "700", &ssh.to_string_lossy()])?;
    Ok(())
}

/// The base's ed25519 host key (`type base64`), shared by every clone.
pub(crate) fn base_host_key(lab: &Lab) -> Result<String, String> {
    host_key(&rootfs(lab).join("etc/ssh/ssh_host_ed25519_key.pub"))
}

/// The lab's containers that are nodes, with their numbers.
fn node_containers(lab: &Lab) -> Vec<(usize, String)> {
    let out = host::run(&["lxc-ls", "-P", &lxcpath(lab), "-1"]).unwrap_or_default();
    let mut v: Vec<(usize, String)> =
        out.split_whitespace().filter(|n| is_node_name(n)).filter_map(|n| n[1..].parse().ok().map(|i| (i, n.to_string()))).collect();
    v.sort();
    v
}

/// True when any node container exists.
pub(crate) fn any_nodes(lab: &Lab) -> bool {
    !node_containers(lab).is_empty()
}

fn running(lab: &Lab, name: &str) -> bool {
    host::run(&["lxc-info", "-P", &lxcpath(lab), "-n", name, "-s"]).is_ok_and(|s| s.contains("RUNNING"))
}

/// Makes nodes n1..nN exist and run, and removes any beyond N.
pub(crate) fn ensure_nodes(lab: &Lab, n: usize) -> Result<(), String> {
    let p = lxcpath(lab);
    std::fs::create_dir_all(lab.lxcpath()).map_err(|e| format!("{p}: {e}"))?;
    remove_nodes(lab, n)?;
    let existing: Vec<String> = node_containers(lab).into_iter().map(|(_, name)| name).collect();
    for i in 1..=n {
        let name = format!("n{i}");
        if !existing.contains(&name) {
            // a cluster's nodes live in an LXC path of its own, cloned from the one base
            host::run(&["lxc-copy", "-P", &base_path(lab), "-n", BASE, "-p", &p, "-N", &name, "-s", "-B", "overlay"])?;
            let cfg = lab.lxcpath().join(&name).join("config");
            let mut text = read(&cfg)?;
            text += &format!("lxc.net.0.ipv4.address = {}/24\nlxc.net.0.ipv4.gateway = {HOST_IP}\n", lab.node_ip(i));
            write(&cfg, &text)?;
        }
        if !running(lab, &name) {
            host::run(&["lxc-start", "-P", &p, "-n", &name])?;
        }
    }
    Ok(())
}

/// Stops and destroys the nodes numbered above `keep`.
pub(crate) fn remove_nodes(lab: &Lab, keep: usize) -> Result<(), String> {
    let p = lxcpath(lab);
    for (i, name) in node_containers(lab) {
        if i <= keep {
            continue;
        }
        if running(lab, &name) {
            host::run(&["lxc-stop", "-P", &p, "-n", &name, "-k"])?;
        }
        host::run(&["lxc-destroy", "-P", &p, "-n", &name, "-f"])?;
    }
    Ok(())
}

/// Destroys the base container.
pub(crate) fn remove_base(lab: &Lab) -> Result<(), String> {
    // never started, and its clones are gone: a directory (maybe half-built)
    let d = lab.base_lxcpath().join(BASE);
    if d.exists() {
        std::fs::remove_dir_all(&d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    Ok(())
}

/// `lxc-ls -f` of the lab's containers.
pub(crate) fn listing(lab: &Lab) -> String {
    host::run(&["lxc-ls", "-P", &lxcpath(lab), "-f"]).unwrap_or_else(|e| format!("lxc-ls: {e}\n"))
}
