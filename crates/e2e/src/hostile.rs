//! A stranger's software on the other end: the hostile peer
//! (`/hostile.html`, `crates/testhost/src/hostile-peer.js`) in a call with a
//! page, its attacks (PROTOCOL.md section 5a), and what the page under
//! attack did, counted from outside by [`WATCH`]. Shared by
//! `tests/hostile.rs` (what must hold) and the bench's `--hostile` (what it
//! costs, ours and the deployed page side by side).

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{err, wait_answer, wait_offer, Browser, Enc, Page, Result, Server, T};

/// Installed on the page under attack before any of its scripts (and
/// before the host shim): counts, without changing what the page does,
///
/// - `cands`: `addIceCandidate` calls with a candidate (what was applied),
///   `gens`: the same per ICE generation (the candidate's
///   `usernameFragment`, else the remote description's ufrag);
/// - `srd`, `sld`: `setRemoteDescription` by type; `setLocalDescription()`
///   without a description in the `stable` state (an offer made);
/// - `msgs`: messages received per negotiated channel's label;
///   `sent5`: messages sent on channel 5 by type;
/// - `inband`, `inbandClosed`: channels the peer opened in band, and how
///   many of them closed;
/// - `errors`, `rejections`: uncaught errors and unhandled rejections;
/// - `lag`: the longest a 20 ms timer was late (the event loop's worst
///   stall since [`reset_lag`]);
/// - `views`: changes of `data-remote-mic` / `data-remote-video`.
pub const WATCH: &str = r#"(function () {
  var w = window.__watch = { cands: 0, gens: {}, srd: {}, sld: 0, msgs: {}, sent5: {}, inband: 0, inbandClosed: 0,
    errors: 0, errorText: [], rejections: 0, lag: 0, ticks: 0, views: 0 };
  var O = window.RTCPeerConnection;
  if (typeof O !== 'function') return;
  var P = O.prototype, now = function () { return performance.now(); };
  var ufrag = function (d) { var m = d && /a=ice-ufrag:(\S+)/.exec(d.sdp); return m ? m[1] : '-'; };
  var aic = P.addIceCandidate;
  P.addIceCandidate = function (c) {
    if (c && c.candidate) { w.cands++; var g = c.usernameFragment || ufrag(this.remoteDescription); w.gens[g] = (w.gens[g] || 0) + 1; }
    return aic.apply(this, arguments);
  };
  var srd = P.setRemoteDescription;
  P.setRemoteDescription = function (d) { var t = d && d.type || '?'; w.srd[t] = (w.srd[t] || 0) + 1; return srd.apply(this, arguments); };
  var sld = P.setLocalDescription;
  P.setLocalDescription = function (d) { if (!d && this.signalingState === 'stable') w.sld++; return sld.apply(this, arguments); };
  var cdc = P.createDataChannel;
  P.createDataChannel = function (label) {
    var c = cdc.apply(this, arguments);
    c.addEventListener('message', function () { w.msgs[c.label] = (w.msgs[c.label] || 0) + 1; });
    return c;
  };
  var send = RTCDataChannel.prototype.send;
  RTCDataChannel.prototype.send = function (d) {
    if (this.label === 'renegotiation') { var t = '?'; try { t = JSON.parse(d).type; } catch (e) {} w.sent5[t] = (w.sent5[t] || 0) + 1; }
    return send.apply(this, arguments);
  };
  var F = function RTCPeerConnection(c) {
    var pc = arguments.length ? new O(c) : new O();
    pc.addEventListener('datachannel', function (e) {
      w.inband++;
      e.channel.addEventListener('close', function () { w.inbandClosed++; });
    });
    return pc;
  };
  F.prototype = P; Object.setPrototypeOf(F, O); window.RTCPeerConnection = F;
  addEventListener('error', function (e) { w.errors++; if (w.errorText.length < 10) w.errorText.push(String(e.message)); });
  addEventListener('unhandledrejection', function (e) { w.rejections++; if (w.errorText.length < 10) w.errorText.push(String(e.reason)); });
  var st = window.setTimeout, last = now();
  (function tick() { var t = now(); w.lag = Math.max(w.lag, t - last - 20); last = t; w.ticks++; st(tick, 20); })();
  w.resetLag = function () { w.lag = 0; };
  document.addEventListener('DOMContentLoaded', function () {
    new MutationObserver(function () { w.views++; })
      .observe(document.documentElement, { attributes: true, attributeFilter: ['data-remote-mic', 'data-remote-video'] });
  });
})();"#;

/// One class of misbehaviour (PROTOCOL.md section 5a), at the size the
/// issue measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attack {
    /// None: a quiet call, the baseline of a measurement.
    Quiet,
    /// 20,000 well-formed host candidates on channel 1 at 10,000 a second.
    Candidates,
    /// 2,000 junk messages on channel 1: bad JSON, binary, wrong types,
    /// one of 200 kB.
    Junk,
    /// 50,000 mute toggles on channel 3 in 5 s, then the truth (both on).
    Mutes,
    /// One real ICE-restart offer sent 300 times with 50 junk messages
    /// between, on channel 5 in 3 s.
    Restarts,
    /// 200 in-band data channels, 1 kB sent on each.
    Channels,
    /// An offer with 15 extra audio and 15 extra video m-lines (the attack
    /// is the call itself).
    OfferShape,
    /// Our side is the caller; the callee sends 100 offers on channel 5 in
    /// 2 s (only a caller may offer).
    CalleeOffers,
}

impl Attack {
    pub const ALL: [Attack; 8] =
        [Attack::Quiet, Attack::Candidates, Attack::Junk, Attack::Mutes, Attack::Restarts, Attack::Channels, Attack::OfferShape, Attack::CalleeOffers];

    pub fn id(self) -> &'static str {
        match self {
            Attack::Quiet => "quiet",
            Attack::Candidates => "candidates",
            Attack::Junk => "junk",
            Attack::Mutes => "mutes",
            Attack::Restarts => "restarts",
            Attack::Channels => "channels",
            Attack::OfferShape => "offer-shape",
            Attack::CalleeOffers => "callee-offers",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Attack::Quiet => "none (a quiet call: the baseline)",
            Attack::Candidates => "20,000 host candidates on channel 1 at 10,000/s",
            Attack::Junk => "2,000 junk messages on channel 1 (one 200 kB)",
            Attack::Mutes => "50,000 mute toggles on channel 3 in 5 s, then both on",
            Attack::Restarts => "300 ICE-restart offers and 50 junk on channel 5 in 3 s",
            Attack::Channels => "200 in-band data channels, 1 kB each",
            Attack::OfferShape => "an offer with 30 extra audio and video m-lines",
            Attack::CalleeOffers => "page is the caller: 100 offers from the callee on channel 5 in 2 s",
        }
    }

    /// How many messages the attack sends on its channel (0: none).
    pub fn messages(self) -> u64 {
        match self {
            Attack::Candidates => 20_000,
            Attack::Junk => 2_000,
            Attack::Mutes => 50_001,
            Attack::Restarts => 350,
            Attack::CalleeOffers => 100,
            Attack::Quiet | Attack::Channels | Attack::OfferShape => 0,
        }
    }

    /// The channel (label) the attack's messages go on.
    pub fn label(self) -> Option<&'static str> {
        match self {
            Attack::Candidates | Attack::Junk => Some("iceTrickling"),
            Attack::Mutes => Some("mutedState"),
            Attack::Restarts | Attack::CalleeOffers => Some("renegotiation"),
            Attack::Quiet | Attack::Channels | Attack::OfferShape => None,
        }
    }

    /// The attacked page calls (true only for [`Attack::CalleeOffers`]).
    pub fn page_calls(self) -> bool {
        self == Attack::CalleeOffers
    }

    /// The JavaScript the hostile peer runs (a promise of what it sent).
    fn js(self) -> &'static str {
        match self {
            Attack::Candidates => "hostile.candidates(20000, 10000)",
            Attack::Junk => "hostile.junk(2000)",
            Attack::Mutes => "hostile.mutes(50000, 5000)",
            Attack::Restarts => "hostile.restarts(300, 50, 3000)",
            Attack::Channels => "hostile.channels(200, 1024)",
            Attack::Quiet | Attack::OfferShape => "Promise.resolve({ sent: 0 })",
            Attack::CalleeOffers => "hostile.calleeOffers(100, 2000)",
        }
    }
}

/// The hostile peer's window in `browser` (best in a browser of its own:
/// a page that is killed takes its renderer with it).
pub fn open_peer(browser: &Browser, server: &Server) -> Result<Page> {
    let p = browser.new_page("hostile peer", serde_json::json!({}))?;
    p.goto(&server.url("/hostile.html"))?;
    p.wait_for("!!window.hostile && !!window.__host", T)?;
    Ok(p)
}

/// Opens the page under attack at `path` (`/call.html`, `/debug.html`,
/// `/theirs.html`) with [`WATCH`] installed, loaded without a command.
pub fn open_target(browser: &Browser, server: &Server, name: &str, path: &str) -> Result<Page> {
    let p = browser.new_page(name, serde_json::json!({}))?;
    p.add_init_script(WATCH)?;
    p.goto(&server.url(path))?;
    p.wait_for("!!window.__host && !!window.__watch", T)?;
    Ok(p)
}

/// A call between the hostile peer and `page` (loaded, no command yet),
/// answered in the messenger (`#acceptCall=`, no prompt) as Desktop does
/// for a call answered in its own window. `attack` says who calls and the
/// offer's shape. Waits until both connections are `connected`; returns
/// (offer, answer).
pub fn call(peer: &Page, page: &Page, attack: Attack) -> Result<(String, String)> {
    let (offer, answer) = if attack.page_calls() {
        page.set_hash("#startCall")?;
        let offer = wait_offer(page)?;
        peer.set_hash(&format!("#acceptCall={}", crate::payload(&offer, Enc::Raw)))?;
        let answer = wait_answer(peer)?;
        crate::send_answer(page, &answer, Enc::Raw)?;
        (offer, answer)
    } else {
        let extra = if attack == Attack::OfferShape { 15 } else { 0 };
        peer.eval(&format!("hostile.call({{ extraAudio: {extra}, extraVideo: {extra} }})"))?;
        let offer = wait_offer(peer)?;
        crate::send_offer(page, &offer, false, Enc::Raw)?;
        let answer = wait_answer(page)?;
        crate::send_answer(peer, &answer, Enc::Raw)?;
        (offer, answer)
    };
    for p in [peer, page] {
        p.wait_for("!!window.__host.callPc() && window.__host.callPc().connectionState === 'connected'", T)?;
    }
    Ok((offer, answer))
}

/// Runs `attack` from the peer; returns what the peer reports having sent
/// (`sent`, `ms`, and per attack more) once its last message is queued.
pub fn run(peer: &Page, attack: Attack) -> Result<Value> {
    start(peer, attack)?;
    finish(peer)
}

/// Starts `attack` from the peer and returns at once (to watch the page
/// while it lasts); [`finish`] waits for its end.
pub fn start(peer: &Page, attack: Attack) -> Result<()> {
    let js = format!(
        "(hostile.result = null, {}.then(r => {{ hostile.result = r; }}, e => {{ hostile.result = {{ error: String(e) }}; }}), 0)",
        attack.js()
    );
    peer.eval(&js).map(|_| ())
}

/// What the peer reports once the attack [`start`]ed is sent.
pub fn finish(peer: &Page) -> Result<Value> {
    let r = peer.wait_for("hostile.result", Duration::from_secs(60))?;
    match r.get("error") {
        Some(e) => err(format!("{}: the attack failed: {e}", peer.name())),
        None => Ok(r),
    }
}

/// The page's event loop: its worst lag since the last reset, in ms.
pub fn reset_lag(p: &Page) -> Result<()> {
    p.eval("window.__watch.resetLag(), 0").map(|_| ())
}

/// What [`WATCH`] counted on `p`.
pub fn watched(p: &Page) -> Result<Value> {
    p.eval("JSON.parse(JSON.stringify(window.__watch))")
}

/// How long `p` took to evaluate a trivial expression: it still answers.
/// A page that does not answer at all fails after the driver's own bound.
pub fn answers(p: &Page) -> Result<Duration> {
    let t = Instant::now();
    let v = p.eval("1 + 1")?;
    if v.as_u64() != Some(2) {
        return err(format!("{}: 1 + 1 gave {v}", p.name()));
    }
    Ok(t.elapsed())
}

/// The debug build's counters of the page's bounds (`<pre
/// id="debug-bounds">`, `key=value` separated by spaces); `None` where the
/// page has no such element (the release build, an older page).
pub fn debug_bounds(p: &Page) -> Result<Option<Vec<(String, u64)>>> {
    let v = p.eval("(document.getElementById('debug-bounds') || {}).textContent")?;
    Ok(v.as_str().map(parse_bounds))
}

fn parse_bounds(text: &str) -> Vec<(String, u64)> {
    text.split_whitespace()
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            Some((k.to_string(), v.parse().ok()?))
        })
        .collect()
}

/// The value of `key` in [`debug_bounds`]' list.
pub fn bound(list: &[(String, u64)], key: &str) -> Option<u64> {
    list.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
}

/// The m-lines of an SDP as (kind, port, direction).
pub fn m_sections(sdp: &str) -> Vec<(String, u32, String)> {
    sdp.split("\nm=")
        .skip(1)
        .map(|s| {
            let mut w = s.split_whitespace();
            let kind = w.next().unwrap_or("").to_string();
            let port = w.next().and_then(|p| p.parse().ok()).unwrap_or(u32::MAX);
            let dir = ["sendrecv", "sendonly", "recvonly", "inactive"]
                .into_iter()
                .find(|d| s.lines().any(|l| l.trim() == format!("a={d}")))
                .unwrap_or("sendrecv")
                .to_string();
            (kind, port, dir)
        })
        .collect()
}

/// The m-lines of `answer` beyond the first audio, the first video and
/// the application one that are neither rejected (port 0) nor inactive.
pub fn extras_in_use(answer: &str) -> Vec<String> {
    let mut first = std::collections::HashSet::new();
    m_sections(answer)
        .into_iter()
        .enumerate()
        .filter(|(_, (kind, port, dir))| !first.insert(kind.clone()) && *port != 0 && dir != "inactive")
        .map(|(i, (kind, port, dir))| format!("m-line {i}: {kind} port {port} {dir}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_m_lines() {
        let b = parse_bounds("candidates=64 candidates_dropped=19936 dropped_1=0 junk oversized=1\n");
        assert_eq!(bound(&b, "candidates"), Some(64));
        assert_eq!(bound(&b, "candidates_dropped"), Some(19936));
        assert_eq!(bound(&b, "oversized"), Some(1));
        assert_eq!(bound(&b, "junk"), None);
        let sdp = "v=0\r\nm=audio 9 X 111\r\na=sendrecv\r\nm=video 9 X 96\r\na=sendrecv\r\nm=application 9 X\r\n\
                   m=audio 0 X 111\r\na=inactive\r\nm=video 9 X 96\r\na=inactive\r\nm=video 9 X 96\r\na=recvonly\r\n";
        assert_eq!(m_sections(sdp)[3], ("audio".to_string(), 0, "inactive".to_string()));
        assert_eq!(extras_in_use(sdp), ["m-line 5: video port 9 recvonly"]);
    }
}
