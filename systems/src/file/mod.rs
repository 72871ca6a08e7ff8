//! Systems described in a file (`faultline run --system DIR/system.toml`):
//! packages, files and templates to install, processes to start, kill and
//! pause, readiness and probe checks, the primary, logs, and a client that
//! speaks the stdio protocol. The file is checked whole, templates
//! included, before any node is touched.

mod checks;
mod db;
pub mod helpers;
mod membership;
pub mod spec;
mod template;
pub mod venv;

pub use db::FileDb;
pub use template::NodeVars;

use spec::{Check, Spec};
use std::fmt;
use std::path::{Path, PathBuf};

/// What is wrong with a system file: the file, the line, the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemFileError {
    /// The system file.
    pub file: PathBuf,
    /// 1-based line; 0 when not about one line.
    pub line: usize,
    /// The key (`processes[0].command`); empty for the whole file.
    pub key: String,
    /// What is wrong.
    pub problem: String,
}

impl fmt::Display for SystemFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
        }
        if !self.key.is_empty() {
            write!(f, ": {}", self.key)?;
        }
        write!(f, ": {}", self.problem)
    }
}

impl std::error::Error for SystemFileError {}

/// A loaded, checked system file.
#[derive(Debug, Clone)]
pub struct SystemFile {
    /// The file.
    pub path: PathBuf,
    /// Its directory (files and the client are relative to it).
    pub dir: PathBuf,
    /// What it says.
    pub spec: Spec,
}

/// 1-based line of byte offset `at` in `src`.
fn line_at(src: &str, at: usize) -> usize {
    src[..at.min(src.len())].matches('\n').count() + 1
}

/// The first line of `src` holding `text` (its first line), or 0.
fn line_of(src: &str, text: &str) -> usize {
    let first = text.lines().next().unwrap_or("").trim();
    if first.is_empty() {
        return 0;
    }
    src.lines().position(|l| l.contains(first)).map_or(0, |i| i + 1)
}

impl SystemFile {
    /// Reads and checks `path`: schema, names, checks, files, templates.
    pub fn load(path: &Path) -> Result<SystemFile, SystemFileError> {
        let err = |line, key: &str, problem: String| SystemFileError { file: path.to_path_buf(), line, key: key.to_string(), problem };
        let src = std::fs::read_to_string(path).map_err(|e| err(0, "", format!("cannot read: {e}")))?;
        let spec: Spec = toml::from_str(&src).map_err(|e| {
            let line = e.span().map_or(0, |s| line_at(&src, s.start));
            err(line, "", e.message().trim().to_string())
        })?;
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf();
        let f = SystemFile { path: path.to_path_buf(), dir, spec };
        f.validate(&src).map_err(|(key, at, problem)| err(line_of(&src, &at), &key, problem))?;
        Ok(f)
    }

    /// Every check of the spec beyond its schema: `(key, text to find its
    /// line by, problem)`.
    fn validate(&self, src: &str) -> Result<(), (String, String, String)> {
        let s = &self.spec;
        let fail = |key: String, at: &str, problem: &str| Err((key, at.to_string(), problem.to_string()));
        if s.name.is_empty() || !s.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
            return fail("name".into(), &s.name, "must be lowercase letters, digits and dashes");
        }
        for (i, d) in s.data_dirs.iter().enumerate() {
            // each goes into the node's shell, quoted, and is mounted over: a path, not a pattern
            if !d.starts_with('/') || d.trim_end_matches('/').is_empty() || d.contains("..") || d.contains('\n') {
                return fail(format!("data_dirs[{i}]"), d, "must be an absolute path to a directory (not / itself, no ..)");
            }
        }
        if s.processes.is_empty() {
            return fail("processes".into(), "", "at least one [[processes]] is needed");
        }
        for (i, p) in s.processes.iter().enumerate() {
            let key = format!("processes[{i}]");
            // the name is in the log's path, which goes into the node's shell
            if p.name.is_empty() || !p.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                return fail(key, &p.name, "name must be letters, digits, dashes and underscores");
            }
            // unanchored, `pgrep -f` under `sudo sh -c` matches its own wrapper, and a pause stops its own shell
            if let Some(pat) = p.pattern.as_deref().filter(|pat| !pat.starts_with('^')) {
                let at = src.lines().find(|l| l.trim_start().starts_with("pattern") && l.contains(pat)).unwrap_or(pat);
                return fail(key, at, "pattern must start with ^ (anchored at the start of the command line), or pgrep and pause match their own shell");
            }
            match (&p.command, &p.unit) {
                (Some(_), Some(_)) | (None, None) => return fail(key, &p.name, "needs exactly one of `command` and `unit`"),
                (None, Some(_)) if p.pause && p.pattern.is_none() => return fail(key, &p.name, "a unit that can be paused needs a `pattern`"),
                _ => {}
            }
        }
        let mut checks: Vec<(String, &Check)> = Vec::new();
        let owned: Vec<(String, Check)> = s.services.iter().enumerate().map(|(i, sv)| (format!("services[{i}] ({})", sv.name), sv.check())).collect();
        checks.extend(owned.iter().map(|(k, c)| (k.clone(), c)));
        checks.extend(s.ready.node.iter().map(|c| ("ready.node".to_string(), c)));
        checks.extend(s.ready.cluster.iter().map(|c| ("ready.cluster".to_string(), c)));
        for (key, c) in checks {
            let n = usize::from(c.command.is_some()) + usize::from(c.tcp.is_some()) + usize::from(c.http.is_some());
            if n != 1 {
                return fail(key, "", "needs exactly one of `command`, `tcp` and `http`");
            }
        }
        if s.services.is_empty() {
            return fail("services".into(), "", "at least one [[services]] is needed (the recovery checker probes them)");
        }
        if s.client.command.is_empty() {
            return fail("client.command".into(), "[client]", "is empty");
        }
        for (i, file) in s.install.files.iter().enumerate() {
            let key = format!("install.files[{i}]");
            if !self.dir.join(&file.from).is_file() {
                return fail(key, &file.from, &format!("{} does not exist", self.dir.join(&file.from).display()));
            }
            if let Some(m) = &file.mode {
                if u32::from_str_radix(m, 8).is_err() {
                    return fail(key, m, "mode must be octal, such as \"0755\"");
                }
            }
        }
        template::check_all(self, src)
    }

    /// True when the file or one of its templates names `var` (so that a
    /// flag feeding it, such as `--db-arg` for `db_args`, is not ignored).
    pub fn reads(&self, var: &str) -> bool {
        let templates = self.spec.install.files.iter().filter(|f| f.template).map(|f| self.dir.join(&f.from));
        std::iter::once(self.path.clone()).chain(templates).any(|p| std::fs::read_to_string(p).is_ok_and(|t| t.contains(var)))
    }

    /// The client's working directory.
    pub fn client_dir(&self) -> &Path {
        &self.dir
    }
}

#[cfg(test)]
mod tests;
