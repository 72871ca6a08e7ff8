//! Loading histories: the native format and Jepsen's, detected or chosen.

use crate::edn::{EdnError, EdnReader};
use crate::error::{ErrorKind, HistoryError};
use crate::jsonl::JsonlReader;
use crate::op::{Header, Op, OpType, Process};
use serde_json::Value;
use std::path::Path;

/// A history file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// faultline's JSON Lines (`history.jsonl`).
    Jsonl,
    /// Jepsen's `history.edn`: op maps, one per line or in one vector.
    Edn,
    /// Jepsen log lines: `INFO  jepsen.util - 4\t:invoke\t:read\tnil`.
    JepsenLog,
    /// Porcupine's kv test data: EDN maps with `:key`; the value becomes a
    /// `[key, value]` tuple (Jepsen's independent-key convention).
    PorcupineKv,
}

impl Format {
    /// Parses a `--format` name (`jsonl`, `edn`, `jepsen-log`, `porcupine-kv`).
    pub fn from_name(s: &str) -> Option<Format> {
        match s {
            "jsonl" | "json" => Some(Format::Jsonl),
            "edn" => Some(Format::Edn),
            "jepsen-log" => Some(Format::JepsenLog),
            "porcupine-kv" => Some(Format::PorcupineKv),
            _ => None,
        }
    }

    /// The `--format` name.
    pub fn name(self) -> &'static str {
        match self {
            Format::Jsonl => "jsonl",
            Format::Edn => "edn",
            Format::JepsenLog => "jepsen-log",
            Format::PorcupineKv => "porcupine-kv",
        }
    }
}

/// A loaded history: ops in order, each with the line it came from.
#[derive(Debug, Clone, Default)]
pub struct History {
    /// The ops, in history order; `index` is their position.
    pub ops: Vec<Op>,
    /// For each op, the 1-based line of the file it came from.
    pub lines: Vec<usize>,
    /// The native header, if the file had one.
    pub header: Option<Header>,
    /// A cut-short last line that was skipped (a crashed writer).
    pub truncated_line: Option<usize>,
}

impl History {
    pub(crate) fn push(&mut self, line: usize, mut op: Op, renumber: bool) {
        if renumber {
            op.index = self.ops.len() as u64;
            // Sources without times: order is all we know; time = position.
            op.time = op.index;
        }
        self.ops.push(op);
        self.lines.push(line);
    }
}

/// Guesses the format from the file name and the first lines.
pub fn detect(path: &Path, text: &str) -> Result<Format, HistoryError> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("jsonl") | Some("json") => return Ok(Format::Jsonl),
        Some("edn") => return Ok(Format::Edn),
        _ => {}
    }
    let head: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with(';')).take(50).collect();
    if head.iter().any(|l| l.contains("jepsen.util - ")) {
        return Ok(Format::JepsenLog);
    }
    match head.first() {
        Some(l) if l.starts_with("{\"") || l.starts_with("{ \"") => Ok(Format::Jsonl),
        Some(l) if l.starts_with('{') || l.starts_with('[') || l.starts_with('#') || l.starts_with('(') => {
            if l.contains(":key ") {
                Ok(Format::PorcupineKv)
            } else {
                Ok(Format::Edn)
            }
        }
        Some(_) => Err(HistoryError::at(0, ErrorKind::UnknownFormat("not JSON Lines, EDN or Jepsen log lines; choose one with --format".into()))),
        None => Ok(Format::Jsonl),
    }
}

/// Reads and parses a history file; `format` `None` means detect it.
pub fn load(path: &Path, format: Option<Format>) -> Result<(Format, History), HistoryError> {
    let text = std::fs::read_to_string(path).map_err(|e| HistoryError::at(0, ErrorKind::Io(e.to_string())).in_file(path))?;
    let format = match format {
        Some(f) => f,
        None => detect(path, &text).map_err(|e| e.in_file(path))?,
    };
    let h = parse(&text, format).map_err(|e| e.in_file(path))?;
    Ok((format, h))
}

/// Parses a history text in the given format.
pub fn parse(text: &str, format: Format) -> Result<History, HistoryError> {
    match format {
        Format::Jsonl => parse_jsonl(text),
        Format::Edn => parse_edn(text, false),
        Format::PorcupineKv => parse_edn(text, true),
        Format::JepsenLog => parse_jepsen_log(text),
    }
}

fn parse_jsonl(text: &str) -> Result<History, HistoryError> {
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    if threads > 1 && text.len() >= PARALLEL_JSONL_BYTES {
        return crate::jsonl_parts::parse_jsonl_parts(text, threads);
    }
    parse_jsonl_serial(text)
}

/// Below this size a JSON Lines text is parsed on one thread.
const PARALLEL_JSONL_BYTES: usize = 4 << 20;

pub(crate) fn parse_jsonl_serial(text: &str) -> Result<History, HistoryError> {
    let mut h = History::default();
    let mut r = JsonlReader::new(text.as_bytes());
    for item in &mut r {
        let (line, op) = item?;
        h.push(line, op, false);
    }
    h.header = r.header().cloned();
    h.truncated_line = r.truncated();
    Ok(h)
}

fn edn_err(e: EdnError) -> HistoryError {
    HistoryError::at(e.line, ErrorKind::Unparsable(e.message))
}

fn parse_edn(text: &str, kv: bool) -> Result<History, HistoryError> {
    let mut h = History::default();
    let mut r = EdnReader::new(text);
    while let Some(form) = r.next_form() {
        let (line, v) = form.map_err(edn_err)?;
        match v {
            Value::Array(items) => {
                for item in items {
                    h.push(line, op_from_map(item, line, kv)?, true);
                }
            }
            other => {
                let op = op_from_map(other, line, kv)?;
                h.push(line, op, true);
            }
        }
    }
    Ok(h)
}

fn bad(line: usize, field: &'static str, problem: impl Into<String>) -> HistoryError {
    HistoryError::at(line, ErrorKind::BadField { field, problem: problem.into() })
}

/// Converts one EDN op map (already read as JSON) into an op.
fn op_from_map(v: Value, line: usize, kv: bool) -> Result<Op, HistoryError> {
    let Value::Object(mut m) = v else {
        return Err(HistoryError::at(line, ErrorKind::Unparsable("expected an op map".into())));
    };
    let process = match m.get("process") {
        Some(Value::Number(n)) => n.as_u64().map(Process::Client).ok_or_else(|| bad(line, "process", format!("{n} is not a process")))?,
        Some(Value::String(s)) if s == "nemesis" => Process::Nemesis,
        Some(other) => return Err(bad(line, "process", format!("{other} is not a process"))),
        None => return Err(bad(line, "process", "missing")),
    };
    let kind = match m.get("type") {
        Some(Value::String(s)) => OpType::parse(s).ok_or_else(|| HistoryError::at(line, ErrorKind::UnknownType(s.clone())))?,
        Some(other) => return Err(HistoryError::at(line, ErrorKind::UnknownType(other.to_string()))),
        None => return Err(bad(line, "type", "missing")),
    };
    let f = match m.remove("f") {
        Some(Value::String(s)) => s,
        Some(other) => other.to_string(),
        None => return Err(bad(line, "f", "missing")),
    };
    let mut value = m.remove("value").unwrap_or(Value::Null);
    if kv {
        let key = m.remove("key").ok_or_else(|| bad(line, "key", "missing"))?;
        value = Value::Array(vec![key, value]);
    }
    let mut op = Op::new(process, kind, &f, value);
    op.error = m.remove("error");
    if let Some(Value::String(n)) = m.remove("node") {
        op.node = Some(n);
    }
    Ok(op)
}

fn parse_jepsen_log(text: &str) -> Result<History, HistoryError> {
    const MARK: &str = "jepsen.util - ";
    let mut h = History::default();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let Some(at) = raw.find(MARK) else { continue };
        let mut parts = raw[at + MARK.len()..].splitn(4, '\t');
        let (Some(p), Some(t), Some(f)) = (parts.next(), parts.next(), parts.next()) else {
            continue; // other log output from jepsen.util
        };
        let process = match p.trim() {
            ":nemesis" => Process::Nemesis,
            s => match s.parse() {
                Ok(n) => Process::Client(n),
                Err(_) => continue,
            },
        };
        let kind = OpType::parse(t.trim()).ok_or_else(|| HistoryError::at(line, ErrorKind::UnknownType(t.into())))?;
        let value = match parts.next().map(str::trim) {
            None | Some("") => Value::Null,
            Some(v) => {
                let mut r = EdnReader::new(v);
                match r.next_form() {
                    Some(Ok((_, v))) => v,
                    Some(Err(e)) => return Err(HistoryError::at(line, ErrorKind::Unparsable(format!("value {v:?}: {}", e.message)))),
                    None => Value::Null,
                }
            }
        };
        let f = f.trim();
        h.push(line, Op::new(process, kind, f.strip_prefix(':').unwrap_or(f), value), true);
    }
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn jepsen_log_lines() {
        let h = parse(
            "noise\nINFO  jepsen.util - 4\t:invoke\t:read\tnil\nINFO  jepsen.util - 4\t:ok\t:read\t3\nINFO  jepsen.util - :nemesis\t:info\t:start\t[:isolated]\n",
            Format::JepsenLog,
        )
        .unwrap();
        assert_eq!(h.ops.len(), 3);
        assert_eq!(h.lines, vec![2, 3, 4]);
        assert_eq!(h.ops[1].value, json!(3));
        assert_eq!(h.ops[2].process, Process::Nemesis);
        let e = parse("INFO  jepsen.util - 4\t:done\t:read\tnil\n", Format::JepsenLog).unwrap_err();
        assert_eq!(e.line, 1);
        assert!(matches!(e.kind, ErrorKind::UnknownType(_)));
    }

    #[test]
    fn kv_values_become_key_tuples() {
        let h = parse("{:process 0, :type :invoke, :f :get, :key \"4\", :value nil}\n", Format::PorcupineKv).unwrap();
        assert_eq!(h.ops[0].value, json!(["4", null]));
    }

    #[test]
    fn edn_vector_history_and_errors() {
        let h = parse("[{:process :nemesis :type :info :f :start}\n {:process 1 :type :ok :f :read :value nil}]", Format::Edn).unwrap();
        assert_eq!(h.ops.len(), 2);
        let e = parse("{:process 1 :type :invoke :f :read}\n{:process -1 :type :ok :f :read}", Format::Edn).unwrap_err();
        assert_eq!(e.line, 2);
    }

    #[test]
    fn detects_formats() {
        let p = Path::new("x.txt");
        assert_eq!(detect(p, "{\"process\":1}").unwrap(), Format::Jsonl);
        assert_eq!(detect(p, "{:process 1, :key \"1\"}").unwrap(), Format::PorcupineKv);
        assert_eq!(detect(p, "{:process 1}").unwrap(), Format::Edn);
        assert_eq!(detect(p, "x\nINFO  jepsen.util - 1\t:invoke\t:read\tnil").unwrap(), Format::JepsenLog);
        assert!(detect(p, "hello").is_err());
    }
}
