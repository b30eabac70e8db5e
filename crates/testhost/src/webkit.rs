//! WebKitGTK through `WebKitWebDriver` (classic WebDriver over HTTP), on
//! a private Xvfb display. Debian's WebKitGTK is built without WebRTC, so
//! no call can be made in it: this drives one page far enough to see how
//! ours fails there (it must say so and end the call, not stay blank).
//!
//! The same verbs as [`crate::browser::Page`] where the test needs them
//! (`goto`, `eval`, `wait_for`); an expression is evaluated as
//! `return (EXPR)`, promises awaited by the driver.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::{err, Error, Result};

/// `WebKitWebDriver`: `$WEBKIT_WEBDRIVER`, else `/usr/bin/WebKitWebDriver`.
pub fn webdriver_path() -> PathBuf {
    match std::env::var_os("WEBKIT_WEBDRIVER") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from("/usr/bin/WebKitWebDriver"),
    }
}

/// One WebKitGTK window driven over WebDriver; everything it started is
/// stopped on drop.
pub struct WebKit {
    xvfb: Child,
    driver: Child,
    port: u16,
    session: String,
    version: String,
}

fn missing(what: &str) -> Error {
    Error(format!(
        "{what} not found; on Debian: sudo apt-get install -y webkit2gtk-driver xvfb \
         (or set WEBKIT_WEBDRIVER to WebKitWebDriver's path)"
    ))
}

impl WebKit {
    /// Starts Xvfb, `WebKitWebDriver` and a session (a MiniBrowser window).
    pub fn launch() -> Result<WebKit> {
        let bin = webdriver_path();
        if !bin.is_file() {
            return Err(missing("WebKitWebDriver"));
        }
        // Xvfb picks a free display and writes its number to stdout.
        let mut xvfb = crate::die_with_parent(&mut Command::new("Xvfb"))
            .args(["-displayfd", "1", "-screen", "0", "1024x768x24", "-nolisten", "tcp"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|_| missing("Xvfb"))?;
        let mut line = String::new();
        if let Some(out) = xvfb.stdout.take() {
            let (tx, rx) = std::sync::mpsc::channel();
            thread::spawn(move || {
                let mut l = String::new();
                let _ = BufReader::new(out).read_line(&mut l);
                let _ = tx.send(l);
            });
            line = rx.recv_timeout(Duration::from_secs(10)).unwrap_or_default();
        }
        let display = line.trim().to_string();
        if display.is_empty() || !display.bytes().all(|b| b.is_ascii_digit()) {
            crate::reap(&mut xvfb, Duration::ZERO);
            return err(format!("Xvfb gave no display number (got {line:?})"));
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let driver = crate::die_with_parent(&mut Command::new(&bin))
            .arg(format!("--port={port}"))
            .arg("--host=127.0.0.1")
            .env("DISPLAY", format!(":{display}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let driver = match driver {
            Ok(d) => d,
            Err(e) => {
                crate::reap(&mut xvfb, Duration::ZERO);
                return err(format!("cannot start {}: {e}", bin.display()));
            }
        };
        let mut wk = WebKit { xvfb, driver, port, session: String::new(), version: String::new() };
        let deadline = Instant::now() + Duration::from_secs(20);
        let caps = json!({ "capabilities": { "alwaysMatch": { "unhandledPromptBehavior": "ignore" } } });
        let v = loop {
            match wk.request("POST", "/session", Some(&caps)) {
                Ok(v) => break v,
                Err(e) if Instant::now() >= deadline => return err(format!("WebKitWebDriver gave no session: {e}")),
                Err(_) => thread::sleep(Duration::from_millis(100)), // the driver is starting
            }
        };
        wk.session = v["sessionId"].as_str().ok_or_else(|| Error::new("new session: no sessionId"))?.to_string();
        wk.version = v["capabilities"]["browserVersion"].as_str().unwrap_or("?").to_string();
        Ok(wk)
    }

    /// WebKitGTK's version as the driver reports it (e.g. `2.50.6`).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// One WebDriver command; returns its `value`.
    fn request(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port))?;
        s.set_read_timeout(Some(Duration::from_secs(30)))?;
        let body = body.map(Value::to_string).unwrap_or_default();
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        );
        s.write_all(req.as_bytes())?;
        let mut resp = Vec::new();
        s.read_to_end(&mut resp)?;
        let text = String::from_utf8_lossy(&resp);
        let payload = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
        // The driver may answer chunked; the JSON is the part between the
        // first '{' and the last '}'.
        let json_text = match (payload.find('{'), payload.rfind('}')) {
            (Some(a), Some(b)) if b > a => &payload[a..=b],
            _ => return err(format!("{method} {path}: no JSON in the reply: {}", text.chars().take(300).collect::<String>())),
        };
        let v: Value = serde_json::from_str(json_text)?;
        let value = v.get("value").cloned().unwrap_or(Value::Null);
        if let Some(e) = value.get("error").and_then(Value::as_str) {
            return err(format!("{method} {path}: {e}: {}", value["message"].as_str().unwrap_or("")));
        }
        Ok(value)
    }

    fn session_path(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    /// Navigates and waits for the load (the driver's page-load strategy).
    pub fn goto(&self, url: &str) -> Result<()> {
        self.request("POST", &self.session_path("/url"), Some(&json!({ "url": url }))).map(|_| ())
    }

    /// Evaluates an expression (a promise is awaited) and returns its
    /// value as JSON.
    pub fn eval(&self, js: &str) -> Result<Value> {
        let script = format!("return ({js});");
        self.request("POST", &self.session_path("/execute/sync"), Some(&json!({ "script": script, "args": [] })))
    }

    /// Polls `condition` until it is truthy; on timeout, `dump` is in the
    /// message.
    pub fn wait_for(&self, condition: &str, timeout: Duration, dump: &str) -> Result<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let last = self.eval(condition);
            match &last {
                Ok(v) if !matches!(v, Value::Null | Value::Bool(false)) && v != &json!("") && v != &json!(0) => {
                    return last;
                }
                _ => {}
            }
            if Instant::now() >= deadline {
                let state = self.eval(dump).map(|v| v.to_string()).unwrap_or_else(|e| e.0);
                return err(format!(
                    "WebKit: timed out after {timeout:?} waiting for `{condition}` (last: {:?})\nstate: {state}",
                    last.map_err(|e| e.0)
                ));
            }
            thread::sleep(crate::browser::POLL);
        }
    }
}

impl Drop for WebKit {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self.request("DELETE", &self.session_path(""), None);
        }
        crate::reap(&mut self.driver, Duration::from_secs(2));
        crate::reap(&mut self.xvfb, Duration::from_secs(2));
    }
}
