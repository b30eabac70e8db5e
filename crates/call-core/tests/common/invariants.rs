//! The invariants every step of a call keeps, whatever comes in (from
//! PROTOCOL.md and the machine's own promises). One copy, used by the
//! property test in `tests/machine.rs` and by the `machine` fuzz target
//! (`fuzz/src/lib.rs` includes this file); each adds the checks that need
//! its own model of the browser.

use call_core::command::Flags;
use call_core::machine::CONNECT_TIMEOUT_MS;
use call_core::{Dev, Effect, HostApi, HostCall, Input, Msg, Phase, Route, View};

/// What has happened so far in one call, for the invariants that span
/// steps.
#[derive(Debug, Default)]
pub struct Watch {
    pub host: HostApi,
    pub end_calls: u32,
    pub close_peers: u32,
    pub create_peers: u32,
    pub hand_overs: u32,
    pub first_offers: u32,
    pub server_loads: u32,
    pub media_requests: u32,
    pub remote_shown: u32,
    /// Something was done with a call before the person was asked (or as
    /// part of the prompt): media, the peer, the offer.
    pub used_call: bool,
    /// The prompt's toggles as last shown (`None`: no prompt).
    pub prompt_choice: Option<(Dev, Dev)>,
    /// The microphone was chosen off on the prompt, and the muted state
    /// has not gone out yet.
    pub owe_muted: bool,
}

fn over(p: Phase) -> bool {
    matches!(p, Phase::Ended | Phase::Failed)
}

macro_rules! ensure {
    ($ok:expr, $($why:tt)+) => {
        if !$ok {
            return Err(format!($($why)+));
        }
    };
}

impl Watch {
    pub fn new(host: HostApi) -> Watch {
        Watch { host, ..Watch::default() }
    }

    /// Checks one step: `input` turned `before` into `after` with
    /// `effects`, at `now`; `next` is the call's `poll_timeout()` after it.
    #[allow(clippy::too_many_arguments)]
    pub fn step(
        &mut self,
        flags: Flags,
        input: &Input,
        before: &View,
        after: &View,
        effects: &[Effect],
        now: u64,
        next: Option<u64>,
    ) -> Result<(), String> {
        if over(before.phase) {
            ensure!(effects.iter().all(|e| *e == Effect::EndCall), "effects after the call was over: {effects:?}");
            ensure!(after == before, "the view changed after the call was over");
        }
        if let Some(at) = next {
            ensure!(at > now || *input != Input::Timeout, "woken at {now}, the call still names {at}");
            ensure!(at <= now + CONNECT_TIMEOUT_MS, "a deadline {} ms away", at - now);
        }
        if !self.host.present {
            ensure!(effects.is_empty(), "effects without a host: {effects:?}");
        }
        if *input == Input::Click(call_core::Button::Mic) && before.phase != Phase::Incoming {
            self.owe_muted = false; // unmuted in the call before channel 3 opened
        }
        for (i, e) in effects.iter().enumerate() {
            match e {
                Effect::EndCall => {
                    self.end_calls += 1;
                    ensure!(self.end_calls == 1, "EndCall twice");
                    ensure!(over(after.phase), "EndCall while the call goes on");
                    ensure!(self.host.end_call, "EndCall without host.endCall");
                    let rest = &effects[i + 1..];
                    ensure!(rest.iter().all(|e| matches!(e, Effect::Log(_))), "effects after EndCall: {rest:?}");
                }
                Effect::ClosePeer => {
                    self.close_peers += 1;
                    ensure!(self.close_peers == 1, "ClosePeer twice");
                    ensure!(over(after.phase), "ClosePeer while the call goes on");
                    let rest = &effects[i + 1..];
                    ensure!(
                        rest.iter().all(|e| matches!(e, Effect::Log(_) | Effect::EndCall)),
                        "effects after ClosePeer: {rest:?}"
                    );
                }
                Effect::CreatePeer { relay_only, video, .. } => {
                    self.create_peers += 1;
                    ensure!(self.create_peers == 1, "CreatePeer twice");
                    ensure!(*relay_only == flags.relay_only, "relayOnly flag not honoured");
                    ensure!(*video != flags.disable_video_completely, "video transceiver vs flag");
                }
                Effect::HandToHost(h) => {
                    self.hand_overs += 1;
                    ensure!(self.hand_overs == 1, "HandToHost twice");
                    let has = match h {
                        HostCall::StartCall => self.host.start_call,
                        HostCall::AcceptCall => self.host.accept_call,
                    };
                    ensure!(has, "{h:?} without the host method");
                }
                // The peer's media is shown once our description is with
                // the host (before, it only slowed the description down).
                Effect::ShowRemote => {
                    self.remote_shown += 1;
                    ensure!(self.remote_shown == 1, "ShowRemote twice");
                    ensure!(self.hand_overs == 1, "ShowRemote before the description was handed over");
                }
                Effect::CreateOffer { ice_restart: false } => {
                    self.first_offers += 1;
                    ensure!(self.first_offers == 1, "two first offers");
                }
                Effect::LoadIceServers => {
                    self.server_loads += 1;
                    ensure!(self.server_loads == 1, "getIceServers twice");
                    ensure!(self.host.get_ice_servers, "getIceServers without the host method");
                }
                Effect::AcquireMedia { video } => {
                    self.media_requests += 1;
                    ensure!(self.media_requests <= 2, "getUserMedia more than twice");
                    // The camera as the flags say, unless the person chose
                    // on the prompt; never against their choice.
                    let chosen = self.prompt_choice.map(|(_, cam)| cam);
                    let camera_ok = !flags.disable_video_completely
                        && chosen != Some(Dev::Off)
                        && (!flags.no_outgoing_video_initially || chosen == Some(Dev::On));
                    ensure!(!video || camera_ok, "the camera asked for against the flags or the choice ({chosen:?})");
                    self.owe_muted = self.prompt_choice.is_some_and(|(mic, _)| mic == Dev::Off);
                }
                Effect::Send(call_core::Channel::MutedState, m) if self.owe_muted => {
                    ensure!(m.contains(r#""audioEnabled":false"#), "muted on the prompt, but told the peer {m}");
                    self.owe_muted = false;
                }
                Effect::Log(l) => ensure!(l.len() <= 512, "a log of {} bytes", l.len()),
                _ => {}
            }
            if matches!(
                e,
                Effect::AcquireMedia { .. }
                    | Effect::SetRemote { .. }
                    | Effect::CreateOffer { .. }
                    | Effect::CreateAnswer
                    | Effect::HandToHost(_)
            ) {
                self.used_call = true;
            }
        }
        // Privacy: while the prompt shows, nothing of the offer was used,
        // no camera or microphone is on, nothing is gathered (a connection
        // object may exist: without a description it gathers and sends
        // nothing).
        if after.phase == Phase::Incoming {
            ensure!(!self.used_call, "a call was set up while the prompt shows");
            // A control that disappears (the camera unplugged) leaves the
            // choice made with it standing.
            let last = |i: fn(&(Dev, Dev)) -> Dev| self.prompt_choice.as_ref().map_or(Dev::None, i);
            let mic = if after.mic == Dev::None { last(|c| c.0) } else { after.mic };
            let cam = if after.cam == Dev::None { last(|c| c.1) } else { after.cam };
            self.prompt_choice = Some((mic, cam));
        }
        // Once a call was set up there is no way back to the start.
        if self.used_call {
            ensure!(!matches!(after.phase, Phase::Idle | Phase::Incoming), "back to {:?}", after.phase);
        }
        check_view(after, flags)
    }
}

/// The view agrees with its phase.
pub fn check_view(v: &View, flags: Flags) -> Result<(), String> {
    let p = v.phase;
    // The screen waits only while a call's description is made.
    ensure!(!v.hold || p == Phase::Connecting, "the screen held in {p:?}");
    let live = matches!(p, Phase::Connecting | Phase::Ringing | Phase::InCall | Phase::Reconnecting);
    let in_call = matches!(p, Phase::InCall | Phase::Reconnecting);
    ensure!(v.answer == (p == Phase::Incoming), "Answer button outside the prompt: {v:?}");
    ensure!((v.end_label == Msg::Decline) == (p == Phase::Incoming), "Decline label: {v:?}");
    ensure!(v.ringback == (p == Phase::Ringing), "ring-back: {v:?}");
    let status_ok = match p {
        Phase::Idle | Phase::InCall => v.status.is_none(),
        Phase::Incoming => v.status == Some(Msg::IncomingCall),
        Phase::NotReceived => v.status == Some(Msg::CallNotReceived) && v.notice.is_none() && v.avatar,
        Phase::Connecting => v.status == Some(Msg::Connecting),
        Phase::Ringing => v.status == Some(Msg::Ringing),
        Phase::Reconnecting => v.status == Some(Msg::Reconnecting),
        Phase::Ended => v.status.is_some() && v.notice.is_none(),
        Phase::Failed => v.status == Some(Msg::CallFailed) && v.notice.is_some(),
    };
    ensure!(status_ok, "status/notice: {v:?}");
    // The prompt's toggles are a choice, not devices (see `Watch::step`).
    let prompt = p == Phase::Incoming;
    ensure!(live || prompt || (v.mic == Dev::None && v.cam == Dev::None), "device controls outside a call: {v:?}");
    ensure!(!prompt || v.mic != Dev::None, "no microphone toggle on the prompt: {v:?}");
    ensure!(!prompt || !v.switch_camera, "switch camera on the prompt: {v:?}");
    ensure!((v.end_label == Msg::Close) == (p == Phase::NotReceived), "Close label: {v:?}");
    ensure!(!v.remote_video || in_call, "remote video outside a call: {v:?}");
    ensure!(!in_call || v.avatar != v.remote_video, "avatar and remote video: {v:?}");
    ensure!(in_call || v.route == Route::Unknown, "route outside a call: {v:?}");
    ensure!(in_call || v.quality.is_none(), "quality outside a call: {v:?}");
    ensure!(in_call || v.screen == Dev::None, "screen sharing outside a call: {v:?}");
    // The End button is there from the first command on (not when there
    // is no host to end anything with).
    ensure!(!v.end || p != Phase::Idle, "End button while idle: {v:?}");
    ensure!(v.end || matches!(p, Phase::Idle | Phase::Failed), "no End button: {v:?}");
    if flags.disable_video_completely {
        let none = !v.remote_video && v.cam == Dev::None && v.screen == Dev::None;
        ensure!(none, "video with disableVideoCompletely: {v:?}");
    }
    if v.mic != Dev::None {
        let label = if v.mic == Dev::On { Msg::MuteMic } else { Msg::UnmuteMic };
        ensure!(v.mic_label == label, "mic label: {v:?}");
    }
    Ok(())
}
