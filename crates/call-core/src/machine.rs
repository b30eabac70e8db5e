//! The call state machine: inputs in, effects out, time passed in.
//!
//! The shell feeds every browser event as an [`Input`] together with the
//! current time, then drains [`Effect`]s with [`Call::poll_effect`] and
//! performs them; results of asynchronous work (a promise that resolved)
//! come back as further inputs. After each batch the shell renders
//! [`Call::view`] and arms one timer for [`Call::poll_timeout`], whose
//! expiry is [`Input::Timeout`] (the scheme of str0m: the core keeps its
//! deadlines, so there are no timers to cancel and no stale ones).
//!
//! Where the call is lives in [`crate::stage`]; the sub-machines with rules
//! of their own are [`crate::ice::IceWait`] (when our description may go
//! out), [`crate::restart`] (keeping a connected call alive) and
//! [`crate::media`] (our capture and controls). Nothing here blocks,
//! sleeps or touches a browser API: every rule of PROTOCOL.md is tested
//! natively in `tests/machine.rs`, and fuzzed (`fuzz/fuzz_targets/machine.rs`).

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;

use crate::channel::{self, Channel, Incoming};
use crate::guard::{Admit, Counts, Refused};
use crate::command::{parse_flags, parse_fragment, Command, Flags, Fragment};
use crate::ice::{parse_ice_servers, server_kinds, CandidateInit, CandidateType, IceServer, IceWait, OFFER_BY_MS};
use crate::media::{Capture, Local, Outcome as MediaOutcome};
use crate::payload::decode_sdp_payload;
use crate::restart::{Do, Exchange, Role, Wait};
use crate::stage::{Link, Live, Outcome, Over, Preparing, Setup, Side, Stage, Step};
use crate::text::Msg;
use crate::view::{Dev, Phase, Route, View};

/// How long `getIceServers()` may take before we go on without servers.
/// Hosts answer from memory in milliseconds; a stuck promise must not stall
/// the call (today's page waits forever).
pub const ICE_SERVERS_TIMEOUT_MS: u64 = 2000;
/// How long at most the screen keeps showing what it showed before a
/// command, while our description is made (`Setup::hold`): below the
/// 100 ms within which a change still reads as immediate, and longer than
/// a description without a TURN server takes (20–40 ms).
pub const SCREEN_HOLD_MS: u64 = 80;

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
    /// Opens or closes the device dialog.
    Devices,
}

/// A kind of device the person can pick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKind {
    Camera,
    Mic,
    Speaker,
}

/// Which camera to capture (`Effect::StartCamera`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Camera {
    /// The browser's default camera.
    Default,
    /// This device.
    Device(String),
    /// The camera facing this way (`user`, `environment`).
    Facing(&'static str),
}

/// What goes on the video sender and in our own preview.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoSource {
    Nothing,
    Camera,
    Screen,
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

/// What a deadline of the call is for (tests and the log name them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// `getIceServers()` gets no longer.
    IceServers,
    /// Our description goes to the host by now at the latest.
    IceWait,
    /// ICE must have connected by now.
    Connect,
    /// The failure message has shown long enough: `endCall`.
    EndAfterFailure,
    /// The next route and quality query.
    Route,
    /// The grace period after `disconnected` is over.
    Grace,
    /// An ICE restart attempt ran out of time.
    Restart,
    /// A held restart offer goes out now at the latest.
    HeldOffer,
    /// The screen shows the call now, described or not.
    Screen,
    /// A mute state or a restart offer that came faster than the peer's
    /// bounds allow (`crate::guard`) is taken now.
    Peer,
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
    /// The cameras' device ids, in the browser's order (empty before the
    /// person allowed the camera: ids are hidden until then).
    Cameras(Vec<String>),
    /// The person picked a device in the dialog.
    PickDevice(DeviceKind, String),
    /// The "switch camera" button, with what the current camera reports of
    /// itself (`facingMode`, `deviceId`).
    NextCamera { facing: Option<String>, device: Option<String> },
    /// Capping the outgoing video failed (no encoding yet, or refused).
    VideoLimitFailed,
    /// Putting a track on the video sender failed.
    SendVideoFailed,
    /// Result of [`Effect::StartCamera`].
    CameraStarted(bool),
    /// The local description is set (after CreateOffer or CreateAnswer).
    LocalDescriptionSet,
    /// The remote description is applied.
    RemoteDescriptionSet,
    /// A peer connection operation failed: creating it, an offer/answer,
    /// or applying a description.
    PeerError,
    /// The host's `startCall`/`acceptCall` threw (or there was no local
    /// description to give it).
    HostFailed,
    Candidate(CandidateInit),
    GatheringComplete,
    Connection(ConnState),
    ChannelOpen(Channel),
    ChannelClosed(Channel),
    ChannelMessage(Channel, String),
    /// A binary message on a channel (the protocol has none).
    BinaryMessage(Channel),
    /// The peer opened an in-band data channel of its own (the protocol
    /// has none); the shell holds it until `CloseForeignChannels`.
    ForeignChannel,
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
    /// The time [`Call::poll_timeout`] named has come (or passed).
    Timeout,
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
    /// Comes before each `SetRemote` of an offer: once it is applied, the
    /// transceivers of these mids carry the call (ours sending on them,
    /// theirs shown by `ShowRemote`) and every other audio or video
    /// transceiver is stopped, so the answer rejects it.
    UseMedia(crate::sdp::Plan),
    /// Close the data channels the peer opened (`Input::ForeignChannel`).
    CloseForeignChannels,
    /// Call the host with the current local description's SDP; a host
    /// that throws is reported as `Input::HostFailed`.
    HandToHost(HostCall),
    /// Send the current local description on the `renegotiation` channel
    /// (`{"type":"offer"|"answer","sdp":…}`).
    SendDescription,
    /// From now on, put the peer's tracks on the page's elements as they
    /// come (those that came already, at once). Not before our description
    /// is with the host: binding the first remote audio track starts the
    /// audio output, which held Chromium's main thread for 50–60 ms and,
    /// on a callee, the answer with it; no media can arrive before.
    ShowRemote,
    /// `window.calls.endCall()`.
    EndCall,
    AddCandidate(Option<CandidateInit>),
    Send(Channel, String),
    SetMic(bool),
    StartCamera(Camera),
    StopCamera,
    /// Capture the microphone with this device id; the new track replaces
    /// the old one on the audio sender (mute state carries over).
    StartMic(String),
    /// Route the remote audio to this speaker (`setSinkId`).
    SetSpeaker(String),
    /// Put this on the video sender (if the peer exists) and in our own
    /// preview; failures come back as `Input::SendVideoFailed`.
    SendVideo(VideoSource),
    /// Put our microphone's track on the audio sender (media that came
    /// after the transceivers, see `Call::attach_media`).
    SendAudio,
    QueryRoute,
    /// Find out whether our end of the selected candidate pair still has
    /// its address; answer `AddressGone` if not, nothing otherwise.
    CheckAddress,
    /// Ask for a screen to share (`getDisplayMedia`); the result comes
    /// back as `Input::ScreenStarted`.
    StartScreen,
    /// Stop the screen capture.
    StopScreen,
    /// Cap the outgoing video (`None`: lift the cap, full size); failures
    /// come back as `Input::VideoLimitFailed`.
    LimitVideo(Option<VideoCap>),
    /// Close the peer connection and stop all capture, including capture
    /// that completes later.
    ClosePeer,
    Log(String),
}

/// The host's ICE servers.
#[derive(Debug)]
enum Servers {
    /// `getIceServers()` was called; it gets until `until`.
    Waiting { until: u64 },
    /// The list to create the peer with (empty: none, or none usable).
    Ready(Vec<IceServer>),
    /// The peer was made with this list before any call was asked for
    /// (Desktop loads the page, then sends the command): an
    /// `RTCPeerConnection` without transceivers or a candidate pool, which
    /// gathers nothing and sends nothing until a description is set. The
    /// command then only describes.
    InPeer(Vec<IceServer>),
}

/// The whole state of one call page.
#[derive(Debug)]
pub struct Call {
    /// From `Started`: the page's flags and which host methods exist.
    flags: Flags,
    host: HostApi,
    stage: Stage,
    /// Requested at start, before any call exists (`None`: not yet).
    servers: Option<Servers>,
    /// Our capture and controls: they outlive every stage but `Idle`.
    local: Local,
    /// A warning under the status line; any stage may set or clear it.
    notice: Option<Msg>,
    effects: VecDeque<Effect>,
}

impl Call {
    /// A page that has not started yet; feed [`Input::Started`] first.
    pub fn new() -> Call {
        Call {
            flags: Flags::default(),
            host: HostApi::default(),
            stage: Stage::Idle,
            servers: None,
            local: Local::default(),
            notice: None,
            effects: VecDeque::new(),
        }
    }

    /// The next thing to do, in order.
    pub fn poll_effect(&mut self) -> Option<Effect> {
        self.effects.pop_front()
    }

    /// When the call next needs [`Input::Timeout`] (same clock as
    /// `handle`); always later than the last `handle`'s `now`.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.deadlines().map(|(_, at)| at).min()
    }

    /// Every pending deadline and what it is for.
    pub fn deadlines(&self) -> impl Iterator<Item = (Wake, u64)> {
        let before_peer = matches!(self.stage, Stage::Idle | Stage::NotReceived | Stage::Prompt { .. } | Stage::Preparing(_));
        let servers = match self.servers {
            Some(Servers::Waiting { until }) if before_peer => Some((Wake::IceServers, until)),
            _ => None,
        };
        let (a, b, c) = match &self.stage {
            Stage::Setup(Setup { step: Step::Gathering(w), hold, .. }) => {
                (Some((Wake::IceWait, w.deadline())), hold.map(|at| (Wake::Screen, at)), None)
            }
            Stage::Setup(Setup { hold: Some(at), .. }) => (Some((Wake::Screen, *at)), None, None),
            Stage::Setup(Setup { step: Step::Connecting { until }, .. }) => (Some((Wake::Connect, *until)), None, None),
            Stage::Live(l) => {
                let wait = l.restarts.deadline().map(|(w, at)| match w {
                    Wait::Grace => (Wake::Grace, at),
                    Wait::Attempt => (Wake::Restart, at),
                });
                (Some((Wake::Route, l.poll_at)), wait, l.restarts.held_until().map(|at| (Wake::HeldOffer, at)))
            }
            Stage::Over(Over { outcome: Outcome::Failed { linger: Some(at), .. }, .. }) => {
                (Some((Wake::EndAfterFailure, *at)), None, None)
            }
            _ => (None, None, None),
        };
        [servers, a, b, c, self.peer_deadline()].into_iter().flatten()
    }

    /// When something the peer sent faster than its bounds allow is taken
    /// (`Wake::Peer`): a mute state, or a restart offer once no exchange
    /// is under way.
    fn peer_deadline(&self) -> Option<(Wake, u64)> {
        let link = self.link_ref()?;
        let muted = link.late_muted.as_ref().map(|_| link.guard.channel_ready_at(Channel::MutedState));
        let reneg = link.late_reneg.as_ref().map(|_| link.guard.channel_ready_at(Channel::Renegotiation));
        let offer = match &self.stage {
            Stage::Live(l) if l.waiting_offer.is_some() && l.restarts.exchange() == Exchange::Idle => {
                Some(link.guard.offer_ready_at())
            }
            _ => None,
        };
        [muted, reneg, offer].into_iter().flatten().min().map(|at| (Wake::Peer, at))
    }

    /// What the peer's bounds applied and dropped in this call (shown in
    /// the debug panel); `None` before the peer connection is set up and
    /// after the call.
    pub fn peer_counts(&self) -> Option<Counts> {
        self.link_ref().map(|l| l.guard.counts())
    }

    /// When the ICE wait ends, from the moment the peer exists until our
    /// description goes to the host (a deadline only once the description
    /// is set: before, there is nothing to hand over).
    pub fn ice_wait_deadline(&self) -> Option<u64> {
        match &self.stage {
            Stage::Setup(Setup { step: Step::Describing(w) | Step::Gathering(w), .. }) => Some(w.deadline()),
            _ => None,
        }
    }

    pub fn phase(&self) -> Phase {
        match &self.stage {
            Stage::Idle => Phase::Idle,
            Stage::NotReceived => Phase::NotReceived,
            Stage::Prompt { .. } => Phase::Incoming,
            Stage::Preparing(_) => Phase::Connecting,
            Stage::Setup(s) => match s.step {
                Step::Ringing | Step::Answering => Phase::Ringing,
                _ => Phase::Connecting,
            },
            Stage::Live(l) if l.restarts.reconnecting() => Phase::Reconnecting,
            Stage::Live(_) => Phase::InCall,
            Stage::Over(Over { outcome: Outcome::Ended(_), .. }) => Phase::Ended,
            Stage::Over(_) => Phase::Failed,
        }
    }

    pub fn flags(&self) -> Flags {
        self.flags
    }

    /// When media first flowed (the first `Connected`), on the clock of
    /// `handle`. Kept through reconnections and after the end.
    pub fn connected_at(&self) -> Option<u64> {
        match &self.stage {
            Stage::Live(l) => Some(l.connected_at),
            Stage::Over(o) => o.connected_at,
            _ => None,
        }
    }

    fn out(&mut self, e: Effect) {
        self.effects.push_back(e);
    }

    fn log(&mut self, s: impl Into<String>) {
        self.out(Effect::Log(s.into()));
    }

    /// Feeds one input at time `now` (milliseconds, monotonic).
    pub fn handle(&mut self, now: u64, input: Input) {
        if let Stage::Over(_) = self.stage {
            return self.over(now, &input);
        }
        if let Stage::Setup(s @ Setup { hold: Some(_), .. }) = &mut self.stage {
            s.hold = s.hold.filter(|at| now < *at);
        }
        self.late_from_peer(now);
        match input {
            Input::Started { search, hash, host, webrtc } => self.start(now, &search, &hash, host, webrtc),
            Input::HashChanged(hash) => self.fragment(now, &hash),
            Input::IceServers(r) => self.ice_servers(now, r),
            Input::Media(r) => self.media_result(r),
            Input::CameraPresent(p) => self.local.set_camera_present(p),
            Input::Cameras(ids) => self.local.set_cameras(ids),
            Input::PickDevice(kind, id) => self.pick_device(kind, id),
            Input::NextCamera { facing, device } => self.next_camera(facing.as_deref(), device.as_deref()),
            Input::VideoLimitFailed => self.video_limit_failed(),
            Input::SendVideoFailed => self.notice = Some(Msg::CameraUnavailable),
            Input::CameraStarted(ok) => self.camera_started(ok),
            Input::LocalDescriptionSet => self.local_set(now),
            Input::RemoteDescriptionSet => self.remote_set(now),
            Input::PeerError => self.peer_error(now),
            Input::HostFailed => self.fail(now, Msg::SetupFailed),
            Input::Candidate(c) => self.candidate(now, c),
            Input::GatheringComplete => self.gathering_complete(now),
            Input::Connection(s) => self.connection(now, s),
            Input::ChannelOpen(ch) => self.channel_open(ch),
            Input::ChannelClosed(ch) => self.channel_closed(ch),
            Input::ChannelMessage(ch, text) => self.message(now, ch, Some(text)),
            Input::BinaryMessage(ch) => self.message(now, ch, None),
            Input::ForeignChannel => self.foreign_channel(),
            Input::NetworkChanged => self.restart_rule(now, "network changed", |r, t, ch, out| r.network_changed(t, ch, out)),
            Input::AddressGone => self.restart_rule(now, "our address is gone", |r, t, ch, out| r.address_gone(t, ch, out)),
            Input::RemoteVideo(on) => self.link().into_iter().for_each(|l| l.remote_video = on),
            Input::Route(r) => self.route(r),
            Input::CanShareScreen(can) => self.local.set_can_share(can),
            Input::ScreenStarted(ok) => self.screen_started(ok),
            Input::ScreenEnded => self.stop_sharing(),
            Input::Stats(cur) => self.stats(cur),
            Input::Click(b) => self.click(now, b),
            Input::Timeout => self.timeout(now),
            Input::Crashed => self.fail(now, Msg::Crashed),
        }
    }

    /// After the end only two things matter: the failure message's time is
    /// up, or the person presses End during it. Then `endCall`, once.
    fn over(&mut self, now: u64, input: &Input) {
        let Stage::Over(Over { outcome: Outcome::Failed { linger, .. }, .. }) = &mut self.stage else { return };
        let due = match (input, *linger) {
            (Input::Timeout, Some(at)) => now >= at,
            (Input::Click(Button::End), Some(_)) => true,
            _ => false,
        };
        if due {
            *linger = None;
            if self.host.end_call {
                self.out(Effect::EndCall);
            }
        }
    }

    fn start(&mut self, now: u64, search: &str, hash: &str, host: HostApi, webrtc: bool) {
        if !matches!(self.stage, Stage::Idle) || self.servers.is_some() {
            return self.log("ignored a second start");
        }
        self.flags = parse_flags(search);
        self.local.set_start_cam(!self.flags.no_outgoing_video_initially);
        self.host = host;
        if !host.present {
            // No host: nothing to close and nobody to tell.
            let outcome = Outcome::Failed { why: Msg::NoHost, linger: None };
            self.stage = Stage::Over(Over { outcome, connected_at: None });
            return;
        }
        if !webrtc {
            return self.fail(now, Msg::NoWebRtc);
        }
        // Fetching the servers reveals nothing to anyone (the host answers
        // from memory), so it happens at once: the outgoing call, or the
        // answer, then need not wait for it.
        if self.host.get_ice_servers {
            self.servers = Some(Servers::Waiting { until: now + ICE_SERVERS_TIMEOUT_MS });
            self.out(Effect::LoadIceServers);
        } else {
            self.servers = Some(Servers::Ready(Vec::new()));
            self.notice = Some(Msg::IceServersUnavailable);
        }
        self.fragment(now, hash);
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
        // No call under way: a damaged incoming offer is a screen of its
        // own, so that the person is not left with an empty page.
        let free = matches!(self.stage, Stage::Idle | Stage::NotReceived);
        let blank = matches!(self.stage, Stage::Idle);
        self.command_on(now, c, free);
        // On a page that shows nothing yet (Desktop's flow: the command
        // comes by `location.hash` to a page whose connection is made),
        // drawing the call's screen put a frame of style, layout and paint
        // (4–6 ms in Chromium 156 traces) between the browser's steps of the
        // description, on the one thread both use: the screen waits until
        // the description is with the host, at most `SCREEN_HOLD_MS`. Not
        // after the prompt: there the person pressed a button and sees it
        // answered at once.
        let made = self.made_at_load();
        if let (true, true, Stage::Setup(s @ Setup { step: Step::Describing(_), .. })) = (blank, made, &mut self.stage) {
            s.hold = Some(now + SCREEN_HOLD_MS);
        }
    }

    fn command_on(&mut self, now: u64, c: Command, free: bool) {
        match (&self.stage, c) {
            (Stage::Idle | Stage::NotReceived, Command::StartCall) => self.prepare(now, Side::Caller),
            (_, Command::StartCall) => self.log("ignored #startCall: a call is already under way"),
            (Stage::Idle | Stage::NotReceived | Stage::Prompt { .. }, Command::OfferIncomingCall(p)) => {
                match self.decode(&p) {
                    // A new command replaces a pending prompt.
                    Some(offer) => self.stage = Stage::Prompt { offer },
                    None if free => self.stage = Stage::NotReceived,
                    None => {}
                }
            }
            (Stage::Idle | Stage::NotReceived | Stage::Prompt { .. }, Command::AcceptCall(p)) => {
                match self.decode(&p) {
                    Some(offer) => self.prepare(now, Side::Callee { offer }),
                    None if free => self.stage = Stage::NotReceived,
                    None => {}
                }
            }
            (_, Command::OfferIncomingCall(_) | Command::AcceptCall(_)) => {
                self.log("ignored incoming offer: a call is already under way")
            }
            (Stage::Setup(Setup { role: Role::Caller, step: Step::Ringing, .. }), Command::OnAnswer(p)) => {
                if let Some(sdp) = self.decode(&p) {
                    if let Stage::Setup(s) = &mut self.stage {
                        s.step = Step::Answering;
                    }
                    self.set_remote(false, sdp);
                }
            }
            (Stage::Setup(Setup { role: Role::Caller, step: Step::Answering | Step::Connecting { .. }, .. }) | Stage::Live(_), Command::OnAnswer(_)) => {
                self.log("ignored #onAnswer: already answered")
            }
            (_, Command::OnAnswer(_)) => self.log("ignored #onAnswer: no offer is waiting for an answer"),
        }
    }

    fn decode(&mut self, payload: &str) -> Option<String> {
        match decode_sdp_payload(payload) {
            Ok(sdp) => {
                self.forget_bad_payload();
                Some(sdp)
            }
            Err(e) => {
                self.notice = Some(Msg::BadPayload(e));
                self.log([Msg::BadPayload(e).en(), " (", e.as_str(), ")"].concat());
                None
            }
        }
    }

    /// Damaged data was ignored; what comes now is built from good data.
    fn forget_bad_payload(&mut self) {
        if matches!(self.notice, Some(Msg::BadPayload(_))) {
            self.notice = None;
        }
    }

    /// A call was asked for (`#startCall`, Answer, `#acceptCall`): capture
    /// media and set up the connection side by side. The description never
    /// waits for the camera (getUserMedia took 150–700 ms in headless
    /// Chromium, seconds on a real camera): it carries sending transceivers
    /// either way, and the tracks go on them when they come (`attach_media`),
    /// without a renegotiation. Only the ICE servers are waited for.
    fn prepare(&mut self, now: u64, side: Side) {
        // A damaged offer before it (on the prompt, or the screen of one)
        // is not about this call.
        self.forget_bad_payload();
        // A caller whose connection was made at load has its offer set
        // within milliseconds; starting the camera during them made the
        // offer leave 7–10 ms later (Chromium 156, no servers: 45–51 ms
        // against 38–41 ms with the camera started later), and the
        // caller's camera has all the ringing time to come up. Everyone
        // else starts the devices now: the callee's camera is what the
        // caller waits to see, and without a connection the description
        // waits for the servers.
        let caller_ready = matches!(side, Side::Caller) && self.made_at_load();
        self.stage = Stage::Preparing(Preparing { asked_at: now, side });
        // The connection first: the browser starts the description before
        // it spends its time on starting the camera.
        self.create_peer(now);
        if !caller_ready {
            self.request_media();
        }
    }

    /// Asks for the devices of the person's choice on the prompt (else the
    /// flags' default), once per call.
    fn request_media(&mut self) {
        let video = self.local.start().cam && !self.flags.disable_video_completely;
        if let Some(video) = self.local.request(video) {
            self.out(Effect::AcquireMedia { video });
        }
    }

    fn media_result(&mut self, r: Result<Media, ()>) {
        match self.local.result(r) {
            MediaOutcome::Ignored => {}
            MediaOutcome::RetryWithoutVideo => {
                self.notice = Some(Msg::CameraUnavailable);
                self.out(Effect::AcquireMedia { video: false });
            }
            MediaOutcome::Ready(notice) => {
                if notice.is_some() {
                    self.notice = notice;
                }
                self.attach_media();
                self.send_muted_state();
            }
        }
    }

    /// Puts our captured tracks on the senders, once both exist: the
    /// microphone on the audio sender, the camera on the video sender
    /// (unless the screen is there). Whichever of the two comes last calls
    /// this; before both, it does nothing.
    fn attach_media(&mut self) {
        let senders = match &self.stage {
            Stage::Setup(s) => s.link.senders,
            Stage::Live(l) => l.link.senders,
            _ => false,
        };
        let Capture::Done(m) = self.local.capture() else { return };
        if !senders {
            return;
        }
        if m.audio {
            self.out(Effect::SendAudio);
            if self.local.mic() == Dev::Off {
                self.out(Effect::SetMic(false));
            }
        }
        if m.video && self.local.cam() == Dev::On && !self.local.sharing() {
            self.out(Effect::SendVideo(VideoSource::Camera));
        }
    }

    fn ice_servers(&mut self, now: u64, r: Result<String, ()>) {
        // Once the peer exists the list can no longer matter; before that a
        // good list replaces the empty one the timeout put in place.
        let before_peer = matches!(self.stage, Stage::Idle | Stage::NotReceived | Stage::Prompt { .. } | Stage::Preparing(_));
        let have = matches!(self.servers, Some(Servers::Ready(_)));
        if !before_peer || self.made_at_load() || (have && r.is_err()) {
            return;
        }
        let answered = r.is_ok();
        if self.notice == Some(Msg::IceServersUnavailable) {
            self.notice = None;
        }
        let servers = match r.and_then(|t| parse_ice_servers(&t).map_err(|_| ())) {
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
        if answered && !matches!(self.stage, Stage::Preparing(_)) {
            // Nobody has asked for a call yet: make the connection now,
            // which costs no privacy, so that the command has less to do.
            // (Not with the empty list of a host that did not answer: a
            // late answer may still bring servers.)
            self.out(self.create_peer_effect(servers.clone()));
            self.servers = Some(Servers::InPeer(servers));
            return;
        }
        self.servers = Some(Servers::Ready(servers));
        self.create_peer(now);
    }

    /// The connection was made when the servers came, before any command.
    fn made_at_load(&self) -> bool {
        matches!(self.servers, Some(Servers::InPeer(_)))
    }

    fn create_peer_effect(&self, servers: Vec<IceServer>) -> Effect {
        let video = !self.flags.disable_video_completely;
        Effect::CreatePeer { servers, relay_only: self.flags.relay_only, video }
    }

    /// Preparing → Setup, once the servers are there (media need not be);
    /// the peer made unless it was made at load.
    fn create_peer(&mut self, now: u64) {
        let (Stage::Preparing(_), Some(Servers::Ready(servers) | Servers::InPeer(servers))) = (&self.stage, &self.servers)
        else {
            return;
        };
        let (servers, made) = (servers.clone(), self.made_at_load());
        let Stage::Preparing(p) = core::mem::replace(&mut self.stage, Stage::Idle) else { return };
        let mut wait = IceWait::new(server_kinds(&servers), now);
        wait.cap(p.asked_at + OFFER_BY_MS);
        if !made {
            self.out(self.create_peer_effect(servers));
        }
        let (role, offer) = match p.side {
            Side::Caller => (Role::Caller, None),
            Side::Callee { offer } => (Role::Callee, Some(offer)),
        };
        // The caller's transceivers come with the offer; the callee's with
        // the applied offer (`remote_set`).
        let link = Link { senders: role == Role::Caller, ..Link::default() };
        self.stage = Stage::Setup(Setup { role, link, step: Step::Describing(wait), hold: None });
        match offer {
            None => self.out(Effect::CreateOffer { ice_restart: false }),
            Some(offer) => self.set_remote(true, offer),
        }
        self.attach_media();
    }

    fn link_ref(&self) -> Option<&Link> {
        match &self.stage {
            Stage::Setup(s) => Some(&s.link),
            Stage::Live(l) => Some(&l.link),
            _ => None,
        }
    }

    fn link(&mut self) -> Option<&mut Link> {
        match &mut self.stage {
            Stage::Setup(s) => Some(&mut s.link),
            Stage::Live(l) => Some(&mut l.link),
            _ => None,
        }
    }

    fn local_set(&mut self, now: u64) {
        match &mut self.stage {
            Stage::Setup(s) => {
                if let Step::Describing(w) = &s.step {
                    s.step = Step::Gathering(w.clone());
                    self.check_ice_wait(now);
                    // Held back by `prepare` for a caller (else asked
                    // already): now, unless the call failed meanwhile.
                    if matches!(self.stage, Stage::Setup(_)) {
                        self.request_media();
                    }
                }
            }
            // Once the call has connected, every local description is a
            // renegotiation one and goes over channel 5. (Routing by the
            // exchange lost descriptions whose exchange a restart timer or
            // an earlier exchange had meanwhile reset: fuzzing.)
            Stage::Live(l) => match l.restarts.role() {
                Role::Callee => {
                    l.restarts.exchange_done();
                    self.out(Effect::SendDescription);
                    self.apply_waiting_offer(now);
                }
                Role::Caller => l.restarts.hold(now),
            },
            _ => {}
        }
    }

    fn remote_set(&mut self, now: u64) {
        match &mut self.stage {
            Stage::Setup(s @ Setup { role: Role::Callee, step: Step::Describing(_), .. }) => {
                s.link.senders = true;
                self.attach_media();
                self.out(Effect::CreateAnswer);
            }
            // (Also from Ringing: the answer's outcome may come after an
            // error of another operation was taken for its own.)
            Stage::Setup(s @ Setup { role: Role::Caller, step: Step::Answering | Step::Ringing, .. }) => {
                s.step = Step::Connecting { until: now + CONNECT_TIMEOUT_MS };
                if self.notice == Some(Msg::AnswerRejected) {
                    self.notice = None;
                }
            }
            // A renegotiation: the callee answers on the channel; for the
            // caller the exchange is complete.
            Stage::Live(l) => match l.restarts.role() {
                Role::Callee => self.out(Effect::CreateAnswer),
                Role::Caller => l.restarts.exchange_done(),
            },
            _ => self.log("ignored an unexpected remote description"),
        }
    }

    fn peer_error(&mut self, now: u64) {
        match &mut self.stage {
            // A failed renegotiation step is retried by the attempt timer.
            Stage::Live(l) if l.restarts.exchange() != Exchange::Idle => {
                l.restarts.exchange_failed();
                self.log("renegotiation step failed");
                self.apply_waiting_offer(now);
            }
            // The answer was refused by the browser; a later one may work.
            Stage::Setup(s @ Setup { step: Step::Answering, .. }) => {
                s.step = Step::Ringing;
                self.notice = Some(Msg::AnswerRejected);
            }
            // A step of an exchange that is over (the attempt timer gave it
            // up, or it completed) failed late. The call itself is as it
            // was: the connection's own state says if it needs a restart.
            Stage::Live(_) => self.log("a late renegotiation step failed; the call goes on"),
            // The connection made at load could not be made. Nothing is
            // lost yet: the call, once asked for, fails on it as it would
            // have failed making it then.
            Stage::Idle | Stage::NotReceived | Stage::Prompt { .. } => self.log("the connection could not be made"),
            _ => self.fail(now, Msg::SetupFailed),
        }
    }

    fn candidate(&mut self, now: u64, c: CandidateInit) {
        match &mut self.stage {
            Stage::Setup(Setup { step: Step::Describing(w) | Step::Gathering(w), .. }) => {
                if let Some(t) = CandidateType::of_candidate(&c.candidate) {
                    w.on_candidate(t, now);
                }
                self.check_ice_wait(now);
            }
            // Candidates of a held restart offer ride in its SDP.
            Stage::Live(l) if l.restarts.holding() => {}
            // Gathered after the SDP left: only the data channel can carry it.
            Stage::Setup(_) | Stage::Live(_) => self.trickle(c.to_json()),
            _ => {}
        }
    }

    fn gathering_complete(&mut self, now: u64) {
        match &mut self.stage {
            Stage::Setup(Setup { step: Step::Describing(w) | Step::Gathering(w), .. }) => {
                w.on_complete();
                self.check_ice_wait(now);
            }
            Stage::Setup(_) => self.trickle("null".into()),
            Stage::Live(_) => {
                self.restart_do(now, |r, _, _, out| r.gathering_complete(out));
                self.trickle("null".into());
            }
            _ => {}
        }
    }

    fn trickle(&mut self, msg: String) {
        let Some(link) = self.link() else { return };
        match &mut link.trickle_queue {
            Some(q) => q.push(msg),
            None => self.out(Effect::Send(Channel::IceTrickling, msg)),
        }
    }

    /// Gathering: hands our description to the host once the wait is over.
    fn check_ice_wait(&mut self, now: u64) {
        let Stage::Setup(s @ Setup { step: Step::Gathering(_), .. }) = &mut self.stage else { return };
        let Step::Gathering(w) = &s.step else { return };
        if !w.is_ready(now) {
            return;
        }
        let waited = w.elapsed(now);
        let (call, ok) = match s.role {
            Role::Caller => (HostCall::StartCall, self.host.start_call),
            Role::Callee => (HostCall::AcceptCall, self.host.accept_call),
        };
        if !ok {
            return self.fail(now, Msg::HostIncomplete);
        }
        s.step = match s.role {
            Role::Caller => Step::Ringing,
            Role::Callee => Step::Connecting { until: now + CONNECT_TIMEOUT_MS },
        };
        s.hold = None;
        self.out(Effect::HandToHost(call));
        self.out(Effect::ShowRemote);
        // (After: writing to the console is not free, and the host waits.)
        self.log(["ICE wait ", &crate::json::itoa(waited), " ms"].concat());
    }

    fn connection(&mut self, now: u64, s: ConnState) {
        match (&mut self.stage, s) {
            (Stage::Setup(Setup { step: Step::Connecting { .. }, .. }), ConnState::Connected) => {
                let Stage::Setup(setup) = core::mem::replace(&mut self.stage, Stage::Idle) else { return };
                self.stage = Stage::Live(Live::new(setup.role, setup.link, now, now + ROUTE_POLL_FAST_MS));
                self.out(Effect::QueryRoute);
                if self.notice == Some(Msg::AnswerRejected) {
                    self.notice = None;
                }
            }
            (Stage::Setup(_), ConnState::Failed) => self.fail(now, Msg::ConnectFailed),
            (Stage::Live(l), ConnState::Connected) => {
                let mut dos = Vec::new();
                l.restarts.connected(&mut |d| dos.push(d));
                // The path may have changed (relay after a restart).
                self.out(Effect::QueryRoute);
                self.perform_restart(now, dos);
                if self.notice == Some(Msg::AnswerRejected) {
                    self.notice = None;
                }
            }
            (Stage::Live(_), ConnState::Disconnected) => self.restart_do(now, |r, now, _, out| r.disconnected(now, out)),
            (Stage::Live(_), ConnState::Failed) => self.restart_do(now, |r, now, ch, out| r.failed(now, ch, out)),
            (Stage::Live(l), ConnState::Closed) => {
                let why = l.peer_gone();
                self.end(why)
            }
            (Stage::Live(l), other) => l.restarts.other_state(other),
            _ => {}
        }
    }

    /// Runs a rule of the restart sub-machine in the live stage and does
    /// what it says.
    fn restart_do(&mut self, now: u64, rule: impl FnOnce(&mut crate::restart::Restarts, u64, bool, &mut dyn FnMut(Do))) {
        let Stage::Live(l) = &mut self.stage else { return };
        let mut dos = Vec::new();
        rule(&mut l.restarts, now, l.link.reneg_open, &mut |d| dos.push(d));
        self.perform_restart(now, dos);
    }

    /// A restart rule that only applies once the call is live.
    fn restart_rule(
        &mut self,
        now: u64,
        why: &str,
        rule: impl FnOnce(&mut crate::restart::Restarts, u64, bool, &mut dyn FnMut(Do)),
    ) {
        if let Stage::Live(_) = self.stage {
            let before = self.effects.len();
            self.restart_do(now, rule);
            if self.effects.len() > before || matches!(self.stage, Stage::Over(_)) {
                self.effects.insert(before, Effect::Log(why.into()));
            }
        }
    }

    fn perform_restart(&mut self, now: u64, dos: Vec<Do>) {
        for d in dos {
            match d {
                Do::Offer => self.out(Effect::CreateOffer { ice_restart: true }),
                Do::AskForRestart => {
                    let m = channel::Renegotiation::RestartRequest.to_json();
                    self.out(Effect::Send(Channel::Renegotiation, m));
                }
                Do::SendDescription => self.out(Effect::SendDescription),
                Do::CheckAddress => self.out(Effect::CheckAddress),
                Do::WaitForIce => self.log("the peer cannot renegotiate; waiting for ICE to recover"),
                Do::Attempt(n) => self.log(["ICE restart attempt ", &crate::json::itoa(n as u64)].concat()),
                Do::Lost => return self.fail(now, Msg::ConnectionLost),
            }
        }
    }

    /// Caps the outgoing video for the relay or the `lowData` flag, when
    /// the right cap changed.
    fn limit_video(&mut self) {
        let low_data = self.flags.low_data;
        let Some(link) = self.link() else { return };
        let cap = if low_data {
            Some(LOW_DATA_VIDEO_KBPS)
        } else if link.route == Route::Relay {
            Some(RELAY_VIDEO_KBPS)
        } else {
            None
        };
        if Some(cap) != link.video_cap {
            link.video_cap = Some(cap);
            self.out(Effect::LimitVideo(cap.map(VideoCap::new)));
        }
    }

    fn video_limit_failed(&mut self) {
        self.log("the video cap could not be set; again with the next route");
        if let Some(link) = self.link() {
            link.video_cap = None;
        }
    }

    fn stats(&mut self, cur: crate::quality::Sample) {
        if let Stage::Live(l) = &mut self.stage {
            if let Some(prev) = l.last_sample.replace(cur) {
                l.quality = crate::quality::assess(&prev, &cur, l.media_expected()).or(l.quality);
            }
        }
    }

    fn route(&mut self, r: Route) {
        if let Some(link) = self.link() {
            link.route = r;
            self.limit_video();
        }
    }

    /// A message on the `renegotiation` channel.
    fn renegotiation(&mut self, now: u64, m: channel::Renegotiation) {
        use channel::Renegotiation as R;
        let Stage::Live(l) = &mut self.stage else {
            return self.log("renegotiation before the call connected: ignored");
        };
        match (l.restarts.role(), m) {
            (Role::Caller, R::RestartRequest) => self.restart_do(now, |r, now, ch, out| r.restart_requested(now, ch, out)),
            (Role::Caller, R::Answer(sdp)) if l.restarts.awaits_answer() => {
                l.restarts.answer_received();
                self.set_remote(false, sdp);
            }
            // Only the caller offers (PROTOCOL.md section 5).
            (Role::Caller, R::Offer(_)) => self.refuse(Refused::Offer),
            // One exchange at a time, at the offers' rate; the newest
            // offer replaces one that waits.
            (Role::Callee, R::Offer(sdp)) => {
                if l.waiting_offer.replace(sdp).is_some() {
                    self.refuse(Refused::Offer);
                }
                self.apply_waiting_offer(now);
            }
            _ => self.log("unexpected renegotiation message: ignored"),
        }
    }

    /// Callee: applies the waiting restart offer if no exchange is under
    /// way and the offers' rate allows.
    fn apply_waiting_offer(&mut self, now: u64) {
        let Stage::Live(l) = &mut self.stage else { return };
        if l.waiting_offer.is_none() || l.restarts.exchange() != Exchange::Idle || !l.link.guard.offer(now) {
            return;
        }
        let Some(sdp) = l.waiting_offer.take() else { return };
        l.restarts.offer_received();
        self.set_remote(true, sdp);
    }

    /// Applies the peer's description. It starts a new ICE generation, its
    /// candidates bounded (`crate::guard`); an offer says first which of
    /// its media sections carry the call.
    fn set_remote(&mut self, offer: bool, sdp: String) {
        let Some(link) = self.link() else { return };
        let (sdp, line) = link.guard.description(sdp);
        if let Some(line) = line {
            self.log(line);
        }
        if offer {
            self.out(Effect::UseMedia(crate::sdp::plan(&sdp)));
        }
        self.out(Effect::SetRemote { offer, sdp });
    }

    /// Counts what a bound refused; the first of its kind is logged.
    fn refuse(&mut self, r: Refused) {
        if let Some(line) = self.link().and_then(|l| l.guard.refuse(r)) {
            self.log(line);
        }
    }

    /// What the peer sent faster than its bounds allow, whose time has come.
    fn late_from_peer(&mut self, now: u64) {
        for ch in [Channel::MutedState, Channel::Renegotiation] {
            let Some(link) = self.link() else { return };
            let due = link.late(ch).is_some_and(|m| m.is_some()) && link.guard.admit(now, ch, Some(0)) == Admit::Yes;
            if let Some(text) = link.late(ch).filter(|_| due).and_then(Option::take) {
                self.parsed(now, ch, &text);
            }
        }
        self.apply_waiting_offer(now);
    }

    /// The peer opened a data channel of its own: this protocol has none.
    fn foreign_channel(&mut self) {
        self.refuse(Refused::Channel);
        self.out(Effect::CloseForeignChannels);
    }

    fn channel_open(&mut self, ch: Channel) {
        let Some(link) = self.link() else { return };
        match ch {
            Channel::IceTrickling => {
                for m in link.trickle_queue.take().unwrap_or_default() {
                    self.out(Effect::Send(Channel::IceTrickling, m));
                }
            }
            Channel::MutedState => {
                link.muted_open = true;
                self.send_muted_state();
            }
            Channel::Renegotiation => link.reneg_open = true,
        }
    }

    fn channel_closed(&mut self, ch: Channel) {
        // The peer closed its connection (hang-up): the SCTP stream closes
        // at once, long before ICE notices. (A channel lost with the
        // connection is not a hang-up.)
        if let Stage::Live(l) = &self.stage {
            if ch == Channel::MutedState && !l.restarts.reconnecting() && l.restarts.conn() == ConnState::Connected {
                let why = l.peer_gone();
                self.end(why);
            }
        }
    }

    fn send_muted_state(&mut self) {
        let m = self.local.muted_state().to_json();
        if self.link().is_some_and(|l| l.muted_open) {
            self.out(Effect::Send(Channel::MutedState, m));
        }
    }

    /// A message from the peer (`None`: a binary one), within its
    /// channel's bounds (`crate::guard`).
    fn message(&mut self, now: u64, ch: Channel, text: Option<String>) {
        let Some(link) = self.link() else { return };
        match link.guard.admit(now, ch, text.as_ref().map(String::len)) {
            Admit::Yes => {}
            Admit::TooLarge => return self.refuse(Refused::Size),
            Admit::TooFast => {
                // Not lost where the last word counts: it waits its turn,
                // unparsed, in place of an older one.
                if let Some(slot) = link.late(ch) {
                    *slot = text;
                }
                return self.refuse(Refused::Rate(ch));
            }
        }
        // Newer than anything waiting on its channel.
        if let Some(slot) = link.late(ch) {
            *slot = None;
        }
        if let Some(text) = text {
            self.parsed(now, ch, &text);
        }
    }

    fn parsed(&mut self, now: u64, ch: Channel, text: &str) {
        match channel::parse_message(ch, text) {
            None => {
                let head: String = text.chars().take(60).collect();
                self.log(["ignored malformed message on ", ch.label(), ": ", &head].concat());
            }
            Some(Incoming::Candidate(c)) => {
                if self.link().is_some_and(|l| l.guard.candidate(now)) {
                    self.out(Effect::AddCandidate(Some(c)));
                } else {
                    self.refuse(Refused::Candidates);
                }
            }
            Some(Incoming::EndOfCandidates) => self.out(Effect::AddCandidate(None)),
            Some(Incoming::Muted(m)) => {
                if let Some(link) = self.link() {
                    link.remote_muted = Some(m);
                }
            }
            Some(Incoming::Renegotiation(r)) => self.renegotiation(now, r),
        }
    }

    fn camera_started(&mut self, ok: bool) {
        if !ok && self.local.cam() == Dev::On {
            // A switch to another camera failed; the running one goes on.
            return self.log("the other camera could not be started");
        }
        self.local.camera_started(ok);
        if !ok {
            self.notice = Some(Msg::CameraUnavailable);
        } else {
            if self.notice == Some(Msg::CameraUnavailable) {
                self.notice = None;
            }
            // While sharing, the screen keeps the sender and the preview.
            if !self.local.sharing() {
                self.out(Effect::SendVideo(VideoSource::Camera));
            }
        }
        self.send_muted_state();
    }

    /// Our camera runs (and video is allowed at all).
    fn camera_on(&self) -> bool {
        self.local.cam_available(!self.flags.disable_video_completely) && self.local.cam() == Dev::On
    }

    fn pick_device(&mut self, kind: DeviceKind, id: String) {
        match kind {
            DeviceKind::Camera => {
                self.local.pick_camera(id.clone());
                if self.camera_on() {
                    self.out(Effect::StartCamera(Camera::Device(id)));
                }
            }
            DeviceKind::Mic => {
                if self.local.mic() != Dev::None {
                    self.out(Effect::StartMic(id));
                }
            }
            DeviceKind::Speaker => self.out(Effect::SetSpeaker(id)),
        }
    }

    /// The camera facing the other way where the camera says how it faces,
    /// else the next one in the list.
    fn next_camera(&mut self, facing: Option<&str>, device: Option<&str>) {
        if !self.camera_on() {
            return;
        }
        if let Some(mode) = crate::camera::other_facing(facing) {
            return self.out(Effect::StartCamera(Camera::Facing(mode)));
        }
        if let Some(id) = self.local.camera_after(device) {
            self.local.pick_camera(id.clone());
            self.out(Effect::StartCamera(Camera::Device(id)));
        }
    }

    fn screen_started(&mut self, ok: bool) {
        let sharing = ok && self.in_call();
        self.local.set_sharing(sharing);
        if sharing {
            self.out(Effect::SendVideo(VideoSource::Screen));
        } else if ok {
            self.out(Effect::StopScreen); // the call moved on meanwhile
        }
        self.send_muted_state();
    }

    fn stop_sharing(&mut self) {
        if self.local.sharing() {
            self.local.set_sharing(false);
            self.out(Effect::StopScreen);
            // The camera, if on, goes back on the sender.
            let cam = if self.local.cam() == Dev::On { VideoSource::Camera } else { VideoSource::Nothing };
            self.out(Effect::SendVideo(cam));
            self.send_muted_state();
        }
    }

    fn click(&mut self, now: u64, b: Button) {
        let video_allowed = !self.flags.disable_video_completely;
        let screen_ok = self.screen_available();
        match (&mut self.stage, b) {
            (Stage::Prompt { .. }, Button::Answer) => {
                let Stage::Prompt { offer } = core::mem::replace(&mut self.stage, Stage::Idle) else { return };
                self.prepare(now, Side::Callee { offer });
            }
            // Not before any call exists (a stray Shift+E on an idle page).
            (Stage::Idle, Button::End) => {}
            // Close on the screen of a damaged offer.
            (Stage::NotReceived, Button::End) => self.end(Msg::CallNotReceived),
            (_, Button::End) => self.end(Msg::CallEnded),
            // The prompt's toggles: a choice for the start of the call; no
            // device is opened before Answer.
            (Stage::Prompt { .. }, Button::Mic) => self.local.toggle_start_mic(),
            (Stage::Prompt { .. }, Button::Cam) => self.local.toggle_start_cam(video_allowed),
            (_, Button::Mic) => {
                if let Some(on) = self.local.toggle_mic() {
                    self.out(Effect::SetMic(on));
                    self.send_muted_state();
                }
            }
            (_, Button::Cam) if self.local.cam_available(video_allowed) => {
                if self.local.cam() == Dev::On {
                    self.local.camera_off();
                    self.out(Effect::StopCamera);
                    if !self.local.sharing() {
                        self.out(Effect::SendVideo(VideoSource::Nothing));
                    }
                    self.send_muted_state();
                } else {
                    // Reported on once the camera actually delivers.
                    let which = self.local.picked_camera().map_or(Camera::Default, |id| Camera::Device(id.into()));
                    self.out(Effect::StartCamera(which));
                }
            }
            (Stage::Live(l), Button::Quality) if l.quality.is_some() => {
                l.details = !l.details;
                if l.details {
                    // Fresh numbers now; then the fast polling (`timeout`).
                    self.out(Effect::QueryRoute);
                }
            }
            (_, Button::Devices) => self.local.toggle_devices(),
            (_, Button::Screen) if screen_ok => {
                if self.local.sharing() {
                    self.stop_sharing();
                } else {
                    self.out(Effect::StartScreen);
                }
            }
            _ => {}
        }
    }

    fn in_call(&self) -> bool {
        matches!(self.stage, Stage::Live(_))
    }

    /// Sharing needs the API, a call, and video allowed at all.
    fn screen_available(&self) -> bool {
        self.local.can_share() && self.in_call() && !self.flags.disable_video_completely
    }

    /// The time of one or more deadlines has come.
    fn timeout(&mut self, now: u64) {
        if let Some(Servers::Waiting { until }) = self.servers {
            if now >= until {
                self.log("getIceServers did not answer in time");
                self.ice_servers(now, Err(()));
            }
        }
        match &mut self.stage {
            Stage::Setup(Setup { step: Step::Gathering(_), .. }) => self.check_ice_wait(now),
            Stage::Setup(Setup { step: Step::Connecting { until }, .. }) if now >= *until => {
                self.fail(now, Msg::ConnectFailed)
            }
            Stage::Live(l) => {
                if now >= l.poll_at {
                    let settled = l.quality.is_some_and(|q| q.level == crate::quality::Level::Good) && !l.details;
                    l.poll_at = now + if settled { ROUTE_POLL_MS } else { ROUTE_POLL_FAST_MS };
                    self.out(Effect::QueryRoute);
                }
                self.restart_do(now, |r, now, ch, out| r.timeout(now, ch, out));
            }
            _ => {}
        }
    }

    /// The call ends normally: our hang-up, a decline, or the peer's.
    fn end(&mut self, why: Msg) {
        let connected_at = self.connected_at();
        self.stage = Stage::Over(Over { outcome: Outcome::Ended(why), connected_at });
        self.out(Effect::ClosePeer);
        // Desktop closes the window on `endCall`.
        if self.host.end_call {
            self.out(Effect::EndCall);
        }
    }

    /// The call cannot go on: show why, then end it cleanly.
    fn fail(&mut self, now: u64, why: Msg) {
        let connected_at = self.connected_at();
        let linger = Some(now + FAILURE_LINGER_MS);
        self.stage = Stage::Over(Over { outcome: Outcome::Failed { why, linger }, connected_at });
        self.log(why.en());
        self.out(Effect::ClosePeer);
    }

    /// What the screen shows now.
    pub fn view(&self) -> View {
        let p = self.phase();
        let live = matches!(p, Phase::Connecting | Phase::Ringing | Phase::InCall | Phase::Reconnecting);
        let live_stage = match &self.stage {
            Stage::Live(l) => Some(l),
            _ => None,
        };
        let in_call = live_stage.is_some();
        let link = self.link_ref();
        let (status, notice) = match &self.stage {
            Stage::Over(Over { outcome: Outcome::Ended(why), .. }) => (Some(*why), None),
            Stage::Over(Over { outcome: Outcome::Failed { why, .. }, .. }) => (Some(Msg::CallFailed), Some(*why)),
            // The status says it; the notice's "ignored" would only confuse.
            Stage::NotReceived => (Some(Msg::CallNotReceived), None),
            _ => {
                let status = match p {
                    Phase::Incoming => Some(Msg::IncomingCall),
                    Phase::Connecting => Some(Msg::Connecting),
                    Phase::Ringing => Some(Msg::Ringing),
                    Phase::Reconnecting => Some(Msg::Reconnecting),
                    _ => None,
                };
                // "No relay server; trying a direct connection" is about
                // connecting: not yet news while the person decides
                // whether to answer, and old news once the call is up (it
                // comes back if the call has to reconnect).
                let about_connecting = matches!(self.notice, Some(Msg::IceServersUnavailable | Msg::SomeIceServersIgnored));
                let notice = if about_connecting && matches!(p, Phase::Incoming | Phase::InCall) { None } else { self.notice };
                (status, notice)
            }
        };
        let video_allowed = !self.flags.disable_video_completely;
        let remote_muted = link.and_then(|l| l.remote_muted);
        let remote_video = in_call
            && video_allowed
            && link.is_some_and(|l| l.remote_video)
            && remote_muted.is_none_or(|m| m.video_enabled);
        let quality = live_stage.and_then(|l| l.quality);
        let prompt = p == Phase::Incoming;
        // On the prompt the toggles show the person's choice, in the call
        // what the capture does.
        let (mic, cam) =
            if prompt { self.local.prompt_controls(video_allowed) } else { (self.local.mic(), self.local.cam()) };
        View {
            phase: p,
            status,
            notice,
            answer: p == Phase::Incoming,
            end: p != Phase::Idle && notice != Some(Msg::NoHost),
            mic: if live || prompt { mic } else { Dev::None },
            cam: if prompt || (live && self.local.cam_available(video_allowed)) { cam } else { Dev::None },
            remote_video,
            remote_mic: remote_muted.map(|m| m.audio_enabled),
            avatar: matches!(p, Phase::Incoming | Phase::NotReceived | Phase::Ringing | Phase::Connecting)
                || (in_call && !remote_video),
            route: live_stage.map_or(Route::Unknown, |l| l.link.route),
            quality,
            details: live_stage.is_some_and(|l| l.details) && quality.is_some(),
            screen: match (self.screen_available(), self.local.sharing()) {
                (false, _) => Dev::None,
                (true, true) => Dev::On,
                (true, false) => Dev::Off,
            },
            ringback: p == Phase::Ringing,
            clock: live_stage.map(|l| l.connected_at),
            devices: live && self.local.devices_open(),
            // Not on the prompt: nothing is captured there.
            switch_camera: !prompt && self.local.cameras() >= 2,
            end_label: match p {
                Phase::Incoming => Msg::Decline,
                Phase::NotReceived => Msg::Close,
                _ => Msg::EndCall,
            },
            mic_label: if mic == Dev::On { Msg::MuteMic } else { Msg::UnmuteMic },
            cam_label: if cam == Dev::On { Msg::CameraOff } else { Msg::CameraOn },
            hold: matches!(self.stage, Stage::Setup(Setup { hold: Some(_), .. })),
        }
    }
}

impl Default for Call {
    fn default() -> Self {
        Call::new()
    }
}
