//! Rules that the browser shell used to apply itself (issue 26, "a shell
//! that translates"), each now an input or an effect of the core and
//! tested here natively: the microphone switch, whether our address is
//! gone, our own preview, the picture-in-picture button, the shortcut
//! list, the speaker row, the call timer's second, the ring-back's length, the device dialog's
//! words for a device without a label, the panic screen.

mod common;

use call_core::params::{CLOCK_TICK_MS, RINGBACK_CYCLES, RINGBACK_OFF_MS, RINGBACK_ON_MS};
use call_core::view::device_label;
use call_core::{Button, ConnState, DeviceKind, Effect, HostApi, Input, Msg, Phase, VideoSource, View, Wake};
use common::*;

fn restart_offers(e: &[Effect]) -> usize {
    count(e, |e| *e == Effect::CreateOffer { ice_restart: true })
}

fn host_line(address: &str) -> String {
    ["candidate:1 1 udp 2122260223 ", address, " 54321 typ host generation 0"].concat()
}

// ---------------------------------------------------------- the microphone

#[test]
fn another_microphone_goes_on_the_sender_as_the_core_says() {
    let mut s = caller_in_call();
    assert_eq!(s.feed(Input::PickDevice(DeviceKind::Mic, "mic-b".into())), vec![Effect::StartMic("mic-b".into())]);
    assert_eq!(s.feed(Input::MicStarted(true)), vec![Effect::SendAudio], "unmuted: the new track is sent as it starts");
}

#[test]
fn another_microphone_stays_muted_when_the_person_had_muted() {
    let mut s = caller_in_call();
    s.click(Button::Mic);
    s.feed(Input::PickDevice(DeviceKind::Mic, "mic-b".into()));
    // A new track starts enabled: the core mutes it, not the shell.
    assert_eq!(s.feed(Input::MicStarted(true)), vec![Effect::SendAudio, Effect::SetMic(false)]);
    assert_eq!(s.view().mic, call_core::Dev::Off);
}

#[test]
fn a_microphone_that_fails_to_start_leaves_the_old_one_and_says_so_in_the_log() {
    let mut s = caller_in_call();
    s.feed(Input::PickDevice(DeviceKind::Mic, "mic-b".into()));
    let e = s.feed(Input::MicStarted(false));
    assert_eq!(quiet(&e), vec![], "the old microphone goes on");
    assert_eq!(logs(&e), vec!["the other microphone could not be started"]);
}

#[test]
fn another_microphone_before_the_senders_exist_waits_for_them() {
    // The callee's media is captured before the offer is applied: no
    // sender to put it on yet (`attach_media` does when they come).
    let mut s = callee_prompt("");
    s.click(Button::Answer);
    s.feed(Input::Media(Ok(AV)));
    assert_eq!(quiet(&s.feed(Input::MicStarted(true))), vec![]);
}

// ------------------------------------------------------ the path's address

#[test]
fn our_end_of_the_path_is_probed_where_its_address_says_something() {
    let mut s = caller_in_call();
    let e = s.feed(Input::Connection(ConnState::Disconnected));
    assert!(e.contains(&Effect::CheckAddress), "{e:?}");
    let end = |t: &str, a: Option<&str>, r: Option<&str>| Input::PathEnd {
        candidate_type: t.into(),
        address: a.map(String::from),
        related: r.map(String::from),
    };
    let probe = |a: &str| vec![Effect::ProbeAddresses(a.into())];
    assert_eq!(s.feed(end("host", Some("192.0.2.10"), None)), probe("192.0.2.10"));
    assert_eq!(s.feed(end("srflx", Some("203.0.113.5"), Some("192.0.2.10"))), probe("192.0.2.10"), "its base");
    assert_eq!(s.feed(end("relay", Some("203.0.113.9"), Some("192.0.2.10"))), vec![], "a relay says nothing of ours");
    assert_eq!(s.feed(end("prflx", Some("192.0.2.10"), None)), vec![]);
}

#[test]
fn a_gone_address_restarts_at_once_and_one_still_there_does_not() {
    let mut s = caller_in_call();
    s.feed(Input::Connection(ConnState::Disconnected));
    let found = |list: &[&str]| list.iter().map(|a| host_line(a)).collect::<Vec<_>>();
    let still = Input::AddressesFound { ours: "192.0.2.10".into(), found: found(&["198.51.100.7", "192.0.2.10"]) };
    assert_eq!(quiet(&s.feed(still)), vec![], "ours is still there: the grace decides");
    // Nothing found (no network at all) and names (mDNS) say nothing.
    let nothing = Input::AddressesFound { ours: "192.0.2.10".into(), found: vec![] };
    assert_eq!(quiet(&s.feed(nothing)), vec![]);
    let names = Input::AddressesFound { ours: "192.0.2.10".into(), found: found(&["4f1c-aa.local"]) };
    assert_eq!(quiet(&s.feed(names)), vec![]);
    let gone = Input::AddressesFound { ours: "192.0.2.10".into(), found: found(&["198.51.100.7"]) };
    let e = s.after(80, gone);
    assert_eq!(restart_offers(&e), 1, "at once, not after the grace: {e:?}");
    assert!(logs(&e).contains(&"our address is gone"), "{e:?}");
    assert_eq!(s.phase(), Phase::Reconnecting);
}

#[test]
fn the_address_is_no_question_before_the_call_is_live() {
    let mut s = caller_connecting();
    let end = Input::PathEnd { candidate_type: "host".into(), address: Some("192.0.2.10".into()), related: None };
    assert_eq!(s.feed(end), vec![]);
    let gone = Input::AddressesFound { ours: "192.0.2.10".into(), found: vec![host_line("198.51.100.7")] };
    assert_eq!(quiet(&s.feed(gone)), vec![]);
}

// ------------------------------------------------- beside the view: Extras

#[test]
fn the_preview_shows_the_camera_once_the_core_accepted_it_before_any_sender() {
    let mut s = callee_prompt("");
    assert_eq!(s.call.extras().preview, VideoSource::Nothing, "nothing is captured on the prompt");
    s.click(Button::Answer);
    let e = s.feed(Input::Media(Ok(AV)));
    assert!(!e.iter().any(|e| matches!(e, Effect::SendVideo(_))), "no sender yet: {e:?}");
    assert_eq!(s.call.extras().preview, VideoSource::Camera);
}

#[test]
fn the_preview_shows_no_video_the_core_did_not_ask_for() {
    // The camera chosen off on the prompt: a browser that delivers video
    // anyway does not get it into the preview.
    let mut s = callee_prompt("");
    s.click(Button::Cam);
    s.click(Button::Answer);
    s.feed(Input::Media(Ok(AV)));
    assert_eq!(s.call.extras().preview, VideoSource::Nothing);
}

#[test]
fn the_preview_follows_what_the_video_sender_sends() {
    let mut s = caller_in_call();
    assert_eq!(s.call.extras().preview, VideoSource::Camera);
    s.click(Button::Cam);
    assert_eq!(s.call.extras().preview, VideoSource::Nothing, "camera off");
    s.click(Button::Cam);
    assert_eq!(s.call.extras().preview, VideoSource::Nothing, "not before the camera delivers");
    s.feed(Input::CameraStarted(true));
    assert_eq!(s.call.extras().preview, VideoSource::Camera);
    s.feed(Input::CanShareScreen(true));
    assert_eq!(s.click(Button::Screen), vec![Effect::StartScreen]);
    assert_eq!(s.call.extras().preview, VideoSource::Camera, "not before the screen is picked");
    s.feed(Input::ScreenStarted(true));
    assert_eq!(s.call.extras().preview, VideoSource::Screen);
    s.feed(Input::ScreenEnded);
    assert_eq!(s.call.extras().preview, VideoSource::Camera);
    s.click(Button::End);
    assert_eq!(s.call.extras().preview, VideoSource::Nothing, "the call is over");
}

#[test]
fn the_pip_button_shows_with_remote_video_where_the_browser_can_float_it() {
    let mut s = caller_in_call();
    s.feed(Input::RemoteVideo(true));
    assert!(s.view().remote_video);
    assert!(!s.call.extras().pip, "not without the API (Firefox, most WebViews)");
    s.feed(Input::CanPip(true));
    assert!(s.call.extras().pip);
    s.feed(Input::RemoteVideo(false));
    assert!(!s.call.extras().pip, "nothing to float");
}

#[test]
fn the_shortcut_list_opens_and_closes_in_every_stage() {
    let (mut s, _) = started("", "", HostApi::FULL);
    assert!(!s.call.extras().help);
    assert_eq!(quiet(&s.click(Button::Help)), vec![]);
    assert!(s.call.extras().help);
    s.click(Button::Help);
    assert!(!s.call.extras().help, "the same key hides it");
    s.click(Button::Help);
    s.click(Button::CloseHelp);
    assert!(!s.call.extras().help, "Escape hides it");
    s.click(Button::CloseHelp);
    assert!(!s.call.extras().help, "Escape never shows it");
    let mut s = caller_in_call();
    assert_eq!(quiet(&s.click(Button::CloseHelp)), vec![], "Escape never ends the call");
    assert_eq!(s.phase(), Phase::InCall);
    s.click(Button::End);
    s.click(Button::Help);
    assert!(s.call.extras().help, "after the call too");
}

#[test]
fn the_speaker_row_exists_where_the_browser_can_route_audio() {
    let (mut s, _) = started("", "", HostApi::FULL);
    assert!(!s.call.extras().speaker);
    s.feed(Input::CanPickSpeaker(true));
    assert!(s.call.extras().speaker);
}

// ---------------------------------------------------------- the call timer

#[test]
fn the_call_is_woken_when_the_timer_shows_the_next_second() {
    let mut s = caller_connecting();
    assert_eq!(s.wait(Wake::Clock), None, "no timer before the call connects");
    s.after(300, Input::Connection(ConnState::Connected));
    let start = s.call.view().clock.expect("the timer runs");
    assert_eq!(s.due(Wake::Clock), Some(start + CLOCK_TICK_MS));
    // Other inputs between the seconds do not move it.
    s.after(250, Input::RemoteVideo(true));
    assert_eq!(s.due(Wake::Clock), Some(start + CLOCK_TICK_MS));
    // Woken at each second, and nothing else is done for it.
    let e = s.run_until(start + 3 * CLOCK_TICK_MS + 10);
    assert!(!e.iter().any(|e| !matches!(e, Effect::QueryRoute | Effect::QueryEstimate | Effect::Log(_))), "{e:?}");
    assert_eq!(s.due(Wake::Clock), Some(start + 4 * CLOCK_TICK_MS));
    // Woken late (a busy main thread), the next second is still on the
    // timer's grid, not a second after the late wake.
    s.after(1_700, Input::Timeout);
    assert_eq!(s.now, start + 4_710);
    assert_eq!(s.due(Wake::Clock), Some(start + 5 * CLOCK_TICK_MS));
    // Through a reconnection it runs on; once the call is over it stands.
    s.feed(Input::Connection(ConnState::Disconnected));
    assert!(s.due(Wake::Clock).is_some());
    s.click(Button::End);
    assert_eq!(s.due(Wake::Clock), None);
}

// --------------------------------------------------------------- the rest

#[test]
fn the_ring_back_is_scheduled_for_as_long_as_the_host_lets_a_call_ring() {
    // Delta Chat's core ends an unanswered call after 120 s (PROTOCOL.md
    // section 2); the tone is scheduled up front for that long at least.
    let cadence = u64::from(RINGBACK_ON_MS + RINGBACK_OFF_MS);
    assert!(u64::from(RINGBACK_CYCLES) * cadence >= 120_000);
}

#[test]
fn a_device_without_a_label_is_listed_by_the_start_of_its_id() {
    assert_eq!(device_label("Built-in Microphone", "3f2a9c7d1e0b"), "Built-in Microphone");
    assert_eq!(device_label("", "3f2a9c7d1e0b"), "3f2a9c7d");
    assert_eq!(device_label("", "short"), "short");
    assert_eq!(device_label("", "ääääääääää"), "ää\u{e4}\u{e4}\u{e4}\u{e4}\u{e4}\u{e4}", "by characters, never mid-character");
}

#[test]
fn the_panic_screen_says_what_a_crash_reported_to_the_core_says() {
    let v = View::crashed();
    assert_eq!((v.phase, v.status, v.notice), (Phase::Failed, Some(Msg::CallFailed), Some(Msg::Crashed)));
    let mut s = caller_in_call();
    s.feed(Input::Crashed);
    let w = s.view();
    assert_eq!((w.phase, w.status, w.notice), (v.phase, v.status, v.notice));
}
