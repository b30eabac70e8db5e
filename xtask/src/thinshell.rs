//! The shell decides nothing (ARCHITECTURE.md): `crates/call-web` turns
//! browser events into inputs and effects into browser calls, and renders
//! the view. A shell that reads where the call is (`Phase`, the core's
//! accessors behind the view) has started to decide; this check fails then.
//! It runs with the xtask unit tests, so in `cargo xtask test`.

/// What the shell must not name: the core's stage type, and the accessors
/// that expose the core's state beside the view (`View` and the effects
/// carry everything the shell needs). `v.phase.as_str()` — rendering the
/// view's phase into `data-phase` — is not one of them.
const FORBIDDEN: [(&str, &str); 7] = [
    ("Phase", "the core's stage type"),
    (".phase()", "the core's stage"),
    (".phase ==", "a comparison with the view's stage"),
    (".phase !=", "a comparison with the view's stage"),
    (".connected_at()", "the core's clock (the view has `clock`)"),
    (".flags()", "the core's flags"),
    (".deadlines()", "the core's deadlines (the shell uses poll_timeout)"),
];

/// Every use of core state in `source` (comments left out), as
/// `line: what`.
pub(crate) fn core_state_uses(source: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (n, line) in source.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        for (pattern, what) in FORBIDDEN {
            let hit = if pattern.starts_with('.') {
                code.contains(pattern)
            } else {
                has_word(code, pattern)
            };
            if hit {
                found.push(format!("{}: `{pattern}`, {what}: {}", n + 1, line.trim()));
            }
        }
        if code.contains("matches!") && code.contains(".phase") {
            found.push(format!("{}: a match on the view's stage: {}", n + 1, line.trim()));
        }
    }
    found
}

/// `word` as a whole identifier in `text`.
fn has_word(text: &str, word: &str) -> bool {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(ident) && !after.is_some_and(ident)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shell_reads_no_core_state() {
        let dir = crate::root().join("crates/call-web/src");
        let mut files: Vec<_> = std::fs::read_dir(&dir).expect("call-web sources").flatten().map(|e| e.path()).collect();
        files.sort();
        assert!(files.len() > 5, "found only {files:?}");
        let mut bad = Vec::new();
        for f in files.iter().filter(|f| f.extension().is_some_and(|e| e == "rs")) {
            let text = std::fs::read_to_string(f).expect("readable");
            for u in core_state_uses(&text) {
                bad.push(format!("{}:{u}", f.display()));
            }
        }
        assert!(bad.is_empty(), "the shell reads the core's state (put what it needs into the View or an Effect):\n{}", bad.join("\n"));
    }

    #[test]
    fn the_check_catches_what_the_shell_did_before() {
        // Snippets of the shell before the core decided (see git history).
        let old = [
            "use call_core::{Button, Dev, Input, Phase, View};",
            "if matches!(self.call.phase(), call_core::Phase::Ended | call_core::Phase::Failed) {",
            "self.ui.timer(self.call.connected_at(), view.phase);",
            "let running = matches!(phase, Phase::InCall | Phase::Reconnecting);",
            "if view.phase == call_core::Phase::InCall {",
            "if matches!(v.phase, x) {",
            "let f = self.call.flags();",
        ];
        for snippet in old {
            assert!(!core_state_uses(snippet).is_empty(), "not caught: {snippet}");
        }
        // What the shell does now passes.
        let fine = [
            "(\"data-phase\", v.phase.as_str()),",
            "let next = self.call.poll_timeout();",
            "self.ui.timer(view.clock);",
            "// the view's Phase is rendered, not read",
            "let phased = PhaseShift::new();",
        ];
        for snippet in fine {
            assert_eq!(core_state_uses(snippet), Vec::<String>::new(), "{snippet}");
        }
    }
}
