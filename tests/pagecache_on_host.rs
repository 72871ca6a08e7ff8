//! faultline's page cache (`faultline-pagecache`, built by `cargo build
//! --release`) mounted over a directory of this host, as on a node (root,
//! /dev/fuse): what is read through it is what was written; after a power
//! loss (the process killed, the mount lazily unmounted) the directory
//! holds exactly what was fsynced, and the names made are kept; with the
//! writeback, what was dirty long enough is kept too.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

fn binary() -> PathBuf {
    let me = std::env::current_exe().unwrap();
    let bin = me.parent().and_then(Path::parent).unwrap().join("faultline-pagecache");
    assert!(bin.exists(), "{} is missing: build it with `cargo build --release`", bin.display());
    bin
}

fn mounted(dir: &Path) -> bool {
    fs::read_to_string("/proc/mounts").unwrap().lines().any(|l| l.split(' ').nth(1) == Some(dir.to_str().unwrap()) && l.contains("fuse"))
}

/// Serves `dir` over itself until killed, with no writeback: only fsync
/// makes data durable.
fn mount(dir: &Path) -> Child {
    mount_with(&["--no-writeback", dir.to_str().unwrap()], dir)
}

/// Runs the page cache with `args` and waits until `dir` is mounted.
fn mount_with(args: &[&str], dir: &Path) -> Child {
    let child = Command::new(binary()).args(args).spawn().unwrap();
    let t0 = Instant::now();
    while !mounted(dir) {
        assert!(t0.elapsed() < Duration::from_secs(10), "{} not mounted after 10 s", dir.display());
        std::thread::sleep(Duration::from_millis(10));
    }
    child
}

/// The power loss: the process killed, the mount taken away.
fn lose(mut child: Child, dir: &Path) {
    child.kill().unwrap();
    child.wait().unwrap();
    let ok = Command::new("umount").arg("-l").arg(dir).status().unwrap();
    assert!(ok.success() && !mounted(dir));
}

#[test]
fn a_power_loss_keeps_only_what_was_synced() {
    let dir = std::env::temp_dir().join(format!("faultline-pagecache-host-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("before"), b"there before the mount").unwrap();
    let served = mount(&dir);
    assert_eq!(fs::read(dir.join("before")).unwrap(), b"there before the mount", "the directory is served over itself");
    let page = vec![b'x'; 10_000];
    // never synced
    fs::write(dir.join("unsynced"), &page).unwrap();
    // synced whole
    let mut synced = File::create(dir.join("synced")).unwrap();
    synced.write_all(&page).unwrap();
    synced.sync_all().unwrap();
    // data-synced, then written again past the synced part
    let half = OpenOptions::new().read(true).write(true).create(true).truncate(true).open(dir.join("half")).unwrap();
    half.write_all_at(b"kept", 0).unwrap();
    half.sync_data().unwrap();
    half.write_all_at(b"lost", 4).unwrap();
    half.write_all_at(b"LOST", 0).unwrap();
    // a name made and renamed: kept, its data not
    fs::create_dir(dir.join("sub")).unwrap();
    fs::write(dir.join("sub/tmp"), b"data").unwrap();
    fs::rename(dir.join("sub/tmp"), dir.join("sub/final")).unwrap();
    // a synced file truncated without a sync
    fs::write(dir.join("cut"), b"0123456789").unwrap();
    File::open(dir.join("cut")).unwrap().sync_all().unwrap();
    OpenOptions::new().write(true).open(dir.join("cut")).unwrap().set_len(3).unwrap();

    // before the loss every write reads back
    assert_eq!(fs::read(dir.join("unsynced")).unwrap(), page);
    assert_eq!(fs::metadata(dir.join("unsynced")).unwrap().len(), 10_000);
    assert_eq!(fs::read(dir.join("half")).unwrap(), b"LOSTlost");
    assert_eq!(fs::read(dir.join("sub/final")).unwrap(), b"data");
    assert_eq!(fs::read(dir.join("cut")).unwrap(), b"012");
    drop((synced, half));

    lose(served, &dir);
    assert_eq!(fs::metadata(dir.join("unsynced")).unwrap().len(), 0, "unsynced data is gone, the name is not");
    assert_eq!(fs::read(dir.join("synced")).unwrap(), page);
    assert_eq!(fs::read(dir.join("half")).unwrap(), b"kept");
    assert_eq!(fs::read(dir.join("sub/final")).unwrap(), b"");
    assert!(!dir.join("sub/tmp").exists());
    assert_eq!(fs::read(dir.join("cut")).unwrap(), b"0123456789", "the truncate was not synced");

    // served again, the files read as the directory holds them
    let again = mount(&dir);
    assert_eq!(fs::read(dir.join("half")).unwrap(), b"kept");
    fs::remove_file(dir.join("synced")).unwrap();
    lose(again, &dir);
    assert!(!dir.join("synced").exists(), "a removal is durable at once");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn the_writeback_writes_what_was_dirty_long_enough_without_a_sync() {
    let top = std::env::temp_dir().join(format!("faultline-pagecache-writeback-{}", std::process::id()));
    let _ = fs::remove_dir_all(&top);
    let (backing, at) = (top.join("backing"), top.join("mnt"));
    fs::create_dir_all(&backing).unwrap();
    fs::create_dir_all(&at).unwrap();
    let served = mount_with(&["--expire-ms", "200", backing.to_str().unwrap(), at.to_str().unwrap()], &at);
    fs::write(at.join("early"), b"written back").unwrap();
    // the backing directory gets the data with no fsync, once it expired
    let t0 = Instant::now();
    while fs::read(backing.join("early")).unwrap_or_default() != b"written back" {
        assert!(t0.elapsed() < Duration::from_secs(10), "not written back within 10 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    lose(served, &at);
    assert_eq!(fs::read(backing.join("early")).unwrap(), b"written back", "what was written back survives the loss");
    let _ = fs::remove_dir_all(&top);
}

#[test]
fn with_unsynced_names_a_loss_undoes_the_names_no_directory_fsync_made_durable() {
    let dir = std::env::temp_dir().join(format!("faultline-pagecache-names-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    for (f, text) in [("old", "old"), ("target", "before")] {
        fs::write(dir.join(f), text).unwrap();
        File::open(dir.join(f)).unwrap().sync_all().unwrap();
    }
    let d = dir.to_str().unwrap();
    let served = mount_with(&["--no-writeback", "--unsynced-names", d], &dir);
    let synced = |p: &Path, text: &str| {
        let mut f = File::create(p).unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f.sync_all().unwrap();
    };
    // a new file synced, its directory not: the name is not durable
    synced(&dir.join("new"), "new");
    // a file removed, a file renamed over another (write, fsync, rename): not durable either
    fs::remove_file(dir.join("old")).unwrap();
    synced(&dir.join("tmp"), "after");
    fs::rename(dir.join("tmp"), dir.join("target")).unwrap();
    // a directory made and fsynced with its file; the root not synced yet
    fs::create_dir(dir.join("sub")).unwrap();
    synced(&dir.join("sub/f"), "f");
    File::open(dir.join("sub")).unwrap().sync_all().unwrap();
    // a socket bound in the directory (mknod) answers through it
    let sock = std::os::unix::net::UnixListener::bind(dir.join("s.sock")).unwrap();
    std::os::unix::net::UnixStream::connect(dir.join("s.sock")).unwrap();
    drop(sock);
    let names: Vec<String> = fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert!(!names.iter().any(|n| n.starts_with(".faultline")), "the journal is hidden: {names:?}");
    assert!(fs::metadata(dir.join(".faultline-pagecache")).is_err(), "the journal cannot be looked up");
    assert_eq!(fs::read_to_string(dir.join("target")).unwrap(), "after");
    lose(served, &dir);
    let out = Command::new(binary()).args(["--revert", d]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(said.lines().next(), Some(format!("{d}: 7 names undone").as_str()), "{said}");
    for line in ["  made s.sock: gone", "  renamed tmp to target: back", "  removed target: back", "  removed old: back", "  made new: gone"] {
        assert!(said.lines().any(|l| l == line), "{line:?} in {said}");
    }
    let mut left: Vec<String> = fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    left.sort();
    assert_eq!(left, ["old", "target"], "only the names there before the mount");
    assert_eq!(fs::read_to_string(dir.join("target")).unwrap(), "before", "the rename over it is undone");

    // the root's fsync makes its names durable; a clean unmount keeps every name
    let served = mount_with(&["--no-writeback", "--unsynced-names", d], &dir);
    synced(&dir.join("durable"), "d");
    File::open(&dir).unwrap().sync_all().unwrap();
    synced(&dir.join("at-unmount"), "u");
    let ok = Command::new("umount").arg(&dir).status().unwrap();
    assert!(ok.success());
    let t0 = Instant::now();
    let mut served = served;
    while served.try_wait().unwrap().is_none() {
        assert!(t0.elapsed() < Duration::from_secs(10), "the page cache did not exit after its unmount");
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut left: Vec<String> = fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    left.sort();
    assert_eq!(left, ["at-unmount", "durable", "old", "target"], "a clean unmount leaves every name and no journal");
    let _ = fs::remove_dir_all(&dir);
}
