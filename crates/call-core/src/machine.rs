//! The call state machine: inputs in, effects out, time passed in.
//!
//! The shell feeds every browser event as an [`Input`] together with the
//! current time, then drains [`Effect`]s with [`Call::poll_effect`] and
//! performs them; results of asynchronous work (a promise that resolved)
//! come back as further inputs. After each batch the shell renders
//! [`Call::view`]. Nothing here blocks, sleeps or touches a browser API, so
//! every rule of PROTOCOL.md is tested natively below.

use alloc::collections::VecDeque;
use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;

use crate::channel::{self, Channel, Incoming, MutedState};
use crate::command::{parse_flags, parse_fragment, Command, Flags, Fragment};
use crate::ice::{parse_ice_servers, server_kinds, CandidateInit, CandidateType, IceServer, IceWait, OFFER_BY_MS};
use crate::payload::decode_sdp_payload;
use crate::text::Msg;
use crate::view::{Dev, Phase, Route, View};

/// How long `getIceServers()` may take before we go on without servers.
/// Hosts answer from memory in milliseconds; a stuck promise must not stall
/// the call (today's page waits forever).
pub const ICE_SERVERS_TIMEOUT_MS: u64 = 2000;
/// After the remote description is applied, the connection must come up
/// within this time or the call is reported as failed. Chromium's own ICE
/// checks give up after about 30 s; a person waits no longer than this.
pub const CONNECT_TIMEOUT_MS: u64 = 20_000;
/// A failure message stays on screen this long before `endCall` closes the
/// page (Desktop closes the window at once on `endCall`).
pub const FAILURE_LINGER_MS: u64 = 3000;
/// After the connection reports `disconnected`, wait this long before
/// restarting ICE: Chromium's consent checks often recover a short gap by
/// themselves, and a restart for a 2 s hiccup would only add a flicker
/// (the Android client waits ~3 s too; PROTOCOL.md section 5).
pub const DISCONNECT_GRACE_MS: u64 = 3000;
/// An ICE restart that has not reconnected after this long is retried
/// (Android: ~8 s per attempt).
pub const RESTART_ATTEMPT_MS: u64 = 8000;
/// How long a restart offer may wait for its candidates (see
/// `hold_restart_offer`).
pub const HELD_OFFER_MS: u64 = 1000;
/// Restart attempts before the call is reported as lost (Android: 3).
pub const MAX_RESTARTS: u32 = 3;
/// How often the selected candidate pair and the quality statistics are
/// looked up in a call that is going well while nobody looks at the
/// details. Each look-up is a `getStats` (a few ms of the main thread) and
/// in a steady call the page has nothing else to do but the timer, so it
/// is rare (BENCHMARKS.md, cost of a call).
pub const ROUTE_POLL_MS: u64 = 10_000;
/// … and while the quality is not graded yet or not good, or the person
/// has the details open: then the numbers should follow the network.
pub const ROUTE_POLL_FAST_MS: u64 = 2000;
/// Outgoing video cap on a relayed path: the TURN server carries every
/// byte and is shared by many users (chatmail relays); 800 kbit/s is still
/// a sharp 640×480 picture in VP8.
pub const RELAY_VIDEO_KBPS: u32 = 800;
/// Outgoing video cap with the `lowData` flag.
pub const LOW_DATA_VIDEO_KBPS: u32 = 200;
/// At caps up to this the picture is also sent at half width and height:
/// at full size and 200 kbit/s VP8 stays sharp but stutters.
pub const HALF_SIZE_KBPS: u32 = 300;

/// A cap on the outgoing video (`Effect::LimitVideo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoCap {
    pub kbps: u32,
    /// Send at half width and height (`scaleResolutionDownBy: 2`).
    pub half_size: bool,
}

impl VideoCap {
    pub fn new(kbps: u32) -> VideoCap {
        VideoCap { kbps, half_size: kbps <= HALF_SIZE_KBPS }
    }
}
/// The ring-back tone: 425 Hz, 1 s on, 4 s off (the European ring-back
/// cadence the original page used).
pub const RINGBACK_HZ: f32 = 425.0;
pub const RINGBACK_ON_MS: u32 = 1000;
pub const RINGBACK_OFF_MS: u32 = 4000;

/// Which members of `window.calls` the host provides.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HostApi {
    pub present: bool,
    pub start_call: bool,
    pub accept_call: bool,
    pub end_call: bool,
    pub get_ice_servers: bool,
}

impl HostApi {
    /// A host with everything.
    pub const FULL: HostApi =
        HostApi { present: true, start_call: true, accept_call: true, end_call: true, get_ice_servers: true };
}

/// A button the person pressed (or its keyboard shortcut).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Button {
    Answer,
    /// End, or Decline while prompting.
    End,
    Mic,
    Cam,
    /// Start or stop sharing the screen.
    Screen,
    /// The connection quality indicator: shows or hides its details.
    Quality,
}

/// `RTCPeerConnection.connectionState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnState {
    New,
    Connecting,
    Connected,
    Disconnected,
    Failed,
    Closed,
}

/// What getUserMedia produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Media {
    pub audio: bool,
    pub video: bool,
}

/// A timer the machine asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timer {
    IceServers,
    IceWait,
    Connect,
    EndAfterFailure,
    Route,
    /// The grace period after `disconnected`; the number tells stale
    /// timers from the current one (timers cannot be cancelled).
    Grace(u32),
    /// An ICE restart attempt ran out of time.
    Restart(u32),
    /// A held restart offer goes out now at the latest.
    SendHeldOffer(u32),
}

/// Which host method receives the local description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostCall {
    StartCall,
    AcceptCall,
}

/// Something that happened outside the machine.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// The page has loaded. `webrtc`: `RTCPeerConnection` exists.
    Started { search: String, hash: String, host: HostApi, webrtc: bool },
    HashChanged(String),
    /// `getIceServers()` returned or resolved to this value; `Err` when it
    /// threw, rejected or gave something that is not a string.
    IceServers(Result<String, ()>),
    /// Result of [`Effect::AcquireMedia`]; `Err` when getUserMedia failed.
    Media(Result<Media, ()>),
    /// Whether a camera exists (from `enumerateDevices`).
    CameraPresent(bool),
    /// Result of [`Effect::StartCamera`].
    CameraStarted(bool),
    /// The local description is set (after CreateOffer or CreateAnswer).
    LocalDescriptionSet,
    /// The remote description is applied.
    RemoteDescriptionSet,
    /// A peer connection operation failed: creating it, an offer/answer,
    /// or applying a description.
    PeerError,
    Candidate(CandidateInit),
    GatheringComplete,
    Connection(ConnState),
    ChannelOpen(Channel),
    ChannelClosed(Channel),
    ChannelMessage(Channel, String),
    /// The device's network changed (`online`, connection type change).
    NetworkChanged,
    /// Our end of the selected candidate pair has an address the device
    /// no longer has (the answer to `CheckAddress`, sent only then).
    AddressGone,
    /// Remote video frames arrive (`true`) or stopped (`false`).
    RemoteVideo(bool),
    Route(Route),
    /// The browser can share the screen (`getDisplayMedia` exists).
    CanShareScreen(bool),
    /// Screen capture started (`true`) or was refused or cancelled.
    ScreenStarted(bool),
    /// The shared screen's track ended (the browser's own "Stop sharing").
    ScreenEnded,
    /// A `getStats` sample, taken with each route query.
    Stats(crate::quality::Sample),
    Click(Button),
    Timer(Timer),
    /// The shell caught a panic or an unexpected exception.
    Crashed,
}

/// Something the shell must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    LoadIceServers,
    /// Capture the microphone, and the camera if `video`.
    AcquireMedia { video: bool },
    /// Create the peer connection with an audio and a video transceiver and
    /// the negotiated channels. `video`: the video transceiver is used
    /// (sendrecv); otherwise it is inactive (`disableVideoCompletely`).
    CreatePeer { servers: Vec<IceServer>, relay_only: bool, video: bool },
    /// Create an offer and set it as local description; `ice_restart`: with
    /// new ICE credentials (`restartIce()`), for a renegotiation.
    CreateOffer { ice_restart: bool },
    CreateAnswer,
    /// Apply a remote description; as callee, also attach our tracks to the
    /// transceivers the offer created.
    SetRemote { offer: bool, sdp: String },
    /// Call the host with the current local description's SDP.
    HandToHost(HostCall),
    /// Send the current local description on the `renegotiation` channel
    /// (`{"type":"offer"|"answer","sdp":…}`).
    SendDescription,
    /// `window.calls.endCall()`.
    EndCall,
    AddCandidate(Option<CandidateInit>),
    Send(Channel, String),
    SetMic(bool),
    StartCamera,
    StopCamera,
    SetTimer(Timer, u64),
    QueryRoute,
    /// Find out whether our end of the selected candidate pair still has
    /// its address; answer `AddressGone` if not, nothing otherwise.
    CheckAddress,
    /// Ask for a screen to share (`getDisplayMedia`); the shell sends it
    /// on the video sender in place of the camera when it comes.
    StartScreen,
    /// Stop sharing: the camera (if on) goes back on the video sender.
    StopScreen,
    /// Cap the outgoing video (`None`: lift the cap, full size).
    LimitVideo(Option<VideoCap>),
    /// Close the peer connection and stop all capture.
    ClosePeer,
    Log(String),
}

/// State of ICE restarts over the `renegotiation` channel.
#[derive(Debug, Default)]
struct Restart {
    /// Attempts since the connection was last up.
    attempts: u32,
    /// Tells current timers from stale ones.
    generation: u32,
    /// A renegotiation offer/answer exchange is under way: the next local
    /// description goes to the channel, not to the host.
    negotiating: bool,
    /// Caller: a restart offer is set locally but not sent yet. It waits
    /// for the new candidates (see `hold_restart_offer`).
    offer_held: bool,
    /// Tells the current held offer's timer from stale ones.
    held: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Caller,
    Callee,
}

/// The whole state of one call page.
#[derive(Debug)]
pub struct Call {
    flags: Flags,
    host: HostApi,
    phase: Phase,
    role: Option<Role>,
    notice: Option<Msg>,
    failure: Option<Msg>,
    effects: VecDeque<Effect>,

    /// Offer waiting for the person to press Answer.
    pending_offer: Option<String>,
    servers: Option<Vec<IceServer>>,
    servers_requested: bool,
    media_requested: bool,
    /// Whether the getUserMedia request under way includes the camera.
    media_try_video: bool,
    media: Option<Media>,
    camera_present: bool,
    mic: Dev,
    cam: Dev,

    peer_created: bool,
    local_set: bool,
    ice_wait: Option<IceWait>,
    handed_over: bool,
    answer_in_flight: bool,
    remote_set: bool,
    connected_once: bool,
    trickle_open: bool,
    trickle_out: Vec<String>,
    muted_open: bool,
    /// The peer has channel 5 (the Android client and this page do; the
    /// deployed TypeScript page does not): restarts can be negotiated.
    reneg_open: bool,

    /// Last reported connection state.
    conn: ConnState,
    /// ICE restart bookkeeping (PROTOCOL.md section 5).
    restart: Restart,
    remote_video_live: bool,
    remote_muted: Option<MutedState>,
    route: Route,
    /// `endCall` was sent; it must go out at most once.
    end_called: bool,
    /// When the connection first came up: the call timer counts from here.
    connected_at: Option<u64>,
    can_share_screen: bool,
    /// Our screen is on the video sender.
    sharing: bool,
    /// The outgoing video cap last asked of the shell (`None`: no cap).
    video_cap: Option<u32>,
    last_sample: Option<crate::quality::Sample>,
    quality: Option<crate::quality::Quality>,
    /// The person opened the quality details.
    details: bool,
    /// When the command came that our description answers (`#startCall`,
    /// the answer): the ICE wait ends by `OFFER_BY_MS` after it.
    asked_at: Option<u64>,
}

impl Call {
    /// A page that has not started yet; feed [`Input::Started`] first.
    pub fn new() -> Call {
        Call {
            flags: Flags::default(),
            host: HostApi::default(),
            phase: Phase::Idle,
            role: None,
            notice: None,
            failure: None,
            effects: VecDeque::new(),
            pending_offer: None,
            servers: None,
            servers_requested: false,
            media_requested: false,
            media_try_video: false,
            media: None,
            camera_present: false,
            mic: Dev::None,
            cam: Dev::None,
            peer_created: false,
            local_set: false,
            ice_wait: None,
            handed_over: false,
            answer_in_flight: false,
            remote_set: false,
            connected_once: false,
            trickle_open: false,
            trickle_out: Vec::new(),
            muted_open: false,
            reneg_open: false,
            conn: ConnState::New,
            restart: Restart::default(),
            remote_video_live: false,
            remote_muted: None,
            route: Route::Unknown,
            end_called: false,
            connected_at: None,
            video_cap: None,
            can_share_screen: false,
            sharing: false,
            last_sample: None,
            quality: None,
            details: false,
            asked_at: None,
        }
    }

    /// The next thing to do, in order.
    pub fn poll_effect(&mut self) -> Option<Effect> {
        self.effects.pop_front()
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    pub fn flags(&self) -> Flags {
        self.flags
    }

    /// When media first flowed (the first `Connected`), on the clock of
    /// `handle`; the call timer shows the time since. Kept through
    /// reconnections and after the end (the final duration).
    pub fn connected_at(&self) -> Option<u64> {
        self.connected_at
    }

    fn out(&mut self, e: Effect) {
        self.effects.push_back(e);
    }

    fn log(&mut self, s: impl Into<String>) {
        self.out(Effect::Log(s.into()));
    }

    fn is_over(&self) -> bool {
        matches!(self.phase, Phase::Ended | Phase::Failed)
    }

    /// Feeds one input at time `now` (milliseconds, monotonic).
    pub fn handle(&mut self, now: u64, input: Input) {
        if self.is_over() {
            let end_now = input == Input::Timer(Timer::EndAfterFailure) || input == Input::Click(Button::End);
            if self.phase == Phase::Failed && end_now {
                self.end_call();
            }
            return;
        }
        match input {
            Input::Started { search, hash, host, webrtc } => self.start(now, &search, &hash, host, webrtc),
            Input::HashChanged(hash) => self.fragment(now, &hash),
            Input::IceServers(r) => self.ice_servers(now, r),
            Input::Media(r) => self.media_result(now, r),
            Input::CameraPresent(p) => self.camera_present = p,
            Input::CameraStarted(ok) => {
                self.cam = if ok { Dev::On } else { Dev::Off };
                if !ok {
                    self.notice = Some(Msg::CameraUnavailable);
                } else if self.notice == Some(Msg::CameraUnavailable) {
                    self.notice = None;
                }
                self.send_muted_state();
            }
            // Once the call has connected, every local description is a
            // renegotiation one and goes over channel 5. (Routing by
            // `negotiating` lost descriptions whose exchange a restart
            // timer or an earlier exchange had meanwhile reset: fuzzing.)
            Input::LocalDescriptionSet if self.handed_over && self.connected_once => {
                if self.role == Some(Role::Callee) {
                    self.out(Effect::SendDescription);
                    self.renegotiated();
                } else {
                    self.hold_restart_offer();
                }
            }
            Input::LocalDescriptionSet => {
                self.local_set = true;
                self.check_ice_wait(now);
            }
            Input::RemoteDescriptionSet => self.remote_set_ok(now),
            Input::PeerError => self.peer_error(now),
            Input::Candidate(c) => self.candidate(now, c),
            Input::GatheringComplete => {
                self.send_held_offer();
                if let Some(w) = &mut self.ice_wait {
                    w.on_complete();
                }
                if self.handed_over {
                    self.trickle("null".to_owned());
                }
                self.check_ice_wait(now);
            }
            Input::Connection(s) => self.connection(now, s),
            Input::ChannelOpen(ch) => self.channel_open(ch),
            Input::ChannelClosed(ch) => {
                // The peer closed its connection (hang-up): the SCTP stream
                // closes at once, long before ICE notices.
                // (A channel lost with the connection is not a hang-up.)
                if ch == Channel::MutedState && self.phase == Phase::InCall && self.conn == ConnState::Connected {
                    self.end(self.peer_gone());
                }
            }
            Input::ChannelMessage(ch, text) => self.message(now, ch, &text),
            Input::NetworkChanged => {
                if self.connected_once {
                    self.log("network changed");
                    self.begin_restart(now);
                }
            }
            // The path cannot come back by itself: no need to wait for
            // the grace period (a desktop browser tells the page nothing
            // when an address changes; this is how we find out).
            Input::AddressGone => {
                if self.connected_once && self.conn != ConnState::Connected && self.restart.attempts == 0 && self.in_call() {
                    self.log("our address is gone");
                    self.begin_restart(now);
                }
            }
            Input::RemoteVideo(live) => self.remote_video_live = live,
            Input::Route(r) => {
                self.route = r;
                self.limit_video();
            }
            Input::CanShareScreen(can) => self.can_share_screen = can,
            Input::ScreenStarted(ok) => {
                self.sharing = ok && self.in_call();
                if ok && !self.sharing {
                    self.out(Effect::StopScreen); // the call moved on meanwhile
                }
                self.send_muted_state();
            }
            Input::ScreenEnded => {
                if self.sharing {
                    self.sharing = false;
                    self.out(Effect::StopScreen);
                    self.send_muted_state();
                }
            }
            Input::Stats(cur) => {
                if let Some(prev) = self.last_sample.replace(cur) {
                    let expected = self.remote_muted.is_none_or(|m| m.audio_enabled || m.video_enabled);
                    if let Some(q) = crate::quality::assess(&prev, &cur, expected) {
                        self.quality = Some(q);
                    }
                }
            }
            Input::Click(b) => self.click(now, b),
            Input::Timer(t) => self.timer(now, t),
            Input::Crashed => self.fail(Msg::Crashed),
        }
    }

    fn start(&mut self, now: u64, search: &str, hash: &str, host: HostApi, webrtc: bool) {
        self.flags = parse_flags(search);
        self.host = host;
        if !host.present {
            self.failure = Some(Msg::NoHost);
            self.phase = Phase::Failed;
            return;
        }
        if !webrtc {
            return self.fail(Msg::NoWebRtc);
        }
        // Fetching the servers reveals nothing to anyone (the host answers
        // from memory), so it happens at once: the outgoing call, or the
        // answer, then need not wait for it.
        self.request_servers(now);
        self.fragment(now, hash);
    }

    fn request_servers(&mut self, _now: u64) {
        if self.servers_requested {
            return;
        }
        self.servers_requested = true;
        if self.host.get_ice_servers {
            self.out(Effect::LoadIceServers);
            self.out(Effect::SetTimer(Timer::IceServers, ICE_SERVERS_TIMEOUT_MS));
        } else {
            self.servers = Some(Vec::new());
            self.notice = Some(Msg::IceServersUnavailable);
        }
    }

    fn fragment(&mut self, now: u64, hash: &str) {
        match parse_fragment(hash) {
            Fragment::Empty => {}
            Fragment::Unknown => {
                let head: String = hash.chars().take(40).collect();
                self.log(["ignored unknown command: ", &head].concat());
            }
            Fragment::Command(c) => self.command(now, c),
        }
    }

    fn command(&mut self, now: u64, c: Command) {
        match c {
            Command::StartCall => {
                if self.role.is_some() || self.phase == Phase::Incoming {
                    return self.log("ignored #startCall: a call is already under way");
                }
                self.role = Some(Role::Caller);
                self.phase = Phase::Connecting;
                self.asked_at = Some(now);
                self.request_media(!self.flags.no_outgoing_video_initially);
                self.progress(now);
            }
            Command::OfferIncomingCall(p) | Command::AcceptCall(p) if self.role.is_some() => {
                let _ = p;
                self.log("ignored incoming offer: a call is already under way");
            }
            Command::OfferIncomingCall(p) => {
                if let Some(sdp) = self.decode(&p) {
                    // A new command replaces a pending prompt.
                    self.pending_offer = Some(sdp);
                    self.phase = Phase::Incoming;
                }
            }
            Command::AcceptCall(p) => {
                if let Some(sdp) = self.decode(&p) {
                    self.pending_offer = Some(sdp);
                    self.answer(now);
                }
            }
            Command::OnAnswer(p) => {
                if self.role != Some(Role::Caller) || !self.handed_over {
                    return self.log("ignored #onAnswer: no offer is waiting for an answer");
                }
                if self.remote_set || self.answer_in_flight {
                    return self.log("ignored #onAnswer: already answered");
                }
                if let Some(sdp) = self.decode(&p) {
                    self.answer_in_flight = true;
                    self.out(Effect::SetRemote { offer: false, sdp });
                }
            }
        }
    }

    fn decode(&mut self, payload: &str) -> Option<String> {
        match decode_sdp_payload(payload) {
            Ok(sdp) => {
                if matches!(self.notice, Some(Msg::BadPayload(_))) {
                    self.notice = None;
                }
                Some(sdp)
            }
            Err(e) => {
                self.notice = Some(Msg::BadPayload(e));
                self.log([Msg::BadPayload(e).en(), " (", e.as_str(), ")"].concat());
                None
            }
        }
    }

    /// The person answered (or the host did, with `#acceptCall`).
    fn answer(&mut self, now: u64) {
        if self.pending_offer.is_none() {
            return;
        }
        self.role = Some(Role::Callee);
        self.phase = Phase::Connecting;
        self.asked_at = Some(now);
        self.request_media(!self.flags.no_outgoing_video_initially);
        self.progress(now);
    }

    fn request_media(&mut self, video: bool) {
        if self.media_requested {
            return;
        }
        self.media_requested = true;
        self.media_try_video = video && !self.flags.disable_video_completely;
        self.out(Effect::AcquireMedia { video: self.media_try_video });
    }

    fn media_result(&mut self, now: u64, r: Result<Media, ()>) {
        match r {
            Ok(m) => {
                if self.media_try_video && !m.video {
                    self.notice = Some(Msg::CameraUnavailable);
                }
                if !m.audio {
                    self.notice = Some(if m.video { Msg::NoMicrophone } else { Msg::NoMedia });
                }
                self.set_media(m);
            }
            // The camera may be missing or refused while the microphone
            // works: try again with audio alone before giving up on both.
            Err(()) if self.media_try_video => {
                self.media_try_video = false;
                self.notice = Some(Msg::CameraUnavailable);
                self.out(Effect::AcquireMedia { video: false });
                return;
            }
            Err(()) => {
                self.notice = Some(Msg::NoMedia);
                self.set_media(Media { audio: false, video: false });
            }
        }
        self.progress(now);
    }

    fn set_media(&mut self, m: Media) {
        self.media = Some(m);
        self.mic = if m.audio { Dev::On } else { Dev::None };
        self.cam = if m.video { Dev::On } else { Dev::Off };
        if m.video {
            self.camera_present = true;
        }
    }

    fn ice_servers(&mut self, now: u64, r: Result<String, ()>) {
        // Once the peer exists the list can no longer matter; before that a
        // good list replaces the empty one the timeout put in place.
        if self.peer_created || (self.servers.is_some() && r.is_err()) {
            return;
        }
        if self.notice == Some(Msg::IceServersUnavailable) {
            self.notice = None;
        }
        let servers = match r.map_err(|_| ()).and_then(|t| parse_ice_servers(&t).map_err(|_| ())) {
            Ok((s, dropped)) => {
                if dropped {
                    self.notice = Some(Msg::SomeIceServersIgnored);
                }
                s
            }
            Err(()) => {
                self.notice = Some(Msg::IceServersUnavailable);
                Vec::new()
            }
        };
        self.servers = Some(servers);
        self.progress(now);
    }

    /// Moves the setup forward as far as what we have allows.
    fn progress(&mut self, now: u64) {
        let Some(role) = self.role else { return };
        if self.peer_created || self.media.is_none() {
            return;
        }
        let Some(servers) = self.servers.clone() else { return };
        self.peer_created = true;
        let mut wait = IceWait::new(server_kinds(&servers), now);
        if let Some(at) = self.asked_at {
            wait.cap(at + OFFER_BY_MS);
        }
        self.ice_wait = Some(wait);
        if let Some(w) = &self.ice_wait {
            let delay = w.deadline().saturating_sub(now);
            self.out(Effect::SetTimer(Timer::IceWait, delay));
        }
        let video = !self.flags.disable_video_completely;
        self.out(Effect::CreatePeer { servers, relay_only: self.flags.relay_only, video });
        match role {
            Role::Caller => self.out(Effect::CreateOffer { ice_restart: false }),
            Role::Callee => {
                if let Some(sdp) = self.pending_offer.take() {
                    self.out(Effect::SetRemote { offer: true, sdp });
                }
            }
        }
    }

    fn remote_set_ok(&mut self, now: u64) {
        if self.restart.negotiating && self.handed_over && self.remote_set {
            // A renegotiation: the callee answers on the channel; for the
            // caller the exchange is complete.
            match self.role {
                Some(Role::Callee) => self.out(Effect::CreateAnswer),
                _ => self.renegotiated(),
            }
            return;
        }
        self.remote_set = true;
        self.answer_in_flight = false;
        match self.role {
            Some(Role::Callee) if !self.local_set => self.out(Effect::CreateAnswer),
            Some(Role::Caller) => {
                self.phase = Phase::Connecting;
                self.arm_connect_timer(now);
            }
            _ => {}
        }
    }

    fn arm_connect_timer(&mut self, _now: u64) {
        if !self.connected_once {
            self.out(Effect::SetTimer(Timer::Connect, CONNECT_TIMEOUT_MS));
        }
    }

    fn peer_error(&mut self, _now: u64) {
        if self.restart.negotiating && self.connected_once {
            // A failed renegotiation step is retried by the attempt timer.
            self.restart.negotiating = false;
            return self.log("renegotiation step failed");
        }
        if self.answer_in_flight {
            // The answer was refused by the browser; a later one may work.
            self.answer_in_flight = false;
            self.notice = Some(Msg::AnswerRejected);
            return;
        }
        self.fail(Msg::SetupFailed);
    }

    fn candidate(&mut self, now: u64, c: CandidateInit) {
        if !self.handed_over {
            if let (Some(w), Some(t)) = (&mut self.ice_wait, CandidateType::of_candidate(&c.candidate)) {
                let before = w.deadline();
                w.on_candidate(t, now);
                let after = w.deadline();
                // A burst window shortened the wait: wake up when it closes.
                if after < before && !w.is_ready(now) {
                    self.out(Effect::SetTimer(Timer::IceWait, after.saturating_sub(now)));
                }
            }
            self.check_ice_wait(now);
        } else if !self.restart.offer_held {
            // Gathered after the SDP left: only the data channel can carry it.
            self.trickle(c.to_json());
        }
    }

    fn trickle(&mut self, msg: String) {
        if self.trickle_open {
            self.out(Effect::Send(Channel::IceTrickling, msg));
        } else {
            self.trickle_out.push(msg);
        }
    }

    fn check_ice_wait(&mut self, now: u64) {
        if self.handed_over || !self.local_set {
            return;
        }
        let Some(w) = &self.ice_wait else { return };
        if !w.is_ready(now) {
            return;
        }
        let waited = w.elapsed(now);
        let (call, ok) = match self.role {
            Some(Role::Caller) => (HostCall::StartCall, self.host.start_call),
            _ => (HostCall::AcceptCall, self.host.accept_call),
        };
        if !ok {
            return self.fail(Msg::HostIncomplete);
        }
        self.handed_over = true;
        self.log(["ICE wait ", &crate::json::itoa(waited), " ms"].concat());
        self.out(Effect::HandToHost(call));
        match self.role {
            Some(Role::Caller) => self.phase = Phase::Ringing,
            _ => self.arm_connect_timer(now),
        }
    }

    fn connection(&mut self, now: u64, s: ConnState) {
        if !self.peer_created {
            return;
        }
        self.conn = s;
        match s {
            ConnState::Connected => {
                if !self.connected_once {
                    self.connected_once = true;
                    self.connected_at = Some(now);
                    self.out(Effect::QueryRoute);
                    self.out(Effect::SetTimer(Timer::Route, ROUTE_POLL_FAST_MS));
                } else {
                    // The path may have changed (relay after a restart).
                    self.out(Effect::QueryRoute);
                }
                self.phase = Phase::InCall;
                self.send_held_offer();
                self.restart.attempts = 0;
                // `negotiating` stays: an exchange under way must finish,
                // or the answer (or offer) it waits for would be dropped.
                self.restart.generation += 1; // cancels pending timers
                if self.notice == Some(Msg::AnswerRejected) {
                    self.notice = None;
                }
            }
            ConnState::Disconnected if self.connected_once => {
                self.restart.generation += 1;
                let g = self.restart.generation;
                self.out(Effect::SetTimer(Timer::Grace(g), DISCONNECT_GRACE_MS));
                self.out(Effect::CheckAddress);
            }
            ConnState::Failed if self.connected_once => self.begin_restart(now),
            ConnState::Failed => self.fail(Msg::ConnectFailed),
            ConnState::Closed if self.connected_once => self.end(self.peer_gone()),
            _ => {}
        }
    }

    /// What to say when the other side closed the connection. Only a peer
    /// that reached us on channel 3 (every peer sends its state there once
    /// its side is up) had a working call to hang up; one that never did
    /// may have failed (a wrong DTLS fingerprint ends the caller before its
    /// channels open), so the page says only what it knows.
    fn peer_gone(&self) -> Msg {
        if self.remote_muted.is_some() {
            Msg::PeerHungUp
        } else {
            Msg::ConnectionClosed
        }
    }

    /// Caps the outgoing video for the relay or the `lowData` flag, when
    /// the right cap changed.
    fn limit_video(&mut self) {
        let cap = if self.flags.low_data {
            Some(LOW_DATA_VIDEO_KBPS)
        } else if self.route == Route::Relay {
            Some(RELAY_VIDEO_KBPS)
        } else {
            None
        };
        if cap != self.video_cap && self.peer_created {
            self.video_cap = cap;
            self.out(Effect::LimitVideo(cap.map(VideoCap::new)));
        }
    }

    /// Caller: a restart offer is set locally. It is sent when its new
    /// candidates are gathered (they ride in its SDP), when the connection
    /// is back, or after `HELD_OFFER_MS`, whichever comes first. Sent at
    /// once, it leaves over the old path: after an address change that
    /// path is dead, the message is lost, and SCTP retries it only with
    /// exponential backoff, because the callee, lacking our new ICE
    /// password, cannot acknowledge anything until it has the offer
    /// (measured: the call was lost). A moment later our new candidates
    /// reach the callee's, and the offer gets through.
    fn hold_restart_offer(&mut self) {
        self.restart.offer_held = true;
        self.restart.held = self.restart.held.wrapping_add(1);
        self.out(Effect::SetTimer(Timer::SendHeldOffer(self.restart.held), HELD_OFFER_MS));
    }

    fn send_held_offer(&mut self) {
        if self.restart.offer_held {
            self.restart.offer_held = false;
            self.out(Effect::SendDescription);
        }
    }

    /// A renegotiation exchange is complete. If the connection never went
    /// down (a proactive restart after a network change, or the peer's
    /// request), the call simply goes on; otherwise `Connected` will come.
    fn renegotiated(&mut self) {
        self.restart.negotiating = false;
        if self.conn == ConnState::Connected {
            self.restart.attempts = 0;
            self.restart.generation += 1;
            self.phase = Phase::InCall;
        }
    }

    /// Starts an ICE restart attempt: the caller sends an offer with new
    /// ICE credentials, the callee asks the caller to (only the caller
    /// offers, as the Android client does).
    fn begin_restart(&mut self, _now: u64) {
        if self.restart.attempts >= MAX_RESTARTS {
            return self.fail(Msg::ConnectionLost);
        }
        self.restart.attempts += 1;
        self.restart.generation += 1;
        if self.conn != ConnState::Connected {
            self.phase = Phase::Reconnecting;
        }
        let g = self.restart.generation;
        self.out(Effect::SetTimer(Timer::Restart(g), RESTART_ATTEMPT_MS));
        if !self.reneg_open {
            // A peer without channel 5 cannot take a restart offer (and a
            // local offer nobody answers would wedge the connection's
            // signaling state). ICE may still recover by itself; the
            // attempt timers bound the wait, and "failed" is final.
            if self.conn == ConnState::Failed {
                return self.fail(Msg::ConnectionLost);
            }
            return self.log("the peer cannot renegotiate; waiting for ICE to recover");
        }
        self.log(["ICE restart attempt ", &crate::json::itoa(self.restart.attempts as u64)].concat());
        match self.role {
            Some(Role::Caller) => {
                self.restart.negotiating = true;
                self.out(Effect::CreateOffer { ice_restart: true });
            }
            _ => {
                let m = channel::Renegotiation::RestartRequest.to_json();
                self.out(Effect::Send(Channel::Renegotiation, m));
            }
        }
    }

    /// A message on the `renegotiation` channel.
    fn renegotiation(&mut self, now: u64, m: channel::Renegotiation) {
        use channel::Renegotiation as R;
        if !self.connected_once {
            return self.log("renegotiation before the call connected: ignored");
        }
        match (self.role, m) {
            (Some(Role::Caller), R::RestartRequest) => {
                if !self.restart.negotiating {
                    self.begin_restart(now);
                }
            }
            (Some(Role::Caller), R::Answer(sdp)) if self.restart.negotiating => {
                self.out(Effect::SetRemote { offer: false, sdp });
            }
            (Some(Role::Callee), R::Offer(sdp)) => {
                self.restart.negotiating = true;
                self.out(Effect::SetRemote { offer: true, sdp });
            }
            _ => self.log("unexpected renegotiation message: ignored"),
        }
    }

    fn channel_open(&mut self, ch: Channel) {
        match ch {
            Channel::IceTrickling => {
                self.trickle_open = true;
                for m in core::mem::take(&mut self.trickle_out) {
                    self.out(Effect::Send(Channel::IceTrickling, m));
                }
            }
            Channel::MutedState => {
                self.muted_open = true;
                self.send_muted_state();
            }
            Channel::Renegotiation => self.reneg_open = true,
        }
    }

    fn muted_state(&self) -> MutedState {
        // A shared screen is video the other side should see.
        MutedState { audio_enabled: self.mic == Dev::On, video_enabled: self.cam == Dev::On || self.sharing }
    }

    fn send_muted_state(&mut self) {
        if self.muted_open {
            let m = self.muted_state().to_json();
            self.out(Effect::Send(Channel::MutedState, m));
        }
    }

    fn message(&mut self, now: u64, ch: Channel, text: &str) {
        match channel::parse_message(ch, text) {
            None => {
                let head: String = text.chars().take(60).collect();
                self.log(["ignored malformed message on ", ch.label(), ": ", &head].concat());
            }
            Some(Incoming::Candidate(c)) => self.out(Effect::AddCandidate(Some(c))),
            Some(Incoming::EndOfCandidates) => self.out(Effect::AddCandidate(None)),
            Some(Incoming::Muted(m)) => self.remote_muted = Some(m),
            Some(Incoming::Renegotiation(r)) => self.renegotiation(now, r),
        }
    }

    fn click(&mut self, now: u64, b: Button) {
        match b {
            Button::Answer if self.phase == Phase::Incoming => self.answer(now),
            // Not before any call exists (a stray Shift+E on an idle page).
            Button::End if self.phase != Phase::Idle => self.end(Msg::CallEnded),
            Button::Mic if self.mic != Dev::None => {
                self.mic = if self.mic == Dev::On { Dev::Off } else { Dev::On };
                self.out(Effect::SetMic(self.mic == Dev::On));
                self.send_muted_state();
            }
            Button::Cam if self.cam_available() => {
                if self.cam == Dev::On {
                    self.cam = Dev::Off;
                    self.out(Effect::StopCamera);
                    self.send_muted_state();
                } else {
                    // Reported on once the camera actually delivers.
                    self.out(Effect::StartCamera);
                }
            }
            Button::Quality if self.in_call() && self.quality.is_some() => {
                self.details = !self.details;
                if self.details {
                    // Fresh numbers now; then the fast polling (`timer`).
                    self.out(Effect::QueryRoute);
                }
            }
            Button::Screen if self.screen_available() => {
                if self.sharing {
                    self.sharing = false;
                    self.out(Effect::StopScreen);
                    self.send_muted_state();
                } else {
                    self.out(Effect::StartScreen);
                }
            }
            _ => {}
        }
    }

    fn in_call(&self) -> bool {
        matches!(self.phase, Phase::InCall | Phase::Reconnecting)
    }

    /// Sharing needs the API, a call, and video allowed at all.
    fn screen_available(&self) -> bool {
        self.can_share_screen && self.in_call() && !self.flags.disable_video_completely
    }

    fn cam_available(&self) -> bool {
        !self.flags.disable_video_completely && self.camera_present && self.media.is_some()
    }

    fn timer(&mut self, now: u64, t: Timer) {
        match t {
            Timer::IceServers if self.servers.is_none() => {
                self.log("getIceServers did not answer in time");
                self.ice_servers(now, Err(()));
            }
            Timer::IceWait => self.check_ice_wait(now),
            Timer::Connect if !self.connected_once && self.remote_set => self.fail(Msg::ConnectFailed),
            Timer::Route if self.connected_once => {
                self.out(Effect::QueryRoute);
                let settled = self.quality.is_some_and(|q| q.level == crate::quality::Level::Good) && !self.details;
                self.out(Effect::SetTimer(Timer::Route, if settled { ROUTE_POLL_MS } else { ROUTE_POLL_FAST_MS }));
            }
            Timer::SendHeldOffer(n) if n == self.restart.held => self.send_held_offer(),
            Timer::Grace(g) | Timer::Restart(g)
                if g == self.restart.generation && self.conn != ConnState::Connected =>
            {
                self.restart.negotiating = false;
                self.begin_restart(now);
            }
            _ => {}
        }
    }

    /// The call ends normally: our hang-up, a decline, or the peer's.
    fn end(&mut self, why: Msg) {
        self.phase = Phase::Ended;
        self.failure = Some(why);
        self.out(Effect::ClosePeer);
        self.end_call();
    }

    /// Tells the host the call is over, once: Desktop closes the window.
    fn end_call(&mut self) {
        if self.host.end_call && !self.end_called {
            self.end_called = true;
            self.out(Effect::EndCall);
        }
    }

    /// The call cannot go on: show why, then end it cleanly.
    fn fail(&mut self, why: Msg) {
        self.phase = Phase::Failed;
        self.failure = Some(why);
        self.log(why.en());
        self.out(Effect::ClosePeer);
        self.out(Effect::SetTimer(Timer::EndAfterFailure, FAILURE_LINGER_MS));
    }

    /// What the screen shows now.
    pub fn view(&self) -> View {
        let p = self.phase;
        let live = matches!(p, Phase::Connecting | Phase::Ringing | Phase::InCall | Phase::Reconnecting);
        let in_call = matches!(p, Phase::InCall | Phase::Reconnecting);
        let status = match p {
            Phase::Idle => None,
            Phase::Incoming => Some(Msg::IncomingCall),
            Phase::Connecting => Some(Msg::Connecting),
            Phase::Ringing => Some(Msg::Ringing),
            Phase::InCall => None,
            Phase::Reconnecting => Some(Msg::Reconnecting),
            Phase::Ended => Some(self.failure.unwrap_or(Msg::CallEnded)),
            Phase::Failed => Some(Msg::CallFailed),
        };
        let notice = match p {
            Phase::Failed => self.failure,
            Phase::Ended => None,
            _ => self.notice,
        };
        let remote_video = in_call
            && !self.flags.disable_video_completely
            && self.remote_video_live
            && self.remote_muted.is_none_or(|m| m.video_enabled);
        View {
            phase: p,
            status,
            notice,
            answer: p == Phase::Incoming,
            end: p != Phase::Idle && !(p == Phase::Failed && self.failure == Some(Msg::NoHost)),
            mic: if live { self.mic } else { Dev::None },
            cam: if live && self.cam_available() { self.cam } else { Dev::None },
            remote_video,
            remote_mic: self.remote_muted.map(|m| m.audio_enabled),
            avatar: matches!(p, Phase::Incoming | Phase::Ringing | Phase::Connecting) || (in_call && !remote_video),
            route: if in_call { self.route } else { Route::Unknown },
            quality: if in_call { self.quality } else { None },
            details: in_call && self.details && self.quality.is_some(),
            screen: match (self.screen_available(), self.sharing) {
                (false, _) => Dev::None,
                (true, true) => Dev::On,
                (true, false) => Dev::Off,
            },
            ringback: p == Phase::Ringing,
            end_label: if p == Phase::Incoming { Msg::Decline } else { Msg::EndCall },
            mic_label: if self.mic == Dev::On { Msg::MuteMic } else { Msg::UnmuteMic },
            cam_label: if self.cam == Dev::On { Msg::CameraOff } else { Msg::CameraOn },
        }
    }
}

impl Default for Call {
    fn default() -> Self {
        Call::new()
    }
}
