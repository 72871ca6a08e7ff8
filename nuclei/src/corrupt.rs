//! File corruption on a node, as Jepsen's `nemesis/file` does it: bits
//! flipped with a probability per bit, or the tail of a file dropped, in
//! one of the system's data files, chosen from the run's seed, while the
//! system is down (the fault kills it first; its inverse `start` starts
//! it). What is drawn is a pure function of the file's size and the
//! fault's arguments; the commands report exactly what they changed.

use control::{quote, Cmd};
use history::Rng;
use serde::{Deserialize, Serialize};

/// At most this many bits are flipped in one fault (the rest are
/// reported as capped): each is a few processes on the node.
pub const MAX_FLIPS: usize = 256;

/// Which chunks of a file a corruption touches: chunk `i` (of
/// `chunk_size` bytes) when `i % modulus == index` (Jepsen's parameters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Chunks {
    /// Bytes in a chunk.
    pub chunk_size: u64,
    /// Every `modulus`-th chunk ...
    pub modulus: u64,
    /// ... starting at this one.
    pub index: u64,
}

impl Default for Chunks {
    fn default() -> Chunks {
        Chunks { chunk_size: 1 << 20, modulus: 1, index: 0 }
    }
}

impl Chunks {
    /// The byte ranges it selects in a file of `size` bytes.
    pub fn ranges(&self, size: u64) -> impl Iterator<Item = (u64, u64)> + '_ {
        let c = self.chunk_size.max(1);
        let m = self.modulus.max(1);
        (self.index..size.div_ceil(c)).step_by(m as usize).map(move |i| (i * c, ((i + 1) * c).min(size)))
    }
}

/// The bits to flip in a file of `size` bytes: each bit of the selected
/// chunks with `probability`, drawn from `seed` (gaps between flips are
/// geometric); (offset, mask) by offset, at most [`MAX_FLIPS`], and
/// whether more were drawn.
pub fn flips(size: u64, chunks: Chunks, probability: f64, seed: u64) -> (Vec<(u64, u8)>, bool) {
    let mut out: Vec<(u64, u8)> = Vec::new();
    if !(probability > 0.0 && probability <= 1.0) {
        return (out, false);
    }
    let mut rng = Rng::new(seed);
    let ln_q = (1.0 - probability).ln();
    for (start, end) in chunks.ranges(size) {
        let mut bit = start * 8;
        loop {
            if probability < 1.0 {
                // unit in (0, 1]: the number of bits skipped before the next flip
                let u = ((rng.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
                bit += (u.ln() / ln_q).floor() as u64;
            }
            if bit >= end * 8 {
                break;
            }
            let (off, mask) = (bit / 8, 1u8 << (bit % 8));
            match out.last_mut() {
                Some((o, m)) if *o == off => *m ^= mask,
                _ => {
                    if out.len() == MAX_FLIPS {
                        return (out, true);
                    }
                    out.push((off, mask))
                }
            }
            bit += 1;
        }
    }
    (out, false)
}

/// Lists the regular, non-empty files under `dirs` whose path matches one
/// of `patterns` (`find -path`; none: any): `SIZE PATH` a line, by path.
pub fn list(dirs: &[String], patterns: &[String]) -> Cmd {
    let dirs: Vec<String> = dirs.iter().map(|d| quote(d)).collect();
    let paths: Vec<String> = patterns.iter().map(|p| format!("-path {}", quote(p))).collect();
    let only = if paths.is_empty() { String::new() } else { format!(" \\( {} \\)", paths.join(" -o ")) };
    Cmd::script(&format!("find {} -type f -size +0c{only} -printf '%s %p\\n' 2>/dev/null | sort -k2; true", dirs.join(" "))).sudo()
}

/// The listing's files: (size, path).
pub fn parse_list(out: &str) -> Vec<(u64, String)> {
    out.lines().filter_map(|l| l.split_once(' ')).filter_map(|(s, p)| Some((s.parse().ok()?, p.to_string()))).collect()
}

/// The file a fault with `seed` corrupts on a node.
pub fn pick(files: &[(u64, String)], seed: u64) -> Option<&(u64, String)> {
    Rng::new(seed ^ 0x5eed_f11e).pick(files)
}

/// Flips the bits, printing `OFFSET OLD NEW` (bytes, decimal) for each.
pub fn flip(path: &str, flips: &[(u64, u8)]) -> Cmd {
    let list: Vec<String> = flips.iter().map(|(o, m)| format!("{o}:{m}")).collect();
    Cmd::script(&format!(
        "f={}; for x in {}; do o=${{x%:*}}; m=${{x#*:}}; old=$(od -An -tu1 -j $o -N1 \"$f\" | tr -d ' '); new=$((old ^ m)); \
         printf \"$(printf '\\\\%03o' $new)\" | dd of=\"$f\" bs=1 seek=$o count=1 conv=notrunc status=none || exit 1; echo \"$o $old $new\"; done",
        quote(path),
        list.join(" ")
    ))
    .sudo()
}

/// Drops the last `bytes` of the file (all of it if shorter), printing
/// `OLD_SIZE NEW_SIZE`.
pub fn truncate(path: &str, bytes: u64) -> Cmd {
    let q = quote(path);
    Cmd::script(&format!("s=$(stat -c %s {q}); n=$((s > {bytes} ? s - {bytes} : 0)); truncate -s $n {q} && echo \"$s $n\"")).sudo()
}

/// Where a node keeps its snapshot: the copy (`data`), the file's path
/// (`file`) and the chunks to restore (`chunks`).
pub const SNAPSHOTS: &str = "/var/lib/faultline/snapshot";

/// Copies the file aside for a later [`restore`] of `chunks`, printing
/// its size.
pub fn snapshot(path: &str, chunks: Chunks) -> Cmd {
    let q = quote(path);
    let Chunks { chunk_size, modulus, index } = chunks;
    Cmd::script(&format!(
        "d={SNAPSHOTS}; rm -rf $d && mkdir -p $d && cp --sparse=always {q} $d/data && printf '%s' {q} >$d/file && echo '{chunk_size} {modulus} {index}' >$d/chunks && stat -c %s $d/data"
    ))
    .sudo()
}

/// Writes the snapshot's chunks back over its file, printing the file,
/// then each chunk's index; nothing when there is no snapshot. The
/// snapshot is removed.
pub fn restore() -> Cmd {
    Cmd::script(&format!(
        "d={SNAPSHOTS}; [ -f $d/file ] || exit 0; f=$(cat $d/file); read c m i <$d/chunks; s=$(stat -c %s $d/data); n=$(( (s + c - 1) / c )); echo \"$f\"; \
         while [ $i -lt $n ]; do dd if=$d/data of=\"$f\" bs=$c skip=$i seek=$i count=1 conv=notrunc status=none || exit 1; echo $i; i=$((i + m)); done; rm -rf $d"
    ))
    .sudo()
}

/// Removes a snapshot a killed run left (its file is left as it is).
pub fn forget() -> Cmd {
    Cmd::script(&format!("rm -rf {SNAPSHOTS}")).sudo()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flips_fall_in_the_selected_chunks_at_about_the_probability_and_repeat_by_seed() {
        let every_other = Chunks { chunk_size: 1000, modulus: 2, index: 1 };
        assert_eq!(every_other.ranges(4500).collect::<Vec<_>>(), vec![(1000, 2000), (3000, 4000)]);
        let (f, capped) = flips(4500, every_other, 0.01, 7);
        assert!(!capped && (100..=220).contains(&f.len()), "16,000 bits at 1%: {}", f.len());
        assert!(f.iter().all(|(o, m)| ((1000..2000).contains(o) || (3000..4000).contains(o)) && *m != 0), "{f:?}");
        assert!(f.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(flips(4500, every_other, 0.01, 7), (f.clone(), false));
        assert_ne!(flips(4500, every_other, 0.01, 8).0, f);
        // every bit, capped; none; a bad probability
        let (all, capped) = flips(10, Chunks::default(), 1.0, 1);
        assert_eq!(all, (0..10).map(|o| (o, 0xff)).collect::<Vec<_>>());
        assert!(!capped);
        assert!(flips(1 << 20, Chunks::default(), 1.0, 1).1);
        assert_eq!(flips(100, Chunks::default(), 0.0, 1), (vec![], false));
        assert_eq!(flips(100, Chunks::default(), f64::NAN, 1), (vec![], false));
    }

    #[test]
    fn the_commands_flip_and_truncate_exactly_what_they_report() {
        let dir = std::env::temp_dir().join(format!("faultline-corrupt-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        let file = dir.join("sub/data file");
        std::fs::write(&file, [0u8, 1, 2, 3, 255, 5]).unwrap();
        std::fs::write(dir.join("empty"), b"").unwrap();
        let sh = |c: Cmd| {
            let o = std::process::Command::new("sh").arg("-c").arg(c.text()).output().unwrap();
            assert!(o.status.success(), "{}: {}", c.text(), String::from_utf8_lossy(&o.stderr));
            String::from_utf8(o.stdout).unwrap()
        };
        std::fs::write(dir.join("sub/other"), b"xyz").unwrap();
        let files = parse_list(&sh(list(&[dir.display().to_string()], &["*/sub/data*".into()])));
        assert_eq!(files, vec![(6, file.display().to_string())], "non-empty regular files matching only");
        assert_eq!(parse_list(&sh(list(&[dir.display().to_string()], &[]))).len(), 2, "any file");
        assert_eq!(pick(&files, 3), Some(&files[0]));
        let out = sh(flip(&files[0].1, &[(0, 0x80), (4, 0x01)]));
        assert_eq!(out, "0 0 128\n4 255 254\n");
        assert_eq!(std::fs::read(&file).unwrap(), vec![128, 1, 2, 3, 254, 5]);
        assert_eq!(sh(truncate(&files[0].1, 2)), "6 4\n");
        assert_eq!(sh(truncate(&files[0].1, 100)), "4 0\n");
        assert_eq!(std::fs::metadata(&file).unwrap().len(), 0);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_restore_writes_back_the_chosen_chunks_of_the_snapshot_only() {
        // the commands use the node's fixed snapshot directory: the test's
        // own copies of them point elsewhere
        let dir = std::env::temp_dir().join(format!("faultline-snapshot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let snaps = dir.join("snap").display().to_string();
        let sh = |c: Cmd| {
            let text = c.text().replace(SNAPSHOTS, &snaps);
            let o = std::process::Command::new("sh").arg("-c").arg(&text).output().unwrap();
            assert!(o.status.success(), "{text}: {}", String::from_utf8_lossy(&o.stderr));
            String::from_utf8(o.stdout).unwrap()
        };
        let file = dir.join("f");
        std::fs::write(&file, b"aaaabbbbcccc").unwrap();
        assert_eq!(sh(snapshot(&file.display().to_string(), Chunks { chunk_size: 4, modulus: 2, index: 0 })), "12\n");
        std::fs::write(&file, b"AAAABBBBCCCCDD").unwrap();
        let out = sh(restore());
        assert_eq!(out, format!("{}\n0\n2\n", file.display()), "chunks 0 and 2");
        assert_eq!(std::fs::read(&file).unwrap(), b"aaaaBBBBccccDD");
        assert!(!dir.join("snap").exists(), "the snapshot is gone");
        assert_eq!(sh(restore()), "", "no snapshot: nothing");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
