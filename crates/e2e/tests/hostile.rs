//! A stranger's software on the other end cannot take the call down
//! (PROTOCOL.md section 5a): the hostile peer (`/hostile.html`) calls our
//! debug page (or is called by it), speaks the protocol, then misbehaves:
//! floods on channels 1, 3 and 5, junk and oversized messages, a restart
//! storm, in-band channels, an offer of an odd shape, offers from the
//! callee. After each attack:
//!
//! - the call survives as each person perceives it: remote picture and
//!   voice on both ends (`wait_seen_and_heard`);
//! - the page still answers (an evaluation, a button press handled);
//! - the bound held: the number applied, counted from outside
//!   (`hostile::WATCH` wraps the browser's API) and by the page's own
//!   counters (`#debug-bounds` of the debug build);
//! - nothing untrue is on screen: still in the call, their microphone and
//!   camera shown on (they are), no notice that was not there before, no
//!   uncaught error.
//!
//! Each test is one call in two browsers (the peer's renderer apart from
//! ours). What the attacks cost (lag, memory) is measured by `cargo xtask
//! bench --hostile`, not asserted here.
//!
//! Shown failing before the bounds (`CALLS_DIST` at the page built from
//! 73ee4e2, Chromium 156): `candidate_flood` fails with "stopped answering
//! … having received 2139 of 20000 messages on iceTrickling and applied
//! 2139 candidates" while the renderer grew by about 170 MB a second (6.8
//! GB when the test ended); `restart_storm` with "the page applied 300"
//! restart offers; `odd_offer_and_extra_channels` in its set-up: that page
//! shows no moving picture of the peer.

use std::thread::sleep;
use std::time::{Duration, Instant};

use e2e::hostile::{self, bound, Attack};
use e2e::*;
use serde_json::Value;

/// The page must answer an evaluation within this: it is alive, not fast.
const ANSWERS: Duration = Duration::from_secs(5);

/// The bounds of the page (the call core's numbers, per call page).
const MAX_CANDIDATES: u64 = 64;
/// Channel 3: burst 20, then 10 a second.
const MUTED_BURST: f64 = 20.0;
const MUTED_RATE: f64 = 10.0;
/// Restart offers the callee applies: burst 3, then one per 10 s.
const OFFER_BURST: f64 = 3.0;
const OFFER_EVERY_S: f64 = 10.0;

/// A call between the hostile peer and our debug page, both seen and heard.
struct Call {
    page: Page,
    peer: Page,
    answer: String,
    notice: String,
    _peer_browser: Browser,
    _env: Env,
}

fn set_up(attack: Attack) -> Result<Call> {
    let env = Env::new()?;
    let peer_browser = Browser::launch()?;
    let page = hostile::open_target(&env.browser, &env.server, "ours (under attack)", "/debug.html")?;
    let peer = hostile::open_peer(&peer_browser, &env.server)?;
    let (_, answer) = hostile::call(&peer, &page, attack)?;
    wait_phase(&[&page], "in-call")?;
    wait_seen_and_heard(&page)?;
    wait_seen_and_heard(&peer)?;
    page.wait_data("remote-mic", "on", T)?;
    page.wait_data("remote-video", "on", T)?;
    let notice = page.text("notice")?.unwrap_or_default();
    Ok(Call { page, peer, answer, notice, _peer_browser: peer_browser, _env: env })
}

fn num(v: &Value, path: &[&str]) -> u64 {
    path.iter().fold(v, |v, k| &v[*k]).as_u64().unwrap_or(0)
}

/// The page's own counters; a page without them fails here.
fn counters(p: &Page) -> Result<Vec<(String, u64)>> {
    match hostile::debug_bounds(p)? {
        Some(b) => Ok(b),
        None => err(format!("{}: the debug page shows no #debug-bounds counters\n{}", p.name(), p.dump())),
    }
}

/// Prints the page's counters and what [`hostile::WATCH`] saw (for
/// `--nocapture`).
fn report(c: &Call, after: &str) -> Result<()> {
    let b = hostile::debug_bounds(&c.page)?.unwrap_or_default();
    let shown: Vec<String> = b.iter().map(|(k, v)| format!("{k}={v}")).collect();
    eprintln!("after {after}: #debug-bounds {}; outside {}", shown.join(" "), hostile::watched(&c.page)?);
    Ok(())
}

fn counter(b: &[(String, u64)], key: &str) -> Result<u64> {
    bound(b, key).ok_or_else(|| Error(format!("#debug-bounds has no {key}: {b:?}")))
}

/// Waits until the page got `n` messages on the channel `label`, polling
/// what it counted; a page that stops answering on the way fails with how
/// far it got (received, and candidates applied).
fn received(p: &Page, label: &str, n: u64) -> Result<()> {
    let js = format!("[window.__watch.msgs.{label} || 0, window.__watch.cands]");
    let (start, mut last) = (Instant::now(), (0, 0));
    loop {
        match p.eval(&js) {
            Ok(v) => last = (v[0].as_u64().unwrap_or(0), v[1].as_u64().unwrap_or(0)),
            Err(e) => {
                return err(format!(
                    "{}: stopped answering {:.1} s into the wait for the attack's messages, having received {} of {n} messages on {label} \
                     and applied {} candidates: {e}\n{}",
                    p.name(), start.elapsed().as_secs_f64(), last.0, last.1, p.dump()
                ))
            }
        }
        if last.0 >= n {
            return Ok(());
        }
        if start.elapsed() > T {
            return err(format!("{}: got {} of {n} messages on {label} within {T:?}\n{}", p.name(), last.0, p.dump()));
        }
        sleep(Duration::from_millis(200));
    }
}

/// After an attack: alive, the call as each person perceives it, and
/// nothing untrue on screen.
fn survives(c: &Call, after: &str) -> Result<()> {
    let p = &c.page;
    let took = hostile::answers(p).map_err(|e| Error(format!("after {after}, the page stopped answering: {e}\n{}", p.dump())))?;
    ensure(p, took <= ANSWERS, &format!("after {after}, the page answered an evaluation within {ANSWERS:?} (took {took:?})"))?;
    p.click("#mic")?;
    p.wait_data("mic", "off", T)?;
    p.click("#mic")?;
    p.wait_data("mic", "on", T)?;
    wait_phase(&[p], "in-call")?;
    wait_seen_and_heard(p).map_err(|e| Error(format!("after {after}, we no longer see and hear them: {e}")))?;
    wait_seen_and_heard(&c.peer).map_err(|e| Error(format!("after {after}, they no longer see and hear us: {e}")))?;
    // Their microphone and camera are on (whatever the messages said).
    p.wait_data("remote-mic", "on", T)?;
    p.wait_data("remote-video", "on", T)?;
    ensure(p, p.data("show-avatar")? == "off", "their picture is shown, not their avatar")?;
    let notice = p.text("notice")?.unwrap_or_default();
    ensure(p, notice == c.notice, &format!("no new notice after {after}: {notice:?} (before: {:?})", c.notice))?;
    let w = hostile::watched(p)?;
    ensure(p, num(&w, &["errors"]) == 0 && num(&w, &["rejections"]) == 0, &format!("no uncaught error: {}", w["errorText"]))?;
    Ok(())
}

/// 20,000 well-formed host candidates at 10,000 a second (the issue's
/// measurement: the renderer grew until it was killed). At most 64 are
/// applied per ICE generation; the rest are dropped and counted.
#[test]
fn candidate_flood() -> Result<()> {
    let c = set_up(Attack::Candidates)?;
    let n = Attack::Candidates.messages();
    hostile::start(&c.peer, Attack::Candidates)?;
    received(&c.page, "iceTrickling", n)?;
    hostile::finish(&c.peer)?;
    survives(&c, "the candidate flood")?;
    report(&c, "the candidate flood")?;
    let w = hostile::watched(&c.page)?;
    let per_gen = w["gens"].as_object().map(|g| g.values().filter_map(Value::as_u64).max().unwrap_or(0)).unwrap_or(0);
    ensure(&c.page, per_gen <= MAX_CANDIDATES, &format!("at most {MAX_CANDIDATES} candidates applied per generation (addIceCandidate: {})", w["gens"]))?;
    let b = counters(&c.page)?;
    let applied = counter(&b, "candidates")?;
    ensure(&c.page, applied <= MAX_CANDIDATES && per_gen <= applied, &format!("the page counts {applied} applied, {per_gen} seen from outside"))?;
    let dropped = counter(&b, "candidates_dropped")? + counter(&b, "dropped_1")?;
    ensure(&c.page, dropped + MAX_CANDIDATES >= n, &format!("the rest are counted dropped: {b:?}"))
}

/// Junk on channel 1 (bad JSON, binary, wrong types, 200 kB), then 50,000
/// mute toggles on channel 3 and the truth: nothing applied from the junk,
/// the mute states applied at the channel's rate, the last one shown.
#[test]
fn junk_and_mute_storm() -> Result<()> {
    let c = set_up(Attack::Junk)?;
    let before = num(&hostile::watched(&c.page)?, &["msgs", "iceTrickling"]);
    let sent = hostile::run(&c.peer, Attack::Junk)?;
    let n = before + num(&sent, &["sent"]);
    received(&c.page, "iceTrickling", n)?;
    survives(&c, "junk on channel 1")?;
    report(&c, "junk on channel 1")?;
    let b = counters(&c.page)?;
    ensure(&c.page, counter(&b, "oversized")? >= 1, &format!("the 200 kB message is counted oversized: {b:?}"))?;
    // Junk that is well-typed (a candidate string the browser then refuses)
    // may reach addIceCandidate, within the candidates' bound.
    let cands = num(&hostile::watched(&c.page)?, &["cands"]);
    ensure(&c.page, cands <= MAX_CANDIDATES, &format!("junk applied as candidates within the bound: {cands}"))?;

    let w0 = hostile::watched(&c.page)?;
    let (views0, muted0) = (num(&w0, &["views"]), num(&w0, &["msgs", "mutedState"]));
    let dropped0 = counter(&b, "dropped_3")?;
    let t0 = Instant::now();
    let sent = hostile::run(&c.peer, Attack::Mutes)?;
    let n = num(&sent, &["sent"]) + 1; // and the truth
    received(&c.page, "mutedState", muted0 + n)?;
    // The last state (both on) is shown: `survives` waits for it.
    survives(&c, "the mute storm")?;
    report(&c, "the mute storm")?;
    let secs = t0.elapsed().as_secs_f64();
    let most = MUTED_BURST + MUTED_RATE * secs + 2.0;
    let b = counters(&c.page)?;
    let applied = n.saturating_sub(counter(&b, "dropped_3")? - dropped0);
    ensure(&c.page, applied as f64 <= most, &format!("at most {most:.0} mute states applied in {secs:.1} s, the page applied {applied} of {n}: {b:?}"))?;
    let views = num(&hostile::watched(&c.page)?, &["views"]) - views0;
    ensure(&c.page, views as f64 <= 2.0 * most, &format!("the screen changed {views} times for {n} mute states"))
}

/// One ICE restart's offer 300 times with junk between, in 3 s: the callee
/// applies a few (one at a time, burst 3 then one per 10 s), never makes
/// an offer of its own, and the call goes on with the restart.
#[test]
fn restart_storm() -> Result<()> {
    let c = set_up(Attack::Restarts)?;
    let t0 = Instant::now();
    hostile::run(&c.peer, Attack::Restarts)?;
    // The newest waiting offer is applied once the next one is allowed.
    sleep(Duration::from_secs_f64(OFFER_EVERY_S + 1.5).saturating_sub(t0.elapsed()));
    c.peer.wait_for("hostile.state.answersApplied >= 1", T)?;
    survives(&c, "the restart storm")?;
    report(&c, "the restart storm")?;
    let secs = t0.elapsed().as_secs_f64();
    let most = (OFFER_BURST + (secs / OFFER_EVERY_S).floor() + 1.0) as u64;
    let w = hostile::watched(&c.page)?;
    let applied = num(&w, &["srd", "offer"]) - 1; // the first offer came in the fragment
    ensure(&c.page, applied <= most, &format!("at most {most} restart offers applied in {secs:.1} s, the page applied {applied}"))?;
    ensure(&c.page, num(&w, &["sld"]) == 0 && num(&w, &["sent5", "offer"]) == 0, &format!("the callee made no offer: {w}"))?;
    ensure(&c.page, c.page.eval("window.__host.offers")?.as_u64() == Some(0), "the callee created no offer")?;
    let b = counters(&c.page)?;
    let offers = counter(&b, "offers")?;
    ensure(&c.page, offers <= most, &format!("the page counts {offers} offers applied: {b:?}"))?;
    let dropped = counter(&b, "offers_dropped")? + counter(&b, "dropped_5")?;
    ensure(&c.page, offers + dropped >= 300, &format!("the other offers are counted dropped: {b:?}"))?;
    let errors = c.peer.eval("hostile.state.answerErrors")?;
    ensure(&c.peer, errors.as_array().is_some_and(Vec::is_empty), &format!("our answers applied cleanly at the peer: {errors}"))
}

/// An offer with 15 extra audio and 15 extra video m-lines: our page shows
/// the media of the first audio and video transceiver and rejects the rest
/// in its answer; then 200 in-band data channels, each closed at once.
#[test]
fn odd_offer_and_extra_channels() -> Result<()> {
    let c = set_up(Attack::OfferShape)?;
    let kinds = m_lines(&c.answer);
    ensure(&c.page, kinds.len() == 33, &format!("the answer has the offer's 33 m-lines: {kinds:?}"))?;
    let extra = hostile::extras_in_use(&c.answer);
    ensure(&c.page, extra.is_empty(), &format!("every extra m-line rejected or inactive in our answer: {extra:?}"))?;
    let shown = "(() => { const pc = window.__host.callPc(); const first = pc.getTransceivers().find(t => t.receiver.track.kind === 'video'); \
                  const v = document.getElementById('remote-video'); \
                  return !!v.srcObject && v.srcObject.getVideoTracks().includes(first.receiver.track); })()";
    ensure(&c.page, c.page.eval_bool(shown)?, "the picture shown is the first video transceiver's")?;
    survives(&c, "the odd offer")?;
    report(&c, "the odd offer")?;

    let r = hostile::run(&c.peer, Attack::Channels)?;
    ensure(&c.peer, num(&r, &["closed"]) == 200, &format!("our page closed all 200 channels the peer opened: {r}"))?;
    survives(&c, "200 in-band channels")?;
    report(&c, "200 in-band channels")?;
    let w = hostile::watched(&c.page)?;
    ensure(&c.page, num(&w, &["inband"]) == 200 && num(&w, &["inbandClosed"]) == 200, &format!("opened and closed in band: {w}"))?;
    let b = counters(&c.page)?;
    ensure(&c.page, counter(&b, "channels_closed")? >= 200, &format!("the page counts them: {b:?}"))
}

/// Our page calls; the callee sends 100 offers on channel 5 (only a caller
/// may offer): none is applied or answered, and the call goes on.
#[test]
fn caller_ignores_offers_from_the_callee() -> Result<()> {
    let c = set_up(Attack::CalleeOffers)?;
    let sent = hostile::run(&c.peer, Attack::CalleeOffers)?;
    let n = num(&sent, &["sent"]);
    received(&c.page, "renegotiation", n)?;
    survives(&c, "offers from the callee")?;
    report(&c, "offers from the callee")?;
    let w = hostile::watched(&c.page)?;
    ensure(&c.page, num(&w, &["srd", "offer"]) == 0, &format!("no offer from the callee applied: {}", w["srd"]))?;
    ensure(&c.page, num(&w, &["sent5", "answer"]) == 0, &format!("none answered: {}", w["sent5"]))?;
    let b = counters(&c.page)?;
    ensure(&c.page, counter(&b, "offers")? == 0, &format!("the page counts no offer applied: {b:?}"))
}

