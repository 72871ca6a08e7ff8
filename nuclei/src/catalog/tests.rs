use super::*;
use crate::grudge::Grudge;
use serde_json::json;

/// A system's own faults: a log seal on the whole system, a wipe on one node.
const SEAL: Package =
    Package { kind: Kind::System { on_node: false, keeps: &["logs"] }, name: "seal-log", start_f: "seal-log", stop_f: "extend-log", color: "#90c890" };
const WIPE: Package =
    Package { kind: Kind::System { on_node: true, keeps: &[] }, name: "wipe-node", start_f: "wipe-node", stop_f: "rejoin-node", color: "#e0a0c8" };

fn sys(v: serde_json::Value) -> Fault {
    serde_json::from_value(v).unwrap()
}

#[test]
fn overlapping_windows_are_all_closed_last_opened_first() {
    let c = Catalog::shared();
    let kill = Fault::Kill { nodes: vec!["n1".into()] };
    let pause = Fault::Pause { nodes: vec!["n2".into()] };
    let part = Fault::StartPartition { grudge: Grudge::new(), ports: vec![] };
    let applied = [part.clone(), kill.clone(), pause.clone(), Fault::StopPartition];
    assert_eq!(c.closing(&applied), vec![Fault::Resume { nodes: vec!["n2".into()] }, Fault::Start { nodes: vec!["n1".into()] }]);
    assert_eq!(c.closing(&[kill, Fault::Start { nodes: vec!["n1".into()] }]), vec![]);
    assert_eq!(c.closing(&[part]), vec![Fault::StopPartition]);
}

#[test]
fn a_system_fault_is_undone_by_the_inverse_its_system_declares() {
    let c = Catalog::with(&[SEAL, WIPE]).unwrap();
    let seal = sys(json!({"f": "seal-log", "logs": [0], "retry_ms": 60000}));
    // the inverse keeps the logs, not the seal's own retry
    assert_eq!(c.inverse(&seal), Some(sys(json!({"f": "extend-log", "logs": [0]}))));
    let wipe = sys(json!({"f": "wipe-node", "nodes": ["n2"]}));
    assert_eq!(c.inverse(&wipe), Some(sys(json!({"f": "rejoin-node", "nodes": ["n2"]}))));
    assert_eq!(c.inverse(&sys(json!({"f": "extend-log", "logs": [0]}))), None);
    // a plan's explicit inverse closes the window; the wipe is still open
    let applied = [seal.clone(), wipe.clone(), sys(json!({"f": "extend-log", "logs": [0]}))];
    assert_eq!(c.closing(&applied), vec![sys(json!({"f": "rejoin-node", "nodes": ["n2"]}))]);
    // without the system's declaration, nothing is known of it
    let shared = Catalog::shared();
    assert!(!shared.knows(&seal) && c.knows(&seal) && c.knows(&sys(json!({"f": "rejoin-node"}))));
    assert_eq!(shared.inverse(&seal), None);
    assert!(!c.knows(&sys(json!({"f": "seal-lgo"}))));
}

#[test]
fn a_system_cannot_take_a_shared_name() {
    let mut kill = WIPE;
    kill.stop_f = "start";
    assert!(Catalog::with(&[kill]).unwrap_err().to_string().contains("\"start\""));
    assert!(Catalog::with(&[PACKAGES[0]]).is_err());
    assert!(Catalog::with(&[SEAL, SEAL]).is_err());
}

#[test]
fn packages_name_their_window_ops() {
    let c = Catalog::with(&[SEAL]).unwrap();
    let of = |f: &str| c.package_of(f).map(|(p, start)| (p.name, start));
    assert_eq!(of("stop-partition"), Some(("partition", false)));
    assert_eq!(of("kill"), Some(("kill", true)));
    assert_eq!(of("strobe-clock"), Some(("clock", true)));
    assert_eq!(of("extend-log"), Some(("seal-log", false)));
    assert_eq!(of("read"), None);
    assert_eq!(c.package("pause").map(|p| p.kind), Some(Kind::Pause));
    assert!(c.package("flood").is_none());
    let w = c.window_kinds();
    assert!(w.contains(&("strobe-clock".into(), "reset-clock".into(), "clock".into())));
    assert!(w.contains(&("isolate-primary".into(), "stop-partition".into(), "partition".into())));
    assert!(w.contains(&("seal-log".into(), "extend-log".into(), "seal-log".into())));
    // a corruption window: opened by any of three, closed by its own inverse
    assert_eq!(of("snapshot"), Some(("corrupt", true)));
    assert_eq!(of("restore"), Some(("corrupt", false)));
    assert_eq!(of("lose-unsynced"), Some(("lose-unsynced", true)));
    for (open, close) in [("bitflip", "start"), ("truncate", "start"), ("snapshot", "restore")] {
        assert!(w.contains(&(open.into(), close.into(), "corrupt".into())), "{open}: {w:?}");
    }
}

#[test]
fn a_schedule_draws_a_system_fault_with_its_inverse() {
    let nodes: Vec<String> = (1..=3).map(|i| format!("n{i}")).collect();
    let sp = crate::Spacing { healthy_ms: 1000, faulted_ms: 1000, random: false };
    let s = crate::schedule(&[WIPE, SEAL], &nodes, sp, 4000, &mut history::Rng::new(3));
    let fs: Vec<&str> = s.iter().map(|st| st.fault.f()).collect();
    assert_eq!(fs, ["wipe-node", "rejoin-node", "seal-log", "extend-log"]);
    let Fault::System(w) = &s[0].fault else { panic!("{s:?}") };
    assert_eq!(w.nodes.len(), 1);
    assert_eq!(Catalog::with(&[WIPE, SEAL]).unwrap().closing(&[s[0].fault.clone()]), vec![s[1].fault.clone()]);
}
