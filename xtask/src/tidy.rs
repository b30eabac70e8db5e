//! Tidy checks, run by `cargo test -p xtask`: ARCHITECTURE.md has an entry
//! for every source file of the workspace and none for a file that is
//! gone, and every Rust file opens with a `//!` line saying what it is for.
//! Beside the code map, the lists the documents keep of the code must
//! match it: every document cited exists (and every section of the
//! protocol cited), the `data-*` attributes of the view, the xtask
//! commands and the loader's placeholders.
//!
//! The rule for entries is written in ARCHITECTURE.md ("Code map"); the
//! functions below implement exactly that rule, and each has a test that
//! feeds it a bad input.

use std::collections::BTreeSet;
use std::path::Path;

/// The document that must name every source file.
const MAP: &str = "ARCHITECTURE.md";

/// What counts as a source file: Rust, and the JavaScript and HTML that
/// ship or run in a test.
const SOURCE_EXTENSIONS: &[&str] = &["rs", "js", "html"];

/// Folders that hold no source of ours, wherever they are: build output
/// (`target`, `dist`), tools fetched from npm, and what libFuzzer writes
/// (inputs it found, crashes, coverage). Hidden folders (`.git`, `.ci`,
/// `.cargo`, `.github`) are skipped too.
const SKIPPED_FOLDERS: &[&str] = &["target", "dist", "node_modules", "corpus", "artifacts", "coverage"];

/// Source files below `root`: `/`-separated paths relative to it, sorted.
fn source_files(root: &Path) -> Vec<String> {
    files_with(root, SOURCE_EXTENSIONS)
}

/// Files below `root` whose name ends in one of `extensions`, outside
/// hidden and skipped folders: `/`-separated paths relative to it, sorted.
fn files_with(root: &Path, extensions: &[&str]) -> Vec<String> {
    fn walk(dir: &Path, prefix: &str, extensions: &[&str], out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(kind) = entry.file_type() else { continue };
            let path = if prefix.is_empty() { name.clone() } else { format!("{prefix}/{name}") };
            if kind.is_dir() {
                if !name.starts_with('.') && !SKIPPED_FOLDERS.contains(&name.as_str()) {
                    walk(&entry.path(), &path, extensions, out);
                }
            } else if kind.is_file() && has_extension(&name, extensions) {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(root, "", extensions, &mut out);
    out.sort();
    out
}

fn has_extension(name: &str, extensions: &[&str]) -> bool {
    name.rsplit_once('.').is_some_and(|(_, ext)| extensions.contains(&ext))
}

/// One entry of the code map: the path it names (from the root; a folder
/// ends in `/`) and its line in the document.
#[derive(Debug, PartialEq)]
struct Entry {
    path: String,
    line: usize,
}

/// The entries of the code map. A list item at the start of a line
/// (`- `) that begins with paths in backticks (`` `a`, `b`: … ``) is an
/// entry for each of them. A path is relative to the folder named by the
/// section's heading when that heading begins with a path in backticks
/// (`` ### `crates/call-web` ``), else to the root. Code blocks are skipped.
fn entries(doc: &str) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut base = String::new();
    let mut in_code = false;
    for (i, line) in doc.lines().enumerate() {
        if line.starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        if line.starts_with('#') {
            let title = line.trim_start_matches('#').trim_start();
            base = leading_paths(title).into_iter().next().unwrap_or_default();
            continue;
        }
        let Some(item) = line.strip_prefix("- ") else { continue };
        for p in leading_paths(item) {
            let path = if base.is_empty() { p } else { format!("{}/{p}", base.trim_end_matches('/')) };
            out.push(Entry { path, line: i + 1 });
        }
    }
    out
}

/// The backticked spans at the start of `text`, separated by `, ` (or
/// ` and `), that look like paths (no spaces).
fn leading_paths(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(after) = rest.strip_prefix('`') {
        let Some(end) = after.find('`') else { break };
        let span = &after[..end];
        if span.is_empty() || span.contains(char::is_whitespace) {
            break;
        }
        out.push(span.to_string());
        rest = &after[end + 1..];
        match [", ", " and "].iter().find_map(|sep| rest.strip_prefix(sep)) {
            Some(r) => rest = r,
            None => break,
        }
    }
    out
}

/// Whether an entry covers a file: the same path, or a folder entry
/// (ending in `/`) for the folder the file is directly in. A folder entry
/// does not reach into subfolders: `crates/` names no file.
fn covers(entry: &str, file: &str) -> bool {
    match entry.strip_suffix('/') {
        Some(folder) => file.rsplit_once('/').is_some_and(|(dir, _)| dir == folder),
        None => entry == file,
    }
}

/// Files that no entry covers.
fn unmapped<'a>(files: &'a [String], entries: &[Entry]) -> Vec<&'a str> {
    files.iter().filter(|f| !entries.iter().any(|e| covers(&e.path, f))).map(String::as_str).collect()
}

/// Entries whose file or folder does not exist.
fn stale(entries: &[Entry], exists: impl Fn(&str) -> bool) -> Vec<&Entry> {
    entries.iter().filter(|e| !exists(e.path.trim_end_matches('/'))).collect()
}

/// Whether a Rust file opens with a `//!` line that says something.
fn says_what_it_is_for(text: &str) -> bool {
    text.lines().next().and_then(|l| l.strip_prefix("//!")).is_some_and(|rest| !rest.trim().is_empty())
}

// ---------------------------------------------------------------------------
// Documents cited

/// The protocol document: the contract with hosts and peers, in our words.
const PROTOCOL: &str = "docs/PROTOCOL.md";

/// Files whose citations are checked: the sources, the documents, the
/// QtWebEngine host and the manifests.
const TEXT_EXTENSIONS: &[&str] = &["rs", "js", "html", "md", "py", "toml"];

/// This file is not read for citations: its tests feed the checks made-up
/// names on purpose.
const THIS_FILE: &str = "xtask/src/tidy.rs";

/// Documents that a command writes (into `target/`), named where they are
/// written rather than cited.
const WRITTEN: &[&str] = &["BENCHMARKS-partial.md"];

/// A byte that can be part of a path as the documents write them.
fn is_path_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'/')
}

/// The 1-based line of byte offset `at` in `text`.
fn line_of(text: &str, at: usize) -> usize {
    text.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count() + 1
}

/// The `*.md` documents `text` names, with their lines: a run of path
/// characters that ends in `.md` (and not in `.mdx` or the like). A run
/// with `//` in it is part of a URL and names nothing of ours; a path into
/// a skipped folder (`target/…`) names build output.
fn cited_documents(text: &str) -> Vec<(String, usize)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(found) = text[from..].find(".md") {
        let end = from + found + 3;
        from = end;
        if bytes.get(end).is_some_and(|&b| b.is_ascii_alphanumeric() || b == b'_') {
            continue;
        }
        let mut start = end - 3;
        while start > 0 && is_path_byte(bytes[start - 1]) {
            start -= 1;
        }
        let mut name = &text[start..end];
        // A sentence's dots before a name ("…see.README.md") are not part of it.
        while name.starts_with('.') && !name.starts_with("./") && !name.starts_with("../") {
            name = &name[1..];
        }
        if name == "md" || name.starts_with('/') || name.contains("//") {
            continue;
        }
        let first = name.split('/').next().unwrap_or_default();
        if name.contains('/') && SKIPPED_FOLDERS.contains(&first) {
            continue;
        }
        out.push((name.to_string(), line_of(text, start)));
    }
    out
}

/// `path` with `.` and `..` resolved; `None` if it climbs above the root.
fn normalize(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

/// The folder of a file's path (`""` at the root).
fn folder(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// Whether a document named in the file `from` exists. A name starting
/// with `./` or `../` is relative to the file's folder; a path with a `/`
/// is relative to the root or to that folder; a bare name (`PROTOCOL.md`)
/// is a document at the root, in `docs/`, or next to the file.
fn document_exists(cited: &str, from: &str, exists: &dyn Fn(&str) -> bool) -> bool {
    let dir = folder(from);
    let beside = normalize(&format!("{dir}/{cited}"));
    if cited.starts_with("./") || cited.starts_with("../") {
        return beside.is_some_and(|p| exists(&p));
    }
    let mut candidates = vec![Some(cited.to_string()), beside];
    if !cited.contains('/') {
        candidates.push(Some(format!("docs/{cited}")));
    }
    candidates.into_iter().flatten().any(|p| exists(&p))
}

/// Citations of documents that do not exist, as `file:line: name`.
fn missing_documents(files: &[(String, String)], exists: &dyn Fn(&str) -> bool) -> Vec<String> {
    let mut out = Vec::new();
    for (path, text) in files {
        for (name, line) in cited_documents(text) {
            let file_name = name.rsplit('/').next().unwrap_or_default();
            if !WRITTEN.contains(&file_name) && !document_exists(&name, path, exists) {
                out.push(format!("{path}:{line}: {name}"));
            }
        }
    }
    out
}

/// The targets of a Markdown text's links and images, `](target)` and
/// `src="target"`, with their lines; without what leaves the repository
/// (`https:`, `mailto:`) and anchors on the same page, and with a target's
/// `#anchor` cut.
fn link_targets(text: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    for (open, close) in [("](", ')'), ("src=\"", '"')] {
        let mut from = 0;
        while let Some(found) = text[from..].find(open) {
            let start = from + found + open.len();
            from = start;
            let Some(len) = text[start..].find(close) else { break };
            let target = text[start..start + len].split_whitespace().next().unwrap_or_default();
            let target = target.split('#').next().unwrap_or_default();
            if target.is_empty() || target.contains(':') {
                continue;
            }
            out.push((target.to_string(), line_of(text, start)));
        }
    }
    out
}

/// Links in Markdown files whose target does not exist, resolved as a
/// browser resolves them: relative to the linking file.
fn broken_links(files: &[(String, String)], exists: &dyn Fn(&str) -> bool) -> Vec<String> {
    let mut out = Vec::new();
    for (path, text) in files.iter().filter(|(p, _)| p.ends_with(".md")) {
        for (target, line) in link_targets(text) {
            let resolved = normalize(&format!("{}/{target}", folder(path)));
            if !resolved.is_some_and(|p| exists(&p)) {
                out.push(format!("{path}:{line}: {target}"));
            }
        }
    }
    out
}

/// The sections of the protocol document `text` cites, with their lines:
/// `PROTOCOL.md section 4`, `PROTOCOL.md sections 3–5` (each of 3, 4, 5),
/// `sections 2 and 3`, `PROTOCOL.md 5` (a number right after the name).
/// A citation may wrap onto the next comment line after the name.
fn cited_sections(text: &str) -> Vec<(String, usize)> {
    fn number(s: &str) -> Option<(&str, &str)> {
        let digits = s.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let letter = s[digits..].bytes().next().filter(u8::is_ascii_lowercase).is_some()
            && !s[digits + 1..].bytes().next().is_some_and(|b| b.is_ascii_alphanumeric());
        let n = digits + usize::from(letter);
        Some((&s[..n], &s[n..]))
    }
    fn skip_gap(s: &str) -> &str {
        s.trim_start_matches(|c: char| c.is_whitespace() || c == '/' || c == '!' || c == '*' || c == ',')
    }
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(found) = text[from..].find("PROTOCOL.md") {
        let at = from + found;
        from = at + "PROTOCOL.md".len();
        let rest = text[from..].trim_start_matches('`');
        let spec = match rest.strip_prefix(' ').and_then(|r| number(r).map(|_| r)) {
            Some(r) => r,
            None => {
                let gap = skip_gap(rest);
                let Some(after) = gap.strip_prefix("sections").or_else(|| gap.strip_prefix("section")) else { continue };
                skip_gap(after)
            }
        };
        let line = line_of(text, at);
        let Some((first, mut rest)) = number(spec) else { continue };
        out.push((first.to_string(), line));
        let mut last = first;
        loop {
            let (range, after) = if let Some(r) = rest.strip_prefix('–').or_else(|| rest.strip_prefix('-')) {
                (true, r)
            } else if let Some(r) = rest.strip_prefix(" and ").or_else(|| rest.strip_prefix(", ")) {
                (false, r)
            } else {
                break;
            };
            let Some((next, r)) = number(after) else { break };
            if let (true, Ok(a), Ok(b)) = (range, last.parse::<u32>(), next.parse::<u32>()) {
                out.extend((a + 1..b).map(|n| (n.to_string(), line)));
            }
            out.push((next.to_string(), line));
            last = next;
            rest = r;
        }
    }
    out
}

/// The sections the protocol document has: headings `## 5a. Title`.
fn protocol_sections(doc: &str) -> Vec<String> {
    doc.lines()
        .filter_map(|l| l.strip_prefix("## "))
        .filter_map(|t| t.split_once(". "))
        .map(|(n, _)| n.to_string())
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric()))
        .collect()
}

/// Citations of sections the protocol document lacks, as `file:line: n`.
fn missing_sections(files: &[(String, String)], sections: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for (path, text) in files {
        for (n, line) in cited_sections(text) {
            if !sections.contains(&n) {
                out.push(format!("{path}:{line}: section {n}"));
            }
        }
    }
    out
}

/// The tests a document names, with their lines: backticked
/// `` `path/to/file.rs: function` ``.
fn cited_tests(text: &str) -> Vec<(String, String, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    for (i, span) in text.split('`').enumerate() {
        let start = at;
        at += span.len() + 1;
        if i % 2 == 0 {
            continue;
        }
        let Some((file, function)) = span.split_once(": ") else { continue };
        let ident = !function.is_empty() && function.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if file.ends_with(".rs") && !file.contains(char::is_whitespace) && ident {
            out.push((file.to_string(), function.to_string(), line_of(text, start)));
        }
    }
    out
}

/// Named tests that do not exist: the file is missing, or has no
/// `fn function(`.
fn missing_tests(files: &[(String, String)], read: &dyn Fn(&str) -> Option<String>) -> Vec<String> {
    let mut out = Vec::new();
    for (path, text) in files.iter().filter(|(p, _)| p.ends_with(".md")) {
        for (file, function, line) in cited_tests(text) {
            let found = read(&file).is_some_and(|src| src.contains(&format!("fn {function}(")));
            if !found {
                out.push(format!("{path}:{line}: {file}: {function}"));
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------
// The view's attributes

/// The backticked `data-*` names in `text`.
fn backticked_attributes(text: &str) -> BTreeSet<String> {
    text.split('`').skip(1).step_by(2).filter(|s| is_attribute(s)).map(String::from).collect()
}

fn is_attribute(s: &str) -> bool {
    s.strip_prefix("data-").is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'))
}

/// The `data-*` attributes the shell sets: a name written as the first of
/// a pair, as in `set_attribute("data-x", …)` or the table `("data-x", …)`
/// that `render` applies. (The names it only reads, `data-t` and `data-tl`
/// of the template's texts, come second or alone.)
fn attributes_set(rust: &str) -> BTreeSet<String> {
    rust.split("(\"")
        .skip(1)
        .filter_map(|s| s.split_once("\","))
        .map(|(name, _)| name)
        .filter(|n| is_attribute(n))
        .map(String::from)
        .collect()
}

/// The `data-*` attributes the template's CSS keys on: `[data-x` inside
/// `<style>`.
fn attributes_styled(template: &str) -> BTreeSet<String> {
    let css = template.split("<style>").nth(1).and_then(|s| s.split("</style>").next()).unwrap_or_default();
    css.split('[')
        .skip(1)
        .map(|s| s.split(|c: char| !(c.is_ascii_lowercase() || c == '-')).next().unwrap_or_default())
        .filter(|n| is_attribute(n))
        .map(String::from)
        .collect()
}

/// ARCHITECTURE.md's lists: every `data-*` named in the paragraph of the
/// invariant "the view is declarative" (up to the next blank line), and
/// those of its item that begins "- the template's CSS keys on".
fn attributes_documented(doc: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let lines: Vec<&str> = doc
        .lines()
        .skip_while(|l| !l.contains("the view is declarative"))
        .take_while(|l| !l.trim().is_empty())
        .collect();
    let all = backticked_attributes(&lines.join("\n"));
    let mut styled = Vec::new();
    let mut inside = false;
    for l in &lines {
        if l.starts_with("- ") {
            inside = l.starts_with("- the template's CSS keys on");
        }
        if inside {
            styled.push(*l);
        }
    }
    (all, backticked_attributes(&styled.join("\n")))
}

// ---------------------------------------------------------------------------
// xtask commands

/// The commands `main` dispatches: `Some("name") =>`.
fn commands_dispatched(main_rs: &str) -> BTreeSet<String> {
    main_rs
        .split("Some(\"")
        .skip(1)
        .filter_map(|s| s.split_once("\") =>"))
        .map(|(name, _)| name)
        .filter(|n| is_command_word(n))
        .map(String::from)
        .collect()
}

fn is_command_word(s: &str) -> bool {
    s.bytes().next().is_some_and(|b| b.is_ascii_lowercase()) && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
}

/// The commands the usage message names: the first word of each
/// `|`-separated alternative in `usage: cargo xtask <…>`.
fn commands_in_usage(main_rs: &str) -> BTreeSet<String> {
    let usage = main_rs.split("usage: cargo xtask <").nth(1).and_then(|s| s.split(">\"").next()).unwrap_or_default();
    usage.split('|').filter_map(|alt| alt.split_whitespace().next()).filter(|w| is_command_word(w)).map(String::from).collect()
}

/// ARCHITECTURE.md's list: in the item that begins with `` `cargo xtask ``,
/// the backticked words after its first colon.
fn commands_documented(doc: &str) -> BTreeSet<String> {
    let mut item = Vec::new();
    for l in doc.lines().skip_while(|l| !l.starts_with("- `cargo xtask")) {
        if !item.is_empty() && (l.starts_with("- ") || l.trim().is_empty()) {
            break;
        }
        item.push(l);
    }
    let item = item.join("\n");
    let after = item.split_once(':').map_or("", |(_, a)| a);
    after.split('`').skip(1).step_by(2).filter(|w| is_command_word(w)).map(String::from).collect()
}

/// The rows of a command table: the word after `cargo xtask` in each
/// table row that begins with `` | `cargo xtask ``.
fn commands_in_table(doc: &str) -> BTreeSet<String> {
    doc.lines()
        .filter_map(|l| l.strip_prefix("| `cargo xtask "))
        .filter_map(|r| r.split(|c: char| !(c.is_ascii_lowercase() || c == '-')).next())
        .filter(|w| is_command_word(w))
        .map(String::from)
        .collect()
}

/// Every `cargo xtask WORD` in `text`, with its line.
fn commands_mentioned(text: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(found) = text[from..].find("cargo xtask ") {
        let start = from + found + "cargo xtask ".len();
        from = start;
        let word = text[start..].split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')).next().unwrap_or_default();
        if word.bytes().next().is_some_and(|b| b.is_ascii_alphabetic()) {
            out.push((word.to_string(), line_of(text, start)));
        }
    }
    out
}

// ---------------------------------------------------------------------------
// The loader's placeholders

/// The `@@NAME@@` placeholders in `text`. With `skip_comments`, lines that
/// begin with `//` are left out (the loader's header explains the scheme
/// with a made-up `@@NAME@@`).
fn placeholders(text: &str, skip_comments: bool) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in text.lines().filter(|l| !(skip_comments && l.trim_start().starts_with("//"))) {
        for (i, part) in line.split("@@").enumerate() {
            if i % 2 == 1 && !part.is_empty() && part.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') {
                out.insert(part.to_string());
            }
        }
    }
    out
}

/// The placeholders the packer fills: the names of the `("NAME", value)`
/// pairs in the call `fill_markers(&minify_loader(…), &[…])`.
fn placeholders_filled(pack_rs: &str) -> BTreeSet<String> {
    let call = pack_rs.split("fill_markers(\n").nth(1).or_else(|| pack_rs.split("fill_markers(&minify_loader").nth(1));
    let call = call.and_then(|c| c.split(")?;").next()).unwrap_or_default();
    call.split("(\"")
        .skip(1)
        .filter_map(|s| s.split_once('"'))
        .map(|(n, _)| n)
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'))
        .map(String::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> String {
        std::fs::read_to_string(crate::root().join(MAP)).unwrap_or_default()
    }

    #[test]
    fn the_code_map_names_every_source_file() {
        let root = crate::root();
        let files = source_files(&root);
        assert!(files.iter().any(|f| f == "xtask/src/tidy.rs"), "the walk found no sources: {files:?}");
        let entries = entries(&doc());
        let missing = unmapped(&files, &entries);
        assert!(
            missing.is_empty(),
            "{MAP} has no entry for these files (add one to the code map, in the section of their crate or folder):\n  {}",
            missing.join("\n  ")
        );
        let gone = stale(&entries, |p| root.join(p).exists());
        assert!(gone.is_empty(), "{MAP} names files or folders that do not exist: {gone:?}");
    }

    #[test]
    fn every_rust_file_says_what_it_is_for() {
        let root = crate::root();
        let silent: Vec<String> = source_files(&root)
            .into_iter()
            .filter(|f| f.ends_with(".rs"))
            .filter(|f| !says_what_it_is_for(&std::fs::read_to_string(root.join(f)).unwrap_or_default()))
            .collect();
        assert!(silent.is_empty(), "these files do not open with a `//!` line saying what they are for:\n  {}", silent.join("\n  "));
    }

    const SAMPLE: &str = "# Title\n\
        - `README.md`: top level\n\
        ## Code map\n\
        ### `crates/a`: the first crate\n\
        - `src/lib.rs`, `src/x.rs` and `build.rs`: its files\n\
        - `tests/`: one per area\n\
        Prose naming `src/y.rs` is no entry.\n\
        ```\n\
        - `src/z.rs`\n\
        ```\n\
        ### Other things\n\
        - `web/index.html`: the template\n\
        - not a `path`\n";

    #[test]
    fn entries_follow_the_rule() {
        let got: Vec<(String, usize)> = entries(SAMPLE).into_iter().map(|e| (e.path, e.line)).collect();
        let want = [
            ("README.md", 2),
            ("crates/a/src/lib.rs", 5),
            ("crates/a/src/x.rs", 5),
            ("crates/a/build.rs", 5),
            ("crates/a/tests/", 6),
            ("web/index.html", 12),
        ];
        assert_eq!(got, want.map(|(p, l)| (p.to_string(), l)));
    }

    #[test]
    fn a_file_without_an_entry_is_reported() {
        let files: Vec<String> = [
            "crates/a/src/lib.rs",
            "crates/a/src/y.rs",           // only named in prose
            "crates/a/src/z.rs",           // only named in a code block
            "crates/a/tests/one.rs",       // covered by `tests/`
            "crates/a/tests/common/mod.rs", // a folder entry does not reach below
            "web/index.html",
            "web/loader.js",
        ]
        .map(String::from)
        .into();
        assert_eq!(
            unmapped(&files, &entries(SAMPLE)),
            ["crates/a/src/y.rs", "crates/a/src/z.rs", "crates/a/tests/common/mod.rs", "web/loader.js"]
        );
    }

    #[test]
    fn an_entry_for_a_missing_file_is_reported() {
        let e = entries(SAMPLE);
        let exists = |p: &str| p != "crates/a/src/x.rs" && p != "crates/a/tests";
        let gone: Vec<&str> = stale(&e, exists).iter().map(|e| e.path.as_str()).collect();
        assert_eq!(gone, ["crates/a/src/x.rs", "crates/a/tests/"]);
    }

    #[test]
    fn the_walk_skips_build_output_and_hidden_folders() {
        let dir = std::env::temp_dir().join(format!("tidy-walk-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for f in ["src/a.rs", "web/b.js", "web/c.html", "web/d.css", "target/e.rs", "fuzz/corpus/f.rs", ".git/g.rs", "x/node_modules/h.js"] {
            let p = dir.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "").unwrap();
        }
        let found = source_files(&dir);
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(found, ["src/a.rs", "web/b.js", "web/c.html"]);
    }

    #[test]
    fn a_rust_file_without_a_module_doc_is_reported() {
        assert!(says_what_it_is_for("//! Parses the fragment.\n\nuse x;\n"));
        assert!(!says_what_it_is_for("use x;\n//! Too late.\n"));
        assert!(!says_what_it_is_for("/// An item doc, not a module doc.\nfn f() {}\n"));
        assert!(!says_what_it_is_for("//!\n//! Empty first line.\n"));
        assert!(!says_what_it_is_for(""));
    }

    fn read(path: &str) -> String {
        std::fs::read_to_string(crate::root().join(path)).unwrap_or_default()
    }

    /// The text files whose citations count, with their contents.
    fn texts() -> Vec<(String, String)> {
        let root = crate::root();
        files_with(&root, TEXT_EXTENSIONS)
            .into_iter()
            .filter(|f| f != THIS_FILE)
            .map(|f| {
                let text = std::fs::read_to_string(root.join(&f)).unwrap_or_default();
                (f, text)
            })
            .collect()
    }

    #[test]
    fn every_document_cited_exists() {
        let root = crate::root();
        let texts = texts();
        assert!(texts.iter().any(|(f, _)| f == "README.md"), "the walk found no documents");
        let missing = missing_documents(&texts, &|p| root.join(p).is_file());
        assert!(
            missing.is_empty(),
            "these documents are cited but not in the repository (a bare name is looked for at the root, in docs/ and \
             next to the citing file):\n  {}",
            missing.join("\n  ")
        );
        let broken = broken_links(&texts, &|p| root.join(p).exists());
        assert!(broken.is_empty(), "these links lead nowhere (relative to the linking file):\n  {}", broken.join("\n  "));
    }

    #[test]
    fn every_protocol_section_cited_exists() {
        let sections = protocol_sections(&read(PROTOCOL));
        assert!(sections.len() >= 5, "{PROTOCOL} has too few `## N. Title` sections: {sections:?}");
        let missing = missing_sections(&texts(), &sections);
        assert!(
            missing.is_empty(),
            "these citations name a section {PROTOCOL} does not have (it has {sections:?}):\n  {}",
            missing.join("\n  ")
        );
    }

    #[test]
    fn the_view_attributes_documented_are_those_the_shell_sets_and_the_css_uses() {
        let root = crate::root();
        let shell: String = files_with(&root.join("crates/call-web/src"), &["rs"])
            .iter()
            .map(|f| std::fs::read_to_string(root.join("crates/call-web/src").join(f)).unwrap_or_default())
            .collect();
        let set = attributes_set(&shell);
        assert!(set.contains("data-phase"), "found no attribute the shell sets: {set:?}");
        let styled = attributes_styled(&read("web/index.html"));
        let (documented, documented_styled) = attributes_documented(&read(MAP));
        assert_eq!(
            documented, set,
            "{MAP} (\"the view is declarative\") lists other `data-*` attributes (left) than the shell sets (right)"
        );
        assert_eq!(
            documented_styled, styled,
            "{MAP} (\"the template's CSS keys on\") lists other `data-*` attributes (left) than web/index.html's CSS \
             keys on (right)"
        );
        let unset: Vec<&String> = styled.difference(&set).collect();
        assert!(unset.is_empty(), "the template's CSS keys on attributes the shell never sets: {unset:?}");
    }

    #[test]
    fn the_commands_documented_are_those_xtask_dispatches() {
        let main_rs = read("xtask/src/main.rs");
        let commands = commands_dispatched(&main_rs);
        assert!(commands.contains("test") && commands.contains("demo"), "found no commands in main.rs: {commands:?}");
        assert_eq!(commands_in_usage(&main_rs), commands, "main.rs's usage message (left) and what it dispatches (right)");
        assert_eq!(commands_documented(&read(MAP)), commands, "{MAP}'s `cargo xtask` item (left) and main.rs (right)");
        assert_eq!(
            commands_in_table(&read("docs/COMMANDS.md")),
            commands,
            "docs/COMMANDS.md's table (left) and main.rs (right)"
        );
        let unknown: Vec<String> = texts()
            .iter()
            .flat_map(|(f, t)| commands_mentioned(t).into_iter().map(move |(w, l)| (f.clone(), w, l)))
            .filter(|(_, w, _)| !commands.contains(w))
            .map(|(f, w, l)| format!("{f}:{l}: cargo xtask {w}"))
            .collect();
        assert!(unknown.is_empty(), "these name a command xtask does not have:\n  {}", unknown.join("\n  "));
    }

    #[test]
    fn the_placeholders_documented_are_those_of_the_loader_and_the_packer() {
        let loader = placeholders(&read("web/loader.js"), true);
        assert!(!loader.is_empty(), "found no placeholders in web/loader.js");
        assert_eq!(placeholders_filled(&read("xtask/src/pack.rs")), loader, "pack.rs fills (left), the loader has (right)");
        assert_eq!(placeholders(&read(MAP), false), loader, "{MAP} names (left), the loader has (right)");
    }

    #[test]
    fn a_cited_document_that_is_missing_is_reported() {
        let files: Vec<(String, String)> = [
            ("README.md", "See PROTOCOL.md section 4, [the map](ARCHITECTURE.md) and docs/gone.md."),
            ("crates/a/src/lib.rs", "//! Rules from `PROTOCOL.md`; see ../../notes.md and ./local.md"),
            ("crates/a/README.md", "Back to ../../README.md; https://example.org/x/other.md is not ours."),
            ("crates/b/src/x.rs", "join(\"target/bench/out.md\"); join(\"BENCHMARKS-partial.md\"); *.md; README.mdx"),
        ]
        .map(|(p, t)| (p.to_string(), t.to_string()))
        .into();
        let exists = |p: &str| ["README.md", "ARCHITECTURE.md", "docs/PROTOCOL.md", "crates/a/src/local.md"].contains(&p);
        assert_eq!(missing_documents(&files, &exists), ["README.md:1: docs/gone.md", "crates/a/src/lib.rs:1: ../../notes.md"]);
    }

    #[test]
    fn a_link_that_leads_nowhere_is_reported() {
        let files: Vec<(String, String)> = [
            ("README.md", "[a](docs/A.md#part) [b](#local) [c](https://x.org/) <img src=\"docs/shot.jpg\">"),
            ("docs/A.md", "[up](../README.md) [protocol](PROTOCOL.md) <img src=\"docs/shot.jpg\" alt=\"x\">"),
        ]
        .map(|(p, t)| (p.to_string(), t.to_string()))
        .into();
        let exists = |p: &str| ["README.md", "docs/A.md", "docs/shot.jpg"].contains(&p);
        assert_eq!(broken_links(&files, &exists), ["docs/A.md:1: PROTOCOL.md", "docs/A.md:1: docs/shot.jpg"]);
    }

    #[test]
    fn a_cited_section_the_protocol_lacks_is_reported() {
        let cites = "PROTOCOL.md section 4; `PROTOCOL.md` sections 3–5 and PROTOCOL.md sections 2 and 5a;\n\
                     (PROTOCOL.md\n    /// section 7) PROTOCOL.md 6: PROTOCOL.md (the contract) 2 s; PROTOCOL.md, 3";
        let got: Vec<String> = cited_sections(cites).into_iter().map(|(n, _)| n).collect();
        assert_eq!(got, ["4", "3", "4", "5", "2", "5a", "7", "6"]);
        let doc = "# Title\n## 1. Who\n## 2. Host\n## 3. URL\n## 4. Wire\n## 5. Channels\n## 5a. Bounds\n### 5.1 Not a section\n";
        let sections = protocol_sections(doc);
        assert_eq!(sections, ["1", "2", "3", "4", "5", "5a"]);
        let files = vec![("x.rs".to_string(), cites.to_string())];
        assert_eq!(missing_sections(&files, &sections), ["x.rs:2: section 7", "x.rs:3: section 6"]);
    }

    #[test]
    fn attribute_lists_are_read_as_the_rule_says() {
        let shell = "r.set_attribute(\"data-avatar\", v); let attrs = [(\"data-phase\", p), (\"data-mic\", m)];\n\
                     for (sel, attr) in [(\"[data-t]\", \"data-t\")] {} attr(\"data-route\"); (\"data-x\")";
        assert_eq!(attributes_set(shell), BTreeSet::from(["data-avatar", "data-mic", "data-phase"].map(String::from)));
        let template = "<html data-phase=\"idle\"><style>[data-phase=\"x\"] a, [data-mic=on]{}</style><p data-t=\"k\">";
        assert_eq!(attributes_styled(template), BTreeSet::from(["data-mic", "data-phase"].map(String::from)));
        let doc = "**Invariant:** the view is declarative. On `<html>`:\n\
                   - the template's CSS keys on `data-phase`,\n  `data-mic`;\n\
                   - the tests read `data-route`.\n\nLater `data-other`.\n";
        let (all, styled) = attributes_documented(doc);
        assert_eq!(all, BTreeSet::from(["data-mic", "data-phase", "data-route"].map(String::from)));
        assert_eq!(styled, BTreeSet::from(["data-mic", "data-phase"].map(String::from)));
    }

    #[test]
    fn command_lists_are_read_as_the_rule_says() {
        let main_rs = "match a { Some(\"setup\") => x, Some(\"check-wasm\") => y, _ => { eprintln!(\"usage: cargo \
                       xtask <setup|check-wasm FILE|bench --soak [M]>\"); } } let v = Some(\"x\");";
        let set = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<BTreeSet<String>>();
        assert_eq!(commands_dispatched(main_rs), set(&["check-wasm", "setup"]));
        assert_eq!(commands_in_usage(main_rs), set(&["bench", "check-wasm", "setup"]));
        let doc = "- `cargo xtask …` (`xtask/src/main.rs`): `setup`, `build`,\n  `test`.\n- `other`: `demo`\n";
        assert_eq!(commands_documented(doc), set(&["build", "setup", "test"]));
        let table = "| command | what |\n|---|---|\n| `cargo xtask demo --core` | a |\n| `cargo xtask fuzz [S]` | b |\n";
        assert_eq!(commands_in_table(table), set(&["demo", "fuzz"]));
        let mentioned: Vec<String> =
            commands_mentioned("run `cargo xtask test`, cargo xtask bench --soak, `cargo xtask …`").into_iter().map(|(w, _)| w).collect();
        assert_eq!(mentioned, ["test", "bench"]);
    }

    #[test]
    fn placeholders_are_read_as_the_rule_says() {
        let loader = "// each @@NAME@@ once\nvar t = \"@@BLOB@@\", n = @@SIZE@@; log(\"@@ x @@\");\n";
        assert_eq!(placeholders(loader, true), BTreeSet::from(["BLOB", "SIZE"].map(String::from)));
        assert_eq!(placeholders(loader, false), BTreeSet::from(["BLOB", "NAME", "SIZE"].map(String::from)));
        let pack = "fn fill_markers(js: &str) {}\nlet loader = fill_markers(\n    &minify_loader(&l),\n    \
                    &[(\"BLOB\", &b), (\"SIZE\", &s.to_string())],\n)?;\nfill_markers(\"@@X@@\", &[(\"X\", \"1\")]);";
        assert_eq!(placeholders_filled(pack), BTreeSet::from(["BLOB", "SIZE"].map(String::from)));
    }

    #[test]
    fn every_test_a_document_names_exists() {
        let root = crate::root();
        let texts = texts();
        let named: usize = texts.iter().filter(|(p, _)| p.ends_with(".md")).map(|(_, t)| cited_tests(t).len()).sum();
        assert!(named > 50, "found only {named} tests named in the documents");
        let missing = missing_tests(&texts, &|p| std::fs::read_to_string(root.join(p)).ok());
        assert!(missing.is_empty(), "these documents name tests that do not exist:\n  {}", missing.join("\n  "));
    }

    #[test]
    fn a_named_test_that_is_missing_is_reported() {
        let files = vec![(
            "docs/P.md".to_string(),
            "Held by `a.rs: one`, `a.rs: gone`,\n`b.rs: one` and `a.rs: not a test`, `a.rs`.".to_string(),
        )];
        let read = |p: &str| (p == "a.rs").then(|| "fn one() {}\nfn gone_too() {}".to_string());
        assert_eq!(missing_tests(&files, &read), ["docs/P.md:1: a.rs: gone", "docs/P.md:2: b.rs: one"]);
    }
}
