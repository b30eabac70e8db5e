//! A tiny HTTP/1.1 server on 127.0.0.1 that serves the call page the way a
//! messenger would: the host shim injected before the page's own script and
//! the host's Content-Security-Policy header.
//!
//! | path | what |
//! |---|---|
//! | `/call.html` | `dist/index.html` + shim |
//! | `/debug.html` | `dist/index-debug.html` + shim |
//! | `/theirs.html` | the deployed page (interop tests) + shim, Desktop's CSP |
//! | `/hostile.html` | a peer that misbehaves on request (`hostile-peer.js`) + shim |
//! | `/avatar` | a small SVG image (what Desktop's `getAvatar` points at) |
//! | `/demo` | two call pages side by side (Alice and Bob) |
//!
//! The dist files are read at request time, so a rebuild is picked up.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use crate::{dist_dir, html_escape, Result, HOST_SHIM};

/// The Content-Security-Policy the call page is served with: what a real
/// host needs to send (PROTOCOL.md section 7), and no more. Inline script
/// (the page and the shim), wasm compilation, inline styles, images from the
/// host (`/avatar`) or `data:` (Android's avatar), media from streams.
pub const PAGE_CSP: &str = "default-src 'none'; script-src 'unsafe-inline' 'wasm-unsafe-eval'; \
style-src 'unsafe-inline'; img-src data: 'self'; media-src 'self' blob: mediastream:";

/// The policy Delta Chat Desktop serves the deployed page with
/// (PROTOCOL.md section 7), for `/theirs.html`.
pub const DESKTOP_CSP: &str = "default-src 'none'; style-src 'self' 'unsafe-inline'; \
script-src 'self' 'unsafe-inline' 'unsafe-eval'; img-src 'self'; font-src data:; media-src 'self'";

/// The demo page's own policy: it only frames the call pages.
const DEMO_CSP: &str = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; frame-src 'self'";

/// The avatar served at `/avatar`.
pub const AVATAR_SVG: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"96\" height=\"96\" viewBox=\"0 0 96 96\">\
<rect width=\"96\" height=\"96\" fill=\"#3b82f6\"/><circle cx=\"48\" cy=\"38\" r=\"18\" fill=\"#fff\"/>\
<rect x=\"18\" y=\"62\" width=\"60\" height=\"34\" rx=\"17\" fill=\"#fff\"/></svg>";

/// Settings of a server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// 0: any free port.
    pub port: u16,
    /// The `iceServers` JSON the demo page hands to both call pages.
    pub demo_ice_servers: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig { port: 0, demo_ice_servers: "[]".into() }
    }
}

/// A running server; stops accepting when dropped.
pub struct Server {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
    netns: Option<crate::netns::NsHandle>,
}

impl Server {
    /// On a free port, demo without TURN.
    pub fn start() -> Result<Server> {
        Server::start_with(ServerConfig::default())
    }

    pub fn start_with(cfg: ServerConfig) -> Result<Server> {
        Server::start_in(None, cfg)
    }

    /// On 127.0.0.1 of a network namespace (for a browser started there).
    pub fn start_in(netns: Option<&crate::netns::Netns>, cfg: ServerConfig) -> Result<Server> {
        let bind = || Ok(TcpListener::bind(("127.0.0.1", cfg.port))?);
        let listener = match netns {
            Some(ns) => ns.enter(bind)?,
            None => bind()?,
        };
        let netns_file = match netns {
            Some(ns) => Some(ns.handle()?),
            None => None,
        };
        let port = listener.local_addr()?.port();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let cfg = Arc::new(cfg);
        let thread = thread::Builder::new().name("testhost-http".into()).spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let cfg = cfg.clone();
                let _ = thread::Builder::new().name("testhost-conn".into()).spawn(move || {
                    let _ = handle(conn, &cfg);
                });
            }
        })?;
        Ok(Server { port, stop, thread: Some(thread), netns: netns_file })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT` + `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.port, path)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let port = self.port;
        let wake = move || Ok(TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(1))?);
        let _ = match &self.netns {
            Some(ns) => ns.enter(wake),
            None => wake(),
        };
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Response {
    status: &'static str,
    content_type: &'static str,
    csp: Option<&'static str>,
    location: Option<&'static str>,
    body: Vec<u8>,
}

impl Response {
    fn text(status: &'static str, body: impl Into<String>) -> Response {
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            csp: None,
            location: None,
            body: body.into().into_bytes(),
        }
    }
}

fn handle(mut conn: TcpStream, cfg: &ServerConfig) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    conn.set_write_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(conn.try_clone()?.take(64 * 1024));
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    // Skip the headers; nothing in them matters here.
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
    }
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("");
    let target = parts.next().unwrap_or("/");
    let resp = if method == "GET" || method == "HEAD" {
        route(target, cfg)
    } else {
        Response::text("405 Method Not Allowed", "only GET\n")
    };
    let mut head = format!(
        "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n",
        resp.status,
        resp.content_type,
        resp.body.len()
    );
    if let Some(csp) = resp.csp {
        head.push_str(&format!("Content-Security-Policy: {csp}\r\n"));
    }
    if let Some(loc) = resp.location {
        head.push_str(&format!("Location: {loc}\r\n"));
    }
    head.push_str("\r\n");
    conn.write_all(head.as_bytes())?;
    if method != "HEAD" {
        conn.write_all(&resp.body)?;
    }
    conn.flush()?;
    let _ = conn.shutdown(Shutdown::Write);
    Ok(())
}

fn route(target: &str, cfg: &ServerConfig) -> Response {
    let target = target.split('#').next().unwrap_or("");
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, q),
        None => (target, ""),
    };
    match path {
        "/call.html" => html_with_shim(&dist_dir().join("index.html"), csp_for(query)),
        "/debug.html" => html_with_shim(&dist_dir().join("index-debug.html"), csp_for(query)),
        "/theirs.html" => match crate::interop_page() {
            Some(p) => html_with_shim(&p, DESKTOP_CSP),
            None => Response::text("404 Not Found", "no deployed page: set CALLS_INTEROP_PAGE\n"),
        },
        "/hostile.html" => Response {
            status: "200 OK",
            content_type: "text/html; charset=utf-8",
            csp: Some(HOSTILE_CSP),
            location: None,
            body: inject_shim(&hostile_page()).into_bytes(),
        },
        "/avatar" => Response {
            status: "200 OK",
            content_type: "image/svg+xml",
            csp: None,
            location: None,
            body: AVATAR_SVG.as_bytes().to_vec(),
        },
        "/demo" => Response {
            status: "200 OK",
            content_type: "text/html; charset=utf-8",
            csp: Some(DEMO_CSP),
            location: None,
            body: demo_page(query, cfg).into_bytes(),
        },
        "/" => Response { location: Some("/demo"), ..Response::text("302 Found", "see /demo\n") },
        _ => Response::text("404 Not Found", "not found\n"),
    }
}

/// The hostile peer's policy: its inline script, media from streams.
const HOSTILE_CSP: &str = "default-src 'none'; script-src 'unsafe-inline'; media-src blob: mediastream:";

/// A test fixture, never in `dist/`: a peer that speaks the protocol and
/// misbehaves when a test asks (`hostile-peer.js` says how).
fn hostile_page() -> String {
    const JS: &str = include_str!("hostile-peer.js");
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>hostile peer</title></head><body>\n\
         <video id=\"remote-video\" autoplay playsinline width=\"320\" height=\"240\"></video>\n<script>\n{JS}\n</script></body></html>\n"
    )
}

/// A dist file with the shim injected.
/// The strictest policy the reliability issue names: scripts and wasm,
/// nothing else (styles are blocked: the page must still work).
pub const STRICT_CSP: &str = "default-src 'none'; script-src 'unsafe-inline' 'wasm-unsafe-eval'";

/// [`PAGE_CSP`] for a host on Chromium before 97 (QtWebEngine 5.15 in
/// Delta Touch), which does not know `'wasm-unsafe-eval'` and needs
/// `'unsafe-eval'` to compile WebAssembly (INTEGRATING.md).
pub const CHROMIUM87_CSP: &str = "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; \
style-src 'unsafe-inline'; img-src data: 'self'; media-src 'self' blob: mediastream:";

/// `?csp=strict`, `?csp=desktop` and `?csp=chromium87` choose another
/// policy for a call page (the page ignores the unknown flag); default
/// [`PAGE_CSP`].
fn csp_for(query: &str) -> &'static str {
    if query.split('&').any(|q| q == "csp=strict") {
        STRICT_CSP
    } else if query.split('&').any(|q| q == "csp=chromium87") {
        CHROMIUM87_CSP
    } else if query.split('&').any(|q| q == "csp=desktop") {
        DESKTOP_CSP
    } else {
        PAGE_CSP
    }
}

fn html_with_shim(path: &std::path::Path, csp: &'static str) -> Response {
    match read_settled(path) {
        Ok(html) => Response {
            status: "200 OK",
            content_type: "text/html; charset=utf-8",
            csp: Some(csp),
            location: None,
            body: inject_shim(&html).into_bytes(),
        },
        Err(e) => Response::text(
            "500 Internal Server Error",
            format!("cannot read {}: {e}\nBuild the page first: cargo xtask build\n", path.display()),
        ),
    }
}

/// Reads a dist file that a concurrent `cargo xtask build` may be writing:
/// waits (bounded) until it reads complete (ends with `</html>`).
fn read_settled(path: &std::path::Path) -> std::io::Result<String> {
    let mut last = std::fs::read_to_string(path)?;
    for _ in 0..40 {
        if last.trim_end().ends_with("</html>") {
            break;
        }
        thread::sleep(Duration::from_millis(50));
        last = std::fs::read_to_string(path)?;
    }
    Ok(last)
}

/// Puts the shim as an inline script right after `<head …>`, so that it runs
/// before any script of the page.
pub fn inject_shim(html: &str) -> String {
    let script = format!("<script>\n{HOST_SHIM}\n</script>\n");
    let lower = html.to_ascii_lowercase();
    let at = lower
        .find("<head>")
        .or_else(|| lower.find("<head "))
        .and_then(|i| lower[i..].find('>').map(|j| i + j + 1));
    match at {
        Some(i) => [&html[..i], "\n", &script, &html[i..]].concat(),
        None => [script.as_str(), html].concat(),
    }
}

fn demo_page(query: &str, cfg: &ServerConfig) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let channel = format!("calls-demo-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
    let debug = query.split('&').any(|p| p.split('=').next() == Some("debug"));
    let page = if debug { "/debug.html" } else { "/call.html" };
    let src = if query.is_empty() { page.to_string() } else { format!("{page}?{query}") };
    let frame_config = |side: &str| {
        serde_json::json!({
            "demo": {"side": side, "channel": channel},
            "iceServers": cfg.demo_ice_servers,
            "avatar": "/avatar",
        })
        .to_string()
    };
    let relayed = cfg.demo_ice_servers.contains("turn:");
    DEMO_HTML
        .replace("{{SRC}}", &html_escape(&src))
        .replace("{{ALICE}}", &html_escape(&frame_config("alice")))
        .replace("{{BOB}}", &html_escape(&frame_config("bob")))
        .replace("{{CHANNEL}}", &html_escape(&channel))
        .replace(
            "{{TURN}}",
            if relayed { "TURN: local coturn (add <code>?relayOnly</code> to force it)" } else { "no TURN server (P2P only)" },
        )
}

const DEMO_HTML: &str = r##"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Call demo: Alice and Bob</title>
<style>
html, body { margin: 0; height: 100%; background: #222; color: #eee; font: 14px system-ui, sans-serif; }
header { display: flex; gap: 12px; align-items: center; padding: 8px 12px; flex-wrap: wrap; }
button { font: inherit; padding: 6px 14px; }
main { display: flex; gap: 8px; padding: 0 8px 8px; height: calc(100% - 110px); }
section { flex: 1; display: flex; flex-direction: column; min-width: 0; }
section h2 { margin: 4px 0; font-size: 15px; }
.frame { flex: 1; border: 1px solid #555; border-radius: 6px; overflow: hidden; background: #111; display: flex; align-items: center; justify-content: center; }
.frame iframe { width: 100%; height: 100%; border: 0; }
#log { font: 12px monospace; color: #aaa; padding: 0 12px; height: 40px; overflow: auto; white-space: pre; }
</style>
</head>
<body data-channel="{{CHANNEL}}" data-src="{{SRC}}">
<header>
  <button id="call" type="button">Call Bob</button>
  <button id="reset" type="button">Reset</button>
  <span>{{TURN}}. Flags: append <code>?noOutgoingVideoInitially</code>, <code>?disableVideoCompletely</code>, <code>?relayOnly</code> or <code>?debug</code> to this page's URL.</span>
</header>
<main>
  <section><h2>Alice</h2><div class="frame" id="alice-box" data-config="{{ALICE}}"></div></section>
  <section><h2>Bob</h2><div class="frame" id="bob-box" data-config="{{BOB}}"></div></section>
</main>
<div id="log"></div>
<script>
(function () {
  "use strict";
  var body = document.body;
  var logEl = document.getElementById("log");
  function log(s) { logEl.textContent += new Date().toLocaleTimeString() + " " + s + "\n"; logEl.scrollTop = 1e9; }
  function box(side) { return document.getElementById(side + "-box"); }
  function frame(side) { return box(side).querySelector("iframe"); }
  function open(side) {
    var b = box(side);
    b.textContent = "";
    var f = document.createElement("iframe");
    f.setAttribute("allow", "camera; microphone; autoplay");
    f.setAttribute("title", side + "'s call window");
    f.setAttribute("data-host-config", b.getAttribute("data-config"));
    f.src = body.getAttribute("data-src");
    b.appendChild(f);
  }
  function phase(side) {
    try { return frame(side).contentDocument.documentElement.getAttribute("data-phase"); } catch (e) { return null; }
  }
  // Desktop closes the window when the page calls endCall; so does the demo
  // (after a moment, so that the last status can be read).
  function close(side, why) {
    var b = box(side);
    if (!b.querySelector("iframe")) return;
    b.textContent = side + "'s window was closed (" + why + ")";
  }
  var ch = new BroadcastChannel(body.getAttribute("data-channel"));
  ch.onmessage = function (ev) {
    var m = ev.data || {};
    log(m.from + ": " + m.type);
    if (m.type === "endCall") {
      var other = m.from === "alice" ? "bob" : "alice";
      setTimeout(function () { close(m.from, "endCall"); }, 1500);
      // A call that never connected is ended for both by the messenger;
      // a connected peer notices the hang-up over the connection itself.
      var p = phase(other);
      if (p !== "in-call" && p !== "reconnecting") {
        setTimeout(function () { close(other, "call ended by " + m.from); }, 1500);
      }
    }
  };
  document.getElementById("call").onclick = function () {
    var f = frame("alice");
    if (f) f.contentWindow.location.hash = "#startCall";
  };
  document.getElementById("reset").onclick = function () { open("alice"); open("bob"); log("reset"); };
  open("alice");
  open("bob");
})();
</script>
</body>
</html>
"##;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shim_goes_first_in_head() {
        let out = inject_shim("<!doctype html><html><head lang=x><meta charset=utf-8><script>page()</script></head></html>");
        let shim = out.find("window.calls").unwrap();
        let page = out.find("page()").unwrap();
        assert!(out.find("<head lang=x>").unwrap() < shim && shim < page);
    }

    #[test]
    fn serves_routes() {
        let cfg = ServerConfig::default();
        assert_eq!(route("/avatar", &cfg).status, "200 OK");
        let hostile = String::from_utf8(route("/hostile.html", &cfg).body).unwrap();
        assert!(hostile.find("window.calls").unwrap() < hostile.find("window.hostile").unwrap());
        assert!(!include_str!("hostile-peer.js").to_ascii_lowercase().contains("</script"));
        assert_eq!(route("/nope", &cfg).status, "404 Not Found");
        let demo = route("/demo?relayOnly", &cfg);
        let html = String::from_utf8(demo.body).unwrap();
        assert!(html.contains("/call.html?relayOnly") && !html.contains("{{"));
    }
}
