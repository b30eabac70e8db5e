//! What the page says, situation by situation: every status line and
//! notice of `call_core::Msg`, and every grade of the connection-quality
//! indicator, has a test named after the situation a person is in when it
//! shows. Each drives a `Call` as the browser shell does and checks what
//! the view shows and, where a naive rule would get it wrong, what it does
//! not show.
//!
//! Situations already tested in `tests/machine.rs` are not repeated here:
//! the table `COVERED` names the test there. `every_status_names_its_situation`
//! fails when a sentence or grade is added without a test for it.

mod common;

use call_core::machine::DISCONNECT_GRACE_MS;
use call_core::payload::PayloadError;
use call_core::quality::{Level, Sample};
use call_core::{Button, Channel, ConnState, Dev, HostApi, Input, Msg, Phase};
use common::*;

/// What the person reads: the stage, the status line and the notice.
fn shown(s: &Sim) -> (Phase, Option<Msg>, Option<Msg>) {
    let v = s.view();
    (v.phase, v.status, v.notice)
}

/// The other side's report on channel 3: what it sends.
fn peer_sends(audio: bool, video: bool) -> Input {
    Input::ChannelMessage(Channel::MutedState, format!(r#"{{"audioEnabled":{audio},"videoEnabled":{video}}}"#))
}

/// A `getStats` sample (cumulative counters) and the grade the indicator
/// shows after it.
fn grade(s: &mut Sim, at_ms: u64, rtt_ms: u32, received: u64, lost: u64) -> Option<Level> {
    let sample = Sample { at_ms, rtt_ms: Some(rtt_ms), packets_received: received, packets_lost: lost, ..Sample::default() };
    s.feed(Input::Stats(sample));
    s.view().quality.map(|q| q.level)
}

// ---------------------------------------------------------------- statuses

/// The callee's page never rings: the ring-back tone is the caller's.
#[test]
fn someone_calling_us_shows_incoming_call_then_connecting_and_never_ringing() {
    let steps = [
        (callee_prompt(""), Phase::Incoming, Some(Msg::IncomingCall)),
        (callee_handed_over(), Phase::Connecting, Some(Msg::Connecting)),
        (callee_in_call(), Phase::InCall, None),
    ];
    for (s, phase, status) in steps {
        assert_eq!(shown(&s), (phase, status, None));
        assert!(!s.view().ringback, "{phase:?}");
    }
}

/// Ringing means the other side has the offer: not before it went to the
/// host, and no longer once the answer is in.
#[test]
fn calling_someone_rings_only_while_the_offer_waits_for_an_answer() {
    let steps = [
        (started("", "#startCall", HostApi::FULL).0, Phase::Connecting, Some(Msg::Connecting)),
        (caller_with("", TURN_JSON), Phase::Connecting, Some(Msg::Connecting)),
        (caller_ringing(), Phase::Ringing, Some(Msg::Ringing)),
        (caller_connecting(), Phase::Connecting, Some(Msg::Connecting)),
        (caller_in_call(), Phase::InCall, None),
    ];
    for (s, phase, status) in steps {
        assert_eq!(shown(&s), (phase, status, None));
        assert_eq!(s.view().ringback, phase == Phase::Ringing, "{phase:?}");
    }
}

/// Hanging up is our choice, whatever state the connection was in.
#[test]
fn we_hang_up_while_reconnecting_shows_call_ended_not_connection_lost() {
    let mut s = caller_in_call();
    s.feed(Input::Connection(ConnState::Disconnected));
    s.run_for(DISCONNECT_GRACE_MS);
    assert_eq!(shown(&s), (Phase::Reconnecting, Some(Msg::Reconnecting), None));
    s.click(Button::End);
    assert_eq!(shown(&s), (Phase::Ended, Some(Msg::CallEnded), None));
}

// ---------------------------------------------------------------- notices

/// "Received call data is damaged; ignored." is about the data that came
/// with it: a call started afterwards from good data must not carry it.
#[test]
fn a_call_begun_after_damaged_call_data_does_not_say_the_data_is_damaged() {
    // A damaged incoming offer, then the person calls out instead.
    let (mut s, _) = started("", "#offerIncomingCall=!!!", HostApi::FULL);
    assert_eq!(shown(&s), (Phase::NotReceived, Some(Msg::CallNotReceived), None));
    s.hash("#startCall");
    assert_eq!(shown(&s), (Phase::Connecting, Some(Msg::Connecting), None));
    // A damaged second offer while the prompt shows, then Answer.
    let mut s = callee_prompt("");
    s.hash("#offerIncomingCall=!!!");
    let damaged = Some(Msg::BadPayload(PayloadError::NotBase64));
    assert_eq!(shown(&s), (Phase::Incoming, Some(Msg::IncomingCall), damaged));
    s.click(Button::Answer);
    assert_eq!(shown(&s), (Phase::Connecting, Some(Msg::Connecting), None));
}

/// With the camera left off (chosen on the prompt, or by the flag) only
/// the microphone was asked for; when it fails, the camera can still be
/// turned on, so "no camera or microphone" would be wrong.
#[test]
fn answered_with_the_camera_off_and_no_microphone_shows_no_microphone_not_no_media() {
    let mut s = callee_prompt("");
    s.click(Button::Cam);
    s.click(Button::Answer);
    s.feed(Input::Media(Err(())));
    assert_eq!(shown(&s), (Phase::Connecting, Some(Msg::Connecting), Some(Msg::NoMicrophone)));
    assert_eq!((s.view().mic, s.view().cam), (Dev::None, Dev::Off), "the camera can be turned on");
    let (mut s, _) = started("?noOutgoingVideoInitially", "#startCall", HostApi::FULL);
    s.feed(Input::CameraPresent(true));
    s.feed(Input::IceServers(Ok(TURN_JSON.into())));
    s.feed(Input::Media(Err(())));
    assert_eq!(s.view().notice, Some(Msg::NoMicrophone));
}

// ---------------------------------------------------------------- quality

/// A long round trip or a few percent lost: usable, neither good nor poor.
/// Without a relay server the notice says so while the call connects, not
/// while the person decides whether to answer, and not once the call is up;
/// it comes back if the call has to reconnect.
#[test]
fn no_relay_server_is_said_while_connecting_not_on_the_prompt_nor_in_the_call() {
    let (mut s, _) = started("", &offer_hash(OFFER), HostApi::FULL);
    s.feed(Input::CameraPresent(true));
    s.after(5, Input::IceServers(Err(())));
    assert_eq!(shown(&s), (Phase::Incoming, Some(Msg::IncomingCall), None));
    s.after(2000, Input::Click(Button::Answer));
    s.after(30, Input::Media(Ok(AV)));
    s.after(5, Input::RemoteDescriptionSet);
    s.after(5, Input::LocalDescriptionSet);
    s.after(10, Input::GatheringComplete);
    assert_eq!(shown(&s), (Phase::Connecting, Some(Msg::Connecting), Some(Msg::IceServersUnavailable)));
    s.after(500, Input::Connection(ConnState::Connected));
    assert_eq!(shown(&s), (Phase::InCall, None, None));
    s.feed(Input::Connection(ConnState::Disconnected));
    s.run_for(DISCONNECT_GRACE_MS);
    assert_eq!(shown(&s), (Phase::Reconnecting, Some(Msg::Reconnecting), Some(Msg::IceServersUnavailable)));
}

#[test]
fn a_call_over_a_slow_or_lossy_path_is_graded_fair() {
    let mut s = caller_in_call();
    grade(&mut s, 0, 40, 100, 0);
    assert_eq!(grade(&mut s, 2000, 350, 200, 0), Some(Level::Fair), "350 ms round trip");
    assert_eq!(grade(&mut s, 4000, 40, 297, 3), Some(Level::Fair), "3 % lost");
    assert_eq!(grade(&mut s, 6000, 40, 397, 3), Some(Level::Good), "recovered");
}

/// A peer that sends nothing by choice is graded by its path alone while
/// the path is up; once the connection is down, its silence is no sign of
/// a working path.
#[test]
fn a_silent_peer_whose_connection_dropped_is_graded_poor_not_good() {
    let mut s = callee_in_call();
    s.feed(peer_sends(false, false));
    grade(&mut s, 0, 30, 0, 0);
    assert_eq!(grade(&mut s, 2000, 30, 0, 0), Some(Level::Good));
    s.feed(Input::Connection(ConnState::Disconnected));
    assert_eq!(grade(&mut s, 4000, 30, 0, 0), Some(Level::Poor));
    s.feed(Input::Connection(ConnState::Connected));
    assert_eq!(grade(&mut s, 6000, 30, 0, 0), Some(Level::Good), "back up");
}

// ---------------------------------------------------------------- coverage

/// Each sentence or grade, and a test (here or in `machine.rs`) for a
/// situation it is shown in. The test must mention it (`Msg::X`,
/// `Level::X`, or for a status line its `Phase::X`).
const COVERED: &[(&str, &str)] = &[
    ("IncomingCall", "someone_calling_us_shows_incoming_call_then_connecting_and_never_ringing"),
    ("Connecting", "someone_calling_us_shows_incoming_call_then_connecting_and_never_ringing"),
    ("Connecting", "calling_someone_rings_only_while_the_offer_waits_for_an_answer"),
    ("Ringing", "calling_someone_rings_only_while_the_offer_waits_for_an_answer"),
    ("Reconnecting", "caller_restarts_ice_after_the_disconnect_grace"),
    ("Reconnecting", "callee_asks_the_caller_to_restart"),
    ("CallEnded", "our_hang_up_in_call"),
    ("CallEnded", "callee_decline"),
    ("CallEnded", "we_hang_up_while_reconnecting_shows_call_ended_not_connection_lost"),
    ("PeerHungUp", "peer_hang_up_closes_the_muted_state_channel"),
    ("ConnectionClosed", "a_peer_never_heard_from_is_not_said_to_have_hung_up"),
    ("CallFailed", "crash_fails_the_call"),
    ("CallNotReceived", "damaged_offer_shows_its_screen_and_close_ends_once"),
    ("BadPayload", "caller_bad_answer_payload_shows_a_notice_and_a_later_answer_works"),
    ("BadPayload", "a_call_begun_after_damaged_call_data_does_not_say_the_data_is_damaged"),
    ("IceServersUnavailable", "ice_servers_error_proceeds_without_servers"),
    ("IceServersUnavailable", "host_without_get_ice_servers_proceeds_without_servers"),
    ("IceServersUnavailable", "no_relay_server_is_said_while_connecting_not_on_the_prompt_nor_in_the_call"),
    ("SomeIceServersIgnored", "ice_servers_partly_invalid_keeps_the_good_ones"),
    ("CameraUnavailable", "media_failure_with_video_retries_audio_only"),
    ("CameraUnavailable", "cam_start_failure_is_a_notice"),
    ("NoMicrophone", "camera_without_microphone"),
    ("NoMicrophone", "answered_with_the_camera_off_and_no_microphone_shows_no_microphone_not_no_media"),
    ("NoMedia", "media_failure_twice_still_connects_without_media"),
    // The shell reports a missing host or WebRTC in `Input::Started`.
    ("NoHost", "no_host_fails_without_ever_ending_the_call"),
    ("HostIncomplete", "host_without_start_call_fails_at_hand_over"),
    ("NoWebRtc", "no_webrtc_fails_and_ends"),
    ("SetupFailed", "callee_setup_failure_fails_the_call"),
    ("AnswerRejected", "caller_answer_rejected_by_the_browser_waits_for_another"),
    ("ConnectFailed", "connection_failed_before_connecting_fails_then_ends_once"),
    ("ConnectFailed", "connect_timeout_after_the_remote_description"),
    ("ConnectionLost", "restarts_are_bounded_then_the_call_is_lost"),
    // A panic in the shell shows these words without the core
    // (`show_crash` in call-web's `dom.rs`); `Input::Crashed` is the
    // core's way to the same screen.
    ("Crashed", "crash_fails_the_call"),
    // Video paused for a narrow path: ours, and the peer's (channel 3).
    ("VideoPaused", "a_narrow_path_makes_our_video_smaller_then_pauses_it_and_both_screens_say_so"),
    ("VideoPaused", "the_peers_paused_video_is_told_on_our_screen"),
    // The quality indicator's grades.
    ("Good", "stats_samples_grade_the_connection_in_call_only"),
    ("Good", "a_peer_silent_by_choice_is_not_a_poor_connection"),
    ("Fair", "a_call_over_a_slow_or_lossy_path_is_graded_fair"),
    ("Poor", "stats_samples_grade_the_connection_in_call_only"),
    ("Poor", "a_silent_peer_whose_connection_dropped_is_graded_poor_not_good"),
];

/// Messages that are not a status line or notice.
const NOT_SHOWN_AS_STATUS: &[(&str, &str)] = &[
    ("InCall", "no text: a call in progress shows no status line (`status: None`)"),
    ("Answer", "a button label"),
    ("Decline", "a button label"),
    ("Close", "a button label"),
    ("EndCall", "a button label"),
    ("MuteMic", "a button label"),
    ("UnmuteMic", "a button label"),
    ("CameraOff", "a button label"),
    ("CameraOn", "a button label"),
];

/// The variant names of `pub enum <name>` in `src`, in order.
fn variants<'a>(src: &'a str, name: &str) -> Vec<&'a str> {
    let head = format!("pub enum {name} {{");
    let body = src.split_once(head.as_str()).map_or("", |(_, rest)| rest.split_once("\n}").map_or("", |(b, _)| b));
    let code = body.lines().map(|l| l.split("//").next().unwrap_or("").trim());
    code.filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split(|c: char| !c.is_alphanumeric() && c != '_').next())
        .collect()
}

/// The body of the test `name` in this file or in `machine.rs`.
fn test_body(name: &str) -> Option<&'static str> {
    let head = format!("#[test]\nfn {name}(");
    [include_str!("statuses.rs"), include_str!("machine.rs")]
        .into_iter()
        .find_map(|src| src.split_once(head.as_str()).map(|(_, rest)| rest.split_once("\n}\n").map_or(rest, |(b, _)| b)))
}

#[test]
fn every_status_names_its_situation() {
    let messages = variants(include_str!("../src/text.rs"), "Msg");
    let grades = variants(include_str!("../src/quality.rs"), "Level");
    assert!(messages.contains(&"Crashed") && grades == ["Good", "Fair", "Poor"], "{messages:?} {grades:?}");
    for v in messages.iter().chain(&grades) {
        let covered = COVERED.iter().any(|(c, _)| c == v);
        let excluded = NOT_SHOWN_AS_STATUS.iter().any(|(e, _)| e == v);
        assert!(covered != excluded, "{v}: needs exactly one of a test in COVERED or a reason in NOT_SHOWN_AS_STATUS");
    }
    for (v, test) in COVERED {
        assert!(messages.contains(v) || grades.contains(v), "{v} is no longer declared");
        let body = test_body(test).unwrap_or_else(|| panic!("{v}: no test `{test}`"));
        assert!(body.contains(&format!("::{v}")), "{v}: `{test}` never mentions it");
    }
    for (v, _) in NOT_SHOWN_AS_STATUS {
        assert!(messages.contains(v), "{v} is no longer declared");
    }
}
