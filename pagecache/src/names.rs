//! Names not yet durable (`--unsynced-names`): a create, link, mkdir,
//! rename or removal stays undoable until the directory holding it is
//! fsynced, or until the filesystem's journal next commits (ext4 commits
//! what is pending every 5 s), as POSIX allows and ext4 does. A removed name is moved to a
//! hidden trash in the backing directory rather than removed, and every
//! change is written to a journal there, so that a power loss (this
//! process killed) can be undone afterwards by [`revert`], newest first:
//! what was not durable is gone, what was removed is back.
//!
//! A change whose directory was synced is forgotten even when older
//! changes it depends on were not; undoing those then skips what is no
//! longer where it was (a model, not a filesystem's exact journal).

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The hidden directory in the backing directory's root (the journal and
/// the trash), never shown through the mount.
pub const HIDDEN: &str = ".faultline-pagecache";
/// How often ext4 commits its journal (`commit=5`): every name made since
/// the last commit is durable at the next, with no directory fsync.
pub const COMMIT: Duration = Duration::from_secs(5);

/// One change of a name, relative to the backing directory.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// A name made (file, directory, link, node): undone by removing it.
    New(PathBuf),
    /// A name removed, its inode kept in the trash: undone by moving it back.
    Gone(PathBuf, String),
    /// A rename: undone by renaming back.
    Moved(PathBuf, PathBuf),
    /// Two names exchanged: undone by exchanging them again.
    Exchanged(PathBuf, PathBuf),
}

struct Record {
    /// The directory (its inode) whose fsync makes the change durable.
    dir: u64,
    change: Change,
}

/// The changes of names not yet durable, and their journal.
pub struct Names {
    hidden: PathBuf,
    records: Vec<Record>,
    journal: File,
    next_trash: u64,
}

fn hex(p: &Path) -> String {
    p.as_os_str().as_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<PathBuf> {
    let bytes: Option<Vec<u8>> = (0..s.len()).step_by(2).map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok())).collect();
    bytes.filter(|b| !b.is_empty()).map(|b| PathBuf::from(std::ffi::OsString::from_vec(b)))
}

fn line(c: &Change) -> String {
    match c {
        Change::New(p) => format!("N {}\n", hex(p)),
        Change::Gone(p, t) => format!("G {} {t}\n", hex(p)),
        Change::Moved(a, b) => format!("M {} {}\n", hex(a), hex(b)),
        Change::Exchanged(a, b) => format!("X {} {}\n", hex(a), hex(b)),
    }
}

fn parse(l: &str) -> Option<Change> {
    let w: Vec<&str> = l.split(' ').collect();
    match w.as_slice() {
        ["N", p] => Some(Change::New(unhex(p)?)),
        ["G", p, t] if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) => Some(Change::Gone(unhex(p)?, t.to_string())),
        ["M", a, b] => Some(Change::Moved(unhex(a)?, unhex(b)?)),
        ["X", a, b] => Some(Change::Exchanged(unhex(a)?, unhex(b)?)),
        _ => None,
    }
}

impl Change {
    /// Whether the change names `p` or a name above it.
    fn mentions(&self, p: &Path) -> bool {
        let near = |a: &Path| p.starts_with(a);
        match self {
            Change::New(a) | Change::Gone(a, _) => near(a),
            Change::Moved(a, b) | Change::Exchanged(a, b) => near(a) || near(b),
        }
    }
}

impl Names {
    /// Starts a journal in `backing` (after [`revert`] undid any earlier one).
    pub fn open(backing: &Path) -> io::Result<Names> {
        let hidden = backing.join(HIDDEN);
        fs::create_dir_all(hidden.join("trash"))?;
        let journal = OpenOptions::new().create(true).write(true).truncate(true).open(hidden.join("journal"))?;
        Ok(Names { hidden, records: Vec::new(), journal, next_trash: 0 })
    }

    /// Where a name removed now goes: its trash entry's name and path.
    pub fn trash(&mut self) -> (String, PathBuf) {
        self.next_trash += 1;
        let name = self.next_trash.to_string();
        let path = self.hidden.join("trash").join(&name);
        (name, path)
    }

    /// Records `change`, made durable by an fsync of directory `dir`. A
    /// name removed that was made since the last sync or commit (a lock
    /// file, a probe) leaves nothing to undo: both are forgotten.
    pub fn record(&mut self, dir: u64, change: Change) -> io::Result<()> {
        if let Change::Gone(p, t) = &change {
            let last = self.records.iter().rposition(|r| r.change.mentions(p));
            if let Some(i) = last.filter(|i| self.records[*i].change == Change::New(p.clone())) {
                self.records.remove(i);
                remove_any(&self.hidden.join("trash").join(t))?;
                return self.rewrite();
            }
        }
        self.journal.write_all(line(&change).as_bytes())?;
        self.records.push(Record { dir, change });
        Ok(())
    }

    /// How many changes are not durable yet.
    pub fn pending(&self) -> usize {
        self.records.len()
    }

    /// Directory `dir` was fsynced: its changes are durable.
    pub fn sync_dir(&mut self, dir: u64) -> io::Result<()> {
        self.keep(|r| r.dir != dir)
    }

    /// The journal committed: every change so far is durable.
    pub fn commit(&mut self) -> io::Result<()> {
        self.keep(|_| false)
    }

    fn keep(&mut self, keep: impl Fn(&Record) -> bool) -> io::Result<()> {
        if self.records.iter().all(&keep) {
            return Ok(());
        }
        let (kept, done): (Vec<Record>, Vec<Record>) = std::mem::take(&mut self.records).into_iter().partition(|r| keep(r));
        self.records = kept;
        for r in done {
            if let Change::Gone(_, t) = r.change {
                remove_any(&self.hidden.join("trash").join(t))?;
            }
        }
        self.rewrite()
    }

    /// Writes the journal again: exactly what is left to undo.
    fn rewrite(&mut self) -> io::Result<()> {
        let tmp = self.hidden.join("journal.new");
        let text: String = self.records.iter().map(|r| line(&r.change)).collect();
        fs::write(&tmp, text)?;
        fs::rename(&tmp, self.hidden.join("journal"))?;
        self.journal = OpenOptions::new().append(true).open(self.hidden.join("journal"))?;
        Ok(())
    }

    /// A clean unmount: every change is durable, the hidden directory goes.
    pub fn settle(self) -> io::Result<()> {
        // the system's teardown may have removed the whole directory already
        match fs::remove_dir_all(&self.hidden) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            done => done,
        }
    }
}

fn remove_any(p: &Path) -> io::Result<()> {
    match fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(p),
        Ok(_) => fs::remove_file(p),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// After a power loss: undoes, newest first, every change of a name the
/// journal in `backing` holds, and removes the hidden directory. What was
/// undone, one line a change, newest first (a change whose names are no
/// longer where it left them is skipped).
pub fn revert(backing: &Path) -> io::Result<Vec<String>> {
    let hidden = backing.join(HIDDEN);
    let journal = match File::open(hidden.join("journal")) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    // a line cut by the kill is not a change
    let changes: Vec<Change> = io::BufReader::new(journal).lines().map_while(Result::ok).filter_map(|l| parse(&l)).collect();
    let at = |p: &Path| backing.join(p);
    let mut undone = Vec::new();
    for c in changes.iter().rev() {
        let (done, what) = match c {
            Change::New(p) => (remove_any(&at(p)).map(|()| fs::symlink_metadata(at(p)).is_err()), format!("made {}: gone", p.display())),
            Change::Gone(p, t) => (fs::rename(hidden.join("trash").join(t), at(p)).map(|()| true), format!("removed {}: back", p.display())),
            Change::Moved(a, b) => (fs::rename(at(b), at(a)).map(|()| true), format!("renamed {} to {}: back", a.display(), b.display())),
            Change::Exchanged(a, b) => {
                (crate::sys::rename(&at(a), &at(b), libc::RENAME_EXCHANGE).map(|()| true), format!("exchanged {} and {}: back", a.display(), b.display()))
            }
        };
        if done.unwrap_or(false) {
            undone.push(what);
        }
    }
    fs::remove_dir_all(&hidden)?;
    Ok(undone)
}

#[cfg(test)]
#[path = "names_tests.rs"]
mod tests;
