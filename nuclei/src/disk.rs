//! Disk faults on a node: the system's data directories served by
//! faultline's page cache (`faultline-pagecache`, a FUSE filesystem that
//! holds written data until fsync), and a power loss of what they hold.
//!
//! `lose-unsynced` kills the system, then the page cache (its unsynced
//! data gone), and lazily unmounts it: each directory then holds what was
//! synced. Its inverse `restart` serves the directories again and starts
//! the system.

use crate::FaultError;
use control::{quote, Cmd, NodeClient};
use std::path::{Path, PathBuf};

/// Where the page cache lives on a node.
pub const BIN: &str = "/opt/faultline/bin/faultline-pagecache";
/// Its log on a node.
const LOG: &str = "/var/log/faultline/pagecache.log";
/// Matches the page cache's processes only.
const PATTERN: &str = "^/opt/faultline/bin/faultline-pagecache ";

/// The page cache's binary on the control node: `$FAULTLINE_PAGECACHE`, or
/// `faultline-pagecache` next to the running executable (or one level up:
/// test binaries live in deps/).
pub fn local_binary() -> Result<PathBuf, FaultError> {
    let missing = |m: String| FaultError::Unsupported(format!("lose-unsynced needs faultline's page cache: {m}"));
    if let Some(p) = std::env::var_os("FAULTLINE_PAGECACHE").map(PathBuf::from) {
        return if p.is_file() { Ok(p) } else { Err(missing(format!("FAULTLINE_PAGECACHE={}: no such file", p.display()))) };
    }
    let exe = std::env::current_exe().map_err(|e| missing(format!("current executable: {e}")))?;
    exe.ancestors().skip(1).take(2).map(|d| d.join("faultline-pagecache")).find(|p| p.is_file()).ok_or_else(|| {
        missing(format!("faultline-pagecache is not next to {}: build it with `cargo build --release` or set FAULTLINE_PAGECACHE", exe.display()))
    })
}

/// Puts the page cache on the node (unless it has this very binary) and
/// makes /dev/fuse there if missing (an LXC node: its cgroup allows the
/// device, LXC does not create it; a VM: loads the module).
pub fn install(node: &NodeClient, local: &Path) -> Result<(), FaultError> {
    let name = &node.node().name;
    let failed = |m: String| FaultError::Node(name.clone(), m);
    let want = sha256(local).map_err(FaultError::Unsupported)?;
    let have = node.exec(&Cmd::new(["sha256sum", BIN])).map(|o| o.stdout).unwrap_or_default();
    if !have.starts_with(&want) {
        node.run(&Cmd::new(["mkdir", "-p", "/opt/faultline/bin", "/var/log/faultline"]).sudo()).map_err(|e| failed(e.to_string()))?;
        node.upload(local, BIN, 0o755).map_err(|e| failed(format!("uploading the page cache: {e}")))?;
    }
    node.run(&fuse_device()).map(|_| ()).map_err(|e| FaultError::Unsupported(format!("{name}: no FUSE (lose-unsynced needs /dev/fuse): {e}")))
}

fn sha256(p: &Path) -> Result<String, String> {
    let out = std::process::Command::new("sha256sum").arg(p).output().map_err(|e| format!("sha256sum {}: {e}", p.display()))?;
    String::from_utf8_lossy(&out.stdout).split_whitespace().next().map(str::to_string).ok_or_else(|| format!("sha256sum {}: no answer", p.display()))
}

/// Makes /dev/fuse exist on the node.
pub fn fuse_device() -> Cmd {
    Cmd::script("test -c /dev/fuse || modprobe fuse 2>/dev/null || true; test -c /dev/fuse || mknod -m 666 /dev/fuse c 10 229; test -c /dev/fuse").sudo()
}

/// How the page cache serves a run's data directories.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PageCache {
    /// What age of dirty data its writeback writes (`None`: its default,
    /// 30 s, as Linux's `dirty_expire_centisecs`).
    pub expire: Option<std::time::Duration>,
    /// Names too wait for an fsync of their directory (or the journal's
    /// commit, every 5 s as ext4's): a power loss undoes the others.
    pub unsynced_names: bool,
}

/// Serves each of `dirs` over itself (idempotent) as `how` says, and
/// waits until each is mounted (at most 10 s).
pub fn mount(dirs: &[String], how: &PageCache) -> Cmd {
    let mut opt = how.expire.map(|e| format!("--expire-ms {} ", e.as_millis())).unwrap_or_default();
    if how.unsynced_names {
        opt.push_str("--unsynced-names ");
    }
    let mut parts = Vec::new();
    for d in dirs {
        let q = quote(d);
        parts.push(format!(
            "mkdir -p {q} && {{ grep -q \" $(readlink -f {q}) fuse\" /proc/mounts || {{ setsid nohup {BIN} {opt}{q} >>{LOG} 2>&1 </dev/null & }}; }}"
        ));
        parts.push(format!(
            "i=0; until grep -q \" $(readlink -f {q}) fuse\" /proc/mounts; do i=$((i+1)); [ $i -gt 200 ] && {{ echo \"{d} not mounted after 10 s:\"; tail -3 {LOG}; exit 1; }}; sleep 0.05; done"
        ));
    }
    Cmd::script(&parts.join("; ")).sudo()
}

/// The power loss: the page cache killed with its unsynced data, every
/// mount of it taken away (each directory then holds what was synced), and
/// the names no directory fsync made durable undone (`--unsynced-names`).
pub fn lose() -> Cmd {
    Cmd::script(&format!(
        "pkill -9 -f {} ; for m in $(awk '$1==\"faultline-pagecache\"{{print $2}}' /proc/mounts); do umount -l \"$m\"; {BIN} --revert \"$m\" 2>>{LOG} | tee -a {LOG}; done; true",
        quote(PATTERN)
    ))
    .sudo()
}

/// What [`lose`] printed it undid on a node: one line a name, `made
/// member/wal/0.tmp: gone` (at most `cap`, then how many more).
pub fn undone(out: &str, cap: usize) -> Vec<String> {
    let all: Vec<&str> = out.lines().filter_map(|l| l.strip_prefix("  ")).collect();
    let mut kept: Vec<String> = all.iter().take(cap).map(|s| s.to_string()).collect();
    if all.len() > cap {
        kept.push(format!("and {} more", all.len() - cap));
    }
    kept
}

/// Unmounts every page cache, leaving its process to serve the files still
/// open and to exit after (a run's end; the system is stopped next).
pub fn unmount() -> Cmd {
    Cmd::script("for m in $(awk '$1==\"faultline-pagecache\"{print $2}' /proc/mounts); do umount -l \"$m\"; done; true").sudo()
}

/// How many page cache mounts the node has (what a killed run may leave).
pub fn count_mounts() -> Cmd {
    Cmd::script("awk '$1==\"faultline-pagecache\"' /proc/mounts | wc -l")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_commands_name_the_directories_quoted_and_only_faultline_s_mounts() {
        let m = mount(&["/var/lib/my db".into()], &PageCache::default()).text().to_string();
        assert!(m.contains("'/var/lib/my db'"), "{m}");
        assert!(m.contains("setsid nohup /opt/faultline/bin/faultline-pagecache '/var/lib/my db'"), "{m}");
        let m = mount(&["/d".into()], &PageCache { expire: Some(std::time::Duration::from_secs(3)), unsynced_names: true }).text().to_string();
        assert!(m.contains("faultline-pagecache --expire-ms 3000 --unsynced-names /d"), "{m}");
        let l = lose().text().to_string();
        assert!(l.contains("pkill -9 -f '^/opt/faultline/bin/faultline-pagecache '") && l.contains("umount -l"), "{l}");
        assert!(l.contains("faultline-pagecache --revert \"$m\""), "the names not durable are undone: {l}");
        let out = "/d: 3 names undone\n  made a: gone\n  removed b: back\n  renamed c to d: back\n";
        assert_eq!(undone(out, 2), ["made a: gone", "removed b: back", "and 1 more"]);
        assert!(undone("/d: 0 names undone\n", 2).is_empty());
        assert!(unmount().text().contains("$1==\"faultline-pagecache\""));
        // each renders as valid shell
        for c in [mount(&["/d".into()], &PageCache::default()), lose(), unmount(), count_mounts(), fuse_device()] {
            let out = std::process::Command::new("sh").arg("-n").arg("-c").arg(c.text()).output().unwrap();
            assert!(out.status.success(), "{}: {}", c.text(), String::from_utf8_lossy(&out.stderr));
        }
    }
}
