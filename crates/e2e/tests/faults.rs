//! The reliability matrix (issue "Reliability: every failure is visible,
//! nothing gets stuck, nothing panics"): hostile input from the host and
//! from the peer, faults of the host API and of the network. Each test is
//! one row; every wait is bounded.

/// A narrow path (audio first): in this binary rather than one of its
/// own, so that it runs beside the faults' calls, not after them.
#[path = "faults/narrow_path.rs"]
mod narrow_path;

use std::time::{Duration, Instant};

use call_core::Msg;
use e2e::*;
use serde_json::json;

/// Takes `window.calls` as the host defines it and passes it on without
/// `drop` (a method name), or not at all (`*`).
fn strip_host(drop: &str) -> String {
    format!(
        "Object.defineProperty(window, 'calls', {{ configurable: true, get: function () {{ return undefined; }}, \
         set: function (v) {{ if ('{drop}' === '*') return; delete v['{drop}']; \
         Object.defineProperty(window, 'calls', {{ value: v, writable: true, configurable: true }}); }} }});"
    )
}

fn spied(env: &Env, name: &str, config: serde_json::Value, path: &str) -> Result<Page> {
    let p = env.page(name, config)?;
    spy(&p)?;
    p.goto(&env.url(path))?;
    Ok(p)
}

fn notice(p: &Page) -> Result<String> {
    Ok(p.text("notice")?.unwrap_or_default())
}

/// Row: `#onAnswer=` garbage, not base64, base64 of something that is not
/// an SDP: a clear message, and a later valid answer still connects.
#[test]
fn bad_answers_then_a_good_one() -> Result<()> {
    let env = Env::new()?;
    let b = env.open("B", json!({}), "/call.html")?;
    let a = spied(&env, "A", json!({}), "/call.html#startCall")?;
    let offer = wait_offer(&a)?;
    a.wait_data("phase", "ringing", T)?;
    let bad_answers = [
        ("#onAnswer=%%%".to_string(), "not base64"),
        ("#onAnswer=!!!not-base64!!!".to_string(), "not base64"),
        (format!("#onAnswer={}", payload("hello, not an SDP", Enc::Raw)), "not an SDP"),
    ];
    for (n, (bad, why)) in bad_answers.iter().enumerate() {
        a.set_hash(bad)?;
        a.wait_for(&format!("window.__spy.log.filter(l => l.includes('damaged')).length > {n}"), T)?;
        check(&a, &format!("window.__spy.log.filter(l => l.includes('damaged')).pop().includes('{why}')"), "the log says why")?;
        ensure(&a, notice(&a)?.contains("damaged"), "a notice on screen")?;
        ensure(&a, a.data("phase")? == "ringing", &format!("still ringing after {bad}"))?;
    }
    send_offer(&b, &offer, false, Enc::Raw)?;
    let answer = wait_answer(&b)?;
    send_answer(&a, &answer, Enc::UrlEncoded)?;
    wait_phase(&[&a, &b], "in-call")?;
    ensure(&a, notice(&a)?.is_empty(), "the notice clears once a valid answer is used")?;
    check_clean(&a)
}

/// Row: `#acceptCall=` / `#offerIncomingCall=` not base64 or not an SDP:
/// the screen of a call that could not be received; a later valid
/// command still works.
#[test]
fn bad_offers_then_a_good_one() -> Result<()> {
    let env = Env::new()?;
    let a = env.open("A", json!({}), "/call.html#startCall")?;
    let offer = wait_offer(&a)?;
    let b = env.open("B", json!({}), "/call.html#acceptCall=@@@")?;
    b.wait_data("phase", "not-received", T)?;
    b.set_hash(&format!("#offerIncomingCall={}", payload("v=1 no sdp here", Enc::Raw)))?;
    b.wait_for("window.__host.hashchanges >= 1", T)?;
    ensure(&b, b.data("phase")? == "not-received", "still the damaged offer's screen")?;
    check(&b, "!window.__host.calls.some(c => c.name === 'endCall')", "the page waits for the person")?;
    check(&b, NOTHING_GATHERED, "nothing was done with the bad offers")?;
    send_offer(&b, &offer, true, Enc::UrlEncoded)?;
    b.wait_data("phase", "incoming", T)?;
    b.click("#answer")?;
    send_answer(&a, &wait_answer(&b)?, Enc::Raw)?;
    wait_phase(&[&a, &b], "in-call")
}

/// Row: unknown, empty and huge (1 MB) fragments: ignored or a message; no
/// hang, no crash; a valid command afterwards works.
#[test]
fn odd_fragments_are_harmless() -> Result<()> {
    let env = Env::new()?;
    let p = env.open("P", json!({}), "/call.html#whatever")?;
    p.set_hash("#")?;
    p.set_hash("#somethingElse=abc")?;
    let t = Instant::now();
    p.eval("location.hash = '#onAnswer=' + 'A'.repeat(1024 * 1024); true")?;
    p.eval("location.hash = '#offerIncomingCall=' + 'B'.repeat(1024 * 1024); true")?;
    // No hang: handled within the wait (a parser quadratic in the payload
    // would take minutes on 1 MB). How fast is the bench's business, not a
    // timed assertion here: under CI load this took over 5 s once.
    // A damaged incoming offer with no call under way: its own screen.
    p.wait_data("phase", "not-received", T)?;
    eprintln!("1 MB fragments: the damaged offer's screen after {} ms", t.elapsed().as_millis());
    // A page waiting for its command (Desktop's flow) has asked only for
    // the ICE servers: nothing gathered, no device.
    check(&p, &format!("{NOTHING_GATHERED} && window.__host.gum.length === 0 && window.__host.calls.length <= 1"), "nothing started")?;
    p.set_hash("#startCall")?;
    wait_offer(&p)?;
    check_clean(&p)
}

/// Row: the host asks twice (`#startCall` twice, `#onAnswer` twice):
/// idempotent, one offer, no error.
#[test]
fn repeated_commands_are_idempotent() -> Result<()> {
    let env = Env::new()?;
    let b = env.open("B", json!({}), "/call.html")?;
    let a = env.open("A", json!({}), "/call.html#startCall")?;
    let offer = wait_offer(&a)?;
    a.set_hash("#x")?;
    a.set_hash("#startCall")?;
    send_offer(&b, &offer, false, Enc::Raw)?;
    let answer = wait_answer(&b)?;
    send_answer(&a, &answer, Enc::Raw)?;
    wait_phase(&[&a, &b], "in-call")?;
    send_answer(&a, &answer, Enc::UrlEncoded)?;
    wait_video(&a)?;
    check(&a, "window.__host.calls.filter(c => c.name === 'startCall').length === 1", "one offer only")?;
    check(&a, "window.__host.pcs === 1 && window.__host.srd === 1", "one peer, the answer applied once")?;
    ensure(&a, notice(&a)?.is_empty(), "no message for a repeated command")?;
    check_clean(&a)
}

/// Row: a DTLS fingerprint that does not match (a tampered answer):
/// "Call failed" with a reason within a bound, then a clean `endCall`.
#[test]
fn wrong_dtls_fingerprint_fails_cleanly() -> Result<()> {
    let env = Env::new()?;
    let b = env.open("B", json!({}), "/call.html")?;
    let a = env.open("A", json!({}), "/call.html#startCall")?;
    let offer = wait_offer(&a)?;
    send_offer(&b, &offer, false, Enc::Raw)?;
    let answer = wait_answer(&b)?;
    // Flip the fingerprint's first byte: still well-formed, wrong.
    let tampered: String = answer
        .lines()
        .map(|l| match l.strip_prefix("a=fingerprint:sha-256 ") {
            Some(fp) => {
                let flipped = if fp.starts_with("00") { "11" } else { "00" };
                format!("a=fingerprint:sha-256 {flipped}{}\r\n", &fp[2..])
            }
            None => format!("{l}\n"),
        })
        .collect();
    ensure(&a, tampered != answer, "the answer has a sha-256 fingerprint")?;
    let t = Instant::now();
    send_answer(&a, &tampered, Enc::Raw)?;
    a.wait_data("phase", "failed", Duration::from_secs(30))?;
    let failed_after = t.elapsed();
    ensure(&a, a.text("status")?.as_deref() == Some("Call failed"), "says the call failed")?;
    ensure(&a, !notice(&a)?.is_empty(), "and why")?;
    a.wait_host_call("endCall", Duration::from_secs(10))?;
    eprintln!("wrong fingerprint: failed after {} ms, endCall after {} ms", failed_after.as_millis(), t.elapsed().as_millis());
    check(&a, "window.__host.calls.filter(c => c.name === 'endCall').length === 1", "endCall once")?;
    // B never heard from A on channel 3: when A's page ends, B must not
    // say that the other person hung up (it did: that is what a failed
    // peer looked like). It says what it knows.
    b.wait_for("['ended', 'failed'].includes(document.documentElement.dataset.phase)", Duration::from_secs(40))?;
    let status = b.text("status")?.unwrap_or_default();
    ensure(&b, status != Msg::PeerHungUp.en(), &format!("B does not call a failed peer a hang-up: {status:?}"))?;
    ensure(&b, [Msg::ConnectionClosed.en(), Msg::CallFailed.en()].contains(&status.as_str()), &format!("B says the connection closed or failed: {status:?}"))
}

/// Row: getIceServers returns invalid JSON or JSON that is not an array:
/// the call goes on without servers, with a notice.
#[test]
fn ice_servers_garbage() -> Result<()> {
    let env = Env::new()?;
    for (servers, mode) in [("{not json", "sync"), ("{\"urls\":\"turn:1.2.3.4\"}", "promise"), ("[1,2,3]", "promise")] {
        let p = env.open("P", json!({ "iceServers": servers, "iceMode": mode }), "/call.html#startCall")?;
        wait_offer(&p)?;
        p.wait_data("phase", "ringing", T)?;
        ensure(&p, !notice(&p)?.is_empty(), &format!("a notice for getIceServers = {servers}"))?;
        check_clean(&p)?;
        p.close()?;
    }
    Ok(())
}

/// Row: `window.calls` missing, or missing a method: a clear message
/// instead of a crash.
#[test]
fn missing_host_or_host_method() -> Result<()> {
    let env = Env::new()?;
    let none = env.page("no host", json!({}))?;
    none.call("Page.addScriptToEvaluateOnNewDocument", json!({ "source": strip_host("*") }))?;
    none.goto(&env.url("/call.html#startCall"))?;
    none.wait_data("phase", "failed", T)?;
    ensure(&none, notice(&none)?.contains("Delta Chat"), "says to open it from Delta Chat")?;

    let partial = env.page("no startCall", json!({}))?;
    partial.call("Page.addScriptToEvaluateOnNewDocument", json!({ "source": strip_host("startCall") }))?;
    partial.goto(&env.url("/call.html#startCall"))?;
    partial.wait_data("phase", "failed", T)?;
    ensure(&partial, notice(&partial)?.contains("call function"), "names the missing function")?;
    partial.wait_host_call("endCall", T)?;
    check_clean(&partial)
}

/// Rows: no camera → audio call with a notice and no camera button;
/// neither camera nor microphone → receive-only with a notice.
#[test]
fn media_denied_notices() -> Result<()> {
    let env = Env::new()?;
    let b = env.open("B (mic only)", json!({ "media": "mic-only" }), "/call.html")?;
    let a = env.open("A (nothing)", json!({ "media": "none" }), "/call.html#startCall")?;
    connect(&a, &b)?;
    ensure(&b, notice(&b)?.contains("Camera unavailable"), "B: camera notice")?;
    ensure(&b, !b.visible("#cam")?, "B: no camera button")?;
    ensure(&a, notice(&a)?.contains("No camera or microphone"), "A: receive-only notice")?;
    ensure(&a, !a.visible("#cam")? && !a.visible("#mic")?, "A: no device buttons")?;
    wait_audio(&a)?;
    // A sends nothing by necessity and says so on channel 3; the path is
    // fine. B's quality indicator must not call that poor (it did).
    b.wait_for("document.documentElement.dataset.quality !== ''", T)?;
    for _ in 0..3 {
        ensure(&b, b.data("quality")? != "poor", "a peer that sends nothing by choice is not a poor connection")?;
        std::thread::sleep(Duration::from_secs(2)); // a sample every 2 s until good
    }
    Ok(())
}

/// Row: the remote never answers: "Ringing…" shows, without errors and
/// without endCall (the host owns that timeout). That it stays so, that no
/// timer of the page ends a call that rings, is the core's rule and held
/// there in simulated time (`tests/machine.rs`,
/// `connect_timer_before_the_remote_description_does_nothing`: 120 s of
/// ringing, no effect at all); the shell decides nothing, so waiting out
/// the page's timers here in real time would prove it again, slowly.
#[test]
fn unanswered_call_rings_without_error() -> Result<()> {
    let env = Env::new()?;
    let a = env.open("A", json!({}), "/call.html#startCall")?;
    wait_offer(&a)?;
    a.wait_data("phase", "ringing", T)?;
    check(&a, "!window.__host.calls.some(c => c.name === 'endCall')", "no endCall")?;
    ensure(&a, notice(&a)?.is_empty(), "no error shown")
}

/// Row: the answer is applied but the peer is gone (its browser closed):
/// "Call failed" within the connect timeout, then endCall.
#[test]
fn unreachable_peer_fails_within_the_bound() -> Result<()> {
    let env = Env::new()?;
    let a = env.open("A", json!({}), "/call.html#startCall")?;
    let offer = wait_offer(&a)?;
    let answer = {
        let b = env.open("B", json!({}), &format!("/call.html#acceptCall={}", payload(&offer, Enc::Raw)))?;
        let answer = wait_answer(&b)?;
        // Closed in the page first: closing the tab returns before its
        // renderer is gone, and for that moment B could still connect
        // (seen once: in the call 25 ms after the answer, then lost).
        b.eval("window.__host.pcList.forEach(pc => pc.close())")?;
        b.close()?;
        answer
    };
    let t = Instant::now();
    send_answer(&a, &answer, Enc::Raw)?;
    a.wait_data("phase", "failed", Duration::from_secs(35))?;
    a.wait_host_call("endCall", Duration::from_secs(10))?;
    let took = t.elapsed();
    eprintln!("unreachable peer: endCall {} ms after the answer", took.as_millis());
    ensure(&a, took < Duration::from_secs(30), "bounded by the 20 s connect timeout and the 3 s linger")
}

/// Row: hostile data-channel messages (invalid JSON, wrong types, unknown
/// fields, 1 MB, binary) on every channel: ignored and logged, the call
/// goes on.
#[test]
fn hostile_channel_messages_are_ignored() -> Result<()> {
    let env = Env::new()?;
    let b = spied(&env, "B (hostile)", json!({}), "/call.html")?;
    let a = spied(&env, "A", json!({}), "/call.html#startCall")?;
    connect(&a, &b)?;
    b.wait_for("window.__spy.channels.length >= 3 && window.__spy.channels.every(c => c.readyState === 'open')", T)?;
    // The junk, once for the sender and once for the receiver to know it.
    let junk = "['{', 'null', '[]', '42', '\"x\"', '{\"audioEnabled\":\"yes\",\"videoEnabled\":1}', \
         '{\"candidate\":7}', '{\"type\":\"offer\"}', '{\"type\":\"nope\",\"sdp\":\"v=0\"}', \
         '{\"audioEnabled\":true,\"videoEnabled\":true,\"extra\":{\"deep\":[1,2,3]}}', 'x'.repeat(1 << 20)]";
    let t0 = page_now(&a)?;
    let sent = b.eval(&format!(
        "(() => {{ const junk = {junk}; let n = 0; \
         for (const c of window.__spy.channels) {{ for (const j of junk) {{ try {{ c.send(j); n++; }} catch (e) {{}} }} \
           try {{ c.send(new Uint8Array([1, 2, 3])); n++; }} catch (e) {{}} }} return n; }})()"
    ))?;
    let sent = sent.as_u64().unwrap_or(0);
    ensure(&b, sent > 0, "some junk went out")?;
    // Every piece that went out has arrived (binary ones as an ArrayBuffer
    // or a Blob): the page has handled all of it.
    a.wait_for(
        &format!(
            "(() => {{ const junk = new Set({junk}); \
             return window.__spy.in.filter(m => m.t >= {t0} && (junk.has(m.data) || m.data.startsWith('[object '))).length >= {sent}; }})()"
        ),
        T,
    )?;
    a.wait_for("window.__spy.log.some(l => l.includes('ignored'))", T)?;
    ensure(&a, a.data("phase")? == "in-call", "the call goes on")?;
    wait_video(&a)?;
    wait_audio(&a)?;
    check_clean(&a)
}

/// Row: the other side hangs up: shown within a second.
#[test]
fn hang_up_is_seen_within_a_second() -> Result<()> {
    let env = Env::exclusive()?;
    let (a, b) = env.call("/call.html")?;
    wait_video(&b)?;
    let before = b.eval("performance.now()")?.as_f64().unwrap_or(0.0);
    a.click("#end")?;
    b.wait_data("phase", "ended", Duration::from_secs(5))?;
    let seen = b.eval("window.__host.phases.filter(p => p.phase === 'ended').map(p => p.t)[0]")?.as_f64().unwrap_or(f64::MAX);
    let ms = seen - before;
    eprintln!("hang-up seen by the other side after {ms:.0} ms");
    ensure(&b, ms < 1000.0, &format!("seen after {ms:.0} ms"))
}

/// Hostile avatar values never reach HTML or CSS: the image gets no
/// source, and nothing was injected.
#[test]
fn hostile_avatars() -> Result<()> {
    let env = Env::new()?;
    for bad in [
        "/a.png\") ; background: url(\"https://evil.example/x",
        "/a.png\" onerror=\"alert(1)",
        "/x);background:url(//evil.example/x",
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
    ] {
        let p = env.open("P", json!({ "avatar": bad }), &format!("/call.html#offerIncomingCall={}", payload(DUMMY_OFFER, Enc::Raw)))?;
        p.wait_data("phase", "incoming", T)?;
        check(&p, "!document.getElementById('avatar').getAttribute('src')", &format!("no src for {bad}"))?;
        check(&p, "document.documentElement.dataset.avatar === 'none'", "the generic icon shows")?;
        check(&p, "document.querySelectorAll('[onerror], script[src]').length === 0", "nothing injected")?;
        check_clean(&p)?;
        p.close()?;
    }
    Ok(())
}

/// The last resort: a panic in the wasm (triggered on purpose through the
/// debug build's `debug_panic`) shows an error screen and still ends the
/// call through the host, without the dead wasm instance.
#[test]
fn a_panic_shows_an_error_and_ends_the_call() -> Result<()> {
    let env = Env::new()?;
    let b = env.open("B", json!({}), "/call.html")?;
    let a = env.open("A (debug)", json!({}), "/debug.html#startCall")?;
    connect(&a, &b)?;
    a.eval("(() => { try { wasm_bindgen.debug_panic(); } catch (e) {} return true; })()")?;
    a.wait_data("phase", "failed", T)?;
    ensure(&a, a.text("notice")?.as_deref() == Some("Internal error."), "the error screen")?;
    a.wait_host_call("endCall", T)?;
    // The other person sees the call end, as after a hang-up: the panic
    // handler closed the connection, so B's data channels close at once.
    // "Reconnecting…" would mean the connection was left to die.
    b.wait_data("phase", "ended", Duration::from_secs(5))?;
    ensure(&b, b.text("status")?.as_deref() == Some(call_core::Msg::PeerHungUp.en()), "B says the other hung up")?;
    b.wait_host_call("endCall", T).map(|_| ())
}

/// Under Desktop's current policy (PROTOCOL.md section 7) and under the
/// strictest one (scripts and wasm only, no styles), a call works, and the
/// page makes no request of its own.
#[test]
fn strict_and_desktop_content_security_policies() -> Result<()> {
    let env = Env::new()?;
    for csp in ["desktop", "strict"] {
        let b = env.open("B", json!({}), &format!("/call.html?csp={csp}"))?;
        let a = env.open("A", json!({}), &format!("/call.html?csp={csp}#startCall"))?;
        connect(&a, &b)?;
        wait_video(&a)?;
        wait_audio(&b)?;
        for p in [&a, &b] {
            // The page itself fetches nothing: every resource it loaded is
            // the document (and, with the host's avatar, /avatar).
            // /favicon.ico is the browser's own request, made for any page.
            let res = p.eval("performance.getEntriesByType('resource').map(e => e.name)")?;
            ensure(p, res.as_array().is_some_and(|r| r.iter().all(|n| n.as_str().is_some_and(|n| n.ends_with("/avatar") || n.ends_with("/favicon.ico")))), &format!("no request but the avatar, saw {res}"))?;
            let allowed = if csp == "strict" { "style-src" } else { "-" };
            check(p, &format!("window.__host.csp.every(v => v.directive.startsWith('{allowed}'))"),
                &format!("no violation but blocked styles under the {csp} policy"))?;
        }
        a.click("#end")?;
        b.wait_data("phase", "ended", T)?;
        a.close()?;
        b.close()?;
    }
    Ok(())
}
