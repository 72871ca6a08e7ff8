//! Large JSON Lines histories read on every core: the text cut at line
//! ends into parts parsed on as many threads and joined in order (the same
//! ops, lines, header, cut-short last line and first error as the serial
//! reader); and, for checkers that read each value once into a compact
//! form of their own, the ops with their values left as text.

use crate::error::HistoryError;
use crate::import::{parse_jsonl_serial, History};
use crate::Op;

/// The header (if any) and the rest of a JSON Lines text, with the number
/// of lines the first part holds.
fn split_head(text: &str) -> (&str, &str, usize) {
    let body_start = text.find(|c: char| !c.is_whitespace()).unwrap_or(text.len());
    let first_end = text[body_start..].find('\n').map_or(text.len(), |i| body_start + i + 1);
    let (head, body) = text.split_at(if text[body_start..first_end].contains("\"faultline_history\"") { first_end } else { 0 });
    (head, body, head.matches('\n').count())
}

/// Each non-empty line of `body` (whose first line is line `first_line +
/// 1`) read by `parse`, the text cut at line ends into `parts` read on as
/// many threads, in order; a cut-short last line of the text is returned
/// apart, not an error.
fn lines_in_parts<'a, T: Send>(
    body: &'a str,
    first_line: usize,
    parts: usize,
    parse: &(dyn Fn(&'a str, usize) -> Result<T, HistoryError> + Sync),
) -> Result<Part<T>, HistoryError> {
    let mut cuts = vec![0];
    for i in 1..parts.max(1) {
        let at = (body.len() * i / parts).max(*cuts.last().unwrap_or(&0));
        cuts.push(body[at..].find('\n').map_or(body.len(), |j| at + j + 1));
    }
    cuts.push(body.len());
    let chunks: Vec<&str> = cuts.windows(2).map(|w| &body[w[0]..w[1]]).collect();
    let starts: Vec<usize> = chunks.iter().scan(first_line, |line, c| Some(std::mem::replace(line, *line + c.matches('\n').count()))).collect();
    let last = chunks.len() - 1;
    let results: Vec<Result<Part<T>, HistoryError>> = std::thread::scope(|s| {
        let jobs: Vec<_> =
            chunks.iter().zip(&starts).enumerate().map(|(i, (chunk, &start))| s.spawn(move || lines_of(chunk, start, i == last, parse))).collect();
        jobs.into_iter().map(|j| j.join().unwrap_or_else(|p| std::panic::resume_unwind(p))).collect()
    });
    let (mut all, mut truncated) = (Vec::new(), None);
    for r in results {
        let (items, cut) = r?;
        all.extend(items);
        truncated = cut.or(truncated);
    }
    Ok((all, truncated))
}

/// [`parse_jsonl_serial`]'s result, the text cut at line ends into `parts`
/// parsed on as many threads (what `serde_json` builds per op is most of
/// the time of loading a large history).
pub(crate) fn parse_jsonl_parts(text: &str, parts: usize) -> Result<History, HistoryError> {
    let (head, body, first_line) = split_head(text);
    let mut h = parse_jsonl_serial(head)?;
    let (ops, truncated) = lines_in_parts(body, first_line, parts, &crate::jsonl::parse_line)?;
    for (line, op) in ops {
        h.push(line, op, false);
    }
    h.truncated_line = truncated.or(h.truncated_line);
    Ok(h)
}

/// One op line with its value left as text.
#[derive(serde::Deserialize)]
struct LazyOp<'a> {
    #[serde(default)]
    index: u64,
    #[serde(default)]
    time: u64,
    process: crate::Process,
    #[serde(rename = "type")]
    kind: crate::OpType,
    f: String,
    #[serde(default, borrow)]
    value: Option<&'a serde_json::value::RawValue>,
    #[serde(default)]
    node: Option<String>,
    #[serde(default)]
    error: Option<serde_json::Value>,
    #[serde(default)]
    role: crate::Role,
}

/// A JSON Lines history whose ops' values are left as text: each op's
/// `value` is `null` in the history and its JSON text is in the returned
/// list, by position. For checkers that read each value once into a
/// compact form of their own (the transactional ones): the values never
/// all exist as `serde_json` values at once.
pub fn parse_jsonl_values_apart(text: &str) -> Result<(History, Vec<&str>), HistoryError> {
    let (head, body, first_line) = split_head(text);
    let mut h = parse_jsonl_serial(head)?;
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let (ops, truncated) = lines_in_parts(body, first_line, threads, &lazy_line)?;
    let mut values = Vec::with_capacity(ops.len());
    for (line, (op, v)) in ops {
        h.push(line, op, false);
        values.push(v);
    }
    h.truncated_line = truncated.or(h.truncated_line);
    Ok((h, values))
}

fn lazy_line(text: &str, line: usize) -> Result<(Op, &str), HistoryError> {
    match serde_json::from_str::<LazyOp<'_>>(text) {
        Ok(l) => {
            let value = l.value.map_or("null", |v| v.get());
            let op = Op {
                index: l.index,
                time: l.time,
                process: l.process,
                kind: l.kind,
                f: l.f,
                value: serde_json::Value::Null,
                node: l.node,
                error: l.error,
                role: l.role,
            };
            Ok((op, value))
        }
        // the full reader names what is wrong
        Err(_) => crate::jsonl::parse_line(text, line).map(|op| (op, "null")),
    }
}

/// One part's items with their line numbers, and a cut-short last line.
type Part<T> = (Vec<(usize, T)>, Option<usize>);

/// The items of one part of a JSON Lines text whose first line is line
/// `start + 1`; a cut-short line is forgiven only at the end of the text.
fn lines_of<'a, T>(chunk: &'a str, start: usize, at_end: bool, parse: &dyn Fn(&'a str, usize) -> Result<T, HistoryError>) -> Result<Part<T>, HistoryError> {
    let mut items = Vec::with_capacity(chunk.len() / 128);
    let mut line = start;
    for raw in chunk.split_inclusive('\n') {
        line += 1;
        let text = raw.trim();
        if text.is_empty() {
            continue;
        }
        match parse(text, line) {
            Ok(item) => items.push((line, item)),
            Err(_) if at_end && !raw.ends_with('\n') && text.starts_with('{') => return Ok((items, Some(line))),
            Err(e) => return Err(e),
        }
    }
    Ok((items, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonl_parsed_in_parts_is_the_same_history_with_the_same_errors() {
        let mut text = String::from("\n{\"faultline_history\":1,\"start_unix_ns\":7,\"workload\":\"set\"}\n");
        for i in 0..300 {
            text += &format!("{{\"index\":{},\"process\":{},\"type\":\"invoke\",\"f\":\"add\",\"value\":{i}}}\n\n", 2 * i, i % 7);
            text += &format!("{{\"index\":{},\"process\":{},\"type\":\"ok\",\"f\":\"add\",\"value\":{i}}}\n", 2 * i + 1, i % 7);
        }
        let cut = format!("{text}{{\"index\":600,\"pro");
        for t in [text.as_str(), cut.as_str()] {
            let serial = parse_jsonl_serial(t).unwrap();
            for parts in [1, 2, 3, 8, 64] {
                let p = parse_jsonl_parts(t, parts).unwrap();
                assert_eq!(
                    (&p.ops, &p.lines, &p.header, p.truncated_line),
                    (&serial.ops, &serial.lines, &serial.header, serial.truncated_line),
                    "{parts} parts"
                );
            }
        }
        // values apart: the same ops with null values, each value's text by position
        for t in [text.as_str(), cut.as_str()] {
            let serial = parse_jsonl_serial(t).unwrap();
            let (lazy, values) = parse_jsonl_values_apart(t).unwrap();
            assert_eq!(
                (lazy.ops.len(), values.len(), &lazy.lines, lazy.truncated_line, &lazy.header),
                (serial.ops.len(), serial.ops.len(), &serial.lines, serial.truncated_line, &serial.header)
            );
            for ((a, b), v) in lazy.ops.iter().zip(&serial.ops).zip(&values) {
                assert_eq!((a.index, a.process, a.kind, &a.f, &a.value), (b.index, b.process, b.kind, &b.f, &serde_json::Value::Null));
                assert_eq!(serde_json::from_str::<serde_json::Value>(v).unwrap(), b.value);
            }
        }
        // a bad line in the middle is the same error, naming the same line
        let bad = text.replacen("\"type\":\"ok\"", "\"type\":\"okay\"", 40);
        let want = parse_jsonl_serial(&bad).unwrap_err().to_string();
        assert_eq!(parse_jsonl_parts(&bad, 4).unwrap_err().to_string(), want);
        assert_eq!(parse_jsonl_values_apart(&bad).unwrap_err().to_string(), want);
        assert!(want.contains("line"), "{want}");
    }
}
