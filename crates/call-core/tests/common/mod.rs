//! Helpers for driving `call_core::Call` in integration tests: a simulated
//! shell with a clock and the timers the machine asked for, fixtures (SDPs,
//! ICE server lists, candidates), builders that bring a call to a given
//! stage, and the views each stage is expected to show.

#![allow(dead_code)]

use call_core::machine::{CONNECT_TIMEOUT_MS, ICE_SERVERS_TIMEOUT_MS, ROUTE_POLL_FAST_MS};
use call_core::payload::base64_encode;
use call_core::IceServer;
use call_core::{
    Call, CandidateInit, ConnState, Dev, Effect, HostApi, HostCall, Input, Media, Msg, Phase, Route, Timer, View,
};

// ---------------------------------------------------------------- fixtures

/// The time the page starts at. Not zero, so that a delay computed from an
/// absolute time (or the other way round) shows up as a wrong value.
pub const T0: u64 = 100_000;

/// An offer as Chromium makes it (shortened). The `a=x-note` line makes the
/// base64 form contain `+`, `/` and `=` padding, the characters hosts encode
/// differently.
pub const OFFER: &str = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
a=group:BUNDLE 0 1 2\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n\
a=ice-ufrag:oFfR\r\na=ice-pwd:offerpassword0123456789\r\n\
a=fingerprint:sha-256 AA:BB:CC:DD\r\na=setup:actpass\r\na=mid:0\r\na=x-note:>>>???>\r\n";

pub const OFFER_2: &str = "v=0\r\no=- 99 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ice-ufrag:sEcd\r\na=ice-pwd:secondofferpassword01\r\n\
a=fingerprint:sha-256 11:22:33:44\r\na=setup:actpass\r\na=mid:0\r\n";

pub const ANSWER: &str = "v=0\r\no=- 7 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ice-ufrag:aNsW\r\na=ice-pwd:answerpassword0123456\r\n\
a=fingerprint:sha-256 EE:FF:00:11\r\na=setup:active\r\na=mid:0\r\n";

pub const ANSWER_2: &str = "v=0\r\no=- 8 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ice-ufrag:aNs2\r\na=ice-pwd:answerpassword6543210\r\n\
a=fingerprint:sha-256 EE:FF:00:22\r\na=setup:active\r\na=mid:0\r\n";

/// Raw base64 with literal padding, as Desktop sends it.
pub fn b64(sdp: &str) -> String {
    base64_encode(sdp.as_bytes())
}

/// URL-encoded base64, as Android sends it.
pub fn b64_url_encoded(sdp: &str) -> String {
    b64(sdp).replace('+', "%2B").replace('/', "%2F").replace('=', "%3D")
}

pub fn offer_hash(sdp: &str) -> String {
    format!("#offerIncomingCall={}", b64(sdp))
}

pub fn accept_hash(sdp: &str) -> String {
    format!("#acceptCall={}", b64(sdp))
}

pub fn answer_hash(sdp: &str) -> String {
    format!("#onAnswer={}", b64(sdp))
}

/// The core's usual list: one TURN server with credentials.
pub const TURN_JSON: &str = r#"[{"urls":["turn:203.0.113.5:3478"],"username":"1735000000","credential":"s3cret"}]"#;
pub const STUN_JSON: &str = r#"[{"urls":"stun:203.0.113.5:3478"}]"#;

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

/// A gathered candidate of type `typ` (`host`, `srflx`, `relay`…), number `n`.
pub fn cand(typ: &str, n: u32) -> CandidateInit {
    CandidateInit {
        candidate: format!("candidate:{n} 1 udp 1677729535 203.0.113.{n} 5{n:04} typ {typ} generation 0"),
        sdp_mid: Some("0".into()),
        sdp_m_line_index: Some(0),
        username_fragment: None,
    }
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

/// The effects of a failure: shown, the peer closed, `endCall` later.
pub fn failure_effects() -> Vec<Effect> {
    vec![Effect::ClosePeer, Effect::SetTimer(Timer::EndAfterFailure, call_core::machine::FAILURE_LINGER_MS)]
}

// ---------------------------------------------------------------- the simulated shell

/// A call plus a clock and the timers it asked for, like the browser shell:
/// a timer fires only if the machine set it, once, when it falls due.
pub struct Sim {
    pub call: Call,
    pub now: u64,
    /// (due time, timer), in the order they were set.
    pub timers: Vec<(u64, Timer)>,
    /// Every effect so far.
    pub history: Vec<Effect>,
}

impl Sim {
    pub fn new() -> Sim {
        Sim { call: Call::new(), now: T0, timers: Vec::new(), history: Vec::new() }
    }

    /// Feeds `input` at the current time and returns what came out.
    pub fn feed(&mut self, input: Input) -> Vec<Effect> {
        self.call.handle(self.now, input);
        let effects = drain(&mut self.call);
        for e in &effects {
            if let Effect::SetTimer(t, delay) = e {
                self.timers.push((self.now + delay, *t));
            }
        }
        self.history.extend(effects.iter().cloned());
        effects
    }

    /// Moves the clock forward by `ms` WITHOUT firing timers, then feeds.
    pub fn after(&mut self, ms: u64, input: Input) -> Vec<Effect> {
        self.now += ms;
        self.feed(input)
    }

    /// Advances the clock to `until`, firing every timer that falls due on
    /// the way, in due order. Returns their effects.
    pub fn run_until(&mut self, until: u64) -> Vec<Effect> {
        let mut out = Vec::new();
        loop {
            let next =
                (0..self.timers.len()).filter(|&i| self.timers[i].0 <= until).min_by_key(|&i| (self.timers[i].0, i));
            let Some(i) = next else { break };
            let (due, t) = self.timers.remove(i);
            self.now = self.now.max(due);
            out.extend(self.feed(Input::Timer(t)));
        }
        self.now = self.now.max(until);
        out
    }

    pub fn run_for(&mut self, ms: u64) -> Vec<Effect> {
        self.run_until(self.now + ms)
    }

    /// When a pending timer of this kind falls due.
    pub fn due(&self, t: Timer) -> Option<u64> {
        self.timers.iter().filter(|(_, x)| *x == t).map(|(d, _)| *d).min()
    }

    pub fn view(&self) -> View {
        self.call.view()
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

/// The effects of `Started` when the host has `getIceServers`.
pub fn load_servers() -> Vec<Effect> {
    vec![Effect::LoadIceServers, Effect::SetTimer(Timer::IceServers, ICE_SERVERS_TIMEOUT_MS)]
}

// ---------------------------------------------------------------- builders

/// A caller whose peer exists and whose offer is being created
/// (servers from `servers_json`, camera and microphone captured).
pub fn caller_with(search: &str, servers_json: &str) -> Sim {
    let (mut s, _) = started(search, "#startCall", HostApi::FULL);
    s.after(5, Input::IceServers(Ok(servers_json.into())));
    s.feed(Input::CameraPresent(true));
    let e = s.after(20, Input::Media(Ok(AV)));
    assert_eq!(count(&e, |e| matches!(e, Effect::CreatePeer { .. })), 1, "{e:?}");
    s
}

/// A caller whose offer went to the host (TURN, relay candidate found).
pub fn caller_ringing() -> Sim {
    let mut s = caller_with("", TURN_JSON);
    s.after(10, Input::LocalDescriptionSet);
    let e = s.after(50, Input::Candidate(cand("relay", 1)));
    assert_eq!(quiet(&e), vec![Effect::HandToHost(HostCall::StartCall)]);
    assert_eq!(s.phase(), Phase::Ringing);
    s
}

/// A caller whose answer is applied; ICE is connecting.
pub fn caller_connecting() -> Sim {
    let mut s = caller_ringing();
    let e = s.after(3000, Input::HashChanged(answer_hash(ANSWER)));
    assert_eq!(e, vec![Effect::SetRemote { offer: false, sdp: ANSWER.into() }]);
    let e = s.after(5, Input::RemoteDescriptionSet);
    assert_eq!(e, vec![Effect::SetTimer(Timer::Connect, CONNECT_TIMEOUT_MS)]);
    s
}

pub fn caller_in_call() -> Sim {
    let mut s = caller_connecting();
    let e = s.after(300, Input::Connection(ConnState::Connected));
    assert_eq!(e, vec![Effect::QueryRoute, Effect::SetTimer(Timer::Route, ROUTE_POLL_FAST_MS)]);
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
    assert_eq!(s.after(5, Input::IceServers(Ok(TURN_JSON.into()))), vec![]);
    s
}

/// A callee that answered; the answer went to the host, ICE is connecting.
pub fn callee_handed_over() -> Sim {
    let mut s = callee_prompt("");
    assert_eq!(s.after(2000, Input::Click(call_core::Button::Answer)), vec![Effect::AcquireMedia { video: true }]);
    s.after(30, Input::Media(Ok(AV)));
    assert_eq!(s.after(5, Input::RemoteDescriptionSet), vec![Effect::CreateAnswer]);
    s.after(5, Input::LocalDescriptionSet);
    let e = s.after(40, Input::Candidate(cand("relay", 2)));
    assert_eq!(
        quiet(&e),
        vec![Effect::HandToHost(HostCall::AcceptCall), Effect::SetTimer(Timer::Connect, CONNECT_TIMEOUT_MS)]
    );
    s
}

pub fn callee_in_call() -> Sim {
    let mut s = callee_handed_over();
    let e = s.after(500, Input::Connection(ConnState::Connected));
    assert_eq!(e, vec![Effect::QueryRoute, Effect::SetTimer(Timer::Route, ROUTE_POLL_FAST_MS)]);
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
        end_label: Msg::EndCall,
        mic_label: Msg::MuteMic,
        cam_label: Msg::CameraOff,
    }
}

/// Before media exists: no device controls yet.
pub fn setup_view(phase: Phase) -> View {
    View { mic: Dev::None, cam: Dev::None, mic_label: Msg::UnmuteMic, cam_label: Msg::CameraOn, ..live_view(phase) }
}

/// The incoming-call prompt.
pub fn prompt_view() -> View {
    View { status: Some(Msg::IncomingCall), answer: true, end_label: Msg::Decline, ..setup_view(Phase::Incoming) }
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
        end_label: Msg::EndCall,
        mic_label: if mic_on { Msg::MuteMic } else { Msg::UnmuteMic },
        cam_label: if cam_on { Msg::CameraOff } else { Msg::CameraOn },
    }
}

pub fn ended_view(why: Msg, mic_on: bool, cam_on: bool) -> View {
    View { phase: Phase::Ended, status: Some(why), notice: None, ..failed_view(why, mic_on, cam_on) }
}
