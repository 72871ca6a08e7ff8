//! Python clients' dependencies: a virtual environment per system and set
//! of requirements, in faultline's cache, made once.

use std::path::PathBuf;
use std::process::{Command, Stdio};

/// A stable 64-bit hash (FNV-1a), for cache directory names.
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// Why a client's virtual environment could not be made.
#[derive(Debug)]
pub enum VenvError {
    /// A command could not be started.
    Spawn {
        /// The command line.
        command: String,
        /// Why.
        error: std::io::Error,
    },
    /// A command failed.
    Failed {
        /// The command line.
        command: String,
        /// Its exit status.
        status: std::process::ExitStatus,
        /// Its last three lines of output.
        tail: String,
    },
    /// `python3-venv` could not be installed.
    Install(control::packages::InstallError),
    /// The stamp file could not be written.
    Stamp {
        /// Its path.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
}

impl std::fmt::Display for VenvError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VenvError::Spawn { command, error } => write!(f, "`{command}`: {error}"),
            VenvError::Failed { command, status, tail } => write!(f, "`{command}` failed ({status}): {tail}"),
            VenvError::Install(e) => write!(f, "{e}"),
            VenvError::Stamp { path, error } => write!(f, "{}: {error}", path.display()),
        }
    }
}

impl std::error::Error for VenvError {}

fn run(argv: &[&str]) -> Result<(), VenvError> {
    let command = argv.join(" ");
    let out = match Command::new(argv[0]).args(&argv[1..]).stdin(Stdio::null()).output() {
        Ok(out) => out,
        Err(error) => return Err(VenvError::Spawn { command, error }),
    };
    if out.status.success() {
        return Ok(());
    }
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let tail: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    Err(VenvError::Failed { command, status: out.status, tail: tail[tail.len().saturating_sub(3)..].join(" | ") })
}

/// The Python interpreter of the venv holding `requirements` for `system`
/// (made, and the requirements installed from PyPI, when missing). With no
/// requirements: `python3`.
pub fn ensure(system: &str, requirements: &[String]) -> Result<PathBuf, VenvError> {
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
        control::packages::apt_install(&["python3-venv"]).map_err(VenvError::Install)?;
        run(&["python3", "-m", "venv", &d])?;
    }
    let pip = dir.join("bin/pip").display().to_string();
    let mut argv = vec![pip.as_str(), "install", "-q", "--disable-pip-version-check"];
    argv.extend(requirements.iter().map(String::as_str));
    eprintln!("faultline: installing the {system} client's Python requirements: {}", requirements.join(" "));
    run(&argv)?;
    std::fs::write(&stamp, requirements.join("\n")).map_err(|error| VenvError::Stamp { path: stamp.clone(), error })?;
    Ok(python)
}
