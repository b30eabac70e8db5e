//! calls-peer against the real call page (dist/, headless Chromium through
//! the test host), and against itself. Build the page first:
//! `cargo xtask build`; run with `cargo test -p calls-peer -- --test-threads=1`.
//!
//! Every wait is bounded; a failure shows the page's state and the peer's
//! stderr.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use e2e::*;
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_calls-peer");

/// A running `calls-peer`, killed on drop.
struct Proc {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Receiver<String>,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Proc {
    fn spawn(name: &str, args: &[&str]) -> Result<Proc> {
        let mut child = Command::new(BIN)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Error::new(format!("cannot start {BIN}: {e}")))?;
        let lines = Arc::new(Mutex::new(Vec::new()));
        if let Some(err) = child.stderr.take() {
            let lines = lines.clone();
            let name = name.to_string();
            thread::spawn(move || {
                for line in BufReader::new(err).lines() {
                    let Ok(line) = line else { break };
                    if std::env::var_os("CALLS_PEER_LOG").is_some() {
                        eprintln!("[{name}] {line}");
                    }
                    if let Ok(mut l) = lines.lock() {
                        l.push(line);
                    }
                }
            });
        }
        let (tx, stdout) = mpsc::channel();
        if let Some(out) = child.stdout.take() {
            thread::spawn(move || {
                for line in BufReader::new(out).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        let stdin = child.stdin.take();
        Ok(Proc {
            name: name.to_string(),
            child,
            stdin,
            stdout,
            lines,
        })
    }

    fn log(&self) -> String {
        self.lines.lock().map(|l| l.join("\n")).unwrap_or_default()
    }

    fn fail<T>(&self, what: &str) -> Result<T> {
        err(format!("{}: {what}\n--- its stderr:\n{}", self.name, self.log()))
    }

    /// The payload it prints on stdout (its offer or answer).
    fn payload(&self) -> Result<String> {
        match self.stdout.recv_timeout(T) {
            Ok(l) if !l.trim().is_empty() => Ok(l.trim().to_string()),
            _ => self.fail("printed no payload"),
        }
    }

    fn send(&mut self, text: &str) -> Result<()> {
        let Some(stdin) = self.stdin.as_mut() else {
            return self.fail("stdin is closed");
        };
        stdin.write_all(format!("{text}\n").as_bytes())?;
        stdin.flush()?;
        Ok(())
    }

    /// Waits for a stderr line satisfying `pred`.
    fn wait_line(&self, what: &str, pred: impl Fn(&str) -> bool, timeout: Duration) -> Result<String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(l) = self.lines.lock().ok().and_then(|l| l.iter().find(|l| pred(l)).cloned()) {
                return Ok(l);
            }
            if Instant::now() >= deadline {
                return self.fail(&format!("no `{what}` line within {timeout:?}"));
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    fn wait_event(&self, line: &str) -> Result<String> {
        self.wait_line(line, |l| l == line || l.starts_with(&format!("{line} ")), T)
    }

    fn wait_exit(&mut self, timeout: Duration) -> Result<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(s) = self.child.try_wait()? {
                // Let the stderr reader catch up with the last lines.
                thread::sleep(Duration::from_millis(100));
                return Ok(s);
            }
            if Instant::now() >= deadline {
                return self.fail(&format!("did not exit within {timeout:?}"));
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM: a graceful local hang-up.
    fn terminate(&self) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
    }

    fn expect_clean_exit(&mut self, timeout: Duration) -> Result<()> {
        let status = self.wait_exit(timeout)?;
        if status.code() != Some(0) {
            return self.fail(&format!("exited with {status}, expected 0"));
        }
        self.wait_line("hangup", |l| l.starts_with("hangup"), Duration::from_secs(1))
            .map(|_| ())
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Standard base64 (for screenshots).
fn decode_base64(s: &str) -> Vec<u8> {
    call_core::payload::base64_decode(s).unwrap_or_default()
}

fn is_muted_audio(l: &str) -> bool {
    l.starts_with("muted-state ") && l.contains("\"audioEnabled\":false")
}

/// Test 1: The page calls calls-peer: media echoed back, mute both ways, the
/// page's hang-up ends the peer.
#[test]
fn page_calls_peer() -> Result<()> {
    let env = Env::new()?;
    let a = env.open("page (caller)", json!({}), "/call.html#startCall")?;
    let offer = wait_offer(&a)?;
    let p = Proc::spawn(
        "calls-peer answer",
        &[
            "answer",
            &payload(&offer, Enc::Raw),
            "--mute-after",
            "5",
            "--timeout",
            "120",
            "--verbose",
        ],
    )?;
    let answer = p.payload()?;
    a.set_hash(&format!("#onAnswer={answer}"))?;
    a.wait_data("phase", "in-call", T)?;
    p.wait_event("connected")?;
    wait_video(&a)?;
    wait_audio(&a)?;
    a.wait_data("remote-video", "on", T)?;
    // The page offers RED first; calls-peer answers Opus only, and echoes it.
    check_audio_codecs(&a, "audio/opus", "audio/opus")?;

    // The page mutes: the peer hears of it on channel 3.
    a.click("#mic")?;
    a.wait_data("mic", "off", T)?;
    p.wait_line("muted-state audioEnabled false", is_muted_audio, T)?;
    // The peer mutes (--mute-after): the page shows it.
    a.wait_data("remote-mic", "off", T)?;
    wait_video(&a)?;

    // The page hangs up: the peer notices within a few seconds and exits 0.
    let mut p = p;
    a.click("#end")?;
    let t = Instant::now();
    p.expect_clean_exit(Duration::from_secs(5))?;
    eprintln!("calls-peer noticed the hang-up after {} ms", t.elapsed().as_millis());
    Ok(())
}

/// Test 2: calls-peer calls the page (prompt, Answer); its hang-up ends the
/// page's call.
#[test]
fn peer_calls_page() -> Result<()> {
    let env = Env::new()?;
    let b = env.open("page (callee)", json!({ "avatar": "/avatar" }), "/call.html")?;
    let mut p = Proc::spawn(
        "calls-peer call --media pattern",
        &["call", "--media", "pattern", "--timeout", "120"],
    )?;
    let offer = p.payload()?;
    b.set_hash(&format!("#offerIncomingCall={offer}"))?;
    b.wait_data("phase", "incoming", T)?;
    b.click("#answer")?;
    let answer = wait_answer(&b)?;
    // Android's form of the payload: URL-encoded base64.
    p.send(&payload(&answer, Enc::UrlEncoded))?;
    b.wait_data("phase", "in-call", T)?;
    p.wait_event("connected")?;
    // What the other side perceives: the page's audio and video reach the
    // peer (it sends its own test pattern, so nothing here is an echo).
    p.wait_event("receiving audio")?;
    p.wait_event("receiving video")?;
    wait_video(&b)?;
    wait_audio(&b)?;
    // calls-peer's offer has no RED (Opus, then PCMU): the page sends
    // plain Opus; the pattern's tone comes as PCMU.
    check_audio_codecs(&b, "audio/opus", "audio/pcmu")?;
    b.wait_data("remote-mic", "on", T)?;
    if let Some(path) = std::env::var_os("CALLS_PEER_SCREENSHOT") {
        let shot = b.call("Page.captureScreenshot", json!({ "format": "png" }))?;
        let png = shot["data"].as_str().map(decode_base64).unwrap_or_default();
        std::fs::write(path, png)?;
    }
    b.click("#mic")?;
    p.wait_line("muted-state audioEnabled false", is_muted_audio, T)?;

    // Hang-up on the peer's side (SIGTERM: DTLS close_notify, SCTP shutdown).
    p.terminate();
    p.expect_clean_exit(Duration::from_secs(5))?;
    let t = Instant::now();
    b.wait_data("phase", "ended", Duration::from_secs(10))?;
    eprintln!("the page noticed the hang-up after {} ms", t.elapsed().as_millis());
    b.wait_host_call("endCall", T)?;
    Ok(())
}

/// Test 3a: ICE restart with calls-peer as the caller: it sends the restart
/// offer on channel 5, the page answers; then `--timeout` hangs up.
#[test]
fn restart_peer_as_caller() -> Result<()> {
    let env = Env::new()?;
    let b = env.open("page (callee)", json!({}), "/call.html")?;
    let mut p = Proc::spawn("calls-peer call", &["call", "--restart-after", "3", "--timeout", "25"])?;
    let offer = p.payload()?;
    b.set_hash(&format!("#offerIncomingCall={offer}"))?;
    b.wait_data("phase", "incoming", T)?;
    b.click("#answer")?;
    let answer = wait_answer(&b)?;
    p.send(&payload(&answer, Enc::Raw))?;
    b.wait_data("phase", "in-call", T)?;
    wait_video(&b)?;
    p.wait_event("restart done")?;
    check(&b, "window.__host.srd >= 2", "the page applied the restart offer")?;
    b.wait_data("phase", "in-call", T)?;
    wait_video(&b)?;
    wait_audio(&b)?;
    // --timeout: the peer hangs up by itself, the page shows the end.
    p.expect_clean_exit(Duration::from_secs(30))?;
    b.wait_data("phase", "ended", Duration::from_secs(10))
}

/// Test 3b: ICE restart with calls-peer as the callee: it sends
/// `restart-request`, the page makes the restart offer.
#[test]
fn restart_peer_as_callee() -> Result<()> {
    let env = Env::new()?;
    let a = env.open("page (caller)", json!({}), "/call.html#startCall")?;
    let offer = wait_offer(&a)?;
    let mut p = Proc::spawn(
        "calls-peer answer",
        &["answer", "--restart-after", "3", "--timeout", "120"],
    )?;
    // The offer on stdin this time, URL-encoded.
    p.send(&payload(&offer, Enc::UrlEncoded))?;
    let answer = p.payload()?;
    a.set_hash(&format!("#onAnswer={answer}"))?;
    a.wait_data("phase", "in-call", T)?;
    wait_video(&a)?;
    p.wait_event("restart done")?;
    check(&a, "window.__host.offers >= 2", "the page made a restart offer")?;
    a.wait_data("phase", "in-call", T)?;
    wait_video(&a)?;
    wait_audio(&a)?;
    a.click("#end")?;
    p.expect_clean_exit(Duration::from_secs(5))
}

/// Bad payloads: exit code 2 and a clear message, without a browser.
#[test]
fn bad_payloads_exit_2() -> Result<()> {
    for (args, stdin, says) in [
        (vec!["answer", "!!!"], None, "not base64"),
        (vec!["answer", "aGVsbG8="], None, "not an SDP"),
        (vec!["answer"], Some("\n"), "payload"),
        (vec!["answer", "--timeout"], None, "needs a value"),
        (vec!["call", "--timeout", "20"], Some("Zm9v"), "not an SDP"),
    ] {
        let mut p = Proc::spawn(&format!("calls-peer {args:?}"), &args)?;
        match stdin {
            Some(s) => {
                p.send(s)?;
                p.stdin = None; // EOF
            }
            None => p.stdin = None,
        }
        let status = p.wait_exit(Duration::from_secs(10))?;
        if status.code() != Some(2) {
            return p.fail(&format!("exited with {status}, expected 2"));
        }
        p.wait_line(
            says,
            |l| l.starts_with("error:") && l.contains(says),
            Duration::from_secs(1),
        )?;
    }
    Ok(())
}

/// Two calls-peers call each other (no browser): channels, mute, restart,
/// hang-up.
#[test]
fn peer_calls_peer() -> Result<()> {
    let mut a = Proc::spawn(
        "caller",
        &["call", "--mute-after", "1", "--restart-after", "2", "--timeout", "30"],
    )?;
    let mut b = Proc::spawn("callee", &["answer", "--timeout", "60"])?;
    let offer = a.payload()?;
    b.send(&offer)?;
    let answer = b.payload()?;
    a.send(&answer)?;
    a.wait_event("connected")?;
    b.wait_event("connected")?;
    b.wait_line("muted-state audioEnabled false", is_muted_audio, T)?;
    a.wait_event("restart done")?;
    b.wait_event("restart done")?;
    a.terminate();
    a.expect_clean_exit(Duration::from_secs(5))?;
    b.expect_clean_exit(Duration::from_secs(5))
}

/// Test 4: TURN: the page (`relayOnly`) and calls-peer (`--relay-only`) both
/// relay through a real coturn: calls-peer's own allocation, permissions
/// and Send/Data indications carry the call.
#[test]
fn relayed_through_coturn() -> Result<()> {
    let turn = testhost::turn::Turn::start()?;
    let env = Env::new()?;
    let servers = turn.ice_servers();
    let a = env.open(
        "page (caller, relayOnly)",
        json!({ "iceServers": servers }),
        "/call.html?relayOnly#startCall",
    )?;
    let offer = wait_offer(&a)?;
    let mut p = Proc::spawn(
        "calls-peer answer --relay-only",
        &[
            "answer",
            &payload(&offer, Enc::Raw),
            "--ice-servers",
            &servers,
            "--relay-only",
            "--timeout",
            "120",
        ],
    )?;
    let answer = p.payload()?;
    let sdp = calls_peer::payload::decode(&answer).map_err(Error::new)?;
    let types = candidate_types(&sdp);
    if types.is_empty() || types.iter().any(|t| t != "relay") {
        return p.fail(&format!("the answer should carry only relay candidates: {types:?}"));
    }
    a.set_hash(&format!("#onAnswer={answer}"))?;
    a.wait_data("phase", "in-call", T)?;
    p.wait_event("connected")?;
    a.wait_data("route", "relay", T)?;
    p.wait_line("route relay", |l| l.starts_with("info: route relay"), T)?;
    wait_video(&a)?;
    wait_audio(&a)?;
    a.click("#end")?;
    p.expect_clean_exit(Duration::from_secs(5))
}

/// The other side vanishes without a word (SIGKILL): ICE disconnects, the
/// restarts get no answer, and after the bound (3 s grace + 3 attempts of
/// 8 s) the peer gives up and exits 0.
#[test]
fn peer_gives_up_on_lost_connection() -> Result<()> {
    let mut a = Proc::spawn("caller", &["call", "--timeout", "120"])?;
    let mut b = Proc::spawn("callee", &["answer", "--timeout", "120"])?;
    let offer = a.payload()?;
    b.send(&offer)?;
    let answer = b.payload()?;
    a.send(&answer)?;
    a.wait_event("connected")?;
    b.wait_event("connected")?;
    drop(b); // SIGKILL
    let t = Instant::now();
    a.expect_clean_exit(Duration::from_secs(60))?;
    a.wait_line(
        "hangup connection lost",
        |l| l == "hangup connection lost",
        Duration::from_secs(1),
    )?;
    eprintln!("gave up after {} ms", t.elapsed().as_millis());
    Ok(())
}
