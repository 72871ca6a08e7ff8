//! `faultline-pagecache [--expire-ms N | --no-writeback] [--unsynced-names] DIR`:
//! serves DIR over itself (the directory is opened before the mount covers
//! it, and read through that handle), or `... BACKING MOUNTPOINT`. Written
//! data is held until fsync, or until it has been dirty for 30 s
//! (`--expire-ms`), when the writeback, every 5 s as Linux's (a quarter of
//! a shorter expiry), writes it to the directory beneath without syncing
//! it; `--no-writeback`: only fsync makes data durable. `--unsynced-names`:
//! names too wait, for an fsync of their directory or the journal's commit
//! (every 5 s, or the shorter expiry; never with `--no-writeback`). The
//! process serves until unmounted or killed (kill -9 is a power loss of
//! what was not written back; `umount -l DIR` then leaves DIR with what
//! was, and `faultline-pagecache --revert DIR` undoes the names that were
//! not durable). Exit 2 on bad arguments, 1 when the mount fails.

use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::time::Duration;

fn fail(what: &str, e: std::io::Error) -> ! {
    eprintln!("faultline-pagecache: {what}: {e}");
    std::process::exit(1);
}

fn usage() -> ! {
    eprintln!("usage: faultline-pagecache [--expire-ms N | --no-writeback] [--unsynced-names] DIR | faultline-pagecache [...] BACKING MOUNTPOINT | faultline-pagecache --revert DIR");
    std::process::exit(2);
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut opts = pagecache::Options { writeback: Some((pagecache::WRITEBACK_EVERY, pagecache::EXPIRE)), unsynced_names: false };
    if args.first().is_some_and(|a| a == "--revert") {
        let [_, dir] = args.as_slice() else { usage() };
        match pagecache::names::revert(std::path::Path::new(dir)) {
            Ok(undone) => {
                println!("{dir}: {} names undone", undone.len());
                for u in undone {
                    println!("  {u}");
                }
            }
            Err(e) => fail(&format!("undoing the names in {dir}"), e),
        }
        return;
    }
    while args.first().is_some_and(|a| a.starts_with("--")) {
        match args.remove(0).as_str() {
            "--no-writeback" => opts.writeback = None,
            "--unsynced-names" => opts.unsynced_names = true,
            "--expire-ms" if !args.is_empty() => {
                let ms: u64 = args.remove(0).parse().unwrap_or_else(|_| usage());
                let expire = Duration::from_millis(ms);
                // woken often enough that nothing stays much past its expiry
                opts.writeback = Some((pagecache::WRITEBACK_EVERY.min(expire / 4).max(Duration::from_millis(50)), expire));
            }
            _ => usage(),
        }
    }
    let args: Vec<PathBuf> = args.into_iter().map(PathBuf::from).collect();
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
        _ => usage(),
    };
    if let Err(e) = pagecache::serve(&backing, &mountpoint, opts) {
        fail(&format!("serving {} at {}", backing.display(), mountpoint.display()), e);
    }
}
