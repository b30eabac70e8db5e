//! Tests of the built page as shipped (`cargo xtask build` first; `cargo
//! xtask test` does). They unpack `dist/*.html` the way the loader does and
//! check what a host relies on: size, no network request, and a module
//! Chromium 87 can compile.

use std::io::Read;
use std::path::PathBuf;

fn dist_file(name: &str) -> (PathBuf, String) {
    let dir = std::env::var_os("CALLS_DIST").map(PathBuf::from).unwrap_or_else(crate::dist);
    let path = dir.join(name);
    let html = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run `cargo xtask build` (or `cargo xtask test`)", path.display()));
    (path, html)
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> &'a str {
    let a = s.find(start).map(|i| i + start.len()).expect("start marker");
    let b = s[a..].find(end).expect("end marker");
    &s[a..a + b]
}

/// Returns (css, markup, glue, wasm) as the loader would see them.
fn unpack(html: &str) -> (String, String, String, Vec<u8>) {
    let text = between(html, "var text = \"", "\"");
    let size: usize = between(html, "size = ", ",").trim().parse().expect("payload size");
    let lengths: Vec<usize> =
        between(html, "lengths = [", "]").split(',').map(|n| n.trim().parse().expect("a length")).collect();
    let gz = crate::b7::decode(text, size).expect("7-bit text");
    let mut all = Vec::new();
    flate2::read::GzDecoder::new(&gz[..]).read_to_end(&mut all).expect("gzip");
    let mut parts = Vec::new();
    for n in lengths {
        let rest = all.split_off(n);
        parts.push(String::from_utf8(std::mem::replace(&mut all, rest)).expect("utf-8 part"));
    }
    let [css, markup, glue] = <[String; 3]>::try_from(parts).expect("three text parts");
    (css, markup, glue, all)
}

fn check(name: &str) -> (String, Vec<u8>, usize) {
    let (path, html) = dist_file(name);
    for outside in ["src=\"http", "href=\"http", "<link", "@import", "url(", "fetch(\"http"] {
        assert!(!html.contains(outside), "{}: `{outside}` would be a network request", path.display());
    }
    let (css, markup, glue, wasm) = unpack(&html);
    assert!(glue.contains("wasm_bindgen"), "the glue defines wasm_bindgen");
    assert!(css.contains("#remote-video"), "the styles are there");
    for id in ["remote-video", "status", "answer", "end", "mic", "cam"] {
        assert!(markup.contains(&format!("id=\"{id}\"")), "the markup has #{id}");
    }
    assert!(!markup.contains("<script"), "no script in the markup");
    crate::wasmcheck::validate_for_chromium_87(&wasm).expect("module valid for Chromium 87");
    (glue, wasm, html.len())
}

#[test]
fn page_is_one_small_file_with_a_chromium_87_module() {
    let (_, _, size) = check("index.html");
    let max = crate::pack::MAX_PAGE_BYTES;
    assert!(size <= max, "dist/index.html is {size} bytes, over the {max}-byte ceiling");
}

#[test]
fn debug_page_unpacks_and_validates() {
    let (_, wasm, _) = check("index-debug.html");
    let (_, release, _) = check("index.html");
    assert_ne!(wasm, release, "the debug page carries its own (debug) module");
}
