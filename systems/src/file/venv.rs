//! Python clients' dependencies: a virtual environment per system and set
//! of requirements, in faultline's cache, made once.

use std::path::PathBuf;
use std::process::{Command, Stdio};

/// A stable 64-bit hash (FNV-1a), for cache directory names.
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

fn run(argv: &[&str]) -> Result<(), String> {
    let out = Command::new(argv[0]).args(&argv[1..]).stdin(Stdio::null()).output().map_err(|e| format!("`{}`: {e}", argv.join(" ")))?;
    if out.status.success() {
        return Ok(());
    }
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let tail: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    Err(format!("`{}` failed ({}): {}", argv.join(" "), out.status, tail[tail.len().saturating_sub(3)..].join(" | ")))
}

/// The Python interpreter of the venv holding `requirements` for `system`
/// (made, and the requirements installed from PyPI, when missing). With no
/// requirements: `python3`.
pub fn ensure(system: &str, requirements: &[String]) -> Result<PathBuf, String> {
    if requirements.is_empty() {
        return Ok(PathBuf::from("python3"));
    }
    let dir = control::local::cache_dir().join("python").join(format!("{system}-{:016x}", fnv(&requirements.join("\n"))));
    let python = dir.join("bin/python");
    let stamp = dir.join(".faultline-installed");
    if stamp.is_file() && python.is_file() {
        return Ok(python);
    }
    let _ = std::fs::remove_dir_all(&dir);
    let d = dir.display().to_string();
    if run(&["python3", "-m", "venv", &d]).is_err() {
        // Debian ships venv's pip bootstrap apart
        control::packages::apt_install(&["python3-venv"]).map_err(|e| e.to_string())?;
        run(&["python3", "-m", "venv", &d])?;
    }
    let pip = dir.join("bin/pip").display().to_string();
    let mut argv = vec![pip.as_str(), "install", "-q", "--disable-pip-version-check"];
    argv.extend(requirements.iter().map(String::as_str));
    eprintln!("faultline: installing the {system} client's Python requirements: {}", requirements.join(" "));
    run(&argv)?;
    std::fs::write(&stamp, requirements.join("\n")).map_err(|e| format!("{}: {e}", stamp.display()))?;
    Ok(python)
}
