//! Stopping a run: a token every part of it watches (the load, the fault
//! schedule, the loops that repeat runs), set by whoever runs it, or, for
//! the process's own runs, by Ctrl-C or SIGTERM. A stopped run still heals,
//! checks what was recorded and reports.

use crate::exit;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

/// A run's stop token: cheap to clone, shared by everything that stops
/// with the run.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// A token nobody has set.
    pub fn new() -> Cancel {
        Cancel::default()
    }

    /// Sets it; true if it was set already.
    pub fn cancel(&self) -> bool {
        self.0.swap(true, Ordering::SeqCst)
    }

    /// True once set.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// The process's token, set by Ctrl-C or SIGTERM; its one handler is
    /// installed on first use (under `--repeat` one Ctrl-C is one
    /// interrupt, not one per run), and a second signal leaves at once
    /// (exit 130: a heal that hangs would otherwise need SIGKILL).
    pub fn on_signals() -> Cancel {
        static PROCESS: OnceLock<Cancel> = OnceLock::new();
        PROCESS
            .get_or_init(|| {
                let token = Cancel::new();
                let set = token.clone();
                std::thread::spawn(move || watch_signals(&set));
                token
            })
            .clone()
    }
}

/// What an interrupt does, by whether one came before it.
#[derive(Debug, PartialEq)]
enum OnInterrupt {
    /// The first: stop the workload, heal, check what was recorded.
    Stop,
    /// Another: leave at once.
    Exit,
}

fn on_interrupt(already: bool) -> OnInterrupt {
    if already {
        OnInterrupt::Exit
    } else {
        OnInterrupt::Stop
    }
}

/// Sets `token` at each Ctrl-C or SIGTERM; leaves at the second.
fn watch_signals(token: &Cancel) {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
    rt.block_on(async {
        let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) else { return };
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            match on_interrupt(token.cancel()) {
                OnInterrupt::Stop => {
                    eprintln!("faultline: interrupted: stopping the workload, healing, checking what was recorded (interrupt again to leave at once)")
                }
                OnInterrupt::Exit => {
                    eprintln!("faultline: second interrupt: leaving now; faults may still be active on the nodes: `faultline heal` undoes them");
                    std::process::exit(exit::INTERRUPTED);
                }
            }
        }
    });
}

/// True once the process's runs were interrupted (Ctrl-C or SIGTERM).
pub fn cancelled() -> bool {
    Cancel::on_signals().is_cancelled()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_shared_by_its_clones_and_the_second_interrupt_leaves() {
        let a = Cancel::new();
        let b = a.clone();
        assert!(!b.is_cancelled());
        assert!(!a.cancel(), "the first");
        assert!(b.is_cancelled() && a.cancel(), "seen by every clone; a second says so");
        assert!(!Cancel::new().is_cancelled(), "another run's token is its own");
        assert_eq!((on_interrupt(false), on_interrupt(true)), (OnInterrupt::Stop, OnInterrupt::Exit));
    }
}
