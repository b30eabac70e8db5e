//! Turns `lang/*.txt` into tables (see src/i18n.rs): the English keys in
//! order, and per language its texts in that order, one per line, empty
//! where missing. Keys are not repeated per language: the page carries
//! ten languages within its size budget.

use std::fmt::Write as _;
use std::path::Path;

fn parse(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once(" = ").map(|(k, v)| (k.trim().to_string(), v.trim().to_string())))
        .collect()
}

fn main() {
    let dir = Path::new("lang");
    println!("cargo:rerun-if-changed=lang");
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .expect("lang/ exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .map(|p| {
            println!("cargo:rerun-if-changed={}", p.display());
            let code = p.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
            (code, std::fs::read_to_string(&p).expect("readable language file"))
        })
        .collect();
    // English first: it is the fallback and the source of the keys.
    files.sort_by_key(|(code, _)| (code != "en", code.clone()));
    assert_eq!(files.first().map(|f| f.0.as_str()), Some("en"), "lang/en.txt is required");
    let keys: Vec<String> = parse(&files[0].1).into_iter().map(|(k, _)| k).collect();
    let mut out = String::new();
    writeln!(out, "pub(crate) const KEYS: &str = {:?};", keys.join("\n")).unwrap();
    writeln!(out, "pub(crate) const LANGS: &[(&str, &str)] = &[").unwrap();
    for (code, text) in &files {
        let entries = parse(text);
        for (k, _) in &entries {
            assert!(keys.contains(k), "lang/{code}.txt: unknown key {k}");
        }
        let values: Vec<&str> = keys
            .iter()
            .map(|k| entries.iter().find(|(e, _)| e == k).map_or("", |(_, v)| v.as_str()))
            .collect();
        writeln!(out, "    ({code:?}, {:?}),", values.join("\n")).unwrap();
    }
    writeln!(out, "];").unwrap();
    let dest = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("lang.rs");
    std::fs::write(dest, out).expect("write lang.rs");
}
