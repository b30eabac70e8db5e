//! Audio first on a narrow path (PROTOCOL.md section "Our video on a
//! narrow path", the rules in `crates/call-core/src/congestion.rs`), end
//! to end in Chromium: our page calls our page, both forced through coturn
//! (`relayOnly`), coturn reached through the userspace relay that shapes
//! each page's uplink with the same profile (`testhost::shaper`), as the
//! quality bench does (`src/bin/bench/quality.rs`). The call is set up and
//! its video flows on a wide path; then the path narrows to what carries
//! the voice but no picture, and widens again.
//!
//! Judged on both pages, as the person sees and hears it: while the path
//! is narrow each page pauses its video (its sender sends nothing), so
//! each screen says "Video paused: poor connection" and shows the avatar
//! where the other person's picture was, and the other person's voice is still heard; once the
//! path is wide again each screen shows the other person's moving picture
//! again, the words are gone, and both stay so past the moment the try
//! after the pause is judged. What the pages did and when (the core's
//! "video for the path" lines, the browser's estimate each second) is
//! printed (`--nocapture`), and is in any failure message.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant};

use call_core::congestion::{DOWN_AFTER, SETTLE_MS};
use call_core::params::CONGESTION_POLL_MS;
use call_core::Msg;
use e2e::*;
use serde_json::json;
use testhost::relay::Relay;
use testhost::shaper::{Profile, Settings};
use testhost::turn::Turn;

/// The wide path: what the quality bench's dip profile has around its dip.
const WIDE_BPS: u64 = 2_500_000;
/// The narrow path (IP bytes, the TURN channel's header included): about
/// what the voice takes (Opus with RED, about 35 kbit/s of payload, some
/// 60 on this link: 45 to 50 of its 50 packets a second arrive), and no
/// room for a picture. Chromium's estimate on it falls to 30 to 85
/// kbit/s within 2 s (measured), under the 100 at which our video pauses.
const NARROW_BPS: u64 = 60_000;
/// How long the narrow step lasts once the profile is (re)started.
const NARROW_STEP: Duration = Duration::from_secs(1);
/// How often the path is kept narrow (the profile started over).
const KEEP: Duration = Duration::from_millis(250);
/// The bound on waiting for both pauses: the slowest way down (full,
/// then half size, then paused: two estimate polls of 2 s, a settle of
/// 3 s, two polls of 1 s) is about 10 s.
const PAUSE_BOUND: Duration = Duration::from_secs(20);
/// The bound on the video's return once the path is wide: the retry
/// comes 8 s after the pause; one that fell on a still narrow path
/// waits 16 s more.
const BACK_BOUND: Duration = Duration::from_secs(40);

/// Before any page script: every console line with the page's time, and
/// once the call's connection exists, one sample a second of what the
/// path carries (the estimate, what is sent and received).
const RECORDER: &str = "(() => { const r = window.__path = { log: [], s: [] }; \
  const log = console.log; console.log = function () { \
    if (r.log.length < 400) r.log.push({ t: performance.now(), m: [].slice.call(arguments).map(String).join(' ') }); \
    return log.apply(console, arguments); }; \
  setInterval(() => { const pc = window.__host && window.__host.callPc && window.__host.callPc(); if (!pc || r.s.length > 300) return; \
    pc.getStats().then(st => { const o = { t: performance.now(), est: null, ao: 0, vo: 0, ai: 0, vf: 0 }; let pair = null; \
      st.forEach(s => { if (s.type === 'transport' && s.selectedCandidatePairId) pair = st.get(s.selectedCandidatePairId); \
        if (s.type === 'outbound-rtp') { if (s.kind === 'audio') o.ao += s.bytesSent || 0; else o.vo += s.bytesSent || 0; } \
        if (s.type === 'inbound-rtp') { if (s.kind === 'audio') o.ai += s.packetsReceived || 0; else o.vf += s.framesDecoded || 0; } }); \
      if (pair && pair.availableOutgoingBitrate !== undefined) o.est = Math.round(pair.availableOutgoingBitrate / 1000); \
      r.s.push(o); }, () => {}); }, 1000); })();";

/// What `p` did, in seconds since its page time `t0` (the path
/// narrowed): the core's tiers, and with `rows` a line a second of the
/// estimate, the audio and video sent (kbit/s of payload), the audio
/// packets received and the frames decoded in that second.
fn path_record(p: &Page, t0: f64, rows: bool) -> String {
    let js = format!(
        "(() => {{ const r = window.__path, f = t => ((t - {t0}) / 1000).toFixed(1); \
           const tiers = r.log.filter(l => l.m.startsWith('video for the path')).map(l => '  ' + f(l.t) + ' s ' + l.m); \
           const s = {rows} ? r.s.filter(x => x.t >= {t0} - 3000) : []; \
           const lines = s.slice(1).map((x, i) => {{ const y = s[i], d = (x.t - y.t) / 1000; \
             return '  ' + f(x.t) + ' s: estimate ' + x.est + ', sent audio ' + Math.round((x.ao - y.ao) * 8 / d / 1000) + \
               ' video ' + Math.round((x.vo - y.vo) * 8 / d / 1000) + ', got ' + (x.ai - y.ai) + ' audio packets, ' + (x.vf - y.vf) + ' frames'; }}); \
           return tiers.concat(lines).join('\\n'); }})()"
    );
    p.eval_str(&js).unwrap_or_else(|e| format!("(no record: {e})"))
}

/// On `p` the other person's video is paused for the path, as the person
/// sees it: the words, the avatar shown, no remote video element shown.
fn paused_shown() -> String {
    format!(
        "document.getElementById('notice').textContent === {:?} \
         && document.documentElement.dataset.showAvatar === 'on' \
         && document.getElementById('who').getClientRects().length > 0 \
         && document.getElementById('remote-video').getClientRects().length === 0",
        Msg::VideoPaused.en()
    )
}

/// The page's video sender sends no byte for 0.8 s.
const SENDS_NO_VIDEO: &str = "(async () => { const s = window.__host.callPc().getSenders().find(x => x.track && x.track.kind === 'video'); \
  if (!s) return false; const sent = async () => { let n = 0; (await s.getStats()).forEach(x => { if (x.type === 'outbound-rtp') n += x.bytesSent || 0; }); return n; }; \
  const b0 = await sent(); await new Promise(r => setTimeout(r, 800)); return (await sent()) === b0; })()";

/// The other page told `p` on channel 3 (the last muted state it got).
fn told(p: &Page, json: &str) -> Result<()> {
    let js = format!(
        "(() => {{ const m = window.__spy.in.filter(m => m.label === 'mutedState'); return m.length > 0 && m[m.length - 1].data === {json:?}; }})()"
    );
    p.wait_for(&js, T).map(|_| ())
}

/// Runs `f` with the path kept narrow: the profile is started over every
/// [`KEEP`], so its narrow step never runs out; once `f` returns, the
/// path is wide again within [`NARROW_STEP`]. (How long the pages take to
/// pause varies with the moment of the estimate's polls and the machine's
/// load; the voice is judged on the narrow path, however long that takes.)
fn narrow_while<R>(relay: &Relay, f: impl FnOnce() -> R) -> R {
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            while !done.load(Ordering::SeqCst) {
                relay.start_profile();
                sleep(KEEP);
            }
        });
        let r = f();
        done.store(true, Ordering::SeqCst);
        r
    })
}

#[test]
fn narrow_path_pauses_the_video_keeps_the_voice_and_the_video_comes_back() -> Result<()> {
    let started = Instant::now();
    let env = Env::new()?;
    let turn = Turn::start()?;
    // Before the profile starts its first step holds (wide); from its
    // start the later step of the same time (narrow), then wide again.
    let profile = Profile::new(vec![
        (Duration::ZERO, Settings::rate(WIDE_BPS)),
        (Duration::ZERO, Settings::rate(NARROW_BPS)),
        (NARROW_STEP, Settings::rate(WIDE_BPS)),
    ])
    .map_err(Error::new)?;
    let relay = Relay::start_shaped(SocketAddr::from(([127, 0, 0, 1], turn.port())), profile)?;
    let config = json!({ "iceServers": relay.ice_servers() });
    let open = |name: &str, path: &str| -> Result<Page> {
        let p = env.page(name, config.clone())?;
        spy(&p)?;
        p.add_init_script(RECORDER)?;
        p.goto(&env.url(path))?;
        Ok(p)
    };
    let b = open("B (callee)", "/call.html?relayOnly")?;
    let a = open("A (caller)", "/call.html?relayOnly#startCall")?;
    connect(&a, &b)?;
    for p in [&a, &b] {
        p.wait_data("route", "relay", T)?;
        wait_video(p)?;
    }
    let setup = started.elapsed();

    let narrowed = Instant::now();
    let t0 = [page_now(&a)?, page_now(&b)?];
    let record = |rows: bool| {
        format!("{}:\n{}\n{}:\n{}", a.name(), path_record(&a, t0[0], rows), b.name(), path_record(&b, t0[1], rows))
    };
    let fail = |e: Error| Error::new(format!("{e}\nwhat the pages did, seconds since the path narrowed:\n{}", record(true)));

    // Narrow: each page pauses its video and tells the other; each screen
    // says so and shows the avatar; each person still hears the other.
    let (paused, heard) = narrow_while(&relay, || -> Result<(Vec<Duration>, Duration)> {
        let mut paused = Vec::new();
        for p in [&a, &b] {
            p.wait_for(&paused_shown(), PAUSE_BOUND)?;
            paused.push(narrowed.elapsed());
        }
        // The words are true: each page stops sending its picture, not
        // only says so (no frame would arrive over this path anyway, so
        // this is judged at the sender). Quick: a paused video is tried
        // again 8 s after its pause.
        for p in [&a, &b] {
            p.wait_for(SENDS_NO_VIDEO, T)?;
        }
        for p in [&a, &b] {
            told(p, r#"{"audioEnabled":true,"videoEnabled":false,"videoPaused":true}"#)?;
            wait_heard(p)?;
        }
        for p in [&a, &b] {
            check(p, &paused_shown(), "the voice was heard while the video was paused")?;
        }
        Ok((paused, narrowed.elapsed()))
    })
    .map_err(fail)?;

    // Wide again: the picture comes back on both screens and the words
    // go; they stay so past the moment the try after the pause is judged
    // (a settle, then samples under the floor in a row, a poll apart).
    let widened = narrowed.elapsed();
    for p in [&a, &b] {
        p.wait_for("document.getElementById('notice').textContent === '' && document.documentElement.dataset.showAvatar === 'off'", BACK_BOUND)
            .map_err(fail)?;
        wait_video(p).map_err(fail)?;
        told(p, r#"{"audioEnabled":true,"videoEnabled":true}"#).map_err(fail)?;
    }
    let back = narrowed.elapsed();
    sleep(Duration::from_millis(SETTLE_MS + u64::from(DOWN_AFTER) * CONGESTION_POLL_MS));
    for p in [&a, &b] {
        check(p, "document.getElementById('notice').textContent === ''", "the video stays back: no pause again")
            .map_err(fail)?;
        wait_video(p).map_err(fail)?;
        wait_heard(p).map_err(fail)?;
    }
    let rows = std::env::var_os("CALLS_VERBOSE").is_some();
    eprintln!(
        "narrow path: set up in {} ms; paused on A's screen {} ms, on B's {} ms after the path narrowed, \
         the voice heard at {} ms; the path kept narrow until {} ms (wide within 1 s); the picture back and the words gone on both at {} ms; \
         test {} ms\n{}",
        setup.as_millis(),
        paused[0].as_millis(),
        paused[1].as_millis(),
        heard.as_millis(),
        widened.as_millis(),
        back.as_millis(),
        started.elapsed().as_millis(),
        record(rows)
    );
    Ok(())
}
