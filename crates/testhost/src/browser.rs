//! The browsers the page runs in, behind one small blocking client.
//!
//! Three engines ([`Engine`]): headless Chromium and QtWebEngine (Chromium
//! 87, as Delta Touch embeds it) speak the DevTools protocol; Firefox speaks
//! WebDriver BiDi. Both protocols are JSON over one websocket with numbered
//! commands and unnumbered events, so one connection type carries either,
//! and [`Page`] offers the same few verbs (`goto`, `eval`, `wait_for`,
//! `click`, …) on every engine: everything else is JavaScript evaluated in
//! the page.
//!
//! DevTools: pages are targets attached in flat mode, so their messages
//! carry a `sessionId`. BiDi: a page is a browsing context named in the
//! command's parameters. One I/O thread owns the socket; callers wait for
//! their reply on a channel with a timeout. Nothing here waits without a
//! bound.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tungstenite::{Message, WebSocket};

use crate::{err, Error, Result, TempDir};

/// Timeout of a single DevTools command.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(15);
/// How often [`Page::wait_for`] evaluates its condition.
pub const POLL: Duration = Duration::from_millis(50);
/// How many console lines are kept per page (for failure dumps).
const CONSOLE_KEEP: usize = 300;

/// The Chromium binary: `$CHROMIUM`, else `/usr/bin/chromium`.
pub fn chromium_path() -> PathBuf {
    match std::env::var_os("CHROMIUM") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from("/usr/bin/chromium"),
    }
}

/// The switches Chromium is started with. Fake camera and microphone,
/// permission prompts auto-accepted, autoplay allowed, nothing from the
/// network, no throttling of pages in the background (two call windows run
/// at once), and real host candidates instead of mDNS names.
pub const CHROMIUM_ARGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-breakpad",
    "--disable-quic",
    "--autoplay-policy=no-user-gesture-required",
    // Only the last --disable-features counts: one list.
    "--disable-features=WebRtcHideLocalIpsWithMdns,Translate,MediaRouter,OptimizationHints,DialMediaRouteProvider",
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
    "--disable-dev-shm-usage",
    "--password-store=basic",
    "--use-mock-keychain",
    "--mute-audio",
    // The page picks its language from the browser; the tests read English.
    "--lang=en-US",
    "--remote-debugging-port=0",
];

// ---------------------------------------------------------------------------
// The engines

/// A browser engine the page is embedded in somewhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Engine {
    /// Today's Chromium (Electron in Delta Chat Desktop), headless.
    Chromium,
    /// QtWebEngine 5.15 on Chromium 87 (Delta Touch), in a small PyQt5
    /// host on Qt's offscreen platform.
    QtWebEngine,
    /// Firefox (the user's browser for Desktop's browser edition), headless.
    Firefox,
}

impl Engine {
    /// Every engine, in the order tables list them.
    pub const ALL: [Engine; 3] = [Engine::Chromium, Engine::QtWebEngine, Engine::Firefox];

    /// A short name for messages and tables.
    pub fn label(self) -> &'static str {
        match self {
            Engine::Chromium => "Chromium",
            Engine::QtWebEngine => "QtWebEngine",
            Engine::Firefox => "Firefox",
        }
    }

    fn protocol(self) -> Proto {
        match self {
            Engine::Chromium | Engine::QtWebEngine => Proto::Cdp,
            Engine::Firefox => Proto::Bidi,
        }
    }
}

/// The Python with Debian's PyQt5 for the QtWebEngine host:
/// `$CALLS_QT_PYTHON`, else `/usr/bin/python3` (not a `python3` on `PATH`,
/// which may be another installation without the system's packages).
pub fn qt_python_path() -> PathBuf {
    match std::env::var_os("CALLS_QT_PYTHON") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from("/usr/bin/python3"),
    }
}

/// The Firefox binary: `$FIREFOX`, else `/usr/bin/firefox-esr`, else
/// `/usr/bin/firefox`.
pub fn firefox_path() -> PathBuf {
    match std::env::var_os("FIREFOX") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => ["/usr/bin/firefox-esr", "/usr/bin/firefox"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
            .unwrap_or_else(|| PathBuf::from("/usr/bin/firefox-esr")),
    }
}

/// The QtWebEngine host (one window per `open` line on its stdin).
pub const QT_HOST: &str = include_str!("engines/qt_host.py");

/// Chromium switches for QtWebEngine's Chromium 87 (through
/// `QTWEBENGINE_CHROMIUM_FLAGS`): fake camera and microphone, prompts
/// accepted, autoplay allowed, real host candidates, no GPU.
const QT_CHROMIUM_FLAGS: &str = "--no-sandbox --disable-gpu --use-fake-device-for-media-stream \
--use-fake-ui-for-media-stream --autoplay-policy=no-user-gesture-required \
--disable-features=WebRtcHideLocalIpsWithMdns --disable-background-timer-throttling \
--disable-renderer-backgrounding --mute-audio";

/// Firefox preferences (the profile's `user.js`): fake camera and
/// microphone without a prompt, autoplay allowed, real host candidates,
/// English, nothing fetched from the network.
const FIREFOX_PREFS: &[(&str, &str)] = &[
    ("media.navigator.streams.fake", "true"),
    ("media.navigator.permission.disabled", "true"),
    ("media.autoplay.default", "0"),
    ("media.autoplay.blocking_policy", "0"),
    ("media.peerconnection.ice.obfuscate_host_addresses", "false"),
    ("intl.accept_languages", "\"en-US\""),
    ("intl.locale.requested", "\"en-US\""),
    ("dom.min_background_timeout_value", "4"),
    ("browser.shell.checkDefaultBrowser", "false"),
    ("app.update.disabledForTesting", "true"),
    ("datareporting.policy.dataSubmissionEnabled", "false"),
    ("toolkit.telemetry.enabled", "false"),
    ("network.captive-portal-service.enabled", "false"),
    ("network.connectivity-service.enabled", "false"),
    ("services.settings.server", "\"http://127.0.0.1:9/\""),
    ("extensions.update.enabled", "false"),
    ("browser.safebrowsing.update.enabled", "false"),
    ("browser.region.update.enabled", "false"),
];

/// One second of chirps, a WAV file (48 kHz, mono, 16 bit) for a fake
/// microphone that always has energy: four 80 ms bursts at different
/// pitches, half of full scale. Bursts, not a steady tone: the browser's
/// noise suppression takes a steady tone for noise and removes it.
pub fn tone_wav() -> Vec<u8> {
    const RATE: u32 = 48_000;
    const PITCH: [f64; 4] = [600.0, 950.0, 1300.0, 800.0];
    let samples: Vec<i16> = (0..RATE)
        .map(|i| {
            let t = f64::from(i) / f64::from(RATE);
            let slot = (t * 4.0) as usize; // which quarter of the second
            let within = t * 4.0 - (slot as f64);
            let on = within < 0.32; // 80 ms of each 250 ms
            let pitch = PITCH.get(slot).copied().unwrap_or(600.0);
            // Truncation is the point: a sample is 16 bits.
            if on { ((2.0 * std::f64::consts::PI * pitch * t).sin() * 16_000.0) as i16 } else { 0 }
        })
        .collect();
    let data_len = u32::try_from(samples.len() * 2).unwrap_or(0);
    let mut w = Vec::with_capacity(44 + samples.len() * 2);
    w.extend_from_slice(b"RIFF");
    w.extend_from_slice(&(36 + data_len).to_le_bytes());
    w.extend_from_slice(b"WAVEfmt ");
    w.extend_from_slice(&16u32.to_le_bytes()); // fmt chunk size
    w.extend_from_slice(&1u16.to_le_bytes()); // PCM
    w.extend_from_slice(&1u16.to_le_bytes()); // mono
    w.extend_from_slice(&RATE.to_le_bytes());
    w.extend_from_slice(&(RATE * 2).to_le_bytes()); // bytes per second
    w.extend_from_slice(&2u16.to_le_bytes()); // bytes per frame
    w.extend_from_slice(&16u16.to_le_bytes()); // bits per sample
    w.extend_from_slice(b"data");
    w.extend_from_slice(&data_len.to_le_bytes());
    for x in samples {
        w.extend_from_slice(&x.to_le_bytes());
    }
    w
}

/// A free TCP port on 127.0.0.1 (QtWebEngine takes no port 0).
fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

// ---------------------------------------------------------------------------
// The connection

/// The wire protocol of a browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Proto {
    /// The Chrome DevTools protocol.
    Cdp,
    /// WebDriver BiDi.
    Bidi,
}

type Pending = HashMap<u64, Sender<Value>>;

/// What was seen on one page (session).
#[derive(Default)]
struct SessionLog {
    console: Vec<String>,
    crashed: bool,
}

struct Conn {
    proto: Proto,
    out: Mutex<Sender<String>>,
    pending: Mutex<Pending>,
    sessions: Mutex<HashMap<String, SessionLog>>,
    next_id: AtomicU64,
    closed: AtomicBool,
    stop: AtomicBool,
}

impl Conn {
    fn call(&self, session: Option<&str>, method: &str, params: Value, timeout: Duration) -> Result<Value> {
        if self.closed.load(Ordering::SeqCst) {
            return err(format!("DevTools connection is closed (calling {method})"));
        }
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let mut msg = json!({ "id": id, "method": method, "params": params });
        if let (Some(s), Proto::Cdp) = (session, self.proto) {
            msg["sessionId"] = Value::from(s);
        }
        let (tx, rx) = mpsc::channel();
        self.pending.lock().map_err(|_| Error::new("poisoned"))?.insert(id, tx);
        let sent = self.out.lock().map(|o| o.send(msg.to_string()).is_ok()).unwrap_or(false);
        if !sent {
            self.forget(id);
            return err(format!("DevTools connection is closed (calling {method})"));
        }
        match rx.recv_timeout(timeout) {
            Ok(reply) => {
                if let Some(e) = reply.get("error") {
                    let detail = reply.get("message").and_then(Value::as_str).unwrap_or("");
                    return err(format!("{method} failed: {e} {detail}"));
                }
                Ok(reply.get("result").cloned().unwrap_or(Value::Null))
            }
            Err(RecvTimeoutError::Timeout) => {
                self.forget(id);
                err(format!("{method} got no reply within {timeout:?}"))
            }
            Err(RecvTimeoutError::Disconnected) => err(format!("DevTools connection closed during {method}")),
        }
    }

    fn forget(&self, id: u64) {
        if let Ok(mut p) = self.pending.lock() {
            p.remove(&id);
        }
    }

    fn dispatch(&self, text: &str) {
        let Ok(v) = serde_json::from_str::<Value>(text) else { return };
        if let Some(id) = v.get("id").and_then(Value::as_u64) {
            let tx = self.pending.lock().ok().and_then(|mut p| p.remove(&id));
            if let Some(tx) = tx {
                let _ = tx.send(v);
            }
            return;
        }
        let Some(method) = v.get("method").and_then(Value::as_str) else { return };
        let p = &v["params"];
        let session = match self.proto {
            Proto::Cdp => v.get("sessionId").and_then(Value::as_str).unwrap_or(""),
            Proto::Bidi => p["source"]["context"].as_str().unwrap_or(""),
        };
        let line = match method {
            "log.entryAdded" => {
                let kind = p["method"].as_str().or(p["type"].as_str()).unwrap_or("log");
                Some(format!("{kind}.{}: {}", p["level"].as_str().unwrap_or("?"), p["text"].as_str().unwrap_or("")))
            }
            "Runtime.consoleAPICalled" => {
                let args: Vec<String> = p["args"]
                    .as_array()
                    .map(|a| a.iter().map(remote_object_text).collect())
                    .unwrap_or_default();
                Some(format!("console.{}: {}", p["type"].as_str().unwrap_or("log"), args.join(" ")))
            }
            "Runtime.exceptionThrown" => {
                let d = &p["exceptionDetails"];
                let desc = d["exception"]["description"].as_str().or(d["text"].as_str()).unwrap_or("?");
                Some(format!("uncaught exception: {desc}"))
            }
            "Log.entryAdded" => {
                let e = &p["entry"];
                Some(format!("log.{}: {}", e["level"].as_str().unwrap_or("?"), e["text"].as_str().unwrap_or("")))
            }
            "Inspector.targetCrashed" => Some("TARGET CRASHED".to_string()),
            _ => None,
        };
        if let (Some(line), Ok(mut sessions)) = (line, self.sessions.lock()) {
            let log = sessions.entry(session.to_string()).or_default();
            if method == "Inspector.targetCrashed" {
                log.crashed = true;
            }
            log.console.push(line);
            if log.console.len() > CONSOLE_KEEP {
                let extra = log.console.len() - CONSOLE_KEEP;
                log.console.drain(..extra);
            }
        }
    }
}

fn remote_object_text(o: &Value) -> String {
    if let Some(v) = o.get("value") {
        return match v {
            Value::String(s) => s.clone(),
            v => v.to_string(),
        };
    }
    o["description"].as_str().or(o["type"].as_str()).unwrap_or("?").to_string()
}

/// The I/O loop: writes queued messages, reads with a short timeout.
fn io_loop(mut ws: WebSocket<TcpStream>, rx: Receiver<String>, conn: Arc<Conn>) {
    'outer: while !conn.stop.load(Ordering::SeqCst) {
        loop {
            match rx.try_recv() {
                Ok(text) => {
                    if ws.send(Message::text(text)).is_err() {
                        break 'outer;
                    }
                }
                Err(mpsc::TryRecvError::Empty) => break,
                Err(mpsc::TryRecvError::Disconnected) => break 'outer,
            }
        }
        match ws.read() {
            Ok(Message::Text(t)) => conn.dispatch(t.as_str()),
            Ok(Message::Binary(b)) => {
                if let Ok(t) = std::str::from_utf8(&b) {
                    conn.dispatch(t);
                }
            }
            Ok(Message::Close(_)) => break,
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
    }
    conn.closed.store(true, Ordering::SeqCst);
    // Wake every waiting caller: their senders go away.
    if let Ok(mut p) = conn.pending.lock() {
        p.clear();
    }
}

// ---------------------------------------------------------------------------
// The browser

/// A browser of one [`Engine`], killed (and its profile removed) on drop.
pub struct Browser {
    engine: Engine,
    child: Child,
    conn: Arc<Conn>,
    io: Option<JoinHandle<()>>,
    stderr: Arc<Mutex<Vec<String>>>,
    dir: Option<TempDir>,
    /// QtWebEngine: the host's stdin (one window per `open` line) and the
    /// targets already handed out.
    qt: Option<Mutex<(ChildStdin, HashSet<String>)>>,
    /// Firefox: the version its BiDi session reported.
    bidi_version: Option<String>,
}

impl Browser {
    /// Starts Chromium with [`CHROMIUM_ARGS`] and connects to it.
    pub fn launch() -> Result<Browser> {
        Browser::launch_with(&[])
    }

    /// Like [`Browser::launch`] with more switches; a later switch wins
    /// over the same one in [`CHROMIUM_ARGS`] (e.g.
    /// `--use-fake-device-for-media-stream=device-count=2`).
    pub fn launch_with(extra: &[&str]) -> Result<Browser> {
        Browser::launch_in(None, extra)
    }

    /// Like [`Browser::launch_with`], inside a network namespace: its pages
    /// see only that namespace's interfaces (and its own 127.0.0.1).
    pub fn launch_in(netns: Option<&crate::netns::Netns>, extra: &[&str]) -> Result<Browser> {
        Browser::start(Engine::Chromium, netns, extra, &[], true)
    }

    /// Like [`Browser::launch`], with windows on the screen (`DISPLAY`)
    /// and sound: for a person watching a demo.
    pub fn launch_visible() -> Result<Browser> {
        Browser::start(Engine::Chromium, None, &[], &[], false)
    }

    /// A browser of `engine` with fake camera and microphone, headless.
    pub fn launch_engine(engine: Engine) -> Result<Browser> {
        Browser::start(engine, None, &[], &[], true)
    }

    /// Firefox as [`Browser::launch_engine`] gives it, with `prefs`
    /// (name, value as JavaScript) over the defaults; e.g. its default
    /// autoplay policy back: `("media.autoplay.default", "1")`.
    pub fn launch_firefox_with(prefs: &[(&str, &str)]) -> Result<Browser> {
        Browser::start(Engine::Firefox, None, &[], prefs, true)
    }

    /// Which engine this is.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    fn command(engine: Engine, extra: &[&str], prefs: &[(&str, &str)], headless: bool, dir: &TempDir) -> Result<(Command, &'static str)> {
        let path = dir.path().display().to_string();
        match engine {
            Engine::Chromium => {
                let bin = chromium_path();
                if !bin.is_file() {
                    return err(format!("Chromium not found at {} (set CHROMIUM to its path)", bin.display()));
                }
                let shown = |a: &&&str| headless || !matches!(**a, "--headless" | "--mute-audio");
                let mut cmd = Command::new(&bin);
                cmd.args(CHROMIUM_ARGS.iter().filter(shown))
                    .args(extra)
                    .arg(format!("--user-data-dir={path}"))
                    .arg("about:blank")
                    .stdin(Stdio::null());
                Ok((cmd, "DevTools listening on "))
            }
            Engine::QtWebEngine => {
                let py = qt_python_path();
                let probe = Command::new(&py)
                    .args(["-c", "import PyQt5.QtWebEngineWidgets"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
                if !probe.is_ok_and(|s| s.success()) {
                    return err(format!(
                        "QtWebEngine for Python not found ({} cannot import PyQt5.QtWebEngineWidgets); \
                         on Debian: sudo apt-get install -y python3-pyqt5.qtwebengine \
                         (or set CALLS_QT_PYTHON to a Python that has it)",
                        py.display()
                    ));
                }
                // Chromium 87's fake microphone is silent for long stretches
                // (its beeps are paced by the fake camera and shared by the
                // pages of the process), so a page would hear nothing: chirps
                // from a file instead.
                let tone = dir.path().join("tone.wav");
                std::fs::write(&tone, tone_wav())?;
                let tone_flag = format!("--use-file-for-fake-audio-capture={}", tone.display());
                let mut cmd = Command::new(&py);
                cmd.arg("-c")
                    .arg(QT_HOST)
                    .env("QT_QPA_PLATFORM", "offscreen")
                    .env("QT_QUICK_BACKEND", "software")
                    .env("QTWEBENGINE_REMOTE_DEBUGGING", format!("127.0.0.1:{}", free_port()?))
                    .env("QTWEBENGINE_CHROMIUM_FLAGS", format!("{QT_CHROMIUM_FLAGS} {tone_flag} {}", extra.join(" ")))
                    .env("XDG_RUNTIME_DIR", &path)
                    .env("HOME", &path)
                    .env("LANG", "en_US.UTF-8")
                    .env("LANGUAGE", "en_US")
                    .stdin(Stdio::piped());
                Ok((cmd, "DevTools listening on "))
            }
            Engine::Firefox => {
                let bin = firefox_path();
                if !bin.is_file() {
                    return err(format!(
                        "Firefox not found at {} (on Debian: sudo apt-get install -y firefox-esr; \
                         or set FIREFOX to its path)",
                        bin.display()
                    ));
                }
                // A later line wins: `prefs` override the defaults.
                let prefs: String = FIREFOX_PREFS
                    .iter()
                    .chain(prefs)
                    .map(|(k, v)| format!("user_pref(\"{k}\", {v});\n"))
                    .collect();
                std::fs::write(dir.path().join("user.js"), prefs)?;
                let mut cmd = Command::new(&bin);
                if headless {
                    cmd.arg("--headless");
                }
                cmd.args(["--remote-debugging-port=0", "--no-remote", "--profile", &path])
                    .args(extra)
                    .arg("about:blank")
                    .env("MOZ_CRASHREPORTER_DISABLE", "1")
                    .stdin(Stdio::null());
                Ok((cmd, "WebDriver BiDi listening on "))
            }
        }
    }

    fn start(engine: Engine, netns: Option<&crate::netns::Netns>, extra: &[&str], prefs: &[(&str, &str)], headless: bool) -> Result<Browser> {
        let dir = TempDir::new(&format!("testhost-{}", engine.label().to_lowercase()))?;
        let (mut cmd, marker) = Browser::command(engine, extra, prefs, headless, &dir)?;
        if let Some(ns) = netns {
            ns.prepare(&mut cmd);
        }
        let name = engine.label();
        let mut child = crate::die_with_parent(&mut cmd)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Error(format!("cannot start {name}: {e}")))?;
        let stderr_lines = Arc::new(Mutex::new(Vec::new()));
        let (ws_tx, ws_rx) = mpsc::channel::<String>();
        if let Some(pipe) = child.stderr.take() {
            let lines = stderr_lines.clone();
            thread::spawn(move || {
                let mut ws_tx = Some(ws_tx);
                for line in BufReader::new(pipe).lines() {
                    let Ok(line) = line else { break };
                    if let Some(rest) = line.split(marker).nth(1) {
                        if let Some(tx) = ws_tx.take() {
                            let _ = tx.send(rest.trim().to_string());
                        }
                    }
                    if let Ok(mut l) = lines.lock() {
                        if l.len() < 2000 {
                            l.push(line);
                        }
                    }
                }
            });
        }
        let fail = |mut child: Child, msg: String, lines: &Arc<Mutex<Vec<String>>>| {
            let _ = child.kill();
            let _ = child.wait();
            let log = lines.lock().map(|l| l.join("\n")).unwrap_or_default();
            err::<Browser>(format!("{msg}\n{name}'s stderr:\n{log}"))
        };
        let ws_url = match ws_rx.recv_timeout(Duration::from_secs(30)) {
            Ok(u) if engine.protocol() == Proto::Bidi => format!("{}/session", u.trim_end_matches('/')),
            Ok(u) => u,
            Err(_) => return fail(child, format!("{name} did not print its websocket URL within 30 s"), &stderr_lines),
        };
        let ws = match netns {
            Some(ns) => ns.enter(|| connect_ws(&ws_url)),
            None => connect_ws(&ws_url),
        };
        let ws = match ws {
            Ok(ws) => ws,
            Err(e) => return fail(child, e.0, &stderr_lines),
        };
        let (out_tx, out_rx) = mpsc::channel();
        let conn = Arc::new(Conn {
            proto: engine.protocol(),
            out: Mutex::new(out_tx),
            pending: Mutex::new(HashMap::new()),
            sessions: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            closed: AtomicBool::new(false),
            stop: AtomicBool::new(false),
        });
        let conn2 = conn.clone();
        let io = thread::Builder::new().name("browser-io".into()).spawn(move || io_loop(ws, out_rx, conn2))?;
        let qt = match child.stdin.take() {
            Some(stdin) if engine == Engine::QtWebEngine => Some(Mutex::new((stdin, HashSet::new()))),
            _ => None,
        };
        let mut browser =
            Browser { engine, child, conn, io: Some(io), stderr: stderr_lines, dir: Some(dir), qt, bidi_version: None };
        if engine.protocol() == Proto::Bidi {
            let caps = json!({ "capabilities": { "alwaysMatch": { "unhandledPromptBehavior": "ignore" } } });
            // Firefox finishes starting up behind this reply: slow on a
            // loaded machine.
            let s = browser.conn.call(None, "session.new", caps, Duration::from_secs(60))?;
            let c = &s["capabilities"];
            browser.bidi_version = c["browserVersion"].as_str().map(|v| format!("{} {v}", c["browserName"].as_str().unwrap_or("")));
            browser.call("session.subscribe", json!({ "events": ["log.entryAdded"] }))?;
        }
        Ok(browser)
    }

    /// A browser-level command (DevTools or BiDi, by the engine).
    pub fn call(&self, method: &str, params: Value) -> Result<Value> {
        self.conn.call(None, method, params, CALL_TIMEOUT)
    }

    /// The engine's version as it reports it (e.g. `QtWebEngine/5.15.13
    /// Chrome/87.0.4280.144`, `firefox 153.8.0`).
    pub fn version(&self) -> Result<String> {
        match self.engine.protocol() {
            Proto::Cdp => {
                let v = self.call("Browser.getVersion", json!({}))?;
                // Headless Chromium's user agent hides the build number;
                // its product name has it.
                if self.engine == Engine::Chromium {
                    return Ok(v["product"].as_str().unwrap_or("?").to_string());
                }
                let ua = v["userAgent"].as_str().unwrap_or("");
                let chrome = ua.split_whitespace().find(|w| w.starts_with("Chrome/") || w.starts_with("HeadlessChrome/"));
                let qt = ua.split_whitespace().find(|w| w.starts_with("QtWebEngine/"));
                Ok([qt, chrome].into_iter().flatten().collect::<Vec<_>>().join(" "))
            }
            Proto::Bidi => Ok(self.bidi_version.clone().unwrap_or_default()),
        }
    }

    /// A new page (its own window) whose host shim reads `config` as
    /// `window.__hostConfig` (see `web/host-shim.js`). `name` labels it in
    /// failure messages.
    pub fn new_page(&self, name: &str, config: Value) -> Result<Page> {
        let page = match self.engine {
            Engine::Chromium => {
                let t = self.call("Target.createTarget", json!({ "url": "about:blank", "newWindow": true }))?;
                let target = t["targetId"].as_str().ok_or_else(|| Error::new("createTarget: no targetId"))?;
                self.attach(name, target)?
            }
            Engine::QtWebEngine => {
                let target = self.qt_window()?;
                self.attach(name, &target)?
            }
            Engine::Firefox => {
                let c = self.call("browsingContext.create", json!({ "type": "window" }))?;
                let context = c["context"].as_str().ok_or_else(|| Error::new("browsingContext.create: no context"))?;
                Page {
                    conn: self.conn.clone(),
                    session: context.to_string(),
                    target: context.to_string(),
                    name: name.to_string(),
                    engine: self.engine,
                    gestures: AtomicBool::new(true),
                }
            }
        };
        page.add_init_script(&format!("window.__hostConfig = {};", config))?;
        Ok(page)
    }

    fn attach(&self, name: &str, target: &str) -> Result<Page> {
        let a = self.call("Target.attachToTarget", json!({ "targetId": target, "flatten": true }))?;
        let session = a["sessionId"].as_str().ok_or_else(|| Error::new("attachToTarget: no sessionId"))?.to_string();
        let page = Page {
            conn: self.conn.clone(),
            session,
            target: target.to_string(),
            name: name.to_string(),
            engine: self.engine,
            gestures: AtomicBool::new(true),
        };
        page.call("Page.enable", json!({}))?;
        page.call("Runtime.enable", json!({}))?;
        page.call("Log.enable", json!({}))?;
        page.call("Emulation.setFocusEmulationEnabled", json!({ "enabled": true }))?;
        Ok(page)
    }

    /// Asks the QtWebEngine host for a window and waits for its target.
    fn qt_window(&self) -> Result<String> {
        let qt = self.qt.as_ref().ok_or_else(|| Error::new("not a QtWebEngine host"))?;
        let mut qt = qt.lock().map_err(|_| Error::new("poisoned"))?;
        let (stdin, known) = &mut *qt;
        stdin.write_all(b"open\n")?;
        stdin.flush()?;
        let deadline = Instant::now() + CALL_TIMEOUT;
        loop {
            let t = self.call("Target.getTargets", json!({}))?;
            let fresh = t["targetInfos"].as_array().and_then(|a| {
                a.iter()
                    .filter(|i| i["type"] == "page")
                    .filter_map(|i| i["targetId"].as_str())
                    .find(|id| !known.contains(*id))
                    .map(str::to_string)
            });
            if let Some(id) = fresh {
                known.insert(id.clone());
                return Ok(id);
            }
            if Instant::now() >= deadline {
                return err(format!("the QtWebEngine host opened no window within {CALL_TIMEOUT:?}\n{}", self.stderr_tail(20)));
            }
            thread::sleep(POLL);
        }
    }

    /// Ends the browser at once, as a crash or a pulled plug would: its
    /// pages say no goodbye to their peers.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The last lines the browser wrote to stderr.
    pub fn stderr_tail(&self, n: usize) -> String {
        let l = self.stderr.lock().map(|l| l.clone()).unwrap_or_default();
        l[l.len().saturating_sub(n)..].join("\n")
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Politely first (lets the browser take its helper processes
        // down), then for sure. The QtWebEngine host quits when its stdin
        // closes.
        let bye = match self.engine {
            Engine::Chromium => Some("Browser.close"),
            Engine::QtWebEngine => None,
            Engine::Firefox => Some("browser.close"),
        };
        if let Some(method) = bye {
            let _ = self.conn.call(None, method, json!({}), Duration::from_secs(2));
        }
        drop(self.qt.take());
        crate::reap(&mut self.child, Duration::from_secs(3));
        self.conn.stop.store(true, Ordering::SeqCst);
        if let Some(io) = self.io.take() {
            let _ = io.join();
        }
        drop(self.dir.take());
    }
}

fn connect_ws(url: &str) -> Result<WebSocket<TcpStream>> {
    let rest = url.strip_prefix("ws://").ok_or_else(|| Error(format!("unexpected DevTools URL {url}")))?;
    let hostport = rest.split('/').next().unwrap_or("");
    let stream = TcpStream::connect(hostport).map_err(|e| Error(format!("cannot connect to {hostport}: {e}")))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.set_write_timeout(Some(Duration::from_secs(10)))?;
    let (ws, _) = tungstenite::client(url, stream).map_err(|e| Error(format!("websocket handshake with {url}: {e}")))?;
    // From now on reads poll, so that the I/O thread also gets to write.
    ws.get_ref().set_read_timeout(Some(Duration::from_millis(5)))?;
    ws.get_ref().set_nodelay(true)?;
    Ok(ws)
}

// ---------------------------------------------------------------------------
// Pages

/// One call window. DevTools: `session` is the attached session and
/// `target` the target; BiDi: both are the browsing context.
pub struct Page {
    conn: Arc<Conn>,
    session: String,
    target: String,
    name: String,
    engine: Engine,
    /// Whether evaluations count as a person's gesture (user activation).
    /// On by default, as if the tester's hand did what the script does;
    /// off for tests of what a page may do without one (autoplay).
    gestures: AtomicBool,
}

/// One recorded call into `window.calls`.
#[derive(Debug, Clone)]
pub struct HostCall {
    pub name: String,
    /// The SDP for `startCall`/`acceptCall`.
    pub arg: Option<String>,
    /// `performance.now()` at the call: ms since the page's navigation.
    pub t: f64,
}

/// The state dump included in every timeout message.
const DUMP_JS: &str = r#"(() => {
  const r = document.documentElement;
  const attrs = {};
  if (r) for (const a of r.attributes) if (a.name.startsWith('data-')) attrs[a.name] = a.value;
  const text = id => { const e = document.getElementById(id); return e ? e.textContent : null; };
  const btn = id => { const e = document.getElementById(id); return !e ? id + ':missing' : id + (e.hidden ? ':hidden' : ':shown') + '[' + e.getAttribute('aria-label') + ']'; };
  const h = window.__host;
  return {
    url: location.href.length > 160 ? location.href.slice(0, 160) + '…' : location.href,
    attrs,
    status: text('status'),
    notice: text('notice'),
    buttons: ['answer', 'end', 'mic', 'cam'].map(btn).join(' '),
    host_calls: h ? h.calls.map(c => c.name + '@' + Math.round(c.t)).join(' ') : 'no __host',
    phases: h ? h.phases.map(p => p.phase + '@' + Math.round(p.t)).join(' ') : null,
    pcs: h ? h.pcs : null, srd: h ? h.srd : null, offers: h ? h.offers : null,
    gum: h ? JSON.stringify(h.gum) : null,
    csp: h ? JSON.stringify(h.csp) : null,
    pc: (() => { try {
      const pc = h && h.callPc && h.callPc();
      if (!pc) return null;
      const cands = d => d ? (d.sdp.match(/^a=candidate:.*$/gm) || []).map(l => l.split(' ')[7]).join(',') : '-';
      return 'connection ' + pc.connectionState + ', ice ' + pc.iceConnectionState + ', gathering ' + pc.iceGatheringState +
        ', local candidates [' + cands(pc.localDescription) + '], remote candidates [' + cands(pc.remoteDescription) + ']';
    } catch (e) { return String(e); } })(),
    debug_route: text('debug-route'),
    debug_log: text('debug-log'),
  };
})()"#;

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Value::String(s) => !s.is_empty(),
        _ => true,
    }
}

impl Page {
    /// A DevTools command in this page's session (Chromium engines only:
    /// anything that must work in every engine is one of the methods below).
    pub fn call(&self, method: &str, params: Value) -> Result<Value> {
        if self.conn.proto != Proto::Cdp {
            return err(format!("{}: {method} is a DevTools command; {} does not speak it", self.name, self.engine.label()));
        }
        self.conn.call(Some(&self.session), method, params, CALL_TIMEOUT)
    }

    /// A BiDi command about this page (`context` is added to `params`).
    fn bidi(&self, method: &str, mut params: Value) -> Result<Value> {
        params["context"] = Value::from(self.target.as_str());
        self.conn.call(None, method, params, CALL_TIMEOUT)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The engine this page runs in.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// Runs `source` (a script) in every document this page loads from now
    /// on, before the document's own scripts.
    pub fn add_init_script(&self, source: &str) -> Result<()> {
        match self.conn.proto {
            Proto::Cdp => self.call("Page.addScriptToEvaluateOnNewDocument", json!({ "source": source })).map(|_| ()),
            Proto::Bidi => {
                let f = format!("() => {{ {source}\n}}");
                let params = json!({ "functionDeclaration": f, "contexts": [self.target] });
                self.conn.call(None, "script.addPreloadScript", params, CALL_TIMEOUT).map(|_| ())
            }
        }
    }

    /// Navigates and waits until the document (with the host shim) loaded.
    pub fn goto(&self, url: &str) -> Result<()> {
        match self.conn.proto {
            Proto::Cdp => {
                let r = self.call("Page.navigate", json!({ "url": url }))?;
                if let Some(e) = r.get("errorText").and_then(Value::as_str).filter(|e| !e.is_empty()) {
                    return err(format!("{}: navigating to {url} failed: {e}", self.name));
                }
            }
            Proto::Bidi => {
                self.bidi("browsingContext.navigate", json!({ "url": url, "wait": "interactive" }))
                    .map_err(|e| Error(format!("{}: navigating to {url} failed: {e}", self.name)))?;
            }
        }
        // Served call pages carry the host shim (`__host`); other pages
        // (the demo) only need to have loaded.
        let shim = if url.contains("/call.html") || url.contains("/debug.html") { "!!window.__host" } else { "true" };
        let cond = format!("location.href !== 'about:blank' && document.readyState === 'complete' && {shim}");
        self.wait_for(&cond, Duration::from_secs(20))
            .map_err(|e| Error(format!("{} did not load {url} (is dist/ built?):\n{e}", self.name)))?;
        Ok(())
    }

    /// Evaluates `js` (an expression; a promise is awaited) and returns its
    /// value as JSON. A thrown exception is an error.
    pub fn eval(&self, js: &str) -> Result<Value> {
        if self.conn.proto == Proto::Bidi {
            let r = self.bidi(
                "script.evaluate",
                json!({
                    "expression": js, "target": { "context": self.target }, "awaitPromise": true,
                    "userActivation": self.gestures.load(Ordering::Relaxed), "resultOwnership": "none",
                    "serializationOptions": { "maxObjectDepth": 32, "maxDomDepth": 0 },
                }),
            )?;
            if r["type"] == "exception" {
                let d = &r["exceptionDetails"];
                let desc = d["text"].as_str().unwrap_or("exception");
                return err(format!("{}: evaluating `{}` threw: {desc}", self.name, short(js)));
            }
            return Ok(from_remote(&r["result"]));
        }
        let r = self.call(
            "Runtime.evaluate",
            json!({ "expression": js, "returnByValue": true, "awaitPromise": true,
                "userGesture": self.gestures.load(Ordering::Relaxed) }),
        )?;
        if let Some(ex) = r.get("exceptionDetails") {
            let desc = ex["exception"]["description"].as_str().or(ex["text"].as_str()).unwrap_or("exception");
            return err(format!("{}: evaluating `{}` threw: {desc}", self.name, short(js)));
        }
        Ok(r["result"].get("value").cloned().unwrap_or(Value::Null))
    }

    /// Evaluates and expects a boolean.
    pub fn eval_bool(&self, js: &str) -> Result<bool> {
        Ok(truthy(&self.eval(js)?))
    }

    /// Evaluates and expects a string.
    pub fn eval_str(&self, js: &str) -> Result<String> {
        match self.eval(js)? {
            Value::String(s) => Ok(s),
            v => err(format!("{}: `{}` gave {v}, not a string", self.name, short(js))),
        }
    }

    /// Polls `condition` every [`POLL`] until it is truthy; returns its
    /// value. On timeout the error carries a dump of the page's state.
    pub fn wait_for(&self, condition: &str, timeout: Duration) -> Result<Value> {
        let deadline = Instant::now() + timeout;
        let mut last_err: Option<String>;
        loop {
            match self.eval(condition) {
                Ok(v) if truthy(&v) => return Ok(v),
                Ok(_) => last_err = None,
                Err(e) => last_err = Some(e.0),
            }
            if Instant::now() >= deadline {
                let mut msg = format!("{}: timed out after {timeout:?} waiting for `{}`", self.name, short(condition));
                if let Some(e) = last_err {
                    msg.push_str(&format!("\nlast evaluation error: {e}"));
                }
                msg.push('\n');
                msg.push_str(&self.dump());
                return err(msg);
            }
            thread::sleep(POLL);
        }
    }

    /// The page's state, for failure messages.
    pub fn dump(&self) -> String {
        let mut out = format!("---- state of {} ----\n", self.name);
        match self.eval(DUMP_JS) {
            Ok(Value::Object(m)) => {
                for (k, v) in m {
                    let v = match v {
                        Value::String(s) => s,
                        v => v.to_string(),
                    };
                    if !v.is_empty() && v != "null" {
                        out.push_str(&format!("{k}: {}\n", v.trim_end()));
                    }
                }
            }
            Ok(v) => out.push_str(&format!("dump gave {v}\n")),
            Err(e) => out.push_str(&format!("dump failed: {e}\n")),
        }
        if let Ok(s) = self.conn.sessions.lock() {
            if let Some(log) = s.get(&self.session) {
                if log.crashed {
                    out.push_str("THE PAGE CRASHED\n");
                }
                let tail = &log.console[log.console.len().saturating_sub(40)..];
                if !tail.is_empty() {
                    out.push_str("console (last lines):\n");
                    for l in tail {
                        out.push_str("  ");
                        out.push_str(&short_n(l, 300));
                        out.push('\n');
                    }
                }
            }
        }
        out
    }

    /// From now on nothing this page evaluates counts as a person's
    /// gesture: the page gets user activation only from [`Page::tap`].
    pub fn without_gestures(&self) {
        self.gestures.store(false, Ordering::Relaxed);
    }

    /// A person's tap (a left mouse press and release) in the middle of
    /// the element `selector`, through the engine's input pipeline: the
    /// page sees trusted `pointerdown`/`pointerup` events and gets user
    /// activation, which a script's `click()` never gives.
    pub fn tap(&self, selector: &str) -> Result<()> {
        let sel = serde_json::to_string(selector)?;
        let at = self.eval(&format!(
            "(() => {{ const e = document.querySelector({sel}); if (!e) throw new Error('no element ' + {sel}); \
             const r = e.getBoundingClientRect(); return [Math.round(r.left + r.width / 2), Math.round(r.top + r.height / 2)]; }})()"
        ))?;
        let (x, y) = (at[0].as_i64().unwrap_or(0), at[1].as_i64().unwrap_or(0));
        match self.conn.proto {
            Proto::Cdp => {
                for kind in ["mousePressed", "mouseReleased"] {
                    let ev = json!({ "type": kind, "x": x, "y": y, "button": "left", "buttons": 1, "clickCount": 1 });
                    self.call("Input.dispatchMouseEvent", ev)?;
                }
                Ok(())
            }
            Proto::Bidi => {
                let actions = json!([{ "type": "pointer", "id": "finger", "parameters": { "pointerType": "mouse" },
                    "actions": [ { "type": "pointerMove", "x": x, "y": y }, { "type": "pointerDown", "button": 0 },
                                 { "type": "pointerUp", "button": 0 } ] }]);
                self.bidi("input.performActions", json!({ "actions": actions })).map(|_| ())
            }
        }
    }

    /// Clicks an element the way a person would, which needs it to be
    /// shown: a hidden element is an error.
    pub fn click(&self, selector: &str) -> Result<()> {
        // A person's click also brings the window to the front; Firefox
        // holds back some answers (`enumerateDevices`) from a page that is
        // not focused.
        if self.conn.proto == Proto::Bidi {
            self.bidi("browsingContext.activate", json!({}))?;
        }
        let sel = serde_json::to_string(selector)?;
        let js = format!(
            "(() => {{ const e = document.querySelector({sel}); if (!e) throw new Error('no element ' + {sel}); \
             if (e.hidden || e.closest('[hidden]')) throw new Error({sel} + ' is hidden'); e.click(); return true; }})()"
        );
        self.eval(&js).map(|_| ()).map_err(|e| Error(format!("{e}\n{}", self.dump())))
    }

    /// Sets `location.hash` (fires `hashchange`), as hosts send commands.
    pub fn set_hash(&self, hash: &str) -> Result<()> {
        self.eval(&format!("location.hash = {}; true", serde_json::to_string(hash)?)).map(|_| ())
    }

    /// Every call the page made into `window.calls`, in order.
    pub fn host_calls(&self) -> Result<Vec<HostCall>> {
        let v = self.eval("window.__host ? window.__host.calls : []")?;
        Ok(v.as_array()
            .map(|a| {
                a.iter()
                    .map(|c| HostCall {
                        name: c["name"].as_str().unwrap_or("").to_string(),
                        arg: c["arg"].as_str().map(str::to_string),
                        t: c["t"].as_f64().unwrap_or(f64::NAN),
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Waits until the page has called `window.calls[name]`; returns the
    /// first such call.
    pub fn wait_host_call(&self, name: &str, timeout: Duration) -> Result<HostCall> {
        let n = serde_json::to_string(name)?;
        self.wait_for(&format!("window.__host && window.__host.calls.some(c => c.name === {n})"), timeout)?;
        self.host_calls()?
            .into_iter()
            .find(|c| c.name == name)
            .ok_or_else(|| Error(format!("{}: {name} vanished from __host.calls", self.name)))
    }

    /// A `data-*` attribute of `<html>` (`attr` without the `data-`).
    pub fn data(&self, attr: &str) -> Result<String> {
        let a = serde_json::to_string(&format!("data-{attr}"))?;
        Ok(self.eval(&format!("document.documentElement.getAttribute({a})"))?.as_str().unwrap_or("").to_string())
    }

    /// Waits until `<html data-ATTR>` equals `value`.
    pub fn wait_data(&self, attr: &str, value: &str, timeout: Duration) -> Result<()> {
        let a = serde_json::to_string(&format!("data-{attr}"))?;
        let v = serde_json::to_string(value)?;
        self.wait_for(&format!("document.documentElement.getAttribute({a}) === {v}"), timeout).map(|_| ())
    }

    /// The text of an element by id (`None` if it does not exist).
    pub fn text(&self, id: &str) -> Result<Option<String>> {
        let id = serde_json::to_string(id)?;
        Ok(self
            .eval(&format!("(() => {{ const e = document.getElementById({id}); return e ? e.textContent : null; }})()"))?
            .as_str()
            .map(str::to_string))
    }

    /// An attribute of the first element matching `selector`.
    pub fn attr(&self, selector: &str, name: &str) -> Result<Option<String>> {
        let sel = serde_json::to_string(selector)?;
        let n = serde_json::to_string(name)?;
        Ok(self
            .eval(&format!("(() => {{ const e = document.querySelector({sel}); return e ? e.getAttribute({n}) : null; }})()"))?
            .as_str()
            .map(str::to_string))
    }

    /// Whether an element is shown: exists, not `hidden`, and laid out.
    pub fn visible(&self, selector: &str) -> Result<bool> {
        let sel = serde_json::to_string(selector)?;
        self.eval_bool(&format!(
            "(() => {{ const e = document.querySelector({sel}); if (!e || e.hidden || e.closest('[hidden]')) return false; \
             const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== 'hidden'; }})()"
        ))
    }

    /// The page's visible area in CSS pixels (as a window of that size).
    pub fn set_viewport(&self, width: u32, height: u32) -> Result<()> {
        match self.conn.proto {
            Proto::Cdp => self
                .call(
                    "Emulation.setDeviceMetricsOverride",
                    json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": false }),
                )
                .map(|_| ()),
            Proto::Bidi => self
                .bidi("browsingContext.setViewport", json!({ "viewport": { "width": width, "height": height } }))
                .map(|_| ()),
        }
    }

    /// A JPEG of what the page shows (`quality` 0–100).
    pub fn screenshot_jpeg(&self, quality: u8) -> Result<Vec<u8>> {
        let shot = match self.conn.proto {
            Proto::Cdp => self.call("Page.captureScreenshot", json!({ "format": "jpeg", "quality": quality }))?,
            Proto::Bidi => self.bidi(
                "browsingContext.captureScreenshot",
                json!({ "format": { "type": "image/jpeg", "quality": f64::from(quality) / 100.0 } }),
            )?,
        };
        shot["data"]
            .as_str()
            .and_then(call_core::payload::base64_decode)
            .ok_or_else(|| Error(format!("{}: the browser sent no screenshot", self.name)))
    }

    /// Closes this page's window (as Desktop does on `endCall`).
    pub fn close(self) -> Result<()> {
        match self.engine {
            Engine::Chromium => {
                self.conn.call(None, "Target.closeTarget", json!({ "targetId": self.target }), CALL_TIMEOUT).map(|_| ())
            }
            // QtWebEngine cannot close a target on request: the window stays,
            // without the page.
            Engine::QtWebEngine => self.call("Page.navigate", json!({ "url": "about:blank" })).map(|_| ()),
            Engine::Firefox => self.bidi("browsingContext.close", json!({})).map(|_| ()),
        }
    }
}

/// A BiDi remote value as plain JSON (what DevTools' `returnByValue`
/// gives): objects and maps become objects, arrays and sets arrays;
/// values JSON has no form for (undefined, NaN, functions, nodes) become
/// `null`.
fn from_remote(v: &Value) -> Value {
    let inner = &v["value"];
    match v["type"].as_str().unwrap_or("") {
        "string" | "boolean" => inner.clone(),
        "number" => match inner {
            Value::Number(_) => inner.clone(),
            Value::String(s) if s == "-0" => json!(0),
            _ => Value::Null,
        },
        "bigint" => inner.as_str().and_then(|s| s.parse::<i64>().ok()).map(Value::from).unwrap_or(Value::Null),
        "date" | "regexp" => inner.clone(),
        "array" | "set" => Value::Array(inner.as_array().map(|a| a.iter().map(from_remote).collect()).unwrap_or_default()),
        "object" | "map" => {
            let mut m = serde_json::Map::new();
            for pair in inner.as_array().into_iter().flatten() {
                let key = match &pair[0] {
                    Value::String(k) => k.clone(),
                    k => match from_remote(k) {
                        Value::String(k) => k,
                        k => k.to_string(),
                    },
                };
                m.insert(key, from_remote(&pair[1]));
            }
            Value::Object(m)
        }
        // An empty object of a class (e.g. a DOM node) is still truthy.
        "node" | "window" | "error" | "promise" | "function" | "weakmap" | "weakset" | "generator" | "proxy"
        | "typedarray" | "arraybuffer" | "nodelist" | "htmlcollection" => json!({}),
        _ => Value::Null,
    }
}

fn short(s: &str) -> String {
    short_n(s, 160)
}

fn short_n(s: &str, n: usize) -> String {
    let one: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() <= n {
        one
    } else {
        one.chars().take(n).collect::<String>() + "…"
    }
}
