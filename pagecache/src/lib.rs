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
pub use fs::PageCacheFs;

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

/// Serves `backing` at `mountpoint` until it is unmounted (the process's
/// whole life: `faultline-pagecache BACKING MOUNTPOINT`).
pub fn serve(backing: &Path, mountpoint: &Path) -> std::io::Result<()> {
    fuser::mount(PageCacheFs::new(backing), mountpoint, &config())
}
