//! Ctrl-C on `faultline run` (issue 22's bug 2): one interrupt is one, under
//! `--repeat` too, and a second one leaves at once, even while a heal hangs.
//! The in-memory system: no lab. Each signal is sent once a condition holds
//! (the run's history has client ops; the first interrupt was taken).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn store(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("faultline-interrupt-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Starts `faultline run ARGS`; its stderr is collected as it comes.
fn start(args: &[&str]) -> (Child, Arc<Mutex<String>>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_faultline")).args(args).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let err = Arc::new(Mutex::new(String::new()));
    let (pipe, sink) = (child.stderr.take().unwrap(), err.clone());
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            let mut s = sink.lock().unwrap();
            s.push_str(&line);
            s.push('\n');
        }
    });
    (child, err)
}

/// Waits for `cond` (checked every 50 ms), failing with `what` after 60 s.
fn wait_for(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !cond() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The run directories under `dir` whose history already has client ops.
fn runs_with_ops(dir: &Path) -> usize {
    let Ok(d) = std::fs::read_dir(dir) else { return 0 };
    d.filter_map(Result::ok).filter(|e| std::fs::read_to_string(e.path().join("history.jsonl")).is_ok_and(|t| t.contains("\"type\":\"invoke\""))).count()
}

fn interrupt(child: &Child) {
    assert!(Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap().success());
}

/// Waits up to `limit` for the child to end; its exit code (killed and
/// `None` past the limit).
fn ended_within(child: &mut Child, limit: Duration) -> Option<i32> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(s) = child.try_wait().unwrap() {
            return s.code();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

#[test]
fn one_interrupt_under_repeat_is_one_interrupt() {
    let s = store("repeat");
    // on the real clock: an interrupt comes while a run goes on
    let args =
        ["run", "--db", "memory", "--real-time", "--workload", "set", "--nemesis", "none", "--repeat", "3", "--time-limit", "20", "--recovery-window", "0.5"];
    let (mut child, err) = start(&[&args[..], &["--store", s.to_str().unwrap()]].concat());
    // in the second run, with its load going: one handler per run would take this twice
    wait_for("the second run's client ops", || runs_with_ops(&s.join("memory-set")) == 2);
    interrupt(&child);
    let code = ended_within(&mut child, Duration::from_secs(60));
    let err = err.lock().unwrap().clone();
    assert!(matches!(code, Some(0..=2)), "the run ends with its verdict: {code:?}\n{err}");
    assert_eq!(err.matches("faultline: interrupted").count(), 1, "{err}");
    assert!(!err.contains("second interrupt") && !err.contains("run 3 of 3"), "{err}");
}

#[test]
fn a_second_interrupt_leaves_at_once_while_a_heal_hangs() {
    let s = store("second");
    let (mut child, err) = start(&[
        "run",
        "--db",
        "memory",
        "--real-time",
        "--workload",
        "set",
        "--nemesis",
        "none",
        "--bug",
        "hanging-heal",
        "--time-limit",
        "30",
        "--store",
        s.to_str().unwrap(),
    ]);
    wait_for("the run's client ops", || runs_with_ops(&s.join("memory-set")) == 1);
    interrupt(&child);
    wait_for("the first interrupt taken", || err.lock().unwrap().contains("faultline: interrupted"));
    interrupt(&child);
    // the heal hangs 60 s: only leaving at once ends the process sooner
    let code = ended_within(&mut child, Duration::from_secs(20));
    let err = err.lock().unwrap().clone();
    assert_eq!(code, Some(130), "{err}");
    assert!(err.contains("second interrupt") && err.contains("faultline heal"), "{err}");
}
