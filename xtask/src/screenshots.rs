//! `cargo xtask screenshots`: the page's phases in every engine, from real
//! calls (the ignored test `screenshots` in `crates/e2e/tests/engines.rs`),
//! into `docs/screenshots/`, and the gallery in `docs/ENGINES.md` rewritten
//! from the pictures that exist. The gallery is never edited by hand.

use std::path::Path;

use crate::Result;

const BEGIN: &str = "<!-- gallery:begin (cargo xtask screenshots writes this part) -->";
const END: &str = "<!-- gallery:end -->";
/// The document that holds the gallery, from the root.
const GALLERY_DOC: &str = "docs/ENGINES.md";
/// The pictures' folder as the gallery's links name it: relative to
/// `GALLERY_DOC`, as a Markdown viewer resolves them.
const PICTURES: &str = "screenshots/";
/// The engines in the gallery's columns: file prefix and heading.
const ENGINES: [(&str, &str); 3] =
    [("chromium", "Chromium 156"), ("qtwebengine", "QtWebEngine 5.15 (Chromium 87)"), ("firefox", "Firefox ESR")];

pub(crate) fn run() -> Result {
    crate::setup::run()?;
    crate::pack::build_all()?;
    let dir = crate::root().join("docs").join("screenshots");
    let mut c = crate::cargo();
    c.args(["test", "-p", "e2e", "--test", "engines", "--", "--ignored", "--exact", "screenshots", "--nocapture"])
        .env("CALLS_DIST", crate::dist())
        .env("CALLS_SCREENSHOTS", &dir);
    crate::run(&mut c)?;
    let doc = crate::root().join(GALLERY_DOC);
    let text = std::fs::read_to_string(&doc).map_err(|e| format!("{}: {e}", doc.display()))?;
    let phases = std::fs::read_to_string(dir.join("phases.tsv")).map_err(|e| format!("phases.tsv: {e}"))?;
    let new = with_gallery(&text, &gallery(&dir, &phases)).map_err(|e| format!("{GALLERY_DOC}: {e}"))?;
    std::fs::write(&doc, new).map_err(|e| format!("{}: {e}", doc.display()))?;
    println!("{GALLERY_DOC}: gallery of {} rewritten", dir.display());
    Ok(())
}

/// The gallery: one row per phase (`stem<TAB>caption` lines), one column
/// per engine; a missing picture is a dash.
fn gallery(dir: &Path, phases: &str) -> String {
    let mut out = String::from("| phase |");
    for (_, heading) in ENGINES {
        out.push_str(&format!(" {heading} |"));
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(ENGINES.len()));
    out.push('\n');
    for line in phases.lines().filter(|l| !l.trim().is_empty()) {
        let (stem, caption) = line.split_once('\t').unwrap_or((line, line));
        out.push_str(&format!("| {caption} |"));
        for (prefix, _) in ENGINES {
            let file = format!("{prefix}-{stem}.jpg");
            if dir.join(&file).is_file() {
                out.push_str(&format!(" <img src=\"{PICTURES}{file}\" width=\"160\" alt=\"{caption}\"> |"));
            } else {
                out.push_str(" — |");
            }
        }
        out.push('\n');
    }
    out
}

/// `text` with the part between the markers replaced by `body`.
fn with_gallery(text: &str, body: &str) -> Result<String> {
    replace_between(text, BEGIN, END, body)
}

/// `text` with the part between the markers `begin` and `end` replaced by
/// `body` (the markers stay).
pub(crate) fn replace_between(text: &str, begin: &str, end: &str, body: &str) -> Result<String> {
    let (Some(a), Some(b)) = (text.find(begin), text.find(end)) else {
        return Err(format!("no markers {begin} … {end}"));
    };
    if b < a {
        return Err(format!("{end} comes before {begin}"));
    }
    Ok(format!("{}{begin}\n{body}{}", &text[..a], &text[b..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gallery_replaces_only_its_part() {
        let text = format!("before\n{BEGIN}\nold\n{END}\nafter\n");
        let new = with_gallery(&text, "new\n").unwrap();
        assert_eq!(new, format!("before\n{BEGIN}\nnew\n{END}\nafter\n"));
        assert!(with_gallery("no markers", "x").is_err());
    }

    #[test]
    fn a_missing_picture_is_a_dash() {
        let g = gallery(Path::new("/nonexistent"), "ringing\tringing\n");
        assert!(g.contains("| ringing | — | — | — |"), "{g}");
    }
}
