//! Control-plane and lab benchmarks on real LXC nodes (needs root):
//! `cargo bench --bench control [-- --from-scratch]`. Figures go to
//! BENCHMARKS.md.

use control::{Cluster, Cmd, NodeClient, NodesFile, Options};
use std::process::Command;
use std::time::{Duration, Instant};

fn faultline(args: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_faultline")).args(args).output().unwrap();
    assert!(o.status.success(), "faultline {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

fn timed(args: &[&str]) -> Duration {
    let t = Instant::now();
    faultline(args);
    t.elapsed()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn percentile(mut v: Vec<Duration>, p: f64) -> Duration {
    v.sort();
    v[((v.len() - 1) as f64 * p).round() as usize]
}

/// (busy, total) CPU ticks of the whole machine, from /proc/stat.
fn cpu_ticks() -> (u64, u64) {
    let s = std::fs::read_to_string("/proc/stat").unwrap();
    let v: Vec<u64> = s.lines().next().unwrap().split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
    let total: u64 = v.iter().sum();
    (total - v[3] - v[4], total)
}

fn main() {
    let scratch = std::env::args().any(|a| a == "--from-scratch");
    if scratch {
        faultline(&["lab", "down", "--purge"]);
        println!(
            "lab up 3 nodes from nothing (no base: debootstrap from the mirror): {:.1} s (goal < 180 s)",
            timed(&["lab", "up", "--nodes", "3"]).as_secs_f64()
        );
    }
    faultline(&["lab", "down"]);
    println!("lab up 3 nodes from a ready base: {:.2} s (goal < 10 s)", timed(&["lab", "up", "--nodes", "3"]).as_secs_f64());
    println!("lab up 3 nodes when already up: {:.2} s", timed(&["lab", "up", "--nodes", "3"]).as_secs_f64());

    let nodes = NodesFile::load(faultline(&["lab", "up", "--nodes", "5"]).as_ref()).unwrap().resolve();
    let one = NodeClient::new(nodes[0].clone(), Options::default());
    let t = Cmd::new(["true"]);
    one.run(&t).unwrap();
    let reused: Vec<Duration> = (0..300).map(|_| one.run(&t).unwrap().elapsed).collect();
    let fresh: Vec<Duration> = (0..20)
        .map(|_| {
            let c = NodeClient::new(nodes[0].clone(), Options::default());
            let s = Instant::now();
            c.run(&t).unwrap();
            s.elapsed()
        })
        .collect();
    let exec_mode = Options { persistent_shell: false, ..Options::default() };
    let one_exec = NodeClient::new(nodes[0].clone(), exec_mode);
    one_exec.run(&t).unwrap();
    let channel_each: Vec<Duration> = (0..300).map(|_| one_exec.run(&t).unwrap().elapsed).collect();
    let (m, p99, f) = (percentile(reused.clone(), 0.5), percentile(reused, 0.99), percentile(fresh, 0.5));
    let m_exec = percentile(channel_each, 0.5);
    println!(
        "command round trip, reused session, a new channel per command (exec, the baseline): median {:.2} ms; persistent shell / exec {:.2}",
        ms(m_exec),
        ms(m) / ms(m_exec)
    );
    println!(
        "command round trip, reused session: median {:.2} ms, p99 {:.2} ms (goal median <= 20 ms); new connection each time: median {:.1} ms; ratio {:.3}",
        ms(m),
        ms(p99),
        ms(f),
        ms(m) / ms(f)
    );
    // CPU the whole machine spends per command (client, sshd, the command)
    let (b0, t0) = cpu_ticks();
    for _ in 0..300 {
        one.run(&t).unwrap();
    }
    let (b1, t1) = cpu_ticks();
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) as f64;
    let busy = (b1 - b0) as f64 / (t1 - t0).max(1) as f64 * cores;
    println!("sequential commands on one node keep {busy:.2} of {cores} cores busy");
    for (mode, opts, single) in [("persistent shell", Options::default(), m), ("exec per command", exec_mode, m_exec)] {
        for k in [2, 3, 5] {
            let cluster = Cluster::new(nodes[..k].to_vec(), opts);
            cluster.run_all_ok(&t).unwrap();
            let all: Vec<Duration> = (0..200)
                .map(|_| {
                    let s = Instant::now();
                    cluster.run_all_ok(&t).unwrap();
                    s.elapsed()
                })
                .collect();
            let a = percentile(all, 0.5);
            println!(
                "{mode}: one command on {k} nodes in parallel: median {:.2} ms vs one node {:.2} ms: ratio {:.2} (goal for 5: <= 2)",
                ms(a),
                ms(single),
                ms(a) / ms(single)
            );
        }
    }
    faultline(&["lab", "up", "--nodes", "3"]);
}
