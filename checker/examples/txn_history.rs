//! Writes a generated list-append history as faultline JSON lines, for
//! measuring `faultline check` as a user runs it:
//! `cargo run --release -p faultline-checker --example txn_history -- 1000000 FILE [--plant]`.

use checker::txn::synth::{generate, plant_cycles, TxnSpec};
use history::{Header, JsonlWriter};

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(n), Some(path)) = (args.get(1).and_then(|n| n.parse().ok()), args.get(2)) else {
        eprintln!("usage: txn_history TRANSACTIONS FILE [--plant]");
        std::process::exit(2);
    };
    let mut h = generate(&TxnSpec::new(n, 1));
    if args.iter().any(|a| a == "--plant") {
        plant_cycles(&mut h);
    }
    let header = Header { workload: Some("list-append".into()), ..Header::new(0) };
    let mut w = JsonlWriter::create(std::path::Path::new(path), &header)?;
    for op in &h.ops {
        w.append(op)?;
    }
    w.sync()
}
