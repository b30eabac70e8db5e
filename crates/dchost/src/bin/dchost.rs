//! `cargo xtask demo --core`: two real Delta Chat accounts, Alice and Bob,
//! on a local relay, paired, each with the reference host; their call
//! windows are Chromium windows (headless pages when there is no screen),
//! and this console is the chat UI (start a call, answer, decline, hang
//! up, screenshots of the windows).
//!
//! Usage: `dchost [--relay-only]`. Needs the built page (`CALLS_DIST`), the
//! core (`DELTACHAT_RPC_SERVER`), dovecot, coturn and Chromium: `cargo
//! xtask demo --core` sees to all of them.

use std::io::BufRead;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use dchost::{pair, Account, Host, Relay, What};
use serde_json::json;
use testhost::{Browser, Result, Server};

const HELP: &str = "\
commands (then Enter):
  a   Alice calls Bob           b   Bob calls Alice
  y   answer: the ringing window presses Answer
  n   decline: the ringing window presses Decline
  e   end: every open window presses End
  s   screenshots of the open windows (target/dchost-demo/NAME.png)
  q   quit (also end of input)";

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dchost: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let relay_only = args.iter().any(|a| a == "--relay-only");
    if let Some(a) = args.iter().find(|a| *a != "--relay-only") {
        return testhost::err(format!("unknown argument {a}; usage: dchost [--relay-only]"));
    }
    testhost::require_dist()?;
    let started = Instant::now();
    let relay = Relay::start(&["Alice", "Bob"])?;
    let server = Server::start()?;
    // With a screen, real windows; without one (CI, ssh), headless pages
    // and the `s` command for screenshots.
    let screen = std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some();
    let browser = if screen { Browser::launch_visible()? } else { Browser::launch()? };
    let core = dchost::core_binary();
    let alice = Account::create(&core, &relay, "Alice")?;
    let bob = Account::create(&core, &relay, "Bob")?;
    let (alice_chat, bob_chat) = pair(&alice, &bob)?;
    let flags: &[&str] = if relay_only { &["relayOnly"] } else { &[] };
    let ms = started.elapsed().as_millis();
    println!("Ready in {ms} ms: two Delta Chat {} cores on a local relay (127.0.0.1 only).", dchost::CORE_VERSION);
    println!("  Alice {}  and  Bob {}: paired, encrypted 1:1 chat", alice.addr, bob.addr);
    let forced = if relay_only { "; pages forced through it (relayOnly)" } else { "" };
    println!("  TURN: coturn on 127.0.0.1:{} (REST credentials through IMAP METADATA){forced}", relay.turn().port());
    println!("  call pages: {} in headless Chromium, driven by the reference host", server.url("/call.html"));
    println!("{HELP}");
    // Each host with how many of its records were printed and the last
    // state of its window; each one's chat with the other.
    let mut hosts = [
        (Host::new(alice, &browser, &server, flags), 0usize, String::new()),
        (Host::new(bob, &browser, &server, flags), 0usize, String::new()),
    ];
    let chats = [alice_chat, bob_chat];

    let (tx, commands) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if tx.send(line.trim().to_string()).is_err() {
                return;
            }
        }
        let _ = tx.send("q".into());
    });

    let mut last_poll = Instant::now();
    loop {
        for (host, seen, phase) in hosts.iter_mut() {
            if let Err(e) = host.step() {
                println!("{}: {e}", host.name());
            }
            for r in &host.records()[*seen..] {
                let t = r.at.saturating_duration_since(started).as_secs_f64();
                println!("[{t:>8.3} s] {:<5} {}", host.name(), describe(&r.what));
            }
            *seen = host.records().len();
            if last_poll.elapsed() >= Duration::from_millis(250) {
                let now = host.page().and_then(window_state).unwrap_or_else(|_| "no window".into());
                if now != *phase {
                    println!("             {:<5} window: {now}", host.name());
                    *phase = now;
                }
            }
        }
        if last_poll.elapsed() >= Duration::from_millis(250) {
            last_poll = Instant::now();
        }
        let Ok(cmd) = commands.recv_timeout(Duration::from_millis(30)) else { continue };
        let result = match cmd.as_str() {
            "a" | "b" => {
                let i = usize::from(cmd == "b");
                hosts[i].0.call(chats[i])
            }
            "y" => press_ringing(&hosts.iter().map(|h| &h.0).collect::<Vec<_>>(), "#answer"),
            "n" => press_ringing(&hosts.iter().map(|h| &h.0).collect::<Vec<_>>(), "#end"),
            "e" => hosts.iter().filter_map(|h| h.0.page().ok()).try_for_each(|p| p.click("#end")),
            "s" => screenshots(&hosts.iter().map(|h| &h.0).collect::<Vec<_>>()),
            "q" => return Ok(()),
            "" => Ok(()),
            other => {
                println!("unknown command {other:?}\n{HELP}");
                Ok(())
            }
        };
        if let Err(e) = result {
            println!("{e}");
        }
    }
}

/// "phase (status text)" of a call window.
fn window_state(page: &testhost::Page) -> Result<String> {
    Ok(format!("{} ({})", page.data("phase")?, page.text("status")?.unwrap_or_default()))
}

fn describe(what: &What) -> String {
    match what {
        What::Opened => "call window opened".into(),
        What::Closed => "call window closed".into(),
        What::Page(name) => format!("page → host: {name}"),
        What::Rpc(method, id) => format!("host → core: {method} (call {id})"),
        What::Event(kind, id) => format!("core → host: {kind} (call {id})"),
        What::IceServers(text) => format!("ICE servers from the core: {text}"),
    }
}

/// Presses `button` in the window that shows the incoming-call prompt.
fn press_ringing(hosts: &[&Host], button: &str) -> Result<()> {
    for h in hosts {
        if let Ok(p) = h.page() {
            if p.data("phase")? == "incoming" {
                return p.click(button);
            }
        }
    }
    testhost::err("no window is ringing")
}

fn screenshots(hosts: &[&Host]) -> Result<()> {
    let dir = testhost::workspace_root().join("target").join("dchost-demo");
    std::fs::create_dir_all(&dir)?;
    let dir = dir.canonicalize()?;
    for h in hosts {
        let Ok(page) = h.page() else { continue };
        let shot = page.call("Page.captureScreenshot", json!({ "format": "png" }))?;
        let png = shot["data"].as_str().and_then(call_core::payload::base64_decode);
        let Some(png) = png else { return testhost::err("the browser sent no screenshot") };
        let path: PathBuf = dir.join(format!("{}.png", h.name().to_ascii_lowercase()));
        std::fs::write(&path, png)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
