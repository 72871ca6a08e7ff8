//! The operations on names, on the backing directory: made, removed and
//! renamed at once, and, with `--unsynced-names`, each recorded in the
//! [`Names`] journal (a removed name moved to its trash) so that a power
//! loss undoes what its directory's fsync had not made durable.

use crate::fs::{errno, PageCacheFs, State};
use crate::names::{Change, Names, HIDDEN};
use fuser::{Errno, FileAttr, Request};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

impl PageCacheFs {
    /// The backing path's place relative to the backing directory.
    fn rel(&self, p: &Path) -> PathBuf {
        p.strip_prefix(&self.backing).unwrap_or(p).to_path_buf()
    }

    /// Records `change` when names are journalled.
    fn journal(names: &mut Option<Names>, dir: u64, change: Change) -> Result<(), Errno> {
        names.as_mut().map_or(Ok(()), |n| n.record(dir, change).map_err(errno))
    }

    /// The name `name` in `parent`, refused when it is the hidden directory.
    pub(crate) fn visible(&self, st: &State, parent: u64, name: &OsStr) -> Result<PathBuf, Errno> {
        if parent == 1 && name == HIDDEN {
            return Err(Errno::ENOENT);
        }
        self.real(st, parent, Some(name))
    }

    /// A new name `name` in `parent`, made by `make`; its attributes.
    pub(crate) fn make(&self, st: &mut State, parent: u64, name: &OsStr, make: impl FnOnce(&Path) -> std::io::Result<()>) -> Result<FileAttr, Errno> {
        let p = self.visible(st, parent, name)?;
        make(&p).map_err(errno)?;
        Self::journal(&mut st.names, parent, Change::New(self.rel(&p)))?;
        self.entry(st, &p)
    }

    /// A file made with `open` (create(2)), journalled as any new name.
    pub(crate) fn made_file(&self, st: &mut State, parent: u64, p: &Path) -> Result<(), Errno> {
        Self::journal(&mut st.names, parent, Change::New(self.rel(p)))
    }

    /// Removes `name` from `parent` (a file, or an empty directory).
    pub(crate) fn remove(&self, st: &mut State, parent: u64, name: &OsStr, dir: bool) -> Result<(), Errno> {
        let p = self.visible(st, parent, name)?;
        let meta = std::fs::symlink_metadata(&p).map_err(errno)?;
        match st.names.as_mut() {
            None if dir => std::fs::remove_dir(&p).map_err(errno)?,
            None => std::fs::remove_file(&p).map_err(errno)?,
            Some(names) => {
                if dir && std::fs::read_dir(&p).map_err(errno)?.next().is_some() {
                    return Err(Errno::ENOTEMPTY);
                }
                let (t, trash) = names.trash();
                std::fs::rename(&p, &trash).map_err(errno)?;
                names.record(parent, Change::Gone(self.rel(&p), t)).map_err(errno)?;
            }
        }
        if !dir {
            use std::os::unix::fs::MetadataExt;
            if meta.nlink() <= 1 && !st.open.values().any(|(i, _)| *i == meta.ino()) {
                // the inode's number may be given to a new file
                st.dirty.remove(&meta.ino());
                st.paths.remove(&meta.ino());
            }
        }
        Ok(())
    }

    /// Renames `name` in `parent` to `newname` in `newparent` (renameat2's `flags`).
    pub(crate) fn rename_name(&self, st: &mut State, parent: u64, name: &OsStr, newparent: u64, newname: &OsStr, flags: u32) -> Result<(), Errno> {
        let (from, to) = (self.visible(st, parent, name)?, self.visible(st, newparent, newname)?);
        let (old, new) = (self.rel(&from), self.rel(&to));
        if let Some(names) = st.names.as_mut() {
            let exchange = flags & libc::RENAME_EXCHANGE != 0;
            let replaced = std::fs::symlink_metadata(&to).ok().filter(|_| !exchange && flags & libc::RENAME_NOREPLACE == 0);
            if let Some(was) = replaced {
                // what rename(2) would refuse, refused before the name is moved
                let is_dir = std::fs::symlink_metadata(&from).map_err(errno)?.is_dir();
                if was.is_dir() && !is_dir {
                    return Err(Errno::EISDIR);
                }
                if !was.is_dir() && is_dir {
                    return Err(Errno::ENOTDIR);
                }
                if was.is_dir() && std::fs::read_dir(&to).map_err(errno)?.next().is_some() {
                    return Err(Errno::ENOTEMPTY);
                }
                // the name replaced: to the trash, so that a loss brings it back
                let (t, trash) = names.trash();
                std::fs::rename(&to, &trash).map_err(errno)?;
                names.record(newparent, Change::Gone(new.clone(), t)).map_err(errno)?;
            }
            crate::sys::rename(&from, &to, flags).map_err(errno)?;
            let change = if exchange { Change::Exchanged(old.clone(), new.clone()) } else { Change::Moved(old.clone(), new.clone()) };
            names.record(newparent, change).map_err(errno)?;
        } else {
            crate::sys::rename(&from, &to, flags).map_err(errno)?;
        }
        for rel in st.paths.values_mut() {
            if let Ok(rest) = rel.strip_prefix(&old) {
                *rel = if rest.as_os_str().is_empty() { new.clone() } else { new.join(rest) };
            }
        }
        Ok(())
    }

    /// Gives a new name what the caller asked: its owner and its mode.
    pub(crate) fn own(path: &Path, req: &Request, mode: u32, umask: u32) -> std::io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & !umask & 0o7777))?;
        std::os::unix::fs::lchown(path, Some(req.uid()), Some(req.gid()))
    }
}
