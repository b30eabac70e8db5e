//! A peer that speaks the protocol and then misbehaves (PROTOCOL.md section
//! 5a): each attack the browser tests run against the page
//! (`crates/e2e/tests/hostile.rs`), here against the core alone, with the
//! numbers the bounds of `call_core::guard` allow. Each test also checks
//! that the call itself goes on and that what a real peer does stays
//! within every bound.

mod common;

use call_core::guard::{limit, MAX_CANDIDATES};
use call_core::channel::Renegotiation;
use call_core::sdp::Plan;
use call_core::{Button, CandidateInit, Channel, ConnState, Effect, Input, Phase};
use common::*;

fn candidate_msg(i: u32) -> String {
    let c = CandidateInit {
        candidate: format!("candidate:{i} 1 udp 2122260223 10.{}.{}.{} 40000 typ host", i / 65536 % 256, i / 256 % 256, i % 256),
        sdp_mid: Some("0".into()),
        sdp_m_line_index: Some(0),
        username_fragment: None,
    };
    cand_json(&c)
}

fn applied(effects: &[Effect]) -> usize {
    count(effects, |e| matches!(e, Effect::AddCandidate(Some(_))))
}

fn set_remote_offers(effects: &[Effect]) -> Vec<String> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::SetRemote { offer: true, sdp } => Some(sdp.clone()),
            _ => None,
        })
        .collect()
}

/// Feeds `n` messages on `ch` at `per_ms` a millisecond.
fn flood(s: &mut Sim, ch: Channel, n: u32, per_ms: u32, msg: impl Fn(u32) -> String) -> Vec<Effect> {
    let mut out = Vec::new();
    for i in 0..n {
        let ms = u64::from(i % per_ms == 0);
        out.extend(s.after(ms, Input::ChannelMessage(ch, msg(i))));
    }
    out
}

/// The issue's flood: 20,000 well-formed host candidates at 10,000 a
/// second. Before the bounds every one became an `addIceCandidate` (the
/// renderer grew to 7 GB and was killed).
#[test]
fn a_candidate_flood_applies_no_more_than_a_real_peer_sends() {
    for mut s in [callee_in_call(), caller_in_call()] {
        let mut e = flood(&mut s, Channel::IceTrickling, 20_000, 10, candidate_msg);
        // Those placed go to the browser at their pace, not at once.
        assert!(applied(&e) < MAX_CANDIDATES as usize / 2, "{} at once", applied(&e));
        e.extend(s.run_for(10_000));
        assert_eq!(applied(&e), MAX_CANDIDATES as usize);
        assert_eq!(logs(&e).len(), 2, "one line per kind (candidates, the channel's rate): {:?}", logs(&e));
        let c = s.call.peer_counts().unwrap_or_default();
        assert_eq!(c.candidates_dropped + c.dropped[0], 20_000 - MAX_CANDIDATES);
        assert_eq!(s.phase(), Phase::InCall);
        // Nothing else came out of it: no restart, no message sent (the
        // route and the path's estimate are looked up as in any call).
        let other: Vec<_> = quiet(&e).into_iter().filter(|x| !matches!(x, Effect::AddCandidate(_) | Effect::QueryRoute | Effect::QueryEstimate)).collect();
        assert_eq!(other, vec![]);
    }
}

/// What a real peer trickles (host candidates of several interfaces, two
/// reflexive ones, relays of three TURN servers) passes whole, and again
/// after each ICE restart.
#[test]
fn a_real_peers_candidates_all_pass_in_every_generation() {
    let mut s = callee_in_call();
    let real = |gen: u32| (0..32).map(move |i| candidate_msg(gen * 1000 + i));
    let mut e = Vec::new();
    for m in real(0) {
        e.extend(s.after(2, Input::ChannelMessage(Channel::IceTrickling, m)));
    }
    e.extend(s.run_for(3000));
    assert_eq!(applied(&e), 32, "all within 3 s");
    // A restart: a new generation.
    let offer = Renegotiation::Offer(OFFER_2.into()).to_json();
    s.after(8000, Input::ChannelMessage(Channel::Renegotiation, offer));
    let mut e = Vec::new();
    for m in real(1) {
        e.extend(s.after(2, Input::ChannelMessage(Channel::IceTrickling, m)));
    }
    e.extend(s.run_for(3000));
    assert_eq!(applied(&e), 32);
    let c = s.call.peer_counts().unwrap_or_default();
    assert_eq!((c.candidates_dropped, c.dropped, c.offers_dropped), (0, [0, 0, 0], 0));
}

/// Candidates in the peer's description count too: an offer carrying
/// thousands is applied with the first `MAX_CANDIDATES` of them.
#[test]
fn an_offer_stuffed_with_candidates_is_applied_with_a_real_peers_number() {
    let lines: String = (0..3000).map(|i| format!("a=candidate:{i} 1 udp 1 10.0.{}.{} 9 typ host\r\n", i / 256, i % 256)).collect();
    let offer = format!("{OFFER}{lines}");
    let mut s = callee_prompt("");
    s.hash(&offer_hash(&offer));
    let e = s.click(Button::Answer);
    let sdp = set_remote_offers(&e);
    assert_eq!(sdp.len(), 1);
    assert_eq!(sdp[0].matches("a=candidate:").count(), MAX_CANDIDATES as usize);
    assert!(sdp[0].starts_with(OFFER));
    // The generation is full: trickled ones are dropped.
    let mut s = callee_handed_over_with(&offer);
    let e = s.after(10, Input::ChannelMessage(Channel::IceTrickling, candidate_msg(1)));
    assert_eq!(applied(&e), 0);
}

fn callee_handed_over_with(offer: &str) -> Sim {
    let mut s = callee_prompt("");
    s.hash(&offer_hash(offer));
    s.click(Button::Answer);
    s.after(30, Input::Media(Ok(AV)));
    s.after(5, Input::RemoteDescriptionSet);
    s.after(5, Input::LocalDescriptionSet);
    s.after(40, Input::Candidate(cand("relay", 2)));
    s.after(500, Input::Connection(ConnState::Connected));
    s
}

/// 50,000 mute toggles in 5 s, then "all on": the page takes what its rate
/// allows, and the final state is the one shown.
#[test]
fn a_mute_flood_ends_in_the_state_the_peer_sent_last() {
    let mut s = callee_in_call();
    s.feed(Input::RemoteVideo(true));
    let toggle = |i: u32| format!(r#"{{"audioEnabled":{},"videoEnabled":{}}}"#, i % 2 == 0, i % 3 == 0);
    flood(&mut s, Channel::MutedState, 50_000, 10, toggle);
    s.feed(Input::ChannelMessage(Channel::MutedState, r#"{"audioEnabled":true,"videoEnabled":true}"#.into()));
    // It may wait for the channel's rate, never longer.
    s.run_for(limit(Channel::MutedState).every_ms);
    let v = s.view();
    assert_eq!((v.remote_mic, v.remote_video), (Some(true), true));
    let c = s.call.peer_counts().unwrap_or_default();
    assert!(c.dropped[1] > 49_000, "{c:?}");
    // A person's toggles, a few a second, all count at once.
    for on in [false, true, false, true] {
        let m = format!(r#"{{"audioEnabled":{on},"videoEnabled":true}}"#);
        s.after(300, Input::ChannelMessage(Channel::MutedState, m));
        assert_eq!(s.view().remote_mic, Some(on));
    }
}

/// Junk of every kind on channel 1: bad JSON, wrong types, one 200 kB
/// message, binary. Nothing applied, nothing shown, the log bounded.
#[test]
fn junk_on_the_channels_is_dropped_and_logged_boundedly() {
    let mut s = caller_in_call();
    s.feed(Input::RemoteVideo(true));
    let before = s.view();
    let junk = |i: u32| match i % 4 {
        0 => "{\"candidate\":".into(),
        1 => "[1,2,3]".into(),
        2 => r#"{"candidate":7,"sdpMid":[]}"#.into(),
        _ => "x".repeat(200 * 1024),
    };
    let e = flood(&mut s, Channel::IceTrickling, 2000, 2, junk);
    let e2 = s.feed(Input::BinaryMessage(Channel::IceTrickling));
    assert_eq!(quiet(&e), vec![]);
    assert_eq!(quiet(&e2), vec![]);
    // Malformed messages within the rate are logged one by one; beyond it
    // and for size only the first of each kind.
    assert!(logs(&e).len() < 200, "{} lines", logs(&e).len());
    assert!(logs(&e).iter().all(|l| l.len() < 200));
    let c = s.call.peer_counts().unwrap_or_default();
    assert_eq!(c.oversized, 501, "every 200 kB message and the binary one");
    assert_eq!(s.view(), before);
}

/// The issue's restart storm on channel 5: 300 restart offers and 50 junk
/// messages in 3 s. The callee applies one offer at a time, at the offers'
/// rate, never makes an offer of its own, and the newest offer is the one
/// answered last.
#[test]
fn a_restart_storm_is_answered_one_offer_at_a_time() {
    let mut s = callee_in_call();
    let offers: Vec<String> = (0..300).map(|i| OFFER_2.replace("o=- 99 2", &format!("o=- 99 {}", i + 2))).collect();
    let mut e = Vec::new();
    for (i, o) in offers.iter().enumerate() {
        if i % 6 == 0 {
            e.extend(s.after(2, Input::ChannelMessage(Channel::Renegotiation, "{\"type\":".into())));
        }
        e.extend(s.after(8, Input::ChannelMessage(Channel::Renegotiation, Renegotiation::Offer(o.clone()).to_json())));
        answer_as_the_browser(&mut s, &mut e);
    }
    // Then the peer is quiet for a minute; the page answers what waits.
    for _ in 0..60 {
        e.extend(s.run_for(1000));
        answer_as_the_browser(&mut s, &mut e);
    }
    let applied = set_remote_offers(&e);
    assert!(applied.len() <= 4, "{} offers applied", applied.len());
    assert_eq!(applied.last(), offers.last(), "the newest offer is answered");
    assert_eq!(count(&e, |e| matches!(e, Effect::CreateOffer { .. })), 0, "only the caller offers");
    assert_eq!(count(&e, |e| *e == Effect::SendDescription), applied.len(), "one answer per applied offer");
    assert_eq!(s.phase(), Phase::InCall);
}

/// The browser applies each offer the core hands it and makes the answer.
fn answer_as_the_browser(s: &mut Sim, e: &mut Vec<Effect>) {
    while set_remote_offers(e).len() > count(e, |x| *x == Effect::SendDescription) {
        e.extend(s.after(2, Input::RemoteDescriptionSet));
        e.extend(s.after(2, Input::LocalDescriptionSet));
    }
}

/// An offer that comes while the previous one is still being applied
/// waits: `setLocalDescription()` must never run without a remote offer
/// (it made offers of the callee's own in the browser).
#[test]
fn a_second_offer_waits_for_the_answer_to_the_first() {
    let mut s = callee_in_call();
    let o = |sdp: &str| Input::ChannelMessage(Channel::Renegotiation, Renegotiation::Offer(sdp.into()).to_json());
    assert_eq!(set_remote_offers(&s.after(10, o(OFFER_2))).len(), 1);
    assert_eq!(s.after(1, o(OFFER)), vec![], "waits");
    assert_eq!(s.after(1, Input::RemoteDescriptionSet), vec![Effect::CreateAnswer]);
    let e = s.after(1, Input::LocalDescriptionSet);
    assert_eq!(e, vec![Effect::SendDescription, use_media(OFFER), Effect::SetRemote { offer: true, sdp: OFFER.into() }]);
}

/// A restart attempt that gives up the exchange under way lets the offer
/// that waited for it go at once, in the same step: left for a deadline
/// already past, the shell's timer would wake the call for nothing first
/// (found by the fuzzer: "woken at …, the call still names …").
#[test]
fn an_offer_that_waited_goes_when_an_attempt_gives_up_the_exchange() {
    let mut s = callee_in_call();
    let o = |sdp: &str| Input::ChannelMessage(Channel::Renegotiation, Renegotiation::Offer(sdp.into()).to_json());
    assert_eq!(set_remote_offers(&s.after(10, o(OFFER_2))).len(), 1);
    assert_eq!(s.after(1, o(OFFER)), vec![], "waits for the answer to the first");
    // The browser never finishes the first; the connection drops, and the
    // next attempt abandons that exchange (each Timeout is checked by
    // `Sim`: nothing due is left behind).
    s.after(1, Input::NetworkChanged);
    s.after(1, Input::Connection(ConnState::Disconnected));
    let e = s.run_for(20_000);
    assert!(set_remote_offers(&e).contains(&OFFER.to_string()), "{e:?}");
}

/// A peer in the callee's role that offers: a protocol violation, dropped.
/// And a second answer to one restart offer is not applied.
#[test]
fn the_caller_takes_no_offer_and_one_answer_per_offer() {
    let mut s = caller_in_call();
    let e = s.after(10, Input::ChannelMessage(Channel::Renegotiation, Renegotiation::Offer(OFFER_2.into()).to_json()));
    assert_eq!(quiet(&e), vec![]);
    assert_eq!(s.call.peer_counts().map(|c| c.offers_dropped), Some(1));
    // A restart of ours, and the peer answers it twice.
    s.feed(Input::NetworkChanged);
    s.feed(Input::LocalDescriptionSet);
    s.feed(Input::GatheringComplete);
    let answer = || Input::ChannelMessage(Channel::Renegotiation, Renegotiation::Answer(ANSWER_2.into()).to_json());
    let first = s.after(100, answer());
    assert_eq!(first, vec![Effect::SetRemote { offer: false, sdp: ANSWER_2.into() }]);
    assert_eq!(quiet(&s.after(1, answer())), vec![]);
    assert_eq!(s.phase(), Phase::InCall);
}

/// In-band channels the peer opens are closed at once.
#[test]
fn channels_the_peer_opens_are_closed() {
    let mut s = callee_in_call();
    let mut e = Vec::new();
    for _ in 0..200 {
        e.extend(s.after(1, Input::ForeignChannel));
    }
    assert_eq!(count(&e, |e| *e == Effect::CloseForeignChannels), 200);
    assert_eq!(logs(&e).len(), 1);
    assert_eq!(s.call.peer_counts().map(|c| c.channels_closed), Some(200));
}

/// An offer with 30 extra audio and video sections: the first audio and
/// the first video section carry the call; the others are rejected (the
/// shell stops their transceivers and shows only the plan's tracks).
#[test]
fn extra_media_sections_are_not_part_of_the_call() {
    let mut offer = String::from(OFFER);
    offer += "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=sendrecv\r\n";
    for i in 3..33 {
        let kind = if i % 2 == 0 { "audio" } else { "video" };
        offer += &format!("m={kind} 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:{i}\r\na=sendrecv\r\n");
    }
    let mut s = callee_prompt("");
    s.hash(&offer_hash(&offer));
    let e = s.click(Button::Answer);
    assert_eq!(e[0], Effect::UseMedia(Plan { audio: Some("0".into()), video: Some("1".into()) }));
    // A peer without an audio section still gets a call with its video.
    let video_only = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=ice-ufrag:x\r\na=fingerprint:sha-256 AA\r\na=mid:v\r\na=recvonly\r\n";
    let mut s = callee_prompt("");
    s.hash(&offer_hash(video_only));
    let e = s.click(Button::Answer);
    assert_eq!(e[0], Effect::UseMedia(Plan { audio: None, video: Some("v".into()) }));
}
