//! The filesystem: every operation passes to a backing directory, except
//! file data, which stays in this process's [`Dirty`] pages until the file
//! is fsynced. Names (create, rename, unlink, mkdir) reach the backing
//! directory at once. A power loss is this process dying: what it held is
//! gone, the backing directory keeps what was synced.

use crate::cache::Dirty;
use fuser::{
    Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo, OpenFlags, RenameFlags, ReplyAttr, ReplyCreate, ReplyData,
    ReplyDirectory, ReplyEmpty, ReplyEntry, ReplyOpen, ReplyStatfs, ReplyWrite, Request, WriteFlags,
};
use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::{File, Metadata, OpenOptions};
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, UNIX_EPOCH};

/// How long the kernel may keep a name or attributes (every change comes
/// through this process, so they cannot go stale behind its back).
const TTL: Duration = Duration::from_secs(1);

/// The FUSE filesystem over a backing directory.
pub struct PageCacheFs {
    backing: PathBuf,
    state: std::sync::Arc<Mutex<State>>,
}

/// The kernel's writeback for a [`PageCacheFs`]: what has been dirty
/// longer than an expiry is written to the backing files (not synced),
/// as Linux writes back pages dirty for `dirty_expire_centisecs`.
#[derive(Clone)]
pub struct Writeback {
    backing: PathBuf,
    state: std::sync::Arc<Mutex<State>>,
}

impl Writeback {
    /// Writes back every file dirty for `expire` or longer; how many.
    pub fn run(&self, expire: Duration) -> usize {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let State { paths, open, dirty, .. } = &mut *st;
        let old: Vec<u64> = dirty.iter().filter(|(_, d)| d.dirty_since().is_some_and(|t| t.elapsed() >= expire)).map(|(i, _)| *i).collect();
        let mut done = 0;
        for ino in old {
            // an open handle of the file, else the file opened by its path
            let opened = match open.values().find(|(i, _)| *i == ino) {
                Some((_, f)) => f.try_clone(),
                None => paths.get(&ino).map_or(Err(io::Error::from(io::ErrorKind::NotFound)), |p| open_backing(&self.backing.join(p))),
            };
            let Some(mut d) = dirty.remove(&ino) else { continue };
            match opened.and_then(|f| f.metadata().and_then(|m| d.write_back(&f, m.len()))) {
                Ok(()) => done += 1,
                Err(_) => {
                    // a file gone (unlinked) keeps its pages until it is
                    dirty.insert(ino, d);
                }
            }
        }
        done
    }
}

#[derive(Default)]
struct State {
    /// Each inode's path, relative to the backing directory.
    paths: HashMap<u64, PathBuf>,
    /// Open files: handle -> (inode, the backing file).
    open: HashMap<u64, (u64, File)>,
    next_fh: u64,
    /// Each inode's unsynced writes.
    dirty: HashMap<u64, Dirty>,
}

fn errno(e: io::Error) -> Errno {
    Errno::from(e)
}

impl PageCacheFs {
    /// A filesystem over `backing` (an existing directory).
    pub fn new(backing: &Path) -> PageCacheFs {
        let mut state = State::default();
        state.paths.insert(1, PathBuf::new());
        PageCacheFs { backing: backing.to_path_buf(), state: std::sync::Arc::new(Mutex::new(state)) }
    }

    /// Its writeback, to run from a thread of its own.
    pub fn writeback(&self) -> Writeback {
        Writeback { backing: self.backing.clone(), state: self.state.clone() }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The backing path of inode `ino`'s child `name` (or of `ino` itself).
    fn real(&self, st: &State, ino: u64, name: Option<&OsStr>) -> Result<PathBuf, Errno> {
        let rel = st.paths.get(&ino).ok_or(Errno::ENOENT)?;
        Ok(match name {
            Some(n) => self.backing.join(rel).join(n),
            None => self.backing.join(rel),
        })
    }

    /// The attributes of `meta` as inode `ino`, with its unsynced size.
    fn attr(st: &State, ino: u64, meta: &Metadata) -> FileAttr {
        let size = st.dirty.get(&ino).map_or(meta.len(), |d| d.size(meta.len()));
        let time = |s: i64, ns: i64| UNIX_EPOCH + Duration::new(s.max(0) as u64, ns as u32);
        let kind = match meta.file_type() {
            t if t.is_dir() => FileType::Directory,
            t if t.is_symlink() => FileType::Symlink,
            _ if meta.mode() & libc::S_IFMT == libc::S_IFIFO => FileType::NamedPipe,
            _ => FileType::RegularFile,
        };
        FileAttr {
            ino: INodeNo(ino),
            size,
            blocks: size.div_ceil(512),
            atime: time(meta.atime(), meta.atime_nsec()),
            mtime: time(meta.mtime(), meta.mtime_nsec()),
            ctime: time(meta.ctime(), meta.ctime_nsec()),
            crtime: time(meta.ctime(), meta.ctime_nsec()),
            kind,
            perm: (meta.mode() & 0o7777) as u16,
            nlink: meta.nlink() as u32,
            uid: meta.uid(),
            gid: meta.gid(),
            rdev: meta.rdev() as u32,
            blksize: 4096,
            flags: 0,
        }
    }

    /// Looks `path` up as the child `rel` and remembers its inode.
    fn entry(&self, st: &mut State, path: &Path) -> Result<FileAttr, Errno> {
        let meta = std::fs::symlink_metadata(path).map_err(errno)?;
        let rel = path.strip_prefix(&self.backing).map_err(|_| Errno::EINVAL)?.to_path_buf();
        let ino = if rel.as_os_str().is_empty() { 1 } else { meta.ino() };
        st.paths.insert(ino, rel);
        Ok(Self::attr(st, ino, &meta))
    }

    /// Gives a new file what the caller asked: its owner and its mode.
    fn own(path: &Path, req: &Request, mode: u32, umask: u32) -> io::Result<()> {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & !umask & 0o7777))?;
        std::os::unix::fs::lchown(path, Some(req.uid()), Some(req.gid()))
    }

    fn handle(st: &mut State, ino: u64, file: File) -> u64 {
        st.next_fh += 1;
        st.open.insert(st.next_fh, (ino, file));
        st.next_fh
    }
}

/// The backing file, for reading and writing whatever the caller's flags
/// (the kernel checked them; O_SYNC and O_DIRECT are this process's to keep).
fn open_backing(path: &Path) -> io::Result<File> {
    OpenOptions::new().read(true).write(true).open(path).or_else(|_| File::open(path))
}

impl Filesystem for PageCacheFs {
    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let mut st = self.state();
        match self.real(&st, parent.0, Some(name)).and_then(|p| self.entry(&mut st, &p)) {
            Ok(a) => reply.entry(&TTL, &a, Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, fh: Option<FileHandle>, reply: ReplyAttr) {
        let st = self.state();
        let meta = match fh.and_then(|h| st.open.get(&h.0)) {
            Some((_, f)) => f.metadata().map_err(errno),
            None => self.real(&st, ino.0, None).and_then(|p| std::fs::symlink_metadata(p).map_err(errno)),
        };
        match meta {
            Ok(m) => reply.attr(&TTL, &Self::attr(&st, ino.0, &m)),
            Err(e) => reply.error(e),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
        size: Option<u64>,
        _atime: Option<fuser::TimeOrNow>,
        _mtime: Option<fuser::TimeOrNow>,
        _ctime: Option<std::time::SystemTime>,
        _fh: Option<FileHandle>,
        _crtime: Option<std::time::SystemTime>,
        _chgtime: Option<std::time::SystemTime>,
        _bkuptime: Option<std::time::SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        let mut st = self.state();
        let done = self.real(&st, ino.0, None).and_then(|p| {
            if let Some(m) = mode {
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(m & 0o7777)).map_err(errno)?;
            }
            if uid.is_some() || gid.is_some() {
                std::os::unix::fs::lchown(&p, uid, gid).map_err(errno)?;
            }
            let meta = std::fs::symlink_metadata(&p).map_err(errno)?;
            if let Some(new) = size {
                // a truncate is data: it waits for the next fsync too
                st.dirty.entry(ino.0).or_default().truncate(meta.len(), new);
            }
            Ok(Self::attr(&st, ino.0, &meta))
        });
        match done {
            Ok(a) => reply.attr(&TTL, &a),
            Err(e) => reply.error(e),
        }
    }

    fn readlink(&self, _req: &Request, ino: INodeNo, reply: ReplyData) {
        let st = self.state();
        match self.real(&st, ino.0, None).and_then(|p| std::fs::read_link(p).map_err(errno)) {
            Ok(t) => reply.data(t.as_os_str().as_encoded_bytes()),
            Err(e) => reply.error(e),
        }
    }

    fn mkdir(&self, req: &Request, parent: INodeNo, name: &OsStr, mode: u32, umask: u32, reply: ReplyEntry) {
        let mut st = self.state();
        let made = self.real(&st, parent.0, Some(name)).and_then(|p| {
            std::fs::create_dir(&p).and_then(|()| Self::own(&p, req, mode, umask)).map_err(errno)?;
            self.entry(&mut st, &p)
        });
        match made {
            Ok(a) => reply.entry(&TTL, &a, Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn unlink(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        let mut st = self.state();
        let gone = self.real(&st, parent.0, Some(name)).and_then(|p| {
            let meta = std::fs::symlink_metadata(&p).map_err(errno)?;
            std::fs::remove_file(&p).map_err(errno)?;
            if meta.nlink() <= 1 && !st.open.values().any(|(i, _)| *i == meta.ino()) {
                // the inode's number may be given to a new file
                st.dirty.remove(&meta.ino());
                st.paths.remove(&meta.ino());
            }
            Ok(())
        });
        match gone {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn rmdir(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        let st = self.state();
        match self.real(&st, parent.0, Some(name)).and_then(|p| std::fs::remove_dir(p).map_err(errno)) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn symlink(&self, req: &Request, parent: INodeNo, link_name: &OsStr, target: &Path, reply: ReplyEntry) {
        let mut st = self.state();
        let made = self.real(&st, parent.0, Some(link_name)).and_then(|p| {
            std::os::unix::fs::symlink(target, &p).and_then(|()| std::os::unix::fs::lchown(&p, Some(req.uid()), Some(req.gid()))).map_err(errno)?;
            self.entry(&mut st, &p)
        });
        match made {
            Ok(a) => reply.entry(&TTL, &a, Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn rename(&self, _req: &Request, parent: INodeNo, name: &OsStr, newparent: INodeNo, newname: &OsStr, flags: RenameFlags, reply: ReplyEmpty) {
        let mut st = self.state();
        let moved = (|| {
            let (from, to) = (self.real(&st, parent.0, Some(name))?, self.real(&st, newparent.0, Some(newname))?);
            crate::sys::rename(&from, &to, flags.bits()).map_err(errno)?;
            let (old, new) = (from.strip_prefix(&self.backing).unwrap_or(&from).to_path_buf(), to.strip_prefix(&self.backing).unwrap_or(&to).to_path_buf());
            for rel in st.paths.values_mut() {
                if let Ok(rest) = rel.strip_prefix(&old) {
                    *rel = if rest.as_os_str().is_empty() { new.clone() } else { new.join(rest) };
                }
            }
            Ok(())
        })();
        match moved {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn link(&self, _req: &Request, ino: INodeNo, newparent: INodeNo, newname: &OsStr, reply: ReplyEntry) {
        let st = self.state();
        let made = (|| {
            let (from, to) = (self.real(&st, ino.0, None)?, self.real(&st, newparent.0, Some(newname))?);
            std::fs::hard_link(&from, &to).map_err(errno)?;
            let meta = std::fs::symlink_metadata(&to).map_err(errno)?;
            Ok(Self::attr(&st, ino.0, &meta))
        })();
        match made {
            Ok(a) => reply.entry(&TTL, &a, Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn open(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        let mut st = self.state();
        match self.real(&st, ino.0, None).and_then(|p| open_backing(&p).map_err(errno)) {
            Ok(f) => reply.opened(FileHandle(Self::handle(&mut st, ino.0, f)), FopenFlags::empty()),
            Err(e) => reply.error(e),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn read(&self, _req: &Request, ino: INodeNo, fh: FileHandle, offset: u64, size: u32, _f: OpenFlags, _l: Option<fuser::LockOwner>, reply: ReplyData) {
        let st = self.state();
        let Some((_, file)) = st.open.get(&fh.0) else { return reply.error(Errno::EBADF) };
        let clean = Dirty::default();
        let dirty = st.dirty.get(&ino.0).unwrap_or(&clean);
        match file.metadata().and_then(|m| dirty.read(file, m.len(), offset, size as usize)) {
            Ok(data) => reply.data(&data),
            Err(e) => reply.error(errno(e)),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn write(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        data: &[u8],
        _w: WriteFlags,
        _f: OpenFlags,
        _l: Option<fuser::LockOwner>,
        reply: ReplyWrite,
    ) {
        let mut st = self.state();
        let State { open, dirty, .. } = &mut *st;
        let Some((_, file)) = open.get(&fh.0) else { return reply.error(Errno::EBADF) };
        match file.metadata().and_then(|m| dirty.entry(ino.0).or_default().write(file, m.len(), offset, data)) {
            Ok(()) => reply.written(data.len() as u32),
            Err(e) => reply.error(errno(e)),
        }
    }

    fn release(&self, _req: &Request, _ino: INodeNo, fh: FileHandle, _flags: OpenFlags, _l: Option<fuser::LockOwner>, _flush: bool, reply: ReplyEmpty) {
        // closing a file syncs nothing
        self.state().open.remove(&fh.0);
        reply.ok();
    }

    fn fsync(&self, _req: &Request, ino: INodeNo, fh: FileHandle, datasync: bool, reply: ReplyEmpty) {
        let mut st = self.state();
        let State { open, dirty, .. } = &mut *st;
        let Some((_, file)) = open.get(&fh.0) else { return reply.error(Errno::EBADF) };
        let mut d = dirty.remove(&ino.0).unwrap_or_default();
        match file.metadata().and_then(|m| d.sync(file, m.len(), datasync)) {
            Ok(()) => reply.ok(),
            Err(e) => {
                dirty.insert(ino.0, d);
                reply.error(errno(e))
            }
        }
    }

    fn readdir(&self, _req: &Request, ino: INodeNo, _fh: FileHandle, offset: u64, mut reply: ReplyDirectory) {
        let mut st = self.state();
        let listed = self.real(&st, ino.0, None).and_then(|p| {
            let mut names: Vec<(u64, FileType, std::ffi::OsString)> = vec![(ino.0, FileType::Directory, ".".into()), (ino.0, FileType::Directory, "..".into())];
            for e in std::fs::read_dir(&p).map_err(errno)? {
                let e = e.map_err(errno)?;
                let a = self.entry(&mut st, &e.path())?;
                names.push((a.ino.0, a.kind, e.file_name()));
            }
            Ok(names)
        });
        match listed {
            Ok(names) => {
                for (i, (n, kind, name)) in names.into_iter().enumerate().skip(offset as usize) {
                    if reply.add(INodeNo(n), i as u64 + 1, kind, name) {
                        break;
                    }
                }
                reply.ok()
            }
            Err(e) => reply.error(e),
        }
    }

    fn fsyncdir(&self, _req: &Request, _ino: INodeNo, _fh: FileHandle, _datasync: bool, reply: ReplyEmpty) {
        // names reach the backing directory at once
        reply.ok();
    }

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        match crate::sys::statvfs(&self.backing) {
            Ok(s) => reply.statfs(s.blocks, s.bfree, s.bavail, s.files, s.ffree, s.bsize, s.namelen, s.frsize),
            Err(e) => reply.error(errno(e)),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn create(&self, req: &Request, parent: INodeNo, name: &OsStr, mode: u32, umask: u32, flags: i32, reply: ReplyCreate) {
        let mut st = self.state();
        let made = (|| {
            let p = self.real(&st, parent.0, Some(name))?;
            let excl = if flags & libc::O_EXCL != 0 { libc::O_EXCL } else { 0 };
            let f = OpenOptions::new().read(true).write(true).create(true).custom_flags(excl).mode(mode & !umask).open(&p).map_err(errno)?;
            Self::own(&p, req, mode, umask).map_err(errno)?;
            let a = self.entry(&mut st, &p)?;
            Ok((a, Self::handle(&mut st, a.ino.0, f)))
        })();
        match made {
            Ok((a, fh)) => reply.created(&TTL, &a, Generation(0), FileHandle(fh), FopenFlags::empty()),
            Err(e) => reply.error(e),
        }
    }
}
