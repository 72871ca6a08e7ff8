//! `faultline explore` on the in-memory system on simulated time: the
//! narrow bug (a pause on a node less than 1 s after the partition that
//! cut it off healed loses what was acknowledged since the heal) is found
//! by the guided search and shrunk to the two windows it needs; and
//! `faultline coverage` reads what the search's runs covered.

use explore::Corpus;
use nuclei::Fault;
use std::path::PathBuf;
use std::process::Command;

fn faultline(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_faultline")).args(args).output().unwrap()
}

#[test]
fn explore_finds_and_shrinks_the_narrow_in_memory_bug_and_coverage_reads_its_runs() {
    let store = std::env::temp_dir().join(format!("faultline-explore-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&store);
    let s = store.to_str().unwrap();
    let args = [
        "explore",
        "--db",
        "memory",
        "--workload",
        "set",
        "--bug",
        "pause-while-catching-up",
        "--nemesis",
        "partition,pause",
        "--interval",
        "1.8",
        "--fault-duration",
        "1.8",
        "--time-limit",
        "12",
        "--recovery-window",
        "2",
        "--seed",
        "5",
        "--runs",
        "60",
        "--stop-at-first",
        "--rate",
        "30",
        "--final-runs",
        "4",
        "--store",
        s,
    ];
    let o = faultline(&args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "a violation found: {}", &err[err.len().saturating_sub(3000)..]);
    let out = store.join("explore-memory-set-guided");
    let c: Corpus = Corpus::load(&out.join("explore.json")).unwrap().expect("the search is stored");
    let first = c.first_failure().expect("a run failed");
    assert_eq!(c.runs.len(), first, "it stopped at the first violation");
    assert!(c.runs.iter().any(|r| r.how == "mutated"), "plans were mutated: {:?}", c.runs.iter().map(|r| &r.how).collect::<Vec<_>>());
    assert!(c.runs.windows(2).all(|w| w[1].covered >= w[0].covered), "coverage never shrinks");
    let found = &c.found[0];
    assert_eq!(found.failures, ["set"], "{found:?}");
    // shrunk to what the bug needs: a partition and, within 1 s of its
    // heal, a pause (the other windows gone)
    let plan = &found.plan;
    let healed = plan.iter().filter(|s| s.fault == Fault::StopPartition).map(|s| s.at_ms).collect::<Vec<_>>();
    let paused = plan.iter().filter(|s| matches!(s.fault, Fault::Pause { .. })).map(|s| s.at_ms).collect::<Vec<_>>();
    assert!(paused.iter().any(|p| healed.iter().any(|h| *p >= *h && p - h < 1000)), "a pause within 1 s of a heal: {plan:?}");
    assert!(plan.len() <= 4, "two windows at most: {plan:?}");
    let (failed, replays) = found.rate.expect("its failure rate was measured");
    assert!(failed > 0 && replays == 4, "{failed} of {replays}");
    let html = std::fs::read_to_string(out.join("explore.html")).unwrap();
    assert!(html.contains("First violation at run") && html.contains("<polyline"), "the report draws coverage and names the violation");
    assert!(html.contains("failed 4 of 4 replays") || html.contains("of 4 replays"), "the shrunk plan's rate");

    // coverage over the same runs (the shrink's replays are in the store too)
    let o = faultline(&["coverage", out.parent().unwrap().join("memory-set").to_str().unwrap()]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{text}{}", String::from_utf8_lossy(&o.stderr));
    assert!(text.starts_with(&format!("{} runs: ", first)), "{text}");
    assert!(text.contains("  partition: ") && text.contains("  pause: "), "features per fault kind: {text}");
    let _ = std::fs::remove_dir_all(PathBuf::from(s));
}

#[test]
fn explore_refuses_a_plan_and_a_search_without_faults() {
    let o = faultline(&["explore", "--db", "memory", "--nemesis", "none", "--runs", "1"]);
    assert_eq!(o.status.code(), Some(254));
    assert!(String::from_utf8_lossy(&o.stderr).contains("explore needs faults to draw"), "{}", String::from_utf8_lossy(&o.stderr));
    let o = faultline(&["explore", "--db", "memory", "--nemesis", "kill", "--repeat", "3"]);
    assert_eq!(o.status.code(), Some(254));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not --repeat"), "{}", String::from_utf8_lossy(&o.stderr));
    let o = faultline(&["coverage", "/nonexistent/store"]);
    assert_eq!(o.status.code(), Some(254));
}

#[test]
fn a_search_resumes_from_its_store_and_random_is_a_search_of_its_own() {
    let store = std::env::temp_dir().join(format!("faultline-explore-resume-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&store);
    let s = store.to_str().unwrap();
    let base = [
        "explore",
        "--db",
        "memory",
        "--workload",
        "set",
        "--nemesis",
        "partition,kill",
        "--time-limit",
        "6",
        "--recovery-window",
        "1",
        "--seed",
        "3",
        "--store",
        s,
    ];
    let o = faultline(&[&base[..], &["--runs", "2"][..]].concat());
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let o = faultline(&[&base[..], &["--runs", "3"][..]].concat());
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("resuming") && err.contains("after 2 runs"), "{err}");
    let c: Corpus = Corpus::load(&store.join("explore-memory-set-guided/explore.json")).unwrap().unwrap();
    assert_eq!(c.runs.len(), 3, "2 runs, then 1 more");
    // the baseline is stored apart, every plan drawn
    let o = faultline(&[&base[..], &["--runs", "1", "--random"][..]].concat());
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let r: Corpus = Corpus::load(&store.join("explore-memory-set-random/explore.json")).unwrap().unwrap();
    assert!(r.runs.len() == 1 && r.runs.iter().all(|t| t.how == "random"), "{:?}", r.runs);
    let _ = std::fs::remove_dir_all(&store);
}
