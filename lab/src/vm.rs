//! The `vm` backend: QEMU virtual machines with their own kernel (so clock
//! skew and netem work), on the lab's bridge.
//!
//! One disk image is built once from Debian packages (debootstrap minbase
//! with the cloud kernel, then `mkfs.ext4 -d`: no loop device), and each
//! node boots a qcow2 overlay on it with `-kernel`/`-initrd` taken from the
//! image. The node's address comes from a systemd-networkd file matched on
//! its MAC address, its hostname from the kernel command line. KVM is used
//! when `/dev/kvm` runs a stock Debian kernel; otherwise (as on nested
//! hypervisors that cannot) QEMU's software emulation, 10-20x slower. The
//! VMs have no time service (it would reach outside the lab): their clocks
//! are set from the control node's after boot, and the clock faults own
//! them from then on.

use super::qemu::Qemu;
use super::{host_key, is_node_name, node_ip, write, Lab, BRIDGE, HOST_IP, SSHD_CONFIG};
use control::local as host;
use control::packages;
use std::path::{Path, PathBuf};
use std::process::Stdio;

/// Debian packages of the image: a kernel and udev, and the common ones.
fn image_packages() -> Vec<&'static str> {
    super::rootfs::with_common(&["linux-image-cloud-amd64", "udev", "kmod"])
}
/// Memory per VM (MiB).
const MEMORY_MB: u32 = 512;
/// The image's size (sparse).
const IMAGE_SIZE: &str = "4G";

fn dir(lab: &Lab) -> PathBuf {
    lab.dir.join("vm")
}

fn image(lab: &Lab) -> PathBuf {
    dir(lab).join("base.img")
}

fn stamp(lab: &Lab) -> PathBuf {
    dir(lab).join("base.ready")
}

fn kernel(lab: &Lab) -> PathBuf {
    dir(lab).join("vmlinuz")
}

fn initrd(lab: &Lab) -> PathBuf {
    dir(lab).join("initrd.img")
}

fn rootfs(lab: &Lab) -> PathBuf {
    dir(lab).join("rootfs")
}

fn overlay(lab: &Lab, i: usize) -> PathBuf {
    dir(lab).join(format!("n{i}.qcow2"))
}

fn pidfile(lab: &Lab, i: usize) -> PathBuf {
    dir(lab).join(format!("n{i}.pid"))
}

/// The node's serial console, kept for diagnosing a boot.
pub(crate) fn console(lab: &Lab, i: usize) -> PathBuf {
    dir(lab).join(format!("n{i}.console"))
}

fn tap(i: usize) -> String {
    format!("fltap{i}")
}

/// The MAC address of node `i`.
pub(crate) fn mac(i: usize) -> String {
    format!("52:54:00:77:00:{:02x}", 10 + i)
}

/// True when the image exists with the current package list.
pub(crate) fn base_ready(lab: &Lab) -> bool {
    std::fs::read_to_string(stamp(lab)).is_ok_and(|s| s.trim() == image_packages().join(",")) && image(lab).exists()
}

/// Whether KVM can run the nodes: `/dev/kvm` exists and a stock kernel
/// boots under it (checked once by booting the image's kernel briefly and
/// caching the answer).
fn accel(lab: &Lab) -> String {
    let cache = dir(lab).join("accel");
    if let Ok(a) = std::fs::read_to_string(&cache) {
        return a.trim().to_string();
    }
    let a = if Path::new("/dev/kvm").exists() && kvm_boots(lab) { "kvm" } else { "tcg" };
    let _ = std::fs::write(&cache, a);
    a.to_string()
}

/// Boots the kernel under KVM for a few seconds and looks for the kernel's
/// own progress on the console (a nested hypervisor that cannot run it
/// fails with emulation errors or prints nothing).
fn kvm_boots(lab: &Lab) -> bool {
    let log = dir(lab).join("kvm-probe.console");
    let _ = std::fs::remove_file(&log);
    let Ok(qemu) = Qemu::ensure() else { return false };
    let mut probe = qemu.command();
    probe.args(["-machine", "pc", "-accel", "kvm", "-cpu", "host", "-m", "256", "-display", "none", "-no-reboot"]);
    let mut child = match probe
        .arg("-kernel")
        .arg(kernel(lab))
        .arg("-initrd")
        .arg(initrd(lab))
        .args(["-append", "console=ttyS0 panic=-1 rdinit=/bin/false", "-serial"])
        .arg(format!("file:{}", log.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(c) => c,
        Err(_) => return false,
    };
    // the kernel's own progress on the console, within 20 s
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut booted = false;
    while std::time::Instant::now() < deadline && !booted {
        if child.try_wait().ok().flatten().is_some() {
            booted = std::fs::read_to_string(&log).unwrap_or_default().contains("Freeing unused kernel");
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
        booted = std::fs::read_to_string(&log).unwrap_or_default().contains("Freeing unused kernel");
    }
    let _ = child.kill();
    let _ = child.wait();
    booted
}

/// Builds the image if needed (none yet, another package list, or another
/// lab key baked in); returns true if it built one.
pub(crate) fn ensure_base(lab: &Lab, pubkey: &str) -> Result<bool, String> {
    let key = std::fs::read_to_string(dir(lab).join("key.pub")).unwrap_or_default();
    if base_ready(lab) && key.trim() == pubkey.trim() {
        return Ok(false);
    }
    remove_nodes(lab, 0)?;
    Qemu::ensure()?;
    packages::ensure(&packages::needed_by(packages::HOST_PACKAGES, packages::VM_IMAGE)).map_err(|e| e.to_string())?;
    let root = rootfs(lab);
    eprintln!("lab: building the VM image (debootstrap {} with a kernel; slow only the first time)", super::rootfs::SUITE);
    let _ = std::fs::remove_file(stamp(lab));
    super::rootfs::debootstrap(&root, &image_packages())?;
    // the node's files that never change; per-node ones come from the MAC
    write(&root.join("etc/fstab"), "/dev/vda / ext4 defaults,noatime 0 1\n")?;
    write(&root.join("etc/hostname"), "node\n")?;
    for i in 1..=super::MAX_NODES {
        let net = format!("[Match]\nMACAddress={}\n\n[Network]\nAddress={}/24\nGateway={HOST_IP}\n", mac(i), node_ip(i));
        write(&root.join(format!("etc/systemd/network/10-n{i}.network")), &net)?;
    }
    let wants = root.join("etc/systemd/system/multi-user.target.wants");
    std::fs::create_dir_all(&wants).map_err(|e| format!("{}: {e}", wants.display()))?;
    let link = wants.join("systemd-networkd.service");
    if !link.exists() {
        std::os::unix::fs::symlink("/lib/systemd/system/systemd-networkd.service", &link).map_err(|e| format!("{}: {e}", link.display()))?;
    }
    configure(lab, pubkey)?;
    // kernel and initrd boot the VMs directly
    let boot = root.join("boot");
    let pick = |prefix: &str| -> Result<PathBuf, String> {
        let mut found: Vec<PathBuf> = std::fs::read_dir(&boot)
            .map_err(|e| format!("{}: {e}", boot.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with(prefix)))
            .collect();
        found.sort();
        found.pop().ok_or_else(|| format!("no {prefix}* in {}", boot.display()))
    };
    std::fs::copy(pick("vmlinuz-")?, kernel(lab)).map_err(|e| format!("kernel: {e}"))?;
    std::fs::copy(pick("initrd.img-")?, initrd(lab)).map_err(|e| format!("initrd: {e}"))?;
    let img = image(lab).to_string_lossy().into_owned();
    let _ = std::fs::remove_file(&img);
    host::run(&["truncate", "-s", IMAGE_SIZE, &img])?;
    host::run(&["mkfs.ext4", "-q", "-F", "-L", "faultline", "-d", &root.to_string_lossy(), &img])?;
    let _ = std::fs::remove_dir_all(&root);
    let _ = std::fs::remove_file(dir(lab).join("accel"));
    write(&stamp(lab), &format!("{}\n", image_packages().join(",")))?;
    Ok(true)
}

/// Writes the files the lab owns into the rootfs before the image is made
/// (the lab's key is baked in: another key rebuilds the image).
fn configure(lab: &Lab, pubkey: &str) -> Result<(), String> {
    let root = rootfs(lab);
    write(&root.join("etc/ssh/sshd_config.d/faultline.conf"), SSHD_CONFIG)?;
    let ssh = root.join("root/.ssh");
    write(&ssh.join("authorized_keys"), pubkey)?;
    host::run(&["chmod", "700", &ssh.to_string_lossy()])?;
    write(&dir(lab).join("key.pub"), pubkey)?;
    // the shared host key, for the lab's known_hosts
    let hk = std::fs::read_to_string(root.join("etc/ssh/ssh_host_ed25519_key.pub")).map_err(|e| format!("image host key: {e}"))?;
    write(&dir(lab).join("host_key.pub"), &hk)?;
    Ok(())
}

/// The image's ed25519 host key (`type base64`), shared by every node.
pub(crate) fn base_host_key(lab: &Lab) -> Result<String, String> {
    host_key(&dir(lab).join("host_key.pub"))
}

fn pid(lab: &Lab, i: usize) -> Option<u32> {
    let p: u32 = std::fs::read_to_string(pidfile(lab, i)).ok()?.trim().parse().ok()?;
    // alive, and a QEMU (not a recycled pid)
    let cmd = std::fs::read_to_string(format!("/proc/{p}/cmdline")).ok()?;
    cmd.contains("qemu-system").then_some(p)
}

/// The numbers of the nodes with a VM running or a disk left.
fn nodes(lab: &Lab) -> Vec<usize> {
    let mut v: Vec<usize> = std::fs::read_dir(dir(lab))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let stem = name.strip_suffix(".qcow2")?.to_string();
                    is_node_name(&stem).then(|| stem[1..].parse().ok()).flatten()
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// True when any VM node exists.
pub(crate) fn any_nodes(lab: &Lab) -> bool {
    !nodes(lab).is_empty()
}

/// Makes VMs n1..nN exist and run, and removes any beyond N.
pub(crate) fn ensure_nodes(lab: &Lab, n: usize) -> Result<(), String> {
    remove_nodes(lab, n)?;
    let accel = accel(lab);
    let qemu = Qemu::ensure()?;
    for i in 1..=n {
        if pid(lab, i).is_some() {
            continue;
        }
        let disk = overlay(lab, i);
        let _ = std::fs::remove_file(&disk);
        host::run(&["qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", &image(lab).to_string_lossy(), &disk.to_string_lossy()])?;
        boot(lab, i, &accel, &qemu)?;
    }
    Ok(())
}

/// Cuts node `i`'s power: its QEMU killed at once, with whatever the guest
/// had not flushed to its disk (the disk's own cache, `cache=none`, holds
/// only what the guest did not flush either). Nothing if it is off.
pub(crate) fn power_off(lab: &Lab, i: usize) -> Result<(), String> {
    if !overlay(lab, i).exists() {
        return Err(format!("n{i} is not a VM of the lab"));
    }
    if let Some(p) = pid(lab, i) {
        host::run(&["kill", "-KILL", &p.to_string()])?;
        wait_gone(p);
    }
    let _ = std::fs::remove_file(pidfile(lab, i));
    Ok(())
}

/// Switches node `i` on again with its disk as the power cut left it
/// (nothing if it runs); it answers over SSH once it has booted.
pub(crate) fn power_on(lab: &Lab, i: usize) -> Result<(), String> {
    if !overlay(lab, i).exists() {
        return Err(format!("n{i} is not a VM of the lab"));
    }
    if pid(lab, i).is_some() {
        return Ok(());
    }
    boot(lab, i, &accel(lab), &Qemu::ensure()?)
}

/// Waits (at most 2 s) until process `p` is gone.
fn wait_gone(p: u32) {
    for _ in 0..100 {
        if !Path::new(&format!("/proc/{p}")).exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Boots node `i` from its disk. The disk bypasses the host's page cache
/// and honours the guest's flushes (`cache=none`), so a killed QEMU loses
/// exactly what a power cut loses: what the guest had not flushed.
fn boot(lab: &Lab, i: usize, accel: &str, qemu: &Qemu) -> Result<(), String> {
    let disk = overlay(lab, i);
    let t = tap(i);
    if !host::link_exists(&t) {
        host::run(&["ip", "tuntap", "add", "dev", &t, "mode", "tap"])?;
    }
    host::run(&["ip", "link", "set", &t, "master", BRIDGE, "up"])?;
    let (accel_arg, cpu) = if accel == "kvm" { ("kvm".to_string(), "host") } else { ("tcg,thread=multi,tb-size=128".to_string(), "max") };
    let append = format!("root=/dev/vda rw console=ttyS0 systemd.hostname=n{i} net.ifnames=0 quiet");
    let _ = std::fs::remove_file(console(lab, i));
    let args = [
        "-name",
        &format!("faultline-n{i}"),
        "-machine",
        "pc",
        "-accel",
        &accel_arg,
        "-cpu",
        cpu,
        "-smp",
        "1",
        "-m",
        &MEMORY_MB.to_string(),
        "-kernel",
        &kernel(lab).display().to_string(),
        "-initrd",
        &initrd(lab).display().to_string(),
        "-append",
        &append,
        "-drive",
        &format!("file={},if=virtio,format=qcow2,cache=none", disk.display()),
        "-netdev",
        &format!("tap,id=net0,ifname={t},script=no,downscript=no"),
        "-device",
        &format!("virtio-net-pci,netdev=net0,mac={}", mac(i)),
        "-display",
        "none",
        "-serial",
        &format!("file:{}", console(lab, i).display()),
        "-pidfile",
        &pidfile(lab, i).display().to_string(),
        "-daemonize",
    ];
    qemu.run(&args.map(String::from))
}

/// Stops the VMs numbered above `keep` and removes their disks and taps.
pub(crate) fn remove_nodes(lab: &Lab, keep: usize) -> Result<(), String> {
    for i in nodes(lab) {
        if i <= keep {
            continue;
        }
        if let Some(p) = pid(lab, i) {
            let _ = host::run(&["kill", "-KILL", &p.to_string()]);
            wait_gone(p); // before its disk is removed
        }
        let t = tap(i);
        if host::link_exists(&t) {
            host::run(&["ip", "link", "del", &t])?;
        }
        let _ = std::fs::remove_file(overlay(lab, i));
        let _ = std::fs::remove_file(pidfile(lab, i));
    }
    Ok(())
}

/// Removes the image and everything built from it.
pub(crate) fn remove_base(lab: &Lab) -> Result<(), String> {
    remove_nodes(lab, 0)?;
    let d = dir(lab);
    if d.exists() {
        std::fs::remove_dir_all(&d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    Ok(())
}

/// One line per VM.
pub(crate) fn listing(lab: &Lab) -> String {
    nodes(lab)
        .into_iter()
        .map(|i| match pid(lab, i) {
            Some(p) => format!("n{i} vm RUNNING pid {p} {}\n", node_ip(i)),
            None => format!("n{i} vm STOPPED {}\n", node_ip(i)),
        })
        .collect()
}

/// The last lines of a node's console, for a boot that did not reach SSH.
pub(crate) fn console_tail(lab: &Lab, i: usize) -> String {
    let text = std::fs::read_to_string(console(lab, i)).unwrap_or_default();
    let lines: Vec<&str> = text.lines().rev().take(5).collect();
    lines.into_iter().rev().collect::<Vec<_>>().join(" | ")
}
