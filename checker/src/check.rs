//! From a history to a linearizability verdict: decode, split, search.

use crate::linear::{search, Budget, Counterexample, Outcome, Stats};
use crate::model::{Model, Operation, OPEN};
use crate::models::{Decode, Keyed, Kv, Outcome as Completed, Queue, Register};
use crate::Verdict;
use history::{ErrorKind, History, HistoryError, OpType, Semantics};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// The models `faultline check` offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// Read / write register.
    Register,
    /// Read / write / compare-and-set register.
    CasRegister,
    /// Key-value store: get / put / append on strings, values `[key value]`.
    Kv,
    /// A queue handing values out oldest first (Knossos's fifo-queue).
    FifoQueue,
    /// A queue handing values out in any order (Knossos's unordered-queue).
    UnorderedQueue,
}

impl ModelKind {
    /// Parses a `--model` name.
    pub fn from_name(s: &str) -> Option<ModelKind> {
        match s {
            "register" => Some(ModelKind::Register),
            "cas-register" => Some(ModelKind::CasRegister),
            "kv" => Some(ModelKind::Kv),
            "fifo-queue" => Some(ModelKind::FifoQueue),
            "unordered-queue" => Some(ModelKind::UnorderedQueue),
            _ => None,
        }
    }

    /// The `--model` name.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Register => "register",
            ModelKind::CasRegister => "cas-register",
            ModelKind::Kv => "kv",
            ModelKind::FifoQueue => "fifo-queue",
            ModelKind::UnorderedQueue => "unordered-queue",
        }
    }
}

/// How to check: which model, how the history reads, and the budget.
#[derive(Debug, Clone, Copy)]
pub struct CheckOptions {
    /// The model.
    pub model: ModelKind,
    /// Values are `[key value]` tuples of independent registers (always
    /// true for kv).
    pub independent: bool,
    /// Check independent keys apart (P-compositionality) rather than as one
    /// map-valued state.
    pub split: bool,
    /// What `fail` and nil reads mean.
    pub semantics: Semantics,
    /// Time and memory limits of the whole check.
    pub budget: Budget,
    /// Worker threads for independent parts.
    pub threads: usize,
}

impl CheckOptions {
    /// Defaults for a model: split per key, faultline's semantics, a 1 GiB
    /// budget, one thread per core.
    pub fn new(model: ModelKind) -> Self {
        CheckOptions {
            model,
            independent: model == ModelKind::Kv,
            split: true,
            semantics: Semantics::FAULTLINE,
            budget: Budget::default(),
            threads: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        }
    }
}

/// The linearizability verdict for a history, with the evidence.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Linearizability {
    /// valid / invalid / unknown.
    pub valid: Verdict,
    /// Why the verdict is unknown (budget) or invalid (short text).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The model used.
    pub model: String,
    /// Operations checked (after dropping failed ones).
    pub ops: usize,
    /// Independent parts checked apart.
    pub partitions: usize,
    /// For an invalid history: the longest linearizable prefix, the
    /// operation that could not be placed and what was concurrent with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counterexample: Option<Counterexample>,
    /// Search counters, summed over parts.
    pub steps: u64,
    /// Configurations cached, summed over parts.
    pub configurations: u64,
}

/// An operation in a model's own input and output types.
pub type ModelOp<M> = Operation<<M as Model>::Input, <M as Model>::Output>;

/// Decodes a history's client operations for `model`, on `threads`
/// threads: each pairs a run of the history and decodes its pairs, and the
/// runs' operations are joined on the same threads.
///
/// Operation times are history positions; `info` and never-completed
/// operations are open to the end. Errors name the line of the op (the
/// first in the history, whichever thread met it).
pub fn prepare<M: Decode>(model: &M, h: &History, sem: &Semantics, threads: usize) -> Result<Vec<ModelOp<M>>, HistoryError> {
    let runs = history::pair_chunks(h, threads)?;
    let decode_one = |p: &history::Pair| -> Result<Option<ModelOp<M>>, HistoryError> {
        let inv = &h.ops[p.invoke];
        if !inv.is_workload() {
            return Ok(None); // a probe: availability only
        }
        let done = p.completion.map(|c| &h.ops[c]);
        let outcome = match done {
            Some(c) if c.kind == OpType::Ok => Completed::Ok(&c.value),
            Some(c) if c.kind == OpType::Fail => Completed::Fail(&c.value),
            _ => Completed::Unknown,
        };
        let decoded = model
            .decode(&inv.f, &inv.value, outcome, sem)
            .map_err(|problem| HistoryError::at(h.lines.get(p.invoke).copied().unwrap_or(0), ErrorKind::BadField { field: "value", problem }))?;
        let Some((input, output)) = decoded else { return Ok(None) };
        let ret = match (done, &output) {
            (Some(_), Some(_)) => p.completion.unwrap_or(usize::MAX) as u64,
            _ => OPEN,
        };
        // `id` is the history's own index: what results and reports name
        Ok(Some(Operation { id: inv.index as usize, process: inv.process.client().unwrap_or(0), call: p.invoke as u64, ret, input, output }))
    };
    let decode_chunk = |chunk: &[history::Pair]| -> Result<Vec<ModelOp<M>>, HistoryError> {
        let mut out = Vec::with_capacity(chunk.len());
        for p in chunk {
            out.extend(decode_one(p)?);
        }
        Ok(out)
    };
    if runs.len() == 1 {
        return decode_chunk(&runs[0]);
    }
    let chunks: Vec<Result<Vec<ModelOp<M>>, HistoryError>> = std::thread::scope(|s| {
        let hs: Vec<_> = runs.iter().map(|c| s.spawn(move || decode_chunk(c))).collect();
        hs.into_iter().map(|t| t.join().unwrap_or_else(|p| std::panic::resume_unwind(p))).collect()
    });
    Ok(crate::concat::concat(chunks.into_iter().collect::<Result<Vec<_>, _>>()?))
}

/// Checks decoded operations against a model, its parts in parallel.
pub fn check_ops<M: Model>(model: &M, ops: &[Operation<M::Input, M::Output>], opts: &CheckOptions) -> Linearizability {
    let mut parts = model.partition(ops).unwrap_or_else(|| vec![(0..ops.len()).collect()]);
    parts.sort_by_key(|p| std::cmp::Reverse(p.len()));
    let workers = opts.threads.clamp(1, parts.len().max(1));
    let budget = Budget { max_bytes: opts.budget.max_bytes / workers, ..opts.budget };
    let cancel = AtomicBool::new(false);
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, Outcome, Stats)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(part) = parts.get(i) else { break };
                let part_ops: Vec<&Operation<M::Input, M::Output>> = part.iter().map(|&j| &ops[j]).collect();
                // a part's own deadline: a slow key never holds up the rest
                let own = budget.per_part.map(|d| Instant::now() + d);
                let deadline = match (budget.deadline, own) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                let (outcome, stats) = search(model, part_ops, &Budget { deadline, ..budget }, &cancel);
                if matches!(outcome, Outcome::Illegal(_)) {
                    cancel.store(true, Ordering::Relaxed);
                }
                results.lock().unwrap_or_else(|e| e.into_inner()).push((i, outcome, stats));
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    results.sort_by_key(|r| r.0);
    let mut undecided: Vec<String> = Vec::new();
    let mut out = Linearizability {
        valid: Verdict::Valid,
        reason: None,
        model: String::new(),
        ops: ops.len(),
        partitions: parts.len(),
        counterexample: None,
        steps: 0,
        configurations: 0,
    };
    for (i, outcome, stats) in results {
        out.steps += stats.steps;
        out.configurations += stats.configurations;
        match outcome {
            Outcome::Ok => {}
            Outcome::Illegal(cx) if out.valid != Verdict::Invalid => {
                out.valid = Verdict::Invalid;
                out.reason = Some(format!(
                    "{} (op {}, process {}) cannot be linearized after {} ops",
                    cx.unplaceable.op, cx.unplaceable.id, cx.unplaceable.process, cx.prefix_len
                ));
                out.counterexample = Some(*cx);
            }
            Outcome::Illegal(_) => {}
            Outcome::Unknown(why) => {
                let cancelled = why == "cancelled";
                if out.valid == Verdict::Valid {
                    out.valid = Verdict::Unknown;
                    out.reason = Some(why);
                }
                if !cancelled {
                    undecided.push(parts[i].first().and_then(|&j| model.part_name(&ops[j])).unwrap_or_else(|| format!("part {i}")));
                }
            }
        }
    }
    // an unknown verdict names every part that ran out of budget
    if out.valid == Verdict::Unknown && parts.len() > 1 {
        let shown: Vec<&str> = undecided.iter().take(10).map(String::as_str).collect();
        let more = if undecided.len() > 10 { format!(" and {} more", undecided.len() - 10) } else { String::new() };
        out.reason = Some(format!(
            "{} of {} parts undecided ({}{more}): {}; the other parts are linearizable",
            undecided.len(),
            parts.len(),
            shown.join(", "),
            out.reason.as_deref().unwrap_or("budget")
        ));
    }
    // a linearizable history with no completed op, or no completed read, proves nothing
    if out.valid == Verdict::Valid {
        let done = ops.iter().filter(|o| o.ret != OPEN);
        let nothing = match done.clone().count() {
            0 => Some("tested nothing: no operation completed"),
            _ if !done.clone().any(|o| model.observes(&o.input)) => Some("tested nothing: no read completed"),
            _ => None,
        };
        if let Some(why) = nothing {
            out.valid = Verdict::Unknown;
            out.reason = Some(why.to_string());
        }
    }
    out
}

fn run<M: Decode>(model: M, h: &History, opts: &CheckOptions) -> Result<Linearizability, HistoryError>
where
    M::Input: 'static,
    M::Output: 'static,
{
    let ops = prepare(&model, h, &opts.semantics, opts.threads)?;
    let r = check_ops(&model, &ops, opts);
    // a million decoded operations own a million strings: freed off the
    // caller's path (as the binary frees a large history)
    if ops.len() > 100_000 {
        std::thread::spawn(move || drop(ops));
    }
    Ok(r)
}

fn keyed<M>(inner: M, split: bool) -> Keyed<M> {
    Keyed { split, ..Keyed::new(inner) }
}

/// Checks a loaded history for linearizability with the chosen model.
pub fn check_history(h: &History, opts: &CheckOptions) -> Result<Linearizability, HistoryError> {
    let start = Instant::now();
    let mut opts = *opts;
    if let Some(d) = opts.budget.deadline {
        opts.budget.deadline = Some(d.max(start));
    }
    let mut r = match (opts.model, opts.independent) {
        (ModelKind::Register, false) => run(Register::new(), h, &opts),
        (ModelKind::CasRegister, false) => run(Register::with_cas(), h, &opts),
        (ModelKind::Register, true) => run(keyed(Register::new(), opts.split), h, &opts),
        (ModelKind::CasRegister, true) => run(keyed(Register::with_cas(), opts.split), h, &opts),
        (ModelKind::Kv, _) => run(keyed(Kv, opts.split), h, &opts),
        (ModelKind::FifoQueue, _) => run(Queue::new(true), h, &opts),
        (ModelKind::UnorderedQueue, _) => run(Queue::new(false), h, &opts),
    }?;
    r.model = opts.model.name().to_string();
    Ok(r)
}
