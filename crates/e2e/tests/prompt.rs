//! The incoming-call prompt's choices and the damaged offer's screen
//! (issue "The incoming-call prompt as people know it"): microphone and
//! camera toggles on the prompt are a choice for the start of the call,
//! not a preview; what the other person then perceives follows that
//! choice; Decline, Answer and the toggles read in the order they are
//! seen, mirrored in Arabic; a damaged incoming offer leaves a screen
//! with a way out, not an empty page.


use call_core::Msg;
use e2e::*;
use serde_json::json;

/// What our page's outgoing video has encoded so far (0: nothing sent).
const VIDEO_SENT: &str = "(() => { const pc = window.__host.callPc(); if (!pc) return 0; \
  return pc.getStats().then(r => { let n = 0; r.forEach(s => { if (s.type === 'outbound-rtp' && s.kind === 'video') n += s.framesEncoded || 0; }); return n; }); })()";

/// The received audio's total energy on `p` (the fake microphone beeps;
/// a disabled track sends silence).
/// Counts in `window.__deviceLists` the device lists the page got. Runs
/// before any script of the document: the host shim then wraps this
/// `enumerateDevices` in turn, and the page's handler runs in the same
/// promise chain, so once the count moved the page has seen the list.
const COUNT_DEVICE_LISTS: &str = "window.__deviceLists = 0; (function () { var md = navigator.mediaDevices; if (!md) return; \
  var e = md.enumerateDevices.bind(md); \
  md.enumerateDevices = function () { return e().then(function (l) { window.__deviceLists += 1; return l; }); }; })();";

fn energy(p: &Page) -> Result<f64> {
    Ok(p.eval("window.__host.inbound().then(i => i ? i.audioEnergy : 0)")?.as_f64().unwrap_or(0.0))
}

/// A keyboard shortcut, as the page's `keydown` listener gets it.
fn key(p: &Page, key: &str) -> Result<()> {
    let k = serde_json::to_string(key)?;
    p.eval(&format!("document.dispatchEvent(new KeyboardEvent('keydown', {{ key: {k}, bubbles: true }}))"))?;
    Ok(())
}

/// B (`query`) shows A's call on the prompt, its toggles there (the
/// camera's once the device list said a camera exists). Returns (A, B).
fn prompting(env: &Env, query: &str) -> Result<(Page, Page, String)> {
    let b = env.open("B (callee)", json!({}), &format!("/call.html{query}"))?;
    let a = env.open("A (caller)", json!({ "avatar": "/avatar" }), "/call.html#startCall")?;
    let offer = wait_offer(&a)?;
    send_offer(&b, &offer, true, Enc::Raw)?;
    b.wait_data("phase", "incoming", T)?;
    b.wait_for("document.getElementById('mic').getClientRects().length > 0", T)?;
    Ok((a, b, offer))
}

/// B answers on the prompt; both in the call, A hears B's side at all.
fn answer(a: &Page, b: &Page) -> Result<()> {
    b.click("#answer")?;
    send_answer(a, &wait_answer(b)?, Enc::Raw)?;
    wait_phase(&[a, b], "in-call")?;
    wait_audio(a)
}

/// The toggles change only the choice: no getUserMedia, no connection,
/// before Answer; they read as the in-call buttons do (pressed, label);
/// M and V work on them as in the call.
#[test]
fn toggles_are_a_choice_not_a_preview() -> Result<()> {
    let env = Env::new()?;
    let (_a, b, _) = prompting(&env, "")?;
    b.wait_for("document.getElementById('cam').getClientRects().length > 0", T)?;
    for (id, label) in [("#mic", Msg::MuteMic), ("#cam", Msg::CameraOff)] {
        ensure(&b, b.attr(id, "aria-pressed")?.as_deref() == Some("false"), &format!("{id} starts on"))?;
        ensure(&b, b.attr(id, "aria-label")?.as_deref() == Some(label.en()), &format!("{id} says what a press does"))?;
    }
    b.click("#mic")?;
    b.click("#cam")?;
    b.wait_data("mic", "off", T)?;
    b.wait_data("cam", "off", T)?;
    for (id, label) in [("#mic", Msg::UnmuteMic), ("#cam", Msg::CameraOn)] {
        ensure(&b, b.attr(id, "aria-pressed")?.as_deref() == Some("true"), &format!("{id} reads pressed (off)"))?;
        ensure(&b, b.attr(id, "aria-label")?.as_deref() == Some(label.en()), &format!("{id} offers to turn it on"))?;
    }
    key(&b, "m")?;
    b.wait_data("mic", "on", T)?;
    key(&b, "v")?;
    b.wait_data("cam", "on", T)?;
    key(&b, "M")?;
    b.wait_data("mic", "off", T)?;
    ensure(&b, b.data("phase")? == "incoming", "still the prompt")?;
    check(&b, &format!("window.__host.gum.length === 0 && {NOTHING_GATHERED}"),
        "no getUserMedia and nothing gathered before Answer, whatever the toggles")
}

/// Answering with the camera chosen off: the camera is never captured,
/// the other side shows our avatar and gets no picture; we can turn the
/// camera on in the call and then they see us.
#[test]
fn answered_with_the_camera_off_sends_no_video() -> Result<()> {
    let env = Env::new()?;
    let (a, b, _) = prompting(&env, "")?;
    b.wait_for("document.getElementById('cam').getClientRects().length > 0", T)?;
    b.click("#cam")?;
    b.wait_data("cam", "off", T)?;
    answer(&a, &b)?;
    // Video would have come by now: the other side hears us, and two
    // seconds of our audio (100 packets of 20 ms) have arrived there.
    wait_heard(&a)?;
    let packets = "window.__host.inbound().then(i => i ? i.audioPackets : 0)";
    let p0 = a.eval(packets)?.as_u64().unwrap_or(0);
    a.wait_for(&format!("{packets}.then(n => n >= {p0} + 100)"), T)?;
    // What the other person perceives first, then our own side.
    ensure(&a, a.data("show-avatar")? == "on", "the other side shows our avatar")?;
    ensure(&a, a.data("remote-video")? == "off", "the other side shows no picture of us")?;
    ensure(&a, frames(&a)? == 0, "the other side decoded no frame of ours")?;
    check(&b, &format!("Promise.resolve({VIDEO_SENT}).then(n => n === 0)"), "our outgoing video encoded no frame")?;
    check(&b, "!window.__host.gum.some(g => g.video)", "the camera was never asked for")?;
    ensure(&b, b.data("cam")? == "off" && b.visible("#cam")?, "the camera button is there, off")?;
    b.click("#cam")?;
    b.wait_data("cam", "on", T)?;
    a.wait_data("remote-video", "on", T)?;
    a.wait_data("show-avatar", "off", T)?;
    wait_video(&a)?;
    check_clean(&b)
}

/// Answering muted: the other side shows us muted at once (channel 3, no
/// click after Answer) and hears silence; unmuted, they hear us.
#[test]
fn answered_muted_tells_the_other_side_at_once() -> Result<()> {
    let env = Env::new()?;
    let (a, b, _) = prompting(&env, "")?;
    b.click("#mic")?;
    b.wait_data("mic", "off", T)?;
    answer(&a, &b)?;
    a.wait_data("remote-mic", "off", T)?;
    ensure(&a, a.visible("#remote-muted")?, "the other side shows the muted badge")?;
    ensure(&b, b.data("mic")? == "off", "we show ourselves muted")?;
    check(&b, "window.__host.gum.some(g => g.audio && g.ok)", "the microphone was captured (to unmute later)")?;
    let first = energy(&a)?;
    // Two seconds of their audio (100 packets of 20 ms) arrived: enough to
    // judge that it is silence.
    let packets = "window.__host.inbound().then(i => i ? i.audioPackets : 0)";
    let p0 = a.eval(packets)?.as_u64().unwrap_or(0);
    a.wait_for(&format!("{packets}.then(n => n >= {p0} + 100)"), T)?;
    let silence = energy(&a)? - first;
    ensure(&a, silence < 1e-4, &format!("the other side hears silence (energy grew by {silence})"))?;
    b.click("#mic")?;
    a.wait_data("remote-mic", "on", T)?;
    wait_heard(&a)?;
    check_clean(&b)
}

/// The prompt's buttons in the order they are seen, on a phone upright
/// (toggles in a row above Decline and Answer) and on its side (one row),
/// left to right in English, mirrored in Arabic; Tab follows the DOM.
#[test]
fn prompt_order_ltr_and_rtl() -> Result<()> {
    let env = Env::new()?;
    let mut problems = Vec::new();
    for lang in ["en", "ar"] {
        let p = env.open(lang, json!({}), &format!("/call.html?lang={lang}#offerIncomingCall={}", payload(DUMMY_OFFER, Enc::Raw)))?;
        p.wait_data("phase", "incoming", T)?;
        p.wait_for("['mic', 'cam', 'end', 'answer'].every(id => document.getElementById(id).getClientRects().length > 0)", T)?;
        for (w, h) in [(360, 740), (740, 360)] {
            p.call("Emulation.setDeviceMetricsOverride", json!({ "width": w, "height": h, "deviceScaleFactor": 1, "mobile": true }))?;
            p.eval("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r))).then(() => true)")?;
            let boxes = p.eval("['mic', 'cam', 'end', 'answer'].map(id => { const r = document.getElementById(id).getBoundingClientRect(); return [r.left, r.top, r.width]; })")?;
            let b = |i: usize| -> (f64, f64, f64) {
                let v = &boxes[i];
                (v[0].as_f64().unwrap_or(f64::NAN), v[1].as_f64().unwrap_or(f64::NAN), v[2].as_f64().unwrap_or(f64::NAN))
            };
            let (mic, cam, decline, ans) = (b(0), b(1), b(2), b(3));
            // `x` before `y` on the reading side.
            let before = |x: (f64, f64, f64), y: (f64, f64, f64)| if lang == "ar" { y.0 + y.2 <= x.0 } else { x.0 + x.2 <= y.0 };
            let at = format!("{lang} {w}×{h}");
            if !before(decline, ans) {
                problems.push(format!("[{at}] Decline {decline:?} is not before Answer {ans:?}"));
            }
            if !before(mic, cam) {
                problems.push(format!("[{at}] the microphone {mic:?} is not before the camera {cam:?}"));
            }
            let upright = h > w;
            let row_above = mic.1 < decline.1 && (mic.1 - cam.1).abs() < 1.0 && (decline.1 - ans.1).abs() < 1.0;
            let one_row = before(cam, decline) && (mic.1 - ans.1).abs() < 1.0;
            if upright && !row_above {
                problems.push(format!("[{at}] the toggles are not a row above Decline and Answer: {mic:?} {cam:?} {decline:?} {ans:?}"));
            }
            if !upright && !one_row {
                problems.push(format!("[{at}] not one row: toggles, Decline, Answer: {mic:?} {cam:?} {decline:?} {ans:?}"));
            }
        }
        p.eval("document.activeElement && document.activeElement.blur(); true")?;
        let mut tabs = Vec::new();
        for _ in 0..5 {
            press_tab(&p)?;
            tabs.push(p.eval_str("document.activeElement.id")?);
        }
        let want = ["help-btn", "mic", "cam", "end", "answer"];
        let order: Vec<&str> = tabs.iter().map(String::as_str).filter(|id| want.contains(id)).collect();
        if order != ["mic", "cam", "end", "answer"] && order != want {
            problems.push(format!("[{lang}] Tab goes {tabs:?}"));
        }
        p.close()?;
    }
    if problems.is_empty() {
        Ok(())
    } else {
        err(problems.join("\n"))
    }
}

/// A damaged incoming offer (not base64, not an SDP): the avatar, "This
/// call could not be received" and Close, which calls `endCall` once.
#[test]
fn damaged_offer_close_ends_once() -> Result<()> {
    let env = Env::new()?;
    for (n, hash) in ["#offerIncomingCall=@@@", &format!("#offerIncomingCall={}", payload("v=1 no sdp here", Enc::Raw))]
        .iter()
        .enumerate()
    {
        let p = env.open(&format!("P{n}"), json!({ "avatar": "/avatar" }), &format!("/call.html{hash}"))?;
        p.wait_data("phase", "not-received", T)?;
        ensure(&p, p.text("status")?.as_deref() == Some(Msg::CallNotReceived.en()), "it says so")?;
        p.wait_data("show-avatar", "on", T)?;
        ensure(&p, p.visible("#who")?, "the avatar area is shown")?;
        ensure(&p, p.visible("#end")? && !p.visible("#answer")?, "Close, and nothing to answer")?;
        ensure(&p, p.attr("#end", "aria-label")?.as_deref() == Some(Msg::Close.en()), "the button reads Close")?;
        check(&p, &format!("window.__host.gum.length === 0 && {NOTHING_GATHERED}"), "nothing was started")?;
        p.click("#end")?;
        p.wait_host_call("endCall", T)?;
        if p.visible("#end")? {
            p.click("#end")?;
        }
        // Nothing is left scheduled that could still call endCall (a click
        // is handled at once; only a timer could do it later).
        p.wait_for("window.__host.timersPending() === 0", T)?;
        let ends = p.host_calls()?.iter().filter(|c| c.name == "endCall").count();
        ensure(&p, ends == 1, &format!("endCall once, not {ends} times"))?;
        check_clean(&p)?;
    }
    // In Arabic too, and a valid offer still replaces the screen.
    let p = env.open("ar", json!({}), "/call.html?lang=ar#acceptCall=%%%")?;
    p.wait_data("phase", "not-received", T)?;
    let ar = call_core::i18n::Lang::all().find(|l| l.code() == "ar").map(|l| Msg::CallNotReceived.text(l));
    ensure(&p, p.text("status")?.as_deref() == ar, "said in Arabic")?;
    p.set_hash(&format!("#offerIncomingCall={}", payload(DUMMY_OFFER, Enc::Raw)))?;
    p.wait_data("phase", "incoming", T)?;
    ensure(&p, p.visible("#answer")?, "the prompt replaced it")?;
    check_clean(&p)
}

/// The flags on the prompt: `disableVideoCompletely` leaves no camera
/// toggle; `noOutgoingVideoInitially` starts it off (pressed).
#[test]
fn flags_shape_the_toggles() -> Result<()> {
    let env = Env::new()?;
    let prompt = |name: &str, query: &str| -> Result<Page> {
        let p = env.page(name, json!({}))?;
        p.add_init_script(COUNT_DEVICE_LISTS)?;
        p.goto(&env.url(&format!("/call.html?{query}#offerIncomingCall={}", payload(DUMMY_OFFER, Enc::Raw))))?;
        Ok(p)
    };
    let p = prompt("video disabled", "disableVideoCompletely")?;
    p.wait_data("phase", "incoming", T)?;
    p.wait_for("document.getElementById('mic').getClientRects().length > 0", T)?;
    // The device list (a camera exists: Chromium's fake one) comes soon
    // after the start; the toggle must still be absent once the page has it.
    p.wait_for("window.__deviceLists > 0", T)?;
    ensure(&p, !p.visible("#cam")?, "no camera toggle with disableVideoCompletely")?;
    let q = prompt("audio call", "noOutgoingVideoInitially")?;
    q.wait_for("document.getElementById('cam').getClientRects().length > 0", T)?;
    ensure(&q, q.data("cam")? == "off" && q.attr("#cam", "aria-pressed")?.as_deref() == Some("true"), "the camera toggle starts off")?;
    ensure(&q, q.data("mic")? == "on", "the microphone toggle starts on")?;
    check(&q, &format!("window.__host.gum.length === 0 && {NOTHING_GATHERED}"), "nothing opened")
}
