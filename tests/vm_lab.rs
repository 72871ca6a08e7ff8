//! The lab's `vm` backend on this machine (QEMU; software emulation where
//! KVM cannot run a stock kernel): three VMs with their own kernel come up
//! and answer over SSH, a clock bump of +60 s shows on that node only and a
//! reset restores it, netem delays a node's links and healing removes it;
//! a power cut loses what the node had not synced (the file's name too)
//! and keeps what it had, and the node boots again; etcd loses nothing
//! acknowledged when every node's power is cut at once; `lab down` leaves
//! no VM, tap, bridge or NAT rule. It takes the lab over
//! (one lab at a time) and leaves it down.

mod common;

use control::{Cluster, Cmd, NodeClient, NodesFile, Options};
use nuclei::{Fault, FaultError, Injector, Nemesis, Target};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;
use systems::etcd::Etcd;

fn faultline(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_faultline")).args(args).output().expect("run faultline")
}

fn avg_rtt_ms(cluster: &Cluster, from: usize, to: &str) -> f64 {
    let out = cluster.clients()[from].run(&Cmd::new(["ping", "-c", "4", "-i", "0.2", "-q", to])).unwrap().stdout;
    // rtt min/avg/max/mdev = 0.401/0.512/0.633/0.080 ms
    let stats = out.lines().find(|l| l.contains("min/avg/max")).unwrap_or_else(|| panic!("{out}"));
    stats.split('=').nth(1).unwrap().trim().split('/').nth(1).unwrap().parse().unwrap()
}

#[test]
fn vms_boot_skew_their_own_clocks_take_netem_and_go_away_cleanly() {
    assert!(faultline(&["lab", "down"]).status.success());
    let t0 = Instant::now();
    let o = faultline(&["lab", "up", "--backend", "vm", "--nodes", "3"]);
    assert!(o.status.success(), "lab up --backend vm: {}", String::from_utf8_lossy(&o.stderr));
    eprintln!("3 VMs up in {:.0} s", t0.elapsed().as_secs_f64());
    let path = String::from_utf8_lossy(&o.stdout).trim().to_string();
    let file = NodesFile::load(path.as_ref()).unwrap();
    assert_eq!(file.backend.as_deref(), Some("vm"));
    assert!(file.capabilities.clock_skew && file.capabilities.netem, "{:?}", file.capabilities);
    // a second up finds the running VMs
    let again = Instant::now();
    assert!(faultline(&["lab", "up", "--backend", "vm", "--nodes", "3"]).status.success());
    // (booting takes ~50 s here; finding them running, a few)
    assert!(again.elapsed().as_secs() < 20, "a second up must reuse the running VMs: {:?}", again.elapsed());
    // and an LXC lab is refused while they run
    let lxc = faultline(&["lab", "up"]);
    assert!(!lxc.status.success() && String::from_utf8_lossy(&lxc.stderr).contains("lab down"), "{lxc:?}");

    let cluster = Cluster::new(file.resolve(), Options::default());
    for (name, r) in cluster.run_all(&Cmd::new(["hostname"])) {
        assert_eq!(r.unwrap().stdout.trim(), name);
    }
    // its own kernel: not the host's
    let host_boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
    for (name, r) in cluster.run_all(&Cmd::new(["cat", "/proc/sys/kernel/random/boot_id"])) {
        assert_ne!(r.unwrap().stdout, host_boot, "{name} shares the host's kernel");
    }

    let nemesis = common::nemesis(file.resolve(), Etcd::slow());
    let t = Instant::now();
    let before = nemesis.clock_offsets();
    assert!(before.values().all(|o| o.abs() < 1000.0), "VM clocks start on the control node's: {before:?}");
    nemesis.apply(&Fault::BumpClock { offsets_ms: [("n2".to_string(), 60_000)].into() }, t).unwrap();
    let bumped = nemesis.clock_offsets();
    assert!((bumped["n2"] - 60_000.0).abs() < 2000.0, "{bumped:?}");
    assert!(bumped["n1"].abs() < 2000.0 && bumped["n3"].abs() < 2000.0, "only n2 moves: {bumped:?}");
    nemesis.apply(&Fault::ResetClock { nodes: vec!["n2".into()] }, t).unwrap();
    let reset = nemesis.clock_offsets();
    eprintln!("clock offsets (ms): before {before:?}, bumped {bumped:?}, reset {reset:?}");
    assert!(reset.values().all(|o| o.abs() < 1000.0), "reset restores the clock: {reset:?}");

    // strobe: n3 flips by +30 s every 0.5 s until reset stops the loop
    let strobe = Fault::StrobeClock { nodes: vec!["n3".into()], delta_ms: 30_000, period_ms: 500, duration_ms: 120_000 };
    nemesis.apply(&strobe, t).unwrap();
    let flipped = (0..40).map(|_| nemesis.clock_offsets()).find(|o| o["n3"] > 20_000.0);
    assert!(flipped.is_some(), "the strobe never moved n3's clock");
    nemesis.apply(&Fault::ResetClock { nodes: vec!["n3".into()] }, t).unwrap();
    // restored, and it stays so over several periods: the loop is gone
    for _ in 0..5 {
        let o = nemesis.clock_offsets();
        assert!(o.values().all(|v| v.abs() < 1000.0), "after the strobe's reset: {o:?}");
    }

    let base = avg_rtt_ms(&cluster, 1, "10.77.0.11");
    nemesis.apply(&Fault::StartSlow { nodes: vec!["n1".into()], delay_ms: 100, jitter_ms: 0, loss_pct: 0.0, reorder_pct: 0.0 }, t).unwrap();
    let slow = avg_rtt_ms(&cluster, 1, "10.77.0.11");
    assert!(slow >= base + 80.0, "netem delay: {base} ms -> {slow} ms");
    let errs = nemesis.heal_all();
    assert!(errs.is_empty(), "{errs:?}");
    let healed = avg_rtt_ms(&cluster, 1, "10.77.0.11");
    assert!(healed < base + 50.0, "healed: {base} ms -> {healed} ms");
    for (name, r) in cluster.run_all(&Cmd::script("tc qdisc show dev eth0 | grep -c netem || true")) {
        assert_eq!(r.unwrap().stdout.trim(), "0", "{name}: netem left");
    }
    drop(cluster);

    // a whole run with clock and netem faults on the VMs: it reaches a
    // verdict, and afterwards no clock offset, netem or rule remains
    let store = std::env::temp_dir().join(format!("faultline-vm-runs-{}", std::process::id()));
    let o = faultline(&[
        "run",
        "--store",
        store.to_str().unwrap(),
        "--workload",
        "register",
        "--nemesis",
        "clock,slow",
        "--time-limit",
        "20",
        "--recovery-window",
        "5",
        "--rate",
        "20",
        "--interval",
        "3",
        "--fault-duration",
        "4",
    ]);
    let dir = String::from_utf8_lossy(&o.stdout).trim().to_string();
    assert!(matches!(o.status.code(), Some(0) | Some(1)), "run on VMs: {:?} {}", o.status, String::from_utf8_lossy(&o.stderr));
    let history = std::fs::read_to_string(format!("{dir}/history.jsonl")).unwrap();
    assert!(history.contains("\"bump-clock\"") && history.contains("\"start-slow\""), "both faults ran");
    let cluster = Cluster::new(file.resolve(), Options::default());
    let after = common::nemesis(file.resolve(), Etcd::slow()).clock_offsets();
    assert!(after.values().all(|o| o.abs() < 1000.0), "clocks after the run: {after:?}");
    for (node, left) in nuclei::leftovers(&cluster) {
        assert!(left.is_clean(), "{node}: {left} after the run");
    }
    for (name, r) in cluster.run_all(&Cmd::script("tc qdisc show dev eth0 | grep -c netem || true")) {
        assert_eq!(r.unwrap().stdout.trim(), "0", "{name}: netem left after the run");
    }
    drop(cluster);

    power_cuts(&file, &store);

    assert!(faultline(&["lab", "down"]).status.success());
    let qemus = Command::new("pgrep").args(["-f", "qemu-system-x86_64 -name faultline-"]).output().unwrap();
    assert!(qemus.stdout.is_empty(), "VMs left: {}", String::from_utf8_lossy(&qemus.stdout));
    let links = String::from_utf8_lossy(&Command::new("ip").args(["-o", "link"]).output().unwrap().stdout).into_owned();
    assert!(!links.contains("fltap") && !links.contains("flbr0"), "{links}");
    let nat = String::from_utf8_lossy(&Command::new("iptables-save").output().unwrap().stdout).into_owned();
    assert!(!nat.contains("faultline-lab"), "NAT rules left");
}

/// A system that leaves a mark when it is started.
struct Marker;

impl Target for Marker {
    fn name(&self) -> &str {
        "marker"
    }
    fn can_kill(&self) -> bool {
        true
    }
    fn kill(&self, _: &NodeClient) -> Result<(), FaultError> {
        Ok(())
    }
    fn restart(&self, node: &NodeClient) -> Result<(), FaultError> {
        node.run(&Cmd::new(["touch", "/run/marker-started"])).map(|_| ()).map_err(|e| FaultError::Node(node.node().name.clone(), e.to_string()))
    }
}

/// A node's power cut: what it synced stays, what it did not is gone (its
/// name too: metadata is lost as well), it boots again with faultline's
/// chains and its clock, and the system is started. Then a run of etcd
/// whose every node loses its power at once: nothing acknowledged is lost.
fn power_cuts(file: &NodesFile, store: &std::path::Path) {
    assert!(file.power.is_some(), "the VM nodes have a power switch");
    let cluster = Arc::new(Cluster::new(file.resolve(), Options::default()));
    let n1 = cluster.node("n1").unwrap();
    n1.run(&Cmd::script("echo synced > /root/synced && sync && echo unsynced > /root/unsynced")).unwrap();
    let nemesis = Nemesis::new(cluster.clone(), Arc::new(Marker));
    nemesis.preflight(&[Fault::PowerCut { nodes: vec![] }.needs()]).unwrap();
    let t = Instant::now();
    nemesis.apply(&Fault::PowerCut { nodes: vec!["n1".into()] }, t).unwrap();
    assert!(n1.probe().is_err(), "n1 answers with its power cut");
    // the heal switches it on (the same power-on a plan's inverse runs;
    // each node's boot time is checked in the run below)
    assert!(nemesis.heal_all().is_empty());
    let files = n1.run(&Cmd::script("cat /root/synced; ls /root; ls /run/marker-started; iptables -S | grep -c faultline")).unwrap().stdout;
    assert!(files.starts_with("synced\n") && !files.contains("unsynced"), "after the power cut: {files}");
    assert!(files.contains("/run/marker-started"), "the system is started after the boot: {files}");
    assert!(files.trim_end().lines().last().and_then(|n| n.parse::<u32>().ok()).is_some_and(|n| n > 0), "faultline's chains made again: {files}");
    let offsets = nemesis.clock_offsets();
    assert!(offsets["n1"].abs() < 1000.0, "the booted VM's clock is the control node's: {offsets:?}");
    // `faultline heal` switches on a node left off by a run killed while its power was cut
    nemesis.apply(&Fault::PowerCut { nodes: vec!["n3".into()] }, t).unwrap();
    drop(nemesis);
    let heal = faultline(&["heal"]);
    assert!(heal.status.success(), "faultline heal: {}", String::from_utf8_lossy(&heal.stderr));
    assert!(cluster.node("n3").unwrap().probe().is_ok(), "faultline heal switched n3 on");

    let plan = store.join("power-plan.json");
    std::fs::write(
        &plan,
        r#"[{"at_ms": 5000, "fault": {"f": "power-cut", "nodes": ["n1", "n2", "n3"]}},
            {"at_ms": 7000, "fault": {"f": "power-on", "nodes": ["n1", "n2", "n3"]}}]"#,
    )
    .unwrap();
    let o = faultline(&[
        "run",
        "--store",
        store.to_str().unwrap(),
        "--db",
        "etcd",
        "--workload",
        "set",
        "--fault-plan",
        plan.to_str().unwrap(),
        "--time-limit",
        "80",
        "--recovery-window",
        "10",
        "--rate",
        "20",
    ]);
    let dir = std::path::PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
    // (a boot slower than the time limit leaves recovery unobserved: exit 2)
    assert!(matches!(o.status.code(), Some(0) | Some(2)), "etcd through a power cut of every node: {:?} {}", o.status, String::from_utf8_lossy(&o.stderr));
    let results: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    let set = &results["checks"]["set"];
    assert_eq!(set["valid"], "valid", "etcd fsyncs every commit: nothing acknowledged is lost: {set}");
    assert!(set["acknowledged"].as_u64().unwrap() > 50, "{set}");
    let history = std::fs::read_to_string(dir.join("history.jsonl")).unwrap();
    let booted = history.lines().filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()).find(|v| v["f"] == "power-on" && v["type"] == "info");
    let booted = booted.unwrap_or_else(|| panic!("no power-on in {}", dir.display()));
    assert_eq!(booted["value"]["boot_ms"].as_object().map(|m| m.len()), Some(3), "{booted}");
    eprintln!("etcd through a power cut of every node: {set}; boots {}", booted["value"]["boot_ms"]);
    // (this process's sessions died with the nodes' power)
    let cluster = Cluster::new(file.resolve(), Options::default());
    for (node, left) in nuclei::leftovers(&cluster) {
        assert!(left.is_clean(), "{node}: {left} after the power-cut run");
    }
}
