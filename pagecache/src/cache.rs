//! One file's unsynced state: the pages written since its last fsync and
//! its size if a write or truncate changed it, over the backing file's
//! synced contents. What a power loss drops is exactly this.

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

/// The page size the cache works in (a write dirties whole pages, as the
/// kernel's page cache does).
pub const PAGE: u64 = 4096;

/// A file's writes not yet synced to its backing file.
#[derive(Debug, Default)]
pub struct Dirty {
    /// Written pages by number, each PAGE bytes (beyond `size`: zeros).
    pages: BTreeMap<u64, Box<[u8]>>,
    /// The file's size as the writer sees it, when it differs from the
    /// backing file's.
    size: Option<u64>,
    /// The smallest size the file had since its last sync, when below the
    /// backing file's: backing bytes from here on read as zeros.
    floor: Option<u64>,
    /// When it became dirty (the writeback writes what is old enough).
    since: Option<std::time::Instant>,
}

impl Dirty {
    /// Whether anything is unsynced.
    pub fn is_clean(&self) -> bool {
        self.pages.is_empty() && self.size.is_none()
    }

    /// The size a reader sees, given the backing file's.
    pub fn size(&self, backing: u64) -> u64 {
        self.size.unwrap_or(backing)
    }

    /// Bytes unsynced (whole pages).
    pub fn bytes(&self) -> u64 {
        self.pages.len() as u64 * PAGE
    }

    /// Page `n` as a reader sees it: dirty, or the backing file's (zeros
    /// past its end or past the size).
    fn page(&self, file: &File, n: u64, size: u64) -> io::Result<Box<[u8]>> {
        if let Some(p) = self.pages.get(&n) {
            return Ok(p.clone());
        }
        let mut buf = vec![0u8; PAGE as usize].into_boxed_slice();
        let start = n * PAGE;
        let limit = self.floor.map_or(size, |f| f.min(size));
        if start < limit {
            let want = (limit - start).min(PAGE) as usize;
            let mut got = 0;
            while got < want {
                match file.read_at(&mut buf[got..want], start + got as u64)? {
                    0 => break,
                    k => got += k,
                }
            }
        }
        Ok(buf)
    }

    /// Reads up to `len` bytes at `off` through the cache.
    pub fn read(&self, file: &File, backing: u64, off: u64, len: usize) -> io::Result<Vec<u8>> {
        let size = self.size(backing);
        let end = size.min(off.saturating_add(len as u64));
        let mut out = Vec::with_capacity(end.saturating_sub(off) as usize);
        let mut at = off;
        while at < end {
            let (n, inner) = (at / PAGE, (at % PAGE) as usize);
            let take = ((PAGE as usize - inner) as u64).min(end - at) as usize;
            out.extend_from_slice(&self.page(file, n, size)?[inner..inner + take]);
            at += take as u64;
        }
        Ok(out)
    }

    /// Writes `data` at `off` into the cache only.
    pub fn write(&mut self, file: &File, backing: u64, off: u64, data: &[u8]) -> io::Result<()> {
        self.touched();
        let size = self.size(backing);
        let mut done = 0;
        while done < data.len() {
            let at = off + done as u64;
            let (n, inner) = (at / PAGE, (at % PAGE) as usize);
            let take = (PAGE as usize - inner).min(data.len() - done);
            let mut page = self.page(file, n, size)?;
            page[inner..inner + take].copy_from_slice(&data[done..done + take]);
            self.pages.insert(n, page);
            done += take;
        }
        let end = off + data.len() as u64;
        if end > size {
            self.size = Some(end);
        }
        Ok(())
    }

    /// Sets the size (a truncate or an extension), in the cache only.
    pub fn truncate(&mut self, backing: u64, new: u64) {
        self.touched();
        if new < self.size(backing) {
            self.pages.retain(|&n, _| n * PAGE < new);
            // what is past the end reads as zeros if the file grows again
            if let Some(p) = self.pages.get_mut(&(new / PAGE)) {
                p[(new % PAGE) as usize..].fill(0);
            }
            if new < backing {
                self.floor = Some(self.floor.map_or(new, |f| f.min(new)));
            }
        }
        self.size = Some(new);
    }

    /// When it became dirty (`None`: clean).
    pub fn dirty_since(&self) -> Option<std::time::Instant> {
        self.since
    }

    /// Notes the first change since it was clean.
    fn touched(&mut self) {
        self.since.get_or_insert_with(std::time::Instant::now);
    }

    /// Writes everything to the backing file and syncs it (data only for
    /// `fdatasync`); the cache is clean after.
    pub fn sync(&mut self, file: &File, backing: u64, data_only: bool) -> io::Result<()> {
        self.write_back(file, backing)?;
        if data_only {
            file.sync_data()
        } else {
            file.sync_all()
        }
    }

    /// Writes everything to the backing file without syncing it (the
    /// kernel's writeback: the backing file is on a disk that a power loss
    /// of this process does not touch); the cache is clean after.
    pub fn write_back(&mut self, file: &File, backing: u64) -> io::Result<()> {
        let size = self.size(backing);
        if let Some(floor) = self.floor {
            file.set_len(floor)?;
        }
        for (&n, page) in &self.pages {
            let start = n * PAGE;
            if start >= size {
                continue;
            }
            let len = (size - start).min(PAGE) as usize;
            file.write_all_at(&page[..len], start)?;
        }
        if size != backing || self.floor.is_some() {
            file.set_len(size)?;
        }
        *self = Dirty::default();
        Ok(())
    }
}

#[cfg(test)]
#[path = "cache_tests.rs"]
mod tests;
