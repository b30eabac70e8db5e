//! Network trouble in the middle of a call (issue "Interop and
//! reconnection"): both pages are forced through coturn (`relayOnly`) and
//! coturn is reached through a userspace UDP relay that can drop every
//! packet for a while (this kernel has no netem). Short outages must heal
//! without needless restarts or a flicker of "Reconnecting…"; longer ones
//! through an ICE restart over channel 5 in the Android client's format;
//! one that outlasts every attempt must end in "Connection lost" and a
//! clean `endCall`. A path that flaps for a minute must come back every
//! time and pile nothing up (the long flapping soak is
//! `cargo xtask bench --soak`). Recovery times are printed (`--nocapture`).

use std::time::{Duration, Instant};

use e2e::*;
use serde_json::json;
use testhost::relay::{Impairment, Relay};
use testhost::turn::Turn;

struct Call {
    _turn: Turn,
    relay: Relay,
    a: Page,
    b: Page,
}

fn relayed_call(env: &Env) -> Result<Call> {
    let turn = Turn::start()?;
    let upstream = format!("127.0.0.1:{}", turn.port()).parse().map_err(|e| testhost::Error::new(format!("{e}")))?;
    let relay = Relay::start(upstream, Impairment::NONE)?;
    let config = json!({ "iceServers": relay.ice_servers() });
    let open = |name: &str, path: &str| -> Result<Page> {
        let p = env.page(name, config.clone())?;
        spy(&p)?;
        p.goto(&env.url(path))?;
        Ok(p)
    };
    let b = open("B (callee)", "/debug.html?relayOnly")?;
    let a = open("A (caller)", "/debug.html?relayOnly#startCall")?;
    connect(&a, &b)?;
    for p in [&a, &b] {
        p.wait_data("route", "relay", T)?;
        wait_video(p)?;
        // The relay is shared: the outgoing video is capped there.
        p.wait_for(
            "window.__host.pcList[0].getSenders().some(s => s.track && s.track.kind === 'video' && s.getParameters().encodings[0].maxBitrate === 800000)",
            T,
        )?;
    }
    Ok(Call { _turn: turn, relay, a, b })
}

/// Only the caller offers on channel 5; the callee answers or asks.
fn channel5_follows_android_rules(c: &Call) -> Result<()> {
    e2e::channel5_follows_android_rules(&c.a, &c.b)
}

/// Outages of 2, 5 and 12 s, one after the other in one call (a call of
/// its own for each cost the suite two more setups; a call that has been
/// through one outage must survive the next as well).
#[test]
fn outages_of_2_5_and_12_s_recover() -> Result<()> {
    let env = Env::exclusive()?;
    let c = relayed_call(&env)?;
    for secs in [2, 5, 12] {
        measured(&format!("relayed path, outage {secs} s: media back after"), || {
            let healed = outage_in_call(&c.a, &c.b, secs, |on| {
                c.relay.set_blocked(on);
                Ok(())
            })?;
            for p in [&c.a, &c.b] {
                p.wait_data("phase", "in-call", T)?;
            }
            Ok(healed)
        })?;
    }
    Ok(())
}

/// An outage that outlasts every attempt: "Reconnecting…" while trying,
/// then "Connection lost" and one `endCall`, within the documented bound
/// (Chromium notices in about 5 s; a 3 s grace; three attempts of 8 s;
/// 3 s on screen: about 40 s).
#[test]
fn endless_outage_ends_the_call_cleanly() -> Result<()> {
    // Bounded by the page's own timers, not by how fast media flows: it
    // may share the machine (with the healthy restart's call).
    let env = Env::new()?;
    let c = relayed_call(&env)?;
    let t = Instant::now();
    c.relay.set_blocked(true);
    for p in [&c.a, &c.b] {
        p.wait_data("phase", "reconnecting", Duration::from_secs(20))?;
    }
    for p in [&c.a, &c.b] {
        p.wait_data("phase", "failed", Duration::from_secs(50))?;
        ensure(p, p.text("notice")?.as_deref() == Some("Connection lost."), "says the connection was lost")?;
        p.wait_host_call("endCall", Duration::from_secs(10))?;
        check(p, "window.__host.calls.filter(c => c.name === 'endCall').length === 1", "endCall once")?;
    }
    let took = t.elapsed();
    eprintln!("endless outage: both ended {} ms after it began", took.as_millis());
    ensure(&c.a, took < Duration::from_secs(50), "within the bound")?;
    channel5_follows_android_rules(&c)
}

/// A restart asked for while the path is healthy, from either side (what
/// an Android peer does after its own network change), completes over
/// channel 5 and the call goes on.
#[test]
fn healthy_restart_from_either_side() -> Result<()> {
    let env = Env::new()?;
    let c = relayed_call(&env)?;
    for (who, p) in [("caller", &c.a), ("callee", &c.b)] {
        let (offers, answers) = (channel5(&c.b, "in", "offer")?, channel5(&c.a, "in", "answer")?);
        p.eval("window.dispatchEvent(new Event('online'))")?;
        c.b.wait_for(&format!("window.__spy.in.filter(m => m.label === 'renegotiation' && JSON.parse(m.data).type === 'offer').length > {offers}"), T)?;
        c.a.wait_for(&format!("window.__spy.in.filter(m => m.label === 'renegotiation' && JSON.parse(m.data).type === 'answer').length > {answers}"), T)?;
        for q in [&c.a, &c.b] {
            q.wait_data("phase", "in-call", T)?;
            wait_video(q)?;
        }
        eprintln!("restart asked by the {who}: done");
    }
    channel5_follows_android_rules(&c)
}

/// What a page holds that a long call could pile up: restart offers made,
/// data-channel messages sent, timers pending, live peer connections.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Counts {
    offers: u64,
    sent: u64,
    timers: u64,
    live_pcs: u64,
}

fn counts(p: &Page) -> Result<Counts> {
    let v = p.eval(
        "({ offers: window.__host.offers, sent: window.__spy.out.length, timers: window.__host.timersPending(), \
          live: window.__host.pcList.filter(pc => pc.connectionState !== 'closed').length })",
    )?;
    let n = |k: &str| v[k].as_u64().unwrap_or(u64::MAX);
    Ok(Counts { offers: n("offers"), sent: n("sent"), timers: n("timers"), live_pcs: n("live") })
}

/// A flapping path: a relayed call whose path drops for 3 s every 8 s,
/// five times (`CALLS_FLAP_OUTAGES` runs more; media is back within 3.3 s
/// of each, so the page has settled before the next). The long
/// runs belong to the bench: `cargo xtask bench --soak 40 --flap 3/20`
/// flaps ours and the deployed page side by side for as long as asked and
/// judges the same things at the end (soak.rs), with the drift of heap,
/// timers and messages over the whole run.
///
/// After every outage each person sees the other again (frames decoded
/// grow, then the picture in the element bound to the remote stream
/// moves) and both pages are in the call; neither page ever shows
/// "Connection lost" or calls `endCall`; restarts stay bounded (at most
/// one per outage). At the end each person hears the other, each page has
/// one live connection, no more timers pending than after the first
/// outages, and sends no more data-channel messages per outage than it did
/// in the first ones.
#[test]
fn path_that_flaps_3s_every_8s_five_times() -> Result<()> {
    let count: u64 = std::env::var("CALLS_FLAP_OUTAGES").ok().and_then(|m| m.parse().ok()).unwrap_or(5).clamp(5, 360);
    let env = Env::exclusive()?;
    let c = relayed_call(&env)?;
    let (period, gap) = (Duration::from_secs(8), Duration::from_secs(3));
    let mut seen: Vec<[Counts; 2]> = vec![[counts(&c.a)?, counts(&c.b)?]];
    let mut healed = Vec::new();
    for _ in 0..count {
        let start = Instant::now();
        c.relay.set_blocked(true);
        std::thread::sleep(gap); // the outage itself
        c.relay.set_blocked(false);
        healed.push(frames_back(&c.a, &c.b, Instant::now(), Duration::from_secs(15))?);
        for p in [&c.a, &c.b] {
            p.wait_data("phase", "in-call", T)?;
            wait_video(p)?;
            check(p, "!window.__host.calls.some(c => c.name === 'endCall')", "no endCall for an outage the rules survive")?;
            check(p, "!window.__host.phases.some(x => x.phase === 'failed' || x.phase === 'ended')", "never failed or ended")?;
        }
        seen.push([counts(&c.a)?, counts(&c.b)?]);
        // The cadence of the scenario: the next outage a period after this one began.
        std::thread::sleep(period.saturating_sub(start.elapsed()));
    }
    for p in [&c.a, &c.b] {
        wait_heard(p)?;
    }
    let outages = seen.len() as u64 - 1;
    let ms: Vec<u128> = healed.iter().map(Duration::as_millis).collect();
    eprintln!("flapping: {outages} outages of 3 s every 8 s: media back after {ms:?} ms (median {} ms)", median(healed.clone()).as_millis());
    for (i, p) in [&c.a, &c.b].into_iter().enumerate() {
        let first = seen[0][i];
        let last = seen[seen.len() - 1][i];
        let per_outage: Vec<u64> = seen.windows(2).map(|w| w[1][i].sent - w[0][i].sent).collect();
        let timers: Vec<u64> = seen.iter().map(|s| s[i].timers).collect();
        eprintln!("{}: restart offers {}, messages per outage {per_outage:?}, timers pending {timers:?}", p.name(), last.offers - first.offers);
        ensure(p, last.offers - first.offers <= outages, "at most one restart offer per outage")?;
        ensure(p, last.live_pcs == 1, &format!("one live connection at the end, not {}", last.live_pcs))?;
        let early_timers = timers.iter().take(4).max().copied().unwrap_or(0);
        ensure(p, last.timers <= early_timers, &format!("timers pending do not grow: {timers:?}"))?;
        let early_msgs = per_outage.iter().take(3).max().copied().unwrap_or(0);
        let late_msgs = per_outage.iter().rev().take(3).max().copied().unwrap_or(0);
        ensure(p, late_msgs <= early_msgs + 2, &format!("messages per outage do not grow: {per_outage:?}"))?;
    }
    channel5_follows_android_rules(&c)
}
