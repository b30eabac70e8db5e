//! The page in every engine its hosts embed: today's Chromium (Desktop's
//! Electron), QtWebEngine on Chromium 87 (Delta Touch) and Firefox (the
//! browser edition), driven through one vocabulary (`testhost::browser`).
//!
//! The matrix: ours↔ours inside Chromium 87 and inside Firefox; across
//! engines in both directions; ours↔the deployed page in Firefox and in
//! Chromium 87. Each call is judged by what the people perceive on both
//! ends: the element that shows the *remote* stream has a moving picture,
//! remote audio plays with energy, mute reaches the other side both ways,
//! and a hang-up ends both. A few controls (camera off/on, the language,
//! the notice of a damaged payload) run in each added engine.
//!
//! Each test prints a line `engines: …` with the time from `#onAnswer` to
//! the remote picture on both sides; `CALLS_RUNS=3` repeats every call and
//! prints the median.

use std::time::{Duration, Instant};

use e2e::*;
use serde_json::json;
use testhost::browser::Engine;

/// A server, one browser per engine in use, one call slot.
struct World {
    browsers: Vec<Browser>,
    server: Server,
    _permit: Permit,
}

impl World {
    fn new(engines: &[Engine]) -> Result<World> {
        testhost::require_dist()?;
        let permit = permit();
        let server = Server::start()?;
        let mut browsers: Vec<Browser> = Vec::new();
        for &e in engines {
            if !browsers.iter().any(|b| b.engine() == e) {
                let b = Browser::launch_engine(e)?;
                note(&format!("version\t{}\t{}", e.label(), b.version()?));
                browsers.push(b);
            }
        }
        Ok(World { browsers, server, _permit: permit })
    }

    /// A window in `engine`'s browser showing `path`, with the spy. Our
    /// page in QtWebEngine gets the policy a Chromium 87 host sends.
    fn open(&self, engine: Engine, name: &str, path: &str) -> Result<Page> {
        let path = match engine {
            Engine::QtWebEngine if path.starts_with("/call.html") => with_query(path, "csp=chromium87"),
            _ => path.to_string(),
        };
        self.open_as_is(engine, name, &path)
    }

    fn open_as_is(&self, engine: Engine, name: &str, path: &str) -> Result<Page> {
        let b = self
            .browsers
            .iter()
            .find(|b| b.engine() == engine)
            .ok_or_else(|| Error::new(format!("no {} in this world", engine.label())))?;
        let p = b.new_page(&format!("{name} [{}]", engine.label()), json!({}))?;
        spy(&p)?;
        p.goto(&self.server.url(path))?;
        Ok(p)
    }
}

/// Appends a line to `$CALLS_ENGINES_REPORT` (if set), from which
/// `cargo xtask engines` writes the README's engine tables.
fn note(line: &str) {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let Some(path) = std::env::var_os("CALLS_ENGINES_REPORT") else { return };
    let _held = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let file = std::fs::OpenOptions::new().create(true).append(true).open(path);
    if let Ok(mut f) = file {
        use std::io::Write;
        let _ = writeln!(f, "{line}");
    }
}

/// Notes how a test ended and passes its result on.
fn outcome(test: &str, r: Result<()>) -> Result<()> {
    note(&format!("result\t{test}\t{}", if r.is_ok() { "pass" } else { "FAIL" }));
    r
}

/// `path` with `flag` added to its query (before any fragment).
fn with_query(path: &str, flag: &str) -> String {
    let (before, frag) = path.split_once('#').map_or((path, None), |(b, f)| (b, Some(f)));
    let sep = if before.contains('?') { '&' } else { '?' };
    match frag {
        Some(f) => format!("{before}{sep}{flag}#{f}"),
        None => format!("{before}{sep}{flag}"),
    }
}

// ---------------------------------------------------------------------------
// What a person perceives, judged in any page (ours or theirs): the media
// element bound to a track that the call's connection *receives* (never the
// self-view, which shows a local track).

/// JavaScript: the `<video>` showing a received video track, or null.
const REMOTE_VIDEO_EL: &str = "(() => { const pc = window.__host.callPc(); if (!pc) return null; \
  const ids = pc.getReceivers().map(r => r.track && r.track.id).filter(Boolean); \
  return [...document.querySelectorAll('video')].find(v => v.srcObject && \
    v.srcObject.getVideoTracks().some(t => t.readyState === 'live' && ids.includes(t.id))) || null; })()";

/// For failure messages: every `<video>` and what it shows.
const VIDEOS: &str = "(() => { const pc = window.__host.callPc(); \
  const rx = pc ? pc.getReceivers().map(r => r.track && r.track.kind + ':' + r.track.id) : []; \
  return { receivers: rx, videos: [...document.querySelectorAll('video')].map(v => ({ id: v.id, \
    tracks: v.srcObject ? v.srcObject.getTracks().map(t => t.kind + ':' + t.id + ':' + t.readyState) : null, \
    w: v.videoWidth, t: v.currentTime, paused: v.paused })) }; })()";

/// The first moment of a remote picture (for timing): size and a clock.
fn remote_picture_shown() -> String {
    format!("(() => {{ const v = {REMOTE_VIDEO_EL}; return !!v && v.videoWidth > 0 && v.currentTime > 0; }})()")
}

/// Waits until `p` shows the other side's moving picture
/// ([`e2e::wait_video`]: the rendered element bound to a received track).
fn sees_remote(p: &Page) -> Result<()> {
    wait_video(p)
}

/// Waits until `p` plays the other side's audio with energy
/// ([`e2e::wait_heard`]), with the audio elements and statistics in the
/// failure message.
fn hears_remote(p: &Page) -> Result<()> {
    wait_heard(p).map_err(|e| {
        let audio = p.eval(AUDIO_STATE).map(|v| v.to_string()).unwrap_or_else(|e| e.0);
        Error(format!("{e}\nremote audio: {audio}"))
    })
}

/// For failure messages: the media elements with audio, and the received
/// audio's statistics.
const AUDIO_STATE: &str = "(async () => { const pc = window.__host.callPc(); \
  const ids = pc ? pc.getReceivers().map(r => r.track && r.track.kind + ':' + r.track.id + ':' + r.track.readyState + ':' + r.track.muted) : []; \
  const els = [...document.querySelectorAll('audio, video')].map(e => ({ id: e.id, paused: e.paused, muted: e.muted, volume: e.volume, \
    tracks: e.srcObject ? e.srcObject.getAudioTracks().map(t => t.id + ':' + t.readyState) : null })); \
  const stats = []; if (pc) (await pc.getStats()).forEach(s => { if ((s.kind === 'audio' || s.mediaType === 'audio') && \
    (s.type === 'inbound-rtp' || s.type === 'track')) stats.push(s.type + ' energy=' + s.totalAudioEnergy + ' level=' + s.audioLevel + \
    ' packets=' + s.packetsReceived + ' samples=' + s.totalSamplesReceived + ' remote=' + s.remoteSource); }); \
  return { receivers: ids, elements: els, stats }; })()";

/// After `#onAnswer` went out (`since`): how long until each page first
/// showed the remote picture (polled every 20 ms).
fn picture_times(a: &Page, b: &Page, since: Instant) -> Result<[Duration; 2]> {
    let js = remote_picture_shown();
    let mut got: [Option<Duration>; 2] = [None, None];
    while got.iter().any(Option::is_none) {
        for (i, p) in [a, b].into_iter().enumerate() {
            if got[i].is_none() && p.eval_bool(&js)? {
                got[i] = Some(since.elapsed());
            }
        }
        if since.elapsed() > T {
            let who: Vec<String> = [a, b]
                .iter()
                .zip(got)
                .filter(|(_, t)| t.is_none())
                .map(|(p, _)| format!("{}: {}", p.name(), p.eval(VIDEOS).map(|v| v.to_string()).unwrap_or_default()))
                .collect();
            return err(format!(
                "no remote picture {} s after #onAnswer on {}\n{}\n{}",
                T.as_secs(),
                who.join("\n"),
                a.dump(),
                b.dump()
            ));
        }
        std::thread::sleep(Duration::from_millis(20)); // polling interval
    }
    Ok([got[0].unwrap_or_default(), got[1].unwrap_or_default()])
}

fn report(label: &str, times: &[[Duration; 2]]) {
    note(&format!(
        "timing\t{label}\t{}\t{}\t{}",
        median(times.iter().map(|t| t[0]).collect()).as_millis(),
        median(times.iter().map(|t| t[1]).collect()).as_millis(),
        times.len()
    ));
    let ms = |i: usize| -> Vec<u128> { times.iter().map(|t| t[i].as_millis()).collect() };
    let med = |i: usize| median(times.iter().map(|t| t[i]).collect()).as_millis();
    eprintln!(
        "engines: {label}: #onAnswer to remote picture: caller {:?} ms (median {}), callee {:?} ms (median {}), {} run(s)",
        ms(0),
        med(0),
        ms(1),
        med(1),
        times.len()
    );
}

/// No CSP violation and no alert() on our page. Chromium 87 reports every
/// WebAssembly compile as a `script-src` "eval" violation even where
/// `'unsafe-eval'` allows it (the module compiles and the page runs; a
/// `new Function` draws no report): the page compiles one module, so one
/// such report is the engine's, not the page's.
fn clean(p: &Page) -> Result<()> {
    if p.engine() == Engine::QtWebEngine {
        check(p, "window.__host.csp.length <= 1 && window.__host.csp.every(v => v.directive === 'script-src' && v.blocked === 'eval')",
            "the page violated its Content-Security-Policy (beyond Chromium 87's report of the wasm compile)")?;
        return check(p, "window.__host.alerts.length === 0", "something called alert/confirm/prompt");
    }
    check_clean(p)
}

/// In a call, the optional controls follow what the engine can do (the
/// shell's feature detection): picture-in-picture only with
/// `document.pictureInPictureEnabled`, screen sharing only with `getDisplayMedia`, the
/// speaker choice only with `setSinkId`.
fn offers_match_engine(p: &Page) -> Result<()> {
    const ABLE: &str = "({ pip: !!document.pictureInPictureEnabled, \
        screen: !!(navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia), \
        sink: 'setSinkId' in HTMLMediaElement.prototype })";
    let able = p.eval(ABLE)?;
    let has = |k: &str| able[k] == json!(true);
    p.wait_data("remote-video", "on", T)?;
    ensure(p, p.visible("#pip")? == has("pip"), &format!("the picture-in-picture button follows the engine ({able})"))?;
    eprintln!("engines: {} can {able}", p.engine().label());
    ensure(p, p.visible("#screen")? == has("screen"), &format!("the screen-sharing button follows the engine ({able})"))?;
    p.click("#devices-btn")?;
    let want = if has("sink") { "!" } else { "" };
    let open = format!("document.getElementById('devices').hidden === false && \
        document.querySelectorAll('#sel-mic option').length > 0 && {want}document.getElementById('row-spk').hidden");
    if let Err(e) = p.wait_for(&open, T) {
        let state = p.eval("({ hidden: document.getElementById('devices').hidden, mics: document.querySelectorAll('#sel-mic option').length, \
            spk: document.getElementById('row-spk').hidden, list: navigator.mediaDevices.enumerateDevices().then(l => l.map(d => d.kind + ':' + d.deviceId.slice(0, 6))) })")?;
        return err(format!("{e}\nthe dialog: {state}"));
    }
    p.click("#devices-btn")?;
    p.wait_for("document.getElementById('devices').hidden", T).map(|_| ())
}

// ---------------------------------------------------------------------------
// Ours ↔ ours

/// One call between our pages: `caller` in engine `ea`, `callee` in `eb`.
/// Both perceive the other (picture and sound), mute reaches the other
/// side both ways, the caller's camera off/on shows on the callee (when
/// `camera` is set), and the caller's hang-up ends both. Returns the times
/// from `#onAnswer` to the remote picture (caller, callee).
fn ours_call(w: &World, ea: Engine, eb: Engine, camera: bool) -> Result<[Duration; 2]> {
    let b = w.open(eb, "B (callee)", "/call.html")?;
    let a = w.open(ea, "A (caller)", "/call.html#startCall")?;
    let offer = wait_offer(&a)?;
    send_offer(&b, &offer, true, Enc::Raw)?;
    b.wait_data("phase", "incoming", T)?;
    b.click("#answer")?;
    let answer = wait_answer(&b)?;
    let since = Instant::now();
    send_answer(&a, &answer, Enc::Raw)?;
    let times = picture_times(&a, &b, since)?;
    wait_phase(&[&a, &b], "in-call")?;
    for p in [&a, &b] {
        sees_remote(p)?;
        hears_remote(p)?;
    }
    // RED for Opus only where both ends have it (today's Chromium);
    // Chromium 87 and Firefox have none, and the call is plain Opus.
    let audio = if (ea, eb) == (Engine::Chromium, Engine::Chromium) { "audio/red" } else { "audio/opus" };
    for p in [&a, &b] {
        check_audio_codecs(p, audio, audio)?;
    }
    // Mute, both ways: the other side shows it, and un-mute clears it.
    for (me, other) in [(&a, &b), (&b, &a)] {
        other.wait_data("remote-mic", "on", T)?;
        me.click("#mic")?;
        me.wait_data("mic", "off", T)?;
        other.wait_data("remote-mic", "off", T)?;
        me.click("#mic")?;
        other.wait_data("remote-mic", "on", T)?;
    }
    if camera {
        for p in [&a, &b] {
            offers_match_engine(p)?;
        }
        // Camera off: the callee shows the avatar instead of a frozen
        // picture; on: the moving picture again.
        a.click("#cam")?;
        a.wait_data("cam", "off", T)?;
        b.wait_data("show-avatar", "on", T)?;
        a.click("#cam")?;
        a.wait_data("cam", "on", T)?;
        b.wait_data("show-avatar", "off", T)?;
        sees_remote(&b)?;
    }
    // Hang-up: the caller ends through its host, the callee notices.
    a.click("#end")?;
    a.wait_host_call("endCall", T)?;
    b.wait_data("phase", "ended", T)?;
    b.wait_host_call("endCall", T)?;
    clean(&a)?;
    clean(&b)?;
    Ok(times)
}

fn ours_pair(ea: Engine, eb: Engine) -> Result<()> {
    let mut times = Vec::new();
    for _ in 0..runs() {
        let w = World::new(&[ea, eb])?;
        times.push(ours_call(&w, ea, eb, ea == eb)?);
    }
    report(&format!("ours {} -> ours {}", ea.label(), eb.label()), &times);
    Ok(())
}

#[test]
fn qtwebengine_calls_qtwebengine() -> Result<()> {
    outcome("qtwebengine_calls_qtwebengine", ours_pair(Engine::QtWebEngine, Engine::QtWebEngine))
}

#[test]
fn firefox_calls_firefox() -> Result<()> {
    outcome("firefox_calls_firefox", ours_pair(Engine::Firefox, Engine::Firefox))
}

#[test]
fn chromium_calls_qtwebengine() -> Result<()> {
    outcome("chromium_calls_qtwebengine", ours_pair(Engine::Chromium, Engine::QtWebEngine))
}

#[test]
fn qtwebengine_calls_chromium() -> Result<()> {
    outcome("qtwebengine_calls_chromium", ours_pair(Engine::QtWebEngine, Engine::Chromium))
}

#[test]
fn chromium_calls_firefox() -> Result<()> {
    outcome("chromium_calls_firefox", ours_pair(Engine::Chromium, Engine::Firefox))
}

#[test]
fn firefox_calls_chromium() -> Result<()> {
    outcome("firefox_calls_chromium", ours_pair(Engine::Firefox, Engine::Chromium))
}

#[test]
fn firefox_calls_qtwebengine() -> Result<()> {
    outcome("firefox_calls_qtwebengine", ours_pair(Engine::Firefox, Engine::QtWebEngine))
}

#[test]
fn qtwebengine_calls_firefox() -> Result<()> {
    outcome("qtwebengine_calls_firefox", ours_pair(Engine::QtWebEngine, Engine::Firefox))
}

// ---------------------------------------------------------------------------
// Ours ↔ the deployed page, both in the same engine

/// Their page's connection is up.
fn theirs_in_call(p: &Page) -> Result<()> {
    p.wait_for("(() => { const pc = window.__host.callPc(); return !!pc && pc.connectionState === 'connected'; })()", T)
        .map(|_| ())
}

/// Ours calls theirs (or theirs calls ours, `ours_calls`), in `engine`.
/// Both perceive the other; mute reaches the other side both ways; a
/// hang-up on the caller's side ends the call on the other.
fn theirs_call(engine: Engine, ours_calls: bool) -> Result<[Duration; 2]> {
    let w = World::new(&[engine])?;
    testhost::require_interop()?;
    let (caller, callee) = if ours_calls {
        let theirs = w.open(engine, "theirs (callee)", "/theirs.html")?;
        let ours = w.open(engine, "ours (caller)", "/call.html#startCall")?;
        (ours, theirs)
    } else {
        let ours = w.open(engine, "ours (callee)", "/call.html")?;
        let theirs = w.open(engine, "theirs (caller)", "/theirs.html#startCall")?;
        (theirs, ours)
    };
    let (ours, theirs) = if ours_calls { (&caller, &callee) } else { (&callee, &caller) };
    let offer = wait_offer(&caller)?;
    send_offer(&callee, &offer, true, Enc::Raw)?;
    if ours_calls {
        answer_on_theirs(&callee)?;
    } else {
        callee.wait_data("phase", "incoming", T)?;
        callee.click("#answer")?;
    }
    let answer = wait_answer(&callee)?;
    let since = Instant::now();
    send_answer(&caller, &answer, Enc::Raw)?;
    let times = picture_times(&caller, &callee, since)?;
    ours.wait_data("phase", "in-call", T)?;
    theirs_in_call(theirs)?;
    for p in [ours, theirs] {
        sees_remote(p)?;
        hears_remote(p)?;
        // Neither engine has RED: plain Opus both ways.
        check_audio_codecs(p, "audio/opus", "audio/opus")?;
    }
    mute_both_ways_with_theirs(ours, theirs)?;
    // The caller hangs up; the other side ends or at least loses the call.
    if ours_calls {
        ours.click("#end")?;
        ours.wait_host_call("endCall", T)?;
        theirs.wait_for(
            "['closed', 'failed', 'disconnected'].includes(window.__host.callPc().connectionState) || window.__host.calls.some(c => c.name === 'endCall')",
            Duration::from_secs(30),
        )?;
    } else {
        theirs.click("[aria-label=\"End call\"]")?;
        ours.wait_data("phase", "ended", Duration::from_secs(15))?;
        ours.wait_host_call("endCall", T)?;
    }
    clean(ours)?;
    Ok(times)
}

fn theirs_pair(engine: Engine, ours_calls: bool) -> Result<()> {
    let mut times = Vec::new();
    for _ in 0..runs() {
        times.push(theirs_call(engine, ours_calls)?);
    }
    let label = if ours_calls { "ours -> theirs" } else { "theirs -> ours" };
    report(&format!("{label} in {}", engine.label()), &times);
    Ok(())
}

#[test]
fn firefox_ours_calls_theirs() -> Result<()> {
    outcome("firefox_ours_calls_theirs", theirs_pair(Engine::Firefox, true))
}

#[test]
fn firefox_theirs_calls_ours() -> Result<()> {
    outcome("firefox_theirs_calls_ours", theirs_pair(Engine::Firefox, false))
}

#[test]
fn qtwebengine_ours_calls_theirs() -> Result<()> {
    outcome("qtwebengine_ours_calls_theirs", theirs_pair(Engine::QtWebEngine, true))
}

#[test]
fn qtwebengine_theirs_calls_ours() -> Result<()> {
    outcome("qtwebengine_theirs_calls_ours", theirs_pair(Engine::QtWebEngine, false))
}

// ---------------------------------------------------------------------------
// Autoplay

/// The caller's remote `<audio>` (the element bound to a received audio
/// track): `[paused, currentTime]`, or null before there is one.
const REMOTE_AUDIO_STATE: &str = "(() => { const pc = window.__host.callPc(); if (!pc) return null; \
  const ids = pc.getReceivers().map(r => r.track && r.track.kind === 'audio' && r.track.id).filter(Boolean); \
  const a = [...document.querySelectorAll('audio')].find(a => a.srcObject && \
    a.srcObject.getAudioTracks().some(t => ids.includes(t.id))); return a ? [a.paused, a.currentTime] : null; })()";

/// A browser that holds back audible playback until the person has
/// touched the page (Firefox's own default, `media.autoplay.default` 1),
/// and a page that captures nothing (no camera, no microphone: a capturing
/// page may always play): the other side's voice cannot start by itself.
/// The person taps the picture, a real input event, and hears it. Chromium
/// cannot show this: it lets `MediaStream` playback autoplay whatever its
/// policy (measured with `--autoplay-policy=document-user-activation-required`).
#[test]
fn firefox_tap_starts_audio_held_back_by_autoplay_policy() -> Result<()> {
    outcome("firefox_tap_starts_audio_held_back_by_autoplay_policy", tap_starts_audio())
}

fn tap_starts_audio() -> Result<()> {
    testhost::require_dist()?;
    let _permit = permit();
    let server = Server::start()?;
    let firefox = Browser::launch_firefox_with(&[("media.autoplay.default", "1"), ("media.autoplay.blocking_policy", "0")])?;
    let chromium = Browser::launch_engine(Engine::Chromium)?;
    let b = chromium.new_page("B (callee) [Chromium]", json!({}))?;
    spy(&b)?;
    b.goto(&server.url("/call.html"))?;
    let a = firefox.new_page("A (caller, no devices) [Firefox]", json!({ "media": "none" }))?;
    a.without_gestures();
    spy(&a)?;
    a.goto(&server.url("/call.html#startCall"))?;
    connect(&a, &b)?;
    wait_video(&a)?;
    // Held back: the element is there, audio arrives, and it stays paused
    // (the page said why in its log).
    a.wait_for(&format!("!!{REMOTE_AUDIO_STATE}"), T)?;
    a.wait_for("window.__spy.log.some(l => l.includes('autoplay refused'))", T)?;
    let packets = "window.__host.inbound().then(i => i ? i.audioPackets : 0)";
    let p0 = a.eval(packets)?.as_f64().unwrap_or(0.0);
    // A second of audio (50 packets of 20 ms) arrives while it is held.
    a.wait_for(&format!("{packets}.then(n => n >= {p0} + 50)"), T)?;
    let p1 = a.eval(packets)?.as_f64().unwrap_or(0.0);
    let held = a.eval(REMOTE_AUDIO_STATE)?;
    ensure(&a, p1 > p0 && held[0] == json!(true), &format!("audio arrives ({p0} → {p1} packets) but does not play before a tap: {held}"))?;
    // The tap: a real pointer event on the picture.
    a.tap("#stage")?;
    a.wait_for(&format!("(() => {{ const s = {REMOTE_AUDIO_STATE}; return !!s && !s[0]; }})()"), T)
        .map_err(|e| Error(format!("{e}\nafter the tap: {}", a.eval(REMOTE_AUDIO_STATE).map(|v| v.to_string()).unwrap_or_default())))?;
    hears_remote(&a)?;
    a.click("#end")?;
    a.wait_host_call("endCall", T)?;
    b.wait_data("phase", "ended", T)?;
    check_clean(&a)
}

// ---------------------------------------------------------------------------
// Controls without a call

/// The language from `?lang=de`, and the notice of a damaged payload
/// (the page stays usable: no failure screen, nothing done with it).
fn controls(engine: Engine) -> Result<()> {
    let w = World::new(&[engine])?;
    for b in &w.browsers {
        eprintln!("engines: {} is {}", engine.label(), b.version()?);
    }
    let de = w.open(engine, "de", "/call.html?lang=de#startCall")?;
    de.wait_data("phase", "ringing", T)?;
    ensure(&de, de.text("status")?.as_deref() == Some("Klingelt…"), "German status")?;
    check(&de, "document.documentElement.lang === 'de' && document.documentElement.dir === 'ltr'", "lang=de")?;
    check(&de, "document.getElementById('end').getAttribute('aria-label') === 'Auflegen'", "German label")?;
    // A damaged command on an idle page: the screen that says the call
    // could not be received, with its Close button (issue 17).
    let bad = w.open(engine, "bad payload", "/call.html#acceptCall=@@@")?;
    bad.wait_data("phase", "not-received", T)?;
    ensure(&bad, bad.text("status")?.as_deref() == Some(call_core::Msg::CallNotReceived.en()), "it says so")?;
    ensure(&bad, bad.visible("#end")?, "with a button to close it")?;
    check(&bad, NOTHING_GATHERED, "nothing was done with the bad payload")?;
    clean(&de)?;
    clean(&bad)
}

#[test]
fn qtwebengine_controls() -> Result<()> {
    outcome("qtwebengine_controls", qtwebengine_controls_run())
}

fn qtwebengine_controls_run() -> Result<()> {
    controls(Engine::QtWebEngine)?;
    // A host that sends only `'wasm-unsafe-eval'` (unknown to Chromium 87)
    // gets the honest failure: the page says it cannot run and ends the
    // call through the host, instead of staying blank.
    let w = World::new(&[Engine::QtWebEngine])?;
    let p = w.open_as_is(Engine::QtWebEngine, "wasm-unsafe-eval only", "/call.html#startCall")?;
    p.wait_data("phase", "failed", T)?;
    p.wait_host_call("endCall", T)?;
    ensure(&p, p.text("status")?.unwrap_or_default().contains("cannot run here"), "says it cannot run")
}

#[test]
fn firefox_controls() -> Result<()> {
    outcome("firefox_controls", controls(Engine::Firefox))
}

/// An engine without the optional APIs (Android's WebView has none of
/// them, WebKitGTK no `setSinkId`), played by Chromium 87 with them removed
/// before the page loads: the call works, the page offers neither
/// picture-in-picture, nor screen sharing, nor a speaker choice, and
/// nothing throws.
#[test]
fn qtwebengine_without_optional_apis() -> Result<()> {
    outcome("qtwebengine_without_optional_apis", qtwebengine_without_optional_apis_run())
}

fn qtwebengine_without_optional_apis_run() -> Result<()> {
    const REMOVE: &str = "delete HTMLMediaElement.prototype.setSinkId; \
        Object.defineProperty(Document.prototype, 'pictureInPictureEnabled', { get: () => undefined, configurable: true }); \
        delete HTMLVideoElement.prototype.requestPictureInPicture; \
        if (window.MediaDevices) delete MediaDevices.prototype.getDisplayMedia;";
    let e = Engine::QtWebEngine;
    let w = World::new(&[e])?;
    let b = w.browsers.first().ok_or_else(|| Error::new("no browser"))?;
    let open = |name: &str, path: &str| -> Result<Page> {
        let p = b.new_page(&format!("{name} [{}]", e.label()), json!({}))?;
        spy(&p)?;
        p.add_init_script(REMOVE)?;
        p.goto(&w.server.url(&with_query(path, "csp=chromium87")))?;
        Ok(p)
    };
    let callee = open("B (callee)", "/call.html")?;
    let caller = open("A (caller)", "/call.html#startCall")?;
    connect(&caller, &callee)?;
    for p in [&caller, &callee] {
        check(p, "!('setSinkId' in HTMLMediaElement.prototype) && !document.pictureInPictureEnabled && !navigator.mediaDevices.getDisplayMedia",
            "the APIs are gone")?;
        sees_remote(p)?;
        hears_remote(p)?;
        ensure(p, !p.visible("#pip")?, "no picture-in-picture button")?;
        ensure(p, !p.visible("#screen")?, "no screen-sharing button")?;
        p.click("#devices-btn")?;
        p.wait_for("document.getElementById('devices').hidden === false && \
            document.querySelectorAll('#sel-mic option').length > 0", T)?;
        ensure(p, !p.visible("#row-spk")?, "no speaker choice")?;
        check(p, "window.__spy.rejections.length === 0", "nothing threw")?;
        clean(p)?;
    }
    Ok(())
}


// ---------------------------------------------------------------------------
// WebKit

/// WebKitGTK (Debian's build has no WebRTC): our page says this browser
/// cannot make calls and ends the call through the host, instead of
/// staying blank. A call in WebKit (Tauri, WKWebView) stays untested here.
#[test]
fn webkit_says_it_cannot_call() -> Result<()> {
    outcome("webkit_says_it_cannot_call", webkit_says_it_cannot_call_run())
}

fn webkit_says_it_cannot_call_run() -> Result<()> {
    testhost::require_dist()?;
    let _permit = permit();
    let server = Server::start()?;
    let wk = testhost::webkit::WebKit::launch()?;
    eprintln!("engines: WebKitGTK {}", wk.version());
    note(&format!("version\tWebKitGTK\t{}", wk.version()));
    wk.goto(&server.url("/call.html#startCall"))?;
    let dump = "({ phase: document.documentElement.getAttribute('data-phase'), \
        status: (document.getElementById('status') || {}).textContent, notice: (document.getElementById('notice') || {}).textContent, \
        calls: window.__host ? window.__host.calls.map(c => c.name) : null, \
        webrtc: typeof RTCPeerConnection })";
    wk.wait_for("document.documentElement.getAttribute('data-phase') === 'failed'", T, dump)?;
    let status = wk.eval(dump)?;
    if status["notice"].as_str() != Some("This browser cannot make calls.") {
        return err(format!("WebKit: the page does not say that this browser cannot make calls: {status}"));
    }
    let shown = "(() => { const e = document.getElementById('notice'); const r = e.getBoundingClientRect(); \
        return r.width > 0 && r.height > 0 && !e.closest('[hidden]') && getComputedStyle(e).visibility !== 'hidden'; })()";
    if wk.eval(shown)? != json!(true) {
        return err(format!("WebKit: the notice is not shown: {}", wk.eval(dump)?));
    }
    wk.wait_for("window.__host.calls.some(c => c.name === 'endCall')", T, dump)?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Pictures for the README (`cargo xtask screenshots`)

/// The phases the gallery shows, in order: file stem and caption.
const PHASES: [(&str, &str); 8] = [
    ("incoming", "incoming call"),
    ("ringing", "ringing"),
    ("in-call", "in call with video"),
    ("avatar", "camera off: the avatar"),
    ("reconnecting", "reconnecting"),
    ("failed", "failed (no host)"),
    ("arabic", "Arabic, right to left"),
    ("phone", "phone, 360×740"),
];

/// Size of every picture but the phone's.
const SHOT: (u32, u32) = (480, 360);

fn shoot(dir: &std::path::Path, engine: Engine, phase: &str, p: &Page) -> Result<()> {
    // Let transitions settle: every finite CSS transition and animation
    // has run (an endless one, a pulse, is part of the picture).
    p.wait_for("document.getAnimations().every(a => a.playState !== 'running' || a.effect.getComputedTiming().iterations === Infinity)", T)?;
    let jpeg = p.screenshot_jpeg(60)?;
    let path = dir.join(format!("{}-{phase}.jpg", engine.label().to_lowercase()));
    std::fs::write(&path, jpeg)?;
    eprintln!("engines: wrote {}", path.display());
    Ok(())
}

/// Every phase of [`PHASES`] in one engine, from a real call.
fn screenshots_in(dir: &std::path::Path, engine: Engine) -> Result<()> {
    let w = World::new(&[engine])?;
    let cfg = json!({ "avatar": "/avatar" });
    // B in a browser of its own, so that it can vanish without a word.
    let other = Browser::launch_engine(engine)?;
    let open = |browser: &Browser, name: &str, path: &str| -> Result<Page> {
        let path = match engine {
            Engine::QtWebEngine => with_query(path, "csp=chromium87"),
            _ => path.to_string(),
        };
        let p = browser.new_page(name, cfg.clone())?;
        p.set_viewport(SHOT.0, SHOT.1)?;
        p.goto(&w.server.url(&path))?;
        Ok(p)
    };
    let mine = w.browsers.first().ok_or_else(|| Error::new("no browser"))?;
    let b = open(&other, "B", "/call.html")?;
    let a = open(mine, "A", "/call.html#startCall")?;
    let offer = wait_offer(&a)?;
    a.wait_data("phase", "ringing", T)?;
    shoot(dir, engine, "ringing", &a)?;
    send_offer(&b, &offer, true, Enc::Raw)?;
    b.wait_data("phase", "incoming", T)?;
    b.wait_for("document.getElementById('avatar').naturalWidth > 0", T)?;
    shoot(dir, engine, "incoming", &b)?;
    b.click("#answer")?;
    send_answer(&a, &wait_answer(&b)?, Enc::Raw)?;
    wait_phase(&[&a, &b], "in-call")?;
    sees_remote(&a)?;
    shoot(dir, engine, "in-call", &a)?;
    b.click("#cam")?;
    a.wait_data("show-avatar", "on", T)?;
    shoot(dir, engine, "avatar", &a)?;
    b.click("#cam")?;
    a.wait_data("show-avatar", "off", T)?;
    a.set_viewport(360, 740)?;
    sees_remote(&a)?;
    shoot(dir, engine, "phone", &a)?;
    a.set_viewport(SHOT.0, SHOT.1)?;
    // The other side vanishes without a word (its browser killed; a
    // window closing or a connection closed would say goodbye).
    drop(b);
    other.kill();
    a.wait_data("phase", "reconnecting", Duration::from_secs(40))?;
    shoot(dir, engine, "reconnecting", &a)?;
    let ar = open(mine, "ar", "/call.html?lang=ar#startCall")?;
    ar.wait_data("phase", "ringing", T)?;
    shoot(dir, engine, "arabic", &ar)?;
    // A page opened outside a messenger: no `window.calls`.
    let bare = mine.new_page("no host", json!({}))?;
    bare.set_viewport(SHOT.0, SHOT.1)?;
    bare.add_init_script(
        "Object.defineProperty(window, 'calls', { configurable: true, get: function () { return undefined; }, set: function () {} });",
    )?;
    let path = if engine == Engine::QtWebEngine { "/call.html?csp=chromium87#startCall" } else { "/call.html#startCall" };
    bare.goto(&w.server.url(path))?;
    bare.wait_data("phase", "failed", T)?;
    shoot(dir, engine, "failed", &bare)
}

/// Writes the gallery's pictures into `$CALLS_SCREENSHOTS` (run by
/// `cargo xtask screenshots`, which then rewrites the README's gallery).
#[test]
#[ignore]
fn screenshots() -> Result<()> {
    let Some(dir) = std::env::var_os("CALLS_SCREENSHOTS") else {
        return err("set CALLS_SCREENSHOTS to the folder for the pictures (cargo xtask screenshots does)");
    };
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(&dir)?;
    let only = std::env::var("CALLS_SCREENSHOT_ENGINES").unwrap_or_default().to_lowercase();
    for engine in Engine::ALL {
        if !only.is_empty() && !only.contains(&engine.label().to_lowercase()) {
            continue;
        }
        screenshots_in(&dir, engine)?;
    }
    let names: Vec<String> = PHASES.iter().map(|(stem, caption)| format!("{stem}\t{caption}")).collect();
    std::fs::write(dir.join("phases.tsv"), names.join("\n") + "\n")?;
    Ok(())
}
