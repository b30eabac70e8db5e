//! Helpers for driving `call_core::Call` in integration tests: a simulated
//! shell with a clock and the timers the machine asked for, fixtures (SDPs,
//! ICE server lists, candidates), builders that bring a call to a given
//! stage, and the views each stage is expected to show; the generator of
//! random input sequences both random drivers share (`drive.rs`).

#![allow(dead_code)]

use call_core::machine::{CONNECT_TIMEOUT_MS, ICE_SERVERS_TIMEOUT_MS, ROUTE_POLL_FAST_MS};
use call_core::Wake;
use call_core::IceServer;
use call_core::{
    Call, CandidateInit, ConnState, Dev, Effect, HostApi, HostCall, Input, Media, Msg, Phase, Route, View,
};

// ---------------------------------------------------------------- fixtures

pub mod drive;
mod fixtures;
pub mod invariants;
pub use fixtures::*;

/// The time the page starts at. Not zero, so that a delay computed from an
/// absolute time (or the other way round) shows up as a wrong value.
pub const T0: u64 = 100_000;

pub fn offer_hash(sdp: &str) -> String {
    format!("#offerIncomingCall={}", b64(sdp))
}

pub fn accept_hash(sdp: &str) -> String {
    format!("#acceptCall={}", b64(sdp))
}

pub fn answer_hash(sdp: &str) -> String {
    format!("#onAnswer={}", b64(sdp))
}

pub fn turn_servers() -> Vec<IceServer> {
    vec![IceServer {
        urls: vec!["turn:203.0.113.5:3478".into()],
        username: Some("1735000000".into()),
        credential: Some("s3cret".into()),
    }]
}

pub fn stun_servers() -> Vec<IceServer> {
    vec![IceServer { urls: vec!["stun:203.0.113.5:3478".into()], username: None, credential: None }]
}

/// What the `iceTrickling` channel must carry for `c` (the deployed format).
pub fn cand_json(c: &CandidateInit) -> String {
    format!(r#"{{"candidate":"{}","sdpMid":"0","sdpMLineIndex":0}}"#, c.candidate)
}

pub const AV: Media = Media { audio: true, video: true };
pub const AUDIO: Media = Media { audio: true, video: false };

// ---------------------------------------------------------------- effects

/// Everything the machine wants done, in order.
pub fn drain(call: &mut Call) -> Vec<Effect> {
    let mut v = Vec::new();
    while let Some(e) = call.poll_effect() {
        v.push(e);
    }
    v
}

/// The effects without `Log` (log wording is not part of the contract).
pub fn quiet(effects: &[Effect]) -> Vec<Effect> {
    effects.iter().filter(|e| !matches!(e, Effect::Log(_))).cloned().collect()
}

pub fn logs(effects: &[Effect]) -> Vec<&str> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Log(s) => Some(s.as_str()),
            _ => None,
        })
        .collect()
}

pub fn count(effects: &[Effect], pred: impl Fn(&Effect) -> bool) -> usize {
    effects.iter().filter(|e| pred(e)).count()
}

/// The effects of a failure: shown, the peer closed (and `endCall` later:
/// see [`Sim::failed_at`]).
pub fn failure_effects() -> Vec<Effect> {
    vec![Effect::ClosePeer]
}

// ---------------------------------------------------------------- the simulated shell

/// A call plus a clock, like the browser shell: the call is woken
/// (`Input::Timeout`) only at the time it named (`poll_timeout`).
pub struct Sim {
    pub call: Call,
    pub now: u64,
    /// Every effect so far.
    pub history: Vec<Effect>,
}

impl Sim {
    pub fn new() -> Sim {
        Sim { call: Call::new(), now: T0, history: Vec::new() }
    }

    /// Feeds `input` at the current time and returns what came out.
    pub fn feed(&mut self, input: Input) -> Vec<Effect> {
        // Woken, the call has done all that was due; and it never asks to
        // be woken later than its longest timeout.
        let woken = input == Input::Timeout;
        self.call.handle(self.now, input);
        let effects = drain(&mut self.call);
        if let Some(at) = self.call.poll_timeout() {
            assert!(at > self.now || !woken, "woken at {}, the call still names {at}", self.now);
            assert!(at <= self.now + CONNECT_TIMEOUT_MS, "a deadline {} ms away", at - self.now);
        }
        self.history.extend(effects.iter().cloned());
        effects
    }

    /// Moves the clock forward by `ms` WITHOUT waking the call, then feeds.
    pub fn after(&mut self, ms: u64, input: Input) -> Vec<Effect> {
        self.now += ms;
        self.feed(input)
    }

    /// Advances the clock to `until`, waking the call at each deadline it
    /// names on the way. Returns the effects.
    pub fn run_until(&mut self, until: u64) -> Vec<Effect> {
        let mut out = Vec::new();
        while let Some(at) = self.call.poll_timeout().filter(|at| *at <= until) {
            self.now = self.now.max(at);
            out.extend(self.feed(Input::Timeout));
        }
        self.now = self.now.max(until);
        out
    }

    pub fn run_for(&mut self, ms: u64) -> Vec<Effect> {
        self.run_until(self.now + ms)
    }

    /// When the deadline `w` falls due (the ICE wait also while our
    /// description is still being made, when it is not yet a deadline).
    pub fn due(&self, w: Wake) -> Option<u64> {
        match w {
            Wake::IceWait => self.call.ice_wait_deadline(),
            _ => self.call.deadlines().find(|(x, _)| *x == w).map(|(_, at)| at),
        }
    }

    /// How long from now until `w`.
    pub fn wait(&self, w: Wake) -> Option<u64> {
        self.due(w).map(|at| at - self.now)
    }

    /// The view, with the call timer checked here (it runs exactly while
    /// the call is in progress, from its first connection) and left out
    /// of the comparison.
    pub fn view(&self) -> View {
        let v = self.call.view();
        let running = matches!(v.phase, Phase::InCall | Phase::Reconnecting);
        assert_eq!(v.clock, if running { self.call.connected_at() } else { None }, "the call timer: {v:?}");
        View { clock: None, ..v }
    }

    pub fn phase(&self) -> Phase {
        self.call.view().phase
    }

    pub fn hash(&mut self, h: &str) -> Vec<Effect> {
        self.feed(Input::HashChanged(h.into()))
    }

    pub fn click(&mut self, b: call_core::Button) -> Vec<Effect> {
        self.feed(Input::Click(b))
    }
}

impl Default for Sim {
    fn default() -> Self {
        Sim::new()
    }
}

pub fn started(search: &str, hash: &str, host: HostApi) -> (Sim, Vec<Effect>) {
    let mut s = Sim::new();
    let e = s.feed(Input::Started { search: search.into(), hash: hash.into(), host, webrtc: true });
    (s, e)
}

/// The effects of `Started` when the host has `getIceServers` (which gets
/// `ICE_SERVERS_TIMEOUT_MS`).
pub fn load_servers() -> Vec<Effect> {
    vec![Effect::LoadIceServers]
}

/// `getIceServers()` was called just now.
pub fn assert_servers_asked(s: &Sim) {
    assert_eq!(s.wait(Wake::IceServers), Some(ICE_SERVERS_TIMEOUT_MS));
}

// ---------------------------------------------------------------- builders

/// A caller whose peer exists and whose offer is being created
/// (servers from `servers_json`), then camera and microphone captured and
/// put on the senders: the offer did not wait for them.
pub fn caller_with(search: &str, servers_json: &str) -> Sim {
    let (mut s, _) = started(search, "#startCall", HostApi::FULL);
    let e = s.after(5, Input::IceServers(Ok(servers_json.into())));
    assert_eq!(count(&e, |e| matches!(e, Effect::CreatePeer { .. })), 1, "{e:?}");
    s.feed(Input::CameraPresent(true));
    let e = s.feed(Input::Media(Ok(AV)));
    assert_eq!(e, attach(), "no renegotiation: the tracks go on the existing senders");
    s
}

pub fn create_peer(servers: Vec<call_core::IceServer>) -> Effect {
    Effect::CreatePeer { servers, relay_only: false, video: true }
}

/// What Answer (or `#acceptCall`) does on a prompt whose peer was made
/// when the servers came: capture media and, side by side, apply the
/// offer.
pub fn answer_effects(offer: &str) -> Vec<Effect> {
    vec![use_media(offer), Effect::SetRemote { offer: true, sdp: offer.into() }, Effect::AcquireMedia { video: true }]
}

/// Which media sections of `offer` carry the call (before each offer is
/// applied).
pub fn use_media(offer: &str) -> Effect {
    Effect::UseMedia(call_core::sdp::plan(offer))
}

/// Handing our description to the host; the peer's tracks may be shown
/// from then on (not before: see `Effect::ShowRemote`).
pub fn hand_over(call: HostCall) -> Vec<Effect> {
    vec![Effect::HandToHost(call), Effect::ShowRemote]
}

/// The effects that put captured camera and microphone on the senders.
pub fn attach() -> Vec<Effect> {
    vec![Effect::SendAudio, Effect::SendVideo(call_core::VideoSource::Camera)]
}

/// A caller whose offer went to the host (TURN, relay candidate found).
pub fn caller_ringing() -> Sim {
    let mut s = caller_with("", TURN_JSON);
    s.after(10, Input::LocalDescriptionSet);
    let e = s.after(50, Input::Candidate(cand("relay", 1)));
    assert_eq!(quiet(&e), hand_over(HostCall::StartCall));
    assert_eq!(s.phase(), Phase::Ringing);
    s
}

/// A caller whose answer is applied; ICE is connecting.
pub fn caller_connecting() -> Sim {
    let mut s = caller_ringing();
    let e = s.after(3000, Input::HashChanged(answer_hash(ANSWER)));
    assert_eq!(e, vec![Effect::SetRemote { offer: false, sdp: ANSWER.into() }]);
    let e = s.after(5, Input::RemoteDescriptionSet);
    assert_eq!(e, vec![]);
    assert_eq!(s.wait(Wake::Connect), Some(CONNECT_TIMEOUT_MS));
    s
}

pub fn caller_in_call() -> Sim {
    let mut s = caller_connecting();
    let e = s.after(300, Input::Connection(ConnState::Connected));
    assert_eq!(e, vec![Effect::QueryRoute]);
    assert_eq!(s.wait(Wake::Route), Some(ROUTE_POLL_FAST_MS));
    assert_eq!(s.phase(), Phase::InCall);
    // The peer speaks channel 5 (this page, Android).
    assert_eq!(s.feed(Input::ChannelOpen(call_core::Channel::Renegotiation)), vec![]);
    s
}

/// A callee showing the incoming-call prompt for `OFFER`; the host's ICE
/// servers (TURN) have arrived.
pub fn callee_prompt(search: &str) -> Sim {
    let (mut s, e) = started(search, &offer_hash(OFFER), HostApi::FULL);
    assert_eq!(e, load_servers());
    s.feed(Input::CameraPresent(true));
    let e = s.after(5, Input::IceServers(Ok(TURN_JSON.into())));
    let made = matches!(&e[..], [Effect::CreatePeer { servers, .. }] if *servers == turn_servers());
    assert!(made, "the connection is made at once (it gathers nothing): {e:?}");
    s
}

/// A callee that answered; the answer went to the host, ICE is connecting.
pub fn callee_handed_over() -> Sim {
    let mut s = callee_prompt("");
    let e = s.after(2000, Input::Click(call_core::Button::Answer));
    assert_eq!(e, answer_effects(OFFER), "the offer is applied at once");
    assert_eq!(s.after(30, Input::Media(Ok(AV))), vec![], "no senders before the offer is applied");
    let mut want = attach();
    want.push(Effect::CreateAnswer);
    assert_eq!(s.after(5, Input::RemoteDescriptionSet), want);
    s.after(5, Input::LocalDescriptionSet);
    let e = s.after(40, Input::Candidate(cand("relay", 2)));
    assert_eq!(quiet(&e), hand_over(HostCall::AcceptCall));
    assert_eq!(s.wait(Wake::Connect), Some(CONNECT_TIMEOUT_MS));
    s
}

pub fn callee_in_call() -> Sim {
    let mut s = callee_handed_over();
    let e = s.after(500, Input::Connection(ConnState::Connected));
    assert_eq!(e, vec![Effect::QueryRoute]);
    assert_eq!(s.wait(Wake::Route), Some(ROUTE_POLL_FAST_MS));
    assert_eq!(s.feed(Input::ChannelOpen(call_core::Channel::Renegotiation)), vec![]);
    s
}

// ---------------------------------------------------------------- views

/// What a live call (microphone and camera on, nothing reported by the
/// peer, no warning) shows in `phase`.
pub fn live_view(phase: Phase) -> View {
    View {
        phase,
        status: match phase {
            Phase::Connecting => Some(Msg::Connecting),
            Phase::Ringing => Some(Msg::Ringing),
            Phase::Reconnecting => Some(Msg::Reconnecting),
            _ => None,
        },
        notice: None,
        answer: false,
        end: true,
        mic: Dev::On,
        cam: Dev::On,
        remote_video: false,
        remote_mic: None,
        avatar: true,
        route: Route::Unknown,
        quality: None,
        details: false,
        screen: Dev::None,
        ringback: phase == Phase::Ringing,
        clock: None,
        devices: false,
        switch_camera: false,
        end_label: Msg::EndCall,
        mic_label: Msg::MuteMic,
        cam_label: Msg::CameraOff,
        hold: false,
    }
}

/// Before media exists: no device controls yet.
pub fn setup_view(phase: Phase) -> View {
    View { mic: Dev::None, cam: Dev::None, mic_label: Msg::UnmuteMic, cam_label: Msg::CameraOn, ..live_view(phase) }
}

/// The incoming-call prompt, a camera known: its toggles (the choice for
/// the start of the call) read microphone and camera on.
pub fn prompt_view() -> View {
    View { status: Some(Msg::IncomingCall), answer: true, end_label: Msg::Decline, ..live_view(Phase::Incoming) }
}

/// The prompt with no camera known (or video disabled): no camera toggle.
pub fn prompt_view_no_camera() -> View {
    View { cam: Dev::None, cam_label: Msg::CameraOn, ..prompt_view() }
}

/// The screen of a damaged incoming offer: the avatar, the words, Close.
pub fn not_received_view() -> View {
    View {
        phase: Phase::NotReceived,
        status: Some(Msg::CallNotReceived),
        answer: false,
        end_label: Msg::Close,
        ..setup_view(Phase::Idle)
    }
}

/// A call that failed with `why` (media had been captured: labels say
/// what a press would do, but the controls are hidden).
pub fn failed_view(why: Msg, mic_on: bool, cam_on: bool) -> View {
    View {
        phase: Phase::Failed,
        status: Some(Msg::CallFailed),
        notice: Some(why),
        answer: false,
        end: true,
        mic: Dev::None,
        cam: Dev::None,
        remote_video: false,
        remote_mic: None,
        avatar: false,
        route: Route::Unknown,
        quality: None,
        details: false,
        screen: Dev::None,
        ringback: false,
        clock: None,
        devices: false,
        switch_camera: false,
        end_label: Msg::EndCall,
        mic_label: if mic_on { Msg::MuteMic } else { Msg::UnmuteMic },
        cam_label: if cam_on { Msg::CameraOff } else { Msg::CameraOn },
        hold: false,
    }
}

pub fn ended_view(why: Msg, mic_on: bool, cam_on: bool) -> View {
    View { phase: Phase::Ended, status: Some(why), notice: None, ..failed_view(why, mic_on, cam_on) }
}
