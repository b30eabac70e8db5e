//! The Delta Chat core as a child process: `deltachat-rpc-server` speaks
//! JSON-RPC 2.0, one JSON object per line, on its stdin and stdout.
//!
//! Requests carry positional parameters. Events are not pushed: a thread
//! asks `get_next_event_batch` again and again (the server answers once
//! there is something) and hands the events over a channel. Log events
//! (`Info`, `Warning`, `Error`) are kept apart, for failure messages.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use testhost::{err, Error, Result, TempDir};

/// The bound of an ordinary request. (Configuring a transport connects to
/// IMAP and SMTP; on loopback that takes well under a second.)
pub const RPC_TIMEOUT: Duration = Duration::from_secs(60);
/// How many core log lines are kept.
const LOG_KEEP: usize = 400;

/// One event of one account, with the moment it came out of the core.
#[derive(Debug, Clone)]
pub struct Event {
    pub account: u32,
    /// `IncomingCall`, `CallEnded`, …
    pub kind: String,
    /// The whole event object (its fields are snake_case for call events).
    pub data: Value,
    pub at: Instant,
}

impl Event {
    /// A numeric field such as `msg_id`.
    pub fn u32(&self, field: &str) -> Option<u32> {
        self.data.get(field)?.as_u64().and_then(|n| u32::try_from(n).ok())
    }

    /// A text field such as `place_call_info`.
    pub fn str(&self, field: &str) -> Option<&str> {
        self.data.get(field)?.as_str()
    }
}

type Pending = Arc<Mutex<HashMap<u64, Sender<Value>>>>;

/// The request side, shared by the caller and the event thread.
struct Wire {
    stdin: Mutex<ChildStdin>,
    pending: Pending,
    next_id: AtomicU64,
    gone: Arc<AtomicBool>,
}

impl Wire {
    fn call(&self, method: &str, params: Value, timeout: Duration) -> Result<Value> {
        if self.gone.load(Ordering::SeqCst) {
            return err(format!("the core has exited (calling {method})"));
        }
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let (tx, rx) = mpsc::channel();
        lock(&self.pending)?.insert(id, tx);
        let line = json!({ "jsonrpc": "2.0", "method": method, "params": params, "id": id }).to_string() + "\n";
        let written = lock(&self.stdin).and_then(|mut w| {
            w.write_all(line.as_bytes()).and_then(|()| w.flush()).map_err(|e| Error(format!("writing to the core: {e}")))
        });
        if let Err(e) = written {
            lock(&self.pending)?.remove(&id);
            return Err(e);
        }
        let reply = match rx.recv_timeout(timeout) {
            Ok(r) => r,
            Err(RecvTimeoutError::Timeout) => {
                lock(&self.pending)?.remove(&id);
                return err(format!("the core did not answer {method} within {timeout:?}"));
            }
            Err(RecvTimeoutError::Disconnected) => return err(format!("the core exited during {method}")),
        };
        if let Some(e) = reply.get("error") {
            let msg = e.get("message").and_then(Value::as_str).map_or_else(|| e.to_string(), str::to_string);
            return err(format!("{method}: {msg}"));
        }
        Ok(reply.get("result").cloned().unwrap_or(Value::Null))
    }
}

fn lock<T>(m: &Mutex<T>) -> Result<std::sync::MutexGuard<'_, T>> {
    m.lock().map_err(|_| Error::new("a lock was poisoned by a panicking thread"))
}

/// A running `deltachat-rpc-server` with its own accounts directory; killed
/// (and the directory removed) on drop.
pub struct Core {
    child: Child,
    wire: Arc<Wire>,
    events: Receiver<Event>,
    log: Arc<Mutex<VecDeque<String>>>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    _dir: TempDir,
}

impl Core {
    /// Starts the core binary `bin` on a new, empty accounts directory.
    pub fn start(bin: &Path) -> Result<Core> {
        if !bin.is_file() {
            return err(format!(
                "the Delta Chat core {} does not exist: run `cargo xtask setup` \
                 (or set DELTACHAT_RPC_SERVER to a deltachat-rpc-server binary)",
                bin.display()
            ));
        }
        let dir = TempDir::new("dchost-core")?;
        let mut child = testhost::die_with_parent(&mut Command::new(bin))
            // It refuses a directory that exists and is not its own.
            .env("DC_ACCOUNTS_PATH", dir.path().join("accounts"))
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Error(format!("cannot start {}: {e}", bin.display())))?;
        let (Some(stdin), Some(stdout), Some(stderr)) = (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            let _ = child.kill();
            let _ = child.wait();
            return err("the core's stdio pipes are missing");
        };
        let gone = Arc::new(AtomicBool::new(false));
        let wire = Arc::new(Wire {
            stdin: Mutex::new(stdin),
            pending: Arc::new(Mutex::new(HashMap::new())),
            next_id: AtomicU64::new(1),
            gone: gone.clone(),
        });
        let log = Arc::new(Mutex::new(VecDeque::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        threads.push(spawn("dc-stdout", {
            let pending = wire.pending.clone();
            move || read_replies(stdout, &pending, &gone)
        })?);
        threads.push(spawn("dc-stderr", {
            let log = log.clone();
            move || keep_lines(stderr, &log, "stderr: ")
        })?);
        let (tx, events) = mpsc::channel();
        threads.push(spawn("dc-events", {
            let (wire, log, stop) = (wire.clone(), log.clone(), stop.clone());
            move || pump_events(&wire, &tx, &log, &stop)
        })?);
        Ok(Core { child, wire, events, log, stop, threads, _dir: dir })
    }

    /// One request; `params` is the positional parameter array.
    pub fn call(&self, method: &str, params: Value) -> Result<Value> {
        self.wire.call(method, params, RPC_TIMEOUT).map_err(|e| Error(format!("{e}\n{}", self.log_tail(15))))
    }

    /// The next event, if one came within `timeout`.
    pub fn next_event(&self, timeout: Duration) -> Option<Event> {
        self.events.recv_timeout(timeout).ok()
    }

    /// The last `n` lines the core logged (warnings and errors, and info
    /// lines), for failure messages.
    pub fn log_tail(&self, n: usize) -> String {
        let log = self.log.lock().map(|l| l.iter().rev().take(n).rev().cloned().collect::<Vec<_>>());
        format!("core log (last lines):\n  {}", log.unwrap_or_default().join("\n  "))
    }
}

impl Drop for Core {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.child.kill();
        let _ = self.child.wait();
        // With the process gone its pipes close: every thread ends.
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>> {
    thread::Builder::new().name(name.into()).spawn(f).map_err(Error::from)
}

/// Hands each reply to whoever waits for its id.
fn read_replies(stdout: impl Read, pending: &Pending, gone: &AtomicBool) {
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        let Ok(v) = serde_json::from_str::<Value>(&line) else { continue };
        let Some(id) = v.get("id").and_then(Value::as_u64) else { continue };
        if let Some(tx) = pending.lock().ok().and_then(|mut p| p.remove(&id)) {
            let _ = tx.send(v);
        }
    }
    gone.store(true, Ordering::SeqCst);
    // Wake every waiting caller: their senders go away.
    if let Ok(mut p) = pending.lock() {
        p.clear();
    }
}

fn keep_lines(pipe: impl Read, log: &Mutex<VecDeque<String>>, prefix: &str) {
    for line in BufReader::new(pipe).lines() {
        let Ok(line) = line else { break };
        push_log(log, format!("{prefix}{line}"));
    }
}

fn push_log(log: &Mutex<VecDeque<String>>, line: String) {
    if let Ok(mut l) = log.lock() {
        l.push_back(line);
        while l.len() > LOG_KEEP {
            l.pop_front();
        }
    }
}

/// Asks for events until the core exits or the handle is dropped.
fn pump_events(wire: &Wire, tx: &Sender<Event>, log: &Mutex<VecDeque<String>>, stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        // The server holds the request until there is an event. Giving up
        // on it would lose the events of its late reply, so the wait is
        // long; dropping the `Core` kills the process, which ends it.
        let batch = match wire.call("get_next_event_batch", json!([]), Duration::from_secs(3600)) {
            Ok(b) => b,
            Err(_) if wire.gone.load(Ordering::SeqCst) || stop.load(Ordering::SeqCst) => break,
            Err(e) => {
                push_log(log, format!("get_next_event_batch: {e}"));
                thread::sleep(Duration::from_millis(100));
                continue;
            }
        };
        let at = Instant::now();
        for item in batch.as_array().into_iter().flatten() {
            let account = item.get("contextId").and_then(Value::as_u64).and_then(|n| u32::try_from(n).ok());
            let account = account.unwrap_or(0);
            let data = item.get("event").cloned().unwrap_or(Value::Null);
            let kind = data.get("kind").and_then(Value::as_str).unwrap_or("?").to_string();
            if matches!(kind.as_str(), "Info" | "Warning" | "Error") {
                let msg = data.get("msg").and_then(Value::as_str).unwrap_or("");
                push_log(log, format!("[{account}] {kind}: {msg}"));
                continue;
            }
            if tx.send(Event { account, kind, data, at }).is_err() {
                return;
            }
        }
    }
}
