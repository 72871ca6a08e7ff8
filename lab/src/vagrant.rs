//! A Vagrant box made from the lab's own base (`faultline lab box
//! --provider lxc`), so that `vagrant up --provider lxc` needs nothing
//! beyond Debian's mirror: the checked debootstrap base with a `vagrant`
//! user (passwordless sudo, Vagrant's well-known key, which `vagrant up`
//! replaces with a key of its own), packed as vagrant-lxc reads a box
//! (`metadata.json`, `rootfs.tar.gz`, `lxc-config`) and added with `vagrant
//! box add`. Its nodes join the lab's bridge, whose NAT reaches the mirror.

use super::{lxc, read, write, Lab};
use control::local as host;
use std::path::{Path, PathBuf};

/// The box's name in Vagrant (what the Vagrantfile's lxc provider uses).
pub const BOX_NAME: &str = "faultline/bookworm-lxc";
/// Where Vagrant's gems keep its well-known insecure key, by packaging.
const INSECURE_KEYS: [&str; 2] = ["/usr/share/rubygems-integration/all/gems", "/opt/vagrant/embedded/gems/gems"];

/// The providers a box can be made for, and why one cannot here.
pub fn refused(provider: &str) -> Option<String> {
    match provider {
        "lxc" => None,
        "libvirt" => Some(
            "--provider libvirt cannot run here: libvirt needs Debian's qemu-system-x86 installed, which would replace the machine's newer qemu-utils \
             (the VM lab unpacks QEMU into a cache of its own instead); use --provider lxc"
                .into(),
        ),
        other => Some(format!("unknown --provider {other:?} (lxc, libvirt)")),
    }
}

/// Vagrant's insecure public key, from the installed Vagrant.
fn insecure_key() -> Result<String, String> {
    for top in INSECURE_KEYS {
        let Ok(dirs) = std::fs::read_dir(top) else { continue };
        let mut found: Vec<PathBuf> =
            dirs.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("vagrant-"))).collect();
        found.sort();
        if let Some(k) = found.iter().map(|d| d.join("keys/vagrant.pub")).rfind(|k| k.is_file()) {
            return read(&k);
        }
    }
    Err(format!("Vagrant's insecure key (keys/vagrant.pub) is in none of {}: is vagrant installed?", INSECURE_KEYS.join(", ")))
}

/// The box's metadata: a vagrant-lxc box of format 1.0.0.
fn metadata() -> String {
    format!("{{\"provider\": \"lxc\", \"version\": \"1.0.0\", \"built-on\": \"{}\"}}\n", today())
}

/// Today's date (UTC) from `date`, for the metadata only.
fn today() -> String {
    host::run(&["date", "-u", "+%Y-%m-%d"]).map(|s| s.trim().to_string()).unwrap_or_default()
}

/// The box's LXC settings (the container's network is the Vagrantfile's).
const LXC_CONFIG: &str = "lxc.include = /usr/share/lxc/config/common.conf\n\
lxc.arch = linux64\n\
lxc.apparmor.profile = generated\n\
lxc.apparmor.allow_nesting = 1\n\
lxc.tty.dir =\n";

/// sshd makes the node's host keys before its first start.
const HOST_KEYS: &str = "[Service]\nExecStartPre=\nExecStartPre=/usr/bin/ssh-keygen -A\nExecStartPre=/usr/sbin/sshd -t\n";

/// Makes the box's root file system in `dir/rootfs` from the base: a
/// `vagrant` user, no hostname of its own (LXC's `uts.name` names the
/// node), none of the lab's keys.
fn make_rootfs(base: &Path, dir: &Path, key: &str) -> Result<(), String> {
    let root = dir.join("rootfs");
    let r = root.to_string_lossy().into_owned();
    host::run(&["cp", "-a", &base.to_string_lossy(), &r])?;
    host::run(&["chroot", &r, "useradd", "-m", "-s", "/bin/bash", "vagrant"])?;
    // a locked account cannot log in with a key either (sshd without PAM)
    host::run(&["chroot", &r, "usermod", "-p", "*", "vagrant"])?;
    write(&root.join("etc/sudoers.d/vagrant"), "vagrant ALL=(ALL) NOPASSWD:ALL\n")?;
    host::run(&["chmod", "440", &format!("{r}/etc/sudoers.d/vagrant")])?;
    write(&root.join("home/vagrant/.ssh/authorized_keys"), key)?;
    host::run(&["chroot", &r, "chown", "-R", "vagrant:vagrant", "/home/vagrant/.ssh"])?;
    host::run(&["chmod", "700", &format!("{r}/home/vagrant/.ssh")])?;
    // host keys of its own on each node, made at its first boot
    for e in std::fs::read_dir(root.join("etc/ssh")).map_err(|e| format!("{r}/etc/ssh: {e}"))?.filter_map(|e| e.ok()) {
        if e.file_name().to_string_lossy().starts_with("ssh_host_") {
            std::fs::remove_file(e.path()).map_err(|e| format!("{r}/etc/ssh: {e}"))?;
        }
    }
    write(&root.join("etc/systemd/system/ssh.service.d/host-keys.conf"), HOST_KEYS)?;
    let _ = std::fs::remove_file(root.join("etc/hostname"));
    let _ = std::fs::remove_file(root.join("root/.ssh/authorized_keys"));
    Ok(())
}

impl Lab {
    /// Makes the Vagrant box for `provider` from the lab's base and adds
    /// it to Vagrant as [`BOX_NAME`] (replacing an older one); the lab's
    /// bridge and NAT are brought up for its nodes. Returns the box file.
    pub fn vagrant_box(&self, provider: &str) -> Result<PathBuf, super::LabError> {
        self.make_box(provider).map_err(super::LabError)
    }

    fn make_box(&self, provider: &str) -> Result<PathBuf, String> {
        if let Some(why) = refused(provider) {
            return Err(why);
        }
        if self.cluster != 0 {
            return Err(format!("FAULTLINE_LAB_CLUSTER={}: the box is made from the lab's own base", self.cluster));
        }
        if !host::is_root() {
            return Err("the lab needs root (containers, bridge, iptables)".into());
        }
        let _lock = self.lock()?;
        use control::packages;
        packages::ensure(&packages::needed_by(packages::HOST_PACKAGES, packages::LAB)).map_err(|e| e.to_string())?;
        packages::ensure(&packages::needed_by(packages::HOST_PACKAGES, packages::VAGRANT)).map_err(|e| e.to_string())?;
        let pubkey = self.ensure_key()?;
        lxc::ensure_base(self, &pubkey)?;
        self.host_network_up()?;
        let dir = self.state_dir().join("vagrant");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        make_rootfs(&lxc::base_rootfs(self), &dir, &insecure_key()?)?;
        let d = dir.to_string_lossy().into_owned();
        // vagrant-lxc's template strips two components: ./rootfs/...
        host::run(&["tar", "-C", &d, "--numeric-owner", "-czf", &format!("{d}/rootfs.tar.gz"), "./rootfs"])?;
        host::run(&["rm", "-rf", &format!("{d}/rootfs")])?;
        write(&dir.join("metadata.json"), &metadata())?;
        write(&dir.join("lxc-config"), LXC_CONFIG)?;
        let file = dir.join("faultline-lxc.box");
        host::run(&["tar", "-C", &d, "-cf", &file.to_string_lossy(), "metadata.json", "lxc-config", "rootfs.tar.gz"])?;
        host::run(&["rm", "-f", &format!("{d}/rootfs.tar.gz")])?;
        host::run(&["vagrant", "box", "add", "--force", "--name", BOX_NAME, &file.to_string_lossy()])?;
        Ok(file)
    }

    /// Removes the box from Vagrant (`lab down --purge`), when Vagrant is there.
    pub(crate) fn remove_box(&self) {
        if control::packages::has_command("vagrant") {
            let _ = host::run(&["vagrant", "box", "remove", "--force", "--all", BOX_NAME]);
        }
        let _ = std::fs::remove_dir_all(self.state_dir().join("vagrant"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lxc_is_made_and_libvirt_refused_with_the_reason() {
        assert_eq!(refused("lxc"), None);
        assert!(refused("libvirt").is_some_and(|w| w.contains("qemu-utils")));
        assert!(refused("virtualbox").is_some_and(|w| w.contains("unknown --provider")));
        assert!(metadata().contains("\"provider\": \"lxc\"") && metadata().contains("\"version\": \"1.0.0\""));
    }
}
