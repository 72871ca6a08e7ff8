//! The lifecycle's one teardown guard: once the system is installed, every
//! way out of a run (the end, an early return, a panic unwinding) heals
//! every fault and removes the nemesis's chains first, then stops the
//! system (unless `--keep`).

use crate::system::System;
use crate::Log;
use nuclei::Injector;

/// Heals and stops the system under test on every path once armed.
pub(crate) struct Teardown<'a> {
    system: &'a dyn System,
    /// Set once the nemesis was set up: what must be healed.
    injector: Option<&'a dyn Injector>,
    keep: bool,
    log: &'a Log,
    done: bool,
}

impl<'a> Teardown<'a> {
    /// Guards `system` (installed, perhaps started); `keep` leaves it running.
    pub(crate) fn new(system: &'a dyn System, keep: bool, log: &'a Log) -> Teardown<'a> {
        Teardown { system, injector: None, keep, log, done: false }
    }

    /// From now on faults are healed too (the nemesis was set up).
    pub(crate) fn heal_with(&mut self, injector: &'a dyn Injector) {
        self.injector = Some(injector);
    }

    /// Heals, then stops the system now: the problems met, each also logged.
    pub(crate) fn finish(mut self) -> Vec<String> {
        self.done = true;
        self.run()
    }

    fn run(&self) -> Vec<String> {
        let mut problems: Vec<String> = self.injector.map(|i| i.teardown()).unwrap_or_default().iter().map(|e| format!("heal: {e}")).collect();
        if !self.keep {
            problems.extend(self.system.teardown().into_iter().map(|e| format!("teardown: {e}")));
        }
        for p in &problems {
            self.log.say(p);
        }
        problems
    }
}

impl Drop for Teardown<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.run();
        }
    }
}
