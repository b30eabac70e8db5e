//! Tidy checks, run by `cargo test -p xtask`: ARCHITECTURE.md has an entry
//! for every source file of the workspace and none for a file that is
//! gone, and every Rust file opens with a `//!` line saying what it is for.
//!
//! The rule for entries is written in ARCHITECTURE.md ("Code map"); the
//! functions below implement exactly that rule, and each has a test that
//! feeds it a bad input.

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
    fn walk(dir: &Path, prefix: &str, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(kind) = entry.file_type() else { continue };
            let path = if prefix.is_empty() { name.clone() } else { format!("{prefix}/{name}") };
            if kind.is_dir() {
                if !name.starts_with('.') && !SKIPPED_FOLDERS.contains(&name.as_str()) {
                    walk(&entry.path(), &path, out);
                }
            } else if kind.is_file() && is_source(&name) {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(root, "", &mut out);
    out.sort();
    out
}

fn is_source(name: &str) -> bool {
    name.rsplit_once('.').is_some_and(|(_, ext)| SOURCE_EXTENSIONS.contains(&ext))
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
}
