//! End-to-end tests: real call pages (dist/) in headless Chromium, calling
//! each other through the test host. Build the page first:
//! `cargo xtask build`; run with `cargo test -p e2e -- --test-threads=2`.
//!
//! Every wait is bounded (see `e2e::T`); a timeout reports the state of the
//! page (data-* attributes, texts, host calls, console).

use std::time::{Duration, Instant};

use call_core::Msg;
use e2e::*;
use serde_json::json;
use testhost::turn::{closed_port_ice_servers, BlackHole, Turn};

/// a. The normal call: prompt, Answer, media both ways, mute, camera off
/// and on, hang-up.
#[test]
fn prompt_call_media_mute_end() -> Result<()> {
    let env = Env::new()?;
    let b = env.open("B (callee)", json!({ "avatar": "/avatar" }), "/call.html")?;
    let a = env.open("A (caller)", json!({}), "/call.html#startCall")?;

    let offer = wait_offer(&a)?;
    let m = m_lines(&offer);
    ensure(&a, m.contains(&"audio".into()) && m.contains(&"video".into()) && m.contains(&"application".into()),
        &format!("the offer needs audio, video and application sections, has {m:?}"))?;
    a.wait_data("phase", "ringing", T)?;
    ensure(&a, a.text("status")?.as_deref() == Some(Msg::Ringing.en()), "caller shows Ringing…")?;
    a.wait_data("ringback", "on", T)?;

    send_offer(&b, &offer, true, Enc::Raw)?;
    b.wait_data("phase", "incoming", T)?;
    ensure(&b, b.visible("#answer")?, "the Answer button is shown")?;
    ensure(&b, b.attr("#answer", "aria-label")?.as_deref() == Some(Msg::Answer.en()), "Answer has its label")?;
    ensure(&b, b.attr("#end", "aria-label")?.as_deref() == Some(Msg::Decline.en()), "End reads Decline")?;
    b.wait_data("show-avatar", "on", T)?;
    b.wait_for("document.getElementById('avatar').naturalWidth > 0", T)?;
    ensure(&b, b.visible("#avatar")?, "the avatar image is shown while prompting")?;
    // Privacy: nothing is done with the offer before Answer.
    check(&b, &format!("{NOTHING_GATHERED} && window.__host.gum.length === 0"),
        "nothing gathered, no setRemoteDescription and no getUserMedia before Answer")?;

    b.click("#answer")?;
    let answer = wait_answer(&b)?;
    send_answer(&a, &answer, Enc::Raw)?;
    wait_phase(&[&a, &b], "in-call")?;
    a.wait_data("ringback", "off", T)?;
    for p in [&a, &b] {
        wait_video(p)?;
        wait_audio(p)?;
        p.wait_data("remote-video", "on", T)?;
        p.wait_data("show-avatar", "off", T)?;
        ensure(p, p.visible("#mic")? && p.visible("#cam")? && p.visible("#end")?, "mic, cam and end are shown")?;
    }
    // Both pages have RED for Opus and prefer it: it is what goes on the
    // wire both ways (PROTOCOL.md section 1).
    // And the voice goes first where the path is shared: the audio
    // sender's priority is high on both ends (the callee's is set once
    // its answer is applied).
    let priority = "(() => { const t = window.__host.callPc().getTransceivers().find(t => t.receiver.track.kind === 'audio'); \
        const e = t.sender.getParameters().encodings[0] || {}; return e.priority + '/' + e.networkPriority; })()";
    for p in [&a, &b] {
        check_audio_codecs(p, "audio/red", "audio/red")?;
        let got = p.eval_str(priority)?;
        ensure(p, got == "high/high", &format!("the audio sender's priority is high/high, not {got}"))?;
    }

    // Mute: the other side is told over the mutedState channel.
    b.wait_data("remote-mic", "on", T)?;
    a.click("#mic")?;
    a.wait_data("mic", "off", T)?;
    ensure(&a, a.attr("#mic", "aria-pressed")?.as_deref() == Some("true"), "mic reads pressed")?;
    ensure(&a, a.attr("#mic", "aria-label")?.as_deref() == Some(Msg::UnmuteMic.en()), "mic offers to unmute")?;
    b.wait_data("remote-mic", "off", T)?;
    ensure(&b, b.visible("#remote-muted")?, "the muted badge is shown")?;
    a.click("#mic")?;
    b.wait_data("remote-mic", "on", T)?;

    // Camera off: the other side shows the avatar; on: the picture again.
    a.click("#cam")?;
    a.wait_data("cam", "off", T)?;
    b.wait_data("remote-video", "off", T)?;
    b.wait_data("show-avatar", "on", T)?;
    a.click("#cam")?;
    a.wait_data("cam", "on", T)?;
    b.wait_data("remote-video", "on", T)?;
    b.wait_data("show-avatar", "off", T)?;
    wait_video(&b)?;

    // Hang-up: the caller tells its host, the callee notices by itself.
    a.click("#end")?;
    a.wait_host_call("endCall", T)?;
    a.wait_data("phase", "ended", T)?;
    let t = Instant::now();
    b.wait_data("phase", "ended", Duration::from_secs(5))?;
    eprintln!("callee noticed the hang-up after {} ms", t.elapsed().as_millis());
    ensure(&b, b.text("status")?.as_deref() == Some(Msg::PeerHungUp.en()), "callee says the other hung up")?;
    b.wait_host_call("endCall", T)?;
    check_clean(&a)?;
    check_clean(&b)
}

/// b. `#acceptCall=`: answered at once, no prompt.
#[test]
fn accept_call_direct() -> Result<()> {
    let env = Env::new()?;
    let a = env.open("A (caller)", json!({}), "/call.html#startCall")?;
    let offer = wait_offer(&a)?;
    let b = env.open("B (callee)", json!({}), &format!("/call.html#acceptCall={}", payload(&offer, Enc::Raw)))?;
    let answer = wait_answer(&b)?;
    check(&b, "!window.__host.phases.some(p => p.phase === 'incoming')", "no prompt with #acceptCall")?;
    send_answer(&a, &answer, Enc::Raw)?;
    wait_phase(&[&a, &b], "in-call")?;
    wait_audio(&a)?;
    wait_video(&b)?;
    check_clean(&b)
}

/// Desktop's flow, privacy to the packet: a page loaded without a command
/// makes its connection as soon as the ICE servers come (so the command
/// has less to do), and that connection sends nothing, not to the TURN
/// server either, while the prompt shows. Counted at a relay in front of
/// coturn: no packet in 3 s of prompt; after Answer packets to the TURN
/// server go through it.
#[test]
fn connection_made_at_load_sends_nothing_before_answer() -> Result<()> {
    let env = Env::new()?;
    let turn = Turn::start()?;
    let upstream = format!("127.0.0.1:{}", turn.port()).parse().map_err(|e| Error::new(format!("{e}")))?;
    let relay = testhost::relay::Relay::start(upstream, testhost::relay::Impairment::NONE)?;
    let b = env.open("B (callee)", json!({ "iceServers": relay.ice_servers() }), "/call.html")?;
    b.wait_for("window.__host.pcs === 1", T)?;
    let a = env.open("A (caller)", json!({}), "/call.html#startCall")?;
    let offer = wait_offer(&a)?;
    send_offer(&b, &offer, true, Enc::Raw)?;
    b.wait_data("phase", "incoming", T)?;
    // The scenario: three seconds of prompt, in which nothing may go out.
    std::thread::sleep(Duration::from_secs(3));
    check(&b, &format!("window.__host.pcs === 1 && {NOTHING_GATHERED} && window.__host.gum.length === 0"),
        "one connection, made at load, that has gathered nothing")?;
    ensure(&b, relay.counts() == (0, 0), &format!("no packet to the TURN server before Answer: {:?}", relay.counts()))?;
    b.click("#answer")?;
    let answer = wait_answer(&b)?;
    let types = candidate_types(&answer);
    ensure(&b, relay.counts().0 > 0, &format!("after Answer the TURN server is asked (through the relay): {:?}, answer {types:?}", relay.counts()))?;
    check(&b, "window.__host.pcs === 1", "the call runs on the connection made at load")?;
    send_answer(&a, &answer, Enc::Raw)?;
    wait_phase(&[&a, &b], "in-call")?;
    wait_video(&a)?;
    check_clean(&b)
}

/// c. A URL-encoded payload arriving by `hashchange` on an open page; a
/// second offer replaces the pending prompt, and the answer belongs to it.
#[test]
fn url_encoded_payload_and_hashchange() -> Result<()> {
    let env = Env::new()?;
    let b = env.open("B (callee)", json!({}), "/call.html")?;
    let a1 = env.open("A1 (first caller)", json!({}), "/call.html#startCall")?;
    let a2 = env.open("A2 (second caller)", json!({}), "/call.html#startCall")?;
    let offer1 = wait_offer(&a1)?;
    let offer2 = wait_offer(&a2)?;
    // Base64 of ASCII text has `+`, `/` or `=` only now and then; escape
    // the first character too, so that the escapes are always exercised.
    let escaped = |sdp: &str| {
        let p = payload(sdp, Enc::UrlEncoded);
        format!("%{:02X}{}", p.as_bytes()[0], &p[1..])
    };
    let p1 = escaped(&offer1);

    b.set_hash(&format!("#offerIncomingCall={p1}"))?;
    b.wait_data("phase", "incoming", T)?;
    b.set_hash(&format!("#offerIncomingCall={}", escaped(&offer2)))?;
    b.wait_for("window.__host.hashchanges >= 2", T)?;
    b.wait_data("phase", "incoming", T)?;
    check(&b, NOTHING_GATHERED, "still nothing done before Answer")?;
    b.click("#answer")?;
    let answer = wait_answer(&b)?;
    check(&b, "window.__host.srd === 1", "exactly one offer applied")?;
    a2.set_hash(&format!("#onAnswer={}", escaped(&answer)))?;
    wait_phase(&[&a2, &b], "in-call")?;
    wait_audio(&b)?;
    wait_video(&a2)?;
    check(&a1, "document.documentElement.getAttribute('data-phase') === 'ringing'", "the replaced caller still rings")?;
    Ok(())
}

/// d. `noOutgoingVideoInitially`: camera off at first, video possible later.
#[test]
fn audio_only_flag() -> Result<()> {
    let env = Env::new()?;
    let b = env.open("B (callee)", json!({ "avatar": "/avatar" }), "/call.html")?;
    let a = env.open("A (caller)", json!({}), "/call.html?noOutgoingVideoInitially#startCall")?;
    let offer = wait_offer(&a)?;
    ensure(&a, m_lines(&offer).contains(&"video".into()), "the audio-call offer still has m=video")?;
    a.wait_data("cam", "off", T)?;
    check(&a, "!window.__host.gum.some(g => g.video)", "no camera captured for an audio call")?;
    connect_with(&a, &b, &offer)?;
    wait_audio(&b)?;
    b.wait_data("show-avatar", "on", T)?;
    check(&b, "document.documentElement.getAttribute('data-remote-video') === 'off'", "no picture from A yet")?;
    ensure(&a, a.visible("#cam")?, "the caller can turn the camera on")?;
    a.click("#cam")?;
    a.wait_data("cam", "on", T)?;
    b.wait_data("remote-video", "on", T)?;
    b.wait_data("show-avatar", "off", T)?;
    wait_video(&b)
}

/// The rest of [`connect`] once the offer is known.
fn connect_with(a: &Page, b: &Page, offer: &str) -> Result<()> {
    send_offer(b, offer, true, Enc::Raw)?;
    b.wait_data("phase", "incoming", T)?;
    b.click("#answer")?;
    let answer = wait_answer(b)?;
    send_answer(a, &answer, Enc::Raw)?;
    wait_phase(&[a, b], "in-call")
}

/// e. `disableVideoCompletely` (caller): no camera, no camera button,
/// audio-only call; unknown flags (callee) are ignored.
#[test]
fn video_disabled_flag() -> Result<()> {
    let env = Env::new()?;
    let b = env.open("B (callee, unknown flags)", json!({}), "/call.html?fooBar=1&playRingtone")?;
    let a = env.open("A (caller, video disabled)", json!({}), "/call.html?disableVideoCompletely&fooBar=1#startCall")?;
    let offer = wait_offer(&a)?;
    ensure(&a, m_lines(&offer).contains(&"video".into()), "the offer keeps its video section")?;
    a.wait_data("phase", "ringing", T)?;
    ensure(&a, !a.visible("#cam")?, "no camera button")?;
    check(&a, "!window.__host.gum.some(g => g.video)", "the camera was never asked for")?;
    connect_with(&a, &b, &offer)?;
    wait_audio(&a)?;
    wait_audio(&b)?;
    ensure(&a, !a.visible("#cam")?, "no camera button in the call")?;
    ensure(&b, b.visible("#cam")?, "the callee (unknown flags only) has its camera")?;
    check(&b, "document.documentElement.getAttribute('data-cam') === 'on'", "the callee's camera is on")?;
    check(&a, "document.documentElement.getAttribute('data-remote-video') === 'off'", "the caller shows no video")?;
    check(&b, "document.documentElement.getAttribute('data-remote-video') === 'off'", "no video comes from the caller")?;
    check(&a, "document.documentElement.getAttribute('data-show-avatar') === 'on'", "the caller shows the avatar")?;
    check_clean(&a)
}

/// f. `relayOnly` with a real coturn: only relay candidates, relayed call.
#[test]
fn relay_forced_via_coturn() -> Result<()> {
    let turn = Turn::start()?;
    let env = Env::new()?;
    let cfg = json!({ "iceServers": turn.ice_servers() });
    let b = env.open("B (callee, relayOnly)", cfg.clone(), "/call.html?relayOnly")?;
    let a = env.open("A (caller, relayOnly)", cfg, "/call.html?relayOnly#startCall")?;
    let offer = wait_offer(&a)?;
    let types = candidate_types(&offer);
    ensure(&a, types.iter().any(|t| t == "relay"), &format!("the offer has a relay candidate: {types:?}"))?;
    ensure(&a, types.iter().all(|t| t == "relay"), &format!("relayOnly: only relay candidates: {types:?}"))?;
    let (_, answer) = connect(&a, &b)?;
    let atypes = candidate_types(&answer);
    ensure(&b, atypes.iter().all(|t| t == "relay"), &format!("relayOnly answer: only relay candidates: {atypes:?}"))?;
    a.wait_data("route", "relay", T)?;
    b.wait_data("route", "relay", T)?;
    wait_video(&b)?;
    wait_audio(&a)?;
    check_clean(&a)?;
    check_clean(&b)
}

/// f'. A working TURN server without `relayOnly`: the offer waits for and
/// carries the relay candidate; the call connects.
#[test]
fn turn_relay_candidate_in_offer() -> Result<()> {
    let turn = Turn::start()?;
    let env = Env::new()?;
    let cfg = json!({ "iceServers": turn.ice_servers() });
    let b = env.open("B (callee)", cfg.clone(), "/call.html")?;
    let a = env.open("A (caller)", cfg, "/call.html#startCall")?;
    let offer = wait_offer(&a)?;
    let types = candidate_types(&offer);
    ensure(&a, types.iter().any(|t| t == "relay"), &format!("the offer has a relay candidate: {types:?}"))?;
    ensure(&a, types.iter().any(|t| t == "host"), &format!("and host candidates: {types:?}"))?;
    connect(&a, &b)?;
    a.wait_for("['p2p', 'relay'].includes(document.documentElement.getAttribute('data-route'))", T)?;
    wait_audio(&b)
}

/// g. A dead TURN server must not stall the offer: `startCall` within 3 s of
/// navigation. Then the call still connects directly.
fn dead_turn(ice_servers: String, what: &str) -> Result<()> {
    let env = Env::exclusive()?;
    let cfg = json!({ "iceServers": ice_servers });
    let b = env.open("B (callee)", cfg.clone(), "/call.html")?;
    let a = env.open("A (caller)", cfg, "/call.html#startCall")?;
    let offer = wait_offer(&a)?;
    let t = a.wait_host_call("startCall", T)?.t;
    let started = a.host_calls()?.first().map(|c| c.t).unwrap_or(f64::NAN);
    let pc = a.eval("window.__host.pcTimes[0]")?.as_f64().unwrap_or(f64::NAN);
    let media = a.eval("window.__host.gum.length ? window.__host.gum[0].done : null")?.as_f64().unwrap_or(f64::NAN);
    eprintln!(
        "dead TURN ({what}): startCall {t:.0} ms after navigation (page asked for ICE servers at \
         {started:.0} ms, had media at {media:.0} ms, created the connection at {pc:.0} ms)"
    );
    ensure(&a, t < 3000.0, &format!("startCall came {t:.0} ms after navigation (limit 3000 ms)"))?;
    send_offer(&b, &offer, true, Enc::Raw)?;
    b.wait_data("phase", "incoming", T)?;
    let clicked = b.eval("performance.now()")?.as_f64().unwrap_or(0.0);
    b.click("#answer")?;
    let answered = b.wait_host_call("acceptCall", T)?;
    let dt = answered.t - clicked;
    eprintln!("dead TURN ({what}): acceptCall {dt:.0} ms after Answer");
    ensure(&b, dt < 3000.0, &format!("acceptCall came {dt:.0} ms after Answer (limit 3000 ms)"))?;
    send_answer(&a, &answered.arg.unwrap_or_default(), Enc::Raw)?;
    wait_phase(&[&a, &b], "in-call")?;
    wait_audio(&b)
}

#[test]
fn dead_turn_closed_port_offer_bounded() -> Result<()> {
    dead_turn(closed_port_ice_servers()?, "closed UDP port")
}

#[test]
fn dead_turn_black_hole_offer_bounded() -> Result<()> {
    let hole = BlackHole::new()?;
    dead_turn(hole.ice_servers(), "black hole")
}

/// h. `getIceServers` returning a plain string works; a rejecting, throwing
/// or never-settling one still gives an offer, without servers, quickly.
/// (Alone on the machine and one page at a time: this measures time.)
#[test]
fn ice_servers_sync_and_errors() -> Result<()> {
    let turn = Turn::start()?;
    let env = Env::exclusive()?;
    let sync = env.open("sync", json!({ "iceMode": "sync", "iceServers": turn.ice_servers() }), "/call.html#startCall")?;
    let offer = wait_offer(&sync)?;
    let types = candidate_types(&offer);
    ensure(&sync, types.iter().any(|t| t == "relay"), &format!("the sync servers were used (relay): {types:?}"))?;
    for mode in ["reject", "throw", "never"] {
        let cfg = json!({ "iceMode": mode, "iceServers": turn.ice_servers() });
        let p = env.open(&format!("iceMode {mode}"), cfg, "/call.html#startCall")?;
        let offer = wait_offer(&p)?;
        let t = p.wait_host_call("startCall", T)?.t;
        let media = p.eval("window.__host.gum.length ? window.__host.gum[0].done : null")?.as_f64().unwrap_or(f64::NAN);
        let pc = p.eval("window.__host.pcTimes[0]")?.as_f64().unwrap_or(f64::NAN);
        eprintln!("getIceServers {mode}: startCall {t:.0} ms after navigation (media at {media:.0} ms, connection at {pc:.0} ms)");
        ensure(&p, t < 5000.0, &format!("startCall after {t:.0} ms (limit 5000 ms)"))?;
        let types = candidate_types(&offer);
        ensure(&p, !types.iter().any(|t| t == "relay"), &format!("no servers were used: {types:?}"))?;
        ensure(&p, p.text("notice")?.as_deref() == Some(Msg::IceServersUnavailable.en()),
            "the person is told that relay servers are unavailable")?;
        p.close()?;
    }
    Ok(())
}

/// i. The avatar: the host's path and a data: URL are shown; hostile values
/// are never used.
#[test]
fn avatar() -> Result<()> {
    const PNG: &str = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
    let env = Env::new()?;
    let path = format!("/call.html#offerIncomingCall={}", payload(DUMMY_OFFER, Enc::Raw));
    let good = [("/avatar", "/avatar"), ("data: PNG", PNG)];
    let hostile = [
        "javascript:alert(1)",
        "/a\" onerror=\"alert(1)",
        "data:image/svg+xml,<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
        "http://evil.example/a.png",
        "//evil.example/a.png",
        "/a') ; background:url(http://evil.example/x",
    ];
    let mut pages = Vec::new();
    for (name, v) in good {
        pages.push((env.page(&format!("avatar {name}"), json!({ "avatar": v }))?, true));
    }
    for v in hostile {
        pages.push((env.page(&format!("avatar {v:?}"), json!({ "avatar": v }))?, false));
    }
    pages.push((env.page("no getAvatar", json!({}))?, false));
    for (p, _) in &pages {
        p.goto(&env.url(&path))?;
    }
    for (p, shown) in &pages {
        p.wait_data("phase", "incoming", T)?;
        p.wait_data("show-avatar", "on", T)?;
        if *shown {
            p.wait_data("avatar", "image", T)?;
            p.wait_for("document.getElementById('avatar').complete && document.getElementById('avatar').naturalWidth > 0", T)?;
            ensure(p, p.visible("#avatar")?, "the avatar image is shown")?;
        } else {
            check(p, "document.documentElement.getAttribute('data-avatar') === 'none'", "no avatar image")?;
            check(p, "!document.getElementById('avatar').hasAttribute('src')", "the value is not used as src")?;
            check(p, "!document.getElementById('avatar').hasAttribute('onerror')", "no attribute injected")?;
            ensure(p, p.visible("#who svg")?, "the placeholder silhouette is shown")?;
        }
        check_clean(p)?;
    }
    Ok(())
}

/// j. Missing devices: a caller without camera and microphone and a callee
/// with a microphone only still talk; no camera button without a camera.
#[test]
fn media_fallback() -> Result<()> {
    let env = Env::new()?;
    let b = env.open("B (callee, mic only)", json!({ "media": "mic-only" }), "/call.html")?;
    let a = env.open("A (caller, no devices)", json!({ "media": "none" }), "/call.html#startCall")?;
    let offer = wait_offer(&a)?;
    let m = m_lines(&offer);
    ensure(&a, m.contains(&"audio".into()) && m.contains(&"video".into()), &format!("offer without devices still has audio and video: {m:?}"))?;
    connect_with(&a, &b, &offer)?;
    wait_audio(&a)?;
    ensure(&a, !a.visible("#cam")? && !a.visible("#mic")?, "no camera or mic button without devices")?;
    ensure(&b, !b.visible("#cam")?, "no camera button without a camera")?;
    ensure(&b, b.visible("#mic")?, "the callee's mic button is shown")?;
    ensure(&a, a.text("notice")?.as_deref() == Some(Msg::NoMedia.en()), "the caller is told about the missing devices")?;
    check(&b, "window.__host.gum.some(g => g.audio && !g.video && g.ok)", "the callee fell back to the microphone")?;
    a.wait_data("show-avatar", "on", T)?;
    b.wait_data("show-avatar", "on", T)
}

/// k. The debug build shows the route and a log.
#[test]
fn debug_build() -> Result<()> {
    let env = Env::new()?;
    let (a, b) = env.call("/debug.html")?;
    for p in [&a, &b] {
        ensure(p, p.visible("#debug")?, "the debug panel is shown")?;
        p.wait_for("document.getElementById('debug-route').textContent.includes('P2P')", T)?;
        check(p, "document.getElementById('debug-log').textContent.trim().length > 0", "the debug log has lines")?;
    }
    // And the release build has no panel.
    let r = env.open("release", json!({}), "/call.html")?;
    ensure(&r, !r.visible("#debug")?, "the release build hides the debug panel")
}

/// l. A network change restarts ICE over the renegotiation channel (id 5):
/// from the caller directly, from the callee by `restart-request`.
#[test]
fn ice_restart_on_network_change() -> Result<()> {
    let env = Env::new()?;
    let (a, b) = env.call("/debug.html")?;
    let offer = wait_offer(&a)?;
    wait_video(&b)?;
    let ufrag0 = ice_ufrag(&offer);

    a.eval("window.dispatchEvent(new Event('online')); true")?;
    a.wait_for("window.__host.restarts >= 1 && window.__host.offers >= 2 && window.__host.srd >= 2", T)?;
    b.wait_for("window.__host.srd >= 2", T)?;
    a.wait_for("document.getElementById('debug-log').textContent.includes('ICE restart')", T)?;
    let remote = b.eval_str("window.__host.pcList[0].remoteDescription.sdp")?;
    ensure(&b, ice_ufrag(&remote) != ufrag0, "the callee got an offer with new ICE credentials")?;
    a.wait_data("phase", "in-call", T)?;
    b.wait_data("phase", "in-call", T)?;
    wait_video(&b)?;
    wait_video(&a)?;

    // The callee asks, the caller restarts.
    b.eval("window.dispatchEvent(new Event('online')); true")?;
    a.wait_for("window.__host.offers >= 3 && window.__host.srd >= 3", T)?;
    b.wait_for("window.__host.srd >= 3", T)?;
    wait_phase(&[&a, &b], "in-call")?;
    wait_audio(&a)?;
    wait_video(&b)
}

/// Issue 16: the other person's media goes on our elements only once our
/// description is with the host. The first remote audio element starts
/// the audio output, which held Chromium's main thread for 50–60 ms, and
/// on a callee that was the answer's time (t_answer 96 → 52 ms on
/// Desktop's flow, BENCHMARKS.md). Judged where the person looks: after
/// that, both remote elements hold the peer's media and play it. Shown
/// failing before the change: the callee's elements got their streams
/// when the offer was applied, before `acceptCall`.
#[test]
fn remote_media_is_bound_after_the_description_left() -> Result<()> {
    let env = Env::new()?;
    let b = env.open("B (callee)", json!({}), "/call.html")?;
    let a = env.open("A (caller)", json!({}), "/call.html#startCall")?;
    b.wait_for("window.__host.pcs === 1", T)?;
    let offer = wait_offer(&a)?;
    send_offer(&b, &offer, false, Enc::Raw)?;
    let answer = wait_answer(&b)?;
    send_answer(&a, &answer, Enc::Raw)?;
    wait_phase(&[&a, &b], "in-call")?;
    for (p, call) in [(&a, "startCall"), (&b, "acceptCall")] {
        let js = format!(
            "(() => {{ const c = window.__host.calls.find(c => c.name === '{call}');                const r = window.__host.bound.filter(b => b.id.startsWith('remote-'));                return !!c && r.length >= 2 && r.every(b => b.t >= c.t); }})()"
        );
        check(p, &js, &format!("the remote elements got their streams only after {call}"))?;
        wait_video(p)?;
        wait_heard(p)?;
        check_clean(p)?;
    }
    Ok(())
}

/// Issue 16, Desktop's flow: the page loaded with nothing to show gets
/// `#startCall`; its screen waits until the offer is with the host (at
/// most 80 ms: drawing it meanwhile put a frame between the description's
/// steps), then shows the call. Judged on what the page drew
/// (`data-phase` changes, time-stamped by the host shim): nothing between
/// the command and the hand-over, unless 80 ms had passed. Shown failing
/// before the change: "connecting" was drawn about 1 ms after the command.
#[test]
fn desktop_flow_screen_waits_for_the_offer() -> Result<()> {
    let env = Env::new()?;
    let a = env.open("A (caller)", json!({}), "/call.html")?;
    a.wait_for("window.__host.pcs === 1", T)?;
    a.eval("(() => { window.__cmd = performance.now(); location.hash = '#startCall'; return true; })()")?;
    a.wait_data("phase", "ringing", T)?;
    check(
        &a,
        "(() => { const c = window.__host.calls.find(c => c.name === 'startCall'); \
           const drawn = window.__host.phases.filter(p => p.t > window.__cmd); \
           return !!c && drawn.length > 0 && drawn.every(p => p.t >= c.t || p.t - window.__cmd >= 79); })()",
        "nothing was drawn between #startCall and the offer's hand-over (80 ms at most)",
    )?;
    check_clean(&a)
}

/// The demo page (`cargo xtask demo`): Alice calls Bob inside two iframes,
/// the shim carries the payloads over a BroadcastChannel.
#[test]
fn demo_page() -> Result<()> {
    let env = Env::new()?;
    let d = env.page("demo", serde_json::Value::Null)?;
    d.goto(&env.url("/demo"))?;
    let frame = |side: &str| format!("document.querySelector('#{side}-box iframe')");
    let phase = |side: &str| format!("(() => {{ const f = {}; return f && f.contentDocument && f.contentDocument.documentElement.getAttribute('data-phase'); }})()", frame(side));
    d.wait_for(&format!("{} === 'idle' && {} === 'idle'", phase("alice"), phase("bob")), T)?;
    d.click("#call")?;
    d.wait_for(&format!("{} === 'incoming'", phase("bob")), T)?;
    d.eval(&format!("{}.contentDocument.getElementById('answer').click(); true", frame("bob")))?;
    d.wait_for(&format!("{} === 'in-call' && {} === 'in-call'", phase("alice"), phase("bob")), T)?;
    d.eval(&format!("{}.contentDocument.getElementById('end').click(); true", frame("alice")))?;
    d.wait_for(&format!("{} === 'ended'", phase("bob")), T)?;
    d.wait_for("!document.querySelector('#alice-box iframe') && !document.querySelector('#bob-box iframe')", T)?;
    Ok(())
}

/// Issue 16: the camera starts 2 s late, on the caller (opened with the
/// command, and on Desktop's flow: loaded first, `#startCall` set later,
/// where the devices start only once the offer is set) and then on the
/// callee. The offer (the answer) goes out before it; the call connects;
/// the other person then sees and hears the late side, with no second
/// offer and no second remote description anywhere. Shown failing before
/// the change: the offer waited for getUserMedia (`before_media` fails).
#[test]
fn late_camera_needs_no_renegotiation() -> Result<()> {
    let env = Env::new()?;
    let slow = json!({ "gumDelayMs": 2000 });
    for (caller_slow, warm) in [(true, false), (true, true), (false, false)] {
        let (ca, cb) = if caller_slow { (slow.clone(), json!({})) } else { (json!({}), slow.clone()) };
        let b = env.open("B (callee)", cb, "/call.html")?;
        let a = if warm {
            let a = env.open("A (caller)", ca, "/call.html")?;
            start_call_on_loaded(&a)?;
            a
        } else {
            env.open("A (caller)", ca, "/call.html#startCall")?
        };
        let offer = wait_offer(&a)?;
        send_offer(&b, &offer, false, Enc::Raw)?;
        let answer = wait_answer(&b)?;
        send_answer(&a, &answer, Enc::Raw)?;
        let (late, other) = if caller_slow { (&a, &b) } else { (&b, &a) };
        before_media(late, if caller_slow { "startCall" } else { "acceptCall" })?;
        wait_phase(&[&a, &b], "in-call")?;
        wait_video(other)?;
        wait_heard(other)?;
        check(late, "window.__host.gum[0].ok === true && window.__host.gum[0].done > 0", "the capture came in the end")?;
        for p in [&a, &b] {
            check(p, "window.__host.offers <= 1 && window.__host.srd === 1", "no renegotiation")?;
            check_clean(p)?;
        }
        for p in [a, b] {
            p.close()?;
        }
    }
    Ok(())
}
