//! `faultline bench-runner`: the runner's own throughput and added latency.

use crate::load;
use crate::options::RunConfig;
use crate::recorder::Recorder;
use crate::{exit, Cancel};
use history::{Header, OpType, Process};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use systems::stdio::{ClientCommand, StdioClient};
use systems::{Client, Endpoint, NoopClient, Topology};
use workloads::{Generator, Workload};

/// `faultline bench-runner`: the runner against an in-process no-op client
/// (or, with `stdio`, the reference stdio client, one program a process),
/// to measure its own throughput and added latency (BENCHMARKS.md).
pub fn bench_runner(seconds: f64, concurrency: usize, rate: f64, stdio: bool) -> i32 {
    let dir = std::env::temp_dir().join(format!("faultline-bench-runner-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("history.jsonl");
    let cfg = RunConfig { concurrency, rate, op_timeout: 1.0, ..RunConfig::default() };
    let Ok(rt) = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() else { return exit::INTERNAL };
    let t0 = Instant::now();
    let Ok((rec, writer)) = Recorder::start(&path, &Header::new(0), t0) else { return exit::INTERNAL };
    let topo = Topology { nodes: (1..=3).map(|i| (format!("n{i}"), String::new())).collect() };
    let Ok(me) = std::env::current_exe() else { return exit::INTERNAL };
    let reference = Arc::new(ClientCommand { argv: vec![me.display().to_string(), "client-reference".into()], dir: dir.clone(), env: Vec::new(), fs: None });
    let clients = |node: usize, process: u64| -> Box<dyn Client> {
        if stdio {
            let at = Endpoint { node: format!("n{}", node + 1), address: String::new(), process, nodes: String::new() };
            Box::new(StdioClient::new(reference.clone(), at, Duration::from_secs(1)))
        } else {
            Box::new(NoopClient)
        }
    };
    let generator: Mutex<Box<dyn Generator>> = Mutex::new(workloads::Register.generator(concurrency, 1));
    let end = load::Deadline::new(t0, Duration::from_secs_f64(seconds), Duration::ZERO, Cancel::on_signals());
    rt.block_on(load::drive(&cfg, &clients, &generator, &rec, &topo, &end, 7));
    let elapsed = t0.elapsed().as_secs_f64();
    drop(rec);
    let _ = writer.join();
    let Ok((_, h)) = history::load(&path, Some(history::Format::Jsonl)) else { return exit::INTERNAL };
    let mut open = std::collections::HashMap::new();
    let mut lat: Vec<u64> = Vec::new();
    for op in &h.ops {
        if let Process::Client(p) = op.process {
            if op.kind == OpType::Invoke {
                open.insert(p, op.time);
            } else if let Some(t) = open.remove(&p) {
                lat.push(op.time - t);
            }
        }
    }
    lat.sort_unstable();
    let q = |f: f64| lat.get(((lat.len().max(1) - 1) as f64 * f) as usize).copied().unwrap_or(0) as f64 / 1e6;
    println!(
        "runner, {} client, {concurrency} processes, asked {rate} ops/s: {:.0} ops/s sustained over {elapsed:.1} s ({} ops); added latency p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        if stdio { "stdio reference" } else { "no-op" },
        lat.len() as f64 / elapsed,
        lat.len(),
        q(0.5),
        q(0.99),
        q(1.0)
    );
    let _ = std::fs::remove_dir_all(&dir);
    exit::VALID
}
