//! The nemesis's file corruptions: the SUT killed on each node, one of its
//! data files chosen and corrupted, exactly what changed recorded.

use super::Nemesis;
use crate::corrupt::{self, Chunks};
use crate::{FaultError, Needs};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

/// What a corruption does to the file it picks.
pub(super) enum How {
    /// Flip bits of the chunks with a probability each.
    Bitflip { chunks: Chunks, probability: f64 },
    /// Drop the file's last bytes.
    Truncate { bytes: u64 },
    /// Copy it aside (the SUT not killed) for a later restore of chunks.
    Snapshot { chunks: Chunks },
}

impl Nemesis {
    /// Kills the SUT on `nodes` and corrupts one data file on each (drawn
    /// from `seed`): when each node was done, and per node the file and
    /// what changed in it.
    pub(super) fn corrupt(&self, nodes: &[String], how: How, seed: u64) -> Result<(BTreeMap<String, Instant>, Value), FaultError> {
        self.check(&[Needs::Files])?;
        let keeps_running = matches!(how, How::Snapshot { .. });
        if keeps_running {
            self.active().snapshots.extend(nodes.iter().cloned());
        } else {
            self.active().killed.extend(nodes.iter().cloned());
        }
        let changed = Mutex::new(BTreeMap::new());
        let (dirs, patterns) = (self.target.data_dirs(), self.target.data_files());
        let d = self.on_nodes(nodes, |cl| {
            if !keeps_running {
                self.target.kill(cl).map_err(|e| e.to_string())?;
            }
            let files = corrupt::parse_list(&cl.run(&corrupt::list(&dirs, &patterns)).map_err(|e| e.to_string())?.stdout);
            let Some((size, path)) = corrupt::pick(&files, seed) else {
                changed.lock().unwrap_or_else(|e| e.into_inner()).insert(cl.node().name.clone(), json!({"file": null, "why": "no data file"}));
                return Ok(());
            };
            let record = match &how {
                How::Bitflip { chunks, probability } => {
                    let (flips, capped) = corrupt::flips(*size, *chunks, *probability, seed);
                    let out = if flips.is_empty() { String::new() } else { cl.run(&corrupt::flip(path, &flips)).map_err(|e| e.to_string())?.stdout };
                    let bytes: Vec<Vec<u64>> = out.lines().map(|l| l.split_whitespace().filter_map(|x| x.parse().ok()).collect()).collect();
                    json!({"file": path, "size": size, "flipped": bytes, "capped": capped})
                }
                How::Snapshot { chunks } => {
                    let size = cl.run(&corrupt::snapshot(path, *chunks)).map_err(|e| e.to_string())?.stdout;
                    json!({"file": path, "size": size.trim().parse::<u64>().ok(), "chunks": chunks})
                }
                How::Truncate { bytes } => {
                    let out = cl.run(&corrupt::truncate(path, *bytes)).map_err(|e| e.to_string())?.stdout;
                    let sizes: Vec<u64> = out.split_whitespace().filter_map(|x| x.parse().ok()).collect();
                    json!({"file": path, "size": sizes.first(), "new_size": sizes.get(1)})
                }
            };
            changed.lock().unwrap_or_else(|e| e.into_inner()).insert(cl.node().name.clone(), record);
            Ok(())
        })?;
        let changed = changed.into_inner().unwrap_or_else(|e| e.into_inner());
        Ok((d, json!({"nodes": nodes, "seed": seed, "changed": changed})))
    }

    /// Kills the SUT on `nodes`, writes each snapshot's chunks back, starts
    /// it: per node the file and the chunks restored.
    pub(super) fn restore(&self, nodes: &[String]) -> Result<(BTreeMap<String, Instant>, Value), FaultError> {
        self.check(&[Needs::Files])?;
        let restored = Mutex::new(BTreeMap::new());
        let d = self.on_nodes(nodes, |cl| {
            self.target.kill(cl).map_err(|e| e.to_string())?;
            let out = cl.run(&corrupt::restore()).map_err(|e| e.to_string())?.stdout;
            let mut lines = out.lines();
            let file = lines.next().map(str::to_string);
            let chunks: Vec<u64> = lines.filter_map(|l| l.trim().parse().ok()).collect();
            restored.lock().unwrap_or_else(|e| e.into_inner()).insert(cl.node().name.clone(), json!({"file": file, "chunks": chunks}));
            self.target.restart(cl).map_err(|e| e.to_string())
        })?;
        self.active().snapshots.retain(|n| !nodes.contains(n));
        Ok((d, json!({"nodes": nodes, "restored": restored.into_inner().unwrap_or_else(|e| e.into_inner())})))
    }
}
