//! A small EDN reader, enough for Jepsen histories, producing JSON values.
//!
//! nil, booleans, integers, floats, strings, characters, keywords and symbols
//! (as strings without the colon), vectors and lists (arrays), maps (objects
//! with stringified keys), sets (arrays), tagged literals (the tag is dropped,
//! so `#jepsen.history.Op{...}` reads as its map), `#_` discards, comments
//! and commas. Never panics on any input; nesting is limited to
//! [`MAX_DEPTH`].

use serde_json::{Map, Number, Value};

/// Deepest nesting accepted, so hostile input cannot overflow the stack.
pub const MAX_DEPTH: usize = 256;

/// A parse error with its 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdnError {
    /// Line where the problem was found.
    pub line: usize,
    /// What went wrong.
    pub message: String,
}

/// Reads EDN forms one after another from a text.
pub struct EdnReader<'a> {
    s: &'a [u8],
    pos: usize,
    line: usize,
}

impl<'a> EdnReader<'a> {
    /// A reader over `text`.
    pub fn new(text: &'a str) -> Self {
        EdnReader { s: text.as_bytes(), pos: 0, line: 1 }
    }

    /// The next top-level form and the line it starts on, `None` at the end.
    pub fn next_form(&mut self) -> Option<Result<(usize, Value), EdnError>> {
        if let Err(e) = self.skip_ws() {
            return Some(Err(e));
        }
        if self.pos >= self.s.len() {
            return None;
        }
        let line = self.line;
        Some(self.read(0).and_then(|v| match v {
            Some(v) => Ok((line, v)),
            None => Err(self.err("unexpected closing delimiter")),
        }))
    }

    fn err(&self, message: &str) -> EdnError {
        EdnError { line: self.line, message: message.to_string() }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.pos += 1;
        if c == b'\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn skip_ws(&mut self) -> Result<(), EdnError> {
        while let Some(c) = self.peek() {
            match c {
                b' ' | b'\t' | b'\n' | b'\r' | b',' => {
                    self.bump();
                }
                b';' => {
                    while let Some(c) = self.bump() {
                        if c == b'\n' {
                            break;
                        }
                    }
                }
                b'#' if self.s.get(self.pos + 1) == Some(&b'_') => {
                    self.pos += 2;
                    self.read_required(0)?;
                }
                _ => break,
            }
        }
        Ok(())
    }

    fn read_required(&mut self, depth: usize) -> Result<Value, EdnError> {
        self.skip_ws()?;
        match self.read(depth)? {
            Some(v) => Ok(v),
            None => Err(self.err("unexpected closing delimiter")),
        }
    }

    /// Reads one form; `Ok(None)` when a closing delimiter is next.
    fn read(&mut self, depth: usize) -> Result<Option<Value>, EdnError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nesting too deep"));
        }
        self.skip_ws()?;
        let Some(c) = self.peek() else {
            return Err(self.err("unexpected end of input"));
        };
        let v = match c {
            b')' | b']' | b'}' => return Ok(None),
            b'[' | b'(' => {
                self.bump();
                Value::Array(self.read_seq(if c == b'[' { b']' } else { b')' }, depth)?)
            }
            b'{' => {
                self.bump();
                self.read_map(depth)?
            }
            b'"' => {
                self.bump();
                Value::String(self.read_string()?)
            }
            b'\\' => {
                self.bump();
                Value::String(self.read_char()?)
            }
            b'#' => {
                self.bump();
                match self.peek() {
                    Some(b'{') => {
                        self.bump();
                        Value::Array(self.read_seq(b'}', depth)?)
                    }
                    Some(b'#') => {
                        // ##Inf, ##NaN: no JSON equivalent
                        self.bump();
                        let t = self.read_token();
                        Value::String(format!("##{t}"))
                    }
                    _ => {
                        let tag = self.read_token();
                        if tag.is_empty() {
                            return Err(self.err("bad # dispatch"));
                        }
                        self.read_required(depth + 1)?
                    }
                }
            }
            _ => {
                let t = self.read_token();
                if t.is_empty() {
                    self.bump();
                    return Err(self.err(&format!("unexpected character {:?}", c as char)));
                }
                atom(&t)
            }
        };
        Ok(Some(v))
    }

    fn read_seq(&mut self, close: u8, depth: usize) -> Result<Vec<Value>, EdnError> {
        let mut out = Vec::new();
        loop {
            match self.read(depth + 1)? {
                Some(v) => out.push(v),
                None => {
                    return if self.bump() == Some(close) { Ok(out) } else { Err(self.err(&format!("mismatched delimiter, expected {:?}", close as char))) };
                }
            }
        }
    }

    fn read_map(&mut self, depth: usize) -> Result<Value, EdnError> {
        let items = self.read_seq(b'}', depth)?;
        if items.len() % 2 != 0 {
            return Err(self.err("map with an odd number of forms"));
        }
        let mut m = Map::new();
        let mut it = items.into_iter();
        while let (Some(k), Some(v)) = (it.next(), it.next()) {
            let key = match k {
                Value::String(s) => s,
                other => other.to_string(),
            };
            m.insert(key, v);
        }
        Ok(Value::Object(m))
    }

    fn read_string(&mut self) -> Result<String, EdnError> {
        let mut out = Vec::new();
        loop {
            let Some(c) = self.bump() else {
                return Err(self.err("unterminated string"));
            };
            match c {
                b'"' => break,
                b'\\' => {
                    let Some(e) = self.bump() else {
                        return Err(self.err("unterminated string"));
                    };
                    match e {
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        b'r' => out.push(b'\r'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'u' => {
                            let hex: Vec<u8> = (0..4).filter_map(|_| self.bump()).collect();
                            let code = std::str::from_utf8(&hex)
                                .ok()
                                .and_then(|h| u32::from_str_radix(h, 16).ok())
                                .and_then(char::from_u32)
                                .ok_or_else(|| self.err("bad \\u escape"))?;
                            let mut b = [0u8; 4];
                            out.extend_from_slice(code.encode_utf8(&mut b).as_bytes());
                        }
                        other => out.push(other),
                    }
                }
                other => out.push(other),
            }
        }
        String::from_utf8(out).map_err(|_| self.err("string is not UTF-8"))
    }

    fn read_char(&mut self) -> Result<String, EdnError> {
        let t = self.read_token();
        let s = match t.as_str() {
            "newline" => "\n".to_string(),
            "space" => " ".to_string(),
            "tab" => "\t".to_string(),
            "return" => "\r".to_string(),
            "" => match self.bump() {
                Some(c) if c.is_ascii() => (c as char).to_string(),
                _ => return Err(self.err("bad character literal")),
            },
            other => other.to_string(),
        };
        Ok(s)
    }

    fn read_token(&mut self) -> String {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c.is_ascii_whitespace() || matches!(c, b',' | b'(' | b')' | b'[' | b']' | b'{' | b'}' | b'"' | b';') {
                break;
            }
            self.pos += 1;
        }
        String::from_utf8_lossy(&self.s[start..self.pos]).into_owned()
    }
}

/// An atom's value: nil, booleans, numbers, keywords (colon dropped), symbols.
fn atom(t: &str) -> Value {
    match t {
        "nil" => return Value::Null,
        "true" => return Value::Bool(true),
        "false" => return Value::Bool(false),
        _ => {}
    }
    if let Some(k) = t.strip_prefix(':') {
        return Value::String(k.to_string());
    }
    let digits = t.strip_suffix('N').unwrap_or(t);
    if let Ok(i) = digits.parse::<i64>() {
        return Value::Number(i.into());
    }
    if let Ok(u) = digits.parse::<u64>() {
        return Value::Number(u.into());
    }
    let float = t.strip_suffix('M').unwrap_or(t);
    if float.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+' || c == '.') {
        if let Some(n) = float.parse::<f64>().ok().and_then(Number::from_f64) {
            return Value::Number(n);
        }
    }
    Value::String(t.to_string())
}

/// Parses a whole text as a sequence of forms.
pub fn parse_all(text: &str) -> Result<Vec<(usize, Value)>, EdnError> {
    let mut r = EdnReader::new(text);
    let mut out = Vec::new();
    while let Some(f) = r.next_form() {
        out.push(f?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn one(s: &str) -> Value {
        let mut all = parse_all(s).unwrap();
        assert_eq!(all.len(), 1, "{s}");
        all.remove(0).1
    }

    #[test]
    fn reads_the_shapes_jepsen_writes() {
        assert_eq!(
            one("{:type :invoke, :f :cas, :value [1 2], :process 3, :time 123, :index 4}"),
            json!({"type": "invoke", "f": "cas", "value": [1, 2], "process": 3, "time": 123, "index": 4})
        );
        assert_eq!(one("nil"), Value::Null);
        assert_eq!(one("#{1 2}"), json!([1, 2]));
        assert_eq!(one("(1 \"a\\nb\" :k/w sym)"), json!([1, "a\nb", "k/w", "sym"]));
        assert_eq!(one("#jepsen.history.Op{:f :read}"), json!({"f": "read"}));
        assert_eq!(one("[1 #_ 2 3] ; comment"), json!([1, 3]));
        assert_eq!(one("{[1 2] 3}"), json!({"[1,2]": 3}));
        assert_eq!(one("-1.5"), json!(-1.5));
        assert_eq!(one("\\a"), json!("a"));
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse_all("{:a 1}\n{:b 2\n").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(parse_all("{:a}").is_err());
        assert!(parse_all("[1 2)").is_err());
        assert!(parse_all(")").is_err());
        assert!(parse_all(&"[".repeat(10_000)).is_err());
    }
}
