//! Who led the system during a run (`leaders.jsonl` in the run
//! directory): one line each time the primary the runner sampled changed,
//! for systems that can name their primary.

use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;

/// The primary from `time` on (ns since the history's time 0).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leader {
    /// When it was first seen, ns since the history's time 0.
    pub time: u64,
    /// The node that led; none when no node could be named (no quorum, or
    /// no answer within a second).
    pub primary: Option<String>,
}

/// The file's name in a run directory.
pub const LEADERS_FILE: &str = "leaders.jsonl";

/// Writes `leaders` to `path`, one JSON object a line.
pub fn write_leaders(path: &Path, leaders: &[Leader]) -> std::io::Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    for l in leaders {
        serde_json::to_writer(&mut f, l)?;
        f.write_all(b"\n")?;
    }
    f.flush()
}

/// The leaders recorded at `path`: none when the file is absent (the
/// system cannot name its primary); a line that does not parse is an error
/// naming it.
pub fn read_leaders(path: &Path) -> Result<Vec<Leader>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).map_err(|e| format!("{}:{}: {e}", path.display(), i + 1)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaders_are_written_and_read_back_and_a_bad_line_is_named() {
        let dir = std::env::temp_dir().join(format!("faultline-leaders-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(LEADERS_FILE);
        let v = vec![Leader { time: 0, primary: Some("n1".into()) }, Leader { time: 5_000_000_000, primary: None }];
        write_leaders(&p, &v).unwrap();
        assert_eq!(read_leaders(&p).unwrap(), v);
        assert!(read_leaders(&dir.join("none.jsonl")).unwrap().is_empty());
        std::fs::write(&p, "{\"time\":1,\"primary\":\"n1\"}\nnot json\n").unwrap();
        assert!(read_leaders(&p).unwrap_err().contains("leaders.jsonl:2"));
        let _ = std::fs::remove_dir_all(dir);
    }
}
