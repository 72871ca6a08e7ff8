//! The run's clock. A run of a system whose every wait is a tokio timer
//! (the in-memory one) goes on simulated time: its runtime starts paused
//! and jumps to the next timer whenever every task waits, so a minute of
//! faults and load takes the time its work takes, not a minute. Everything
//! that reads the time during a run reads it here: the runtime's clock
//! inside one, the real one elsewhere.

use std::time::{Duration, Instant};

/// Now, on the clock of the runtime this thread is in (simulated or real),
/// else the real clock.
pub fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// How long since `t`, on the same clock as [`now`].
pub fn since(t: Instant) -> Duration {
    now().saturating_duration_since(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_paused_runtime_jumps_its_timers_and_the_real_clock_does_not_move() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().unwrap();
        let real = Instant::now();
        let simulated = rt.block_on(async {
            let t0 = now();
            tokio::time::sleep(Duration::from_secs(3600)).await;
            since(t0)
        });
        assert!(simulated >= Duration::from_secs(3600), "{simulated:?}");
        assert!(real.elapsed() < Duration::from_secs(60), "an hour of simulated time took {:?}", real.elapsed());
        // outside a runtime: the real clock
        let t = now();
        assert!(since(t) < Duration::from_secs(1));
    }
}
