//! faultline's page cache: a FUSE filesystem that passes everything to a
//! backing directory but holds written file data in its own memory until
//! the file is fsynced (or fdatasynced). Killing the process that serves it
//! is a power loss of exactly the unsynced data, which the `lose-unsynced`
//! fault does on a node. Names (create, rename, unlink, mkdir) are durable
//! at once, as LazyFS models them.

pub mod cache;
mod fs;
mod sys;

pub use cache::Dirty;
pub use fs::{PageCacheFs, Writeback};

use fuser::{Config, MountOption, SessionACL};
use std::path::Path;

/// The mount's options: any user's access (the system under test may run
/// as its own user) with the kernel checking permissions.
pub fn config() -> Config {
    let mut c = Config::default();
    c.mount_options = vec![MountOption::FSName("faultline-pagecache".into()), MountOption::DefaultPermissions];
    c.acl = SessionACL::All;
    c
}

/// Linux's defaults: the flusher wakes every 5 s
/// (`dirty_writeback_centisecs`) and writes what has been dirty for 30 s
/// (`dirty_expire_centisecs`).
pub const WRITEBACK_EVERY: std::time::Duration = std::time::Duration::from_secs(5);
/// See [`WRITEBACK_EVERY`].
pub const EXPIRE: std::time::Duration = std::time::Duration::from_secs(30);

/// Serves `backing` at `mountpoint` until it is unmounted (the process's
/// whole life), writing back what has been dirty for `expire` every
/// `every` (`None`: never; only fsync makes data durable).
pub fn serve(backing: &Path, mountpoint: &Path, writeback: Option<(std::time::Duration, std::time::Duration)>) -> std::io::Result<()> {
    let fs = PageCacheFs::new(backing);
    if let Some((every, expire)) = writeback {
        let w = fs.writeback();
        std::thread::spawn(move || loop {
            std::thread::sleep(every);
            w.run(expire);
        });
    }
    fuser::mount(fs, mountpoint, &config())
}
