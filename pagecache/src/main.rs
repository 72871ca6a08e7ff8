//! `faultline-pagecache BACKING MOUNTPOINT`: serves BACKING at MOUNTPOINT,
//! holding written data until fsync, until unmounted or killed (kill -9 is a
//! power loss of what was not synced). Exit 2 on bad arguments, 1 when the
//! mount fails.

use std::path::PathBuf;

fn main() {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [backing, mountpoint] = args.as_slice() else {
        eprintln!("usage: faultline-pagecache BACKING MOUNTPOINT");
        std::process::exit(2);
    };
    for d in [backing, mountpoint] {
        if let Err(e) = std::fs::create_dir_all(d) {
            eprintln!("faultline-pagecache: {}: {e}", d.display());
            std::process::exit(1);
        }
    }
    if let Err(e) = pagecache::serve(backing, mountpoint) {
        eprintln!("faultline-pagecache: mounting {} at {}: {e}", backing.display(), mountpoint.display());
        std::process::exit(1);
    }
}
