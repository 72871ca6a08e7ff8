//! How a client operation ended: Jepsen's ok / fail / info, kept apart.

use serde_json::Value;

/// The end of one client operation.
#[derive(Debug, Clone, PartialEq)]
pub enum Completion {
    /// It took effect; the value it returned.
    Ok(Value),
    /// It definitely did not take effect (refused before sending, a failed
    /// compare, a read that failed); why.
    Fail(String),
    /// Unknown whether it took effect (timeout, response lost); why.
    Info(String),
}

/// Whether an operation can change the SUT's state: a failed read is always
/// a definite `fail`, a failed write is `info` unless it was never sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Reads: no effect, so any failure is a `fail`.
    ReadOnly,
    /// Writes: a failure after sending is indeterminate.
    Write,
}

/// Classifies a transport error from the HTTP client.
pub fn classify(e: &reqwest::Error, effect: Effect) -> Completion {
    let why = classify_text(e);
    // A connection that was never made sent nothing: the op did not happen.
    if e.is_connect() && !e.is_timeout() || effect == Effect::ReadOnly {
        Completion::Fail(why)
    } else {
        Completion::Info(why)
    }
}

/// Why a request failed, in a few words: `timeout`, `connect: ...`, or
/// the root cause.
pub fn classify_text(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timeout".to_string()
    } else if e.is_connect() {
        format!("connect: {}", root_cause(e))
    } else {
        root_cause(e)
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// Base64 (standard alphabet, padded), as etcd's JSON gateway wants.
pub fn b64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let n = (c[0] as u32) << 16 | (*c.get(1).unwrap_or(&0) as u32) << 8 | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes base64; `None` if malformed.
pub fn unb64(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        } as u32)
    };
    let s = s.trim_end_matches('=').as_bytes();
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    for c in s.chunks(4) {
        if c.len() == 1 {
            return None;
        }
        let mut n = 0u32;
        for (i, &b) in c.iter().enumerate() {
            n |= val(b)? << (18 - 6 * i);
        }
        out.push((n >> 16) as u8);
        if c.len() > 2 {
            out.push((n >> 8) as u8);
        }
        if c.len() > 3 {
            out.push(n as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips() {
        for s in ["", "f", "fo", "foo", "foob", "fooba", "foobar", "[1,2]"] {
            assert_eq!(unb64(&b64(s.as_bytes())).unwrap(), s.as_bytes());
        }
        assert_eq!(b64(b"foobar"), "Zm9vYmFy");
        assert_eq!(b64(b"fo"), "Zm8=");
        assert!(unb64("Z").is_none() && unb64("Zm9v!").is_none());
    }
}
