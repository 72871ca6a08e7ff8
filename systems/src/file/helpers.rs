//! The protocol helpers for clients written in other languages
//! (`faultline.py`), shipped inside faultline and written where any system
//! file can use them, in or out of the repository: a client's templates
//! name the directory `{{ helpers }}` (`PYTHONPATH = "{{ helpers }}"`).

use std::path::PathBuf;

/// The Python helper, as the repository keeps it in `systems/python/`.
pub const PYTHON: &str = include_str!("../../python/faultline.py");

/// The directory holding the helpers, written (or rewritten when they
/// changed) in faultline's cache.
pub fn ensure() -> std::io::Result<PathBuf> {
    ensure_in(control::local::cache_dir().join("helpers"))
}

fn ensure_in(dir: PathBuf) -> std::io::Result<PathBuf> {
    let file = dir.join("faultline.py");
    if std::fs::read_to_string(&file).ok().as_deref() != Some(PYTHON) {
        std::fs::create_dir_all(&dir)?;
        // written aside and renamed: a client starting now never reads half a file
        let tmp = dir.join(format!(".faultline.py.{}", std::process::id()));
        std::fs::write(&tmp, PYTHON)?;
        std::fs::rename(&tmp, &file)?;
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_helper_is_written_once_and_rewritten_when_it_changed() {
        let dir = std::env::temp_dir().join(format!("faultline-helpers-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(ensure_in(dir.clone()).unwrap(), dir);
        assert_eq!(std::fs::read_to_string(dir.join("faultline.py")).unwrap(), PYTHON);
        std::fs::write(dir.join("faultline.py"), "stale").unwrap();
        ensure_in(dir.clone()).unwrap();
        assert_eq!(std::fs::read_to_string(dir.join("faultline.py")).unwrap(), PYTHON);
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "no temporary file left");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
