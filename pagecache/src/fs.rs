//! The filesystem: every operation passes to a backing directory, except
//! file data, which stays in this process's [`Dirty`] pages until the file
//! is fsynced. Names (create, rename, unlink, mkdir) reach the backing
//! directory at once (`ops.rs`), journalled with `--unsynced-names` so that
//! a loss undoes those their directory's fsync had not made durable. A
//! power loss is this process dying: what it held is gone, the backing
//! directory keeps what was synced.

use crate::cache::Dirty;
use crate::names::{Names, HIDDEN};
use fuser::{
    Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo, OpenFlags, RenameFlags, ReplyAttr, ReplyCreate, ReplyData,
    ReplyDirectory, ReplyEmpty, ReplyEntry, ReplyOpen, ReplyStatfs, ReplyWrite, Request, WriteFlags,
};
use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::{File, Metadata, OpenOptions};
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, UNIX_EPOCH};

/// How long the kernel may keep a name or attributes (every change comes
/// through this process, so they cannot go stale behind its back).
const TTL: Duration = Duration::from_secs(1);

/// The FUSE filesystem over a backing directory.
pub struct PageCacheFs {
    pub(crate) backing: PathBuf,
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
    /// The names' journal, taken at a clean unmount (see [`Names::settle`]).
    pub fn take_names(&self) -> Option<Names> {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).names.take()
    }

    /// The journal's commit: every name made so far is durable (a journal
    /// that cannot be rewritten keeps its names undoable).
    pub fn commit_names(&self) {
        if let Some(n) = self.state.lock().unwrap_or_else(|e| e.into_inner()).names.as_mut() {
            let _ = n.commit();
        }
    }

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

/// What the filesystem holds beside the backing directory.
#[derive(Default)]
pub(crate) struct State {
    /// Each inode's path, relative to the backing directory.
    pub(crate) paths: HashMap<u64, PathBuf>,
    /// Open files: handle -> (inode, the backing file).
    pub(crate) open: HashMap<u64, (u64, File)>,
    next_fh: u64,
    /// Each inode's unsynced writes.
    pub(crate) dirty: HashMap<u64, Dirty>,
    /// The names not yet durable (`--unsynced-names`).
    pub(crate) names: Option<Names>,
}

/// The errno of an I/O error.
pub(crate) fn errno(e: io::Error) -> Errno {
    Errno::from(e)
}

impl PageCacheFs {
    /// A filesystem over `backing` (an existing directory).
    pub fn new(backing: &Path) -> PageCacheFs {
        let mut state = State::default();
        state.paths.insert(1, PathBuf::new());
        PageCacheFs { backing: backing.to_path_buf(), state: std::sync::Arc::new(Mutex::new(state)) }
    }

    /// Journals names until their directory is fsynced (`--unsynced-names`).
    pub fn with_names(self, names: Names) -> PageCacheFs {
        self.state().names = Some(names);
        self
    }

    /// Its writeback, to run from a thread of its own.
    pub fn writeback(&self) -> Writeback {
        Writeback { backing: self.backing.clone(), state: self.state.clone() }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The backing path of inode `ino`'s child `name` (or of `ino` itself).
    pub(crate) fn real(&self, st: &State, ino: u64, name: Option<&OsStr>) -> Result<PathBuf, Errno> {
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
            t if t.is_fifo() => FileType::NamedPipe,
            t if t.is_socket() => FileType::Socket,
            t if t.is_char_device() => FileType::CharDevice,
            t if t.is_block_device() => FileType::BlockDevice,
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
    pub(crate) fn entry(&self, st: &mut State, path: &Path) -> Result<FileAttr, Errno> {
        let meta = std::fs::symlink_metadata(path).map_err(errno)?;
        let rel = path.strip_prefix(&self.backing).map_err(|_| Errno::EINVAL)?.to_path_buf();
        let ino = if rel.as_os_str().is_empty() { 1 } else { meta.ino() };
        st.paths.insert(ino, rel);
        Ok(Self::attr(st, ino, &meta))
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
        match self.visible(&st, parent.0, name).and_then(|p| self.entry(&mut st, &p)) {
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
        let made = self.make(&mut st, parent.0, name, |p| std::fs::create_dir(p).and_then(|()| Self::own(p, req, mode, umask)));
        match made {
            Ok(a) => reply.entry(&TTL, &a, Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn unlink(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        let mut st = self.state();
        match self.remove(&mut st, parent.0, name, false) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn rmdir(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        let mut st = self.state();
        match self.remove(&mut st, parent.0, name, true) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn symlink(&self, req: &Request, parent: INodeNo, link_name: &OsStr, target: &Path, reply: ReplyEntry) {
        let mut st = self.state();
        let made = self.make(&mut st, parent.0, link_name, |p| {
            std::os::unix::fs::symlink(target, p).and_then(|()| std::os::unix::fs::lchown(p, Some(req.uid()), Some(req.gid())))
        });
        match made {
            Ok(a) => reply.entry(&TTL, &a, Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn rename(&self, _req: &Request, parent: INodeNo, name: &OsStr, newparent: INodeNo, newname: &OsStr, flags: RenameFlags, reply: ReplyEmpty) {
        let mut st = self.state();
        match self.rename_name(&mut st, parent.0, name, newparent.0, newname, flags.bits()) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn link(&self, _req: &Request, ino: INodeNo, newparent: INodeNo, newname: &OsStr, reply: ReplyEntry) {
        let mut st = self.state();
        let made = self.real(&st, ino.0, None).and_then(|from| self.make(&mut st, newparent.0, newname, |to| std::fs::hard_link(&from, to))).map(|mut a| {
            // the inode keeps its number (the new name is not a new file)
            a.ino = ino;
            a
        });
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
                if ino.0 == 1 && e.file_name() == HIDDEN {
                    continue;
                }
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

    fn fsyncdir(&self, _req: &Request, ino: INodeNo, _fh: FileHandle, _datasync: bool, reply: ReplyEmpty) {
        // the directory's names are durable from now on
        match self.state().names.as_mut().map_or(Ok(()), |n| n.sync_dir(ino.0)) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(errno(e)),
        }
    }

    fn mknod(&self, req: &Request, parent: INodeNo, name: &OsStr, mode: u32, umask: u32, rdev: u32, reply: ReplyEntry) {
        // sockets bound in a data directory, FIFOs, device nodes
        let mut st = self.state();
        match self.make(&mut st, parent.0, name, |p| crate::sys::mknod(p, mode & !umask, rdev).and_then(|()| Self::own(p, req, mode, umask))) {
            Ok(a) => reply.entry(&TTL, &a, Generation(0)),
            Err(e) => reply.error(e),
        }
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
            let p = self.visible(&st, parent.0, name)?;
            let excl = if flags & libc::O_EXCL != 0 { libc::O_EXCL } else { 0 };
            let existed = std::fs::symlink_metadata(&p).is_ok();
            let f = OpenOptions::new().read(true).write(true).create(true).custom_flags(excl).mode(mode & !umask).open(&p).map_err(errno)?;
            if !existed {
                Self::own(&p, req, mode, umask).map_err(errno)?;
                self.made_file(&mut st, parent.0, &p)?;
            }
            let a = self.entry(&mut st, &p)?;
            Ok((a, Self::handle(&mut st, a.ino.0, f)))
        })();
        match made {
            Ok((a, fh)) => reply.created(&TTL, &a, Generation(0), FileHandle(fh), FopenFlags::empty()),
            Err(e) => reply.error(e),
        }
    }
}
