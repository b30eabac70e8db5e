//! The shell decides nothing (ARCHITECTURE.md): `crates/call-web` turns
//! browser events into inputs and effects into browser calls, and renders
//! the view. This check reads the shell's source as tokens (comments and
//! the insides of strings left out) and fails on the marks a decision
//! leaves in it: an import circle, a flag kept beside the core, a number of
//! its own, a read of the core's state, a core rule called directly, a
//! clock of its own, a phase named by hand; and on the loader repeating
//! the core's numbers. It
//! runs with the xtask unit tests, so in `cargo xtask test`.

use std::collections::{BTreeMap, BTreeSet};

/// The shell's module that every other one may use, and that uses none.
const LEAF: &str = "js";

/// Flags the shell may keep, as (file, field, why it is no decision about
/// the call). A `bool` beside the core is where the shell starts deciding
/// (`closed`, `remote_shown` were such flags).
const FLAGS: &[(&str, &str, &str)] =
    &[("event.rs", "busy", "the event loop's own re-entry guard: whether an event is being handled")];

/// Numbers the shell may write, as (file, literal, which browser fact it
/// is). Besides these: 0 and 1, 1000 (milliseconds in a second, bits in a
/// kilobit: the browser's units against the core's) and array lengths.
/// Every other number is a fact about the call: it lives in the core.
const NUMBERS: &[(&str, &str, &str)] = &[
    ("tone.rs", "0.05", "events on an audio clock must lie ahead of its current time"),
];

/// What the shell may call on its `Call`: drive it and read the view.
const CALL_METHODS: &[&str] = &["new", "handle", "poll_effect", "poll_timeout", "view", "extras", "peer_counts"];

/// Core functions the shell may call, with why each is a translation (a
/// browser fact into the core's vocabulary, or the core's words into text)
/// and not a rule the shell applies in the core's place.
const CORE_FUNCTIONS: &[(&str, &str)] = &[
    ("shortcut", "a key press into the button it stands for"),
    ("avatar_src", "the host's avatar value, parsed, into an image source"),
    ("format_elapsed", "the view's clock into its text"),
    ("details", "the view's quality into its text"),
    ("pick", "the browser's languages into the page's"),
    ("query_value", "the `lang` flag of the query"),
    ("itoa", "a number into text"),
    ("from_pair", "the selected pair's candidate types into a `Route`"),
    ("device_label", "a device's label (or its id) into the dialog's text"),
    ("crashed", "the panic screen, as the core's view (the call is not trusted then)"),
    ("audio_codec_order", "the browser's audio codecs into the order the core prefers (the rule is the core's)"),
];

/// Names of the core's state beside the view: naming one reads where the
/// call is (`View` and the effects carry everything the shell needs).
const CORE_STATE: &[(&str, &str)] = &[
    ("Phase", "the core's stage type"),
    ("phase", "the core's stage (only `v.phase.as_str()` renders it)"),
    ("connected_at", "the core's clock (the view has `clock`)"),
    ("flags", "the core's flags"),
    ("deadlines", "the core's deadlines (the shell uses poll_timeout)"),
];

/// Decisions still made in the shell, each until its rule moves into the
/// core, as (file, what the problem names). The test fails when one is
/// gone, so that this list only shrinks.
const KNOWN: &[(&str, &str)] = &[];

/// Numbers of the loader's own: its 7-bit text format (`b7.rs`). A time
/// or a count there repeats the core (it comes in by placeholder).
const LOADER_NUMBERS: &[&str] = &["0", "1", "2", "7", "8", "10", "13", "34", "60", "92", "127", "128", "256"];

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Num(String),
    Str(String),
    Punct(String),
}

/// `source` as tokens with their line numbers: comments dropped, strings
/// kept whole. Rust or JavaScript; only what the rules below need.
fn tokens(source: &str) -> Vec<(usize, Tok)> {
    let s: Vec<char> = source.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    let at = |i: usize| s.get(i).copied().unwrap_or('\0');
    while i < s.len() {
        let c = s[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && at(i + 1) == '/' {
            while i < s.len() && s[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            i += 2;
            while i < s.len() && !(s[i] == '*' && at(i + 1) == '/') {
                line += usize::from(s[i] == '\n');
                i += 1;
            }
            i += 2;
        } else if c == '"' || (c == '\'' && (at(i + 2) == '\'' || at(i + 1) == '\\')) {
            // A string, or a char literal (a lone `'` is a lifetime).
            let (start, quote) = (line, c);
            let mut text = String::new();
            i += 1;
            while i < s.len() && s[i] != quote {
                if s[i] == '\\' {
                    text.push(s[i]);
                    i += 1;
                }
                line += usize::from(at(i) == '\n');
                text.push(at(i));
                i += 1;
            }
            i += 1;
            out.push((start, Tok::Str(text)));
        } else if c.is_ascii_digit() {
            let mut n = String::new();
            while i < s.len() && (s[i].is_ascii_alphanumeric() || s[i] == '_' || (s[i] == '.' && at(i + 1).is_ascii_digit())) {
                n.push(s[i]);
                i += 1;
            }
            out.push((line, Tok::Num(n)));
        } else if c.is_alphabetic() || c == '_' || c == '$' {
            let mut w = String::new();
            while i < s.len() && (s[i].is_alphanumeric() || s[i] == '_' || s[i] == '$') {
                w.push(s[i]);
                i += 1;
            }
            out.push((line, Tok::Ident(w)));
        } else {
            let two: String = [c, at(i + 1)].iter().collect();
            let p = if ["::", "..", "==", "!=", "=>", "->", "&&", "||"].contains(&two.as_str()) { two } else { c.to_string() };
            i += p.chars().count();
            out.push((line, Tok::Punct(p)));
        }
    }
    out
}

fn is(t: Option<&(usize, Tok)>, p: &str) -> bool {
    matches!(t, Some((_, Tok::Punct(x)) | (_, Tok::Ident(x))) if x == p)
}

fn ident(t: Option<&(usize, Tok)>) -> Option<&str> {
    match t {
        Some((_, Tok::Ident(x))) => Some(x),
        _ => None,
    }
}

/// The names a module reaches through `crate::`: `crate::a::…` and each
/// first segment of `crate::{a, b::c}`, with their lines.
fn crate_paths(toks: &[(usize, Tok)]) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, (line, t)) in toks.iter().enumerate() {
        if *t != Tok::Ident("crate".into()) || !is(toks.get(i + 1), "::") {
            continue;
        }
        if let Some(name) = ident(toks.get(i + 2)) {
            out.push((*line, name.to_string()));
        } else if is(toks.get(i + 2), "{") {
            let (mut j, mut depth, mut expect) = (i + 3, 1, true);
            while depth > 0 && j < toks.len() {
                match &toks[j].1 {
                    Tok::Punct(p) if p == "{" => depth += 1,
                    Tok::Punct(p) if p == "}" => depth -= 1,
                    Tok::Punct(p) if p == "," && depth == 1 => expect = true,
                    Tok::Ident(x) if expect && depth == 1 => {
                        out.push((toks[j].0, x.clone()));
                        expect = false;
                    }
                    _ => {}
                }
                j += 1;
            }
        }
    }
    out
}

/// Rule 1, imports run one way: no module reaches back into the crate
/// root (`lib.rs`, the event loop, imports them all), `js` imports no
/// other module, and there is no circle.
fn import_problems(files: &BTreeMap<String, String>) -> Vec<String> {
    let modules: BTreeSet<String> =
        files.keys().filter(|f| *f != "lib.rs").map(|f| f.trim_end_matches(".rs").to_string()).collect();
    let mut bad = Vec::new();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (file, text) in files.iter().filter(|(f, _)| *f != "lib.rs") {
        let me = file.trim_end_matches(".rs").to_string();
        for (line, name) in crate_paths(&tokens(text)) {
            if !modules.contains(&name) {
                bad.push(format!("{file}:{line}: `crate::{name}` reaches back into lib.rs (move what it needs into a module)"));
            } else if name != me {
                if me == LEAF {
                    bad.push(format!("{file}:{line}: `{LEAF}` is the leaf every module uses; it must not use `{name}`"));
                }
                edges.entry(me.clone()).or_default().insert(name);
            }
        }
    }
    // Every module is a node, with or without arrows of its own.
    for m in &modules {
        edges.entry(m.clone()).or_default();
    }
    for circle in crate::circles::circles(&edges) {
        bad.push(format!("import circle: {}", circle.join(", ")));
    }
    bad
}

/// Rules 2–7 on one file of the shell, as `line: what`.
fn file_problems(file: &str, source: &str, phases: &[&str]) -> Vec<String> {
    let toks = tokens(source);
    let mut bad = Vec::new();
    let mut say = |line: usize, what: String| bad.push(format!("{file}:{line}: {what}"));
    // Rule 2, no flags: a `bool` in a field or a static. Fields are the
    // `name: type` pairs of a `struct … {}`; statics `static NAME: type`.
    let (mut depth, mut struct_depth) = (0usize, None);
    // The field or static whose type is being read, and the nesting of
    // brackets inside that type (a `,` in `Option<(u64, bool)>` is not
    // the field's end).
    let (mut field, mut nesting): (Option<&str>, i32) = (None, 0);
    for (i, (line, t)) in toks.iter().enumerate() {
        match t {
            Tok::Punct(p) if p == "{" => depth += 1,
            Tok::Punct(p) if p == "}" => {
                depth = depth.saturating_sub(1);
                field = None;
                if struct_depth.is_some_and(|d| depth < d) {
                    struct_depth = None;
                }
            }
            Tok::Punct(p) if field.is_some() && ["<", "(", "["].contains(&p.as_str()) => nesting += 1,
            Tok::Punct(p) if field.is_some() && [">", ")", "]"].contains(&p.as_str()) => nesting -= 1,
            Tok::Punct(p) if field.is_some() && (p == "=" || p == ";" || p == "," && nesting <= 0) => field = None,
            Tok::Ident(k) if k == "struct" && is(toks.get(i + 2), "{") => struct_depth = Some(depth + 1),
            Tok::Ident(k) if k == "static" => (field, nesting) = (ident(toks.get(i + 1)), 0),
            Tok::Ident(name) if struct_depth == Some(depth) && field.is_none() && is(toks.get(i + 1), ":") => {
                (field, nesting) = (Some(name.as_str()), 0)
            }
            Tok::Ident(b) if b == "bool" => {
                if let Some(f) = field {
                    if !FLAGS.iter().any(|(ff, name, _)| *ff == file && *name == f) {
                        say(*line, format!("`{f}` is a flag beside the core: the state of the call is the core's (an input or an effect)"));
                    }
                }
            }
            _ => {}
        }
    }
    // Rule 3, no numbers of its own.
    for (i, (line, t)) in toks.iter().enumerate() {
        let Tok::Num(n) = t else { continue };
        let prev = i.checked_sub(1).and_then(|p| toks.get(p));
        // The value without a type suffix (`30u32`, `1.0f64`) or `_`.
        let plain: String = n.chars().take_while(|c| c.is_ascii_digit() || *c == '.' || *c == '_').filter(|c| *c != '_').collect();
        let tuple_index = is(prev, ".");
        let array_len = is(prev, ";") && is(toks.get(i + 1), "]");
        let unit = ["0", "1", "0.0", "1.0", "1000", "1000.0"].contains(&plain.as_str());
        let allowed = NUMBERS.iter().any(|(f, lit, _)| *f == file && *lit == plain);
        if !(tuple_index || array_len || unit || allowed) {
            say(*line, format!("the number {n} is a fact about the call: it belongs in the core (or, a browser fact, in `NUMBERS` with why)"));
        }
    }
    // Rule 4, the core's state is read only through the view: the `Call`
    // is driven (`CALL_METHODS`), and no name of its state appears.
    for (i, (line, t)) in toks.iter().enumerate() {
        let Tok::Ident(name) = t else { continue };
        let prev = i.checked_sub(1).and_then(|p| toks.get(p));
        let before = i.checked_sub(2).and_then(|p| toks.get(p));
        if (is(before, "call") && is(prev, ".") || is(before, "Call") && is(prev, "::")) && !CALL_METHODS.contains(&name.as_str()) {
            say(*line, format!("`{name}` reads the core beside its view and effects"));
        }
        for (state, what) in CORE_STATE {
            let rendered = *state == "phase" && is(toks.get(i + 1), ".") && is(toks.get(i + 2), "as_str");
            if name == state && (*state == "Phase" || is(prev, ".") || is(prev, "::")) && !rendered {
                say(*line, format!("`{name}`, {what}"));
            }
        }
    }
    // Rule 5, the core's rules are applied by the core: a core function
    // the shell calls is a translation (`CORE_FUNCTIONS`). Both inline
    // paths (`call_core::m::f(`) and imports (`use call_core::m::{f}`).
    let mut i = 0;
    while i < toks.len() {
        if ident(toks.get(i)) != Some("call_core") {
            i += 1;
            continue;
        }
        let (line, mut j, mut last) = (toks[i].0, i + 1, None);
        while is(toks.get(j), "::") {
            if is(toks.get(j + 1), "{") {
                // An import list: every lower-case name in it.
                let mut k = j + 2;
                while k < toks.len() && !is(toks.get(k), "}") {
                    if is(toks.get(k), "as") {
                        k += 2; // `Kind as K`: the new name is ours
                        continue;
                    }
                    if let Some(n) = ident(toks.get(k)) {
                        if n.starts_with(|c: char| c.is_ascii_lowercase()) && !is(toks.get(k + 1), "::") && n != "self" {
                            check_function(n, toks[k].0, &mut say);
                        }
                    }
                    k += 1;
                }
                j = k;
                break;
            }
            last = ident(toks.get(j + 1));
            j += 2;
        }
        let imported = i.checked_sub(1).is_some_and(|p| is(toks.get(p), "use"));
        if let Some(f) = last.filter(|f| f.starts_with(|c: char| c.is_ascii_lowercase())) {
            if is(toks.get(j), "(") || imported && is(toks.get(j), ";") {
                check_function(f, line, &mut say);
            }
        }
        i = j.max(i + 1);
    }
    // Rule 6, one clock: the core names each time it needs (one timeout is
    // armed at `poll_timeout`); a repeating timer is a clock of the
    // shell's own (the call timer had one).
    for (line, t) in &toks {
        if let Tok::Ident(name) = t {
            if name.contains("interval") {
                say(*line, format!("`{name}`: a timer of the shell's own; the core names its deadlines (`poll_timeout`)"));
            }
        }
    }
    // Rule 7, the phases are the core's names: the shell writes none.
    for (line, t) in &toks {
        if let Tok::Str(s) = t {
            if phases.contains(&s.as_str()) {
                say(*line, format!("\"{s}\" is a phase's name: the core's (`View::phase`)"));
            }
        }
    }
    bad
}

fn check_function(name: &str, line: usize, say: &mut impl FnMut(usize, String)) {
    if !CORE_FUNCTIONS.iter().any(|(f, _)| *f == name) {
        say(line, format!("`call_core::…::{name}` is a rule of the core applied by the shell: make it an input or an effect"));
    }
}

/// The loader: no phase name, no number beyond its text format.
fn loader_problems(source: &str, phases: &[&str]) -> Vec<String> {
    let mut bad = Vec::new();
    for (line, t) in tokens(source) {
        match t {
            Tok::Str(s) if phases.contains(&s.as_str()) => {
                bad.push(format!("loader.js:{line}: \"{s}\" is a phase's name: fill it in from the core (pack.rs)"))
            }
            Tok::Num(n) if !LOADER_NUMBERS.contains(&n.as_str()) => {
                bad.push(format!("loader.js:{line}: {n} is not the text format's: fill it in from the core (pack.rs)"))
            }
            _ => {}
        }
    }
    bad
}

/// Every phase's `data-phase` name, from the core.
fn phase_names() -> Vec<&'static str> {
    use call_core::Phase::*;
    let all = [Idle, Incoming, NotReceived, Connecting, Ringing, InCall, Reconnecting, Ended, Failed];
    // A new phase makes this match fail to compile until it is listed.
    for p in all {
        match p {
            Idle | Incoming | NotReceived | Connecting | Ringing | InCall | Reconnecting | Ended | Failed => {}
        }
    }
    all.iter().map(|p| p.as_str()).collect()
}

/// Everything wrong with the shell's sources (file name → text) and the
/// loader.
pub(crate) fn problems(files: &BTreeMap<String, String>, loader: &str) -> Vec<String> {
    let phases = phase_names();
    let mut bad = import_problems(files);
    for (file, text) in files {
        bad.extend(file_problems(file, text, &phases));
    }
    bad.extend(loader_problems(loader, &phases));
    bad
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shell() -> BTreeMap<String, String> {
        let dir = crate::root().join("crates/call-web/src");
        let mut files = BTreeMap::new();
        for e in std::fs::read_dir(&dir).expect("call-web sources").flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.ends_with(".rs") {
                files.insert(name, std::fs::read_to_string(e.path()).expect("readable"));
            }
        }
        assert!(files.len() > 5, "found only {:?}", files.keys());
        files
    }

    fn loader() -> String {
        std::fs::read_to_string(crate::root().join("web/loader.js")).expect("web/loader.js")
    }

    #[test]
    fn the_shell_decides_nothing() {
        let all = problems(&shell(), &loader());
        let known = |p: &String| KNOWN.iter().any(|(f, what)| p.starts_with(&format!("{f}:")) && p.contains(what));
        for (f, what) in KNOWN {
            let gone = !all.iter().any(|p| p.starts_with(&format!("{f}:")) && p.contains(what));
            assert!(!gone, "{f}: `{what}` is gone from the shell: take it off `KNOWN`");
        }
        let bad: Vec<_> = all.into_iter().filter(|p| !known(p)).collect();
        assert!(bad.is_empty(), "the shell decides (make it an input or an effect of the core; ARCHITECTURE.md):\n{}", bad.join("\n"));
    }

    /// One file's problems, with the real tree's others as they are.
    fn with(file: &str, text: &str) -> Vec<String> {
        file_problems(file, text, &phase_names())
    }

    #[test]
    fn each_rule_catches_what_the_shell_did_before() {
        // Snippets of the shell before the core decided (see git history).
        let old = [
            ("lib.rs", "use call_core::{Button, Dev, Input, Phase, View};"),
            ("lib.rs", "if matches!(self.call.phase(), call_core::Phase::Ended) {"),
            ("lib.rs", "self.ui.timer(self.call.connected_at(), view.phase);"),
            ("dom.rs", "if view.phase == x {"),
            ("dom.rs", "if matches!(v.phase, x) {"),
            ("lib.rs", "let f = self.call.flags();"),
            ("media.rs", "struct Local { mic: Option<T>, closed: bool }"),
            ("lib.rs", "pub(crate) struct Shell { call: Call, remote_shown: bool, }"),
            ("tone.rs", "const CYCLES: u32 = 30;"),
            ("tone.rs", "let _ = g.set_value_at_time(0.15, t);"),
            ("dom.rs", "let shown = if label.is_empty() { dev_id.get(..8).unwrap_or(dev_id) } else { label };"),
            ("netcheck.rs", "if call_core::ice::address_gone(&ours, &now) {"),
            ("netcheck.rs", "let ours = call_core::ice::path_address(typ, address, related);"),
            ("netcheck.rs", "use call_core::ice::{address_gone, IceServer};"),
            ("dom.rs", "let _ = root.set_attribute(\"data-phase\", \"failed\");"),
            ("dom.rs", "self.ticking = w.set_interval_with_callback_and_timeout_and_arguments_0(&f, 1000).ok();"),
        ];
        for (file, snippet) in old {
            assert!(!with(file, snippet).is_empty(), "not caught: {snippet}");
        }
        let fine = [
            ("dom.rs", "(\"data-phase\", v.phase.as_str()),"),
            ("lib.rs", "let next = self.call.poll_timeout();"),
            ("dom.rs", "// the view's Phase is rendered, and 30 is not read"),
            ("dom.rs", "let phased = PhaseShift::new(); let s = \"failed, 30\";"),
            ("dom.rs", "const BUTTONS: [(&str, Button); 7] = [];"),
            ("peer.rs", "let x = pair.0; let ms = s * 1000.0;"),
            ("dom.rs", "use call_core::view::{shortcut, Shortcut};"),
            ("event.rs", "struct Queue { busy: Cell<bool>, }"),
            ("peer.rs", "fn f(video: bool) -> bool { true }"),
        ];
        for (file, snippet) in fine {
            assert_eq!(with(file, snippet), Vec::<String>::new(), "{snippet}");
        }
        // The loader: its own format's numbers pass, a time does not.
        assert!(loader_problems("var e = [0, 10, 13, 34, 92, 60]; x >> 7;", &phase_names()).is_empty());
        assert!(!loader_problems("setTimeout(f, 3000);", &phase_names()).is_empty());
        assert!(!loader_problems("el.setAttribute(\"data-phase\", \"failed\");", &phase_names()).is_empty());
    }

    #[test]
    fn import_circles_and_arrows_back_to_the_root_are_caught() {
        let files = |list: &[(&str, &str)]| list.iter().map(|(f, t)| (f.to_string(), t.to_string())).collect();
        // What the shell was: dom -> js -> dom, and modules using lib.rs.
        let before: BTreeMap<String, String> = files(&[
            ("lib.rs", "mod dom; mod js; mod media; pub(crate) fn input() {}"),
            ("dom.rs", "use crate::input; use crate::js::{cb, then}; crate::media::err_name(&e);"),
            ("js.rs", "crate::dom::debug_log(s);"),
            ("media.rs", "use crate::js::{cb, then};\nuse crate::{dispatch, input, Ev};"),
        ]);
        let bad = import_problems(&before);
        assert!(bad.iter().any(|b| b.contains("import circle")), "{bad:?}");
        assert!(bad.iter().any(|b| b.contains("dom.rs:1: `crate::input`")), "{bad:?}");
        assert!(bad.iter().any(|b| b.contains("media.rs:2: `crate::dispatch`")), "{bad:?}");
        assert!(bad.iter().any(|b| b.contains("`js` is the leaf")), "{bad:?}");
        let after: BTreeMap<String, String> = files(&[
            ("lib.rs", "mod dom; mod js; use event::input;"),
            ("dom.rs", "use crate::event::input; use crate::js::{cb, then};"),
            ("event.rs", "crate::js::call_method(v, m, None);"),
            ("js.rs", "web_sys::window();"),
        ]);
        assert_eq!(import_problems(&after), Vec::<String>::new());
    }
}
