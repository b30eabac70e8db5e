//! The check that imports run one way in the page's two crates: no module
//! of `call-core/src` or `call-web/src` reaches itself through the modules
//! it names (ARCHITECTURE.md, "imports run one way"). A circle means a
//! fact lives in the wrong file: the vocabulary belongs in a leaf. (It
//! found the six files around the core's `machine.rs` that imported one
//! another until the vocabulary moved to `params.rs`, `vocab.rs` and
//! `io.rs`.) The shell's stricter rules (no arrow back to its root, `js`
//! a leaf) are `thinshell.rs`'s, which finds circles with [`circles`].
//!
//! What counts as naming a module: a `crate::m` path anywhere in the code
//! (a `use` or a path in an expression), `super::` (the crate root), and
//! in the crate root a path `m::…`. An item of the root (`crate::input`)
//! names the root. Comments and string literals are not code. Test
//! modules (`#[cfg(test)]` to the end of the file) are left out: a test
//! may use anything.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The text of a file as code: comments, string and char literals blanked,
/// and everything from the first `#[cfg(test)]` on left out.
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]") {
        Some(at) => &text[..at],
        None => text,
    };
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '"' => {
                let mut escaped = false;
                for c in chars.by_ref() {
                    if c == '"' && !escaped {
                        break;
                    }
                    escaped = c == '\\' && !escaped;
                }
                out.push_str("\"\"");
            }
            _ => out.push(c),
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The identifiers that follow `prefix` in `code` (not as part of a
/// longer path), and each identifier inside a `prefix{a, b::c}` group.
fn after(code: &str, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find(prefix) {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + prefix.len()..];
        if before.is_some_and(|c| is_ident(c) || c == ':') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let inner = &group[..group.find('}').unwrap_or(group.len())];
            for part in inner.split(',') {
                let name: String = part.trim().chars().take_while(|c| is_ident(*c)).collect();
                if !name.is_empty() {
                    out.push(name);
                }
            }
        } else {
            let name: String = rest.chars().take_while(|c| is_ident(*c)).collect();
            if !name.is_empty() {
                out.push(name);
            }
        }
    }
    out
}

/// Which modules each module names, `lib` being the crate root.
pub fn edges(files: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    let modules: BTreeSet<&str> = files.keys().map(String::as_str).filter(|m| *m != "lib").collect();
    let mut graph = BTreeMap::new();
    for (name, text) in files {
        let code = code(text);
        let mut to = BTreeSet::new();
        let mut names = after(&code, "crate::");
        if name == "lib" {
            for m in &modules {
                if !after(&code, &format!("{m}::")).is_empty() || code.contains(&format!("{m}::{{")) {
                    names.push((*m).to_string());
                }
            }
        } else if !after(&code, "super::").is_empty() {
            to.insert("lib".to_string());
        }
        for n in names {
            let target = if modules.contains(n.as_str()) { n } else { "lib".to_string() };
            if target != *name {
                to.insert(target);
            }
        }
        graph.insert(name.clone(), to);
    }
    graph
}

/// The circles of a graph: each set of two or more modules that reach
/// one another (Tarjan's strongly connected components).
pub fn circles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in s.graph.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !s.graph.contains_key(w) {
                continue;
            }
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low[v];
                s.low.insert(v, lv.min(lw));
            } else if s.on_stack.contains(w) {
                let iw = s.index[w];
                let lv = s.low[v];
                s.low.insert(v, lv.min(iw));
            }
        }
        if s.low[v] == s.index[v] {
            let mut part = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                part.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if part.len() > 1 {
                part.sort();
                s.out.push(part);
            }
        }
    }
    let mut s = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in graph.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.out
}

/// The `src/*.rs` files of a crate, by module name.
pub fn crate_files(src: &Path) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(src).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "rs") {
            if let (Some(stem), Ok(text)) = (path.file_stem().and_then(|s| s.to_str()), std::fs::read_to_string(&path)) {
                files.insert(stem.to_string(), text);
            }
        }
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(files: &[(&str, &str)]) -> BTreeMap<String, BTreeSet<String>> {
        edges(&files.iter().map(|(n, t)| (n.to_string(), t.to_string())).collect())
    }

    #[test]
    fn no_module_of_the_page_reaches_itself() {
        let root = crate::root();
        for krate in ["crates/call-core/src", "crates/call-web/src"] {
            let files = crate_files(&root.join(krate));
            assert!(files.len() > 3, "{krate}: no sources found");
            let found = circles(&edges(&files));
            assert!(
                found.is_empty(),
                "{krate} has import circles (move the shared facts into a leaf module): {found:?}\n{:?}",
                edges(&files)
            );
        }
    }

    #[test]
    fn paths_groups_and_the_root_are_read_as_the_rule_says() {
        let g = graph(&[
            ("lib", "mod a; mod b; pub use a::X; fn f() { b::g() }"),
            ("a", "use crate::{b::Y, input}; // crate::c in a comment\nfn s() -> &'static str { \"crate::c\" }"),
            ("b", "fn g() { crate::c::h() }"),
            ("c", "fn h() {}\n#[cfg(test)]\nmod tests { use crate::a::X; }"),
        ]);
        let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        assert_eq!(g["lib"], set(&["a", "b"]));
        assert_eq!(g["a"], set(&["b", "lib"]));
        assert_eq!(g["b"], set(&["c"]));
        assert_eq!(g["c"], set(&[]));
        // lib -> a -> lib is a circle; b -> c is not.
        assert_eq!(circles(&g), vec![vec!["a".to_string(), "lib".to_string()]]);
    }

    #[test]
    fn a_circle_of_three_is_found() {
        let g = graph(&[("x", "use crate::y::A;"), ("y", "use crate::z::B;"), ("z", "use crate::x::C;"), ("w", "")]);
        assert_eq!(circles(&g), vec![vec!["x".to_string(), "y".to_string(), "z".to_string()]]);
    }
}
