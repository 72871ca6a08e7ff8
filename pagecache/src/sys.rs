//! The system calls std has no wrapper for.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

fn c(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

/// rename(2), or renameat2(2) with `flags` (RENAME_NOREPLACE, RENAME_EXCHANGE).
pub fn rename(from: &Path, to: &Path, flags: u32) -> io::Result<()> {
    if flags == 0 {
        return std::fs::rename(from, to);
    }
    let (a, b) = (c(from)?, c(to)?);
    // SAFETY: both are valid NUL-terminated paths for the call's duration
    let r = unsafe { libc::renameat2(libc::AT_FDCWD, a.as_ptr(), libc::AT_FDCWD, b.as_ptr(), flags) };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// mknod(2): a socket, FIFO or device node at `p`.
pub fn mknod(p: &Path, mode: u32, rdev: u32) -> io::Result<()> {
    let path = c(p)?;
    // SAFETY: path is a valid NUL-terminated path for the call's duration
    if unsafe { libc::mknod(path.as_ptr(), mode as libc::mode_t, libc::dev_t::from(rdev)) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// What statvfs(2) says of the filesystem holding `p`.
pub struct Stat {
    /// Blocks in all, free, free to unprivileged users.
    pub blocks: u64,
    /// Free blocks.
    pub bfree: u64,
    /// Free blocks for unprivileged users.
    pub bavail: u64,
    /// Inodes in all.
    pub files: u64,
    /// Free inodes.
    pub ffree: u64,
    /// Block size.
    pub bsize: u32,
    /// Longest name.
    pub namelen: u32,
    /// Fragment size.
    pub frsize: u32,
}

/// statvfs(2) of `p`.
pub fn statvfs(p: &Path) -> io::Result<Stat> {
    let path = c(p)?;
    // SAFETY: a zeroed statvfs is a valid value to be filled in
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: path is NUL-terminated and s is a valid out pointer
    if unsafe { libc::statvfs(path.as_ptr(), &mut s) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(Stat {
        blocks: s.f_blocks,
        bfree: s.f_bfree,
        bavail: s.f_bavail,
        files: s.f_files,
        ffree: s.f_ffree,
        bsize: s.f_bsize as u32,
        namelen: s.f_namemax as u32,
        frsize: s.f_frsize as u32,
    })
}
