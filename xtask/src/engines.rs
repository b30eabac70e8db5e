//! `cargo xtask engines [--runs N]`: the engine matrix
//! (`crates/e2e/tests/engines.rs`) with every call made N times (default
//! 3), and the README's engine tables rewritten from that run: engine,
//! version, what is tested, result; the medians from `#onAnswer` to the
//! remote picture; the wall time. The tables are never edited by hand.

use std::time::Instant;

use crate::Result;

const BEGIN: &str = "<!-- engines:begin (cargo xtask engines writes this part) -->";
const END: &str = "<!-- engines:end -->";

/// The engines of the table: the name the tests report, the key in test
/// names, how it runs, and what is tested in it.
const ROWS: [(&str, &str, &str, &str); 4] = [
    (
        "Chromium",
        "chromium",
        "Chromium, headless (Desktop's Electron)",
        "everything else in `cargo xtask test`; here: calls with Chromium 87 and with Firefox, both directions",
    ),
    (
        "QtWebEngine",
        "qtwebengine",
        "QtWebEngine (Delta Touch), PyQt5 host, offscreen",
        "ours↔ours with camera off/on; calls with Chromium 156 and Firefox, both directions; the deployed page, both \
         directions; `?lang=de`; the notice of a damaged payload; the optional controls follow the engine, and none is \
         offered without its API; served with only `'wasm-unsafe-eval'` (unknown to Chromium 87): says it cannot run \
         and ends the call",
    ),
    (
        "Firefox",
        "firefox",
        "Firefox ESR, headless, WebDriver BiDi",
        "ours↔ours with camera off/on; calls with Chromium 156 and Chromium 87, both directions; the deployed page, \
         both directions; `?lang=de`; the notice of a damaged payload; the optional controls follow the engine; with its \
         default autoplay policy and no devices, the other side's voice held back until a real tap starts it",
    ),
    (
        "WebKitGTK",
        "webkit",
        "WebKitGTK, `WebKitWebDriver` on Xvfb",
        "says \"This browser cannot make calls.\" and ends the call through the host; a call in WebKit is untested \
         (Debian's build has no WebRTC; INTEGRATING.md)",
    ),
];

pub(crate) fn run(args: &[String]) -> Result {
    let runs = match args {
        [] => 3,
        [flag, n] if flag == "--runs" => n.parse::<u32>().ok().filter(|n| (1..=20).contains(n)).ok_or("--runs takes 1 to 20")?,
        _ => return Err("usage: cargo xtask engines [--runs N]".into()),
    };
    crate::setup::run()?;
    crate::pack::build_all()?;
    let report = crate::root().join("target").join("engines-report.tsv");
    let _ = std::fs::remove_file(&report);
    let mut c = crate::cargo();
    c.args(["test", "-p", "e2e", "--test", "engines", "--", "--test-threads=2"])
        .env("CALLS_DIST", crate::dist())
        .env("CALLS_INTEROP_PAGE", crate::interop::deployed_page()?)
        .env("CALLS_RUNS", runs.to_string())
        .env("CALLS_ENGINES_REPORT", &report);
    let t = Instant::now();
    let tested = crate::run(&mut c);
    let secs = t.elapsed().as_secs();
    let lines = std::fs::read_to_string(&report).unwrap_or_default();
    let readme = crate::root().join("README.md");
    let text = std::fs::read_to_string(&readme).map_err(|e| format!("{}: {e}", readme.display()))?;
    let body = tables(&lines, runs, secs);
    let new = crate::screenshots::replace_between(&text, BEGIN, END, &body).map_err(|e| format!("README.md: {e}"))?;
    std::fs::write(&readme, new).map_err(|e| format!("{}: {e}", readme.display()))?;
    println!("README.md: engine tables rewritten from this run ({secs} s)");
    tested
}

/// The README's tables from the report's lines (`version`, `timing`,
/// `result`, tab-separated).
fn tables(report: &str, runs: u32, secs: u64) -> String {
    let rows: Vec<Vec<&str>> = report.lines().map(|l| l.split('\t').collect()).collect();
    fn field<'a>(rows: &'a [Vec<&'a str>], kind: &'static str) -> impl Iterator<Item = &'a Vec<&'a str>> {
        rows.iter().filter(move |r| r.first() == Some(&kind))
    }
    let mut out = String::from("| engine | version | what is tested | result |\n|---|---|---|---|\n");
    for (name, key, how, what) in ROWS {
        let version = field(&rows, "version").find(|r| r.get(1) == Some(&name)).and_then(|r| r.get(2)).copied().unwrap_or("?");
        let results: Vec<(&str, &str)> = field(&rows, "result")
            .filter_map(|r| Some((*r.get(1)?, *r.get(2)?)))
            .filter(|(test, _)| test.contains(key))
            .collect();
        let failed: Vec<&str> = results.iter().filter(|(_, r)| *r != "pass").map(|(t, _)| *t).collect();
        let result = match (results.len(), failed.is_empty()) {
            (0, _) => "not run".to_string(),
            (1, true) => "pass (1 test)".to_string(),
            (n, true) => format!("pass ({n} tests)"),
            (_, false) => format!("FAIL: {}", failed.join(", ")),
        };
        out.push_str(&format!("| {how} | {version} | {what} | {result} |\n"));
    }
    out.push_str(&format!(
        "\nTime from `#onAnswer` to the remote picture, median of {runs} call{}:\n\n\
         | call | caller sees the callee | callee sees the caller |\n|---|---|---|\n",
        if runs == 1 { "" } else { "s" }
    ));
    for r in field(&rows, "timing") {
        if let [_, label, caller, callee, ..] = r.as_slice() {
            out.push_str(&format!("| {} | {caller} ms | {callee} ms |\n", label.replace("->", "→")));
        }
    }
    let tests = field(&rows, "result").count();
    out.push_str(&format!("\nThe matrix ({tests} tests, two calls at a time, every call {runs}×) took {secs} s.\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_say_what_failed() {
        let report = "version\tFirefox\tfirefox 153.8.0\nresult\tfirefox_calls_firefox\tpass\n\
                      result\tfirefox_controls\tFAIL\ntiming\tours Firefox -> ours Firefox\t230\t240\t3\n";
        let t = tables(report, 3, 100);
        assert!(t.contains("| firefox 153.8.0 |"), "{t}");
        assert!(t.contains("FAIL: firefox_controls"), "{t}");
        assert!(t.contains("| ours Firefox → ours Firefox | 230 ms | 240 ms |"), "{t}");
        assert!(t.contains("| ? |") && t.contains("not run"), "{t}");
    }
}
