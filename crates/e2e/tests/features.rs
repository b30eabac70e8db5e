//! End-to-end tests of the controls beyond the deployed page (issue
//! "Beyond the original"): call timer, keyboard shortcuts and help,
//! connection quality, camera really off, screen sharing, picture in
//! picture, device choice, bitrate caps, localization and accessibility.
//! Same harness as browser.rs: real pages, headless Chromium, bounded
//! waits. Where headless Chromium lacks an API, the test says so.

use std::time::Duration;

use e2e::*;
use serde_json::json;

/// Records every track getUserMedia hands out (`window.__tracks`), so a
/// test can tell whether the camera capture really stopped. Registered
/// before navigation; the host shim wraps getUserMedia on top of it.
const RECORD_TRACKS: &str = "window.__tracks = []; (function () { \
  var md = navigator.mediaDevices, g = md.getUserMedia.bind(md); \
  md.getUserMedia = function (c) { return g(c).then(function (s) { s.getTracks().forEach(function (t) { window.__tracks.push(t); }); return s; }); }; \
})();";

fn call_pair(env: &Env, query: &str) -> Result<(Page, Page)> {
    let b = env.open("B (callee)", json!({ "avatar": "/avatar" }), &format!("/call.html{query}"))?;
    let a = env.page("A (caller)", json!({}))?;
    a.call("Page.addScriptToEvaluateOnNewDocument", json!({ "source": RECORD_TRACKS }))?;
    a.goto(&env.url(&format!("/call.html{query}#startCall")))?;
    connect(&a, &b)?;
    Ok((a, b))
}

fn key(p: &Page, key: &str) -> Result<()> {
    let k = serde_json::to_string(key)?;
    p.eval(&format!("document.dispatchEvent(new KeyboardEvent('keydown', {{ key: {k}, bubbles: true }}))"))?;
    Ok(())
}

/// The call timer runs from the connection; the quality indicator grades
/// the connection and explains itself; the shortcuts act like the buttons.
#[test]
fn timer_quality_and_shortcuts() -> Result<()> {
    let env = Env::new()?;
    let (a, b) = call_pair(&env, "")?;

    a.wait_for("/^\\d+:\\d\\d$/.test(document.getElementById('timer').textContent)", T)?;
    let t0 = a.eval_str("document.getElementById('timer').textContent")?;
    a.wait_for(&format!("document.getElementById('timer').textContent !== {}", serde_json::to_string(&t0)?), T)?;
    ensure(&a, a.visible("#timer")?, "the timer is visible in the call")?;
    // It shows the time since the connection came up (a tick writes only
    // one text node: the value must still be right), within a late tick.
    check(&a, "(() => { const c = window.__host.pcEvents.find(e => e.state === 'connected'); \
        const [m, s] = document.getElementById('timer').textContent.split(':').map(Number); \
        const want = (performance.now() - c.t) / 1000; return Math.abs(m * 60 + s - want) < 2; })()",
        "the timer counts from the connection")?;

    // Two stats samples make the first grade (2 s apart until graded).
    a.wait_for("document.documentElement.dataset.quality !== ''", Duration::from_secs(20))?;
    ensure(&a, a.visible("#quality")?, "the quality indicator shows")?;
    check(&a, "document.getElementById('quality').getAttribute('aria-label').startsWith('Connection: ')", "labelled")?;
    check(&a, "document.getElementById('quality').getAttribute('aria-expanded') === 'false'", "details closed")?;
    a.click("#quality")?;
    ensure(&a, a.visible("#quality-details")?, "details on tap")?;
    check(&a, "document.getElementById('quality').getAttribute('aria-expanded') === 'true'", "expanded")?;
    check(&a, "/^Direct · \\d+ ms · [\\d.]+ % lost · ↓ .+ · ↑ .+$/.test(document.getElementById('quality-details').textContent)",
        "details: route, round trip, loss, bitrates")?;
    // While open they follow the connection (a sample every 2 s).
    let d0 = a.eval_str("document.getElementById('quality-details').textContent")?;
    a.wait_for(&format!("document.getElementById('quality-details').textContent !== {}", serde_json::to_string(&d0)?), T)?;
    a.click("#quality")?;
    ensure(&a, !a.visible("#quality-details")?, "a second tap closes them")?;
    check(&a, "document.getElementById('quality').getAttribute('aria-expanded') === 'false'", "collapsed")?;

    // Shortcuts: M mutes (the other side sees it), V turns the camera off,
    // ? shows the help, Escape hides it, a lower-case e does nothing.
    key(&a, "m")?;
    a.wait_data("mic", "off", T)?;
    b.wait_data("remote-mic", "off", T)?;
    key(&a, "M")?;
    a.wait_data("mic", "on", T)?;
    key(&a, "v")?;
    a.wait_data("cam", "off", T)?;
    b.wait_data("show-avatar", "on", T)?;
    key(&a, "?")?;
    ensure(&a, a.visible("#help")?, "? shows the shortcut list")?;
    check(&a, "document.querySelectorAll('#help dd').length === 4", "four shortcuts listed")?;
    key(&a, "Escape")?;
    ensure(&a, !a.visible("#help")?, "Escape hides it")?;
    key(&a, "e")?;
    check(&a, "!window.__host.calls.some(c => c.name === 'endCall')", "a lower-case e does not hang up")?;
    key(&a, "E")?;
    a.wait_host_call("endCall", T)?;
    check_clean(&a)
}

/// Turning the camera off stops the capture (the camera light goes off),
/// and the other side shows the avatar, not a frozen frame.
#[test]
fn camera_off_stops_the_capture() -> Result<()> {
    let env = Env::new()?;
    let (a, b) = call_pair(&env, "")?;
    check(&a, "window.__tracks.some(t => t.kind === 'video' && t.readyState === 'live')", "camera live in the call")?;
    // Twice: the second round catches a capture copied on the way.
    for _ in 0..2 {
        a.click("#cam")?;
        a.wait_for("window.__tracks.filter(t => t.kind === 'video').every(t => t.readyState === 'ended')", T)?;
        check(&a, "window.__host.pcList[0].getSenders().every(s => !s.track || s.track.kind !== 'video')",
            "nothing is sent on the video sender")?;
        b.wait_data("remote-video", "off", T)?;
        b.wait_data("show-avatar", "on", T)?;
        a.click("#cam")?;
        a.wait_for("window.__tracks.filter(t => t.kind === 'video' && t.readyState === 'live').length === 1", T)?;
        b.wait_data("remote-video", "on", T)?;
        wait_video(&b)?;
    }
    Ok(())
}

/// Screen sharing replaces the camera on the existing sender (no new
/// offer), shows a banner with a stop button, and reaches the other side
/// as video even with the camera off.
///
/// Headless Chromium has no screen to capture: `e2e::fake_screen`.
#[test]
fn screen_sharing() -> Result<()> {
    let env = Env::new()?;
    let (a, b) = call_pair(&env, "")?;
    fake_screen(&a)?;
    // The button shows in the call (getDisplayMedia exists in Chromium).
    ensure(&a, a.visible("#screen")?, "the share button is shown")?;
    check(&a, "document.getElementById('screen').getAttribute('aria-label') === 'Share screen'", "labelled")?;
    a.click("#cam")?;
    b.wait_data("show-avatar", "on", T)?;
    let offers = a.eval("window.__host.offers")?;
    a.click("#screen")?;
    a.wait_data("screen", "on", T)?;
    ensure(&a, a.visible("#sharing")?, "the 'you are sharing' banner shows")?;
    check(&a, "document.getElementById('screen').getAttribute('aria-pressed') === 'true'", "pressed")?;
    b.wait_data("remote-video", "on", T)?;
    b.wait_data("show-avatar", "off", T)?;
    wait_video(&b)?;
    ensure(&a, a.eval("window.__host.offers")? == offers, "no renegotiation for sharing")?;
    // A restart while sharing (the caller's network changed): the new
    // offer and its answer still name one stream for both tracks, and the
    // screen still reaches B.
    a.eval("window.dispatchEvent(new Event('online'))")?;
    a.wait_for(&format!("window.__host.offers > {offers}"), T)?;
    b.wait_for("window.__host.srd > 1", T)?;
    wait_phase(&[&a, &b], "in-call")?;
    wait_video(&b)?;
    local_description_has_one_stream(&a)?;
    local_description_has_one_stream(&b)?;
    a.click("#stop-sharing")?;
    a.wait_data("screen", "off", T)?;
    ensure(&a, !a.visible("#sharing")?, "the banner goes")?;
    b.wait_data("show-avatar", "on", T)?;
    check_clean(&a)
}

/// Picture in picture: offered when the remote video plays and the browser
/// has the API; a click (with user activation) opens it.
#[test]
fn picture_in_picture() -> Result<()> {
    let env = Env::new()?;
    let (a, _b) = call_pair(&env, "")?;
    a.wait_data("remote-video", "on", T)?;
    if !a.eval_bool("document.pictureInPictureEnabled === true")? {
        eprintln!("picture_in_picture: this Chromium has no PiP; only the hidden button is checked");
        return ensure(&a, !a.visible("#pip")?, "no PiP button without the API");
    }
    ensure(&a, a.visible("#pip")?, "the PiP button is shown")?;
    a.click("#pip")?;
    a.wait_for("document.pictureInPictureElement === document.getElementById('remote-video')", T)?;
    a.click("#pip")?;
    a.wait_for("document.pictureInPictureElement === null", T).map(|_| ())
}

/// `lowData` caps the outgoing video on the sender (no SDP change).
#[test]
fn low_data_caps_the_video_sender() -> Result<()> {
    let env = Env::new()?;
    let (a, b) = call_pair(&env, "?lowData")?;
    for p in [&a, &b] {
        p.wait_for(
            "(() => { const s = window.__host.pcList[0].getSenders().find(s => s.track && s.track.kind === 'video'); \
             const e = s && s.getParameters().encodings[0]; return !!e && e.maxBitrate === 200000 && e.scaleResolutionDownBy === 2; })()",
            T,
        )?;
    }
    // Opus in-band FEC stays on (Chromium's default, untouched).
    let offer = a.host_calls()?.into_iter().find(|c| c.name == "startCall").and_then(|c| c.arg).unwrap_or_default();
    ensure(&a, offer.contains("useinbandfec=1"), "Opus FEC in the offer")?;
    wait_video(&b)
}

/// The language comes from `?lang=`, else the browser; right-to-left
/// scripts turn the page around.
#[test]
fn localization() -> Result<()> {
    let env = Env::new()?;
    let de = env.open("de", json!({}), "/call.html?lang=de#startCall")?;
    de.wait_data("phase", "ringing", T)?;
    ensure(&de, de.text("status")?.as_deref() == Some("Klingelt…"), "German status")?;
    check(&de, "document.documentElement.lang === 'de' && document.documentElement.dir === 'ltr'", "lang=de")?;
    check(&de, "document.getElementById('end').getAttribute('aria-label') === 'Auflegen'", "German label")?;
    check(&de, "document.querySelector('#help dd').textContent === 'Mikrofon stumm/ein'", "template texts translated")?;

    let ar = env.open("ar", json!({}), "/call.html?lang=ar#startCall")?;
    ar.wait_data("phase", "ringing", T)?;
    check(&ar, "document.documentElement.dir === 'rtl' && document.documentElement.lang === 'ar'", "Arabic is RTL")?;
    ensure(&ar, ar.text("status")?.as_deref() == Some("يرن…"), "Arabic status")?;

    // No flag: the browser's languages decide (here French first).
    let fr = env.page("fr", json!({}))?;
    fr.call(
        "Page.addScriptToEvaluateOnNewDocument",
        json!({ "source": "Object.defineProperty(navigator, 'languages', { get: () => ['nl-NL', 'fr-CA', 'en'] });" }),
    )?;
    fr.goto(&env.url("/call.html#startCall"))?;
    fr.wait_data("phase", "ringing", T)?;
    ensure(&fr, fr.text("status")?.as_deref() == Some("Sonnerie…"), "French from navigator.languages")?;

    // An unknown language falls back to English.
    let xx = env.open("xx", json!({}), "/call.html?lang=xx#startCall")?;
    xx.wait_data("phase", "ringing", T)?;
    ensure(&xx, xx.text("status")?.as_deref() == Some("Ringing…"), "English fallback")
}

/// Every language file, in a browser: `?lang=` picks it, the status text
/// is its own, and `lang`/`dir` are set (right to left for Arabic only).
#[test]
fn every_language_in_the_browser() -> Result<()> {
    let env = Env::new()?;
    let p = env.page("lang", json!({}))?;
    let dir = testhost::workspace_root().join("crates/call-core/lang");
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(&dir)? {
        let path = entry?.path();
        let Some(code) = path.file_stem().and_then(|s| s.to_str()).map(String::from) else { continue };
        let text = std::fs::read_to_string(&path)?;
        let ringing = text
            .lines()
            .find_map(|l| l.strip_prefix("ringing = "))
            .ok_or_else(|| Error::new(format!("{}: no `ringing` line", path.display())))?;
        p.goto(&env.url(&format!("/call.html?lang={code}#startCall")))?;
        p.wait_data("phase", "ringing", T)?;
        ensure(&p, p.text("status")?.as_deref() == Some(ringing.trim()), &format!("{code}: status is `{ringing}`"))?;
        let dir = if code == "ar" { "rtl" } else { "ltr" };
        check(&p, &format!("document.documentElement.lang === '{code}' && document.documentElement.dir === '{dir}'"),
            &format!("{code}: lang and dir"))?;
        seen.push(code);
    }
    ensure(&p, seen.len() >= 10, &format!("all languages: {seen:?}"))
}

/// WCAG contrast ratio of an element's text colour against what is
/// behind it (its own background or the nearest ancestor's that is not
/// transparent, composited over black: the page's backdrop is the dark
/// call screen).
const CONTRAST: &str = "(function (el) { \
  const rgba = c => { const m = c.match(/[\\d.]+/g).map(Number); return [m[0], m[1], m[2], m.length > 3 ? m[3] : 1]; }; \
  const lum = ([r, g, b]) => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }; \
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); }; \
  const layers = []; for (let e = el; e; e = e.parentElement) { const b = rgba(getComputedStyle(e).backgroundColor); if (b[3] > 0) layers.push(b); } \
  let bg = [0, 0, 0]; for (const l of layers.reverse()) bg = bg.map((v, i) => v * (1 - l[3]) + l[i] * l[3]); \
  const fg0 = rgba(getComputedStyle(el).color); const fg = bg.map((v, i) => v * (1 - fg0[3]) + fg0[i] * fg0[3]); \
  const [hi, lo] = [lum(fg), lum(bg)].sort((x, y) => y - x); return (hi + 0.05) / (lo + 0.05); })";

/// Text and controls stand out from what is behind them: the status and
/// notice lines at least 4.5:1 (WCAG AA for text), every visible button's
/// icon at least 3:1 (AA for controls).
#[test]
fn contrast() -> Result<()> {
    let env = Env::new()?;
    let b = env.open("B", json!({}), &format!("/call.html#offerIncomingCall={}", payload(DUMMY_OFFER, Enc::Raw)))?;
    b.wait_data("phase", "incoming", T)?;
    for id in ["status", "notice"] {
        let r = b.eval(&format!("{CONTRAST}(document.getElementById('{id}'))"))?.as_f64().unwrap_or(0.0);
        eprintln!("contrast of #{id}: {r:.2}");
        ensure(&b, r >= 4.5, &format!("#{id} contrast {r:.2} < 4.5"))?;
    }
    // The prompt's buttons, then the caller's controls while it rings.
    let a = env.open("A", json!({}), "/call.html#startCall")?;
    a.wait_data("phase", "ringing", T)?;
    for p in [&b, &a] {
        let buttons = p.eval(&format!(
            "[...document.querySelectorAll('button')].filter(e => e.getClientRects().length > 0).map(e => [e.id, {CONTRAST}(e)])"
        ))?;
        let list = buttons.as_array().cloned().unwrap_or_default();
        ensure(p, list.len() >= 2, "visible buttons")?;
        for x in list {
            let (id, r) = (x[0].as_str().unwrap_or("?").to_string(), x[1].as_f64().unwrap_or(0.0));
            eprintln!("{}: contrast of button #{id}: {r:.2}", p.name());
            ensure(p, r >= 3.0, &format!("button #{id} contrast {r:.2} < 3"))?;
        }
    }
    Ok(())
}

/// Every visible control has a name, focus is visible, state changes are
/// announced, and reduced motion stops the pulsing Answer button.
#[test]
fn accessibility() -> Result<()> {
    let env = Env::new()?;
    let b = env.page("B", json!({}))?;
    b.call("Emulation.setEmulatedMedia", json!({ "features": [{ "name": "prefers-reduced-motion", "value": "reduce" }] }))?;
    b.goto(&env.url(&format!("/call.html#offerIncomingCall={}", payload(DUMMY_OFFER, Enc::Raw))))?;
    b.wait_data("phase", "incoming", T)?;
    check(&b, "getComputedStyle(document.getElementById('answer')).animationName === 'none'", "no pulse with reduced motion")?;
    check(
        &b,
        "[...document.querySelectorAll('button')].filter(e => e.offsetParent !== null).every(e => (e.getAttribute('aria-label') || e.textContent).trim() !== '')",
        "every visible button has an accessible name",
    )?;
    check(&b, "document.getElementById('status').getAttribute('aria-live') === 'polite'", "status is announced")?;
    check(&b, "document.getElementById('notice').getAttribute('role') === 'alert'", "notices are alerts")?;
    // The keyboard moves focus to a button, which then shows a ring of
    // at least 2 px (the key goes through the browser's input pipeline,
    // so `:focus-visible` applies as for a person).
    for _ in 0..2 {
        press_tab(&b)?;
    }
    check(
        &b,
        "(e => e.tagName === 'BUTTON' && e.matches(':focus-visible') && getComputedStyle(e).outlineStyle !== 'none' \
          && parseFloat(getComputedStyle(e).outlineWidth) >= 2)(document.activeElement)",
        "a visible focus ring on the focused button",
    )?;
    let plain = env.open("plain", json!({}), &format!("/call.html#offerIncomingCall={}", payload(DUMMY_OFFER, Enc::Raw)))?;
    plain.wait_data("phase", "incoming", T)?;
    check(&plain, "getComputedStyle(document.getElementById('answer')).animationName === 'pulse'", "the Answer button pulses")
}

/// Choosing devices: the dialog lists the cameras and microphones by
/// name; picking another microphone replaces the track on the sender (no
/// new offer) and the other side keeps hearing; the speaker choice shows
/// where `setSinkId` exists.
#[test]
fn device_choice() -> Result<()> {
    let env = Env::new()?;
    let (a, b) = call_pair(&env, "")?;
    ensure(&a, a.visible("#devices-btn")?, "the devices button is shown in the call")?;
    a.click("#devices-btn")?;
    ensure(&a, a.visible("#devices")?, "the dialog opens")?;
    a.wait_for("document.querySelectorAll('#sel-cam option').length >= 1 && document.querySelectorAll('#sel-mic option').length >= 2", T)?;
    check(&a, "[...document.querySelectorAll('#sel-mic option')].every(o => o.textContent.trim() !== '')", "devices have names")?;
    check(&a, "!document.getElementById('row-spk').hidden === ('setSinkId' in HTMLMediaElement.prototype)", "speaker row iff setSinkId")?;
    let before = a.eval_str("window.__host.pcList[0].getSenders().find(s => s.track && s.track.kind === 'audio').track.getSettings().deviceId")?;
    let offers = a.eval("window.__host.offers")?;
    a.eval(
        "(() => { const s = document.getElementById('sel-mic'); \
         const o = [...s.options].find(o => o.value !== s.value && o.value !== 'default' && o.value !== 'communications'); \
         s.value = o.value; s.dispatchEvent(new Event('change')); return o.value; })()",
    )?;
    a.wait_for(
        &format!("window.__host.pcList[0].getSenders().find(s => s.track && s.track.kind === 'audio').track.getSettings().deviceId !== {}",
            serde_json::to_string(&before)?),
        T,
    )?;
    ensure(&a, a.eval("window.__host.offers")? == offers, "no renegotiation for a device change")?;
    // Muted stays muted on the new microphone.
    a.click("#mic")?;
    a.wait_data("mic", "off", T)?;
    check(&a, "window.__host.pcList[0].getSenders().find(s => s.track && s.track.kind === 'audio').track.enabled === false", "muted")?;
    // Exactly one live microphone capture: the old one was stopped, and no
    // stray copy of the new one exists.
    check(&a, "window.__tracks.filter(t => t.kind === 'audio' && t.readyState === 'live').length === 1", "one live microphone")?;
    a.click("#mic")?;
    wait_audio(&b)?;
    // The speaker: the remote audio goes to the picked output.
    a.eval(
        "(() => { const s = document.getElementById('sel-spk'); \
         const o = [...s.options].find(o => o.value !== 'default' && o.value !== 'communications'); \
         s.value = o.value; s.dispatchEvent(new Event('change')); return true; })()",
    )?;
    a.wait_for("document.getElementById('remote-audio').sinkId === document.getElementById('sel-spk').value", T)?;
    a.click("#devices-btn")?;
    ensure(&a, !a.visible("#devices")?, "the dialog closes")
}

/// The wasm-bindgen callbacks alive in `p` after a forced GC: the glue's
/// closure wrappers (functions whose body counts calls, `state.cnt++`).
/// The page's own handlers live for good; a callback for a promise must
/// be gone once the promise settled.
fn live_callbacks(p: &Page) -> Result<i64> {
    p.call("HeapProfiler.collectGarbage", json!({}))?;
    let proto = p.call("Runtime.evaluate", json!({ "expression": "Function.prototype", "objectGroup": "count" }))?;
    let id = proto["result"]["objectId"].as_str().ok_or_else(|| Error::new("no Function.prototype"))?.to_string();
    let all = p.call("Runtime.queryObjects", json!({ "prototypeObjectId": id, "objectGroup": "count" }))?;
    let list = all["objects"]["objectId"].as_str().ok_or_else(|| Error::new("queryObjects gave nothing"))?.to_string();
    let n = p.call(
        "Runtime.callFunctionOn",
        json!({ "functionDeclaration": "function () { return this.filter(f => { try { return Function.prototype.toString.call(f).includes('state.cnt++'); } catch (e) { return false; } }).length; }",
                "objectId": list, "returnByValue": true }),
    )?;
    p.call("Runtime.releaseObjectGroup", json!({ "objectGroup": "count" }))?;
    n["result"]["value"].as_i64().ok_or_else(|| Error::new(format!("no count: {n}")))
}

/// An hour-long call must not pile up callbacks: every answered promise
/// (statistics every few seconds, device lists, media) frees its callback.
/// Twenty openings of the devices dialog, each a device enumeration,
/// leave the number of live callbacks where it was. (The page once kept
/// the callback for the outcome a promise did not take: +1 per promise,
/// a heap growing by 6 kB a minute in the soak.)
#[test]
fn answered_promises_leave_no_callbacks_behind() -> Result<()> {
    let env = Env::new()?;
    let (a, _b) = call_pair(&env, "")?;
    let before = live_callbacks(&a)?;
    ensure(&a, before > 0, "the count finds the page's own handlers (else the glue changed and the count means nothing)")?;
    for _ in 0..20 {
        a.click("#devices-btn")?;
        a.wait_for("document.querySelectorAll('#sel-mic option').length >= 1", T)?;
        a.click("#devices-btn")?;
        a.wait_for("document.getElementById('devices').hidden", T)?;
    }
    let after = live_callbacks(&a)?;
    // A statistics poll or a timer may be in flight at either count.
    ensure(&a, after - before <= 3, &format!("live callbacks: {before} before twenty device lists, {after} after"))
}

/// The debug build's panel: route, selected pair, candidates both ways,
/// both SDPs, the log, and a report that gathers all of it.
#[test]
fn debug_panel_and_report() -> Result<()> {
    let env = Env::new()?;
    let (a, b) = env.call("/debug.html")?;
    for p in [&a, &b] {
        ensure(p, p.visible("#debug")?, "the panel shows")?;
        p.wait_for("document.getElementById('debug-route').textContent.startsWith('P2P')", T)?;
        p.wait_for("/^host [\\da-f.:]+:\\d+ udp  <->  (host|prflx) [\\da-f.:]+:\\d+ udp/.test(document.getElementById('debug-pair').textContent)", T)?;
        check(p, "document.getElementById('debug-local-sdp').textContent.startsWith('v=0')", "our SDP")?;
        check(p, "document.getElementById('debug-remote-sdp').textContent.startsWith('v=0')", "their SDP")?;
        check(p, "document.getElementById('debug-cands').textContent.includes('> candidate:')", "our candidates")?;
        check(p, "document.getElementById('debug-log').textContent.includes('ICE wait')", "the log")?;
    }
    a.click("#debug-copy")?;
    ensure(&a, a.visible("#debug-report")?, "the report shows")?;
    let report = a.eval_str("document.getElementById('debug-report').value")?;
    for part in ["version: calls-webapp-rs ", "phase: in-call", "route: p2p", "pair: host ", "--- local SDP\nv=0", "--- remote SDP\nv=0", "--- log"] {
        ensure(&a, report.contains(part), &format!("the report has `{part}`"))?;
    }
    check(&a, "document.activeElement === document.getElementById('debug-report') && document.getElementById('debug-report').selectionEnd > 100",
        "selected, ready to copy")
}

/// With two cameras (Chromium's fake devices), "switch camera" appears
/// and steps to the other one; the new capture replaces the old on the
/// sender (no new offer), the preview shows it, and switching back gives
/// the other side its picture again.
///
/// Headless Chromium's second fake camera delivers frames to a <video>
/// but (observed) none to the encoder after replaceTrack, so the remote
/// picture is checked after switching back to the first camera.
#[test]
fn switch_camera_with_two_cameras() -> Result<()> {
    let env = Env::with_args(&["--use-fake-device-for-media-stream=device-count=2"])?;
    let (a, b) = call_pair(&env, "")?;
    wait_video(&b)?;
    // (offsetParent is null for fixed elements: look at the boxes.)
    a.wait_for("document.getElementById('switch-cam').getClientRects().length > 0", T)?;
    check(&a, "document.getElementById('switch-cam').getAttribute('aria-label') === 'Switch camera'", "labelled")?;
    let sender_cam = "window.__host.pcList[0].getSenders().find(s => s.track && s.track.kind === 'video').track.getSettings().deviceId";
    let before = a.eval_str(sender_cam)?;
    let offers = a.eval("window.__host.offers")?;
    a.click("#switch-cam")?;
    a.wait_for(&format!("{sender_cam} !== {}", serde_json::to_string(&before)?), T)?;
    ensure(&a, a.eval("window.__host.offers")? == offers, "no renegotiation")?;
    check(&a, "window.__tracks.filter(t => t.kind === 'video' && t.readyState === 'live').length === 1", "one camera live")?;
    a.wait_for(&format!("document.getElementById('local-video').srcObject.getVideoTracks()[0].getSettings().deviceId === {sender_cam}"), T)?;
    a.click("#switch-cam")?;
    a.wait_for(&format!("{sender_cam} === {}", serde_json::to_string(&before)?), T)?;
    wait_video(&b)
}

/// On a phone the camera says which way it faces; "switch camera" then
/// asks for the other facing (`facingMode`). Chromium's fake cameras face
/// nowhere, so here they are made to: getSettings reports a facing, and a
/// facingMode request is served by the other fake camera (stubs).
#[test]
fn switch_camera_by_facing_mode() -> Result<()> {
    let env = Env::with_args(&["--use-fake-device-for-media-stream=device-count=2"])?;
    let b = env.open("B (callee)", json!({}), "/call.html")?;
    let a = env.page("A (caller)", json!({}))?;
    a.call("Page.addScriptToEvaluateOnNewDocument", json!({ "source": RECORD_TRACKS }))?;
    a.call("Page.addScriptToEvaluateOnNewDocument", json!({ "source": "window.__facing = []; (function () { \
        var get = MediaStreamTrack.prototype.getSettings; \
        MediaStreamTrack.prototype.getSettings = function () { var s = get.call(this); \
          if (this.kind === 'video') s.facingMode = this.__facing || 'user'; return s; }; \
        var md = navigator.mediaDevices, g = md.getUserMedia.bind(md); \
        md.getUserMedia = function (c) { var f = c && c.video && c.video.facingMode; \
          if (!f) return g(c); window.__facing.push(f.exact); \
          return md.enumerateDevices().then(function (l) { var cams = l.filter(function (d) { return d.kind === 'videoinput'; }); \
            return g({ video: { deviceId: { exact: cams[cams.length - 1].deviceId } } }); }) \
            .then(function (s) { s.getVideoTracks()[0].__facing = f.exact; return s; }); }; })();" }))?;
    a.goto(&env.url("/call.html#startCall"))?;
    connect(&a, &b)?;
    a.wait_for("document.getElementById('switch-cam').getClientRects().length > 0", T)?;
    a.click("#switch-cam")?;
    a.wait_for("window.__facing.length === 1 && window.__facing[0] === 'environment'", T)?;
    a.wait_for("window.__host.pcList[0].getSenders().some(s => s.track && s.track.__facing === 'environment')", T)?;
    a.click("#switch-cam")?;
    a.wait_for("window.__facing.length === 2 && window.__facing[1] === 'user'", T).map(|_| ())
}
