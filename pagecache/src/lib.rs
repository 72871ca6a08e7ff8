//! faultline's page cache: a FUSE filesystem that passes everything to a
//! backing directory but holds written file data in its own memory until
//! the file is fsynced (or fdatasynced). Killing the process that serves it
//! is a power loss of exactly the unsynced data, which the `lose-unsynced`
//! fault does on a node. Names (create, rename, unlink, mkdir) are durable
//! at once, as LazyFS models them, or, with `--unsynced-names`, once their
//! directory is fsynced or the journal commits (every 5 s, as ext4's): a
//! loss then undoes the others ([`names`]).

pub mod cache;
mod fs;
pub mod names;
mod ops;
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

/// How a page cache serves its directory.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// The writeback: how often it runs and what age of dirty data it
    /// writes (`None`: never; only fsync makes data durable, and names
    /// wait for their directory's fsync).
    pub writeback: Option<(std::time::Duration, std::time::Duration)>,
    /// Names too wait for their directory's fsync (or the journal's commit).
    pub unsynced_names: bool,
}

/// Serves `backing` at `mountpoint` until it is unmounted (the process's
/// whole life). First undoes what an earlier page cache killed over the
/// same directory had not made durable ([`names::revert`]); at a clean
/// unmount every name is durable.
pub fn serve(backing: &Path, mountpoint: &Path, opts: Options) -> std::io::Result<()> {
    names::revert(backing)?;
    let mut fs = PageCacheFs::new(backing);
    if opts.unsynced_names {
        fs = fs.with_names(names::Names::open(backing)?);
    }
    let handle = fs.writeback();
    if let Some((every, expire)) = opts.writeback {
        let w = fs.writeback();
        std::thread::spawn(move || loop {
            std::thread::sleep(every);
            w.run(expire);
        });
        if opts.unsynced_names {
            // the journal commits on a clock of its own (ext4's commit=5)
            let (w, commit) = (fs.writeback(), names::COMMIT.min(expire));
            std::thread::spawn(move || loop {
                std::thread::sleep(commit);
                w.commit_names();
            });
        }
    }
    fuser::mount(fs, mountpoint, &config())?;
    handle.take_names().map_or(Ok(()), names::Names::settle)
}
