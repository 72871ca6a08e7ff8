//! faultline.log, and on a terminal a live progress bar with the log lines
//! printed above it (indicatif clears the bar, prints the line, redraws).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

/// faultline.log: timestamped lines, also on stderr (above the progress
/// bar while one shows).
pub struct Log {
    file: Mutex<std::fs::File>,
    bar: Mutex<Option<ProgressBar>>,
    fault: Mutex<String>,
}

/// What the progress bar shows besides the time.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Tally {
    /// Workload ops that succeeded in the last second.
    pub ok_per_s: u64,
    /// Workload ops failed so far.
    pub fail: u64,
    /// Workload ops indeterminate so far.
    pub info: u64,
}

impl Log {
    /// A log writing to `path`.
    pub fn new(path: &Path) -> std::io::Result<Log> {
        Ok(Log { file: Mutex::new(std::fs::File::create(path)?), bar: Mutex::new(None), fault: Mutex::new(String::new()) })
    }

    /// Logs a line.
    pub fn say(&self, msg: &str) {
        let line = format!("{} {msg}", chrono::Local::now().format("%H:%M:%S%.3f"));
        match &*self.bar.lock().unwrap_or_else(|e| e.into_inner()) {
            Some(bar) if !bar.is_finished() => bar.println(&line),
            _ => eprintln!("{line}"),
        }
        let _ = writeln!(self.file.lock().unwrap_or_else(|e| e.into_inner()), "{line}");
    }

    /// Shows a progress bar of `total` on stderr when it is a terminal.
    pub fn start_progress(&self, total: Duration) {
        if std::io::stderr().is_terminal() {
            self.start_progress_on(total, ProgressDrawTarget::stderr());
        }
    }

    /// Shows a progress bar of `total` on `target`.
    pub fn start_progress_on(&self, total: Duration, target: ProgressDrawTarget) {
        let bar = ProgressBar::with_draw_target(Some(total.as_secs().max(1)), target);
        let style = ProgressStyle::with_template("{elapsed:>4} {wide_bar} {msg}").unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style.progress_chars("=> "));
        *self.bar.lock().unwrap_or_else(|e| e.into_inner()) = Some(bar);
    }

    /// The fault now in force ("" for none), shown on the bar.
    pub fn set_fault(&self, fault: &str) {
        *self.fault.lock().unwrap_or_else(|e| e.into_inner()) = fault.to_string();
    }

    /// Moves the bar to `elapsed` of its total, with the counts.
    pub fn progress(&self, elapsed: Duration, t: Tally) {
        let guard = self.bar.lock().unwrap_or_else(|e| e.into_inner());
        let Some(bar) = &*guard else { return };
        let total = bar.length().unwrap_or(1);
        let left = total.saturating_sub(elapsed.as_secs());
        let fault = self.fault.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let fault = if fault.is_empty() { "none".to_string() } else { fault };
        bar.set_position(elapsed.as_secs().min(total));
        bar.set_message(format!("{left:>3} s left  {:>5} ok/s  fail {}  info {}  fault: {fault}", t.ok_per_s, t.fail, t.info));
    }

    /// Removes the bar; later lines go to stderr as usual.
    pub fn finish_progress(&self) {
        if let Some(bar) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).take() {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use indicatif::InMemoryTerm;

    #[test]
    fn log_lines_print_above_the_bar_never_on_its_line() {
        let path = std::env::temp_dir().join(format!("faultline-log-test-{}.log", std::process::id()));
        let log = Log::new(&path).unwrap();
        let term = InMemoryTerm::new(10, 120);
        log.start_progress_on(Duration::from_secs(60), ProgressDrawTarget::term_like(Box::new(term.clone())));
        log.set_fault("start-partition");
        log.progress(Duration::from_secs(2), Tally { ok_per_s: 90, fail: 34, info: 0 });
        log.say("nemesis: start-partition");
        log.progress(Duration::from_secs(3), Tally { ok_per_s: 95, fail: 35, info: 1 });
        log.say("nemesis: stop-partition");
        let screen = term.contents();
        let lines: Vec<&str> = screen.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 3, "two log lines and the bar:\n{screen}");
        assert!(lines[0].ends_with(" nemesis: start-partition"), "{screen}");
        assert!(lines[1].ends_with(" nemesis: stop-partition"), "{screen}");
        for l in &lines[..2] {
            assert!(!l.contains("ok/s"), "a log line shares its line with the bar:\n{screen}");
        }
        let bar = lines[2];
        assert!(bar.contains("57 s left") && bar.contains("95 ok/s") && bar.contains("fail 35"), "{bar}");
        assert!(bar.contains("info 1") && bar.contains("fault: start-partition"), "{bar}");
        log.finish_progress();
        log.say("after the bar");
        let file = std::fs::read_to_string(&path).unwrap();
        assert_eq!(file.lines().count(), 3, "every line is in faultline.log:\n{file}");
        let _ = std::fs::remove_file(&path);
    }
}
