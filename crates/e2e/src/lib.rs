//! Plumbing for the end-to-end tests in `tests/browser.rs`: a browser per
//! test, a limit on calls in flight, and a "messenger" that carries the SDP
//! between two call pages the way Delta Chat does (base64 in the URL
//! fragment).

pub mod hostile;

use std::sync::{Condvar, Mutex};
use std::time::Duration;

use serde_json::Value;
pub use testhost::browser::HostCall;
pub use testhost::{base64, encode_uri_component, err, Browser, Error, Page, Result, Server};

/// The default bound of every wait: generous, CI machines are slow.
pub const T: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------
// At most two calls in flight: each is a Chromium encoding and decoding
// video twice, and the machine has two cores.

const SLOTS: usize = 2;
static USED: Mutex<usize> = Mutex::new(0);
static FREED: Condvar = Condvar::new();

/// Slots for calls in flight; given back on drop.
pub struct Permit(usize);

/// One slot.
pub fn permit() -> Permit {
    take(1)
}

/// Every slot: for tests that measure time, which another call running at
/// the same moment would distort.
pub fn permit_exclusive() -> Permit {
    take(SLOTS)
}

fn take(n: usize) -> Permit {
    let mut used = USED.lock().unwrap_or_else(|e| e.into_inner());
    while *used + n > SLOTS {
        used = FREED.wait(used).unwrap_or_else(|e| e.into_inner());
    }
    *used += n;
    Permit(n)
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut used = USED.lock().unwrap_or_else(|e| e.into_inner());
        *used -= self.0;
        FREED.notify_all();
    }
}

// ---------------------------------------------------------------------------

/// What one test needs: a server, a browser and a slot. Fields drop in
/// order: the browser (and its pages) before the server.
pub struct Env {
    pub browser: Browser,
    pub server: Server,
    _permit: Permit,
}

impl Env {
    /// Fails with a clear message if `dist/` was not built.
    pub fn new() -> Result<Env> {
        Env::with_permit(false)
    }

    /// Alone on the machine (no other test's call in flight): for timing.
    pub fn exclusive() -> Result<Env> {
        Env::with_permit(true)
    }

    fn with_permit(exclusive: bool) -> Result<Env> {
        Env::launch(exclusive, &[])
    }

    /// With extra Chromium switches (e.g. two fake cameras).
    pub fn with_args(extra: &[&str]) -> Result<Env> {
        Env::launch(false, extra)
    }

    fn launch(exclusive: bool, extra: &[&str]) -> Result<Env> {
        testhost::require_dist()?;
        let permit = if exclusive { permit_exclusive() } else { permit() };
        let server = Server::start()?;
        let browser = Browser::launch_with(extra)?;
        Ok(Env { browser, server, _permit: permit })
    }

    /// A new call window; `config` is the host shim's `__hostConfig`.
    pub fn page(&self, name: &str, config: Value) -> Result<Page> {
        self.browser.new_page(name, config)
    }

    /// A new call window that loads `path` (e.g. `/call.html#startCall`).
    pub fn open(&self, name: &str, config: Value, path: &str) -> Result<Page> {
        let p = self.page(name, config)?;
        p.goto(&self.server.url(path))?;
        Ok(p)
    }

    pub fn url(&self, path: &str) -> String {
        self.server.url(path)
    }

    /// A call in progress between two windows of `path` (e.g.
    /// `/debug.html`): B opens it, A adds `#startCall`, B answers on the
    /// prompt. Returns (A, B).
    pub fn call(&self, path: &str) -> Result<(Page, Page)> {
        let b = self.open("B (callee)", Value::Object(Default::default()), path)?;
        let a = self.open("A (caller)", Value::Object(Default::default()), &format!("{path}#startCall"))?;
        connect(&a, &b)?;
        Ok((a, b))
    }
}

// ---------------------------------------------------------------------------
// The messenger

/// How a host writes the base64 payload into the fragment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enc {
    /// Desktop: raw base64 with literal `=` padding.
    Raw,
    /// Android: `encodeURIComponent` of the base64 (`%2B`, `%2F`, `%3D`).
    UrlEncoded,
}

/// The fragment payload for an SDP.
pub fn payload(sdp: &str, enc: Enc) -> String {
    let b = base64(sdp.as_bytes());
    match enc {
        Enc::Raw => b,
        Enc::UrlEncoded => encode_uri_component(&b),
    }
}

/// Waits for the caller's `startCall(offer)` and returns the offer.
pub fn wait_offer(caller: &Page) -> Result<String> {
    sdp_of(caller, "startCall")
}

/// Waits for the callee's `acceptCall(answer)` and returns the answer.
pub fn wait_answer(callee: &Page) -> Result<String> {
    sdp_of(callee, "acceptCall")
}

fn sdp_of(p: &Page, call: &str) -> Result<String> {
    let c = p.wait_host_call(call, T)?;
    match c.arg {
        Some(sdp) if sdp.starts_with("v=0") => {
            check_one_stream(p, call, &sdp)?;
            Ok(sdp)
        }
        other => err(format!("{}: {call} got {other:?}, not an SDP", p.name())),
    }
}

/// Desktop's flow for a caller: our page, loaded without a command, has
/// made its connection (the ICE servers came); the host then sets
/// `#startCall`.
pub fn start_call_on_loaded(caller: &Page) -> Result<()> {
    caller.wait_for("window.__host.pcs === 1", T)?;
    caller.set_hash("#startCall")
}

/// Hands an offer to the callee: `#offerIncomingCall=` (prompt) or
/// `#acceptCall=` (answered in the host's UI), by `hashchange`.
pub fn send_offer(callee: &Page, offer: &str, prompt: bool, enc: Enc) -> Result<()> {
    let cmd = if prompt { "offerIncomingCall" } else { "acceptCall" };
    callee.set_hash(&format!("#{cmd}={}", payload(offer, enc)))
}

/// Hands the callee's answer to the caller (`#onAnswer=`).
pub fn send_answer(caller: &Page, answer: &str, enc: Enc) -> Result<()> {
    caller.set_hash(&format!("#onAnswer={}", payload(answer, enc)))
}

/// Waits for `<html data-phase>` to be `phase` on every page.
/// On failure the message also has the state of the other pages.
pub fn wait_phase(pages: &[&Page], phase: &str) -> Result<()> {
    for p in pages {
        if let Err(e) = p.wait_data("phase", phase, T) {
            let others: String = pages.iter().filter(|o| o.name() != p.name()).map(|o| o.dump()).collect();
            return err(format!("{e}\n{others}"));
        }
    }
    Ok(())
}

/// The whole call with the prompt: `a` must have been sent `#startCall`
/// and `b` be open. Delivers the offer to `b`, presses Answer there,
/// delivers the answer to `a` and waits until both are in the call.
/// Returns (offer, answer).
pub fn connect(a: &Page, b: &Page) -> Result<(String, String)> {
    let offer = wait_offer(a)?;
    send_offer(b, &offer, true, Enc::Raw)?;
    b.wait_data("phase", "incoming", T)?;
    b.click("#answer")?;
    let answer = wait_answer(b)?;
    send_answer(a, &answer, Enc::Raw)?;
    wait_phase(&[a, b], "in-call")?;
    Ok((offer, answer))
}

/// Presses Answer on the deployed page's prompt (its own markup).
pub fn answer_on_theirs(p: &Page) -> Result<()> {
    const ANSWER: &str = "[aria-label=\"Answer call\"]";
    p.wait_for(&format!("!!document.querySelector('{ANSWER}')"), T)?;
    p.click(ANSWER)
}

/// Mute state both ways between our page and the deployed page: our mute
/// reaches their page (which takes the message as valid), and their mute
/// reaches our view; both end unmuted.
pub fn mute_both_ways_with_theirs(ours: &Page, theirs: &Page) -> Result<()> {
    ours.click("#mic")?;
    theirs.wait_for(
        "window.__spy.log.some(l => l.startsWith('received mutedState') && l.includes('\"audioEnabled\":false'))",
        T,
    )?;
    check(theirs, "!window.__spy.log.some(l => l.includes('invalid mutedState'))", "our mutedState is valid to them")?;
    ours.click("#mic")?;
    ours.wait_data("remote-mic", "on", T)?;
    theirs.click("[aria-label=\"Mute microphone\"]")?;
    ours.wait_data("remote-mic", "off", T)?;
    theirs.click("[aria-label=\"Unmute microphone\"]")?;
    ours.wait_data("remote-mic", "on", T)
}

/// The `m=` kinds of an SDP, in order (`audio`, `video`, `application`).
pub fn m_lines(sdp: &str) -> Vec<String> {
    sdp.lines()
        .filter_map(|l| l.strip_prefix("m="))
        .map(|l| l.split(' ').next().unwrap_or("").to_string())
        .collect()
}

/// The `typ` of every candidate line in an SDP.
pub fn candidate_types(sdp: &str) -> Vec<String> {
    sdp.lines()
        .filter(|l| l.starts_with("a=candidate:"))
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            w.by_ref().find(|x| *x == "typ")?;
            w.next().map(str::to_string)
        })
        .collect()
}

/// The first `a=ice-ufrag:` value of an SDP.
pub fn ice_ufrag(sdp: &str) -> Option<String> {
    sdp.lines().find_map(|l| l.trim().strip_prefix("a=ice-ufrag:").map(str::to_string))
}

// ---------------------------------------------------------------------------
// Media checks (JavaScript evaluated in the page)

/// The tracks the call's connection receives, as a JS `Set`: what the
/// other person sends. Media checks look only at elements bound to one of
/// these, so a page's own camera preview (a `<video>` too) never counts.
const REMOTE_TRACKS: &str = "new Set((window.__host.callPc() ? window.__host.callPc().getReceivers() : []).map(r => r.track))";

/// The other person is seen: a rendered `<video>` whose `srcObject` holds a
/// live track the connection *receives* has a picture size, plays, its
/// clock advances, and the connection keeps decoding frames. Works on any
/// page the host shim is in (ours, the deployed page), whatever its markup.
const VIDEO_FLOWING: &str = r#"(async () => {
  const remote = REMOTE_TRACKS;
  const seen = v => v.srcObject && v.srcObject.getVideoTracks().some(t => remote.has(t) && t.readyState === 'live')
    && v.getClientRects().length > 0 && getComputedStyle(v).visibility !== 'hidden';
  const els = [...document.querySelectorAll('video')].filter(seen);
  if (!els.length) return false;
  const i0 = await window.__host.inbound(); const t0 = els.map(v => v.currentTime);
  await new Promise(r => setTimeout(r, 400));
  const i1 = await window.__host.inbound();
  return els.some((v, k) => seen(v) && !v.paused && v.videoWidth > 0 && v.currentTime > t0[k])
    && !!i0 && !!i1 && i1.videoFrames > i0.videoFrames;
})()"#;

/// The other person's audio plays: a media element that is playing, not
/// muted and not silent, holds a live track the connection receives, and
/// audio packets keep arriving.
const AUDIO_FLOWING: &str = r#"(async () => {
  const remote = REMOTE_TRACKS;
  const playing = a => a.srcObject && a.srcObject.getAudioTracks().some(t => remote.has(t) && t.readyState === 'live')
    && !a.paused && !a.muted && a.volume > 0;
  if (![...document.querySelectorAll('audio, video')].some(playing)) return false;
  const i0 = await window.__host.inbound();
  await new Promise(r => setTimeout(r, 400));
  const i1 = await window.__host.inbound();
  return !!i0 && !!i1 && i1.audioPackets > i0.audioPackets && ENERGY;
})()"#;

/// How much the received audio's `totalAudioEnergy` must grow in the
/// 400 ms window to count as sound: about -37 dBFS. A muted sender adds
/// about 1e-9 (comfort noise; measured in Chromium 87 by the engine matrix),
/// so any growth at all would hear a muted person.
const HEARD_ENERGY: &str = "1e-4";

fn audio_js(energy: bool) -> String {
    let energy = if energy { ["i1.audioEnergy - i0.audioEnergy > ", HEARD_ENERGY].concat() } else { "true".into() };
    AUDIO_FLOWING.replace("REMOTE_TRACKS", REMOTE_TRACKS).replace("ENERGY", &energy)
}

/// Waits until `p` shows the other side's moving picture (see
/// [`VIDEO_FLOWING`]).
pub fn wait_video(p: &Page) -> Result<()> {
    p.wait_for(&VIDEO_FLOWING.replace("REMOTE_TRACKS", REMOTE_TRACKS), T).map(|_| ())
}

/// Waits until `p` plays the other side's audio (see [`AUDIO_FLOWING`]).
/// For a peer that may send silence (calls-peer's test pattern).
pub fn wait_audio(p: &Page) -> Result<()> {
    p.wait_for(&audio_js(false), T).map(|_| ())
}

/// Waits until the person on `p` hears the other side: [`wait_audio`], and
/// the received audio has energy (`totalAudioEnergy` grows; the fake
/// microphone beeps), so it is sound, not silence.
pub fn wait_heard(p: &Page) -> Result<()> {
    p.wait_for(&audio_js(true), T).map(|_| ())
}

/// What the other person perceives of us, judged on *their* page: our
/// moving picture and our audio with energy.
pub fn wait_seen_and_heard(p: &Page) -> Result<()> {
    wait_video(p)?;
    wait_heard(p)
}

// ---------------------------------------------------------------------------
// The wire

/// PROTOCOL.md section 4: both tracks belong to one stream on the wire.
/// Every m-line that sends (`sendrecv`, `sendonly`) carries
/// `a=msid:<stream> <track>` with a stream id, never `-`, and it is the
/// same stream on every such m-line. Returns that stream id (`None` when
/// nothing is sent).
pub fn one_stream(sdp: &str) -> std::result::Result<Option<String>, String> {
    let mut stream: Option<String> = None;
    let sections = sdp.split("\nm=").skip(1);
    for (i, section) in sections.enumerate() {
        let kind = section.split(' ').next().unwrap_or("");
        if kind != "audio" && kind != "video" {
            continue;
        }
        let attrs: Vec<&str> = section.lines().map(str::trim).collect();
        if !attrs.iter().any(|a| *a == "a=sendrecv" || *a == "a=sendonly") {
            continue;
        }
        let msid: Vec<&str> = attrs.iter().filter_map(|a| a.strip_prefix("a=msid:")).collect();
        let [line] = msid.as_slice() else {
            return Err(format!("m-line {i} ({kind}) sends with {} a=msid lines, not one", msid.len()));
        };
        let id = line.split(' ').next().unwrap_or("");
        if id.is_empty() || id == "-" {
            return Err(format!("m-line {i} ({kind}) sends a track without a stream: a=msid:{line}"));
        }
        match &stream {
            Some(s) if s != id => return Err(format!("m-line {i} ({kind}) names stream {id}, another m-line {s}")),
            _ => stream = Some(id.to_string()),
        }
    }
    Ok(stream)
}

/// [`one_stream`] on an SDP that `p` emitted, as a test failure.
pub fn check_one_stream(p: &Page, what: &str, sdp: &str) -> Result<()> {
    one_stream(sdp).map(|_| ()).or_else(|e| err(format!("{}: {what}: {e}\n{sdp}", p.name())))
}

/// [`check_one_stream`] on the call's current local description on `p`
/// (after any renegotiation), if there is one. (Firefox throws on reading
/// the description of a closed connection: after a hang-up there is none.)
pub fn local_description_has_one_stream(p: &Page) -> Result<()> {
    let js = "(() => { try { return (window.__host && window.__host.callPc() && window.__host.callPc().localDescription || {}).sdp || ''; } catch (e) { return ''; } })()";
    match p.eval_str(js)? {
        sdp if sdp.is_empty() => Ok(()),
        sdp => check_one_stream(p, "the local description", &sdp),
    }
}

/// [`check_one_stream`] on every renegotiation offer and answer `p` sent
/// on channel 5.
pub fn renegotiations_have_one_stream(p: &Page) -> Result<()> {
    let js = "JSON.stringify(window.__spy.out.filter(m => m.label === 'renegotiation').map(m => JSON.parse(m.data)).filter(m => m.sdp).map(m => m.sdp))";
    let sdps: Vec<String> = serde_json::from_str(&p.eval_str(js)?).unwrap_or_default();
    for sdp in &sdps {
        check_one_stream(p, "a renegotiation on channel 5", sdp)?;
    }
    Ok(())
}

/// Fails unless `js` is true on `p`, with the page's state in the message.
pub fn check(p: &Page, js: &str, what: &str) -> Result<()> {
    if p.eval_bool(js)? {
        Ok(())
    } else {
        err(format!("{}: {what}\n(check: {js})\n{}", p.name(), p.dump()))
    }
}

/// Fails unless `cond`, with `p`'s state in the message.
pub fn ensure(p: &Page, cond: bool, what: &str) -> Result<()> {
    if cond {
        Ok(())
    } else {
        err(format!("{}: {what}\n{}", p.name(), p.dump()))
    }
}

/// No CSP violation and no alert()/confirm()/prompt() on the page, and
/// its last description on the wire had both tracks in one stream.
pub fn check_clean(p: &Page) -> Result<()> {
    check(p, "window.__host.csp.length === 0", "the page violated its Content-Security-Policy")?;
    check(p, "window.__host.alerts.length === 0", "something called alert/confirm/prompt")?;
    local_description_has_one_stream(p)
}

// ---------------------------------------------------------------------------
// What the page does, seen from inside (before any page script runs)

/// Records the console, unhandled promise rejections, every data channel
/// (to inject a peer's messages) and their traffic both ways with times.
pub const SPY: &str = "window.__spy = { log: [], out: [], in: [], rejections: [], channels: [] }; (function () { \
  var s = window.__spy, log = console.log; \
  console.log = function () { s.log.push([].slice.call(arguments).map(String).join(' ')); return log.apply(console, arguments); }; \
  addEventListener('unhandledrejection', function (e) { s.rejections.push(String(e.reason)); }); \
  var send = RTCDataChannel.prototype.send; \
  RTCDataChannel.prototype.send = function (d) { s.out.push({ label: this.label, data: String(d), t: performance.now() }); return send.call(this, d); }; \
  var create = RTCPeerConnection.prototype.createDataChannel; \
  RTCPeerConnection.prototype.createDataChannel = function () { var dc = create.apply(this, arguments); s.channels.push(dc); \
    dc.addEventListener('message', function (e) { s.in.push({ label: dc.label, data: String(e.data), t: performance.now() }); }); \
    return dc; }; \
})();";

/// Privacy before Answer (or any command), as the page can show it: no
/// connection has a description or a transceiver, none has started
/// gathering, and no remote description was applied. Our page makes its
/// connection when the ICE servers come (Desktop's flow: the command comes
/// later); without a description and without a candidate pool it gathers
/// no candidate and sends no packet (`tests/browser.rs` counts the packets
/// at a TURN server to show it).
pub const NOTHING_GATHERED: &str = "(window.__host.srd === 0 && window.__host.pcList.every(pc => \
  pc.iceGatheringState === 'new' && !pc.localDescription && !pc.remoteDescription && pc.getTransceivers().length === 0))";

/// Installs [`SPY`] on `p` for every document it loads from now on.
pub fn spy(p: &Page) -> Result<()> {
    p.add_init_script(SPY)
}

// ---------------------------------------------------------------------------
// Network trouble: how a call comes back

/// Decoded video frames so far (0 before the first).
pub fn frames(p: &Page) -> Result<u64> {
    Ok(p.eval("window.__host.inbound().then(i => i ? i.videoFrames : 0)")?.as_u64().unwrap_or(0))
}

/// Media flows again on both pages: decoded frames grow again on each
/// (polled every 100 ms). Returns how long after `since` the later of the
/// two did. Works on any page the host shim is in (theirs too).
pub fn frames_back(a: &Page, b: &Page, since: std::time::Instant, bound: Duration) -> Result<Duration> {
    let start = [frames(a)?, frames(b)?];
    let mut back = [None, None];
    while back.iter().any(Option::is_none) {
        if since.elapsed() > bound {
            let dumps: Vec<String> = [a, b].iter().map(|p| format!("{}\n{}", p.dump(), traffic(p))).collect();
            return err(format!("media not back after {} s\n{}", bound.as_secs(), dumps.join("\n")));
        }
        for (i, p) in [a, b].into_iter().enumerate() {
            if back[i].is_none() && frames(p)? >= start[i] + 3 {
                back[i] = Some(since.elapsed());
            }
        }
        std::thread::sleep(Duration::from_millis(100)); // polling interval
    }
    if std::env::var_os("CALLS_VERBOSE").is_some() {
        eprintln!("frames back: {} after {:?}, {} after {:?}", a.name(), back[0], b.name(), back[1]);
    }
    Ok(back.into_iter().flatten().max().unwrap_or_default())
}

/// [`frames_back`] on our pages, which then must be in the call with a
/// moving picture.
pub fn media_back(a: &Page, b: &Page, since: std::time::Instant, bound: Duration) -> Result<Duration> {
    let took = frames_back(a, b, since, bound)?;
    for p in [a, b] {
        p.wait_for("document.documentElement.dataset.phase === 'in-call'", bound)?;
        wait_video(p)?;
    }
    Ok(took)
}

/// The data-channel messages the page sent and got (from [`SPY`]), for
/// failure messages.
pub fn traffic(p: &Page) -> String {
    let js = "JSON.stringify(['out', 'in'].map(d => d + ': ' + window.__spy[d].map(m => \
        Math.round(m.t) + ' ' + m.label + ' ' + m.data.slice(0, 50)).join(' | ')))";
    p.eval_str(js).unwrap_or_else(|e| format!("(no traffic: {e})"))
}

/// The page's clock (`performance.now()`), to mark a moment.
pub fn page_now(p: &Page) -> Result<f64> {
    Ok(p.eval("performance.now()")?.as_f64().unwrap_or(0.0))
}

/// The phases the page went through since page time `t`.
pub fn phases_since(p: &Page, t: f64) -> Result<Vec<String>> {
    let v = p.eval(&format!("window.__host.phases.filter(x => x.t >= {t}).map(x => x.phase)"))?;
    Ok(v.as_array().map(|a| a.iter().filter_map(|x| x.as_str().map(String::from)).collect()).unwrap_or_default())
}

/// How many channel-5 messages of `kind` the page sent (`out`) or got (`in`).
pub fn channel5(p: &Page, dir: &str, kind: &str) -> Result<u64> {
    let js = format!(
        "window.__spy.{dir}.filter(m => m.label === 'renegotiation' && JSON.parse(m.data).type === '{kind}').length"
    );
    Ok(p.eval(&js)?.as_u64().unwrap_or(0))
}

/// Channel 5 followed the Android client's rules: only the caller offers;
/// the callee answers (one answer per offer at most) or asks.
pub fn channel5_follows_android_rules(caller: &Page, callee: &Page) -> Result<()> {
    ensure(callee, channel5(callee, "out", "offer")? == 0, "the callee never sends a renegotiation offer")?;
    let asks = channel5(caller, "out", "answer")? + channel5(caller, "out", "restart-request")?;
    ensure(caller, asks == 0, "the caller never answers or asks")?;
    ensure(callee, channel5(callee, "out", "answer")? <= channel5(caller, "out", "offer")?, "one answer per offer at most")?;
    renegotiations_have_one_stream(caller)?;
    renegotiations_have_one_stream(callee)
}

/// The host call `name` (`startCall`, `acceptCall`) came before the first
/// getUserMedia resolved: the description did not wait for the camera.
pub fn before_media(p: &Page, name: &str) -> Result<()> {
    let js = format!(
        "(() => {{ const c = window.__host.calls.find(c => c.name === '{name}'); const g = window.__host.gum[0]; \
           return !!c && !!g && (g.done === undefined || c.t < g.done); }})()"
    );
    check(p, &js, &format!("{name} went out before the camera and microphone came"))
}

/// How many runs a measurement makes: `$CALLS_RUNS`, else 1. The tests
/// assert every run; medians are for people (`--nocapture`).
pub fn runs() -> usize {
    std::env::var("CALLS_RUNS").ok().and_then(|v| v.parse().ok()).filter(|n| (1..=20).contains(n)).unwrap_or(1)
}

/// Runs a measurement [`runs`] times; prints each result and the median.
pub fn measured(label: &str, mut once: impl FnMut() -> Result<Duration>) -> Result<()> {
    let mut took = Vec::new();
    for _ in 0..runs() {
        took.push(once()?);
    }
    let ms: Vec<u128> = took.iter().map(Duration::as_millis).collect();
    eprintln!("{label}: {ms:?} ms (median {} ms of {})", median(took.clone()).as_millis(), took.len());
    Ok(())
}

/// An outage of `secs` in a call between our pages: `cut(true)` begins
/// it, `cut(false)` ends it. Media must be back within 15 s; a gap of 2 s
/// must neither show "Reconnecting…" nor restart; channel 5 follows the
/// Android rules. Returns how long after the outage media was back.
pub fn outage_in_call(caller: &Page, callee: &Page, secs: u64, cut: impl Fn(bool) -> Result<()>) -> Result<Duration> {
    let (a, b) = (caller, callee);
    let offers = |p: &Page| -> Result<u64> { Ok(p.eval("window.__host.offers")?.as_u64().unwrap_or(0)) };
    let (ta, tb, before) = (page_now(a)?, page_now(b)?, offers(a)?);
    cut(true)?;
    std::thread::sleep(Duration::from_secs(secs)); // the outage itself
    cut(false)?;
    let healed = media_back(a, b, std::time::Instant::now(), Duration::from_secs(40))?;
    let (pa, pb) = (phases_since(a, ta)?, phases_since(b, tb)?);
    let restarts = offers(a)?.saturating_sub(before);
    eprintln!("outage {secs} s: media back {} ms after it ended; phases A {pa:?} B {pb:?}; restart offers {restarts}",
        healed.as_millis());
    if secs <= 2 {
        ensure(a, pa.is_empty() && pb.is_empty(), "a 2 s gap shows no Reconnecting")?;
        ensure(a, restarts == 0, "and needs no restart")?;
    }
    ensure(a, healed < Duration::from_secs(15), &format!("media back within 15 s, took {} ms", healed.as_millis()))?;
    for p in [a, b] {
        // An outage is not an address change (see `netcheck`).
        check(p, &format!("!window.__spy.log.includes({ADDRESS_GONE:?})"), "no address taken for gone")?;
    }
    channel5_follows_android_rules(a, b)?;
    Ok(healed)
}

/// What the page logs when its end of the path lost its address.
pub const ADDRESS_GONE: &str = "our address is gone";

/// The median of some durations (the upper one of an even count).
pub fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

/// A minimal SDP that passes the page's payload check (for prompts that are
/// never answered).
pub const DUMMY_OFFER: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=ice-ufrag:abcd\r\n\
a=ice-pwd:0123456789abcdefghijkl\r\na=fingerprint:sha-256 AA:BB:CC\r\na=setup:actpass\r\na=sendrecv\r\n\
a=rtpmap:111 opus/48000/2\r\n";

// ---------------------------------------------------------------------------
// Screen sharing without a screen

/// Headless Chromium has no screen to capture: `getDisplayMedia` on `p`
/// is replaced by a canvas stream (`captureStream`) that flickers red and
/// blue, so that frames keep coming. The one stub of a browser API in
/// these tests; the page still shows its share button only where
/// `getDisplayMedia` exists.
pub fn fake_screen(p: &Page) -> Result<()> {
    p.eval(
        "(() => { const c = document.createElement('canvas'); c.width = 320; c.height = 240; \
         const x = c.getContext('2d'); let n = 0; setInterval(() => { x.fillStyle = n++ % 2 ? '#f00' : '#00f'; x.fillRect(0, 0, 320, 240); }, 50); \
         navigator.mediaDevices.getDisplayMedia = () => Promise.resolve(c.captureStream(20)); return true; })()",
    )
    .map(|_| ())
}

/// Presses Tab through the browser's input pipeline, as a person does
/// (so `:focus-visible` and the focus order apply).
pub fn press_tab(p: &Page) -> Result<()> {
    for kind in ["keyDown", "keyUp"] {
        p.call("Input.dispatchKeyEvent", serde_json::json!({ "type": kind, "key": "Tab", "code": "Tab", "windowsVirtualKeyCode": 9 }))?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The audio codec on the wire

/// JavaScript: `[sent, received]` for the call's audio on this page, or
/// null until audio went both ways (50 packets in). Each starts from the
/// `mimeType` (lower case) of the codec that the audio `outbound-rtp` or
/// `inbound-rtp` statistics name by `codecId`. Chromium names Opus there
/// even while it wraps it in RED (RFC 2198; it has no codec statistics for
/// RED at all), so RED is read from what RED does:
/// - sent: libwebrtc wraps its send codec in RED exactly when the browser
///   can send RED (`RTCRtpSender.getCapabilities`: Chromium 87 cannot,
///   yet lists a peer's RED first among its sender's codecs) and RED is
///   the first codec negotiated for sending, the first of the audio
///   sender's `getParameters().codecs`;
/// - received: each RED packet repeats the one before, and the jitter
///   buffer discards every copy of a packet it already has, so
///   `packetsDiscarded` grows with `packetsReceived` (measured in Chromium
///   156: 239 of 240, and 0 of 277 with plain Opus).
const AUDIO_CODECS: &str = "(async () => { const pc = window.__host.callPc(); if (!pc) return null; \
  const r = await pc.getStats(); let out = null, inb = null; \
  const mime = s => s.codecId && r.get(s.codecId) ? r.get(s.codecId).mimeType.toLowerCase() : null; \
  r.forEach(s => { if ((s.kind || s.mediaType) !== 'audio') return; \
    if (s.type === 'outbound-rtp' && mime(s)) out = mime(s); \
    if (s.type === 'inbound-rtp' && mime(s) && s.packetsReceived >= 50) inb = { mime: mime(s), red: (s.packetsDiscarded || 0) * 2 > s.packetsReceived }; }); \
  if (!out || !inb) return null; \
  const t = pc.getTransceivers().find(t => t.receiver.track && t.receiver.track.kind === 'audio'); \
  const isRed = c => !!c && String(c.mimeType).toLowerCase() === 'audio/red'; \
  const able = ((RTCRtpSender.getCapabilities && RTCRtpSender.getCapabilities('audio')) || { codecs: [] }).codecs.some(isRed); \
  const redFirst = !!t && isRed((t.sender.getParameters().codecs || [])[0]); \
  const opus = m => m === 'audio/opus'; \
  return [opus(out) && able && redFirst ? 'audio/red' : out, opus(inb.mime) && inb.red ? 'audio/red' : inb.mime]; })()";

/// The audio codec the call on `p` sends and the one it receives (e.g.
/// `audio/red`, `audio/opus`), from the browser's statistics as
/// [`AUDIO_CODECS`] reads them; waits until audio went both ways.
/// PROTOCOL.md section 1, on RED.
pub fn audio_codecs(p: &Page) -> Result<(String, String)> {
    let v = p.wait_for(AUDIO_CODECS, T)?;
    let s = |i: usize| v[i].as_str().unwrap_or_default().to_string();
    Ok((s(0), s(1)))
}

/// Fails unless `p` sends audio as `sent` and receives it as `received`
/// ([`audio_codecs`]), with both descriptions' audio codecs in the message.
pub fn check_audio_codecs(p: &Page, sent: &str, received: &str) -> Result<()> {
    let got = audio_codecs(p)?;
    if (got.0.as_str(), got.1.as_str()) == (sent, received) {
        return Ok(());
    }
    let rtpmaps = "(() => { const pc = window.__host.callPc(); \
        const m = d => d ? ((d.sdp.split('\\nm=').find(x => x.startsWith('audio')) || '').match(/a=rtpmap:[^\\r\\n]*/g) || []).map(l => l.slice(9)).join(', ') : '-'; \
        return 'local audio: ' + m(pc.localDescription) + '\\nremote audio: ' + m(pc.remoteDescription); })()";
    let sdp = p.eval_str(rtpmaps).unwrap_or_else(|e| e.0);
    err(format!("{}: the call's audio is sent as {} and received as {}, expected {sent} and {received}\n{sdp}", p.name(), got.0, got.1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdp_helpers() {
        let sdp = "v=0\r\nm=audio 9 X\r\na=ice-ufrag:ab\r\na=candidate:1 1 udp 1 1.2.3.4 5 typ relay raddr 0.0.0.0\r\nm=video 9 X\r\nm=application 9 X\r\n";
        assert_eq!(m_lines(sdp), ["audio", "video", "application"]);
        assert_eq!(candidate_types(sdp), ["relay"]);
        assert_eq!(ice_ufrag(sdp).as_deref(), Some("ab"));
        // A payload whose base64 has all three characters that URL
        // encoding changes (`/`, `+`, `=`), in both forms.
        assert_eq!(payload("i>?a?>ab", Enc::Raw), "aT4/YT8+YWI=");
        assert_eq!(payload("i>?a?>ab", Enc::UrlEncoded), "aT4%2FYT8%2BYWI%3D");
    }

    /// The m-lines of an offer as Chromium writes them; `msid` goes into
    /// both sending sections.
    fn offer_with(audio_msid: &str, video_msid: &str, video_dir: &str) -> String {
        format!(
            "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1 2\r\na=msid-semantic: WMS\r\n\
             m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=sendrecv\r\n{audio_msid}a=rtpmap:111 opus/48000/2\r\n\
             m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na={video_dir}\r\n{video_msid}a=rtpmap:96 VP8/90000\r\n\
             m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:2\r\n"
        )
    }

    #[test]
    fn one_stream_on_the_wire() {
        let s = |id: &str, track: &str| format!("a=msid:{id} {track}\r\n");
        // What our page sent before the fix (recorded from Chromium 156):
        // tracks without a stream. The deployed page's ontrack gets no
        // `streams[0]` for them.
        let old = offer_with(&s("-", "d9f63caf"), &s("-", "7f4de70c"), "sendrecv");
        assert!(one_stream(&old).unwrap_err().contains("without a stream"));
        let ok = offer_with(&s("{b71c}", "d9f63caf"), &s("{b71c}", "7f4de70c"), "sendrecv");
        assert_eq!(one_stream(&ok).unwrap().as_deref(), Some("{b71c}"));
        // Two streams: their page would show one and play the other.
        let split = offer_with(&s("a1", "d9f63caf"), &s("b2", "7f4de70c"), "sendrecv");
        assert!(one_stream(&split).unwrap_err().contains("another m-line"));
        // A sending m-line with no msid at all.
        assert!(one_stream(&offer_with(&s("a1", "x"), "", "sendrecv")).unwrap_err().contains("0 a=msid"));
        // An inactive video m-line (disableVideoCompletely) sends nothing.
        assert_eq!(one_stream(&offer_with(&s("a1", "x"), "", "inactive")).unwrap().as_deref(), Some("a1"));
        assert_eq!(one_stream(&offer_with(&s("a1", "x"), "", "recvonly")).unwrap().as_deref(), Some("a1"));
    }

    #[test]
    fn permits_are_bounded() {
        // How long a permit that should wait is given to show that it does not.
        const WAITS: Duration = Duration::from_millis(300);
        /// Takes `n` slots on another thread; the permit arrives once taken.
        fn take_elsewhere(n: usize) -> std::sync::mpsc::Receiver<Permit> {
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || drop(tx.send(take(n))));
            rx
        }
        let mut calls: Vec<Permit> = (0..SLOTS).map(|_| permit()).collect();
        let next = take_elsewhere(1);
        assert!(next.recv_timeout(WAITS).is_err(), "a call beyond {SLOTS} must wait");
        drop(calls.pop());
        calls.push(next.recv_timeout(T).expect("a freed slot goes to the waiting call"));
        let exclusive = take_elsewhere(SLOTS);
        assert!(exclusive.recv_timeout(WAITS).is_err(), "an exclusive permit waits for the calls in flight");
        drop(calls.pop());
        assert!(exclusive.recv_timeout(WAITS).is_err(), "... for all of them");
        drop(calls);
        let alone = exclusive.recv_timeout(T).expect("an exclusive permit once every slot is free");
        let beside = take_elsewhere(1);
        assert!(beside.recv_timeout(WAITS).is_err(), "no call starts beside an exclusive one");
        drop(alone);
        drop(beside.recv_timeout(T).expect("a call after the exclusive one"));
        assert_eq!(*USED.lock().unwrap_or_else(|e| e.into_inner()), 0, "every slot given back");
    }
}
