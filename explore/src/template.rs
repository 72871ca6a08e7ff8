//! Log lines as templates: the constant words kept, what varies masked
//! (numbers, ids, hashes, addresses, quoted values, paths), so that lines
//! saying the same thing say it with the same template. A line's time, when
//! it starts with an RFC 3339 one, is read too.

/// The line without terminal colour codes.
pub fn strip_ansi(line: &str) -> String {
    strip_ansi_escapes::strip_str(line)
}

/// A structured log line (one JSON object, as zap, slog and logrus write
/// them): the object.
fn structured(line: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    let t = line.trim_start();
    if !t.starts_with('{') {
        return None;
    }
    serde_json::from_str(t).ok()
}

/// An RFC 3339 time, Unix ns.
fn rfc3339_ns(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(s.trim_matches(|c| c == '[' || c == ']')).ok()?.timestamp_nanos_opt()
}

/// The time of a line, Unix ns: the RFC 3339 time it starts with (as most
/// servers log), or a structured line's `ts`, `time` or `timestamp` (RFC
/// 3339, or seconds since the epoch).
pub fn line_time_ns(line: &str) -> Option<i64> {
    if let Some(obj) = structured(line) {
        let v = ["ts", "time", "timestamp", "@timestamp"].iter().find_map(|k| obj.get(*k))?;
        return match v {
            serde_json::Value::String(s) => rfc3339_ns(s),
            serde_json::Value::Number(n) => n.as_f64().map(|secs| (secs * 1e9) as i64),
            _ => None,
        };
    }
    rfc3339_ns(line.split_whitespace().next()?)
}

/// True when a word varies from one line to the next: it holds a digit
/// (numbers, ids, versions, addresses, durations), is a path, or a quoted value.
fn varies(word: &str) -> bool {
    word.chars().any(|c| c.is_ascii_digit())
        || word.starts_with('/')
        || word.contains("://")
        || (word.len() > 1 && (word.starts_with('"') || word.starts_with('\'')))
        || (word.len() >= 8 && word.chars().all(|c| c.is_ascii_hexdigit() || c == '-'))
}

/// The template of a log line: its leading time and level dropped, each
/// word that varies replaced by `<*>`, runs of them merged; `None` for a
/// line with no constant word left.
pub fn template(line: &str) -> Option<String> {
    let mut clean = strip_ansi(line);
    // a structured line says what it says in its level and message
    if let Some(obj) = structured(&clean) {
        let field = |keys: &[&str]| keys.iter().find_map(|k| obj.get(*k).and_then(|v| v.as_str())).unwrap_or("").to_string();
        clean = format!("{} {}", field(&["level", "lvl", "severity"]).to_uppercase(), field(&["msg", "message"]));
    }
    let mut words: Vec<&str> = clean.split_whitespace().collect();
    if words.first().is_some_and(|w| line_time_ns(w).is_some()) {
        words.remove(0);
    }
    let mut out: Vec<&str> = Vec::with_capacity(words.len());
    for w in words {
        let masked = if varies(w) { "<*>" } else { w };
        if !(masked == "<*>" && out.last() == Some(&"<*>")) {
            out.push(masked);
        }
    }
    if out.iter().all(|w| *w == "<*>" || !w.chars().any(char::is_alphabetic)) {
        return None;
    }
    let mut t = out.join(" ");
    t.truncate(160);
    Some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_that_differ_in_what_varies_share_a_template() {
        let a = "2026-12-07T20:46:41.208967Z INFO raft_node: Node 3 joined cluster at 10.77.0.103:5122 after 412ms (log=0x1f3a9c2e)";
        let b = "2026-12-07T20:47:02.000001Z INFO raft_node: Node 12 joined cluster at 10.77.0.101:5122 after 3s (log=0x00aa11ff)";
        assert_eq!(template(a), template(b));
        assert_eq!(template(a).unwrap(), "INFO raft_node: Node <*> joined cluster at <*> after <*>");
        assert_eq!(line_time_ns(a), Some(1_796_676_401_208_967_000));
        assert_ne!(template(a), template("2026-12-07T20:46:41Z INFO raft_node: Node 3 left cluster"));
    }

    #[test]
    fn a_structured_line_is_its_level_and_message_at_its_time() {
        let a = r#"{"level":"info","ts":"2026-12-07T21:50:34.006Z","caller":"embed/server.go:117","msg":"configuring peer listeners","listen-peer-urls":["http://10.77.0.141:2380"]}"#;
        assert_eq!(template(a).as_deref(), Some("INFO configuring peer listeners"));
        assert_eq!(line_time_ns(a), rfc3339_ns("2026-12-07T21:50:34.006Z"));
        let b = r#"{"level":"warn","ts":1765143034.5,"msg":"lost leader 3 after 12ms"}"#;
        assert_eq!(template(b).as_deref(), Some("WARN lost leader <*> after <*>"));
        assert_eq!(line_time_ns(b), Some(1_765_143_034_500_000_000));
        assert_eq!(template("{not json at all"), Some("{not json at all".to_string()));
    }

    #[test]
    fn colour_codes_and_lines_of_nothing_constant_are_dropped() {
        let coloured = "\u{1b}[2m2026-12-07T20:46:40.559169Z\u{1b}[0m \u{1b}[32mINFO\u{1b}[0m starting server";
        assert_eq!(template(coloured).as_deref(), Some("INFO starting server"));
        assert!(line_time_ns(&strip_ansi(coloured)).is_some());
        assert_eq!(template("   12 0x1f /var/lib/x \"n2\""), None);
        assert_eq!(template(""), None);
    }
}
