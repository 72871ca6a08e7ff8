//! The cache against a model: two byte vectors, what a reader sees and
//! what survives a power loss, under random writes, truncates, reads,
//! syncs and losses.

use super::{Dirty, PAGE};
use std::fs::{File, OpenOptions};

struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % n.max(1)
    }
}

fn scratch(name: &str) -> (File, std::path::PathBuf) {
    let p = std::env::temp_dir().join(format!("faultline-pagecache-{}-{name}", std::process::id()));
    let f = OpenOptions::new().read(true).write(true).create(true).truncate(true).open(&p).unwrap();
    (f, p)
}

fn len(f: &File) -> u64 {
    f.metadata().unwrap().len()
}

#[test]
fn reads_see_every_write_and_a_loss_keeps_only_what_was_synced() {
    for seed in 1..40u64 {
        let (file, path) = scratch(&format!("model-{seed}"));
        let mut rng = Lcg(seed);
        let (mut seen, mut synced): (Vec<u8>, Vec<u8>) = (Vec::new(), Vec::new());
        let mut dirty = Dirty::default();
        for step in 0..200 {
            let span = 3 * PAGE;
            match rng.below(10) {
                0..=3 => {
                    let off = rng.below(span);
                    let data: Vec<u8> = (0..rng.below(PAGE + 100)).map(|i| (i as u8).wrapping_add(step as u8) | 1).collect();
                    dirty.write(&file, len(&file), off, &data).unwrap();
                    assert!(dirty.dirty_since().is_some());
                    let end = off as usize + data.len();
                    if seen.len() < end {
                        seen.resize(end, 0);
                    }
                    seen[off as usize..end].copy_from_slice(&data);
                }
                4 => {
                    let new = rng.below(span);
                    dirty.truncate(len(&file), new);
                    seen.resize(new as usize, 0);
                }
                5 => {
                    if rng.below(3) == 0 {
                        // the writeback: on the disk, not synced, but a loss of this process keeps it
                        dirty.write_back(&file, len(&file)).unwrap();
                    } else {
                        dirty.sync(&file, len(&file), rng.below(2) == 0).unwrap();
                    }
                    synced = seen.clone();
                    assert!(dirty.is_clean() && dirty.dirty_since().is_none());
                }
                6 => {
                    // a power loss: the unsynced state is gone
                    dirty = Dirty::default();
                    seen = synced.clone();
                }
                _ => {
                    let (off, n) = (rng.below(span + 10), rng.below(2 * PAGE) as usize);
                    let got = dirty.read(&file, len(&file), off, n).unwrap();
                    let want: Vec<u8> = seen.iter().skip(off as usize).take(n).copied().collect();
                    assert_eq!(got, want, "seed {seed} step {step}: read {n} at {off}");
                }
            }
            assert_eq!(dirty.size(len(&file)), seen.len() as u64, "seed {seed} step {step}: size");
            assert_eq!(std::fs::read(&path).unwrap(), synced, "seed {seed} step {step}: the backing file holds what was synced");
        }
        let _ = std::fs::remove_file(&path);
    }
}

#[test]
fn a_truncated_then_regrown_file_reads_zeros_where_it_was_cut() {
    let (file, path) = scratch("regrow");
    std::fs::write(&path, vec![7u8; 3 * PAGE as usize]).unwrap();
    let mut dirty = Dirty::default();
    dirty.truncate(len(&file), 10);
    dirty.truncate(len(&file), 2 * PAGE);
    let got = dirty.read(&file, len(&file), 0, 2 * PAGE as usize).unwrap();
    assert_eq!(&got[..10], &[7u8; 10]);
    assert!(got[10..].iter().all(|&b| b == 0), "nothing of the cut part comes back");
    assert_eq!(dirty.bytes(), 0, "a truncate holds no pages");
    dirty.sync(&file, len(&file), false).unwrap();
    let on_disk = std::fs::read(&path).unwrap();
    assert_eq!(on_disk.len() as u64, 2 * PAGE);
    assert!(on_disk[10..].iter().all(|&b| b == 0));
    let _ = std::fs::remove_file(&path);
}
