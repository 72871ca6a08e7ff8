//! `faultline check`: offline linearizability checking of history files.

use crate::exit;
use checker::{check_history, Budget, CheckOptions, Linearizability, ModelKind, Verdict};
use clap::ValueEnum;
use history::{FailMeaning, Format, NilRead, Semantics};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq)]
pub enum ModelArg {
    Register,
    CasRegister,
    Kv,
    /// A queue handing values out oldest first (Knossos's fifo-queue).
    FifoQueue,
    /// A queue handing values out in any order (Knossos's unordered-queue).
    UnorderedQueue,
    /// Transactions of appends and reads on lists (Elle's list-append).
    ListAppend,
    /// Transactions of writes and reads on registers (Elle's rw-register).
    RwRegister,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq)]
pub enum FormatArg {
    Auto,
    Jsonl,
    Edn,
    JepsenLog,
    PorcupineKv,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FailArg {
    /// A failed op did not take effect (Jepsen, Knossos).
    NotApplied,
    /// A failed cas saw another value (Porcupine's etcd model).
    CasObserved,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum NilArg {
    /// A nil read means the register held nil.
    Value,
    /// A nil read constrains nothing (Knossos).
    Unconstrained,
}

/// Check histories for linearizability.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The model to check against [default: what a faultline history's
    /// header says its workload needs, else cas-register].
    #[arg(long, value_enum)]
    model: Option<ModelArg>,
    /// The history format; `auto` detects it from the name and content.
    #[arg(long, value_enum, default_value = "auto")]
    format: FormatArg,
    /// Values are [key value] tuples of independent registers.
    #[arg(long)]
    independent: bool,
    /// Check independent keys as one map-valued state instead of apart.
    #[arg(long)]
    no_split: bool,
    /// What a `fail` means [default: cas-observed for jepsen-log and
    /// porcupine-kv, not-applied otherwise].
    #[arg(long, value_enum)]
    fail_means: Option<FailArg>,
    /// What an ok read of nil means [default: unconstrained for edn, value
    /// otherwise].
    #[arg(long, value_enum)]
    nil_read: Option<NilArg>,
    /// Give up with `unknown` after this many seconds per history.
    #[arg(long, default_value_t = 300.0)]
    timeout: f64,
    /// For --model list-append: the consistency model, Elle's names
    /// (read-committed, snapshot-isolation, serializable, strict-serializable, ...)
    /// [default: serializable].
    #[arg(long)]
    consistency: Option<String>,
    /// For --model rw-register: also order a key's versions by writes
    /// following reads in a transaction (Elle's `:wfr-keys?`; off by
    /// default, as in Elle).
    #[arg(long)]
    wfr_keys: bool,
    /// Give up on one key after this many seconds: that key is `unknown`
    /// (named), the others are still decided [default: only --timeout].
    #[arg(long)]
    key_timeout: Option<f64>,
    /// Give up with `unknown` when the search needs more memory (MiB).
    #[arg(long, default_value_t = 4096)]
    max_memory: usize,
    /// Worker threads [default: one per core].
    #[arg(long)]
    threads: Option<usize>,
    /// One JSON object per history on stdout.
    #[arg(long)]
    json: bool,
    /// Also write an HTML report of every history's verdict, with each
    /// counterexample drawn as lanes per process.
    #[arg(long, value_name = "FILE.html")]
    report: Option<PathBuf>,
    /// History files.
    #[arg(required = true)]
    histories: Vec<PathBuf>,
}

/// What checking one file gave.
enum FileResult {
    /// A run's history of another workload, checked by that workload.
    Workload {
        name: String,
        checks: Box<results::Checks>,
        elapsed: Duration,
    },
    Checked {
        format: Format,
        result: Box<Linearizability>,
        elapsed: Duration,
        /// The report's section, with `--report`.
        html: Option<String>,
    },
    /// A transactional history, checked for isolation anomalies.
    Txn {
        result: Box<checker::txn::TxnResult>,
        elapsed: Duration,
    },
    BadInput(String),
}

fn options(a: &Args, format: Format, header: Option<&history::Header>, threads: usize) -> Result<CheckOptions, String> {
    if a.key_timeout.is_some_and(|t| !t.is_finite() || t <= 0.0) {
        return Err(format!("--key-timeout must be a positive number of seconds, got {}", a.key_timeout.unwrap_or_default()));
    }
    if !a.timeout.is_finite() || a.timeout <= 0.0 {
        return Err(format!("--timeout must be a positive number of seconds, got {}", a.timeout));
    }
    // a run's own history names its workload: its registers are independent keys
    let workload = header.and_then(|h| h.workload.as_deref());
    let from_run = a.model.is_none() && workload == Some("register");
    let model = match a.model.unwrap_or(ModelArg::CasRegister) {
        ModelArg::Register => ModelKind::Register,
        ModelArg::CasRegister => ModelKind::CasRegister,
        ModelArg::Kv => ModelKind::Kv,
        ModelArg::FifoQueue => ModelKind::FifoQueue,
        ModelArg::UnorderedQueue => ModelKind::UnorderedQueue,
        ModelArg::ListAppend | ModelArg::RwRegister => return Err("transactions are checked for isolation, not linearizability".into()),
    };
    let mut semantics = Semantics::for_format(format);
    if let Some(f) = a.fail_means {
        semantics.fail = match f {
            FailArg::NotApplied => FailMeaning::NotApplied,
            FailArg::CasObserved => FailMeaning::CasObserved,
        };
    }
    if let Some(n) = a.nil_read {
        semantics.nil_read = match n {
            NilArg::Value => NilRead::Value,
            NilArg::Unconstrained => NilRead::Unconstrained,
        };
    }
    let mut o = CheckOptions::new(model);
    o.independent |= a.independent || from_run;
    o.split = !a.no_split;
    o.semantics = semantics;
    o.threads = threads;
    o.budget = Budget {
        deadline: Some(Instant::now() + Duration::from_secs_f64(a.timeout.min(1e9))),
        max_bytes: a.max_memory.saturating_mul(1 << 20),
        per_part: a.key_timeout.map(|t| Duration::from_secs_f64(t.min(1e9))),
    };
    Ok(o)
}

fn check_file(a: &Args, path: &Path, threads: usize) -> FileResult {
    let start = Instant::now();
    let format = match a.format {
        FormatArg::Auto => None,
        FormatArg::Jsonl => Some(Format::Jsonl),
        FormatArg::Edn => Some(Format::Edn),
        FormatArg::JepsenLog => Some(Format::JepsenLog),
        FormatArg::PorcupineKv => Some(Format::PorcupineKv),
    };
    if let Some(r) = check_txn_file(a, path, format, start) {
        return r;
    }
    let (format, h) = match history::load(path, format) {
        Ok(x) => x,
        Err(e) => return FileResult::BadInput(e.to_string()),
    };
    let r = check_loaded(a, path, format, &h, start, threads);
    // freeing a large history's values takes a while: not on the way out
    if h.ops.len() > 100_000 {
        std::thread::spawn(move || drop(h));
    }
    r
}

/// A JSON Lines file of transactions (by `--model`, or its header's
/// workload), read with its values apart: each transaction's value is
/// parsed when the checker reads it and dropped after, so a large history
/// never exists as JSON values all at once. `None`: not such a file.
fn check_txn_file(a: &Args, path: &Path, format: Option<Format>, start: Instant) -> Option<FileResult> {
    if matches!(a.model, Some(ModelArg::Register | ModelArg::CasRegister | ModelArg::Kv)) {
        return None;
    }
    // without --model, only the first line is read to learn the workload
    use std::io::BufRead;
    let first = std::io::BufReader::new(std::fs::File::open(path).ok()?).lines().map_while(Result::ok).find(|l| !l.trim().is_empty());
    let head = first.unwrap_or_default();
    let header = head.contains("\"faultline_history\"").then(|| serde_json::from_str::<history::Header>(&head).ok()).flatten();
    let header_model = header.as_ref().and_then(|h| h.workload.clone()).filter(|w| a.model.is_none() && (w == "list-append" || w == "rw-register"));
    if a.model.is_none() && header_model.is_none() {
        return None;
    }
    let text = std::fs::read_to_string(path).ok()?;
    let format = format.map_or_else(|| history::detect(path, &text).ok(), Some)?;
    let registers = match (a.model, header_model.as_deref()) {
        (Some(ModelArg::ListAppend), _) | (None, Some("list-append")) => false,
        (Some(ModelArg::RwRegister), _) | (None, Some("rw-register")) => true,
        _ => return None,
    };
    if format != Format::Jsonl {
        return None;
    }
    let consistency = match super::txn::consistency(consistency_name(a, header.as_ref())) {
        Ok(c) => c,
        Err(e) => return Some(FileResult::BadInput(e.to_string())),
    };
    let (h, texts) = match history::parse_jsonl_values_apart(&text) {
        Ok(x) => x,
        Err(e) => return Some(FileResult::BadInput(e.in_file(path).to_string())),
    };
    if a.wfr_keys && !registers {
        return Some(FileResult::BadInput("--wfr-keys applies to --model rw-register, not list-append, whose reads show the version order".into()));
    }
    let src = checker::txn::Source { h: &h, texts: Some(&texts) };
    let checked =
        if registers { checker::txn::check_rw_register_in(src, consistency, register_order(a)) } else { checker::txn::check_list_append_in(src, consistency) };
    let r = match checked {
        Ok(result) => FileResult::Txn { result: Box::new(result), elapsed: start.elapsed() },
        Err(e) => FileResult::BadInput(e.in_file(path).to_string()),
    };
    // the file's text and the ops: freed off the exit path
    if h.ops.len() > 100_000 {
        drop(texts);
        std::thread::spawn(move || drop((h, text)));
    }
    Some(r)
}

/// The consistency model asked for: `--consistency`, else what a run's
/// history header says the run checked against.
fn consistency_name<'a>(a: &'a Args, header: Option<&'a history::Header>) -> Option<&'a str> {
    a.consistency.as_deref().or_else(|| header?.check.as_ref()?.consistency.as_deref())
}

/// Where `--model rw-register`'s version order comes from.
fn register_order(a: &Args) -> checker::txn::RegisterOrder {
    checker::txn::RegisterOrder { wfr_keys: a.wfr_keys }
}

fn check_loaded(a: &Args, path: &Path, format: Format, h: &history::History, start: Instant, threads: usize) -> FileResult {
    let run_workload = h.header.as_ref().and_then(|hd| hd.workload.as_deref()).filter(|_| a.model.is_none());
    let run_txns = matches!(run_workload, Some("list-append" | "rw-register"));
    let registers = a.model == Some(ModelArg::RwRegister) || run_workload == Some("rw-register");
    if a.wfr_keys && !registers && (a.model == Some(ModelArg::ListAppend) || run_txns) {
        return FileResult::BadInput("--wfr-keys applies to --model rw-register, not list-append, whose reads show the version order".into());
    }
    if a.model == Some(ModelArg::ListAppend) || registers || run_txns {
        let checked = super::txn::consistency(consistency_name(a, h.header.as_ref()))
            .map(|c| super::txn::check(h, registers, c, register_order(a)).map_err(|e| e.in_file(path).to_string()));
        return match checked {
            Ok(Ok(result)) => FileResult::Txn { result: Box::new(result), elapsed: start.elapsed() },
            Ok(Err(e)) => FileResult::BadInput(e),
            Err(e) => FileResult::BadInput(e.0),
        };
    }
    if a.wfr_keys {
        return FileResult::BadInput("--wfr-keys applies to --model rw-register (or an rw-register run's history)".into());
    }
    if a.consistency.is_some() {
        return FileResult::BadInput("--consistency applies to --model list-append or rw-register (or a transactional run's history)".into());
    }
    // a run's history of another workload: that workload's own checks
    let named = h.header.as_ref().and_then(|hd| hd.workload.as_deref()).filter(|w| *w != "register");
    if let (None, Some(w)) = (a.model, named.and_then(workloads::by_name)) {
        let ops = history::History { ops: h.ops.iter().filter(|o| o.is_workload()).cloned().collect(), ..Default::default() };
        let mut checks = results::Checks::default();
        // as the run checked it: the context its header recorded
        let settings = h.header.as_ref().and_then(|hd| hd.check.as_ref());
        let Some(ctx) = settings.map_or(Some(workloads::CheckContext::default()), workloads::CheckContext::from_settings) else {
            return FileResult::BadInput("line 1: the header names a consistency model there is none of".into());
        };
        return match w.check(&ops, &ctx, &mut checks) {
            Ok(()) => FileResult::Workload { name: w.name().to_string(), checks: Box::new(checks), elapsed: start.elapsed() },
            Err(e) => FileResult::BadInput(e.in_file(path).to_string()),
        };
    }
    let opts = match options(a, format, h.header.as_ref(), threads) {
        Ok(o) => o,
        Err(e) => return FileResult::BadInput(e),
    };
    // A crashing checker answers `unknown`, never aborts the other files.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check_history(h, &opts)));
    match outcome {
        Ok(Ok(result)) => {
            let html = a.report.is_some().then(|| workloads::register::findings(&result, h));
            FileResult::Checked { format, result: Box::new(result), elapsed: start.elapsed(), html }
        }
        Ok(Err(e)) => FileResult::BadInput(e.in_file(path).to_string()),
        Err(panic) => {
            let msg = panic.downcast_ref::<String>().cloned().or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default();
            let r = Linearizability {
                valid: Verdict::Unknown,
                reason: Some(format!("checker crashed: {msg}")),
                model: opts.model.name().to_string(),
                ops: 0,
                partitions: 0,
                counterexample: None,
                steps: 0,
                configurations: 0,
            };
            FileResult::Checked { format, result: Box::new(r), elapsed: start.elapsed(), html: None }
        }
    }
}

fn print_human(path: &Path, r: &FileResult) {
    match r {
        FileResult::BadInput(e) => eprintln!("{}: error: {e}", path.display()),
        FileResult::Workload { name, checks, elapsed } => {
            let v = checks.merged();
            println!("{}: {} ({name} workload, {:.1} ms)", path.display(), v.as_str(), elapsed.as_secs_f64() * 1e3);
            for (check, why) in checks.unknown_reasons() {
                println!("    {check}: unknown: {why}");
            }
        }
        FileResult::Txn { result, elapsed } => super::txn::print_human(path, result, *elapsed),
        FileResult::Checked { result, elapsed, .. } => {
            let ms = elapsed.as_secs_f64() * 1e3;
            let parts = if result.partitions == 1 { "1 part".to_string() } else { format!("{} parts", result.partitions) };
            match result.valid {
                Verdict::Valid => println!("{}: valid ({} ops, {parts}, {ms:.1} ms)", path.display(), result.ops),
                v => println!("{}: {}: {}", path.display(), v.as_str(), result.reason.as_deref().unwrap_or("")),
            }
            if let Some(cx) = &result.counterexample {
                let shown = cx.steps.len().min(3);
                for s in &cx.steps[cx.steps.len() - shown..] {
                    println!("    ... op {} p{} {}  => {}", s.op.id, s.op.process, s.op.op, s.state);
                }
                println!("    !!! op {} p{} {}  cannot be placed", cx.unplaceable.id, cx.unplaceable.process, cx.unplaceable.op);
                for c in cx.concurrent.iter().take(8) {
                    println!("    concurrent: op {} p{} {}", c.id, c.process, c.op);
                }
            }
        }
    }
}

fn print_json(path: &PathBuf, r: &FileResult) {
    let v = match r {
        FileResult::BadInput(e) => json!({"file": path, "valid": "unknown", "error": e}),
        FileResult::Workload { name, checks, elapsed } => {
            let v = checks.merged();
            json!({"file": path, "workload": name, "valid": v, "checks": checks, "elapsed_ms": elapsed.as_secs_f64() * 1e3})
        }
        FileResult::Txn { result, elapsed } => super::txn::to_json(path, result, *elapsed),
        FileResult::Checked { format, result, elapsed, .. } => {
            let mut v = serde_json::to_value(result).unwrap_or_default();
            v["file"] = json!(path);
            v["format"] = json!(format.name());
            v["elapsed_ms"] = json!(elapsed.as_secs_f64() * 1e3);
            v
        }
    };
    println!("{v}");
}

/// Runs `faultline check`; returns the exit code.
pub fn run(a: Args) -> i32 {
    let cores = a.threads.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)).max(1);
    let n = a.histories.len();
    // Many files: one worker per core over files, each file single-threaded.
    // One file: its independent parts use every core.
    let (workers, per_file) = if n > 1 { (cores.min(n), 1) } else { (1, cores) };
    let next = AtomicUsize::new(0);
    let slots: Vec<std::sync::Mutex<Option<FileResult>>> = (0..n).map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(path) = a.histories.get(i) else { break };
                let r = check_file(&a, path, per_file);
                *slots[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
            });
        }
    });
    let results: Vec<Option<FileResult>> = slots.into_iter().map(|s| s.into_inner().unwrap_or_else(|e| e.into_inner())).collect();
    let mut codes = Vec::with_capacity(n);
    for (path, r) in a.histories.iter().zip(&results) {
        let Some(r) = r else {
            codes.push(exit::INTERNAL);
            continue;
        };
        if a.json {
            print_json(path, r);
        } else {
            print_human(path, r);
        }
        codes.push(match r {
            FileResult::BadInput(_) => exit::BAD_INPUT,
            FileResult::Workload { checks, .. } => checks.merged().exit_code(),
            FileResult::Checked { result, .. } => result.valid.exit_code(),
            FileResult::Txn { result, .. } => result.valid.exit_code(),
        });
    }
    if let Some(out) = &a.report {
        if let Err(e) = write_report(out, &a.histories, &results) {
            eprintln!("check: {}: {e}", out.display());
            codes.push(exit::INFRA);
        }
    }
    exit::worst(codes)
}

/// `--report`: one page with every history's verdict and counterexample.
fn write_report(out: &Path, histories: &[PathBuf], results: &[Option<FileResult>]) -> std::io::Result<()> {
    let files: Vec<serde_json::Value> = histories
        .iter()
        .zip(results)
        .map(|(path, r)| {
            let (mut html, mut error, mut verdict) = (None, None, None);
            match r {
                Some(FileResult::Checked { html: Some(h), .. }) => html = Some(h.replace("<h2", "<h3").replace("</h2>", "</h3>")),
                Some(FileResult::Checked { result, .. }) => verdict = Some(result.valid.as_str().to_string()),
                Some(FileResult::Workload { name, checks, .. }) => verdict = Some(format!("{} ({name} workload)", checks.merged().as_str())),
                Some(FileResult::Txn { result, .. }) => verdict = Some(format!("{} under {}: {}", result.valid.as_str(), result.consistency, result.reason)),
                Some(FileResult::BadInput(e)) => error = Some(e.clone()),
                None => {}
            }
            serde_json::json!({"path": path.display().to_string(), "html": html, "error": error, "verdict": verdict})
        })
        .collect();
    let body = reports::template::render("check.html", include_str!("templates/check.html"), serde_json::json!({ "files": files }));
    std::fs::write(out, reports::html::page("faultline check", &body, ""))
}
