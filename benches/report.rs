//! The report of a 1,000,000-op history: render time and HTML size
//! (`cargo bench --bench report`). Goal: under 10 s and under 15 MB.

use checker::recovery::check_recovery;
use checker::slo::Slos;
use checker::synth::{generate, Object, Spec};
use history::{Op, OpType, Process};
use reports::{render_run, RunReport, Shade};
use serde_json::json;
use std::time::Instant;

fn main() {
    let spec = Spec { processes: 10, keys: 100, ..Spec::new(Object::KeyedCasRegister, 1_000_000, 1) };
    let mut h = generate(&spec);
    // spread over 10 minutes, nodes by process, a partition window every 60 s
    let n = h.ops.len() as u64;
    let mut ops = Vec::with_capacity(h.ops.len() + 40);
    for (i, mut op) in h.ops.drain(..).enumerate() {
        op.time = i as u64 * 600_000_000_000 / n;
        if let Process::Client(p) = op.process {
            op.node = Some(format!("n{}", p % 3 + 1));
        }
        let t = op.time;
        ops.push(op);
        if i % (n as usize / 20) == 0 && i > 0 {
            let f = if (i / (n as usize / 20)) % 2 == 1 { "start-partition" } else { "stop-partition" };
            for kind in [OpType::Invoke, OpType::Info] {
                let mut o = Op::new(Process::Nemesis, kind, f, json!({}));
                o.time = t;
                ops.push(o);
            }
        }
    }
    h.ops = ops;
    h.lines = (1..=h.ops.len()).collect();
    let windows = nuclei::PACKAGES.iter().map(|p| (p.start_f.to_string(), p.stop_f.to_string(), p.name.to_string())).collect();
    let rec = check_recovery(&h, &Slos::default().recovery_options(windows));
    let mut results = results::RunResults { summary: "bench".into(), ..Default::default() };
    results.checks.recovery = Some(rec.clone());
    let test = results::TestRecord { name: "bench".into(), seed: 1, ..Default::default() };
    let shades: Vec<Shade> =
        rec.windows.iter().map(|w| Shade { label: w.fault.clone(), start: w.start_s, end: w.healed_at_s.unwrap_or(600.0), color: "#e8a0a0".into() }).collect();
    let start = Instant::now();
    let html = render_run(&RunReport {
        test: &test,
        results: &results,
        history: &h,
        shades,
        logs: vec![],
        findings: "<h2>Linearizability: valid</h2>".into(),
        system: String::new(),
    });
    let secs = start.elapsed().as_secs_f64();
    println!(
        "report of a {}-op history ({} lines): rendered in {secs:.2} s (goal < 10 s), {:.1} MB of HTML (goal < 15 MB)",
        spec.ops,
        h.ops.len(),
        html.len() as f64 / 1e6
    );
}
