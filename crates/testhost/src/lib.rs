//! Test host for the call page.
//!
//! It stands in for the messenger: an HTTP server on 127.0.0.1 serves the
//! built page with `web/host-shim.js` (the `window.calls` stand-in) injected
//! and the Content-Security-Policy a real host sends ([`server`]); a coturn
//! instance provides TURN ([`turn`]); and a small blocking DevTools client
//! drives headless Chromium ([`browser`]).
//!
//! Everything here is bounded: every wait has a timeout, and every process
//! started is killed when its handle is dropped.

use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

pub mod browser;
#[cfg(target_os = "linux")]
pub mod netns;
pub mod relay;
pub mod server;
pub mod shaper;
pub mod turn;
pub mod webkit;

pub use browser::{Browser, Page};
pub use server::Server;
pub use turn::{BlackHole, Turn};

/// An error with a message meant for a person reading a test failure.
pub struct Error(pub String);

impl Error {
    pub fn new(msg: impl Into<String>) -> Error {
        Error(msg.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

// Debug prints the plain message: a test returning `Err` shows it as is,
// state dumps included, instead of one escaped line.
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error(format!("I/O error: {e}"))
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Error {
        Error(format!("JSON error: {e}"))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Shorthand for an `Err(Error)`.
pub fn err<T>(msg: impl Into<String>) -> Result<T> {
    Err(Error::new(msg))
}

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join("..")
}

/// Where the built page lives: `$CALLS_DIST`, else `<workspace>/dist`.
pub fn dist_dir() -> PathBuf {
    match std::env::var_os("CALLS_DIST") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => workspace_root().join("dist"),
    }
}

/// Fails with a clear message when the page has not been built.
pub fn require_dist() -> Result<PathBuf> {
    let dir = dist_dir();
    for f in ["index.html", "index-debug.html"] {
        if !dir.join(f).is_file() {
            return err(format!(
                "{} is missing: build the page first with `cargo xtask build` \
                 (or point CALLS_DIST at a directory holding index.html and index-debug.html)",
                dir.join(f).display()
            ));
        }
    }
    Ok(dir)
}

/// The deployed page (`@deltachat/calls-webapp`) for the interop tests:
/// `$CALLS_INTEROP_PAGE` (set by `cargo xtask test`, which fetches it),
/// else a copy fetched earlier into `target/interop/*/package/dist/`.
pub fn interop_page() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CALLS_INTEROP_PAGE").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let dir = workspace_root().join("target").join("interop");
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("package").join("dist").join("index.html")))
        .filter(|p| p.is_file())
        .collect();
    found.sort();
    found.pop()
}

/// Fails with a clear message when the deployed page is not there.
pub fn require_interop() -> Result<PathBuf> {
    match interop_page() {
        Some(p) if p.is_file() => Ok(p),
        Some(p) => err(format!("the deployed page {} (CALLS_INTEROP_PAGE) does not exist", p.display())),
        None => err("the deployed page for the interop tests is missing: run `cargo xtask test` \
                     (it fetches @deltachat/calls-webapp) or set CALLS_INTEROP_PAGE to its index.html"),
    }
}

/// The host shim, as injected into every served call page.
pub const HOST_SHIM: &str = include_str!("../../../web/host-shim.js");

/// Standard base64 with padding: the page's own encoder (call-core).
pub use call_core::payload::base64_encode as base64;

/// What JavaScript's `encodeURIComponent` does (the Android host URL-encoded
/// its base64 payloads this way: `%2B`, `%2F`, `%3D`).
pub fn encode_uri_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3 / 2);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Escapes text for an HTML attribute value or element content.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Makes a child process die with the thread that spawns it (Linux:
/// `PR_SET_PDEATHSIG`), so that a killed or crashed test run leaves no
/// Chromium or coturn behind. Spawn from the thread that owns the handle.
pub fn die_with_parent(cmd: &mut std::process::Command) -> &mut std::process::Command {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: the closure runs in the forked child before exec and only
        // makes one async-signal-safe system call.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    cmd
}

/// Waits up to `grace` for a child that was asked to stop, then kills it;
/// reaps it either way.
pub fn reap(child: &mut std::process::Child, grace: std::time::Duration) {
    let deadline = std::time::Instant::now() + grace;
    while std::time::Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// A fresh, empty directory under the system temp dir, removed on drop.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(prefix: &str) -> Result<TempDir> {
        static N: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
        for _ in 0..100 {
            let n = N.fetch_add(1, Ordering::Relaxed);
            let path = std::env::temp_dir().join(format!("{prefix}-{}-{n}-{nanos}", std::process::id()));
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(TempDir { path }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e.into()),
            }
        }
        err("could not create a temporary directory")
    }

    pub fn path(&self) -> &std::path::Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_component() {
        assert_eq!(encode_uri_component("a+b/c=="), "a%2Bb%2Fc%3D%3D");
        assert_eq!(encode_uri_component("AZaz09-_.!~*'()"), "AZaz09-_.!~*'()");
        assert_eq!(encode_uri_component("é"), "%C3%A9");
    }

    #[test]
    fn shim_has_no_script_end_tag() {
        // It is inlined into a <script> element.
        assert!(!HOST_SHIM.to_ascii_lowercase().contains("</script"));
    }
}
