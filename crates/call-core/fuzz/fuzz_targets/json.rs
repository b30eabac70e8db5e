//! The strict JSON reader (`json::Json::parse`) and writer (`write_str`).
//!
//! Properties:
//! - never panics and nests at most 32 levels below the top value;
//! - differential against serde_json: the same texts are accepted (except
//!   nesting past our limit, and numbers out of f64 range that we keep as
//!   "some number"), with the same strings, booleans and integers;
//! - a parsed value printed back out parses to the same value;
//! - `write_str` of any string is a JSON string literal without raw control
//!   characters that parses back to the string (ours and serde_json).
#![no_main]

use call_core::json::{itoa, write_str, Json};
use libfuzzer_sys::fuzz_target;

/// How far below the top value the deepest value sits.
const MAX_DEPTH: usize = 32;

fn depth(v: &Json) -> usize {
    match v {
        Json::Arr(a) => a.iter().map(|x| 1 + depth(x)).max().unwrap_or(0),
        Json::Obj(m) => m.iter().map(|(_, x)| 1 + depth(x)).max().unwrap_or(0),
        _ => 0,
    }
}

fn serde_depth(v: &serde_json::Value) -> usize {
    use serde_json::Value;
    match v {
        Value::Array(a) => a.iter().map(|x| 1 + serde_depth(x)).max().unwrap_or(0),
        Value::Object(m) => m.values().map(|x| 1 + serde_depth(x)).max().unwrap_or(0),
        _ => 0,
    }
}

fn print(v: &Json, out: &mut String) {
    match v {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Num(Some(n)) => {
            if *n < 0 {
                out.push('-');
            }
            out.push_str(&itoa(n.unsigned_abs()));
        }
        Json::Num(None) => out.push_str("-2.5e1"),
        Json::Str(s) => write_str(out, s),
        Json::Arr(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                print(x, out);
            }
            out.push(']');
        }
        Json::Obj(m) => {
            out.push('{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(out, k);
                out.push(':');
                print(x, out);
            }
            out.push('}');
        }
    }
}

/// Compares our value with serde_json's where both can tell.
fn same(ours: &Json, theirs: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (ours, theirs) {
        (Json::Null, Value::Null) => true,
        (Json::Bool(a), Value::Bool(b)) => a == b,
        (Json::Num(Some(n)), Value::Number(x)) => x.as_i64() == Some(*n) || x.as_f64() == Some(*n as f64),
        (Json::Num(None), Value::Number(_)) => true,
        (Json::Str(a), Value::String(b)) => a == b,
        (Json::Arr(a), Value::Array(b)) => a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y)),
        (Json::Obj(a), Value::Object(b)) => {
            // serde_json keeps the last of duplicate keys; compare those.
            a.iter().all(|(k, _)| b.contains_key(k))
                && b.iter().all(|(k, y)| a.iter().rev().find(|(ka, _)| ka == k).is_some_and(|(_, x)| same(x, y)))
        }
        _ => false,
    }
}

fn check_text(text: &str) {
    let ours = Json::parse(text);
    let theirs = serde_json::from_str::<serde_json::Value>(text);
    match (&ours, &theirs) {
        (Some(v), Ok(w)) => {
            assert!(depth(v) <= MAX_DEPTH);
            assert!(same(v, w), "values differ for {text:?}: {v:?} vs {w:?}");
        }
        (Some(v), Err(e)) => {
            assert!(e.to_string().contains("number out of range"), "accepted what serde_json refuses ({e}): {text:?} -> {v:?}");
        }
        (None, Ok(w)) => assert!(serde_depth(w) > MAX_DEPTH, "refused valid JSON {text:?}"),
        (None, Err(_)) => {}
    }
    if let Some(v) = ours {
        let mut out = String::new();
        print(&v, &mut out);
        assert_eq!(Json::parse(&out).as_ref(), Some(&v), "printed {out}");
        // Nesting it deeper is refused exactly past the limit.
        let d = depth(&v);
        let wrap = MAX_DEPTH - d;
        let deepest = format!("{}{out}{}", "[".repeat(wrap), "]".repeat(wrap));
        assert!(Json::parse(&deepest).is_some());
        let too_deep = format!("[{deepest}]");
        assert!(Json::parse(&too_deep).is_none());
    }
}

fn check_write(s: &str) {
    let mut out = String::new();
    write_str(&mut out, s);
    assert!(out.starts_with('"') && out.ends_with('"') && out.len() >= 2);
    assert!(!out.chars().any(|c| (c as u32) < 0x20), "raw control character in {out:?}");
    assert_eq!(Json::parse(&out), Some(Json::Str(s.to_owned())));
    assert_eq!(serde_json::from_str::<String>(&out).ok().as_deref(), Some(s));
    // As an object member and inside an array.
    let obj = format!("{{{out}:[{out}]}}");
    assert_eq!(Json::parse(&obj), Some(Json::Obj(vec![(s.to_owned(), Json::Arr(vec![Json::Str(s.to_owned())]))])));
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    check_text(&text);
    check_write(&text);
});
