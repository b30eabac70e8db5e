//! A small, strict JSON reader and writer.
//!
//! The page receives JSON from two untrusted places: the host's
//! `getIceServers()` and the remote peer's data-channel messages. serde would
//! cost tens of kilobytes of wasm; this reader is a few hundred bytes of logic,
//! bounded in depth so hostile input cannot exhaust the stack.

use alloc::string::String;
use alloc::vec::Vec;

/// A parsed JSON value. Numbers keep only what the protocol needs: the
/// value of a plain integer, `None` for any other valid number. (Float
/// parsing would add ~10 kB of wasm for no protocol field.)
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Num(Option<i64>),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

/// Nesting deeper than this is rejected (no protocol message needs more than 3).
const MAX_DEPTH: usize = 32;

impl Json {
    /// Parses one JSON document; trailing non-whitespace is an error.
    pub fn parse(text: &str) -> Option<Json> {
        let mut p = Parser { s: text.as_bytes(), i: 0 };
        let v = p.value(0)?;
        p.ws();
        (p.i == p.s.len()).then_some(v)
    }

    /// The member `key` of an object (first occurrence).
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Json::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// A non-negative integer that fits `u16` (e.g. `sdpMLineIndex`).
    pub fn as_u16(&self) -> Option<u16> {
        match self {
            Json::Num(Some(n)) => u16::try_from(*n).ok(),
            _ => None,
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.s.get(self.i) {
            self.i += 1;
        }
    }

    fn eat(&mut self, lit: &[u8]) -> Option<()> {
        let end = self.i.checked_add(lit.len())?;
        (self.s.get(self.i..end)? == lit).then(|| self.i = end)
    }

    fn value(&mut self, depth: usize) -> Option<Json> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.ws();
        match *self.s.get(self.i)? {
            b'n' => self.eat(b"null").map(|_| Json::Null),
            b't' => self.eat(b"true").map(|_| Json::Bool(true)),
            b'f' => self.eat(b"false").map(|_| Json::Bool(false)),
            b'"' => self.string().map(Json::Str),
            b'[' => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.eat(b"]").is_some() {
                    return Some(Json::Arr(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    if self.eat(b",").is_none() {
                        self.eat(b"]")?;
                        return Some(Json::Arr(items));
                    }
                }
            }
            b'{' => {
                self.i += 1;
                let mut members = Vec::new();
                self.ws();
                if self.eat(b"}").is_some() {
                    return Some(Json::Obj(members));
                }
                loop {
                    self.ws();
                    let k = self.string()?;
                    self.ws();
                    self.eat(b":")?;
                    let v = self.value(depth + 1)?;
                    members.push((k, v));
                    self.ws();
                    if self.eat(b",").is_none() {
                        self.eat(b"}")?;
                        return Some(Json::Obj(members));
                    }
                }
            }
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    /// Reads a number with JSON's grammar: `-? int frac? exp?`.
    fn number(&mut self) -> Option<Json> {
        let neg = self.eat(b"-").is_some();
        let digits = |p: &mut Self| {
            let start = p.i;
            while let Some(b'0'..=b'9') = p.s.get(p.i) {
                p.i += 1;
            }
            p.i - start
        };
        let int_start = self.i;
        let n = digits(self);
        if n == 0 || (n > 1 && self.s.get(int_start) == Some(&b'0')) {
            return None;
        }
        let mut plain = true;
        if self.eat(b".").is_some() {
            plain = false;
            if digits(self) == 0 {
                return None;
            }
        }
        if let Some(b'e' | b'E') = self.s.get(self.i) {
            self.i += 1;
            plain = false;
            let _ = self.eat(b"+").or_else(|| self.eat(b"-"));
            if digits(self) == 0 {
                return None;
            }
        }
        let value = plain
            .then(|| {
                self.s[int_start..int_start + n]
                    .iter()
                    .try_fold(0i64, |acc, d| acc.checked_mul(10)?.checked_add((d - b'0') as i64))
            })
            .flatten()
            .map(|v| if neg { -v } else { v });
        Some(Json::Num(value))
    }

    /// Exactly four hex digits (`from_str_radix` alone would also take a
    /// sign: `\u+0e9`).
    fn hex4(&mut self) -> Option<u32> {
        let h = self.s.get(self.i..self.i.checked_add(4)?)?;
        let v = h.iter().try_fold(0u32, |acc, &d| Some(acc * 16 + (d as char).to_digit(16)?))?;
        self.i += 4;
        Some(v)
    }

    fn string(&mut self) -> Option<String> {
        self.eat(b"\"")?;
        let mut out = String::new();
        loop {
            let start = self.i;
            while let Some(&b) = self.s.get(self.i) {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.i += 1;
            }
            out.push_str(core::str::from_utf8(&self.s[start..self.i]).ok()?);
            match *self.s.get(self.i)? {
                b'"' => {
                    self.i += 1;
                    return Some(out);
                }
                b'\\' => {
                    self.i += 1;
                    let c = *self.s.get(self.i)?;
                    self.i += 1;
                    out.push(match c {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hi = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&hi) {
                                self.eat(b"\\u")?;
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return None;
                                }
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else {
                                hi
                            };
                            char::from_u32(code)?
                        }
                        _ => return None,
                    });
                }
                _ => return None, // raw control character
            }
        }
    }
}

/// Decimal text of `n` (core::fmt would cost kilobytes of wasm).
pub fn itoa(mut n: u64) -> String {
    let mut buf = Vec::new();
    loop {
        buf.push(b'0' + (n % 10) as u8);
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.reverse();
    String::from_utf8(buf).unwrap_or_default()
}

/// Appends `s` as a JSON string literal (with quotes) to `out`.
pub fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                out.push_str("\\u00");
                let hex = b"0123456789abcdef";
                out.push(hex[(c as usize) >> 4] as char);
                out.push(hex[(c as usize) & 15] as char);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    #[allow(unused_imports)]
    use std::{format, prelude::rust_2021::*, vec};

    #[test]
    fn parses_protocol_shapes() {
        let v = Json::parse(r#" {"audioEnabled": true, "videoEnabled":false, "x":[1,-2.5e1,null]} "#).unwrap();
        assert_eq!(v.get("audioEnabled").and_then(Json::as_bool), Some(true));
        assert_eq!(v.get("videoEnabled").and_then(Json::as_bool), Some(false));
        assert!(matches!(v.get("x"), Some(Json::Arr(a)) if a.len() == 3));
        assert_eq!(Json::parse("null"), Some(Json::Null));
        assert_eq!(Json::parse(r#""a\u00e9\ud83d\ude00\n""#).unwrap().as_str(), Some("aé😀\n"));
    }

    #[test]
    fn rejects_hostile_input() {
        for bad in [
            "", "{", "[1,]", "{\"a\"}", "tru", "\"unterminated", "{\"a\":1}x", "\"\\ud800\"",
            "\"\\uZZZZ\"", "\"a\u{1}\"", "nul", "[", "{,}", "\"\\q\"", "\"\\u12", "1e999x",
        ] {
            assert!(Json::parse(bad).is_none(), "accepted {bad:?}");
        }
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        assert!(Json::parse(&deep).is_none());
        let ok_depth = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(Json::parse(&ok_depth).is_some());
    }

    #[test]
    fn unicode_escape_is_four_hex_digits() {
        // Found by the `json` fuzz target (against serde_json): a sign was
        // accepted as part of the four digits.
        for bad in [r#""\u+0e9""#, r#""\u-0e9""#, r#""\u 0e9""#, r#""\ud83d\u+e00""#] {
            assert!(Json::parse(bad).is_none(), "{bad}");
        }
        assert_eq!(Json::parse(r#""\u00E9\u00e9""#).unwrap().as_str(), Some("éé"));
    }

    #[test]
    fn u16_only_for_small_integers() {
        let n = |t: &str| Json::parse(t).and_then(|v| v.as_u16());
        assert_eq!(n("3"), Some(3));
        assert_eq!(n("0"), Some(0));
        assert_eq!(n("-1"), None);
        assert_eq!(n("1.5"), None);
        assert_eq!(n("1e2"), None);
        assert_eq!(n("70000"), None);
        assert_eq!(n("99999999999999999999999"), None);
        assert_eq!(Json::parse("-2.5e+1"), Some(Json::Num(None)));
        for bad in ["01", "1.", ".5", "-", "1e", "+1", "--1", "1.e3"] {
            assert!(Json::parse(bad).is_none(), "{bad}");
        }
        assert_eq!(itoa(0), "0");
        assert_eq!(itoa(18446744073709551615), "18446744073709551615");
    }

    #[test]
    fn writes_escaped_strings_that_parse_back() {
        let nasty = "a\"b\\c\n\u{1}é</script>";
        let mut out = String::new();
        write_str(&mut out, nasty);
        assert_eq!(Json::parse(&out).unwrap().as_str(), Some(nasty));
    }
}
