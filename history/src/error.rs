//! Typed errors that name the file and line.

use std::fmt;
use std::path::{Path, PathBuf};

/// What is wrong with a history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// The file could not be read.
    Io(String),
    /// A line or form could not be parsed at all.
    Unparsable(String),
    /// An op's `type` is not invoke / ok / fail / info.
    UnknownType(String),
    /// A required field is missing or has the wrong shape.
    BadField { field: &'static str, problem: String },
    /// A completion on a process that has no open invocation.
    CompletionWithoutInvocation { process: String, f: String },
    /// An invocation on a process that still has one open.
    DoubleInvocation { process: String, open_line: usize },
    /// A completion whose `f` is not its invocation's `f`.
    MismatchedF { invoked: String, completed: String, invoke_line: usize },
    /// The format could not be recognised.
    UnknownFormat(String),
}

/// An error in a history, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryError {
    /// The file, when the history came from one.
    pub file: Option<PathBuf>,
    /// 1-based line number; 0 when the error is not about one line.
    pub line: usize,
    /// What is wrong.
    pub kind: ErrorKind,
}

impl HistoryError {
    /// An error at `line` with no file yet.
    pub fn at(line: usize, kind: ErrorKind) -> HistoryError {
        HistoryError { file: None, line, kind }
    }

    /// The same error, naming `file`.
    pub fn in_file(mut self, file: &Path) -> HistoryError {
        self.file = Some(file.to_path_buf());
        self
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Io(e) => write!(f, "cannot read: {e}"),
            ErrorKind::Unparsable(e) => write!(f, "unparsable: {e}"),
            ErrorKind::UnknownType(t) => {
                write!(f, "unknown op type {t:?} (expected invoke, ok, fail or info)")
            }
            ErrorKind::BadField { field, problem } => write!(f, "field `{field}`: {problem}"),
            ErrorKind::CompletionWithoutInvocation { process, f: func } => {
                write!(f, "completion of {func:?} on process {process} without an open invocation")
            }
            ErrorKind::DoubleInvocation { process, open_line } => {
                write!(f, "process {process} invokes again while its invocation on line {open_line} is still open")
            }
            ErrorKind::MismatchedF { invoked, completed, invoke_line } => {
                write!(f, "completion f {completed:?} differs from its invocation's f {invoked:?} (line {invoke_line})")
            }
            ErrorKind::UnknownFormat(e) => write!(f, "unknown history format: {e}"),
        }
    }
}

impl fmt::Display for HistoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.file, self.line) {
            (Some(p), 0) => write!(f, "{}: {}", p.display(), self.kind),
            (Some(p), l) => write!(f, "{}:{}: {}", p.display(), l, self.kind),
            (None, 0) => write!(f, "{}", self.kind),
            (None, l) => write!(f, "line {}: {}", l, self.kind),
        }
    }
}

impl std::error::Error for HistoryError {}
