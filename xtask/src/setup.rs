//! Installs what building and testing need, where this process can, and
//! otherwise stops with the exact command a person has to run.

use std::process::Command;

use crate::Result;

/// Must equal the `wasm-bindgen` crate version in Cargo.lock: the CLI and
/// the crate speak a private format (a test below keeps them in step).
pub(crate) const WASM_BINDGEN: &str = "0.2.130";

/// Debian packages: the browser for the end-to-end tests, the TURN server
/// they start, wasm-opt for the size of the page, dovecot (IMAP and LMTP)
/// for the reference host's local relay, and the other engines hosts embed
/// (`crates/e2e/tests/engines.rs`): Firefox ESR, QtWebEngine 5.15 on
/// Chromium 87 through PyQt5, WebKitGTK's WebDriver and the X server it
/// draws on.
const APT_PACKAGES: &[&str] = &[
    "chromium",
    "coturn",
    "binaryen",
    "dovecot-imapd",
    "dovecot-lmtpd",
    "firefox-esr",
    "python3-pyqt5.qtwebengine",
    "webkit2gtk-driver",
    "xvfb",
];

fn output(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn have(cmd: &str) -> bool {
    Command::new(cmd).arg("--version").output().is_ok()
}

pub(crate) fn chromium() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into())
}

pub(crate) fn run() -> Result {
    wasm_target()?;
    wasm_bindgen()?;
    system_packages()?;
    crate::dccore::rpc_server().map(|_| ())
}

fn wasm_target() -> Result {
    let installed = output("rustup", &["target", "list", "--installed"]);
    if installed.as_deref().is_some_and(|t| t.lines().any(|l| l.trim() == "wasm32-unknown-unknown")) {
        return Ok(());
    }
    if installed.is_none() {
        return Err("rustup is missing; install the wasm32-unknown-unknown target for your toolchain".into());
    }
    eprintln!("xtask: adding the wasm32-unknown-unknown target");
    crate::run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))
}

fn wasm_bindgen() -> Result {
    let want = format!("wasm-bindgen {WASM_BINDGEN}");
    if output("wasm-bindgen", &["--version"]).is_some_and(|v| v.trim() == want) {
        return Ok(());
    }
    eprintln!("xtask: installing wasm-bindgen-cli {WASM_BINDGEN} (a few minutes, once)");
    // Not `--locked`: the CLI's own lock file pins a webpki-roots release
    // that was yanked from crates.io, and the install then fails.
    crate::run(Command::new("cargo").args(["install", "wasm-bindgen-cli", "--version", WASM_BINDGEN]))
}

fn env_or(var: &str, default: &str) -> String {
    std::env::var(var).ok().filter(|v| !v.is_empty()).unwrap_or_else(|| default.into())
}

/// Firefox where the tests look for it (`testhost::browser::firefox_path`).
fn firefox() -> bool {
    match std::env::var("FIREFOX") {
        Ok(p) if !p.is_empty() => std::path::Path::new(&p).exists(),
        _ => ["/usr/bin/firefox-esr", "/usr/bin/firefox"].iter().any(|p| std::path::Path::new(p).exists()),
    }
}

/// The Python the QtWebEngine host runs on imports QtWebEngine
/// (`testhost::browser::qt_python_path`).
fn qtwebengine() -> bool {
    let py = env_or("CALLS_QT_PYTHON", "/usr/bin/python3");
    Command::new(py)
        .args(["-c", "import PyQt5.QtWebEngineWidgets"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn system_packages() -> Result {
    let missing: Vec<&str> = [
        (std::path::Path::new(&chromium()).exists(), "chromium"),
        (have("turnserver") || std::path::Path::new("/usr/bin/turnserver").exists(), "coturn"),
        (have("wasm-opt"), "binaryen"),
        (std::path::Path::new("/usr/sbin/dovecot").exists(), "dovecot-imapd"),
        (std::path::Path::new("/usr/lib/dovecot/lmtp").exists(), "dovecot-lmtpd"),
        (firefox(), "firefox-esr"),
        (qtwebengine(), "python3-pyqt5.qtwebengine"),
        (std::path::Path::new(&env_or("WEBKIT_WEBDRIVER", "/usr/bin/WebKitWebDriver")).exists(), "webkit2gtk-driver"),
        (std::path::Path::new("/usr/bin/Xvfb").exists() || have("Xvfb"), "xvfb"),
    ]
    .into_iter()
    .filter(|(ok, _)| !ok)
    .map(|(_, p)| p)
    .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let is_root = output("id", &["-u"]).is_some_and(|u| u.trim() == "0");
    if !is_root || !have("apt-get") {
        return Err(format!(
            "missing system packages ({}); on Debian/Ubuntu run: sudo apt-get install -y {} \
             (elsewhere: install Chromium, coturn, binaryen's wasm-opt, dovecot, Firefox, PyQt5 with \
             QtWebEngine, WebKitGTK's WebKitWebDriver and Xvfb; set CHROMIUM, FIREFOX, CALLS_QT_PYTHON \
             or WEBKIT_WEBDRIVER where they are not at Debian's paths)",
            missing.join(" "),
            APT_PACKAGES.join(" ")
        ));
    }
    eprintln!("xtask: installing {}", missing.join(" "));
    crate::run(Command::new("apt-get").arg("update").arg("-qq"))?;
    crate::run(Command::new("apt-get")
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(APT_PACKAGES)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn pinned_cli_matches_the_locked_crate() {
        let lock = std::fs::read_to_string(crate::root().join("Cargo.lock")).unwrap();
        let entry = format!("name = \"wasm-bindgen\"\nversion = \"{}\"", super::WASM_BINDGEN);
        assert!(lock.contains(&entry), "Cargo.lock's wasm-bindgen differs from setup::WASM_BINDGEN");
    }
}
