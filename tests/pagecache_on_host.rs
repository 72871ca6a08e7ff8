//! faultline's page cache mounted on this host (root, /dev/fuse): what is
//! read through it is what was written; after a power loss (the process
//! serving it gone) the backing directory holds exactly what was fsynced,
//! and names made are kept.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

fn scratch() -> (PathBuf, PathBuf) {
    let top = std::env::temp_dir().join(format!("faultline-pagecache-host-{}", std::process::id()));
    let _ = fs::remove_dir_all(&top);
    let (backing, mnt) = (top.join("backing"), top.join("mnt"));
    fs::create_dir_all(&backing).unwrap();
    fs::create_dir_all(&mnt).unwrap();
    (backing, mnt)
}

#[test]
fn a_power_loss_keeps_only_what_was_synced() {
    let (backing, mnt) = scratch();
    let session = pagecache::spawn(&backing, &mnt).expect("mounted (needs root and /dev/fuse)");
    let page = vec![b'x'; 10_000];
    // never synced
    fs::write(mnt.join("unsynced"), &page).unwrap();
    // synced whole
    let mut f = File::create(mnt.join("synced")).unwrap();
    f.write_all(&page).unwrap();
    f.sync_all().unwrap();
    // data-synced, then written again past the synced part
    let f = OpenOptions::new().read(true).write(true).create(true).truncate(true).open(mnt.join("half")).unwrap();
    f.write_all_at(b"kept", 0).unwrap();
    f.sync_data().unwrap();
    f.write_all_at(b"lost", 4).unwrap();
    f.write_all_at(b"LOST", 0).unwrap();
    // a name made and renamed: kept, its data not
    fs::create_dir(mnt.join("dir")).unwrap();
    fs::write(mnt.join("dir/tmp"), b"data").unwrap();
    fs::rename(mnt.join("dir/tmp"), mnt.join("dir/final")).unwrap();
    // a synced file truncated without a sync
    fs::write(mnt.join("cut"), b"0123456789").unwrap();
    File::open(mnt.join("cut")).unwrap().sync_all().unwrap();
    OpenOptions::new().write(true).open(mnt.join("cut")).unwrap().set_len(3).unwrap();

    // before the loss every write reads back
    assert_eq!(fs::read(mnt.join("unsynced")).unwrap(), page);
    assert_eq!(fs::read(mnt.join("half")).unwrap(), b"LOSTlost");
    assert_eq!(fs::read(mnt.join("dir/final")).unwrap(), b"data");
    assert_eq!(fs::read(mnt.join("cut")).unwrap(), b"012");
    assert_eq!(fs::metadata(mnt.join("unsynced")).unwrap().len(), 10_000);
    drop(f);

    drop(session); // the power loss
    assert_eq!(fs::metadata(backing.join("unsynced")).unwrap().len(), 0, "unsynced data is gone, the name is not");
    assert_eq!(fs::read(backing.join("synced")).unwrap(), page);
    assert_eq!(fs::read(backing.join("half")).unwrap(), b"kept");
    assert_eq!(fs::read(backing.join("dir/final")).unwrap(), b"");
    assert!(!backing.join("dir/tmp").exists());
    assert_eq!(fs::read(backing.join("cut")).unwrap(), b"0123456789", "the truncate was not synced");

    // mounted again, the files read as the backing directory holds them
    let again = pagecache::spawn(&backing, &mnt).unwrap();
    assert_eq!(fs::read(mnt.join("half")).unwrap(), b"kept");
    assert_eq!(fs::read(mnt.join("synced")).unwrap(), page);
    fs::remove_file(mnt.join("synced")).unwrap();
    assert!(!backing.join("synced").exists());
    drop(again);
    let _ = fs::remove_dir_all(backing.parent().unwrap());
}
