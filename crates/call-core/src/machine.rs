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

use crate::channel::Channel;
use crate::command::Flags;
use crate::guard::Counts;
use crate::ice::IceServer;
use crate::media::Local;
use crate::restart::{Exchange, Wait};
use crate::stage::{Link, Outcome, Over, Setup, Stage, Step};
use crate::text::Msg;
use crate::view::Phase;

// The vocabulary and the API boundary, where the crate has always
// offered them (`call_core::machine::…`).
pub use crate::io::{Effect, Input};
pub use crate::params::*;
pub use crate::vocab::*;

/// The host's ICE servers.
#[derive(Debug)]
pub(crate) enum Servers {
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
    pub(crate) flags: Flags,
    pub(crate) host: HostApi,
    pub(crate) stage: Stage,
    /// Requested at start, before any call exists (`None`: not yet).
    pub(crate) servers: Option<Servers>,
    /// Our capture and controls: they outlive every stage but `Idle`.
    pub(crate) local: Local,
    /// A warning under the status line; any stage may set or clear it.
    pub(crate) notice: Option<Msg>,
    pub(crate) effects: VecDeque<Effect>,
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
        let servers = match self.servers {
            Some(Servers::Waiting { until }) if self.stage.before_peer() => Some((Wake::IceServers, until)),
            _ => None,
        };
        let clock = match &self.stage {
            Stage::Live(l) => Some((Wake::Clock, l.clock_at)),
            _ => None,
        };
        let (a, b, c) = match &self.stage {
            Stage::Setup(Setup { step: Step::Gathering(d), .. }) => {
                (Some((Wake::IceWait, d.wait.deadline())), d.hold.map(|at| (Wake::Screen, at)), None)
            }
            Stage::Setup(Setup { step: Step::Describing(d), .. }) => (d.hold.map(|at| (Wake::Screen, at)), None, None),
            Stage::Setup(Setup { step: Step::Connecting { until, .. }, .. }) => (Some((Wake::Connect, *until)), None, None),
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
        [servers, a, b, c, clock, self.peer_deadline()].into_iter().flatten()
    }

    /// When something the peer sent faster than its bounds allow is taken
    /// (`Wake::Peer`): a mute state, or a restart offer once no exchange
    /// is under way.
    pub(crate) fn peer_deadline(&self) -> Option<(Wake, u64)> {
        let link = self.link_ref()?;
        let muted = link.late_muted.as_ref().map(|_| link.guard.channel_ready_at(Channel::MutedState));
        let reneg = link.late_reneg.as_ref().map(|_| link.guard.channel_ready_at(Channel::Renegotiation));
        let candidates = (!link.waiting_candidates.is_empty()).then(|| link.guard.candidate_ready_at());
        let offer = match &self.stage {
            Stage::Live(l) if l.waiting_offer.is_some() && l.restarts.exchange() == Exchange::Idle => {
                Some(link.guard.offer_ready_at())
            }
            _ => None,
        };
        [muted, reneg, candidates, offer].into_iter().flatten().min().map(|at| (Wake::Peer, at))
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
            Stage::Setup(Setup { step: Step::Describing(d) | Step::Gathering(d), .. }) => Some(d.wait.deadline()),
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

    pub(crate) fn out(&mut self, e: Effect) {
        self.effects.push_back(e);
    }

    /// Takes the notice down if it is `which` (it is about something that
    /// no longer holds).
    pub(crate) fn clear_notice(&mut self, which: Msg) {
        if self.notice == Some(which) {
            self.notice = None;
        }
    }

    pub(crate) fn log(&mut self, s: impl Into<String>) {
        self.out(Effect::Log(s.into()));
    }

    /// Feeds one input at time `now` (milliseconds, monotonic).
    pub fn handle(&mut self, now: u64, input: Input) {
        // The list of shortcuts opens and closes in every stage.
        if let Input::Click(b @ (Button::Help | Button::CloseHelp)) = input {
            return self.local.help(b);
        }
        if let Stage::Over(_) = self.stage {
            return self.over(now, &input);
        }
        if let Stage::Setup(Setup { step: Step::Describing(d) | Step::Gathering(d), .. }) = &mut self.stage {
            d.hold = d.hold.filter(|at| now < *at);
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
            Input::MicStarted(ok) => self.mic_started(ok),
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
            Input::PathEnd { candidate_type, address, related } => {
                self.path_end(&candidate_type, address.as_deref(), related.as_deref())
            }
            Input::AddressesFound { ours, found } => self.addresses_found(now, &ours, &found),
            Input::RemoteVideo(on) => self.link().into_iter().for_each(|l| l.remote_video = on),
            Input::Route(r) => self.route(r),
            Input::CanShareScreen(can) => self.local.set_can_share(can),
            Input::CanPip(can) => self.local.set_can_pip(can),
            Input::CanPickSpeaker(can) => self.local.set_can_pick_speaker(can),
            Input::ScreenStarted(ok) => self.screen_started(ok),
            Input::ScreenEnded => self.stop_sharing(),
            Input::Stats(cur) => self.stats(cur),
            Input::Estimate { kbps, video_sent } => self.estimate(now, kbps, video_sent),
            Input::Click(b) => self.click(now, b),
            Input::Timeout => self.timeout(now),
            Input::Crashed => self.fail(now, Msg::Crashed),
        }
        // The input may have ended an exchange (a restart attempt gives up
        // the one under way): a restart offer that waited for it goes now,
        // not at a deadline already past.
        self.apply_waiting_offer(now);
    }

    /// After the end only two things matter: the failure message's time is
    /// up, or the person presses End during it. Then `endCall`, once.
    pub(crate) fn over(&mut self, now: u64, input: &Input) {
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

    pub(crate) fn link_ref(&self) -> Option<&Link> {
        match &self.stage {
            Stage::Setup(s) => Some(&s.link),
            Stage::Live(l) => Some(&l.link),
            _ => None,
        }
    }

    pub(crate) fn link(&mut self) -> Option<&mut Link> {
        match &mut self.stage {
            Stage::Setup(s) => Some(&mut s.link),
            Stage::Live(l) => Some(&mut l.link),
            _ => None,
        }
    }

    /// The time of one or more deadlines has come.
    pub(crate) fn timeout(&mut self, now: u64) {
        if let Some(Servers::Waiting { until }) = self.servers {
            if now >= until {
                self.log("getIceServers did not answer in time");
                self.ice_servers(now, Err(()));
            }
        }
        let camera = self.local.cam() == crate::view::Dev::On && !self.local.sharing();
        match &mut self.stage {
            Stage::Setup(Setup { step: Step::Gathering(_), .. }) => self.check_ice_wait(now),
            Stage::Setup(Setup { step: Step::Connecting { until, .. }, .. }) if now >= *until => {
                self.fail(now, Msg::ConnectFailed)
            }
            Stage::Live(l) => {
                if now >= l.clock_at {
                    // Nothing to do but show the next second: the view's
                    // clock is drawn with the time of this wake.
                    let shown = (now - l.connected_at) / CLOCK_TICK_MS;
                    l.clock_at = l.connected_at + (shown + 1) * CLOCK_TICK_MS;
                }
                if now >= l.poll_at {
                    let settled = l.quality.is_some_and(|q| q.level == crate::quality::Level::Good) && !l.details;
                    let full = now >= l.full_poll_at;
                    if full {
                        l.full_poll_at = now + if settled { ROUTE_POLL_MS } else { ROUTE_POLL_FAST_MS };
                    }
                    // Between full queries, our camera's video is watched
                    // with the light one (`crate::congestion`).
                    let light = if l.congestion.watching() {
                        Some(CONGESTION_POLL_MS)
                    } else {
                        camera.then_some(ESTIMATE_POLL_MS)
                    };
                    l.poll_at = light.map_or(l.full_poll_at, |d| l.full_poll_at.min(now + d));
                    if full {
                        self.out(Effect::QueryRoute);
                    }
                    if camera {
                        self.out(Effect::QueryEstimate);
                    }
                }
                self.restart_do(now, |r, now, ch, out| r.timeout(now, ch, out));
            }
            _ => {}
        }
    }

    /// The call ends normally: our hang-up, a decline, or the peer's.
    pub(crate) fn end(&mut self, why: Msg) {
        let connected_at = self.connected_at();
        self.stage = Stage::Over(Over { outcome: Outcome::Ended(why), connected_at });
        self.out(Effect::ClosePeer);
        // Desktop closes the window on `endCall`.
        if self.host.end_call {
            self.out(Effect::EndCall);
        }
    }

    /// The call cannot go on: show why, then end it cleanly.
    pub(crate) fn fail(&mut self, now: u64, why: Msg) {
        let connected_at = self.connected_at();
        let linger = Some(now + FAILURE_LINGER_MS);
        self.stage = Stage::Over(Over { outcome: Outcome::Failed { why, linger }, connected_at });
        self.log(why.en());
        self.out(Effect::ClosePeer);
    }
}

impl Default for Call {
    fn default() -> Self {
        Call::new()
    }
}
