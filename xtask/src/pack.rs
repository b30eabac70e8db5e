//! Builds the one-file page: wasm → wasm-bindgen glue → wasm-opt →
//! validation for Chromium 87 → gzip(css ++ markup ++ glue ++ wasm) → a
//! string of 7 bits per character (`b7.rs`) inside the HTML template with
//! the loader. Both variants: `dist/index.html` and the debug build
//! `dist/index-debug.html`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{cargo, dist, imports, root, run, wasmcheck, Result};

/// The ceiling for `dist/index.html`: 80 kB. The page ships inside the
/// host app, and what counts is how fast it is ready and how much memory
/// it takes (the bench measures both); its size stands in for them.
pub(crate) const MAX_PAGE_BYTES: usize = 80 * 1024;

/// Chromium 87's WebAssembly (see wasmcheck.rs), for rustc and wasm-opt.
/// Newer rustc enables reference types and more by default for wasm32.
const RUSTFLAGS: &str = "-C target-cpu=mvp -C target-feature=+mutable-globals,+sign-ext,+nontrapping-fptoint,+bulk-memory";
const WASM_OPT_FEATURES: &[&str] = &[
    "--mvp-features",
    "--enable-mutable-globals",
    "--enable-sign-ext",
    "--enable-nontrapping-float-to-int",
    "--enable-bulk-memory",
];

struct Variant {
    file: &'static str,
    features: &'static [&'static str],
}

const VARIANTS: &[Variant] = &[
    Variant { file: "index.html", features: &[] },
    Variant { file: "index-debug.html", features: &["--features", "debug"] },
];

pub(crate) fn build_all() -> Result {
    std::fs::create_dir_all(dist()).map_err(|e| format!("dist/: {e}"))?;
    for v in VARIANTS {
        let page = build(v)?;
        let out = dist().join(v.file);
        // Write beside and rename: a test server reading the file meanwhile
        // sees the old or the new page, never half of one.
        let tmp = out.with_extension("html.tmp");
        std::fs::write(&tmp, &page).map_err(|e| format!("{}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, &out).map_err(|e| format!("{}: {e}", out.display()))?;
        println!("dist/{}: {} bytes, {} gzipped", v.file, page.len(), gzip(page.as_bytes()).len());
        if v.features.is_empty() && page.len() > MAX_PAGE_BYTES {
            return Err(format!("dist/{} is {} bytes, over the {MAX_PAGE_BYTES}-byte ceiling", v.file, page.len()));
        }
    }
    Ok(())
}

fn build(v: &Variant) -> Result<String> {
    let target = target_dir();
    run(cargo()
        .args(["build", "--quiet", "--package", "call-web", "--lib", "--release", "--target", "wasm32-unknown-unknown"])
        .args(v.features)
        .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS", RUSTFLAGS))?;
    let raw = target.join("wasm32-unknown-unknown/release/call_web.wasm");
    let work = target.join("pack").join(v.file.trim_end_matches(".html"));
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    run(Command::new("wasm-bindgen")
        .arg(&raw)
        .arg("--out-dir")
        .arg(&work)
        .args(["--target", "no-modules", "--no-typescript", "--remove-producers-section", "--remove-name-section"]))?;
    let opt = work.join("opt.wasm");
    run(Command::new("wasm-opt")
        .arg(work.join("call_web_bg.wasm"))
        .args(["-Oz", "--strip-debug", "--strip-producers", "--strip-target-features", "-o"])
        .arg(&opt)
        .args(WASM_OPT_FEATURES))?;
    let glue = String::from_utf8(read(&work.join("call_web.js"))?).map_err(|_| "glue is not UTF-8")?;
    check_glue_syntax(&glue)?;
    // No minifier: the page would then depend on a tool outside the Rust
    // toolchain (esbuild, from npm) for about 2 kB that the ceiling has
    // room for, and the glue stays readable in a host's developer tools.
    let (wasm, glue) = imports::shorten(&read(&opt)?, &strip_comments(&glue))?;
    wasmcheck::validate_for_chromium_87(&wasm)?;
    page(&glue, &wasm)
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root().join("target"))
}

fn read(p: &Path) -> Result<Vec<u8>> {
    std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = zopfli::compress(zopfli::Options::default(), zopfli::Format::Gzip, data, &mut out);
    out
}

/// Assembles the page. Styles, markup, glue and module all go into one
/// gzip stream: the template's CSS and SVG markup compress to a third, and
/// every byte of the file counts. What stays outside is the document shell
/// (`<html>` with its state attributes, meta tags), a one-line style for
/// the first paint, a `#status` for the loader's error message, and the
/// loader, which puts styles and markup in place before the module starts.
pub(crate) fn page(glue: &str, wasm: &[u8]) -> Result<String> {
    let web = root().join("web");
    let template = String::from_utf8(read(&web.join("index.html"))?).map_err(|_| "template is not UTF-8")?;
    let loader = String::from_utf8(read(&web.join("loader.js"))?).map_err(|_| "loader is not UTF-8")?;
    let version = version();
    // The template's own marker, filled before the loader (whose payload
    // could hold anything) joins it.
    let template = fill_once(&minify_css(&template), "{{VERSION}}", &version)?;
    let part = |start: &str, end: &str| -> Result<(usize, usize)> {
        let a = template.find(start).ok_or_else(|| format!("template lacks {start}"))? + start.len();
        let b = a + template[a..].find(end).ok_or_else(|| format!("template lacks {end}"))?;
        Ok((a, b))
    };
    let (css_a, css_b) = part("<style>", "</style>")?;
    let (body_a, body_b) = part("<body>", "<!-- CALL_SCRIPT -->")?;
    let css = &template[css_a..css_b];
    let markup: String = template[body_a..body_b].lines().map(str::trim).collect();
    let mut blob = Vec::new();
    for p in [css.as_bytes(), markup.as_bytes(), glue.as_bytes(), wasm] {
        blob.extend_from_slice(p);
    }
    let lengths = format!("[{},{},{}]", css.len(), markup.len(), glue.len());
    let gz = gzip(&blob);
    let loader = fill_markers(
        &minify_loader(&loader),
        &[
            ("BLOB", &crate::b7::encode(&gz)),
            ("SIZE", &gz.len().to_string()),
            ("LENGTHS", &lengths),
            ("VERSION", &version),
            ("FAILED", call_core::Phase::Failed.as_str()),
            ("LINGER_MS", &call_core::params::FAILURE_LINGER_MS.to_string()),
        ],
    )?;
    let head = &template[..css_a - "<style>".len()];
    let after_style = &template[css_b + "</style>".len()..body_a];
    let tail = &template[body_b + "<!-- CALL_SCRIPT -->".len()..];
    Ok([
        head,
        "<style>html{background:#111418;color:#f2f4f7;font:16px system-ui,sans-serif}</style>",
        after_style,
        "<p id=\"status\" role=\"status\"></p><script>",
        &loader,
        "</script>",
        tail,
    ]
    .concat())
}

/// Replaces each `@@NAME@@` marker of `js` with its value, in one pass
/// from left to right (a value is never searched for markers), and fails
/// unless every marker found is known and every known one occurs exactly
/// once.
fn fill_markers(js: &str, values: &[(&str, &str)]) -> Result<String> {
    let mut out = String::with_capacity(js.len() + values.iter().map(|(_, v)| v.len()).sum::<usize>());
    let mut used = vec![0usize; values.len()];
    let mut rest = js;
    while let Some(start) = rest.find("@@") {
        let after = &rest[start + 2..];
        let end = after.find("@@").ok_or_else(|| format!("loader: unclosed marker at `{}`", &rest[start..]))?;
        let name = &after[..end];
        let i = values.iter().position(|(n, _)| *n == name).ok_or_else(|| format!("loader: unknown marker @@{name}@@"))?;
        out.push_str(&rest[..start]);
        out.push_str(values[i].1);
        used[i] += 1;
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    for ((name, _), n) in values.iter().zip(used) {
        if n != 1 {
            return Err(format!("loader: marker @@{name}@@ occurs {n} times, not once"));
        }
    }
    Ok(out)
}

/// `text` with its one `marker` replaced; an error unless there is exactly one.
fn fill_once(text: &str, marker: &str, value: &str) -> Result<String> {
    match text.matches(marker).count() {
        1 => Ok(text.replacen(marker, value, 1)),
        n => Err(format!("template: {marker} occurs {n} times, not once")),
    }
}

/// The crate version, plus the commit where the source is a git checkout
/// (`0.1.0+g1a2b3c4`, `-dirty` with uncommitted changes): shown in the page
/// (meta tag, console) so a bug report says what ran.
pub(crate) fn version() -> String {
    let base = env!("CARGO_PKG_VERSION");
    let described = Command::new("git")
        .args(["describe", "--always", "--dirty", "--abbrev=9", "--match", "v[0-9]*"])
        .current_dir(root())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.".contains(&b)));
    match described {
        Some(d) if d.starts_with('v') => d.trim_start_matches('v').to_string(),
        Some(d) => [base, "+g", &d].concat(),
        None => base.to_string(),
    }
}

/// Drops `//` comment lines and indentation from the loader (it has no
/// strings with `//` or significant leading spaces).
fn minify_loader(js: &str) -> String {
    js.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with("//")).collect::<Vec<_>>().join("\n")
}

/// Drops whole-line `//` comments and indentation from the glue; it is
/// machine-generated and has no multi-line strings or template literals
/// spanning lines that this could break (a test loads the result).
fn strip_comments(js: &str) -> String {
    let mut out = String::with_capacity(js.len());
    let mut in_block = false;
    for line in js.lines() {
        let t = line.trim();
        if in_block {
            in_block = !t.contains("*/");
            continue;
        }
        if t.starts_with("/*") {
            in_block = !t.contains("*/");
            continue;
        }
        if t.is_empty() || t.starts_with("//") || t.starts_with("* ") || t == "*" {
            continue;
        }
        out.push_str(t);
        out.push('\n');
    }
    out
}

/// Removes CSS comments and collapses whitespace inside `<style>`.
fn minify_css(html: &str) -> String {
    let (Some(a), Some(b)) = (html.find("<style>"), html.find("</style>")) else { return html.to_string() };
    let css = &html[a + 7..b];
    let mut out = String::new();
    let mut rest = css;
    while let Some(i) = rest.find("/*") {
        out.push_str(&rest[..i]);
        rest = rest[i..].find("*/").map_or("", |j| &rest[i + j + 2..]);
    }
    out.push_str(rest);
    let mut small = String::new();
    for word in out.split_whitespace() {
        let glue_left = small.ends_with(['{', '}', ';', ':', ',', '>']);
        let glue_right = word.starts_with(['{', '}', ';', ',', '>']);
        if !small.is_empty() && !glue_left && !glue_right {
            small.push(' ');
        }
        small.push_str(word);
    }
    // The newlines between tags outside <style> stay: they cost little.
    [&html[..a + 7], &small, &html[b..]].concat()
}

/// JavaScript syntax and APIs newer than Chromium 87 that generated glue
/// could contain; the page must load on Delta Touch.
fn check_glue_syntax(glue: &str) -> Result {
    const NEWER: &[(&str, &str)] = &[
        ("static {", "class static blocks (Chromium 94)"),
        (".at(", "Array.prototype.at (Chromium 92)"),
        ("Object.hasOwn", "Object.hasOwn (Chromium 93)"),
        ("structuredClone", "structuredClone (Chromium 98)"),
        ("findLast", "findLast (Chromium 97)"),
        ("await import", "dynamic import in a script"),
        ("import.meta", "import.meta (module only)"),
        ("export ", "ES module syntax"),
    ];
    for (needle, what) in NEWER {
        if glue.contains(needle) {
            return Err(format!("the wasm-bindgen glue uses {what}, which Chromium 87 lacks"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn css_minifier_keeps_selectors_and_values() {
        let html = "<style>\n/* c */\na > b { x: 1px  2px; }\n[d=\"e f\"] c { y: 2; }\n</style><p>";
        assert_eq!(minify_css(html), "<style>a>b{x:1px 2px;}[d=\"e f\"] c{y:2;}</style><p>");
    }

    #[test]
    fn comment_stripper_drops_comment_lines_only() {
        let js = "/**\n * doc\n */\nlet a = 1; // keep\n// gone\n  b();\n";
        assert_eq!(strip_comments(js), "let a = 1; // keep\nb();\n");
    }

    const MARKED: &str = "var t = \"@@BLOB@@\", n = @@SIZE@@; log(\"SIZE BLOB @@\" + 1);";

    #[test]
    fn markers_are_filled_by_name() {
        let out = fill_markers("var t = \"@@BLOB@@\", n = @@SIZE@@;", &[("BLOB", "xyz"), ("SIZE", "3")]);
        assert_eq!(out.as_deref(), Ok("var t = \"xyz\", n = 3;"));
    }

    #[test]
    fn a_value_is_never_searched_for_markers() {
        // The payload is arbitrary text: it may hold another marker, or
        // another marker's bare name, and both must stay as they are.
        let out = fill_markers("a @@BLOB@@ b @@SIZE@@ c", &[("BLOB", "@@SIZE@@ SIZE"), ("SIZE", "7")]);
        assert_eq!(out.as_deref(), Ok("a @@SIZE@@ SIZE b 7 c"));
    }

    #[test]
    fn a_missing_repeated_or_unknown_marker_is_an_error() {
        assert!(fill_markers("@@BLOB@@", &[("BLOB", "x"), ("SIZE", "1")]).is_err(), "SIZE missing");
        assert!(fill_markers("@@BLOB@@ @@BLOB@@", &[("BLOB", "x")]).is_err(), "BLOB twice");
        assert!(fill_markers("@@BLOB@@ @@BLOOB@@", &[("BLOB", "x")]).is_err(), "a typo");
        assert!(fill_markers(MARKED, &[("BLOB", "x"), ("SIZE", "1")]).is_err(), "an unclosed @@");
        assert!(fill_once("a {{VERSION}} {{VERSION}}", "{{VERSION}}", "1").is_err());
        assert!(fill_once("a", "{{VERSION}}", "1").is_err());
    }

    #[test]
    fn the_loader_has_each_marker_once() {
        let loader = std::fs::read_to_string(root().join("web/loader.js")).unwrap();
        let values =
            [("BLOB", ""), ("SIZE", "0"), ("LENGTHS", "[0,0,0]"), ("VERSION", "0"), ("FAILED", "failed"), ("LINGER_MS", "3000")];
        let filled = fill_markers(&minify_loader(&loader), &values).unwrap();
        assert!(!filled.contains("@@"), "{filled}");
    }

    #[test]
    fn newer_syntax_is_refused() {
        assert!(check_glue_syntax("class A { static { } }").is_err());
        assert!(check_glue_syntax("let wasm_bindgen; (function() {})()").is_ok());
    }
}
