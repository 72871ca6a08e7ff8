//! The history as the run goes: ops go through a channel to a writer
//! thread, so writing never blocks a client; the writer numbers them in
//! arrival order and appends each to `history.jsonl` at once.
//!
//! Arrival order is a safe real-time order: an invocation is recorded
//! before its request is sent and a completion after its response arrives,
//! so if one op's completion is recorded before another's invocation, it
//! really completed first.

use history::{Header, JsonlWriter, Op};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Instant;

/// Counts of the workload's completions so far (no probes), for the
/// progress display.
#[derive(Debug, Default)]
pub struct Counters {
    /// ok completions.
    pub ok: AtomicU64,
    /// fail completions.
    pub fail: AtomicU64,
    /// info completions.
    pub info: AtomicU64,
}

/// Records ops of one run; cheap to clone (one per task).
#[derive(Clone)]
pub struct Recorder {
    tx: mpsc::Sender<Op>,
    t0: Instant,
    /// Completion counts.
    pub counters: Arc<Counters>,
}

impl Recorder {
    /// Starts the writer thread on `path` with `header`; `t0` is time 0.
    pub fn start(path: &Path, header: &Header, t0: Instant) -> std::io::Result<(Recorder, JoinHandle<std::io::Result<u64>>)> {
        let mut w = JsonlWriter::create(path, header)?;
        let (tx, rx) = mpsc::channel::<Op>();
        let counters = Arc::new(Counters::default());
        let c = counters.clone();
        let handle = std::thread::Builder::new().name("history-writer".into()).spawn(move || {
            let mut n = 0u64;
            for mut op in rx {
                op.index = n;
                n += 1;
                if op.is_workload() {
                    let slot = match op.kind {
                        history::OpType::Ok => Some(&c.ok),
                        history::OpType::Fail => Some(&c.fail),
                        history::OpType::Info => Some(&c.info),
                        history::OpType::Invoke => None,
                    };
                    if let Some(s) = slot {
                        s.fetch_add(1, Ordering::Relaxed);
                    }
                }
                w.append(&op)?;
            }
            w.sync()?;
            Ok(n)
        })?;
        Ok((Recorder { tx, t0, counters }, handle))
    }

    /// Nanoseconds since time 0.
    pub fn now(&self) -> u64 {
        systems::clock::since(self.t0).as_nanos() as u64
    }

    /// Time 0.
    pub fn t0(&self) -> Instant {
        self.t0
    }

    /// Records an op now (its `time` is set here, its `index` by the writer).
    pub fn record(&self, mut op: Op) {
        op.time = self.now();
        // the writer ends only after every sender is gone: this cannot fail
        // while a Recorder exists, unless the disk failed (then the writer
        // reports it)
        let _ = self.tx.send(op);
    }
}
