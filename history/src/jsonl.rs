//! Native storage: JSON Lines, one op per line, an optional [`Header`] first.
//!
//! The writer writes each op as one whole line and flushes it, so a crash of
//! the writer loses at most the op being written; the reader reads a file up
//! to a truncated last line and says so instead of failing.

use crate::error::{ErrorKind, HistoryError};
use crate::op::{Header, Op};
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, Write};
use std::path::Path;

/// Streams ops from JSON Lines, with their 1-based line numbers.
pub struct JsonlReader<R> {
    input: R,
    line: usize,
    buf: String,
    header: Option<Header>,
    truncated: Option<usize>,
    started: bool,
}

impl<R: BufRead> JsonlReader<R> {
    /// A reader over `input`.
    pub fn new(input: R) -> Self {
        JsonlReader { input, line: 0, buf: String::new(), header: None, truncated: None, started: false }
    }

    /// The header, once the first line has been read (call after the first
    /// `next()`).
    pub fn header(&self) -> Option<&Header> {
        self.header.as_ref()
    }

    /// The line number of a last line that was cut short (no newline, not
    /// parsable): what a crashed writer leaves. It is skipped, not an error.
    pub fn truncated(&self) -> Option<usize> {
        self.truncated
    }

    fn read_line(&mut self) -> Option<Result<(), HistoryError>> {
        self.buf.clear();
        match self.input.read_line(&mut self.buf) {
            Ok(0) => None,
            Ok(_) => {
                self.line += 1;
                Some(Ok(()))
            }
            Err(e) => Some(Err(HistoryError::at(self.line + 1, ErrorKind::Io(e.to_string())))),
        }
    }
}

/// Parses one JSON line into an op, with precise errors.
pub fn parse_line(text: &str, line: usize) -> Result<Op, HistoryError> {
    serde_json::from_str::<Op>(text).map_err(|e| HistoryError::at(line, explain(text, e)))
}

fn explain(text: &str, e: serde_json::Error) -> ErrorKind {
    let v: serde_json::Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(_) => return ErrorKind::Unparsable(e.to_string()),
    };
    let Some(obj) = v.as_object() else {
        return ErrorKind::Unparsable("a line must be a JSON object".into());
    };
    if let Some(t) = obj.get("type") {
        if t.as_str().and_then(crate::OpType::parse).is_none() {
            return ErrorKind::UnknownType(t.to_string());
        }
    }
    for field in ["process", "type", "f"] {
        if !obj.contains_key(field) {
            return ErrorKind::BadField { field, problem: "missing".into() };
        }
    }
    ErrorKind::Unparsable(e.to_string())
}

impl<R: BufRead> Iterator for JsonlReader<R> {
    type Item = Result<(usize, Op), HistoryError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Err(e) = self.read_line()? {
                return Some(Err(e));
            }
            let text = self.buf.trim();
            if text.is_empty() {
                continue;
            }
            let first = !self.started;
            self.started = true;
            if first && text.contains("\"faultline_history\"") {
                match serde_json::from_str::<Header>(text) {
                    Ok(h) => {
                        self.header = Some(h);
                        continue;
                    }
                    Err(e) => return Some(Err(HistoryError::at(self.line, ErrorKind::BadField { field: "faultline_history", problem: e.to_string() }))),
                }
            }
            let complete = self.buf.ends_with('\n');
            return match parse_line(text, self.line) {
                Ok(op) => Some(Ok((self.line, op))),
                // a crashed writer leaves the start of an object, unterminated
                Err(_) if !complete && text.starts_with('{') => {
                    self.truncated = Some(self.line);
                    None
                }
                Err(e) => Some(Err(e)),
            };
        }
    }
}

/// Appends ops to a JSON Lines file, one whole line per write, flushed.
pub struct JsonlWriter {
    file: File,
    buf: Vec<u8>,
}

impl JsonlWriter {
    /// Creates (or truncates) `path` and writes `header` as its first line.
    pub fn create(path: &Path, header: &Header) -> io::Result<JsonlWriter> {
        let file = File::create(path)?;
        let mut w = JsonlWriter { file, buf: Vec::with_capacity(256) };
        w.write_json(header)?;
        Ok(w)
    }

    /// Opens `path` for appending, creating it without a header if missing.
    pub fn append_to(path: &Path) -> io::Result<JsonlWriter> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(JsonlWriter { file, buf: Vec::with_capacity(256) })
    }

    /// Writes one op as one line and flushes it to the OS.
    pub fn append(&mut self, op: &Op) -> io::Result<()> {
        self.write_json(op)
    }

    fn write_json<T: serde::Serialize>(&mut self, v: &T) -> io::Result<()> {
        self.buf.clear();
        serde_json::to_writer(&mut self.buf, v).map_err(io::Error::other)?;
        self.buf.push(b'\n');
        self.file.write_all(&self.buf)?;
        self.file.flush()
    }

    /// Forces written ops to stable storage (fsync).
    pub fn sync(&mut self) -> io::Result<()> {
        self.file.sync_data()
    }
}
