//! Linearizability checker benchmarks (`cargo bench -p faultline-checker`).
//!
//! Prints one line per figure; BENCHMARKS.md records them. Baselines:
//! Porcupine's published per-file minimums on this machine kind (it cannot
//! be run here), and, measured in the same run, the time to read the same
//! history from disk.

use checker::synth::{generate, Object, Spec};
use checker::{check_history, Budget, CheckOptions, ModelKind, Verdict};
use history::{Format, Header, History, JsonlWriter, Semantics};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The allocator the `faultline` binary runs the checkers with.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn peak_rss_mb() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)).and_then(|k| k.parse::<f64>().ok()).map_or(f64::NAN, |kb| kb / 1024.0)
}

/// The resident set now, MB.
fn rss_mb() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)).and_then(|k| k.parse::<f64>().ok()).map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Resets the peak resident set to the current one (Linux `clear_refs`).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn min_time<T>(reps: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..reps {
        let s = Instant::now();
        let r = f();
        best = best.min(s.elapsed());
        last = Some(r);
    }
    (best, last.expect("reps > 0"))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/porcupine/jepsen")
}

fn corpus() {
    let mut opts = CheckOptions::new(ModelKind::CasRegister);
    opts.semantics = Semantics::PORCUPINE;
    opts.threads = 1;
    let mut total = Duration::ZERO;
    let mut files = 0;
    let (all, reference) = porcupine_ms();
    let mut named = Vec::new();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(corpus_dir()).expect("corpus beside the repo").flatten().map(|e| e.path()).collect();
    paths.sort();
    for p in paths {
        if std::fs::metadata(&p).map(|m| m.len() == 0).unwrap_or(true) {
            continue;
        }
        let (_, h) = history::load(&p, Some(Format::JepsenLog)).unwrap();
        let (t, _) = min_time(20, || check_history(&h, &opts).unwrap());
        total += t;
        files += 1;
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if let Some(&(_, porc)) = reference.iter().find(|(n, _)| *n == name) {
            named.push((name, t, porc));
        }
    }
    println!(
        "corpus: {files} histories, sum of per-file minimum check times {:.1} ms; Porcupine {all:.0} ms; ratio {:.3} (goal <= 0.33)",
        ms(total),
        ms(total) / all
    );
    for (name, t, porc) in named {
        println!("corpus: {name} {:.2} ms; Porcupine {porc} ms; ratio {:.3}", ms(t), ms(t) / porc);
    }
    println!("corpus: peak RSS so far {:.1} MB (goal < 100 MB)", peak_rss_mb());
}

/// Porcupine's times on the corpus, measured beside faultline
/// (`porcupine-ms.txt`): the whole corpus, and the files timed apart.
fn porcupine_ms() -> (f64, Vec<(String, f64)>) {
    let text = include_str!("porcupine-ms.txt");
    let rows: Vec<(String, f64)> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split_once(' ').map(|(n, v)| (n.to_string(), v.trim().parse().expect("a number of ms"))))
        .collect();
    let all = rows.iter().find(|(n, _)| n == "all").map_or(f64::NAN, |r| r.1);
    (all, rows.into_iter().filter(|(n, _)| n != "all").collect())
}

/// Writes `h` as JSON lines, then times reading it back and checking it.
fn read_vs_check(label: &str, h: &History, opts: &CheckOptions, goal_s: f64) {
    let path = std::env::temp_dir().join(format!("faultline-bench-{}.jsonl", std::process::id()));
    let mut w = JsonlWriter::create(&path, &Header::new(0)).unwrap();
    for op in &h.ops {
        w.append(op).unwrap();
    }
    drop(w);
    let (read, loaded) = min_time(3, || history::load(&path, Some(Format::Jsonl)).unwrap().1);
    let (check, r) = min_time(3, || check_history(&loaded, opts).unwrap());
    let _ = std::fs::remove_file(&path);
    println!(
        "{label}: {} ops, {} parts, verdict {}; read {:.0} ms, check {:.0} ms (goal < {goal_s} s), check/read {:.2} (goal <= 3), peak RSS {:.0} MB",
        h.ops.len() / 2,
        r.partitions,
        r.valid.as_str(),
        ms(read),
        ms(check),
        ms(check) / ms(read),
        peak_rss_mb()
    );
    assert_eq!(r.valid, Verdict::Valid, "{label}: a generated correct history must be valid");
}

/// Where the kv-1m check's time goes: pairing and decoding (serial),
/// splitting by key (serial), the searches (parallel).
fn phases() {
    use checker::models::{Keyed, Kv};
    let spec = Spec { processes: 10, keys: 1000, ..Spec::new(Object::Kv, 1_000_000, 1) };
    let h = generate(&spec);
    let opts = CheckOptions::new(ModelKind::Kv);
    let model = Keyed::new(Kv);
    let (t_pair, _) = min_time(3, || history::pair(&h).unwrap());
    let (t_prep, ops) = min_time(3, || checker::prepare(&model, &h, &opts.semantics, opts.threads).unwrap());
    println!("phases: pair alone {:.0} ms", ms(t_pair));
    for t in [1, 2] {
        let (d, _) = min_time(3, || checker::prepare(&model, &h, &opts.semantics, t).unwrap());
        println!("phases: pair+decode with {t} decoding thread(s) {:.0} ms", ms(d));
    }
    let (t_part, _) = min_time(3, || checker::Model::partition(&model, &ops));
    let (t_all, _) = min_time(3, || checker::check_ops(&model, &ops, &opts));
    println!("phases: kv-1m on {} threads: pair+decode {:.0} ms, split {:.0} ms, split+search+merge {:.0} ms", opts.threads, ms(t_prep), ms(t_part), ms(t_all));
}

/// The list-append checker on generated valid histories of 10^4..10^6
/// transactions (4-8 micro-ops, 10 processes), strict serializable.
fn txn() {
    use checker::txn::{check_list_append, synth, Consistency};
    for n in [10_000, 100_000, 1_000_000] {
        let h = synth::generate(&synth::TxnSpec::new(n, 1));
        let reps = if n >= 1_000_000 { 1 } else { 3 };
        let held = rss_mb();
        reset_peak();
        let (t, r) = min_time(reps, || check_list_append(&h, Consistency::StrictSerializable).unwrap());
        println!(
            "txn: {n} list-append transactions: {} in {:.0} ms ({:.0} txns/s); the history held {held:.0} MB, the check's peak added {:.0} MB",
            r.valid.as_str(),
            ms(t),
            n as f64 / t.as_secs_f64(),
            peak_rss_mb() - held
        );
        if n == 1_000_000 {
            let mut h = h;
            synth::plant_cycles(&mut h);
            let (t, r) = min_time(1, || check_list_append(&h, Consistency::StrictSerializable).unwrap());
            let found: Vec<String> = r.anomalies.iter().map(|(k, g)| format!("{k} (cycle of {})", g.examples[0].cycle.len())).collect();
            println!("txn: {n} with a planted G1c and G2-item: {} in {:.0} ms: {}", r.valid.as_str(), ms(t), found.join(", "));
            assert!(r.anomalies.contains_key("G1c") && r.anomalies.contains_key("G2-item"), "both planted cycles found");
        }
    }
}

/// Wald's test against a fixed number of runs with the same error rates,
/// on simulated runs that violate with a known probability.
fn sprt() {
    use checker::sprt::{fixed_runs, Decision, Sprt};
    let (threshold, err, trials) = (0.05, 0.05, 4000u64);
    let probe = Sprt::new(threshold, err, err).unwrap();
    let (fixed, cut) = fixed_runs(probe.p0, probe.p1, err, err);
    println!(
        "sprt: threshold {:.0}% (tells <= {:.1}% from >= {:.0}%), error rates {:.0}%/{:.0}%; a fixed number of runs: {fixed} (above when more than {cut} violate)",
        threshold * 100.0,
        probe.p0 * 100.0,
        probe.p1 * 100.0,
        err * 100.0,
        err * 100.0
    );
    for rate in [0.01, 0.05, 0.20] {
        let mut rng = history::Rng::new(42);
        let (mut runs, mut above) = (Vec::new(), 0);
        for _ in 0..trials {
            let mut t = Sprt::new(threshold, err, err).unwrap();
            while t.observe(rng.chance(rate)) == Decision::Continue && t.runs < 100_000 {}
            above += usize::from(t.decision == Decision::Above);
            runs.push(t.runs);
        }
        runs.sort_unstable();
        let mean = runs.iter().sum::<usize>() as f64 / runs.len() as f64;
        println!(
            "sprt: true rate {:>4.1}%: mean {mean:.1} runs, median {}, p95 {} (fixed: {fixed}); decided above in {:.1}% of {trials} trials",
            rate * 100.0,
            runs[runs.len() / 2],
            runs[runs.len() * 95 / 100],
            above as f64 * 100.0 / trials as f64
        );
    }
}

fn main() {
    let only = std::env::args().nth(1).filter(|a| !a.starts_with('-'));
    let run = |name: &str| only.as_deref().is_none_or(|o| name.contains(o));
    if run("corpus") {
        corpus();
    }
    if run("kv-1m") {
        let spec = Spec { processes: 10, keys: 1000, ..Spec::new(Object::Kv, 1_000_000, 1) };
        read_vs_check("kv-1m", &generate(&spec), &CheckOptions::new(ModelKind::Kv), 10.0);
    }
    if run("phases") {
        phases();
    }
    if run("txn") {
        txn();
    }
    if run("sprt") {
        sprt();
    }
    if run("cas-100k") {
        let spec = Spec { processes: 5, ..Spec::new(Object::CasRegister, 100_000, 2) };
        read_vs_check("cas-100k", &generate(&spec), &CheckOptions::new(ModelKind::CasRegister), 5.0);
    }
    if run("info-1pct") {
        let spec = Spec { processes: 5, info_rate: 0.01, ..Spec::new(Object::CasRegister, 100_000, 3) };
        let h = generate(&spec);
        let mut opts = CheckOptions::new(ModelKind::CasRegister);
        opts.budget = Budget { deadline: Some(Instant::now() + Duration::from_secs(60)), max_bytes: 1 << 30, per_part: None };
        let s = Instant::now();
        let r = check_history(&h, &opts).unwrap();
        println!(
            "info-1pct: 100000 cas-register ops, 1% info, budget 60 s / 1 GiB: {} in {:.1} s ({}), peak RSS {:.0} MB",
            r.valid.as_str(),
            s.elapsed().as_secs_f64(),
            r.reason.as_deref().unwrap_or("decided"),
            peak_rss_mb()
        );
        assert_ne!(r.valid, Verdict::Invalid, "a generated correct history must not be invalid");
    }
}
