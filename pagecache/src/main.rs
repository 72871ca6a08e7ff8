//! `faultline-pagecache DIR`: serves DIR over itself (the directory is
//! opened before the mount covers it, and read through that handle), or
//! `faultline-pagecache BACKING MOUNTPOINT`. Written data is held until
//! fsync; the process serves until unmounted or killed (kill -9 is a power
//! loss of what was not synced; `umount -l DIR` then leaves DIR with what
//! was). Exit 2 on bad arguments, 1 when the mount fails.

use std::os::fd::AsRawFd;
use std::path::PathBuf;

fn fail(what: &str, e: std::io::Error) -> ! {
    eprintln!("faultline-pagecache: {what}: {e}");
    std::process::exit(1);
}

fn main() {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let (backing, mountpoint, _dir) = match args.as_slice() {
        [dir] => {
            std::fs::create_dir_all(dir).unwrap_or_else(|e| fail(&dir.display().to_string(), e));
            let handle = std::fs::File::open(dir).unwrap_or_else(|e| fail(&dir.display().to_string(), e));
            (PathBuf::from(format!("/proc/self/fd/{}", handle.as_raw_fd())), dir.clone(), Some(handle))
        }
        [backing, mountpoint] => {
            for d in [backing, mountpoint] {
                std::fs::create_dir_all(d).unwrap_or_else(|e| fail(&d.display().to_string(), e));
            }
            (backing.clone(), mountpoint.clone(), None)
        }
        _ => {
            eprintln!("usage: faultline-pagecache DIR | faultline-pagecache BACKING MOUNTPOINT");
            std::process::exit(2);
        }
    };
    if let Err(e) = pagecache::serve(&backing, &mountpoint) {
        fail(&format!("mounting {} at {}", backing.display(), mountpoint.display()), e);
    }
}
