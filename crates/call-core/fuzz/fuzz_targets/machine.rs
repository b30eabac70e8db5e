//! The call state machine (`machine::Call`) driven by a simulated shell.
//!
//! The fuzz input is decoded into `Started` and then at most 200 steps, each
//! a time step (the call is woken at each deadline it names on the way, as
//! the shell's one timer does) and one input, built from hostile strings (fragments,
//! payloads, ICE server lists, candidates, channel messages). The first byte
//! picks the mode: "shell" mode feeds results only for work that was asked
//! for (media after `AcquireMedia`, `LocalDescriptionSet` after
//! `CreateOffer`…), connection events only while a peer exists, as the
//! browser shell can; "free" mode feeds anything at any time. In both, a
//! "happy" step lets the shell and the other peer do the next right thing
//! (resolve the oldest request, answer, connect, open the channels, answer
//! a renegotiation), so runs reach calls, restarts and renegotiations.
//!
//! After every step, the invariants shared with the state-machine tests
//! (`tests/common/invariants.rs`: `EndCall` and `ClosePeer` at most once
//! and only at the end, nothing after the end but that `EndCall`, the flags,
//! the prompt's privacy, the next deadline at most 20 s away and, once
//! woken, in the future, the view consistent with its phase), and these,
//! which need this harness's model of the browser:
//! - no panic;
//! - privacy: no `CreateOffer`, `SetRemote` or `AcquireMedia` before the
//!   person (or the host's `#acceptCall`, or `#startCall`) consented to a
//!   call (a `CreatePeer` may come first: a connection without a
//!   description gathers and sends nothing); a remote offer is used only
//!   after answering (or for an ICE restart in call);
//! - a `SetRemote` SDP passes
//!   the SDP check; every message sent on a channel parses as that
//!   channel's message; only the caller makes (restart) offers, only the
//!   callee asks for a restart; at most 3 restart attempts while the
//!   connection is down; (shell mode) every renegotiation offer or answer
//!   the browser sets as local description is sent to the peer;
//! - `CreatePeer`'s servers are valid for Chromium.
//!
//! `CALL_FUZZ_TRACE=1 <binary> <input file>` prints the inputs and effects.
//!
//! In shell mode, at the end: with no more input but time passing, a call
//! whose connection is down after it was up must end (restarts are bounded).
#![no_main]

use call_core::channel::{parse_message, Incoming, Renegotiation};
use call_core::machine::MAX_RESTARTS;
use call_core::payload::looks_like_sdp;
use call_core::quality::Sample;
use call_core::{Button, Call, Channel, ConnState, DeviceKind, Effect, HostApi, HostCall, Input, Media, Phase, Route, View, Wake};
use call_core_fuzz::invariants::Watch;
use call_core_fuzz::{
    any_string, b64, cand, hostile_candidate, hostile_hash, hostile_message, hostile_search, hostile_servers, webrtc_accepts,
    ANSWER, ANSWER_2, OFFER_2, TURN_JSON,
};
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;

const MAX_STEPS: usize = 200;

#[derive(Default)]
struct Pending {
    servers: u32,
    media: u32,
    camera: u32,
    screen: u32,
    /// CreateOffer/CreateAnswer: LocalDescriptionSet or PeerError.
    local: u32,
    /// SetRemote: RemoteDescriptionSet or PeerError.
    remote: u32,
    /// CreatePeer and HandToHost can fail synchronously: PeerError.
    may_fail: u32,
}

struct Harness {
    call: Call,
    shell: bool,
    host: HostApi,
    now: u64,
    pending: Pending,
    /// The invariants shared with the state-machine tests.
    watch: Watch,
    trace: Vec<String>,
    // what the shell knows
    peer: bool,
    peer_closed: bool,
    local_set: bool,
    remote_set: bool,
    connected: bool,
    /// The last connection state fed while a peer existed.
    last_conn: Option<ConnState>,
    connected_once: bool,
    open: [bool; 3],
    // invariant bookkeeping
    hand_overs: u32,
    consent: bool,
    /// A description was asked for (an offer made or a remote one applied):
    /// from then on the connection gathers.
    described: bool,
    answered: bool,
    caller: bool,
    callee: bool,
    acquired: u32,
    restarts_while_down: u32,
    /// The last `getStats` sample fed.
    sample: Sample,
    // what the simulated peer owes (for the happy-path driver)
    answer_sent: bool,
    /// Renegotiation offers/answers asked of the browser and not yet set.
    reneg_local: u32,
    /// Two of them were in flight at once since `reneg_local` was last 0.
    reneg_overlap: bool,
    /// A restart offer set but held for its candidates: when it must be
    /// sent at the latest.
    held_offer: Option<u64>,
    peer_owes_answer: bool,
    peer_owes_offer: bool,
}

fn chan_index(ch: Channel) -> usize {
    match ch {
        Channel::IceTrickling => 0,
        Channel::MutedState => 1,
        Channel::Renegotiation => 2,
    }
}

fn short(s: impl std::fmt::Debug) -> String {
    let s = format!("{s:?}");
    if s.len() > 300 {
        let cut = (0..=300).rev().find(|&i| s.is_char_boundary(i)).unwrap_or(0);
        format!("{}…", &s[..cut])
    } else {
        s
    }
}

impl Harness {
    fn fail(&self, what: &str) -> ! {
        panic!("INVARIANT: {what}\n--- inputs (time ms, input) ---\n{}", self.trace.join("\n"));
    }

    fn check(&self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            self.fail(&what());
        }
    }

    /// Wakes the call at each deadline it names up to `until` (as the
    /// shell's one timer does), then sets the clock there.
    fn advance(&mut self, until: u64) {
        while let Some(due) = self.call.poll_timeout().filter(|d| *d <= until) {
            self.now = self.now.max(due);
            self.feed(Input::Timeout);
        }
        self.now = self.now.max(until);
    }

    fn feed(&mut self, input: Input) {
        self.trace.push(format!("{:>8} {}", self.now, short(&input)));
        let before = self.call.view();
        let mut reneg_set = false;
        // What the shell does with the input (before the machine sees it).
        match &input {
            Input::HashChanged(h) | Input::Started { hash: h, .. } => {
                let h = h.strip_prefix('#').unwrap_or(h);
                let is = |c: &str| h == c || h.starts_with(&format!("{c}="));
                if is("startCall") {
                    self.consent = true;
                }
                if h.starts_with("acceptCall=") {
                    self.consent = true;
                    self.answered = true;
                }
            }
            Input::Click(Button::Answer) if before.phase == Phase::Incoming => {
                self.consent = true;
                self.answered = true;
            }
            Input::Connection(s) if self.peer => {
                self.connected = *s == ConnState::Connected;
                self.last_conn = Some(*s);
                if self.connected {
                    self.connected_once = true;
                    self.restarts_while_down = 0;
                }
            }
            Input::LocalDescriptionSet => {
                self.local_set = true;
                // Once connected, every description the browser sets is a
                // renegotiation one (the first ones were set before). Only
                // with one in flight: overlapping ones (a peer that sends
                // two offers at once) the browser's signaling state would
                // refuse, which this shell does not model.
                reneg_set = self.reneg_local == 1 && !self.reneg_overlap;
                self.reneg_local = self.reneg_local.saturating_sub(1);
                self.reneg_overlap &= self.reneg_local > 0;
            }
            Input::RemoteDescriptionSet => self.remote_set = true,
            _ => {}
        }
        let fired = input == Input::Timeout && self.held_offer.is_some_and(|at| self.now >= at);
        self.call.handle(self.now, input.clone());
        // After the input: `Started` sets the flags, and the connection may
        // be made in the same step (a host without getIceServers).
        let flags = self.call.flags();
        let mut effects = Vec::new();
        while let Some(e) = self.call.poll_effect() {
            effects.push(e);
        }
        let after = self.call.view();
        self.trace.push(format!("           -> {} | phase {}", short(&effects), after.phase.as_str()));
        let over = matches!(after.phase, Phase::Ended | Phase::Failed);
        let held = self.call.deadlines().find(|(w, _)| *w == Wake::HeldOffer).map(|(_, at)| at);
        let sent = effects.contains(&Effect::SendDescription);
        if self.shell && reneg_set && !over {
            // Sent now, or held (a caller's restart offer waits for its
            // candidates) and sent by its timer at the latest.
            self.check(sent || held.is_some(), || {
                "a renegotiation description was set but never sent to the peer".into()
            });
        }
        if fired && !over {
            self.check(sent, || "a held restart offer was not sent when its time was up".into());
        }
        if sent {
            self.held_offer = None;
        } else if held.is_some() {
            self.held_offer = held;
        }
        let next = self.call.poll_timeout();
        if let Err(why) = self.watch.step(flags, &input, &before, &after, &effects, self.now, next) {
            self.fail(&why);
        }
        self.check_step(&after, &effects, flags);
    }

    fn check_step(&mut self, after: &View, effects: &[Effect], flags: call_core::command::Flags) {
        for e in effects {
            match e {
                Effect::ClosePeer => self.peer_closed = true,
                Effect::CreatePeer { servers, .. } => {
                    self.peer = true;
                    self.pending.may_fail += 1;
                    self.check(servers.len() <= 8, || "more than 8 ICE servers".into());
                    for s in servers {
                        for u in &s.urls {
                            self.check(webrtc_accepts(u, s.username.as_deref(), s.credential.as_deref()), || {
                                format!("CreatePeer with a URL Chromium refuses: {u:?}")
                            });
                        }
                    }
                }
                Effect::SetRemote { offer, sdp } => {
                    self.described = true;
                    self.pending.remote += 1;
                    self.check(looks_like_sdp(sdp), || "SetRemote with a non-SDP".into());
                    self.check(after.phase != Phase::Incoming, || "SetRemote while the prompt shows".into());
                    self.check(self.peer, || "SetRemote without a peer".into());
                    if *offer {
                        self.check(self.answered || self.connected_once, || "remote offer used before answering".into());
                    }
                }
                Effect::CreateOffer { ice_restart } => {
                    self.described = true;
                    self.pending.local += 1;
                    self.check(self.peer, || "CreateOffer without a peer".into());
                    self.check(self.consent, || "CreateOffer (gathering) before the person consented to a call".into());
                    if !ice_restart {
                        self.caller = true;
                    } else {
                        self.reneg_overlap |= self.reneg_local > 0;
                        self.reneg_local += 1;
                        if !self.connected {
                            self.restarts_while_down += 1;
                        }
                        self.check(self.caller && !self.callee, || "a restart offer from the callee".into());
                        self.check(self.connected_once, || "ICE restart before the call connected".into());
                    }
                }
                Effect::CreateAnswer => {
                    self.pending.local += 1;
                    if self.connected_once {
                        self.reneg_overlap |= self.reneg_local > 0;
                        self.reneg_local += 1;
                    }
                    self.check(!self.caller, || "the caller creates an answer".into());
                    self.callee = true;
                }
                Effect::HandToHost(h) => {
                    self.hand_overs += 1;
                    self.pending.may_fail += 1;
                    // (In free mode a LocalDescriptionSet may come before the
                    // offer or answer was even asked for.)
                    let ok = match h {
                        HostCall::StartCall => (self.caller || !self.shell) && self.host.start_call,
                        HostCall::AcceptCall => (self.callee || !self.shell) && self.host.accept_call,
                    };
                    self.check(ok, || format!("{h:?} by the wrong side or without host support"));
                }
                Effect::AcquireMedia { .. } => {
                    self.pending.media += 1;
                    self.acquired += 1;
                    // Privacy: the camera and microphone stay off until the
                    // person consented to a call.
                    self.check(self.consent && after.phase != Phase::Incoming, || {
                        "AcquireMedia before the person consented to a call".into()
                    });
                    // (The camera against the flags or the prompt's choice:
                    // one copy, in the shared invariants.)
                }
                Effect::StartCamera(_) => {
                    self.pending.camera += 1;
                    // (In free mode media may "arrive" unasked, even during
                    // the prompt; the browser cannot do that.)
                    self.check(!self.shell || (self.consent && after.phase != Phase::Incoming), || {
                        "StartCamera before the person consented to a call".into()
                    });
                    self.check(!flags.disable_video_completely, || "StartCamera with disableVideoCompletely".into());
                }
                Effect::LoadIceServers => self.pending.servers += 1,
                Effect::Send(ch, text) => {
                    let m = parse_message(*ch, text);
                    self.check(m.is_some(), || format!("sent a malformed {ch:?} message: {text}"));
                    if let Some(Incoming::Renegotiation(Renegotiation::RestartRequest)) = m {
                        self.peer_owes_offer = true;
                        self.check(!self.caller, || "the caller asks for a restart".into());
                        self.check(self.connected_once, || "restart request before the call connected".into());
                        if !self.connected {
                            self.restarts_while_down += 1;
                        }
                    }
                }
                Effect::SendDescription => {
                    self.check(self.connected_once, || "SendDescription before connecting".into());
                    self.peer_owes_answer = self.caller;
                }
                Effect::StartScreen => {
                    self.pending.screen += 1;
                    self.check(matches!(after.phase, Phase::InCall | Phase::Reconnecting), || {
                        "StartScreen outside a call".into()
                    });
                    self.check(!flags.disable_video_completely, || "StartScreen with disableVideoCompletely".into());
                }
                // AddCandidate, SetMic, StopCamera, StopScreen, QueryRoute,
                // LimitVideo, Log, and effects added later: no invariant of
                // their own (the phase rules above still apply to them).
                _ => {}
            }
        }
        self.check(self.restarts_while_down <= MAX_RESTARTS, || "more than 3 restart attempts while down".into());
        if after.phase == Phase::Incoming {
            self.check(!self.described, || "a description (gathering) while the prompt shows".into());
        }
    }

    /// What the shell and the other peer do next when all goes well: the
    /// oldest outstanding request succeeds, the remote side answers, the
    /// connection comes up, the channels open. This gets runs deep into
    /// calls; the fuzzer interleaves everything else.
    fn happy(&mut self) -> Option<Input> {
        let phase = self.call.view().phase;
        let live_peer = self.peer && !self.peer_closed;
        let p = &mut self.pending;
        Some(if p.servers > 0 {
            p.servers -= 1;
            Input::IceServers(Ok(TURN_JSON.into()))
        } else if p.media > 0 {
            p.media -= 1;
            Input::Media(Ok(Media { audio: true, video: true }))
        } else if p.local > 0 {
            p.local -= 1;
            Input::LocalDescriptionSet
        } else if p.remote > 0 {
            p.remote -= 1;
            Input::RemoteDescriptionSet
        } else if p.screen > 0 {
            p.screen -= 1;
            Input::ScreenStarted(true)
        } else if p.camera > 0 {
            p.camera -= 1;
            Input::CameraStarted(true)
        } else if live_peer && self.local_set && self.hand_overs == 0 {
            Input::Candidate(cand("relay", 7))
        } else if self.caller && self.hand_overs > 0 && !self.answer_sent {
            self.answer_sent = true;
            Input::HashChanged(format!("#onAnswer={}", b64(ANSWER)))
        } else if live_peer && !self.connected && self.local_set && self.remote_set && self.hand_overs > 0 {
            Input::Connection(ConnState::Connected)
        } else if live_peer && self.connected && self.open.contains(&false) {
            let i = self.open.iter().position(|o| !o).unwrap_or(0);
            self.open[i] = true;
            Input::ChannelOpen(Channel::ALL[i])
        } else if live_peer && self.peer_owes_answer {
            self.peer_owes_answer = false;
            Input::ChannelMessage(Channel::Renegotiation, Renegotiation::Answer(ANSWER_2.into()).to_json())
        } else if live_peer && self.peer_owes_offer {
            self.peer_owes_offer = false;
            Input::ChannelMessage(Channel::Renegotiation, Renegotiation::Offer(OFFER_2.into()).to_json())
        } else if phase == Phase::Incoming {
            Input::Click(Button::Answer)
        } else if phase == Phase::Idle {
            Input::HashChanged("#startCall".into())
        } else {
            return None;
        })
    }

    /// One step: a time step, then one input (None when the shell has
    /// nothing sensible to feed in shell mode).
    fn step(&mut self, u: &mut Unstructured) -> Result<()> {
        let dt = match u.choose_index(8)? {
            0 | 1 => 0,
            2 => u.int_in_range(1..=200)?,
            3 => u.int_in_range(100..=3000)?,
            4 => [150, 1500, 2000, 2500, 3000, 5000, 8000, 20_000][u.choose_index(8)?],
            5 => u.int_in_range(0..=30_000)?,
            _ => u.int_in_range(0..=50)?,
        };
        self.advance(self.now + dt);
        let shell = self.shell;
        let p = &self.pending;
        let live_peer = self.peer && !self.peer_closed;
        let input = match u.choose_index(34)? {
            26..=33 => match self.happy() {
                Some(i) => i,
                None => return Ok(()),
            },
            0 => Input::HashChanged(hostile_hash(u)?),
            1 if !shell || p.servers > 0 => {
                self.pending.servers = self.pending.servers.saturating_sub(1);
                Input::IceServers(hostile_servers(u)?)
            }
            2 if !shell || p.media > 0 => {
                self.pending.media = self.pending.media.saturating_sub(1);
                if u.ratio(1, 4)? {
                    Input::Media(Err(()))
                } else {
                    Input::Media(Ok(Media { audio: u.ratio(4, 5)?, video: u.arbitrary()? }))
                }
            }
            3 => match u.choose_index(7)? {
                0 | 1 => Input::CameraPresent(u.arbitrary()?),
                2 => Input::Cameras((0..u.int_in_range(0..=3)?).map(|i: u8| format!("cam-{i}")).collect()),
                3 => {
                    let kind = [DeviceKind::Camera, DeviceKind::Mic, DeviceKind::Speaker][u.choose_index(3)?];
                    Input::PickDevice(kind, any_string(u, 20)?)
                }
                4 => {
                    let facing = [None, Some("user"), Some("environment"), Some("left")][u.choose_index(4)?];
                    let device = [None, Some("cam-0"), Some("cam-2"), Some("gone")][u.choose_index(4)?];
                    Input::NextCamera { facing: facing.map(String::from), device: device.map(String::from) }
                }
                5 => Input::VideoLimitFailed,
                _ => Input::SendVideoFailed,
            },
            4 if !shell || p.camera > 0 => {
                self.pending.camera = self.pending.camera.saturating_sub(1);
                Input::CameraStarted(u.ratio(3, 4)?)
            }
            5 if !shell || p.local > 0 => {
                self.pending.local = self.pending.local.saturating_sub(1);
                Input::LocalDescriptionSet
            }
            6 if !shell || p.remote > 0 => {
                self.pending.remote = self.pending.remote.saturating_sub(1);
                Input::RemoteDescriptionSet
            }
            7 if !shell || p.local + p.remote + p.may_fail > 0 => {
                let pe = &mut self.pending;
                match u.choose_index(3)? {
                    0 if pe.local > 0 => {
                        pe.local -= 1;
                        self.reneg_local = self.reneg_local.saturating_sub(1);
                        self.reneg_overlap &= self.reneg_local > 0;
                    }
                    1 if pe.remote > 0 => pe.remote -= 1,
                    _ if pe.may_fail > 0 => pe.may_fail -= 1,
                    _ if pe.local > 0 => {
                        pe.local -= 1;
                        self.reneg_local = self.reneg_local.saturating_sub(1);
                        self.reneg_overlap &= self.reneg_local > 0;
                    }
                    _ => pe.remote = pe.remote.saturating_sub(1),
                }
                Input::PeerError
            }
            8 | 9 if !shell || (live_peer && self.local_set) => {
                let c = hostile_candidate(u)?;
                if u.ratio(1, 10)? {
                    Input::GatheringComplete
                } else {
                    Input::Candidate(c)
                }
            }
            10 | 11 if !shell || live_peer => {
                let s = [
                    ConnState::New,
                    ConnState::Connecting,
                    ConnState::Connected,
                    ConnState::Disconnected,
                    ConnState::Failed,
                    ConnState::Closed,
                ][u.choose_index(6)?];
                // Up only once both descriptions are in and the SDP went out.
                if shell && s == ConnState::Connected && !(self.local_set && self.remote_set && self.hand_overs > 0) {
                    return Ok(());
                }
                Input::Connection(s)
            }
            12 if !shell || live_peer => {
                let ch = Channel::ALL[u.choose_index(3)?];
                if shell && !self.connected_once {
                    return Ok(());
                }
                let i = chan_index(ch);
                if u.ratio(1, 6)? {
                    self.open[i] = false;
                    Input::ChannelClosed(ch)
                } else {
                    self.open[i] = true;
                    Input::ChannelOpen(ch)
                }
            }
            13 | 14 if !shell || live_peer => {
                let ch = Channel::ALL[u.choose_index(3)?];
                if shell && !self.open[chan_index(ch)] {
                    return Ok(());
                }
                Input::ChannelMessage(ch, hostile_message(u)?)
            }
            15 if u.ratio(3, 4)? => Input::NetworkChanged,
            15 => Input::AddressGone,
            16 if !shell || live_peer => Input::RemoteVideo(u.arbitrary()?),
            17 if !shell || live_peer => Input::Route([Route::P2p, Route::Relay, Route::Unknown][u.choose_index(3)?]),
            18 | 19 => Input::Click(
                [Button::Answer, Button::End, Button::Mic, Button::Cam, Button::Screen, Button::Quality, Button::Devices]
                    [u.choose_index(7)?],
            ),
            21 => Input::CanShareScreen(u.ratio(3, 4)?),
            22 if !shell || p.screen > 0 => {
                self.pending.screen = self.pending.screen.saturating_sub(1);
                Input::ScreenStarted(u.ratio(3, 4)?)
            }
            23 if !shell || self.pending.screen == 0 => Input::ScreenEnded,
            24 | 25 if !shell || live_peer => {
                // Cumulative counters, mostly growing, sometimes reset.
                let prev = self.sample;
                let grow = |u: &mut Unstructured, x: u64| -> Result<u64> {
                    Ok(if u.ratio(1, 10)? { u.arbitrary()? } else { x.saturating_add(u.int_in_range(0..=5000)?) })
                };
                let s = Sample {
                    at_ms: grow(u, prev.at_ms)?,
                    rtt_ms: if u.ratio(1, 5)? { None } else { Some(u.int_in_range(0..=2000)?) },
                    packets_received: grow(u, prev.packets_received)?,
                    packets_lost: grow(u, prev.packets_lost)?,
                    bytes_received: grow(u, prev.bytes_received)?,
                    bytes_sent: grow(u, prev.bytes_sent)?,
                };
                self.sample = s;
                Input::Stats(s)
            }
            20 => {
                // Jump to the call's next deadline.
                if let Some(due) = self.call.poll_timeout() {
                    self.advance(due);
                }
                return Ok(());
            }
            _ if !shell && u.ratio(1, 50)? => Input::Crashed,
            // The host's startCall/acceptCall throws (right after the
            // hand-over, in the shell).
            _ if (!shell || self.hand_overs > 0) && u.ratio(1, 50)? => Input::HostFailed,
            _ => return Ok(()),
        };
        self.feed(input);
        Ok(())
    }
}

fn run(data: &[u8]) -> Result<()> {
    let mut u = Unstructured::new(data);
    let shell = u.arbitrary::<u8>()? & 1 == 0;
    let search = hostile_search(&mut u)?;
    let hash = hostile_hash(&mut u)?;
    let host = if u.ratio(7, 8)? {
        HostApi::FULL
    } else if u.ratio(1, 4)? {
        HostApi::default() // no window.calls at all
    } else {
        HostApi {
            present: true,
            start_call: u.arbitrary()?,
            accept_call: u.arbitrary()?,
            end_call: u.arbitrary()?,
            get_ice_servers: u.arbitrary()?,
        }
    };
    let webrtc = u.ratio(15, 16)?;
    let mut h = Harness {
        call: Call::new(),
        shell,
        host,
        now: 100_000 + u.int_in_range(0..=1u64 << 32)?,
        pending: Pending::default(),
        watch: Watch::new(host),
        trace: vec![format!("mode: {}", if shell { "shell" } else { "free" })],
        peer: false,
        peer_closed: false,
        local_set: false,
        remote_set: false,
        connected: false,
        last_conn: None,
        connected_once: false,
        open: [false; 3],
        hand_overs: 0,
        consent: false,
        described: false,
        answered: false,
        caller: false,
        callee: false,
        acquired: 0,
        restarts_while_down: 0,
        sample: Sample::default(),
        answer_sent: false,
        reneg_local: 0,
        reneg_overlap: false,
        held_offer: None,
        peer_owes_answer: false,
        peer_owes_offer: false,
    };
    h.feed(Input::Started { search, hash, host, webrtc });
    for _ in 0..MAX_STEPS {
        if u.is_empty() {
            break;
        }
        h.step(&mut u)?;
    }
    // Liveness: nothing more happens but time passes. A call whose
    // connection dropped (disconnected or failed) after it was up must end
    // by itself (bounded restarts); one never connected must not stay
    // "connecting" once its descriptions are in (the connect timeout).
    if h.shell && !h.peer_closed {
        let down = h.connected_once && matches!(h.last_conn, Some(ConnState::Disconnected | ConnState::Failed));
        let connecting = !h.connected_once && h.remote_set && h.local_set && h.hand_overs > 0;
        for _ in 0..100 {
            let Some(due) = h.call.poll_timeout() else { break };
            h.advance(due);
        }
        if down || connecting {
            let p = h.call.view().phase;
            h.check(matches!(p, Phase::Ended | Phase::Failed), || {
                format!("the call is stuck in {} with no more input", p.as_str())
            });
        }
    }
    if std::env::var_os("CALL_FUZZ_TRACE").is_some() {
        eprintln!("{}\nfinal view: {:?}", h.trace.join("\n"), h.call.view());
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(data);
});
