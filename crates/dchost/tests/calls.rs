//! Calls between two real Delta Chat accounts: two `deltachat-rpc-server`
//! processes on the local relay (dovecot, SMTP, coturn), the reference host
//! for each, and our call page in headless Chromium.
//!
//! Needs the page (`cargo xtask build`), the core (`cargo xtask setup`
//! fetches it; `DELTACHAT_RPC_SERVER` names it), dovecot, coturn and
//! Chromium. `cargo xtask test` runs these with the rest.

use std::time::{Duration, Instant};

use dchost::{pair, run_until, Account, Host, Relay, What};
use serde_json::Value;
use testhost::{err, Browser, Result, Server};

/// The bound of every wait (the core's hops take about 0.6 s on loopback).
const T: Duration = Duration::from_secs(30);

/// What every test needs. Fields drop in order: the browser before the
/// server, the relay last.
struct World {
    browser: Browser,
    server: Server,
    relay: Relay,
    // One call at a time: two cores, dovecot, coturn and a browser encoding
    // video twice already fill a two-core machine.
    _permit: e2e::Permit,
}

impl World {
    fn start() -> Result<World> {
        testhost::require_dist()?;
        let permit = e2e::permit_exclusive();
        let relay = Relay::start(&["Alice", "Bob"])?;
        Ok(World { browser: Browser::launch()?, server: Server::start()?, relay, _permit: permit })
    }

    /// Alice and Bob, paired; their pages opened with `flags`. Returns the
    /// hosts and Alice's chat with Bob.
    fn alice_and_bob(&self, flags: &[&str]) -> Result<(Host<'_>, Host<'_>, u32)> {
        let core = dchost::core_binary();
        let t = Instant::now();
        let alice = Account::create(&core, &self.relay, "Alice")?;
        let bob = Account::create(&core, &self.relay, "Bob")?;
        let (alice_chat, _) = pair(&alice, &bob)?;
        eprintln!("two accounts configured and paired in {} ms", t.elapsed().as_millis());
        Ok((
            Host::new(alice, &self.browser, &self.server, flags),
            Host::new(bob, &self.browser, &self.server, flags),
            alice_chat,
        ))
    }
}

/// Alice calls; waits until Bob's window prompts. Returns the call's
/// message id on Alice's side and on Bob's.
fn ring<'b>(alice: &mut Host<'b>, bob: &mut Host<'b>, chat: u32) -> Result<(u32, u32)> {
    alice.call(chat)?;
    run_until(&mut [&mut *alice, &mut *bob], T, "Bob's window to prompt", |h| {
        Ok(h[1].window().is_some() && h[1].page()?.data("phase")? == "incoming")
    })?;
    let a_id = alice.window().and_then(|w| w.msg_id);
    let b_id = bob.window().and_then(|w| w.msg_id);
    match (a_id, b_id) {
        (Some(a), Some(b)) => Ok((a, b)),
        _ => err(format!("no call message ids: Alice {a_id:?}, Bob {b_id:?}")),
    }
}

/// How long from `from` on one host to `to` on another.
fn hop(name: &str, a: &Host, from: &What, b: &Host, to: &What) -> Result<Duration> {
    match (a.when(from), b.when(to)) {
        (Some(s), Some(e)) => {
            let d = e.saturating_duration_since(s);
            eprintln!("hop {name}: {} ms ({} {from:?} → {} {to:?})", d.as_millis(), a.name(), b.name());
            Ok(d)
        }
        _ => err(format!("hop {name}: {from:?} on {} or {to:?} on {} was not seen", a.name(), b.name())),
    }
}

/// `call_info` of each call says `want` (`Active`, `Completed`, …).
fn check_states(calls: &[(&Host, u32, &str)]) -> Result<()> {
    for (h, id, want) in calls {
        let state = h.account.call_state(*id)?;
        if state != *want {
            return err(format!("{}: call_info of call {id} says {state}, not {want}", h.name()));
        }
    }
    Ok(())
}

/// The core told `h` that the call `id` ended.
fn ended(h: &Host, id: u32) -> bool {
    h.when(&What::Event("CallEnded".into(), id)).is_some()
}

/// The servers `ice_servers()` gave: the relay's coturn, with REST
/// credentials (username = the expiry, hours ahead).
fn check_core_ice_servers(host: &Host, turn_port: u16) -> Result<String> {
    let Some(text) = host.records().iter().find_map(|r| match &r.what {
        What::IceServers(t) => Some(t.clone()),
        _ => None,
    }) else {
        return err(format!("{} never answered getIceServers", host.name()));
    };
    let v: Value = serde_json::from_str(&text)?;
    let url = format!("turn:127.0.0.1:{turn_port}");
    let entry = v.as_array().and_then(|a| {
        a.iter().find(|s| s["urls"].as_array().is_some_and(|u| u.iter().any(|x| x.as_str() == Some(&url))))
    });
    let Some(entry) = entry else {
        return err(format!("{}: the core's ICE servers lack {url}: {text}", host.name()));
    };
    let expiry: u64 = entry["username"].as_str().and_then(|u| u.parse().ok()).unwrap_or(0);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    if expiry < now + 12 * 3600 || entry["credential"].as_str().unwrap_or("").is_empty() {
        return err(format!("{}: not coturn REST credentials valid for hours: {text}", host.name()));
    }
    Ok(url)
}

/// The page's peer connection was configured with `url` (what
/// getIceServers returned reached RTCPeerConnection).
fn check_page_uses(host: &Host, url: &str) -> Result<()> {
    let js = "JSON.stringify(window.__host.pcList[window.__host.pcList.length - 1].getConfiguration().iceServers)";
    let got = host.page()?.eval_str(js)?;
    if got.contains(url) {
        Ok(())
    } else {
        err(format!("{}: the page's RTCPeerConnection has {got}, not {url}", host.name()))
    }
}

/// The whole call: both cores carry offer and answer; Bob presses Answer;
/// media both ways; hang-up. With `relay_only` both pages must go through
/// the relay's coturn.
fn call_with_media(relay_only: bool) -> Result<()> {
    let w = World::start()?;
    let flags: &[&str] = if relay_only { &["relayOnly"] } else { &[] };
    let (mut alice, mut bob, chat) = w.alice_and_bob(flags)?;
    let (a_id, b_id) = ring(&mut alice, &mut bob, chat)?;
    alice.page()?.wait_data("phase", "ringing", T)?;

    bob.page()?.click("#answer")?;
    run_until(&mut [&mut alice, &mut bob], T, "both windows in the call", |h| {
        Ok(h[0].page()?.data("phase")? == "in-call" && h[1].page()?.data("phase")? == "in-call")
    })?;
    for h in [&alice, &bob] {
        let page = h.page()?;
        e2e::wait_video(page)?;
        e2e::wait_heard(page)?;
        let url = check_core_ice_servers(h, w.relay.turn().port())?;
        check_page_uses(h, &url)?;
    }
    check_states(&[(&alice, a_id, "Active"), (&bob, b_id, "Active")])?;
    if relay_only {
        for h in [&alice, &bob] {
            let page = h.page()?;
            page.wait_data("route", "relay", T)?;
            let pair = page.eval("window.__host.inbound()")?;
            if pair["local"] != "relay" || pair["remote"] != "relay" {
                return err(format!("{}: the selected pair is not relay/relay: {pair}", h.name()));
            }
        }
    }

    alice.page()?.click("#end")?;
    run_until(&mut [&mut alice, &mut bob], T, "both windows closed and CallEnded on both", |h| {
        Ok(h[0].window().is_none()
            && h[1].window().is_none()
            && ended(h[0], a_id)
            && ended(h[1], b_id))
    })?;
    hop("offer", &alice, &What::Rpc("place_outgoing_call", a_id), &bob, &What::Event("IncomingCall".into(), b_id))?;
    hop("answer", &bob, &What::Rpc("accept_incoming_call", b_id), &alice, &What::Event("OutgoingCallAccepted".into(), a_id))?;
    // In a connected call Bob's page notices the hang-up over the
    // connection and ends by itself; this is what the person sees.
    hop("hang-up", &alice, &What::Rpc("end_call", a_id), &bob, &What::Closed)?;
    check_states(&[(&alice, a_id, "Completed"), (&bob, b_id, "Completed")])
}

/// Scenario 1: Alice calls Bob through the two real cores; Bob answers on the
/// prompt; media flows both ways; the ICE servers are the relay's coturn as
/// the core returned them.
#[test]
fn call_through_real_cores() -> Result<()> {
    call_with_media(false)
}

/// Scenario 1': the same with `relayOnly`: the selected pair is relay on both sides
/// (and the only TURN server the pages have is the relay's coturn).
#[test]
fn relay_only_call_through_real_cores() -> Result<()> {
    call_with_media(true)
}

/// Scenario 2: Bob declines: Alice's window closes; both cores say Declined.
#[test]
fn callee_declines() -> Result<()> {
    let w = World::start()?;
    let (mut alice, mut bob, chat) = w.alice_and_bob(&[])?;
    let (a_id, b_id) = ring(&mut alice, &mut bob, chat)?;
    bob.page()?.click("#end")?;
    run_until(&mut [&mut alice, &mut bob], T, "Alice's window to close", |h| {
        Ok(h[0].window().is_none() && h[1].window().is_none())
    })?;
    if !ended(&alice, a_id) {
        return err(format!("Alice's window closed without CallEnded\n{}", alice.report()));
    }
    hop("decline", &bob, &What::Rpc("end_call", b_id), &alice, &What::Event("CallEnded".into(), a_id))?;
    check_states(&[(&alice, a_id, "Declined"), (&bob, b_id, "Declined")])
}

/// Scenario 3: Alice hangs up while it rings: Bob's window closes; CallEnded on
/// both; Alice's call is Canceled, Bob's Missed.
#[test]
fn caller_hangs_up_while_ringing() -> Result<()> {
    let w = World::start()?;
    let (mut alice, mut bob, chat) = w.alice_and_bob(&[])?;
    let (a_id, b_id) = ring(&mut alice, &mut bob, chat)?;
    alice.page()?.wait_data("phase", "ringing", T)?;
    alice.page()?.click("#end")?;
    run_until(&mut [&mut alice, &mut bob], T, "Bob's window to close, CallEnded on both", |h| {
        Ok(h[1].window().is_none()
            && ended(h[0], a_id)
            && ended(h[1], b_id))
    })?;
    if alice.window().is_some() {
        return err(format!("Alice's window is still open\n{}", alice.report()));
    }
    hop("hang-up while ringing", &alice, &What::Rpc("end_call", a_id), &bob, &What::Event("CallEnded".into(), b_id))?;
    check_states(&[(&alice, a_id, "Canceled"), (&bob, b_id, "Missed")])
}
