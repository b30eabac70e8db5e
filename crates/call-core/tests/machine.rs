//! Integration tests of the call state machine (`call_core::Call`) against
//! PROTOCOL.md: every test drives a `Call` the way the browser shell does
//! and asserts the exact effects (without `Log`, whose wording is not part
//! of the contract, unless the log is the point) and the view.
//!

mod common;

use call_core::channel::Renegotiation;
use call_core::ice::{HOST_BURST_MS, HOST_WAIT_MS, RELAY_WAIT_MS, SRFLX_BURST_MS, SRFLX_WAIT_MS};
use call_core::machine::{
    CONNECT_TIMEOUT_MS, DISCONNECT_GRACE_MS, FAILURE_LINGER_MS, ICE_SERVERS_TIMEOUT_MS, MAX_RESTARTS,
    HELD_OFFER_MS, RELAY_VIDEO_KBPS, LOW_DATA_VIDEO_KBPS, RESTART_ATTEMPT_MS, ROUTE_POLL_MS, SCREEN_HOLD_MS,
};
use call_core::machine::ROUTE_POLL_FAST_MS;
use call_core::payload::PayloadError;
use call_core::{
    Button, Call, Camera, Channel, DeviceKind, ConnState, Dev, Effect, HostApi, HostCall, Input, Media, Msg, Phase, Route, VideoSend, VideoSource, Wake,
    View,
};
use common::*;

const MUTED_ALL_ON: &str = r#"{"audioEnabled":true,"videoEnabled":true}"#;

fn muted(audio: bool, video: bool) -> Effect {
    Effect::Send(Channel::MutedState, format!(r#"{{"audioEnabled":{audio},"videoEnabled":{video}}}"#))
}

fn is_hand_over(e: &Effect) -> bool {
    matches!(e, Effect::HandToHost(_))
}

/// Feeds every kind of input (waking the call too, but before a failure's
/// `endCall` is due) and checks
/// that none produces an effect or changes the view.
fn assert_inert(s: &mut Sim) {
    let before = s.view();
    let inputs = vec![
        Input::HashChanged("#startCall".into()),
        Input::HashChanged(offer_hash(OFFER)),
        Input::HashChanged(accept_hash(OFFER)),
        Input::HashChanged(answer_hash(ANSWER)),
        Input::IceServers(Ok(TURN_JSON.into())),
        Input::IceServers(Err(())),
        Input::Media(Ok(AV)),
        Input::Media(Err(())),
        Input::CameraPresent(true),
        Input::CameraStarted(true),
        Input::LocalDescriptionSet,
        Input::RemoteDescriptionSet,
        Input::PeerError,
        Input::Candidate(cand("relay", 9)),
        Input::GatheringComplete,
        Input::Connection(ConnState::Connected),
        Input::Connection(ConnState::Failed),
        Input::Connection(ConnState::Closed),
        Input::ChannelOpen(Channel::MutedState),
        Input::ChannelOpen(Channel::IceTrickling),
        Input::ChannelClosed(Channel::MutedState),
        Input::ChannelMessage(Channel::MutedState, MUTED_ALL_ON.into()),
        Input::ChannelMessage(Channel::IceTrickling, "null".into()),
        Input::ChannelMessage(Channel::Renegotiation, r#"{"type":"restart-request"}"#.into()),
        Input::NetworkChanged,
        Input::AddressGone,
        Input::RemoteVideo(true),
        Input::Route(Route::Relay),
        Input::Click(Button::Answer),
        Input::Click(Button::End),
        Input::Click(Button::Mic),
        Input::Click(Button::Cam),
        Input::Timeout,
        Input::Crashed,
    ];
    for input in inputs {
        // During the failure linger, End is the one way out (tested apart).
        if before.phase == Phase::Failed && input == Input::Click(Button::End) {
            continue;
        }
        let e = s.after(10, input.clone());
        assert_eq!(e, vec![], "{input:?} after the call was over");
        assert_eq!(s.view(), before, "{input:?} changed the view after the call was over");
    }
}

// ====================================================================
// Caller: #startCall
// ====================================================================

#[test]
fn caller_start_asks_for_servers_and_media_at_once() {
    let (s, e) = started("", "#startCall", HostApi::FULL);
    assert_eq!(
        e,
        vec![
            Effect::LoadIceServers,
            Effect::AcquireMedia { video: true },
        ]
    );
    assert_eq!(s.wait(Wake::IceServers), Some(ICE_SERVERS_TIMEOUT_MS));
    assert_eq!(s.view(), setup_view(Phase::Connecting));
}

#[test]
fn caller_idle_page_before_any_command() {
    let (s, e) = started("", "", HostApi::FULL);
    assert_eq!(e, load_servers(), "servers are fetched while waiting for #startCall");
    let v = s.view();
    assert_eq!(v, View { phase: Phase::Idle, status: None, end: false, avatar: false, ..setup_view(Phase::Idle) });
}

#[test]
fn caller_servers_then_media_create_peer_and_offer_once() {
    // Issue 16: the offer does not wait for the camera. The servers are
    // all it needs; the tracks go on the senders when they come.
    let (mut s, _) = started("", "#startCall", HostApi::FULL);
    let e = s.after(5, Input::IceServers(Ok(TURN_JSON.into())));
    assert_eq!(e, vec![create_peer(turn_servers()), Effect::CreateOffer { ice_restart: false }]);
    assert_eq!(s.wait(Wake::IceWait), Some(RELAY_WAIT_MS));
    assert_eq!(s.view(), setup_view(Phase::Connecting), "no media controls before media");
    s.feed(Input::CameraPresent(true));
    let e = s.after(20, Input::Media(Ok(AV)));
    assert_eq!(e, attach(), "the tracks go on the senders; no second offer");
    assert_eq!(s.view(), live_view(Phase::Connecting));
    // Repeated results change nothing.
    assert_eq!(s.feed(Input::Media(Ok(AV))), vec![]);
    assert_eq!(s.feed(Input::IceServers(Ok(STUN_JSON.into()))), vec![]);
    assert_eq!(s.feed(Input::Timeout), vec![]);
    assert_eq!(s.view(), live_view(Phase::Connecting));
}

#[test]
fn caller_media_then_servers_create_peer_and_offer_once() {
    let (mut s, _) = started("", "#startCall", HostApi::FULL);
    assert_eq!(s.after(300, Input::Media(Ok(AV))), vec![], "waits for the servers");
    assert_eq!(s.view(), live_view(Phase::Connecting));
    let e = s.after(5, Input::IceServers(Ok(TURN_JSON.into())));
    // Media came before the description: the tracks go on the senders at
    // once, with the offer.
    let mut want = vec![create_peer(turn_servers()), Effect::CreateOffer { ice_restart: false }];
    want.extend(attach());
    assert_eq!(e, want);
    assert_eq!(s.wait(Wake::IceWait), Some(RELAY_WAIT_MS));
    assert_eq!(s.after(5, Input::Media(Ok(AV))), vec![]);
    assert_eq!(s.run_for(ICE_SERVERS_TIMEOUT_MS), vec![], "the servers timeout no longer matters");
    let offers = count(&s.history, |e| matches!(e, Effect::CreateOffer { .. }));
    assert_eq!(offers, 1);
}

#[test]
fn caller_relay_candidate_before_local_description() {
    let mut s = caller_with("", TURN_JSON);
    assert_eq!(s.after(3, Input::Candidate(cand("host", 1))), vec![]);
    assert_eq!(s.after(3, Input::Candidate(cand("relay", 2))), vec![], "no hand-over without a local description");
    assert_eq!(s.phase(), Phase::Connecting);
    let e = s.after(3, Input::LocalDescriptionSet);
    assert_eq!(quiet(&e), hand_over(HostCall::StartCall));
    assert_eq!(logs(&e).len(), 1, "the wait is logged: {e:?}");
    assert_eq!(s.view(), live_view(Phase::Ringing));
}

#[test]
fn caller_with_turn_waits_for_the_relay_candidate() {
    let mut s = caller_with("", TURN_JSON);
    assert_eq!(s.after(10, Input::LocalDescriptionSet), vec![]);
    for (i, typ) in ["host", "srflx", "prflx", "host"].into_iter().enumerate() {
        assert_eq!(s.after(20, Input::Candidate(cand(typ, i as u32))), vec![], "{typ} does not end a TURN wait");
    }
    // Candidate lines the machine cannot classify do not end it either.
    let mut odd = cand("relay", 7);
    odd.candidate = "candidate:7 1 udp 1 203.0.113.7 5 typ".into();
    assert_eq!(s.after(1, Input::Candidate(odd)), vec![]);
    assert_eq!(s.view(), live_view(Phase::Connecting));
    let e = s.after(20, Input::Candidate(cand("relay", 9)));
    assert_eq!(quiet(&e), hand_over(HostCall::StartCall));
    assert_eq!(s.view(), live_view(Phase::Ringing));
}

#[test]
fn caller_turn_wait_is_bounded_below_three_seconds() {
    const { assert!(RELAY_WAIT_MS < 3000, "a dead TURN server must not stall the offer") };
    let mut s = caller_with("", TURN_JSON);
    let created = s.now;
    assert_eq!(s.due(Wake::IceWait), Some(created + RELAY_WAIT_MS));
    s.after(10, Input::LocalDescriptionSet);
    s.after(10, Input::Candidate(cand("host", 1)));
    s.after(10, Input::Candidate(cand("srflx", 2)));
    assert_eq!(s.feed(Input::Timeout), vec![], "a premature timer changes nothing");
    assert_eq!(s.run_until(created + RELAY_WAIT_MS - 1), vec![]);
    assert_eq!(s.phase(), Phase::Connecting);
    let e = s.run_until(created + RELAY_WAIT_MS);
    assert_eq!(quiet(&e), hand_over(HostCall::StartCall));
    assert_eq!(s.view(), live_view(Phase::Ringing));
}

#[test]
fn caller_offer_goes_out_by_its_deadline_after_a_slow_start() {
    use call_core::ice::{MIN_GATHER_MS, OFFER_BY_MS};
    // getUserMedia took 1.2 s (a loaded machine): the wait is shortened so
    // that the offer still goes out OFFER_BY_MS after #startCall.
    let (mut s, _) = started("", "#startCall", HostApi::FULL);
    let asked = s.now;
    let _ = s.after(1200, Input::IceServers(Ok(TURN_JSON.into())));
    assert_eq!(s.wait(Wake::IceWait), Some(OFFER_BY_MS - 1200));
    s.after(10, Input::LocalDescriptionSet);
    assert_eq!(s.run_until(asked + OFFER_BY_MS - 1), vec![]);
    assert_eq!(quiet(&s.run_until(asked + OFFER_BY_MS)), hand_over(HostCall::StartCall));
    // Later still: gathering gets its minimum.
    let (mut s, _) = started("", "#startCall", HostApi::FULL);
    let _ = s.after(3000, Input::IceServers(Ok(TURN_JSON.into())));
    assert_eq!(s.wait(Wake::IceWait), Some(MIN_GATHER_MS));
    // The callee's deadline counts from its answer, not from page start.
    let mut s = callee_prompt("");
    s.after(10_000, Input::Click(Button::Answer));
    assert_eq!(s.wait(Wake::IceWait), Some(RELAY_WAIT_MS));
}

#[test]
fn caller_bound_passed_before_local_description_hands_over_when_it_is_set() {
    let mut s = caller_with("", TURN_JSON);
    assert_eq!(s.run_for(RELAY_WAIT_MS + 100), vec![], "nothing to hand over yet");
    let e = s.feed(Input::LocalDescriptionSet);
    assert_eq!(quiet(&e), hand_over(HostCall::StartCall));
}

#[test]
fn caller_stun_only_deadline_is_first_srflx_plus_burst() {
    let mut s = caller_with("", STUN_JSON);
    let created = s.now;
    assert_eq!(s.due(Wake::IceWait), Some(created + SRFLX_WAIT_MS));
    s.after(5, Input::LocalDescriptionSet);
    assert_eq!(s.after(5, Input::Candidate(cand("host", 1))), vec![]);
    assert_eq!(s.after(5, Input::Candidate(cand("relay", 2))), vec![], "relay means nothing without TURN");
    let e = s.after(80, Input::Candidate(cand("srflx", 3)));
    assert!(quiet(&e).iter().all(|e| !is_hand_over(e)), "{e:?}");
    let first_srflx = s.now;
    // A later srflx does not extend the burst.
    assert!(quiet(&s.after(100, Input::Candidate(cand("srflx", 4)))).iter().all(|e| !is_hand_over(e)));
    // The deadline: fed by hand at the exact moments.
    s.now = first_srflx + SRFLX_BURST_MS - 1;
    assert_eq!(s.feed(Input::Timeout), vec![]);
    s.now = first_srflx + SRFLX_BURST_MS;
    let e = s.feed(Input::Timeout);
    assert_eq!(quiet(&e), hand_over(HostCall::StartCall));
}

#[test]
fn caller_stun_only_hands_over_150ms_after_first_srflx() {
    let mut s = caller_with("", STUN_JSON);
    s.after(5, Input::LocalDescriptionSet);
    s.after(5, Input::Candidate(cand("host", 1)));
    s.after(80, Input::Candidate(cand("srflx", 2)));
    let first_srflx = s.now;
    // Only the timers the machine itself asked for fire (as in the shell).
    let e = s.run_until(first_srflx + SRFLX_BURST_MS - 1);
    assert_eq!(count(&e, is_hand_over), 0);
    let e = s.run_until(first_srflx + SRFLX_BURST_MS);
    assert_eq!(quiet(&e), hand_over(HostCall::StartCall), "hand-over at srflx + {SRFLX_BURST_MS} ms");
}

#[test]
fn caller_stun_only_without_srflx_is_bounded() {
    let mut s = caller_with("", STUN_JSON);
    let created = s.now;
    s.after(5, Input::LocalDescriptionSet);
    s.after(5, Input::Candidate(cand("host", 1)));
    assert_eq!(s.run_until(created + SRFLX_WAIT_MS - 1), vec![]);
    let e = s.run_until(created + SRFLX_WAIT_MS);
    assert_eq!(quiet(&e), hand_over(HostCall::StartCall));
}

#[test]
fn caller_without_servers_deadline_is_first_host_plus_burst() {
    let mut s = caller_with("", "[]");
    let created = s.now;
    assert_eq!(s.due(Wake::IceWait), Some(created + HOST_WAIT_MS));
    s.after(5, Input::LocalDescriptionSet);
    assert_eq!(s.after(5, Input::Candidate(cand("srflx", 1))), vec![], "srflx means nothing without servers");
    s.after(20, Input::Candidate(cand("host", 2)));
    let first_host = s.now;
    s.now = first_host + HOST_BURST_MS - 1;
    assert_eq!(s.feed(Input::Timeout), vec![]);
    s.now = first_host + HOST_BURST_MS;
    assert_eq!(quiet(&s.feed(Input::Timeout)), hand_over(HostCall::StartCall));
}

#[test]
fn caller_without_servers_hands_over_a_burst_after_first_host() {
    let mut s = caller_with("", "[]");
    s.after(5, Input::LocalDescriptionSet);
    s.after(20, Input::Candidate(cand("host", 1)));
    let first_host = s.now;
    assert_eq!(count(&s.run_until(first_host + HOST_BURST_MS - 1), is_hand_over), 0);
    let e = s.run_until(first_host + HOST_BURST_MS);
    assert_eq!(quiet(&e), hand_over(HostCall::StartCall));
}

#[test]
fn caller_without_servers_and_no_candidate_is_bounded() {
    let mut s = caller_with("", "[]");
    let created = s.now;
    s.after(5, Input::LocalDescriptionSet);
    assert_eq!(s.run_until(created + HOST_WAIT_MS - 1), vec![]);
    assert_eq!(quiet(&s.run_until(created + HOST_WAIT_MS)), hand_over(HostCall::StartCall));
}

#[test]
fn caller_gathering_complete_ends_the_wait() {
    let mut s = caller_with("", TURN_JSON);
    s.after(5, Input::LocalDescriptionSet);
    s.after(5, Input::Candidate(cand("host", 1)));
    let e = s.after(100, Input::GatheringComplete);
    assert_eq!(quiet(&e), hand_over(HostCall::StartCall), "no 'null' trickled: it is in the SDP");
    assert_eq!(s.view(), live_view(Phase::Ringing));
    assert_eq!(count(&s.run_for(10_000), is_hand_over), 0, "the bound timer later does nothing");
}

#[test]
fn caller_gathering_complete_before_local_description() {
    let mut s = caller_with("", TURN_JSON);
    assert_eq!(s.after(5, Input::GatheringComplete), vec![]);
    let e = s.after(5, Input::LocalDescriptionSet);
    assert_eq!(quiet(&e), hand_over(HostCall::StartCall));
}

#[test]
fn caller_hands_over_exactly_once() {
    let mut s = caller_ringing();
    for input in [
        Input::Candidate(cand("relay", 5)),
        Input::LocalDescriptionSet,
        Input::Timeout,
        Input::GatheringComplete,
        Input::Candidate(cand("host", 6)),
    ] {
        let e = s.after(10, input.clone());
        assert_eq!(count(&e, is_hand_over), 0, "{input:?}");
    }
    s.run_for(60_000);
    assert_eq!(count(&s.history, is_hand_over), 1);
    assert_eq!(s.phase(), Phase::Ringing);
}

#[test]
fn caller_candidates_after_hand_over_are_trickled_when_the_channel_opens() {
    let mut s = caller_ringing();
    let (c3, c4, c5) = (cand("srflx", 3), cand("relay", 4), cand("host", 5));
    assert_eq!(s.feed(Input::Candidate(c3.clone())), vec![], "buffered: the channel is not open");
    assert_eq!(s.feed(Input::Candidate(c4.clone())), vec![]);
    let e = s.feed(Input::ChannelOpen(Channel::IceTrickling));
    assert_eq!(
        e,
        vec![Effect::Send(Channel::IceTrickling, cand_json(&c3)), Effect::Send(Channel::IceTrickling, cand_json(&c4))],
        "in order; the candidates from before the hand-over are in the SDP, not trickled"
    );
    assert_eq!(s.feed(Input::Candidate(c5.clone())), vec![Effect::Send(Channel::IceTrickling, cand_json(&c5))]);
    assert_eq!(s.feed(Input::GatheringComplete), vec![Effect::Send(Channel::IceTrickling, "null".into())]);
}

#[test]
fn trickled_candidate_has_the_deployed_json_shape() {
    let mut s = caller_ringing();
    s.feed(Input::ChannelOpen(Channel::IceTrickling));
    let mut c = cand("srflx", 3);
    c.username_fragment = Some("u\"f".into());
    c.sdp_mid = None;
    assert_eq!(
        s.feed(Input::Candidate(c)),
        vec![Effect::Send(
            Channel::IceTrickling,
            r#"{"candidate":"candidate:3 1 udp 1677729535 203.0.113.3 50003 typ srflx generation 0","sdpMid":null,"sdpMLineIndex":0,"usernameFragment":"u\"f"}"#
                .into()
        )]
    );
}

#[test]
fn caller_end_of_candidates_after_hand_over_is_buffered_as_null() {
    let mut s = caller_ringing();
    let c = cand("relay", 3);
    s.feed(Input::Candidate(c.clone()));
    assert_eq!(s.feed(Input::GatheringComplete), vec![]);
    assert_eq!(
        s.feed(Input::ChannelOpen(Channel::IceTrickling)),
        vec![Effect::Send(Channel::IceTrickling, cand_json(&c)), Effect::Send(Channel::IceTrickling, "null".into())]
    );
}

#[test]
fn caller_answer_is_applied() {
    let mut s = caller_ringing();
    let e = s.after(4000, Input::HashChanged(answer_hash(ANSWER)));
    assert_eq!(e, vec![Effect::SetRemote { offer: false, sdp: ANSWER.into() }]);
    assert_eq!(s.view(), live_view(Phase::Ringing), "still ringing until the answer is applied");
    let e = s.after(5, Input::RemoteDescriptionSet);
    assert_eq!(e, vec![]);
    assert_eq!(s.wait(Wake::Connect), Some(CONNECT_TIMEOUT_MS));
    assert_eq!(s.view(), live_view(Phase::Connecting), "ring-back stops");
}

#[test]
fn caller_second_answer_is_ignored() {
    let mut s = caller_ringing();
    s.hash(&answer_hash(ANSWER));
    let e = s.hash(&answer_hash(ANSWER_2));
    assert_eq!(quiet(&e), vec![], "ignored while the first is being applied");
    s.feed(Input::RemoteDescriptionSet);
    let e = s.hash(&answer_hash(ANSWER_2));
    assert_eq!(quiet(&e), vec![], "ignored once applied");
    let e = s.feed(Input::Connection(ConnState::Connected));
    assert_eq!(e, vec![Effect::QueryRoute]);
    assert_eq!(s.wait(Wake::Route), Some(ROUTE_POLL_FAST_MS));
    assert_eq!(quiet(&s.hash(&answer_hash(ANSWER_2))), vec![], "ignored in the call");
    assert_eq!(count(&s.history, |e| matches!(e, Effect::SetRemote { .. })), 1);
    assert_eq!(s.view(), live_view(Phase::InCall));
}

#[test]
fn caller_bad_answer_payload_shows_a_notice_and_a_later_answer_works() {
    let mut s = caller_ringing();
    let cases = [
        ("#onAnswer=!!!".to_string(), PayloadError::NotBase64),
        (format!("#onAnswer={}", b64("hello")), PayloadError::NotSdp),
        (format!("#onAnswer={}", call_core::payload::base64_encode(&[0xff, 0xfe, 0xfd])), PayloadError::NotText),
        (format!("#onAnswer={}", "A".repeat(call_core::payload::MAX_PAYLOAD_LEN + 4)), PayloadError::TooLarge),
        ("#onAnswer=".to_string(), PayloadError::NotSdp),
    ];
    for (hash, err) in cases {
        let e = s.hash(&hash);
        assert_eq!(quiet(&e), vec![], "{err:?}");
        assert_eq!(logs(&e).len(), 1);
        assert_eq!(s.view(), View { notice: Some(Msg::BadPayload(err)), ..live_view(Phase::Ringing) });
    }
    let e = s.hash(&answer_hash(ANSWER));
    assert_eq!(e, vec![Effect::SetRemote { offer: false, sdp: ANSWER.into() }]);
}

#[test]
fn bad_payload_notice_goes_away_once_a_valid_payload_is_applied() {
    let mut s = caller_ringing();
    s.hash("#onAnswer=!!!");
    s.hash(&answer_hash(ANSWER));
    s.feed(Input::RemoteDescriptionSet);
    s.feed(Input::Connection(ConnState::Connected));
    assert_eq!(s.view(), live_view(Phase::InCall));
}

#[test]
fn caller_answer_rejected_by_the_browser_waits_for_another() {
    let mut s = caller_ringing();
    s.hash(&answer_hash(ANSWER));
    let e = s.after(5, Input::PeerError);
    assert_eq!(e, vec![], "not fatal");
    assert_eq!(s.view(), View { notice: Some(Msg::AnswerRejected), ..live_view(Phase::Ringing) });
    let e = s.hash(&answer_hash(ANSWER_2));
    assert_eq!(e, vec![Effect::SetRemote { offer: false, sdp: ANSWER_2.into() }]);
    assert_eq!(s.feed(Input::RemoteDescriptionSet), vec![]);
    assert_eq!(s.wait(Wake::Connect), Some(CONNECT_TIMEOUT_MS));
    s.feed(Input::Connection(ConnState::Connected));
    assert_eq!(s.view(), live_view(Phase::InCall), "the notice goes away once connected");
}

#[test]
fn caller_connected_is_in_call() {
    let mut s = caller_connecting();
    let e = s.after(300, Input::Connection(ConnState::Connecting));
    assert_eq!(e, vec![]);
    let e = s.after(300, Input::Connection(ConnState::Connected));
    assert_eq!(e, vec![Effect::QueryRoute]);
    assert_eq!(s.wait(Wake::Route), Some(ROUTE_POLL_FAST_MS));
    assert_eq!(s.view(), live_view(Phase::InCall), "avatar until remote frames come");
    assert!(!s.view().ringback);
    assert_eq!(s.feed(Input::RemoteVideo(true)), vec![]);
    assert_eq!(s.view(), View { remote_video: true, avatar: false, ..live_view(Phase::InCall) });
    assert_eq!(s.feed(Input::RemoteVideo(false)), vec![]);
    assert_eq!(s.view(), live_view(Phase::InCall));
}

#[test]
fn caller_second_start_call_makes_no_second_offer() {
    // At every stage of the call.
    let stages: Vec<fn() -> Sim> = vec![
        || started("", "#startCall", HostApi::FULL).0,
        || caller_with("", TURN_JSON),
        caller_ringing,
        caller_connecting,
        caller_in_call,
    ];
    for make in stages {
        let mut s = make();
        let before = s.view();
        let e = s.hash("#startCall");
        assert_eq!(quiet(&e), vec![], "{:?}", before.phase);
        assert_eq!(s.view(), before);
        // The page may also be re-told with the same hash after a reload of the fragment.
        assert_eq!(quiet(&s.hash("startCall")), vec![]);
    }
    // And the call still completes with one offer.
    let (mut s, _) = started("", "#startCall", HostApi::FULL);
    s.hash("#startCall");
    s.feed(Input::IceServers(Ok(TURN_JSON.into())));
    s.feed(Input::Media(Ok(AV)));
    s.hash("#startCall");
    assert_eq!(count(&s.history, |e| matches!(e, Effect::CreateOffer { .. })), 1);
    assert_eq!(count(&s.history, |e| matches!(e, Effect::AcquireMedia { .. })), 1);
    assert_eq!(count(&s.history, |e| matches!(e, Effect::CreatePeer { .. })), 1);
}

#[test]
fn caller_answer_before_the_offer_went_out_is_ignored() {
    let (mut s, _) = started("", "#startCall", HostApi::FULL);
    assert_eq!(quiet(&s.hash(&answer_hash(ANSWER))), vec![], "no peer yet");
    s.feed(Input::IceServers(Ok(TURN_JSON.into())));
    s.feed(Input::Media(Ok(AV)));
    assert_eq!(quiet(&s.hash(&answer_hash(ANSWER))), vec![], "offer being created");
    s.feed(Input::LocalDescriptionSet);
    assert_eq!(quiet(&s.hash(&answer_hash(ANSWER))), vec![], "offer not yet handed to the host");
    assert_eq!(s.view(), live_view(Phase::Connecting));
    // The offer goes out; now an answer is taken.
    assert_eq!(quiet(&s.feed(Input::Candidate(cand("relay", 1)))), hand_over(HostCall::StartCall));
    assert_eq!(s.hash(&answer_hash(ANSWER_2)), vec![Effect::SetRemote { offer: false, sdp: ANSWER_2.into() }]);
}

#[test]
fn answer_without_an_outgoing_call_is_ignored() {
    let (mut s, _) = started("", "", HostApi::FULL);
    assert_eq!(quiet(&s.hash(&answer_hash(ANSWER))), vec![]);
    assert_eq!(s.phase(), Phase::Idle);
    let mut s = callee_prompt("");
    assert_eq!(quiet(&s.hash(&answer_hash(ANSWER))), vec![]);
    assert_eq!(s.view(), prompt_view());
    let mut s = callee_handed_over();
    assert_eq!(quiet(&s.hash(&answer_hash(ANSWER))), vec![], "the callee never takes an answer");
}

#[test]
fn unknown_commands_are_ignored() {
    let (mut s, _) = started("", "#startCall", HostApi::FULL);
    for h in ["#hello", "#startcall", "#onAnswer", "#acceptCall", "#=x", "#\u{202e}", "#%00"] {
        let e = s.hash(h);
        assert_eq!(quiet(&e), vec![], "{h}");
    }
    assert_eq!(quiet(&s.hash("")), vec![]);
    assert_eq!(quiet(&s.hash("#")), vec![]);
    assert_eq!(s.view(), setup_view(Phase::Connecting));
}

// ====================================================================
// Callee: #offerIncomingCall, #acceptCall
// ====================================================================

#[test]
fn callee_prompt_uses_nothing_of_the_offer_before_answer() {
    let (mut s, e) = started("", &offer_hash(OFFER), HostApi::FULL);
    assert_eq!(e, load_servers(), "only the (harmless) server list is fetched");
    assert_eq!(s.view(), prompt_view_no_camera());
    let idle_inputs = vec![
        Input::IceServers(Ok(TURN_JSON.into())),
        Input::CameraPresent(true),
        Input::Timeout,
        Input::Timeout,
        Input::Timeout,
        Input::Timeout,
        Input::GatheringComplete,
        Input::Candidate(cand("host", 1)),
        Input::NetworkChanged,
        Input::AddressGone,
        Input::RemoteVideo(true),
        Input::Route(Route::P2p),
        Input::Click(Button::Mic),
        Input::Click(Button::Cam),
        Input::HashChanged(offer_hash(OFFER)),
        Input::HashChanged("#startCall".into()),
        Input::HashChanged(answer_hash(ANSWER)),
        Input::HashChanged("#offerIncomingCall=!!!".into()),
    ];
    for input in idle_inputs {
        let e = s.after(700, input.clone());
        // The servers make the connection object (nothing gathered or sent
        // until a description is set); nothing else does anything.
        let made = matches!(input, Input::IceServers(Ok(_))).then(|| create_peer(turn_servers()));
        assert_eq!(quiet(&e), made.into_iter().collect::<Vec<_>>(), "{input:?}");
        assert_eq!(s.phase(), Phase::Incoming, "{input:?}");
    }
    assert_eq!(quiet(&s.run_for(120_000)), vec![], "the person may take the whole ring time");
    let used = |e: &Effect| {
        matches!(
            e,
            Effect::AcquireMedia { .. }
                | Effect::SetRemote { .. }
                | Effect::CreateAnswer
                | Effect::CreateOffer { .. }
                | Effect::HandToHost(_)
        )
    };
    assert_eq!(count(&s.history, used), 0, "{:?}", s.history);
    // The bad payload left a notice; the prompt itself is intact (its
    // toggles, pressed once each, read off: a choice, nothing opened).
    let toggled = View { mic: Dev::Off, cam: Dev::Off, mic_label: Msg::UnmuteMic, cam_label: Msg::CameraOn, ..prompt_view() };
    assert_eq!(s.view(), View { notice: Some(Msg::BadPayload(PayloadError::NotBase64)), ..toggled });
}

#[test]
fn callee_second_offer_replaces_the_pending_one() {
    let mut s = callee_prompt("");
    assert_eq!(s.hash(&offer_hash(OFFER_2)), vec![]);
    assert_eq!(s.view(), prompt_view());
    assert_eq!(s.click(Button::Answer), answer_effects(OFFER_2));
    assert_eq!(s.wait(Wake::IceWait), Some(RELAY_WAIT_MS));
}

#[test]
fn callee_bad_second_offer_keeps_the_first() {
    let mut s = callee_prompt("");
    assert_eq!(quiet(&s.hash(&format!("#offerIncomingCall={}", b64("not an sdp")))), vec![]);
    assert_eq!(s.view(), View { notice: Some(Msg::BadPayload(PayloadError::NotSdp)), ..prompt_view() });
    let e = s.click(Button::Answer);
    assert!(e.contains(&Effect::SetRemote { offer: true, sdp: OFFER.into() }), "{e:?}");
}

#[test]
fn callee_accept_call_while_prompting_answers_with_its_payload() {
    let mut s = callee_prompt("");
    let e = s.hash(&accept_hash(OFFER_2));
    assert_eq!(e, answer_effects(OFFER_2));
    assert_eq!(s.view(), setup_view(Phase::Connecting));
    assert_eq!(s.wait(Wake::IceWait), Some(RELAY_WAIT_MS));
    // A later prompt for another call does not take over.
    assert_eq!(quiet(&s.hash(&offer_hash(OFFER))), vec![]);
    assert_eq!(s.phase(), Phase::Connecting);
}

#[test]
fn callee_full_answer_flow() {
    let mut s = callee_prompt("");
    assert_eq!(s.view(), prompt_view());

    // The offer is applied at once; media comes while it is.
    assert_eq!(s.after(3000, Input::Click(Button::Answer)), answer_effects(OFFER));
    assert_eq!(s.view(), setup_view(Phase::Connecting));
    assert_eq!(s.wait(Wake::IceWait), Some(RELAY_WAIT_MS));

    assert_eq!(s.after(200, Input::Media(Ok(AV))), vec![], "nowhere to put the tracks yet");
    assert_eq!(s.view(), live_view(Phase::Connecting));

    let mut want = attach();
    want.push(Effect::CreateAnswer);
    assert_eq!(s.after(5, Input::RemoteDescriptionSet), want);
    assert_eq!(s.after(5, Input::Candidate(cand("relay", 1))), vec![], "no local description yet");
    let e = s.after(5, Input::LocalDescriptionSet);
    assert_eq!(
        quiet(&e),
        hand_over(HostCall::AcceptCall)
    );
    assert_eq!(s.wait(Wake::Connect), Some(CONNECT_TIMEOUT_MS));
    assert_eq!(s.view(), live_view(Phase::Connecting), "the callee does not ring back");

    assert_eq!(s.after(100, Input::Connection(ConnState::Connecting)), vec![]);
    let e = s.after(400, Input::Connection(ConnState::Connected));
    assert_eq!(e, vec![Effect::QueryRoute]);
    assert_eq!(s.wait(Wake::Route), Some(ROUTE_POLL_FAST_MS));
    assert_eq!(s.view(), live_view(Phase::InCall));
    // Exactly one of each setup step.
    for (name, f) in [
        ("AcquireMedia", (|e: &Effect| matches!(e, Effect::AcquireMedia { .. })) as fn(&Effect) -> bool),
        ("CreatePeer", |e| matches!(e, Effect::CreatePeer { .. })),
        ("SetRemote", |e| matches!(e, Effect::SetRemote { .. })),
        ("CreateAnswer", |e| matches!(e, Effect::CreateAnswer)),
        ("HandToHost", is_hand_over),
    ] {
        assert_eq!(count(&s.history, f), 1, "{name}");
    }
    assert_eq!(count(&s.history, |e| matches!(e, Effect::CreateOffer { .. })), 0);
}

#[test]
fn callee_candidates_after_hand_over_are_trickled() {
    let mut s = callee_handed_over();
    let c = cand("srflx", 4);
    assert_eq!(s.feed(Input::Candidate(c.clone())), vec![]);
    assert_eq!(s.feed(Input::GatheringComplete), vec![]);
    assert_eq!(
        s.feed(Input::ChannelOpen(Channel::IceTrickling)),
        vec![Effect::Send(Channel::IceTrickling, cand_json(&c)), Effect::Send(Channel::IceTrickling, "null".into())]
    );
}

#[test]
fn callee_decline() {
    let mut s = callee_prompt("");
    let e = s.after(2000, Input::Click(Button::End));
    assert_eq!(e, vec![Effect::ClosePeer, Effect::EndCall]);
    assert_eq!(s.view(), ended_view(Msg::CallEnded, false, false));
    assert!(!s.view().answer);
    assert_inert(&mut s);
    assert_eq!(count(&s.history, |e| matches!(e, Effect::AcquireMedia { .. } | Effect::SetRemote { .. })), 0);
    assert_eq!(count(&s.history, |e| *e == Effect::ClosePeer), 1, "the connection made at load is closed");
}

// The prompt's microphone and camera toggles (issue 17): a choice for the
// start of the call, not a preview.

/// The prompt with the toggles as chosen.
fn chosen(mic: bool, cam: bool) -> View {
    let dev = |on| if on { Dev::On } else { Dev::Off };
    View {
        mic: dev(mic),
        cam: dev(cam),
        mic_label: if mic { Msg::MuteMic } else { Msg::UnmuteMic },
        cam_label: if cam { Msg::CameraOff } else { Msg::CameraOn },
        ..prompt_view()
    }
}

/// What Answer does (TURN servers, `OFFER`), the camera captured or not.
fn answered(video: bool) -> Vec<Effect> {
    vec![use_media(OFFER), Effect::SetRemote { offer: true, sdp: OFFER.into() }, Effect::AcquireMedia { video }]
}

#[test]
fn prompt_toggles_are_a_choice_for_the_start_of_the_call() {
    let mut s = callee_prompt("");
    assert_eq!(s.view(), chosen(true, true), "as in a call: microphone and camera on");
    assert_eq!(s.click(Button::Mic), vec![], "a choice: no device is touched");
    assert_eq!(s.view(), chosen(false, true));
    assert_eq!(s.click(Button::Cam), vec![]);
    assert_eq!(s.view(), chosen(false, false));
    s.click(Button::Cam);
    assert_eq!(s.view(), chosen(false, true), "and back");
    s.click(Button::Cam);
    assert_eq!(s.click(Button::Answer), answered(false), "the camera is not captured at all");
    assert_eq!(s.after(30, Input::Media(Ok(AUDIO))), vec![], "no senders before the offer is applied");
    let as_chosen = View {
        mic: Dev::Off,
        cam: Dev::Off,
        mic_label: Msg::UnmuteMic,
        cam_label: Msg::CameraOn,
        ..live_view(Phase::Connecting)
    };
    assert_eq!(s.view(), as_chosen, "no notice: the camera was not asked for");
    assert_eq!(
        s.feed(Input::RemoteDescriptionSet),
        vec![Effect::SendAudio, Effect::SetMic(false), Effect::CreateAnswer],
        "the microphone goes on its sender disabled; nothing on the video sender"
    );
    s.feed(Input::LocalDescriptionSet);
    assert_eq!(quiet(&s.feed(Input::Candidate(cand("relay", 2)))), hand_over(HostCall::AcceptCall));
    s.feed(Input::Connection(ConnState::Connected));
    assert_eq!(
        s.feed(Input::ChannelOpen(Channel::MutedState)),
        vec![muted(false, false)],
        "the peer hears at once that we are muted with the camera off"
    );
    // Both can be turned on in the call, as after noOutgoingVideoInitially.
    assert_eq!(s.click(Button::Mic), vec![Effect::SetMic(true), muted(true, false)]);
    assert_eq!(s.click(Button::Cam), vec![Effect::StartCamera(Camera::Default)]);
    assert_eq!(s.feed(Input::CameraStarted(true)), vec![Effect::SendVideo(VideoSource::Camera), muted(true, true)]);
}

#[test]
fn prompt_muted_only_keeps_the_camera() {
    let mut s = callee_prompt("");
    s.click(Button::Mic);
    assert_eq!(s.click(Button::Answer), answered(true));
    s.feed(Input::Media(Ok(AV)));
    assert_eq!(
        s.feed(Input::RemoteDescriptionSet),
        vec![Effect::SendAudio, Effect::SetMic(false), Effect::SendVideo(VideoSource::Camera), Effect::CreateAnswer]
    );
    assert_eq!(s.view(), View { mic: Dev::Off, mic_label: Msg::UnmuteMic, ..live_view(Phase::Connecting) });
}

#[test]
fn prompt_camera_toggle_is_absent_without_a_camera_or_with_video_disabled() {
    let (mut s, _) = started("", &offer_hash(OFFER), HostApi::FULL);
    assert_eq!(s.view(), prompt_view_no_camera(), "no camera known yet");
    s.feed(Input::CameraPresent(false));
    assert_eq!(s.click(Button::Cam), vec![]);
    assert_eq!(s.view(), prompt_view_no_camera(), "an absent toggle cannot be pressed (V)");
    s.feed(Input::CameraPresent(true));
    assert_eq!(s.view(), prompt_view(), "a camera appeared (plugged in)");
    s.feed(Input::Cameras(vec!["a".into(), "b".into()]));
    assert_eq!(s.view(), prompt_view(), "no switch camera: nothing is captured on the prompt");

    let mut s = callee_prompt("?disableVideoCompletely");
    assert_eq!(s.view(), prompt_view_no_camera());
    s.click(Button::Cam);
    assert_eq!(s.view(), prompt_view_no_camera());
    assert_eq!(s.click(Button::Answer).last(), Some(&Effect::AcquireMedia { video: false }));
}

#[test]
fn prompt_camera_toggle_starts_off_with_no_outgoing_video_initially() {
    let mut s = callee_prompt("?noOutgoingVideoInitially");
    assert_eq!(s.view(), chosen(true, false));
    s.click(Button::Cam);
    assert_eq!(s.view(), chosen(true, true), "the person may still want video");
    assert_eq!(s.click(Button::Answer), answered(true));
}

#[test]
fn prompt_choice_is_not_used_by_a_call_that_had_no_prompt() {
    let (mut s, e) = started("", "#startCall", HostApi::FULL);
    assert!(e.contains(&Effect::AcquireMedia { video: true }), "{e:?}");
    s.feed(Input::CameraPresent(true));
    let e = s.feed(Input::Media(Ok(AV)));
    assert!(!e.contains(&Effect::SetMic(false)), "{e:?}");
}

// A damaged incoming offer (issue 17): not an empty page.

#[test]
fn damaged_offer_shows_its_screen_and_close_ends_once() {
    for bad in ["#offerIncomingCall=!!!", "#offerIncomingCall=bm90IGFuIHNkcA==", "#acceptCall=%%%"] {
        let (mut s, e) = started("", bad, HostApi::FULL);
        assert_eq!(quiet(&e), load_servers(), "{bad}");
        assert_eq!(s.view(), not_received_view(), "{bad}");
        assert_eq!(quiet(&s.run_for(60_000)), vec![], "it waits for the person");
        assert_eq!(s.click(Button::End), vec![Effect::ClosePeer, Effect::EndCall], "Close: endCall");
        assert_eq!(s.view(), ended_view(Msg::CallNotReceived, false, false));
        assert_inert(&mut s);
        assert_eq!(count(&s.history, |e| *e == Effect::EndCall), 1);
    }
}

#[test]
fn damaged_offer_is_replaced_by_a_later_valid_command() {
    let (mut s, _) = started("", "", HostApi::FULL);
    assert_eq!(quiet(&s.hash("#offerIncomingCall=!!!")), vec![]);
    assert_eq!(s.view(), not_received_view(), "also when it comes later");
    assert_eq!(quiet(&s.hash(&format!("#offerIncomingCall={}", b64("not an sdp")))), vec![]);
    assert_eq!(s.view(), not_received_view(), "another damaged one");
    assert_eq!(quiet(&s.hash(&offer_hash(OFFER))), vec![]);
    assert_eq!(s.view(), prompt_view_no_camera(), "a valid offer: the prompt");
    assert_eq!(quiet(&s.hash("#offerIncomingCall=!!!")), vec![]);
    assert_eq!(s.phase(), Phase::Incoming, "a damaged one does not replace a prompt");

    let (mut s, _) = started("", "#offerIncomingCall=!!!", HostApi::FULL);
    assert_eq!(s.hash("#startCall"), vec![Effect::AcquireMedia { video: true }], "an outgoing call");
    let (mut s, _) = started("", "#offerIncomingCall=!!!", HostApi::FULL);
    assert_eq!(s.hash(&accept_hash(OFFER)), vec![Effect::AcquireMedia { video: true }], "answered in the host");
    assert_eq!(s.phase(), Phase::Connecting);
    // During a call a damaged offer changes nothing.
    let mut s = callee_in_call();
    assert_eq!(quiet(&s.hash("#offerIncomingCall=!!!")), vec![]);
    assert_eq!(s.phase(), Phase::InCall);
}

#[test]
fn callee_accept_call_in_the_initial_url_answers_without_prompt() {
    let (mut s, e) = started("", &accept_hash(OFFER), HostApi::FULL);
    assert_eq!(
        e,
        vec![
            Effect::LoadIceServers,
            Effect::AcquireMedia { video: true },
        ]
    );
    assert_eq!(s.wait(Wake::IceServers), Some(ICE_SERVERS_TIMEOUT_MS));
    assert_eq!(s.view(), setup_view(Phase::Connecting));
    let e = s.after(5, Input::IceServers(Ok(STUN_JSON.into())));
    assert_eq!(e, vec![create_peer(stun_servers()), use_media(OFFER), Effect::SetRemote { offer: true, sdp: OFFER.into() }]);
    assert_eq!(s.wait(Wake::IceWait), Some(SRFLX_WAIT_MS));
    // Media before the offer is applied waits for the transceivers.
    assert_eq!(s.after(5, Input::Media(Ok(AV))), vec![]);
    let mut want = attach();
    want.push(Effect::CreateAnswer);
    assert_eq!(s.feed(Input::RemoteDescriptionSet), want);
    s.feed(Input::LocalDescriptionSet);
    let e = s.feed(Input::GatheringComplete);
    assert_eq!(
        quiet(&e),
        hand_over(HostCall::AcceptCall)
    );
    assert_eq!(s.wait(Wake::Connect), Some(CONNECT_TIMEOUT_MS));
    assert_eq!(quiet(&s.click(Button::Answer)), vec![], "no Answer button any more");
}

#[test]
fn callee_bad_accept_call_payload_in_the_initial_url() {
    let (mut s, e) = started("", "#acceptCall=%%%", HostApi::FULL);
    assert_eq!(quiet(&e), load_servers());
    // Not an empty page: the damaged offer's screen (the reason is in the
    // log; the notice's "ignored" would only confuse there).
    assert_eq!(s.view(), not_received_view());
    // A correct one later still works.
    assert_eq!(s.hash(&accept_hash(OFFER)), vec![Effect::AcquireMedia { video: true }]);
}

#[test]
fn payloads_are_accepted_raw_and_url_encoded() {
    let raw = b64(OFFER);
    assert!(raw.contains('+') && raw.contains('/') && raw.ends_with('='), "fixture must exercise + / =: {raw}");
    let forms = [
        ("raw", raw.clone()),
        ("url-encoded", b64_url_encoded(OFFER)),
        ("lowercase escapes", raw.replace('+', "%2b").replace('/', "%2f").replace('=', "%3d")),
        ("unpadded", raw.trim_end_matches('=').to_string()),
        ("url-safe alphabet", raw.replace('+', "-").replace('/', "_")),
    ];
    for (name, payload) in &forms {
        // offerIncomingCall → Answer
        let (mut s, _) = started("", &format!("#offerIncomingCall={payload}"), HostApi::FULL);
        assert_eq!(s.phase(), Phase::Incoming, "{name}");
        s.feed(Input::IceServers(Ok("[]".into())));
        let e = s.click(Button::Answer);
        assert!(e.contains(&Effect::SetRemote { offer: true, sdp: OFFER.into() }), "{name}: {e:?}");
        // acceptCall
        let (mut s, _) = started("", &format!("#acceptCall={payload}"), HostApi::FULL);
        let e = s.feed(Input::IceServers(Ok("[]".into())));
        assert!(e.contains(&Effect::SetRemote { offer: true, sdp: OFFER.into() }), "{name}: {e:?}");
    }
    // onAnswer, both host forms.
    let answer_raw = b64(ANSWER);
    for payload in [answer_raw.clone(), b64_url_encoded(ANSWER)] {
        let mut s = caller_ringing();
        let e = s.hash(&format!("#onAnswer={payload}"));
        assert_eq!(e, vec![Effect::SetRemote { offer: false, sdp: ANSWER.into() }], "{payload}");
    }
}

#[test]
fn answer_click_outside_the_prompt_does_nothing() {
    let (mut s, _) = started("", "", HostApi::FULL);
    assert_eq!(s.click(Button::Answer), vec![]);
    assert_eq!(s.phase(), Phase::Idle);
    let mut s = caller_ringing();
    assert_eq!(s.click(Button::Answer), vec![]);
    assert_eq!(s.view(), live_view(Phase::Ringing));
    let mut s = callee_in_call();
    assert_eq!(s.click(Button::Answer), vec![]);
    assert_eq!(s.view(), live_view(Phase::InCall));
}

#[test]
fn callee_setup_failure_fails_the_call() {
    let mut s = callee_prompt("");
    s.click(Button::Answer);
    s.feed(Input::Media(Ok(AV)));
    // The browser refuses the offer.
    let e = s.feed(Input::PeerError);
    assert_eq!(quiet(&e), failure_effects());
    assert_eq!(s.view(), failed_view(Msg::SetupFailed, true, true));
    assert_eq!(s.run_for(FAILURE_LINGER_MS), vec![Effect::EndCall]);
}

// ====================================================================
// Query flags
// ====================================================================

#[test]
fn flag_no_outgoing_video_initially() {
    let (mut s, e) = started("?noOutgoingVideoInitially", "#startCall", HostApi::FULL);
    assert_eq!(e[1], Effect::AcquireMedia { video: false });
    s.feed(Input::CameraPresent(true));
    let e = s.feed(Input::IceServers(Ok(TURN_JSON.into())));
    assert_eq!(
        e,
        vec![
            Effect::CreatePeer { servers: turn_servers(), relay_only: false, video: true },
            Effect::CreateOffer { ice_restart: false },
        ],
        "the video transceiver is still used (the camera may start later)"
    );
    assert_eq!(s.wait(Wake::IceWait), Some(RELAY_WAIT_MS));
    assert_eq!(s.feed(Input::Media(Ok(AUDIO))), vec![Effect::SendAudio], "the video sender stays empty");
    let audio_call = View { cam: Dev::Off, cam_label: Msg::CameraOn, ..live_view(Phase::Connecting) };
    assert_eq!(s.view(), audio_call, "no CameraUnavailable notice: the camera was not asked for");
    // The camera can be turned on.
    assert_eq!(s.click(Button::Cam), vec![Effect::StartCamera(Camera::Default)]);
    assert_eq!(s.feed(Input::CameraStarted(true)), vec![Effect::SendVideo(VideoSource::Camera)]);
    assert_eq!(s.view(), live_view(Phase::Connecting));
}

#[test]
fn flag_no_outgoing_video_initially_for_the_callee() {
    let mut s = callee_prompt("?noOutgoingVideoInitially&playRingtone=1");
    let e = s.click(Button::Answer);
    assert_eq!(e.last(), Some(&Effect::AcquireMedia { video: false }));
    let made = Effect::CreatePeer { servers: turn_servers(), relay_only: false, video: true };
    assert!(s.history.contains(&made), "the video transceiver stays (made with the servers): {:?}", s.history);
    s.feed(Input::Media(Ok(AUDIO)));
    assert_eq!(s.view(), View { cam: Dev::Off, cam_label: Msg::CameraOn, ..live_view(Phase::Connecting) });
}

#[test]
fn flag_disable_video_completely() {
    let (mut s, e) = started("?disableVideoCompletely", "#startCall", HostApi::FULL);
    assert_eq!(e[1], Effect::AcquireMedia { video: false });
    s.feed(Input::CameraPresent(true));
    let e = s.feed(Input::IceServers(Ok(TURN_JSON.into())));
    assert_eq!(
        e,
        vec![
            Effect::CreatePeer { servers: turn_servers(), relay_only: false, video: false },
            Effect::CreateOffer { ice_restart: false },
        ]
    );
    assert_eq!(s.wait(Wake::IceWait), Some(RELAY_WAIT_MS));
    assert_eq!(s.feed(Input::Media(Ok(AUDIO))), vec![Effect::SendAudio]);
    let no_video = |phase| View { cam: Dev::None, cam_label: Msg::CameraOn, ..live_view(phase) };
    assert_eq!(s.view(), no_video(Phase::Connecting), "no camera control even though a camera exists");
    assert_eq!(s.click(Button::Cam), vec![], "the camera cannot be started");
    // Into the call.
    s.feed(Input::LocalDescriptionSet);
    s.feed(Input::Candidate(cand("relay", 1)));
    s.hash(&answer_hash(ANSWER));
    s.feed(Input::RemoteDescriptionSet);
    s.feed(Input::Connection(ConnState::Connected));
    assert_eq!(s.feed(Input::RemoteVideo(true)), vec![]);
    s.feed(Input::ChannelMessage(Channel::MutedState, MUTED_ALL_ON.into()));
    assert_eq!(s.view(), View { remote_mic: Some(true), ..no_video(Phase::InCall) }, "incoming video is never shown");
    assert!(s.view().avatar);
    assert_eq!(s.feed(Input::ChannelOpen(Channel::MutedState)), vec![muted(true, false)]);
    assert_eq!(s.click(Button::Cam), vec![]);
}

#[test]
fn flag_disable_video_completely_for_the_callee() {
    let mut s = callee_prompt("?disableVideoCompletely");
    let e = s.click(Button::Answer);
    assert_eq!(e.last(), Some(&Effect::AcquireMedia { video: false }));
    let made = Effect::CreatePeer { servers: turn_servers(), relay_only: false, video: false };
    assert!(s.history.contains(&made), "{:?}", s.history);
}

#[test]
fn flag_relay_only() {
    let s = caller_with("?relayOnly", TURN_JSON);
    let peer = s.history.iter().find(|e| matches!(e, Effect::CreatePeer { .. })).cloned();
    assert_eq!(peer, Some(Effect::CreatePeer { servers: turn_servers(), relay_only: true, video: true }));
    let mut s = callee_prompt("?playRingtone&relayOnly=0&noOutgoingVideoInitially");
    s.click(Button::Answer);
    let made = Effect::CreatePeer { servers: turn_servers(), relay_only: true, video: true };
    assert!(s.history.contains(&made), "{:?}", s.history);
    s.feed(Input::Media(Ok(AUDIO)));
    let _ = s.feed(Input::RemoteDescriptionSet);
}

#[test]
fn unknown_flags_are_ignored() {
    for search in ["?playRingtone=1", "?playRingtone&foo=bar&&=&novideo", "?relayonly&DisableVideoCompletely", "?%00"] {
        let (mut s, e) = started(search, "#startCall", HostApi::FULL);
        assert_eq!(e[1], Effect::AcquireMedia { video: true }, "{search}");
        let e = s.feed(Input::IceServers(Ok(TURN_JSON.into())));
        assert!(e.contains(&create_peer(turn_servers())), "{search}: {e:?}");
    }
}

// ====================================================================
// Media capture and its fallback
// ====================================================================

#[test]
fn media_failure_with_video_retries_audio_only() {
    let (mut s, _) = started("", "#startCall", HostApi::FULL);
    s.feed(Input::CameraPresent(true));
    let e = s.feed(Input::IceServers(Ok(TURN_JSON.into())));
    assert_eq!(e, vec![create_peer(turn_servers()), Effect::CreateOffer { ice_restart: false }]);
    assert_eq!(s.wait(Wake::IceWait), Some(RELAY_WAIT_MS));
    let e = s.feed(Input::Media(Err(())));
    assert_eq!(e, vec![Effect::AcquireMedia { video: false }], "the camera failed: the microphone alone");
    assert_eq!(s.view(), View { notice: Some(Msg::CameraUnavailable), ..setup_view(Phase::Connecting) });
    let e = s.feed(Input::Media(Ok(AUDIO)));
    assert_eq!(e, vec![Effect::SendAudio], "the microphone goes on its sender; the video sender stays empty");
    assert_eq!(
        s.view(),
        View {
            notice: Some(Msg::CameraUnavailable),
            cam: Dev::Off,
            cam_label: Msg::CameraOn,
            ..live_view(Phase::Connecting)
        }
    );
}

#[test]
fn media_fallback_without_a_known_camera_hides_the_camera_control() {
    let (mut s, _) = started("", "#startCall", HostApi::FULL);
    s.feed(Input::IceServers(Ok("[]".into())));
    s.feed(Input::Media(Err(())));
    s.feed(Input::Media(Ok(AUDIO)));
    assert_eq!(
        s.view(),
        View {
            notice: Some(Msg::CameraUnavailable),
            cam: Dev::None,
            cam_label: Msg::CameraOn,
            ..live_view(Phase::Connecting)
        }
    );
    assert_eq!(s.click(Button::Cam), vec![]);
}

#[test]
fn camera_missing_from_a_successful_capture_is_a_notice() {
    let (mut s, _) = started("", "#startCall", HostApi::FULL);
    s.feed(Input::IceServers(Ok("[]".into())));
    s.feed(Input::Media(Ok(AUDIO)));
    assert_eq!(s.view().notice, Some(Msg::CameraUnavailable));
    assert_eq!(s.view().mic, Dev::On);
}

#[test]
fn media_failure_twice_still_connects_without_media() {
    let (mut s, _) = started("", "#startCall", HostApi::FULL);
    let e = s.feed(Input::IceServers(Ok(TURN_JSON.into())));
    assert_eq!(e, vec![create_peer(turn_servers()), Effect::CreateOffer { ice_restart: false }], "the offer does not wait");
    assert_eq!(s.wait(Wake::IceWait), Some(RELAY_WAIT_MS));
    assert_eq!(s.feed(Input::Media(Err(()))), vec![Effect::AcquireMedia { video: false }]);
    let e = s.feed(Input::Media(Err(())));
    assert_eq!(e, vec![], "the call proceeds to receive only; nothing changes on the wire");
    assert_eq!(count(&s.history, |e| matches!(e, Effect::AcquireMedia { .. })), 2, "no third attempt");
    assert_eq!(
        s.view(),
        View { notice: Some(Msg::NoMedia), ..setup_view(Phase::Connecting) },
        "no microphone and no camera control"
    );
    assert_eq!(s.click(Button::Mic), vec![]);
    assert_eq!(s.click(Button::Cam), vec![]);
    // It still reaches the call and tells the peer it sends nothing.
    s.feed(Input::LocalDescriptionSet);
    s.feed(Input::Candidate(cand("relay", 1)));
    s.hash(&answer_hash(ANSWER));
    s.feed(Input::RemoteDescriptionSet);
    s.feed(Input::Connection(ConnState::Connected));
    assert_eq!(s.phase(), Phase::InCall);
    assert_eq!(s.feed(Input::ChannelOpen(Channel::MutedState)), vec![muted(false, false)]);
}

#[test]
fn audio_only_request_failure_is_no_media_at_once() {
    let (mut s, _) = started("?noOutgoingVideoInitially", "#startCall", HostApi::FULL);
    let e = s.feed(Input::IceServers(Ok("[]".into())));
    assert!(e.contains(&create_peer(vec![])), "{e:?}");
    let e = s.feed(Input::Media(Err(())));
    assert_eq!(e, vec![], "no retry when the camera was not asked for");
    assert_eq!(s.view().notice, Some(Msg::NoMedia));
    assert_eq!(s.view().mic, Dev::None);
}

#[test]
fn camera_without_microphone() {
    let (mut s, _) = started("", "#startCall", HostApi::FULL);
    s.feed(Input::IceServers(Ok("[]".into())));
    s.feed(Input::Media(Ok(Media { audio: false, video: true })));
    assert_eq!(
        s.view(),
        View {
            notice: Some(Msg::NoMicrophone),
            mic: Dev::None,
            mic_label: Msg::UnmuteMic,
            ..live_view(Phase::Connecting)
        }
    );
}

// ====================================================================
// ICE servers from the host
// ====================================================================

#[test]
fn ice_servers_error_proceeds_without_servers() {
    let (mut s, _) = started("", "#startCall", HostApi::FULL);
    let e = s.feed(Input::IceServers(Err(())));
    assert_eq!(s.view(), View { notice: Some(Msg::IceServersUnavailable), ..setup_view(Phase::Connecting) });
    assert_eq!(
        e,
        vec![
            create_peer(vec![]),
            Effect::CreateOffer { ice_restart: false },
        ]
    );
    assert_eq!(s.wait(Wake::IceWait), Some(HOST_WAIT_MS));
}

#[test]
fn ice_servers_timeout_proceeds_and_a_late_answer_is_ignored() {
    let (mut s, _) = started("", "#startCall", HostApi::FULL);
    assert_eq!(s.after(100, Input::Media(Ok(AV))), vec![], "waits for the servers");
    assert_eq!(s.run_until(T0 + ICE_SERVERS_TIMEOUT_MS - 1), vec![]);
    let e = s.run_until(T0 + ICE_SERVERS_TIMEOUT_MS);
    assert_eq!(
        quiet(&e),
        vec![
            // Late (2 s after #startCall): the minimum, not the host wait.
            create_peer(vec![]),
            Effect::CreateOffer { ice_restart: false },
            // Media came meanwhile: on the senders at once.
            Effect::SendAudio,
            Effect::SendVideo(call_core::VideoSource::Camera),
        ]
    );
    assert_eq!(s.wait(Wake::IceWait), Some(call_core::ice::MIN_GATHER_MS));
    assert_eq!(logs(&e).len(), 1, "the timeout is logged");
    assert_eq!(s.view(), View { notice: Some(Msg::IceServersUnavailable), ..live_view(Phase::Connecting) });
    // The host answers after all: too late for this peer.
    assert_eq!(s.after(500, Input::IceServers(Ok(TURN_JSON.into()))), vec![]);
    assert_eq!(count(&s.history, |e| matches!(e, Effect::CreatePeer { .. })), 1);
    // The wait is the no-server wait.
    s.feed(Input::LocalDescriptionSet);
    assert_eq!(quiet(&s.feed(Input::Candidate(cand("relay", 1)))), vec![]);
    assert_eq!(count(&s.run_for(HOST_WAIT_MS), is_hand_over), 1);
}

#[test]
fn ice_servers_arriving_late_but_before_the_peer_are_used() {
    // A callee looks at the prompt for 10 s; the host's getIceServers took 3 s.
    let (mut s, _) = started("", &offer_hash(OFFER), HostApi::FULL);
    s.run_until(T0 + ICE_SERVERS_TIMEOUT_MS);
    s.now = T0 + 3000;
    assert_eq!(s.feed(Input::IceServers(Ok(TURN_JSON.into()))), vec![create_peer(turn_servers())], "TURN must be used");
    s.now = T0 + 10_000;
    let e = s.click(Button::Answer);
    assert_eq!(e, answer_effects(OFFER));
    assert_eq!(s.view().notice, None, "no 'relay servers unavailable' notice");
}

// Desktop's flow: the page loads, the command comes on `location.hash`
// later. What costs no privacy is done before it.

/// The caller's connection is made when the servers come; `#startCall`
/// then only describes, and the devices start once the offer is set (not
/// during it: that made it slower, and the caller's camera has the
/// ringing time).
#[test]
fn desktop_flow_caller_makes_the_connection_at_load_and_only_describes_on_start_call() {
    let (mut s, e) = started("", "", HostApi::FULL);
    assert_eq!(e, load_servers());
    assert_eq!(s.after(30, Input::IceServers(Ok(TURN_JSON.into()))), vec![create_peer(turn_servers())]);
    assert_eq!(s.phase(), Phase::Idle, "made, not a call: nothing is shown");
    assert_eq!(s.run_for(60_000), vec![], "and nothing happens until the command");
    let e = s.hash("#startCall");
    assert_eq!(quiet(&e), vec![Effect::CreateOffer { ice_restart: false }]);
    assert_eq!(s.phase(), Phase::Connecting);
    assert_eq!(s.wait(Wake::IceWait), Some(RELAY_WAIT_MS), "the relay wait runs from the command");
    assert_eq!(quiet(&s.after(8, Input::LocalDescriptionSet)), vec![Effect::AcquireMedia { video: true }]);
    // The relay candidate comes before the camera: the offer goes out,
    // and the tracks follow on the senders without a renegotiation.
    assert_eq!(quiet(&s.after(50, Input::Candidate(cand("relay", 1)))), hand_over(HostCall::StartCall));
    s.feed(Input::CameraPresent(true));
    assert_eq!(s.after(400, Input::Media(Ok(AV))), attach());
    assert_eq!(count(&s.history, |e| matches!(e, Effect::CreateOffer { .. })), 1);
}

/// A command that comes to a page showing nothing yet, with its
/// connection made, leaves the screen as it is while the description is
/// made: drawing the call's screen then cost the description a frame.
/// Until the hand-over, or `SCREEN_HOLD_MS` when that takes longer (a TURN
/// server); never after the prompt or on the cold flow.
#[test]
fn the_screen_waits_for_the_description_on_a_blank_page_only() {
    let warm = |hash: &str| {
        let (mut s, _) = started("", "", HostApi::FULL);
        s.after(30, Input::IceServers(Ok(TURN_JSON.into())));
        assert!(!s.view().hold);
        s.after(1500, Input::HashChanged(hash.into()));
        s
    };
    // Handed over before the bound: the screen follows then.
    let mut s = warm("#startCall");
    assert!(s.view().hold && s.phase() == Phase::Connecting);
    assert_eq!(s.wait(Wake::Screen), Some(SCREEN_HOLD_MS));
    s.after(10, Input::LocalDescriptionSet);
    assert!(s.view().hold);
    s.after(50, Input::Candidate(cand("relay", 1)));
    assert!(!s.view().hold && s.phase() == Phase::Ringing);
    assert_eq!(s.wait(Wake::Screen), None);
    // A slow relay: the screen shows "Connecting" at the bound.
    for hash in ["#startCall".to_string(), accept_hash(OFFER)] {
        let mut s = warm(&hash);
        assert!(s.view().hold, "{hash}");
        s.run_for(SCREEN_HOLD_MS - 1);
        assert!(s.view().hold);
        s.run_for(1);
        assert!(!s.view().hold);
        assert_eq!(s.view().status, Some(Msg::Connecting));
    }
    // The prompt's Answer, and the command in the URL: at once.
    let mut s = callee_prompt("");
    s.click(Button::Answer);
    assert!(!s.view().hold);
    let (s, _) = started("", "#startCall", HostApi::FULL);
    assert!(!s.view().hold);
    let mut s = caller_with("", TURN_JSON);
    assert!(!s.view().hold);
    // A call that fails meanwhile shows why at once.
    let mut s = warm("#startCall");
    s.feed(Input::PeerError);
    assert!(!s.view().hold && s.phase() == Phase::Failed);
}

/// On Desktop's flow the choices hold when the devices start after the
/// offer: an audio call asks for the microphone only, a failed camera
/// falls back to the microphone, and no devices at all still leave a call.
#[test]
fn desktop_flow_caller_devices_after_the_offer_keep_their_rules() {
    let warm = |search: &str| {
        let (mut s, _) = started(search, "", HostApi::FULL);
        s.feed(Input::CameraPresent(true));
        s.after(30, Input::IceServers(Ok("[]".into())));
        assert_eq!(quiet(&s.after(1500, Input::HashChanged("#startCall".into()))), vec![Effect::CreateOffer { ice_restart: false }]);
        s
    };
    let mut s = warm("?noOutgoingVideoInitially");
    assert_eq!(quiet(&s.feed(Input::LocalDescriptionSet)), vec![Effect::AcquireMedia { video: false }]);
    let mut s = warm("");
    assert_eq!(quiet(&s.feed(Input::LocalDescriptionSet)), vec![Effect::AcquireMedia { video: true }]);
    assert_eq!(quiet(&s.feed(Input::Media(Err(())))), vec![Effect::AcquireMedia { video: false }]);
    assert_eq!(s.view().notice, Some(Msg::CameraUnavailable));
    s.feed(Input::Media(Err(())));
    assert_eq!(quiet(&s.run_for(HOST_WAIT_MS)), hand_over(HostCall::StartCall), "no devices: the offer still goes");
    assert_eq!(s.phase(), Phase::Ringing);
    // A description that cannot be made fails the call and starts nothing.
    let mut s = warm("");
    let e = s.feed(Input::PeerError);
    assert!(e.contains(&Effect::ClosePeer) && !e.iter().any(|e| matches!(e, Effect::AcquireMedia { .. })), "{e:?}");
}

/// The cold flow (command in the URL) starts the devices at once: the
/// offer waits for the servers first, and the camera should not.
#[test]
fn cold_flow_caller_starts_the_devices_with_the_command() {
    let (mut s, e) = started("", "#startCall", HostApi::FULL);
    assert_eq!(quiet(&e), vec![Effect::LoadIceServers, Effect::AcquireMedia { video: true }]);
    let e = s.after(40, Input::IceServers(Ok("[]".into())));
    assert_eq!(quiet(&e), vec![create_peer(vec![]), Effect::CreateOffer { ice_restart: false }]);
    assert_eq!(quiet(&s.feed(Input::LocalDescriptionSet)), vec![], "asked once");
}

/// The peer's tracks go on the page's elements only once our description
/// is with the host, on both sides: the first remote audio starts the
/// audio output, which took Chromium's main thread for 50–60 ms, and
/// while the callee was still making its answer that was the answer's
/// time.
#[test]
fn remote_tracks_are_shown_once_the_description_is_handed_over() {
    let mut s = callee_prompt("");
    s.click(Button::Answer);
    for i in [Input::RemoteDescriptionSet, Input::Media(Ok(AV)), Input::LocalDescriptionSet] {
        assert!(!s.feed(i).contains(&Effect::ShowRemote));
    }
    assert_eq!(quiet(&s.after(10, Input::Candidate(cand("relay", 2)))), hand_over(HostCall::AcceptCall));
    let mut s = caller_with("", TURN_JSON);
    assert!(!s.feed(Input::LocalDescriptionSet).contains(&Effect::ShowRemote));
    assert_eq!(quiet(&s.after(50, Input::Candidate(cand("relay", 1)))), hand_over(HostCall::StartCall));
    s.hash(&answer_hash(ANSWER));
    s.feed(Input::RemoteDescriptionSet);
    s.feed(Input::Connection(ConnState::Connected));
    assert_eq!(count(&s.history, |e| *e == Effect::ShowRemote), 1, "once per call");
}

/// The callee's `#acceptCall=` applies the offer on the connection made at
/// load.
#[test]
fn desktop_flow_accept_call_applies_the_offer_on_the_connection_made_at_load() {
    let (mut s, _) = started("", "", HostApi::FULL);
    s.after(30, Input::IceServers(Ok(TURN_JSON.into())));
    let e = s.after(1500, Input::HashChanged(accept_hash(OFFER)));
    assert_eq!(quiet(&e), answer_effects(OFFER));
    assert_eq!(count(&s.history, |e| matches!(e, Effect::CreatePeer { .. })), 1);
}

/// A connection that cannot be made at load loses nothing yet: the call,
/// when asked for, fails on it as it would have failed making it then.
#[test]
fn a_connection_that_cannot_be_made_at_load_fails_the_call_only_when_asked() {
    let (mut s, _) = started("", "", HostApi::FULL);
    s.after(30, Input::IceServers(Ok(TURN_JSON.into())));
    assert_eq!(quiet(&s.feed(Input::PeerError)), vec![]);
    assert_eq!(s.phase(), Phase::Idle);
    s.hash("#startCall");
    // The shell has no connection for the offer: another PeerError.
    let e = s.feed(Input::PeerError);
    assert!(e.contains(&Effect::ClosePeer), "{e:?}");
    assert_eq!(s.view().notice, Some(Msg::SetupFailed));
}

/// Servers that did not come make no connection at load: a late answer of
/// the host may still bring them, and then they are used.
#[test]
fn servers_that_did_not_come_make_no_connection_until_they_do() {
    let (mut s, _) = started("", "", HostApi::FULL);
    assert_eq!(quiet(&s.run_for(ICE_SERVERS_TIMEOUT_MS)), vec![]);
    assert_eq!(s.after(500, Input::IceServers(Ok(TURN_JSON.into()))), vec![create_peer(turn_servers())]);
    assert_eq!(s.after(500, Input::IceServers(Ok("[]".into()))), vec![], "made: a second list changes nothing");
}

#[test]
fn ice_servers_timer_after_the_answer_does_nothing() {
    let (mut s, _) = started("", "#startCall", HostApi::FULL);
    let e = s.feed(Input::IceServers(Ok(TURN_JSON.into())));
    assert!(e.contains(&create_peer(turn_servers())));
    assert_eq!(s.feed(Input::Timeout), vec![]);
    assert_eq!(s.view().notice, None);
}

#[test]
fn ice_servers_invalid_json_or_not_an_array() {
    for text in ["", "{", "not json", r#"{"urls":"stun:203.0.113.5"}"#, "null", "42", r#""[]""#, "[1,", "\u{0}"] {
        let (mut s, _) = started("", "#startCall", HostApi::FULL);
        let e = s.feed(Input::IceServers(Ok(text.into())));
        assert_eq!(s.view().notice, Some(Msg::IceServersUnavailable), "{text:?}");
        assert!(e.contains(&create_peer(vec![])), "{text:?}: {e:?}");
    }
}

#[test]
fn ice_servers_partly_invalid_keeps_the_good_ones() {
    let (mut s, _) = started("", "#startCall", HostApi::FULL);
    let text = r#"[{"urls":"http://203.0.113.9"},{"urls":"turn:203.0.113.6"},7,{"urls":["turn:203.0.113.5:3478"],"username":"1735000000","credential":"s3cret"}]"#;
    let e = s.feed(Input::IceServers(Ok(text.into())));
    assert_eq!(s.view().notice, Some(Msg::SomeIceServersIgnored));
    assert_eq!(e[0], create_peer(turn_servers()));
    assert_eq!(s.wait(Wake::IceWait), Some(RELAY_WAIT_MS), "the TURN wait applies");
}

#[test]
fn ice_servers_empty_list_is_fine() {
    let (mut s, _) = started("", "#startCall", HostApi::FULL);
    let e = s.feed(Input::IceServers(Ok(" [ ] ".into())));
    assert_eq!(s.view().notice, None);
    assert_eq!(s.wait(Wake::IceWait), Some(HOST_WAIT_MS));
    assert_eq!(e[0], create_peer(vec![]));
}

#[test]
fn ice_servers_stun_and_turn_wait_for_relay() {
    let (mut s, _) = started("", "#startCall", HostApi::FULL);
    let both = r#"[{"urls":"stun:203.0.113.5"},{"urls":["turn:203.0.113.5:3478"],"username":"1735000000","credential":"s3cret"}]"#;
    s.feed(Input::IceServers(Ok(both.into())));
    s.feed(Input::Media(Ok(AV)));
    assert_eq!(s.wait(Wake::IceWait), Some(RELAY_WAIT_MS));
    s.feed(Input::LocalDescriptionSet);
    s.feed(Input::Candidate(cand("srflx", 1)));
    assert_eq!(s.run_for(SRFLX_BURST_MS + 10), vec![], "srflx does not end a TURN wait");
    assert_eq!(quiet(&s.feed(Input::Candidate(cand("relay", 2)))), hand_over(HostCall::StartCall));
}

// ====================================================================
// The host API
// ====================================================================

#[test]
fn no_host_fails_without_ever_ending_the_call() {
    let (mut s, e) = started("", "#startCall", HostApi::default());
    assert_eq!(e, vec![], "nothing to call");
    let expected = View { end: false, ..failed_view(Msg::NoHost, false, false) };
    assert_eq!(s.view(), expected);
    assert_inert(&mut s);
    assert_eq!(s.feed(Input::Timeout), vec![]);
    assert_eq!(s.run_for(600_000), vec![]);
    assert_eq!(count(&s.history, |e| *e == Effect::EndCall), 0);
}

#[test]
fn host_without_start_call_fails_at_hand_over() {
    let host = HostApi { start_call: false, ..HostApi::FULL };
    let (mut s, _) = started("", "#startCall", host);
    s.feed(Input::IceServers(Ok(TURN_JSON.into())));
    s.feed(Input::Media(Ok(AV)));
    s.feed(Input::LocalDescriptionSet);
    let e = s.feed(Input::Candidate(cand("relay", 1)));
    assert_eq!(quiet(&e), failure_effects());
    assert_eq!(s.view(), failed_view(Msg::HostIncomplete, true, true));
    assert_eq!(s.run_for(FAILURE_LINGER_MS), vec![Effect::EndCall]);
    assert_eq!(count(&s.history, is_hand_over), 0);
}

#[test]
fn host_without_accept_call_fails_at_hand_over() {
    let host = HostApi { accept_call: false, ..HostApi::FULL };
    let (mut s, _) = started("", &accept_hash(OFFER), host);
    s.feed(Input::IceServers(Ok("[]".into())));
    s.feed(Input::Media(Ok(AV)));
    s.feed(Input::RemoteDescriptionSet);
    s.feed(Input::LocalDescriptionSet);
    let e = s.feed(Input::GatheringComplete);
    assert_eq!(quiet(&e), failure_effects());
    assert_eq!(s.view().notice, Some(Msg::HostIncomplete));
}

#[test]
fn host_without_get_ice_servers_proceeds_without_servers() {
    let host = HostApi { get_ice_servers: false, ..HostApi::FULL };
    let (s, e) = started("", "#startCall", host);
    assert_eq!(
        e,
        vec![
            create_peer(vec![]),
            Effect::CreateOffer { ice_restart: false },
            Effect::AcquireMedia { video: true },
        ]
    );
    assert_eq!(s.view(), View { notice: Some(Msg::IceServersUnavailable), ..setup_view(Phase::Connecting) });
    assert_eq!(s.wait(Wake::IceWait), Some(HOST_WAIT_MS));
}

#[test]
fn host_without_end_call_never_gets_end_call() {
    let host = HostApi { end_call: false, ..HostApi::FULL };
    // Our hang-up.
    let (mut s, _) = started("", &offer_hash(OFFER), host);
    assert_eq!(s.click(Button::End), vec![Effect::ClosePeer]);
    assert_eq!(s.phase(), Phase::Ended);
    // A failure.
    let (mut s, _) = started("", "#startCall", host);
    let e = s.feed(Input::Crashed);
    assert_eq!(quiet(&e), failure_effects());
    assert_eq!(s.run_for(60_000), vec![]);
    assert_eq!(count(&s.history, |e| *e == Effect::EndCall), 0);
}

#[test]
fn no_webrtc_fails_and_ends() {
    let mut s = Sim::new();
    let e =
        s.feed(Input::Started { search: String::new(), hash: "#startCall".into(), host: HostApi::FULL, webrtc: false });
    assert_eq!(quiet(&e), failure_effects());
    assert_eq!(s.view(), failed_view(Msg::NoWebRtc, false, false));
    assert_eq!(s.run_for(FAILURE_LINGER_MS), vec![Effect::EndCall]);
    assert_eq!(count(&s.history, |e| matches!(e, Effect::AcquireMedia { .. } | Effect::LoadIceServers)), 0);
}

// ====================================================================
// Data channels
// ====================================================================

#[test]
fn muted_state_is_sent_when_the_channel_opens() {
    let mut s = caller_in_call();
    assert_eq!(
        s.feed(Input::ChannelOpen(Channel::MutedState)),
        vec![Effect::Send(Channel::MutedState, MUTED_ALL_ON.into())]
    );
    assert_eq!(s.feed(Input::ChannelOpen(Channel::Renegotiation)), vec![]);
    assert_eq!(s.view(), live_view(Phase::InCall));
}

#[test]
fn mic_toggle_sends_muted_state() {
    let mut s = caller_in_call();
    s.feed(Input::ChannelOpen(Channel::MutedState));
    assert_eq!(s.click(Button::Mic), vec![Effect::SetMic(false), muted(false, true)]);
    assert_eq!(s.view(), View { mic: Dev::Off, mic_label: Msg::UnmuteMic, ..live_view(Phase::InCall) });
    assert_eq!(s.click(Button::Mic), vec![Effect::SetMic(true), muted(true, true)]);
    assert_eq!(s.view(), live_view(Phase::InCall));
}

#[test]
fn mic_toggle_before_the_channel_opens_is_reported_on_open() {
    let mut s = caller_ringing();
    assert_eq!(s.click(Button::Mic), vec![Effect::SetMic(false)]);
    assert_eq!(s.view(), View { mic: Dev::Off, mic_label: Msg::UnmuteMic, ..live_view(Phase::Ringing) });
    assert_eq!(s.feed(Input::ChannelOpen(Channel::MutedState)), vec![muted(false, true)]);
}

#[test]
fn cam_toggle_off_and_on() {
    let mut s = caller_in_call();
    s.feed(Input::ChannelOpen(Channel::MutedState));
    assert_eq!(s.click(Button::Cam), vec![Effect::StopCamera, Effect::SendVideo(VideoSource::Nothing), muted(true, false)]);
    let cam_off = View { cam: Dev::Off, cam_label: Msg::CameraOn, ..live_view(Phase::InCall) };
    assert_eq!(s.view(), cam_off);
    assert_eq!(s.click(Button::Cam), vec![Effect::StartCamera(Camera::Default)]);
    assert_eq!(s.view(), cam_off, "reported on only once the camera delivers");
    assert_eq!(s.feed(Input::CameraStarted(true)), vec![Effect::SendVideo(VideoSource::Camera), muted(true, true)]);
    assert_eq!(s.view(), live_view(Phase::InCall));
}

#[test]
fn cam_start_failure_is_a_notice() {
    let mut s = caller_in_call();
    s.feed(Input::ChannelOpen(Channel::MutedState));
    s.click(Button::Cam);
    s.click(Button::Cam);
    assert_eq!(s.feed(Input::CameraStarted(false)), vec![muted(true, false)]);
    assert_eq!(
        s.view(),
        View {
            notice: Some(Msg::CameraUnavailable),
            cam: Dev::Off,
            cam_label: Msg::CameraOn,
            ..live_view(Phase::InCall)
        }
    );
}

#[test]
fn camera_unavailable_notice_goes_away_when_the_camera_starts() {
    let (mut s, _) = started("", "#startCall", HostApi::FULL);
    s.feed(Input::CameraPresent(true));
    s.feed(Input::IceServers(Ok("[]".into())));
    s.feed(Input::Media(Err(()))); // camera busy: audio only
    s.feed(Input::Media(Ok(AUDIO)));
    assert_eq!(s.view().notice, Some(Msg::CameraUnavailable));
    assert_eq!(s.click(Button::Cam), vec![Effect::StartCamera(Camera::Default)]);
    s.feed(Input::CameraStarted(true)); // the camera is free now
    assert_eq!(s.view(), live_view(Phase::Connecting));
}

#[test]
fn remote_muted_state_updates_the_view() {
    let mut s = callee_in_call();
    s.feed(Input::RemoteVideo(true));
    assert_eq!(s.view(), View { remote_video: true, avatar: false, ..live_view(Phase::InCall) });
    let e = s.feed(Input::ChannelMessage(Channel::MutedState, r#"{"audioEnabled":false,"videoEnabled":false}"#.into()));
    assert_eq!(e, vec![]);
    assert_eq!(
        s.view(),
        View { remote_mic: Some(false), remote_video: false, avatar: true, ..live_view(Phase::InCall) },
        "the avatar instead of a frozen picture"
    );
    let e = s.feed(Input::ChannelMessage(
        Channel::MutedState,
        r#" {"videoEnabled":true, "x":[1], "audioEnabled":true} "#.into(),
    ));
    assert_eq!(e, vec![]);
    assert_eq!(
        s.view(),
        View { remote_mic: Some(true), remote_video: true, avatar: false, ..live_view(Phase::InCall) }
    );
    // Video enabled but no frames yet: avatar.
    s.feed(Input::RemoteVideo(false));
    assert_eq!(s.view(), View { remote_mic: Some(true), ..live_view(Phase::InCall) });
}

#[test]
fn remote_trickle_messages_become_candidates() {
    let mut s = caller_in_call();
    let c = cand("srflx", 7);
    assert_eq!(
        s.feed(Input::ChannelMessage(Channel::IceTrickling, cand_json(&c))),
        vec![Effect::AddCandidate(Some(c))]
    );
    let mut with_ufrag = cand("relay", 8);
    with_ufrag.username_fragment = Some("aNsW".into());
    with_ufrag.sdp_mid = None;
    let text = r#"{"candidate":"candidate:8 1 udp 1677729535 203.0.113.8 50008 typ relay generation 0","sdpMLineIndex":0,"usernameFragment":"aNsW"}"#;
    assert_eq!(
        s.feed(Input::ChannelMessage(Channel::IceTrickling, text.into())),
        vec![Effect::AddCandidate(Some(with_ufrag))]
    );
    assert_eq!(s.feed(Input::ChannelMessage(Channel::IceTrickling, "null".into())), vec![Effect::AddCandidate(None)]);
    assert_eq!(
        s.feed(Input::ChannelMessage(Channel::IceTrickling, r#"{"candidate":"","sdpMid":"0"}"#.into())),
        vec![Effect::AddCandidate(None)]
    );
    assert_eq!(s.view(), live_view(Phase::InCall));
}

#[test]
fn malformed_channel_messages_are_only_logged() {
    let one_mb = "x".repeat(1 << 20);
    let one_mb_json = format!(r#"{{"audioEnabled":true,"videoEnabled":false,"pad":"{}"}}"#, "x".repeat(1 << 20));
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let deep_obj = format!("{}1{}", r#"{"a":"#.repeat(50), "}".repeat(50));
    let bad: Vec<(Channel, String)> = vec![
        (Channel::MutedState, "{".into()),
        (Channel::MutedState, "".into()),
        (Channel::MutedState, "[]".into()),
        (Channel::MutedState, "null".into()),
        (Channel::MutedState, r#"{"audioEnabled":"yes","videoEnabled":true}"#.into()),
        (Channel::MutedState, r#"{"audioEnabled":1,"videoEnabled":0}"#.into()),
        (Channel::MutedState, r#"{"audioEnabled":true}"#.into()),
        (Channel::MutedState, r#"{"audioEnabled":true,"videoEnabled":true} x"#.into()),
        (Channel::MutedState, "\"\\ud800\"".into()),
        (Channel::MutedState, one_mb.clone()),
        (Channel::MutedState, one_mb_json),
        (Channel::MutedState, deep.clone()),
        (Channel::MutedState, deep_obj),
        (Channel::IceTrickling, "42".into()),
        (Channel::IceTrickling, r#"{"candidate":7,"sdpMid":"0"}"#.into()),
        (Channel::IceTrickling, r#"{"candidate":"candidate:1 1 udp 1 1.2.3.4 5 typ host"}"#.into()),
        (Channel::IceTrickling, r#"{"candidate":"c","sdpMLineIndex":70000}"#.into()),
        (Channel::IceTrickling, r#"{"candidate":"c","sdpMLineIndex":-1}"#.into()),
        (Channel::IceTrickling, r#"{"candidate":"c","sdpMid":5}"#.into()),
        (Channel::IceTrickling, "\u{0}\u{1}\u{202e}😀".into()),
        (Channel::IceTrickling, one_mb.clone()),
        (Channel::IceTrickling, deep.clone()),
        (Channel::Renegotiation, r#"{"type":"offer"}"#.into()),
        (Channel::Renegotiation, r#"{"type":"offer","sdp":"hello"}"#.into()),
        (Channel::Renegotiation, r#"{"type":"rollback"}"#.into()),
        (Channel::Renegotiation, r#"{"type":7}"#.into()),
        (Channel::Renegotiation, "null".into()),
        (Channel::Renegotiation, one_mb),
        (Channel::Renegotiation, deep),
        // Well-formed but unexpected: the caller never takes an offer, nor
        // an answer it did not ask for.
        (Channel::Renegotiation, Renegotiation::Offer(OFFER_2.into()).to_json()),
        (Channel::Renegotiation, Renegotiation::Answer(ANSWER_2.into()).to_json()),
    ];
    let mut s = caller_in_call();
    s.feed(Input::RemoteVideo(true));
    let before = s.view();
    for (ch, text) in &bad {
        let e = s.feed(Input::ChannelMessage(*ch, text.clone()));
        let head: String = text.chars().take(40).collect();
        assert_eq!(quiet(&e), vec![], "{ch:?} {head}");
        // A malformed message is logged; one refused by a bound (its size
        // here) only the first time of its kind (`guard::Refused`).
        assert!(logs(&e).len() <= 1, "{ch:?} {head}: logged once at most");
        assert!(logs(&e).iter().all(|l| l.len() < 400), "the log does not copy a huge message");
        assert_eq!(s.view(), before, "{ch:?} {head}");
    }
    // Before the call is up, the same messages are as harmless.
    let mut s = caller_connecting();
    for (ch, text) in &bad {
        let e = s.feed(Input::ChannelMessage(*ch, text.clone()));
        assert_eq!(quiet(&e), vec![]);
        assert_eq!(s.view(), live_view(Phase::Connecting));
    }
}

// ====================================================================
// Ending
// ====================================================================

#[test]
fn our_hang_up_in_call() {
    let mut s = caller_in_call();
    assert_eq!(s.click(Button::End), vec![Effect::ClosePeer, Effect::EndCall]);
    assert_eq!(s.view(), ended_view(Msg::CallEnded, true, true));
    assert_inert(&mut s);
}

#[test]
fn hang_up_while_ringing_and_while_connecting() {
    for make in [caller_ringing as fn() -> Sim, caller_connecting, || started("", "#startCall", HostApi::FULL).0] {
        let mut s = make();
        assert_eq!(s.click(Button::End), vec![Effect::ClosePeer, Effect::EndCall]);
        assert_eq!(s.phase(), Phase::Ended);
        assert!(!s.view().ringback);
        assert_eq!(s.run_for(60_000), vec![], "pending timers do nothing");
    }
}

#[test]
fn peer_hang_up_closes_the_muted_state_channel() {
    let mut s = caller_in_call();
    s.feed(heard_from_peer());
    assert_eq!(s.feed(Input::ChannelClosed(Channel::IceTrickling)), vec![]);
    assert_eq!(s.feed(Input::ChannelClosed(Channel::Renegotiation)), vec![]);
    assert_eq!(s.phase(), Phase::InCall);
    let e = s.feed(Input::ChannelClosed(Channel::MutedState));
    assert_eq!(e, vec![Effect::ClosePeer, Effect::EndCall]);
    assert_eq!(s.view(), ended_view(Msg::PeerHungUp, true, true));
    assert_inert(&mut s);
}

#[test]
fn muted_state_channel_closing_outside_the_call_is_not_a_hang_up() {
    for make in [caller_ringing as fn() -> Sim, caller_connecting, callee_handed_over] {
        let mut s = make();
        let before = s.view();
        assert_eq!(s.feed(Input::ChannelClosed(Channel::MutedState)), vec![]);
        assert_eq!(s.view(), before);
    }
    // Nor while the connection is down (lost, not hung up).
    let mut s = caller_in_call();
    s.feed(Input::Connection(ConnState::Disconnected));
    assert_eq!(s.feed(Input::ChannelClosed(Channel::MutedState)), vec![]);
    assert_eq!(s.phase(), Phase::InCall);
}

#[test]
fn connection_closed_after_connecting_is_a_hang_up() {
    let mut s = callee_in_call();
    s.feed(heard_from_peer());
    assert_eq!(s.feed(Input::Connection(ConnState::Closed)), vec![Effect::ClosePeer, Effect::EndCall]);
    assert_eq!(s.view(), ended_view(Msg::PeerHungUp, true, true));
}

#[test]
fn connection_failed_before_connecting_fails_then_ends_once() {
    let mut s = caller_connecting();
    let e = s.after(2000, Input::Connection(ConnState::Failed));
    assert_eq!(quiet(&e), failure_effects());
    assert_eq!(logs(&e), vec![Msg::ConnectFailed.en()]);
    assert_eq!(s.view(), failed_view(Msg::ConnectFailed, true, true));
    assert_eq!(s.run_for(FAILURE_LINGER_MS - 1), vec![], "the reason stays on screen");
    assert_eq!(s.run_for(1), vec![Effect::EndCall]);
    assert_eq!(s.run_for(600_000), vec![], "the pending connect timer does nothing");
    assert_eq!(count(&s.history, |e| *e == Effect::EndCall), 1);
    assert_inert(&mut s);
}

#[test]
fn end_during_the_failure_linger_ends_at_once_and_once() {
    let mut s = caller_connecting();
    s.after(2000, Input::Connection(ConnState::Failed));
    assert_eq!(s.after(10, Input::Click(Button::End)), vec![Effect::EndCall]);
    assert_eq!(s.after(10, Input::Click(Button::End)), vec![], "a second press");
    assert_eq!(s.run_for(FAILURE_LINGER_MS), vec![], "the linger timer does not end it again");
    assert_eq!(count(&s.history, |e| *e == Effect::EndCall), 1);
}

#[test]
fn connect_timeout_after_the_remote_description() {
    let mut s = caller_connecting();
    let due = s.due(Wake::Connect).unwrap();
    assert_eq!(due, s.now + CONNECT_TIMEOUT_MS);
    s.feed(Input::Connection(ConnState::Connecting));
    assert_eq!(s.run_until(due - 1), vec![]);
    let e = s.run_until(due);
    assert_eq!(quiet(&e), failure_effects());
    assert_eq!(s.view(), failed_view(Msg::ConnectFailed, true, true));
    assert_eq!(s.run_for(FAILURE_LINGER_MS), vec![Effect::EndCall]);
}

#[test]
fn connect_timeout_for_the_callee() {
    let mut s = callee_handed_over();
    let e = s.run_for(CONNECT_TIMEOUT_MS);
    assert_eq!(quiet(&e), failure_effects());
    assert_eq!(s.view().notice, Some(Msg::ConnectFailed));
}

#[test]
fn connect_timer_before_the_remote_description_does_nothing() {
    let mut s = caller_ringing();
    assert_eq!(s.feed(Input::Timeout), vec![]);
    assert_eq!(s.view(), live_view(Phase::Ringing));
    // Ringing lasts as long as the core rings (120 s): no timer ends it.
    assert_eq!(s.run_for(120_000), vec![]);
    assert_eq!(s.view(), live_view(Phase::Ringing));
}

#[test]
fn connect_timer_after_connecting_does_nothing() {
    let mut s = caller_in_call();
    assert_eq!(s.due(Wake::Connect), None, "the connect deadline ended with the setup");
    let e = s.run_for(CONNECT_TIMEOUT_MS);
    assert!(e.iter().all(|e| matches!(e, Effect::QueryRoute | Effect::QueryEstimate)), "{e:?}");
    assert_eq!(s.view(), live_view(Phase::InCall));
}

#[test]
fn crash_fails_the_call() {
    for make in [caller_in_call as fn() -> Sim, || callee_prompt(""), caller_ringing] {
        let mut s = make();
        let e = s.feed(Input::Crashed);
        assert_eq!(quiet(&e), failure_effects());
        assert_eq!(s.view().phase, Phase::Failed);
        assert_eq!(s.view().notice, Some(Msg::Crashed));
        assert_eq!(s.view().status, Some(Msg::CallFailed));
        assert!(!s.view().ringback && !s.view().answer);
        assert_eq!(s.run_for(FAILURE_LINGER_MS), vec![Effect::EndCall]);
    }
}

#[test]
fn connection_state_without_a_peer_is_ignored() {
    let mut s = callee_prompt("");
    assert_eq!(quiet(&s.feed(Input::Connection(ConnState::Connected))), vec![]);
    assert_eq!(s.view(), prompt_view(), "the person can still answer");
    let (mut s, _) = started("", "", HostApi::FULL);
    assert_eq!(quiet(&s.feed(Input::Connection(ConnState::Connected))), vec![]);
    assert_eq!(s.phase(), Phase::Idle);
}

#[test]
fn nothing_happens_after_the_call_is_over_except_the_delayed_end() {
    let mut s = caller_in_call();
    s.feed(Input::Crashed);
    assert_inert(&mut s);
    assert_eq!(s.run_for(FAILURE_LINGER_MS), vec![Effect::EndCall]);
    let mut s = callee_in_call();
    s.click(Button::End);
    assert_inert(&mut s);
}

#[test]
fn end_call_is_never_emitted_twice() {
    let mut s = caller_connecting();
    s.feed(Input::Connection(ConnState::Failed));
    assert_eq!(s.run_for(FAILURE_LINGER_MS), vec![Effect::EndCall]);
    assert_eq!(s.feed(Input::Timeout), vec![], "woken again");
    assert_eq!(s.after(FAILURE_LINGER_MS, Input::Timeout), vec![], "woken again, later");
    let mut s = caller_in_call();
    assert_eq!(s.click(Button::End), vec![Effect::ClosePeer, Effect::EndCall]);
    assert_eq!(s.due(Wake::EndAfterFailure), None, "ended normally: no failure linger");
    assert_eq!(s.after(FAILURE_LINGER_MS, Input::Timeout), vec![]);
}

// ====================================================================
// Route
// ====================================================================

#[test]
fn route_is_shown_only_in_the_call() {
    let mut s = caller_connecting();
    // A relayed path is capped as soon as it is known.
    assert_eq!(s.feed(Input::Route(Route::Relay)), vec![Effect::LimitVideo(VideoSend::capped(RELAY_VIDEO_KBPS))]);
    assert_eq!(s.view().route, Route::Unknown);
    s.feed(Input::Connection(ConnState::Connected));
    assert_eq!(s.feed(Input::Route(Route::Relay)), vec![], "asked once");
    assert_eq!(s.view(), View { route: Route::Relay, ..live_view(Phase::InCall) });
    assert_eq!(s.feed(Input::Route(Route::P2p)), vec![Effect::LimitVideo(VideoSend::FREE)], "a direct path lifts the cap");
    assert_eq!(s.view().route, Route::P2p);
    s.click(Button::End);
    assert_eq!(s.view().route, Route::Unknown);
}

#[test]
fn route_is_polled_while_connected_slowly_once_all_is_well() {
    use call_core::quality::{Level, Sample};
    // Fires the next poll; returns the delay it set for the one after.
    let next = |s: &mut Sim| {
        let due = s.due(Wake::Route).expect("polling");
        let e = s.run_until(due);
        assert_eq!(e, [Effect::QueryRoute], "{e:?}");
        s.wait(Wake::Route).expect("polling goes on")
    };
    let mut n = 0;
    let mut sample = |s: &mut Sim, rtt| {
        n += 1;
        let at = s.now;
        s.after(500, Input::Stats(Sample { at_ms: at, rtt_ms: Some(rtt), packets_received: 100 * n, ..Sample::default() }))
    };
    let mut s = caller_in_call();
    // Our camera's video is watched for a narrowing path: fast polling
    // whatever the grade (see `congestion_*`); here without it.
    s.click(Button::Cam);
    assert_eq!(s.view().cam, Dev::Off);
    // Not graded yet: fast, so that the indicator shows soon.
    assert_eq!(next(&mut s), ROUTE_POLL_FAST_MS);
    sample(&mut s, 20);
    sample(&mut s, 20);
    assert_eq!(s.view().quality.map(|q| q.level), Some(Level::Good));
    // Good: rare, as the page's only steady work besides the timer.
    assert_eq!(next(&mut s), ROUTE_POLL_MS);
    assert_eq!(next(&mut s), ROUTE_POLL_MS);
    // Not good: fast again, to follow the network.
    sample(&mut s, 900);
    assert_eq!(s.view().quality.map(|q| q.level), Some(Level::Poor));
    assert_eq!(next(&mut s), ROUTE_POLL_FAST_MS);
    sample(&mut s, 20);
    assert_eq!(next(&mut s), ROUTE_POLL_MS);
    // The details: fresh numbers at once, then fast while they are open.
    assert!(!s.view().details);
    assert_eq!(s.click(Button::Quality), vec![Effect::QueryRoute]);
    assert!(s.view().details);
    assert_eq!(next(&mut s), ROUTE_POLL_FAST_MS);
    assert_eq!(next(&mut s), ROUTE_POLL_FAST_MS);
    assert_eq!(s.click(Button::Quality), vec![], "closed");
    assert!(!s.view().details);
    assert_eq!(next(&mut s), ROUTE_POLL_MS);
    s.click(Button::Quality);
    s.click(Button::End);
    assert!(!s.view().details, "no details once the call is over");
    assert_eq!(s.run_for(ROUTE_POLL_MS), vec![], "stops with the call");
}

#[test]
fn quality_details_need_a_grade() {
    let mut s = caller_in_call();
    assert_eq!(s.click(Button::Quality), vec![], "nothing to show yet");
    assert_eq!(s.view(), live_view(Phase::InCall));
    let mut s = caller_ringing();
    assert_eq!(s.click(Button::Quality), vec![]);
}

#[test]
fn route_timer_before_connecting_does_nothing() {
    let mut s = caller_ringing();
    assert_eq!(s.feed(Input::Timeout), vec![]);
    let mut s = caller_connecting();
    assert_eq!(s.feed(Input::Timeout), vec![]);
}

// ====================================================================
// ICE restart over the renegotiation channel (PROTOCOL.md section 5)
// ====================================================================

fn restart_offers(effects: &[Effect]) -> usize {
    count(effects, |e| *e == Effect::CreateOffer { ice_restart: true })
}

/// The caller's restart offer is set locally: it is held for its new
/// candidates and goes out once they are gathered.
fn send_restart_offer(s: &mut Sim) {
    let e = quiet(&s.feed(Input::LocalDescriptionSet));
    assert_eq!(e, vec![], "held");
    assert_eq!(s.wait(Wake::HeldOffer), Some(HELD_OFFER_MS));
    let e = quiet(&s.feed(Input::GatheringComplete));
    assert_eq!(e.first(), Some(&Effect::SendDescription), "{e:?}");
}

#[test]
fn a_lost_address_restarts_without_waiting_for_the_grace() {
    let mut s = caller_in_call();
    s.feed(Input::ChannelOpen(Channel::MutedState));
    let e = s.feed(Input::Connection(ConnState::Disconnected));
    assert!(e.contains(&Effect::CheckAddress), "{e:?}");
    let e = s.after(80, Input::AddressGone);
    assert_eq!(restart_offers(&e), 1, "at once: {e:?}");
    assert_eq!(s.view(), live_view(Phase::Reconnecting));
    assert_eq!(restart_offers(&s.run_for(DISCONNECT_GRACE_MS)), 0, "the grace timer is spent");
    // A late or repeated report changes nothing.
    assert_eq!(restart_offers(&s.feed(Input::AddressGone)), 0);
    // The callee asks at once.
    let mut s = callee_in_call();
    s.feed(Input::Connection(ConnState::Disconnected));
    let e = s.feed(Input::AddressGone);
    assert!(e.contains(&Effect::Send(Channel::Renegotiation, r#"{"type":"restart-request"}"#.into())), "{e:?}");
}

#[test]
fn a_lost_address_report_after_the_path_came_back_is_ignored() {
    let mut s = caller_in_call();
    s.feed(Input::Connection(ConnState::Disconnected));
    s.feed(Input::Connection(ConnState::Connected));
    assert_eq!(quiet(&s.feed(Input::AddressGone)), vec![]);
    let mut s = caller_connecting();
    assert_eq!(quiet(&s.feed(Input::AddressGone)), vec![], "not before the call connected");
}

#[test]
fn restart_offer_waits_for_its_candidates_which_ride_in_it() {
    let mut s = caller_in_call();
    s.feed(Input::ChannelOpen(Channel::IceTrickling));
    s.feed(Input::NetworkChanged);
    assert_eq!(quiet(&s.feed(Input::LocalDescriptionSet)), vec![], "held");
    assert_eq!(s.wait(Wake::HeldOffer), Some(HELD_OFFER_MS));
    let e = s.feed(Input::Candidate(cand("host", 12)));
    assert_eq!(quiet(&e), vec![], "in the offer's SDP, not trickled ahead of it");
    assert_eq!(s.run_for(HELD_OFFER_MS - 1), vec![]);
    let e = s.feed(Input::GatheringComplete);
    assert_eq!(quiet(&e), vec![Effect::SendDescription, Effect::Send(Channel::IceTrickling, "null".into())]);
    assert_eq!(quiet(&s.run_for(1)), vec![], "the timer is spent");
}

#[test]
fn restart_offer_goes_out_after_a_second_or_once_the_path_is_back() {
    // Gathering hangs (a dead TURN server): the offer goes after a second,
    // later candidates follow by trickle.
    let mut s = caller_in_call();
    s.feed(Input::ChannelOpen(Channel::IceTrickling));
    s.feed(Input::NetworkChanged);
    s.feed(Input::LocalDescriptionSet);
    assert_eq!(quiet(&s.run_for(HELD_OFFER_MS)), vec![Effect::SendDescription]);
    let c = cand("relay", 13);
    assert_eq!(quiet(&s.feed(Input::Candidate(c.clone()))), vec![Effect::Send(Channel::IceTrickling, cand_json(&c))]);
    assert_eq!(quiet(&s.feed(Input::GatheringComplete)), vec![Effect::Send(Channel::IceTrickling, "null".into())]);
    // The connection comes back first: the offer goes at once.
    let mut s = caller_in_call();
    s.feed(Input::Connection(ConnState::Disconnected));
    s.run_for(DISCONNECT_GRACE_MS);
    s.feed(Input::LocalDescriptionSet);
    let e = s.feed(Input::Connection(ConnState::Connected));
    assert!(e.contains(&Effect::SendDescription), "{e:?}");
    assert_eq!(count(&s.run_for(HELD_OFFER_MS), |e| *e == Effect::SendDescription), 0, "once");
}

/// Without the route and estimate polls, which go on through a disconnection.
fn no_polls(e: &[Effect]) -> Vec<Effect> {
    e.iter().filter(|e| !matches!(e, Effect::QueryRoute | Effect::QueryEstimate)).cloned().collect()
}

#[test]
fn caller_restarts_ice_after_the_disconnect_grace() {
    let mut s = caller_in_call();
    s.feed(Input::ChannelOpen(Channel::MutedState));
    let e = s.feed(Input::Connection(ConnState::Disconnected));
    assert_eq!(e, vec![Effect::CheckAddress]);
    assert_eq!(s.wait(Wake::Grace), Some(DISCONNECT_GRACE_MS));
    assert_eq!(s.view(), live_view(Phase::InCall), "a short gap is not shown");
    assert_eq!(no_polls(&s.run_for(DISCONNECT_GRACE_MS - 1)), vec![]);
    let e = s.run_for(1);
    let q = quiet(&no_polls(&e));
    assert_eq!(s.wait(Wake::Restart), Some(RESTART_ATTEMPT_MS));
    assert_eq!(q, [Effect::CreateOffer { ice_restart: true }]);
    assert_eq!(s.view(), live_view(Phase::Reconnecting));
    send_restart_offer(&mut s);
    let c = cand("relay", 11);
    s.feed(Input::ChannelOpen(Channel::IceTrickling));
    assert_eq!(s.feed(Input::Candidate(c.clone())), vec![Effect::Send(Channel::IceTrickling, cand_json(&c))]);
    let answer = Renegotiation::Answer(ANSWER_2.into()).to_json();
    assert_eq!(
        s.feed(Input::ChannelMessage(Channel::Renegotiation, answer)),
        vec![Effect::SetRemote { offer: false, sdp: ANSWER_2.into() }]
    );
    assert_eq!(s.feed(Input::RemoteDescriptionSet), vec![]);
    assert_eq!(s.feed(Input::Connection(ConnState::Connected)), vec![Effect::QueryRoute]);
    assert_eq!(s.view(), live_view(Phase::InCall));
    let e = s.run_for(60_000);
    assert_eq!(restart_offers(&e), 0, "the attempt timer is cancelled: {e:?}");
    assert_eq!(s.phase(), Phase::InCall);
    assert_eq!(count(&s.history, is_hand_over), 1, "the restart never goes through the host");
}

/// A browser error from a renegotiation step whose exchange is over (the
/// attempt timer gave it up, or it completed) does not end a call that
/// works: it was "The call could not be set up." in the middle of a call.
#[test]
fn a_late_renegotiation_error_does_not_fail_a_working_call() {
    let mut s = caller_in_call();
    let e = s.feed(Input::PeerError);
    assert!(!e.contains(&Effect::ClosePeer), "{e:?}");
    assert_eq!(s.view(), live_view(Phase::InCall));
    let e = s.run_for(60_000);
    assert_eq!(restart_offers(&e), 0, "nothing to restart: the connection is up: {e:?}");
    assert_eq!(s.phase(), Phase::InCall);
}

#[test]
fn a_short_disconnection_heals_without_restart() {
    let mut s = caller_in_call();
    s.feed(Input::Connection(ConnState::Disconnected));
    s.after(1000, Input::Connection(ConnState::Connected));
    let e = s.run_for(60_000);
    assert_eq!(restart_offers(&e), 0, "{e:?}");
    assert_eq!(s.phase(), Phase::InCall);
}

#[test]
fn callee_asks_the_caller_to_restart() {
    let mut s = callee_in_call();
    s.feed(Input::Connection(ConnState::Disconnected));
    let e = s.run_for(DISCONNECT_GRACE_MS);
    let q = quiet(&no_polls(&e));
    assert_eq!(s.wait(Wake::Restart), Some(RESTART_ATTEMPT_MS));
    assert_eq!(q, [Effect::Send(Channel::Renegotiation, r#"{"type":"restart-request"}"#.into())]);
    assert_eq!(restart_offers(&s.history), 0, "only the caller offers");
    assert_eq!(s.phase(), Phase::Reconnecting);
    let offer = Renegotiation::Offer(OFFER_2.into()).to_json();
    assert_eq!(
        s.feed(Input::ChannelMessage(Channel::Renegotiation, offer)),
        vec![use_media(OFFER_2), Effect::SetRemote { offer: true, sdp: OFFER_2.into() }]
    );
    assert_eq!(s.feed(Input::RemoteDescriptionSet), vec![Effect::CreateAnswer]);
    assert_eq!(s.feed(Input::LocalDescriptionSet), vec![Effect::SendDescription]);
    assert_eq!(s.feed(Input::Connection(ConnState::Connected)), vec![Effect::QueryRoute]);
    assert_eq!(s.view(), live_view(Phase::InCall));
    assert_eq!(count(&s.history, is_hand_over), 1);
}

#[test]
fn caller_answers_a_restart_request() {
    let mut s = caller_in_call();
    let e = s.feed(Input::ChannelMessage(Channel::Renegotiation, r#"{"type":"restart-request"}"#.into()));
    assert_eq!(restart_offers(&e), 1, "{e:?}");
    assert_eq!(s.phase(), Phase::InCall, "still connected: nothing to show");
    let e = s.feed(Input::ChannelMessage(Channel::Renegotiation, r#"{"type":"restart-request"}"#.into()));
    assert_eq!(restart_offers(&e), 0, "one exchange at a time");
}

#[test]
fn caller_restarts_after_a_network_change() {
    let mut s = caller_in_call();
    let e = s.feed(Input::NetworkChanged);
    assert_eq!(restart_offers(&e), 1, "{e:?}");
    s.feed(Input::LocalDescriptionSet);
    s.feed(Input::ChannelMessage(Channel::Renegotiation, Renegotiation::Answer(ANSWER_2.into()).to_json()));
    s.feed(Input::RemoteDescriptionSet);
    assert_eq!(s.view(), live_view(Phase::InCall));
    assert_eq!(restart_offers(&s.run_for(60_000)), 0, "the exchange is complete");
}

#[test]
fn network_change_before_connecting_does_nothing() {
    let mut s = caller_ringing();
    assert_eq!(s.feed(Input::NetworkChanged), vec![]);
}

#[test]
fn restarts_are_bounded_then_the_call_is_lost() {
    let mut s = caller_in_call();
    let e = s.feed(Input::Connection(ConnState::Failed));
    assert_eq!(restart_offers(&e), 1);
    for attempt in 2..=MAX_RESTARTS {
        let e = s.run_for(RESTART_ATTEMPT_MS);
        assert_eq!(restart_offers(&e), 1, "attempt {attempt}");
        assert_eq!(s.phase(), Phase::Reconnecting);
    }
    let e = s.run_for(RESTART_ATTEMPT_MS);
    let not_polling = |e: &&Effect| !matches!(e, Effect::QueryRoute | Effect::QueryEstimate);
    assert_eq!(quiet(&e).iter().filter(not_polling).cloned().collect::<Vec<_>>(), failure_effects());
    assert_eq!(s.view(), failed_view(Msg::ConnectionLost, true, true));
    assert_eq!(restart_offers(&s.history), MAX_RESTARTS as usize);
    assert_eq!(s.run_for(FAILURE_LINGER_MS), vec![Effect::EndCall]);
}

#[test]
fn renegotiation_before_the_call_connected_is_ignored() {
    let mut s = caller_connecting();
    for m in [r#"{"type":"restart-request"}"#.to_string(), Renegotiation::Answer(ANSWER_2.into()).to_json()] {
        let e = s.feed(Input::ChannelMessage(Channel::Renegotiation, m));
        assert_eq!(quiet(&e), vec![]);
    }
    let mut s = callee_handed_over();
    let e = s.feed(Input::ChannelMessage(Channel::Renegotiation, Renegotiation::Offer(OFFER_2.into()).to_json()));
    assert_eq!(quiet(&e), vec![]);
    assert_eq!(s.phase(), Phase::Connecting);
}

#[test]
fn caller_takes_the_restart_answer_even_if_the_old_path_recovered() {
    let mut s = caller_in_call();
    s.feed(Input::Connection(ConnState::Disconnected));
    s.run_for(DISCONNECT_GRACE_MS);
    send_restart_offer(&mut s);
    // The old path comes back while the callee is answering.
    s.feed(Input::Connection(ConnState::Connected));
    // The callee has applied our offer (new ICE credentials): its answer
    // must be applied or the next consent check fails.
    let answer = Renegotiation::Answer(ANSWER_2.into()).to_json();
    assert_eq!(
        s.feed(Input::ChannelMessage(Channel::Renegotiation, answer)),
        vec![Effect::SetRemote { offer: false, sdp: ANSWER_2.into() }]
    );
}

#[test]
fn callee_answers_the_restart_offer_even_if_the_old_path_recovered() {
    let mut s = callee_in_call();
    s.feed(Input::Connection(ConnState::Disconnected));
    let offer = Renegotiation::Offer(OFFER_2.into()).to_json();
    s.feed(Input::ChannelMessage(Channel::Renegotiation, offer));
    s.feed(Input::Connection(ConnState::Connected));
    assert_eq!(s.feed(Input::RemoteDescriptionSet), vec![Effect::CreateAnswer]);
    assert_eq!(s.feed(Input::LocalDescriptionSet), vec![Effect::SendDescription]);
}

// ====================================================================
// Property test: random, hostile input sequences
// ====================================================================

// The generator and the simulated shell are `common/drive.rs`, the same
// the `machine` fuzz target runs on libFuzzer's bytes; here on seeded
// pseudo-random streams, so every `cargo test` covers the same ground.

#[test]
fn property_random_hostile_sequences_keep_the_invariants() {
    let stats = drive::calls(0x5EED_CA11, 600, 100, false);
    eprintln!("{stats:?}");
    assert!(stats.inputs > 40_000, "{stats:?}");
    // The driver must actually reach every stage, or the invariants prove little.
    for phase in ["idle", "incoming", "connecting", "ringing", "in-call", "reconnecting", "ended", "failed", "not-received"] {
        let n = stats.reached.get(phase).copied().unwrap_or(0);
        assert!(n >= 5, "only {n} calls reached {phase}: {stats:?}");
    }
}

#[test]
fn property_other_seeds() {
    for seed in 1..=12 {
        drive::calls(seed, 150, 120, false);
    }
}

#[test]
fn property_end_call_once_even_with_spurious_timers() {
    drive::calls(0x5EED_CA11, 600, 100, true);
}

/// The generator's stream decides like libFuzzer's bytes: the same bytes,
/// the same call; an input used up ends the run.
#[test]
fn the_generator_is_deterministic_and_bounded() {
    let bytes: Vec<u8> = (0u32..4000).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let run = |data: &[u8]| {
        let mut stats = drive::Stats::default();
        drive::call(&mut drive::Entropy::from_bytes(data), 200, false, "fixed bytes", &mut stats);
        stats
    };
    let (a, b) = (run(&bytes), run(&bytes));
    assert_eq!((a.inputs, &a.reached), (b.inputs, &b.reached));
    assert!(a.inputs > 1, "{a:?}");
    let empty = run(&[]);
    assert_eq!(empty.calls, 1);
    let mut g = drive::Entropy::from_bytes(&[7, 1, 2]);
    assert_eq!((g.below(5), g.range(0, 0x100), g.below(300)), (2, 0x102 % 0x101, 0));
    assert!(g.is_empty());
    assert_eq!(drive::Entropy::from_seed(3).range(10, 10), 10);
}

#[test]
fn a_fresh_call_has_nothing_to_do_and_an_idle_view() {
    let mut c = Call::new();
    assert_eq!(drain(&mut c), vec![]);
    assert_eq!(c.view().phase, Phase::Idle);
    assert!(!c.view().end && !c.view().answer && !c.view().avatar);
}

// ====================================================================
// Call timer and connection quality
// ====================================================================

#[test]
fn the_timer_starts_at_the_first_connection_and_survives_reconnection() {
    let mut s = caller_in_call();
    let t = s.call.connected_at().expect("connected");
    s.feed(Input::Connection(ConnState::Disconnected));
    s.after(1000, Input::Connection(ConnState::Connected));
    assert_eq!(s.call.connected_at(), Some(t), "a reconnection does not restart the timer");
    s.feed(Input::Click(Button::End));
    assert_eq!(s.call.connected_at(), Some(t), "kept after the end: the call's duration");
    let (s, _) = started("", "#startCall", HostApi::FULL);
    assert_eq!(s.call.connected_at(), None);
}

#[test]
fn stats_samples_grade_the_connection_in_call_only() {
    use call_core::quality::{Level, Sample};
    let mut s = caller_in_call();
    let a = Sample { at_ms: 0, rtt_ms: Some(30), packets_received: 100, ..Sample::default() };
    assert_eq!(s.feed(Input::Stats(a)), vec![]);
    assert_eq!(s.view().quality, None, "one sample is no interval");
    s.feed(Input::Stats(Sample { at_ms: 5000, packets_received: 600, bytes_received: 625_000, ..a }));
    let q = s.view().quality.expect("graded");
    assert_eq!((q.level, q.down_kbps, q.rtt_ms), (Level::Good, 1000, Some(30)));
    s.feed(Input::Stats(Sample { at_ms: 10_000, rtt_ms: Some(900), packets_received: 700, bytes_received: 700_000, ..a }));
    assert_eq!(s.view().quality.map(|q| q.level), Some(Level::Poor));
    s.feed(Input::Click(Button::End));
    assert_eq!(s.view().quality, None, "not shown once the call is over");
}

#[test]
fn low_data_caps_the_video_on_every_path() {
    let (mut early, _) = started("?lowData", "#startCall", HostApi::FULL);
    assert_eq!(early.feed(Input::Route(Route::P2p)), vec![], "no peer yet, nothing to cap");
    let mut s = callee_prompt("?lowData");
    s.after(2000, Input::Click(Button::Answer));
    s.after(30, Input::Media(Ok(AV)));
    s.after(5, Input::RemoteDescriptionSet);
    s.after(5, Input::LocalDescriptionSet);
    s.after(40, Input::Candidate(cand("relay", 2)));
    s.after(500, Input::Connection(ConnState::Connected));
    assert_eq!(s.feed(Input::Route(Route::P2p)), vec![Effect::LimitVideo(VideoSend::capped(LOW_DATA_VIDEO_KBPS))]);
    assert_eq!(s.feed(Input::Route(Route::Relay)), vec![], "the lower cap stays");
}

// ====================================================================
// Screen sharing
// ====================================================================

#[test]
fn screen_sharing_replaces_the_camera_and_reports_video_on() {
    let mut s = caller_in_call();
    s.feed(Input::ChannelOpen(Channel::MutedState));
    assert_eq!(s.view().screen, Dev::None, "not without the API");
    assert_eq!(s.click(Button::Screen), vec![]);
    s.feed(Input::CanShareScreen(true));
    assert_eq!(s.view().screen, Dev::Off);
    // Camera off first: the other side then shows the avatar...
    s.click(Button::Cam);
    assert_eq!(s.click(Button::Screen), vec![Effect::StartScreen]);
    assert_eq!(s.view().screen, Dev::Off, "not before the capture runs");
    // ...until the screen comes: that is video to show.
    let on = r#"{"audioEnabled":true,"videoEnabled":true}"#;
    let off = r#"{"audioEnabled":true,"videoEnabled":false}"#;
    let screen = Effect::SendVideo(VideoSource::Screen);
    let nothing = Effect::SendVideo(VideoSource::Nothing);
    assert_eq!(s.feed(Input::ScreenStarted(true)), vec![screen.clone(), Effect::Send(Channel::MutedState, on.into())]);
    assert_eq!(s.view().screen, Dev::On);
    let stop = vec![Effect::StopScreen, nothing.clone(), Effect::Send(Channel::MutedState, off.into())];
    assert_eq!(s.click(Button::Screen), stop);
    assert_eq!(s.view().screen, Dev::Off);
    // The browser's own "Stop sharing" ends it the same way, once.
    s.click(Button::Screen);
    s.feed(Input::ScreenStarted(true));
    assert_eq!(s.feed(Input::ScreenEnded), stop);
    assert_eq!(s.feed(Input::ScreenEnded), vec![]);
    // A camera that comes on while sharing stays off the sender; when the
    // sharing stops, it goes back on.
    s.click(Button::Screen);
    s.feed(Input::ScreenStarted(true));
    s.click(Button::Cam);
    assert_eq!(s.feed(Input::CameraStarted(true)), vec![Effect::Send(Channel::MutedState, on.into())]);
    let back = vec![Effect::StopScreen, Effect::SendVideo(VideoSource::Camera), Effect::Send(Channel::MutedState, on.into())];
    assert_eq!(s.click(Button::Screen), back);
    s.click(Button::Screen);
    s.feed(Input::ScreenStarted(true));
    assert_eq!(s.click(Button::Cam), vec![Effect::StopCamera, Effect::Send(Channel::MutedState, on.into())], "the screen stays");
    // A cancelled picker changes nothing.
    s.click(Button::Screen);
    assert_eq!(s.feed(Input::ScreenStarted(false)), vec![Effect::Send(Channel::MutedState, off.into())]);
    assert_eq!(s.view().screen, Dev::Off);
}

#[test]
fn no_screen_sharing_without_video_or_outside_a_call() {
    let mut s = started("?disableVideoCompletely", "#startCall", HostApi::FULL).0;
    s.feed(Input::CanShareScreen(true));
    assert_eq!(s.click(Button::Screen), vec![]);
    assert_eq!(s.view().screen, Dev::None);
    let mut s = caller_connecting();
    s.feed(Input::CanShareScreen(true));
    assert_eq!(s.view().screen, Dev::None, "not while connecting");
    assert_eq!(s.click(Button::Screen), vec![]);
}

// ====================================================================
// A peer without channel 5 (today's TypeScript page)
// ====================================================================

/// A caller in a call whose peer never opened channel 5.
fn caller_with_old_peer() -> Sim {
    let mut s = caller_connecting();
    s.after(300, Input::Connection(ConnState::Connected));
    s
}

#[test]
fn no_restart_offer_to_a_peer_without_channel_5() {
    let mut s = caller_with_old_peer();
    let e = s.feed(Input::NetworkChanged);
    assert_eq!(restart_offers(&e), 0, "no offer nobody can answer: {e:?}");
    assert_eq!(s.phase(), Phase::InCall, "the path still works");
    let e = s.run_for(60_000);
    assert_eq!(restart_offers(&e), 0);
    assert_eq!(s.phase(), Phase::InCall);
    // A real outage: ICE gets its chance, bounded by the attempt timers.
    s.feed(Input::Connection(ConnState::Disconnected));
    let e = s.run_for(DISCONNECT_GRACE_MS + 1);
    assert_eq!(restart_offers(&e), 0);
    assert_eq!(s.phase(), Phase::Reconnecting);
    s.feed(Input::Connection(ConnState::Connected));
    assert_eq!(s.phase(), Phase::InCall, "ICE recovered by itself");
    // "failed" is final without renegotiation: lost, then a clean end.
    s.feed(Input::Connection(ConnState::Failed));
    assert_eq!(s.phase(), Phase::Failed);
    assert_eq!(s.view().notice, Some(Msg::ConnectionLost));
    assert_eq!(s.run_for(FAILURE_LINGER_MS), vec![Effect::EndCall]);
}

#[test]
fn callee_sends_no_restart_request_without_channel_5() {
    let mut s = callee_handed_over();
    s.after(500, Input::Connection(ConnState::Connected));
    let e = s.feed(Input::NetworkChanged);
    let requests = count(&e, |e| matches!(e, Effect::Send(Channel::Renegotiation, _)));
    assert_eq!(requests, 0, "{e:?}");
}

// ====================================================================
// Renegotiation descriptions are never lost (found by fuzzing)
// ====================================================================

#[test]
fn callee_answer_is_sent_even_if_the_grace_timer_fired_meanwhile() {
    let mut s = callee_in_call();
    let offer = Renegotiation::Offer(OFFER_2.into()).to_json();
    assert_eq!(
        s.feed(Input::ChannelMessage(Channel::Renegotiation, offer)),
        vec![use_media(OFFER_2), Effect::SetRemote { offer: true, sdp: OFFER_2.into() }]
    );
    s.feed(Input::Connection(ConnState::Disconnected));
    assert_eq!(s.feed(Input::RemoteDescriptionSet), vec![Effect::CreateAnswer]);
    s.run_for(DISCONNECT_GRACE_MS); // sends a restart-request meanwhile
    assert_eq!(quiet(&s.feed(Input::LocalDescriptionSet)), vec![Effect::SendDescription]);
}

#[test]
fn caller_second_restart_offer_is_sent_even_after_the_first_answer_landed() {
    let mut s = caller_in_call();
    s.feed(Input::Connection(ConnState::Disconnected));
    s.run_for(DISCONNECT_GRACE_MS);
    send_restart_offer(&mut s);
    s.run_for(RESTART_ATTEMPT_MS - 10);
    let answer = Renegotiation::Answer(ANSWER_2.into()).to_json();
    assert_eq!(s.feed(Input::ChannelMessage(Channel::Renegotiation, answer)), vec![Effect::SetRemote { offer: false, sdp: ANSWER_2.into() }]);
    let e = s.run_for(10);
    assert_eq!(restart_offers(&e), 1, "attempt 2: {e:?}");
    s.feed(Input::RemoteDescriptionSet); // answer 1 lands
    send_restart_offer(&mut s); // offer 2 still goes out
}

#[test]
fn a_stray_local_description_before_connecting_sends_nothing() {
    let (mut s, _) = started("", "#startCall", HostApi::FULL);
    s.feed(Input::IceServers(Ok("[]".into())));
    s.feed(Input::Media(Ok(AV)));
    s.feed(Input::LocalDescriptionSet);
    s.run_for(HOST_WAIT_MS);
    assert_eq!(s.phase(), Phase::Ringing);
    assert_eq!(quiet(&s.feed(Input::LocalDescriptionSet)), vec![], "no channel-5 description before the call connected");
}

#[test]
fn end_before_any_call_does_nothing() {
    let (mut s, _) = started("", "", HostApi::FULL);
    assert_eq!(s.click(Button::End), vec![], "no endCall from an idle page (a stray Shift+E)");
    assert_eq!(s.phase(), Phase::Idle);
}

// ====================================================================
// Devices: the dialog, picking, "switch camera"
// ====================================================================

#[test]
fn picking_devices_is_decided_by_the_core() {
    let mut s = caller_in_call();
    assert_eq!(s.feed(Input::PickDevice(DeviceKind::Camera, "cam-b".into())), vec![Effect::StartCamera(Camera::Device("cam-b".into()))]);
    assert_eq!(s.feed(Input::PickDevice(DeviceKind::Mic, "mic-b".into())), vec![Effect::StartMic("mic-b".into())]);
    assert_eq!(s.feed(Input::PickDevice(DeviceKind::Speaker, "spk".into())), vec![Effect::SetSpeaker("spk".into())]);
    // With the camera off, a picked camera is only remembered, and used
    // when the camera comes on again.
    s.click(Button::Cam);
    assert_eq!(s.feed(Input::PickDevice(DeviceKind::Camera, "cam-c".into())), vec![]);
    assert_eq!(s.click(Button::Cam), vec![Effect::StartCamera(Camera::Device("cam-c".into()))]);
    // Without a microphone there is none to switch.
    let (mut s, _) = started("", "#startCall", HostApi::FULL);
    s.feed(Input::Media(Ok(Media { audio: false, video: true })));
    assert_eq!(s.feed(Input::PickDevice(DeviceKind::Mic, "mic-b".into())), vec![]);
}

#[test]
fn the_switch_needs_two_cameras_and_prefers_the_other_facing() {
    let mut s = caller_in_call();
    assert!(!s.view().switch_camera, "no list yet");
    s.feed(Input::Cameras(vec!["a".into()]));
    assert!(!s.view().switch_camera, "one camera: nothing to switch to");
    s.feed(Input::Cameras(vec!["a".into(), "b".into(), "c".into()]));
    assert!(s.view().switch_camera);
    // A phone's camera says which way it faces: ask for the other way.
    let e = s.feed(Input::NextCamera { facing: Some("user".into()), device: Some("a".into()) });
    assert_eq!(e, vec![Effect::StartCamera(Camera::Facing("environment"))]);
    // Elsewhere: the next camera in the list, wrapping around.
    let e = s.feed(Input::NextCamera { facing: None, device: Some("c".into()) });
    assert_eq!(e, vec![Effect::StartCamera(Camera::Device("a".into()))]);
    let e = s.feed(Input::NextCamera { facing: Some("left".into()), device: None });
    assert_eq!(e, vec![Effect::StartCamera(Camera::Device("b".into()))], "after the one picked last");
    // Not while the camera is off.
    s.click(Button::Cam);
    assert_eq!(s.feed(Input::NextCamera { facing: None, device: None }), vec![]);
}

#[test]
fn the_device_dialog_opens_and_closes_during_a_call_only() {
    let mut s = caller_connecting();
    assert!(!s.view().devices);
    assert_eq!(s.click(Button::Devices), vec![]);
    assert!(s.view().devices);
    s.click(Button::Devices);
    assert!(!s.view().devices);
    s.click(Button::Devices);
    s.click(Button::End);
    assert!(!s.view().devices, "closed with the call");
}

#[test]
fn a_failed_video_cap_is_asked_again_with_the_next_route() {
    let mut s = caller_in_call();
    let cap = Effect::LimitVideo(VideoSend::capped(RELAY_VIDEO_KBPS));
    assert_eq!(s.feed(Input::Route(Route::Relay)), vec![cap.clone()]);
    assert_eq!(s.feed(Input::Route(Route::Relay)), vec![]);
    s.feed(Input::VideoLimitFailed);
    assert_eq!(quiet(&s.feed(Input::Route(Route::Relay))), vec![cap]);
}

#[test]
fn failures_of_the_sender_and_the_host_come_back_as_inputs() {
    let mut s = caller_in_call();
    s.feed(Input::SendVideoFailed);
    assert_eq!(s.view().notice, Some(Msg::CameraUnavailable), "our picture does not reach the peer");
    // A host whose startCall throws: the call cannot go on.
    let mut s = caller_with("", TURN_JSON);
    s.feed(Input::LocalDescriptionSet);
    s.feed(Input::Candidate(cand("relay", 1)));
    assert_eq!(quiet(&s.feed(Input::HostFailed)), failure_effects());
    assert_eq!(s.view(), failed_view(Msg::SetupFailed, true, true));
}

/// The other side's first message on channel 3: it had a working call.
fn heard_from_peer() -> Input {
    Input::ChannelMessage(Channel::MutedState, r#"{"audioEnabled":true,"videoEnabled":true}"#.into())
}

/// A peer that never reached us on channel 3 and then closed the
/// connection may have failed (the caller of a call with a wrong DTLS
/// fingerprint ends before its channels open): the page says the
/// connection closed, not that the other person hung up (it did before).
#[test]
fn a_peer_never_heard_from_is_not_said_to_have_hung_up() {
    let mut s = callee_in_call();
    assert_eq!(s.feed(Input::ChannelClosed(Channel::MutedState)), vec![Effect::ClosePeer, Effect::EndCall]);
    assert_eq!(s.view(), ended_view(Msg::ConnectionClosed, true, true));
    let mut s = caller_in_call();
    assert_eq!(s.feed(Input::Connection(ConnState::Closed)), vec![Effect::ClosePeer, Effect::EndCall]);
    assert_eq!(s.view(), ended_view(Msg::ConnectionClosed, true, true));
}

/// The other side denied camera and microphone: it says so on channel 3
/// and sends nothing, over a fine connection. The indicator must not call
/// that poor (it did: "nothing arrives" was poor whatever was expected);
/// once it sends again, silence is poor again.
#[test]
fn a_peer_silent_by_choice_is_not_a_poor_connection() {
    use call_core::quality::{Level, Sample};
    let mut s = callee_in_call();
    s.feed(Input::ChannelMessage(Channel::MutedState, r#"{"audioEnabled":false,"videoEnabled":false}"#.into()));
    let a = Sample { at_ms: 0, rtt_ms: Some(30), packets_received: 0, ..Sample::default() };
    s.feed(Input::Stats(a));
    s.feed(Input::Stats(Sample { at_ms: 5000, ..a }));
    assert_eq!(s.view().quality.map(|q| q.level), Some(Level::Good));
    s.feed(Input::ChannelMessage(Channel::MutedState, r#"{"audioEnabled":true,"videoEnabled":false}"#.into()));
    s.feed(Input::Stats(Sample { at_ms: 10_000, ..a }));
    assert_eq!(s.view().quality.map(|q| q.level), Some(Level::Poor), "audio is expected now, and none comes");
}

/// Issue 16: the whole call can run ahead of the camera. The offer goes
/// out, the answer is applied and the call connects while getUserMedia is
/// still pending; the tracks go on the senders when they come, without a
/// second offer. A hang-up meanwhile leaves the late capture nothing to do.
#[test]
fn commands_while_media_is_pending() {
    let (mut s, _) = started("", "#startCall", HostApi::FULL);
    s.after(5, Input::IceServers(Ok(TURN_JSON.into())));
    s.after(10, Input::LocalDescriptionSet);
    let e = s.after(30, Input::Candidate(cand("relay", 1)));
    assert_eq!(quiet(&e), hand_over(HostCall::StartCall), "the offer went out without media");
    assert_eq!(s.phase(), Phase::Ringing);
    assert_eq!(s.hash(&answer_hash(ANSWER)), vec![Effect::SetRemote { offer: false, sdp: ANSWER.into() }]);
    s.after(5, Input::RemoteDescriptionSet);
    s.after(300, Input::Connection(ConnState::Connected));
    assert_eq!(s.phase(), Phase::InCall);
    s.feed(Input::ChannelOpen(Channel::MutedState));
    // The camera and microphone arrive 2 s late: onto the senders, and the
    // peer hears that we send now.
    s.feed(Input::CameraPresent(true));
    let e = s.after(2000, Input::Media(Ok(AV)));
    let mut want = attach();
    want.push(muted(true, true));
    assert_eq!(e, want);
    assert_eq!(count(&s.history, |e| matches!(e, Effect::CreateOffer { .. })), 1, "no renegotiation");
    // Hang-up while capture is pending: the late result does nothing.
    let (mut s, _) = started("", "#startCall", HostApi::FULL);
    s.after(5, Input::IceServers(Ok(TURN_JSON.into())));
    assert_eq!(s.click(Button::End), vec![Effect::ClosePeer, Effect::EndCall]);
    assert_eq!(s.after(2000, Input::Media(Ok(AV))), vec![]);
}

/// The callee applies the offer and answers while the camera starts; the
/// tracks follow onto the senders.
#[test]
fn callee_answers_while_media_is_pending() {
    let mut s = callee_prompt("");
    assert_eq!(s.click(Button::Answer), answer_effects(OFFER));
    assert_eq!(s.after(5, Input::RemoteDescriptionSet), vec![Effect::CreateAnswer], "no media yet: nothing to attach");
    s.after(5, Input::LocalDescriptionSet);
    let e = s.after(40, Input::Candidate(cand("relay", 2)));
    assert_eq!(quiet(&e), hand_over(HostCall::AcceptCall), "the answer went out without media");
    let e = s.after(1500, Input::Media(Ok(AV)));
    assert_eq!(e, attach());
    assert_eq!(count(&s.history, |e| matches!(e, Effect::CreateAnswer)), 1);
}

#[test]
fn a_failed_camera_switch_keeps_the_running_camera() {
    let mut s = caller_in_call();
    s.feed(Input::Cameras(vec!["a".into(), "b".into()]));
    assert_eq!(s.feed(Input::NextCamera { facing: None, device: Some("a".into()) }), vec![Effect::StartCamera(Camera::Device("b".into()))]);
    assert_eq!(quiet(&s.feed(Input::CameraStarted(false))), vec![], "the camera in use goes on");
    assert_eq!(s.view(), View { switch_camera: true, ..live_view(Phase::InCall) }, "no notice, the camera still on");
    // Turning the camera on, though, can fail: then it is off, with a notice.
    s.click(Button::Cam);
    s.click(Button::Cam);
    s.feed(Input::CameraStarted(false));
    assert_eq!(s.view().cam, Dev::Off);
    assert_eq!(s.view().notice, Some(Msg::CameraUnavailable));
}

/// Found by fuzzing: media that brought video although the flag forbids
/// it, then a camera picked in the dialog, started the camera.
#[test]
fn no_camera_switch_with_video_disabled_completely() {
    let (mut s, _) = started("?disableVideoCompletely", "#startCall", HostApi::FULL);
    s.feed(Input::Media(Ok(AV)));
    s.feed(Input::Cameras(vec!["a".into(), "b".into()]));
    assert_eq!(s.feed(Input::PickDevice(DeviceKind::Camera, "b".into())), vec![]);
    assert_eq!(s.feed(Input::NextCamera { facing: Some("user".into()), device: None }), vec![]);
}

/// Found by fuzzing: when an error was taken for the answer's and the
/// answer then applied after all, the caller rang forever.
#[test]
fn an_answer_applied_after_an_error_still_connects() {
    let mut s = caller_ringing();
    s.hash(&answer_hash(ANSWER));
    s.feed(Input::PeerError);
    assert_eq!(s.view().notice, Some(Msg::AnswerRejected));
    assert_eq!(quiet(&s.feed(Input::RemoteDescriptionSet)), vec![]);
    assert_eq!(s.wait(Wake::Connect), Some(CONNECT_TIMEOUT_MS));
    assert_eq!(s.phase(), Phase::Connecting);
}

// ====================================================================
// Audio first on a narrow path (`call_core::congestion`)

/// A second later: a stats sample (media flows, the round trip is short:
/// graded good) and the light look-up's answer, the browser's estimate
/// of the path (kbit/s; our video's byte count unknown).
fn estimate(s: &mut Sim, kbps: u32) -> Vec<Effect> {
    let at = s.now + 1000;
    let sample = call_core::quality::Sample { at_ms: at, rtt_ms: Some(20), packets_received: at, ..Default::default() };
    let mut e = s.after(1000, Input::Stats(sample));
    e.extend(s.feed(Input::Estimate { kbps: Some(kbps), video_sent: None }));
    e
}

/// The delay the call sets to its next poll, once the current one ran.
fn next_poll(s: &mut Sim) -> Option<u64> {
    let due = s.due(Wake::Route)?;
    s.run_until(due.max(s.now));
    s.wait(Wake::Route)
}

/// Samples of one estimate until the effects change the video's tier
/// (its size, frame rate or pause: not only its cap, the budget).
fn until_video_changes(s: &mut Sim, kbps: u32) -> (VideoSend, Vec<Effect>) {
    let tier = |v: &VideoSend| (v.scale, v.max_fps, v.active);
    for _ in 0..12 {
        let e = estimate(s, kbps);
        let sends: Vec<VideoSend> = e.iter().filter_map(|x| match x {
            Effect::LimitVideo(v) => Some(*v),
            _ => None,
        }).collect();
        let last = LAST_TIER.with(|l| l.get());
        if let Some(v) = sends.iter().find(|v| tier(v) != last) {
            LAST_TIER.with(|l| l.set(tier(v)));
            return (*v, e);
        }
    }
    panic!("no change of the video's tier in 12 samples at {kbps} kbit/s");
}

thread_local! {
    /// The tier `until_video_changes` saw last (each test runs on a
    /// thread of its own).
    static LAST_TIER: std::cell::Cell<(u32, Option<u32>, bool)> = const { std::cell::Cell::new((1, None, true)) };
}

#[test]
fn a_narrow_path_makes_our_video_smaller_then_pauses_it_and_both_screens_say_so() {
    let mut s = caller_in_call();
    assert_eq!(s.feed(Input::ChannelOpen(Channel::MutedState)), vec![muted(true, true)]);
    estimate(&mut s, 2000);
    for _ in 0..5 {
        assert_eq!(estimate(&mut s, 2000).iter().filter(|e| matches!(e, Effect::LimitVideo(_))).count(), 0, "a wide path changes nothing");
    }
    // Watched while the camera sends, even when all is well: the light
    // look-up every 2 s, the full one as rarely as before.
    assert_eq!(s.view().quality.map(|q| q.level), Some(call_core::quality::Level::Good));
    s.run_for(ROUTE_POLL_MS);
    let e = s.run_for(ROUTE_POLL_MS);
    let count = |x: &Effect| e.iter().filter(|y| *y == x).count();
    assert_eq!((count(&Effect::QueryRoute), count(&Effect::QueryEstimate)), (1, 5), "{e:?}");
    // Narrower: half size, then a quarter, at fewer frames (a path that
    // fell further would go there at once: `congestion.rs`' tests); the
    // video capped at what the voice leaves of the estimate.
    let (send, _) = until_video_changes(&mut s, 250);
    assert_eq!((send.scale, send.max_fps, send.active), (2, Some(call_core::congestion::HALF_FPS), true));
    assert_eq!(send.max_kbps, Some(250 - call_core::congestion::VOICE_KBPS));
    assert_eq!(next_poll(&mut s), Some(call_core::machine::CONGESTION_POLL_MS), "sampled every second while below full");
    let (send, _) = until_video_changes(&mut s, 150);
    assert_eq!((send.scale, send.max_fps, send.active), (4, Some(call_core::congestion::QUARTER_FPS), true));
    assert_eq!(s.view().notice, None, "a smaller picture needs no words");
    // Too narrow even for that: paused, the peer told, our screen says so.
    let (send, e) = until_video_changes(&mut s, 60);
    assert!(!send.active);
    let told = Effect::Send(Channel::MutedState, r#"{"audioEnabled":true,"videoEnabled":false,"videoPaused":true}"#.into());
    assert!(e.contains(&told), "{e:?}");
    assert_eq!(s.view().notice, Some(Msg::VideoPaused));
    assert_eq!(s.view().cam, Dev::On, "the person's camera stays on: the pause is the path's");
    // Tried again after a wait, at the lowest tier; the path is back.
    let (send, e) = until_video_changes(&mut s, 60);
    assert!(send.active && send.scale == 4);
    assert!(e.contains(&muted(true, true)), "{e:?}");
    assert_eq!(s.view().notice, None);
    let (send, _) = until_video_changes(&mut s, 3000);
    assert_eq!(send.scale, 2);
    let (send, _) = until_video_changes(&mut s, 3000);
    assert_eq!(send, VideoSend::FREE, "back to full");
}

/// An outage is no narrow path: while the connection is down the
/// browser's estimate falls for want of feedback (98 kbit/s a few seconds
/// into one, in Chromium), and the video the path carried must not pause
/// for it, nor right after the connection is back.
#[test]
fn an_outage_does_not_pause_the_video_for_the_path() {
    let mut s = caller_in_call();
    s.feed(Input::ChannelOpen(Channel::MutedState));
    // A change of tier (not of the budget, which follows the estimate)
    // or a word to the peer.
    let changes = |e: &[Effect]| {
        e.iter()
            .filter(|x| match x {
                Effect::LimitVideo(v) => v.scale != 1 || v.max_fps.is_some() || !v.active,
                Effect::Send(..) => true,
                _ => false,
            })
            .count()
    };
    for _ in 0..3 {
        assert_eq!(changes(&estimate(&mut s, 2000)), 0);
    }
    s.feed(Input::Connection(ConnState::Disconnected));
    for kbps in [900, 300, 98, 40, 30, 30, 30, 30] {
        let e = estimate(&mut s, kbps);
        assert_eq!(changes(&e), 0, "at {kbps} kbit/s while the connection is down: {e:?}");
    }
    s.feed(Input::Connection(ConnState::Connected));
    // Back: the estimate climbs again, and is judged from fresh samples.
    for kbps in [120, 400, 900, 1500, 2000] {
        let e = estimate(&mut s, kbps);
        assert_eq!(changes(&e), 0, "at {kbps} kbit/s after the outage: {e:?}");
    }
    assert_eq!(s.view().notice, None);
    // A narrow path after the outage is still one.
    let (send, _) = until_video_changes(&mut s, 60);
    assert!(!send.active);
}

#[test]
fn the_peers_paused_video_is_told_on_our_screen() {
    let mut s = caller_in_call();
    s.feed(Input::RemoteVideo(true));
    let paused = r#"{"audioEnabled":true,"videoEnabled":false,"videoPaused":true}"#;
    s.feed(Input::ChannelMessage(Channel::MutedState, paused.into()));
    let v = s.view();
    assert_eq!((v.notice, v.remote_video, v.avatar), (Some(Msg::VideoPaused), false, true));
    // Turned off by the person (an old client never says why): no words.
    s.after(200, Input::ChannelMessage(Channel::MutedState, r#"{"audioEnabled":true,"videoEnabled":false}"#.into()));
    assert_eq!(s.view().notice, None);
    s.after(200, Input::ChannelMessage(Channel::MutedState, paused.into()));
    s.after(200, Input::ChannelMessage(Channel::MutedState, MUTED_ALL_ON.into()));
    let v = s.view();
    assert_eq!((v.notice, v.remote_video), (None, true), "resumed");
}

#[test]
fn camera_off_leaves_the_narrow_path_rule_and_an_estimate_less_browser_is_left_alone() {
    let mut s = caller_in_call();
    s.feed(Input::ChannelOpen(Channel::MutedState));
    until_video_changes(&mut s, 60);
    assert_eq!(s.view().notice, Some(Msg::VideoPaused));
    // The person turns the camera off: nothing of ours to pause (the
    // light look-up's answer, as any estimate, says so).
    s.click(Button::Cam);
    let e = s.after(1000, Input::Estimate { kbps: Some(60), video_sent: None });
    assert!(e.contains(&Effect::LimitVideo(VideoSend::FREE)), "{e:?}");
    assert_eq!(s.view().notice, None);
    // Firefox gives no estimate: its own adaptation stays in charge.
    s.click(Button::Cam);
    s.feed(Input::CameraStarted(true));
    for _ in 0..20 {
        let e = s.after(1000, Input::Estimate { kbps: None, video_sent: Some(s.now * 50) });
        assert!(!e.iter().any(|x| matches!(x, Effect::LimitVideo(_))), "{e:?}");
    }
}
