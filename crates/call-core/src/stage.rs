//! Where a call is, as types: each stage holds only the data that exists
//! in it, so combinations that cannot happen (an answer in flight before
//! the offer went out, a restart before the call connected) cannot be
//! written down. [`crate::machine::Call`] moves between them.
//!
//! ```text
//! Idle ──#offerIncomingCall──▶ Prompt ──Answer──┐
//!  │ ▲ (a damaged offer: NotReceived, then as Idle)
//!  │                                            ▼
//!  └──────────#startCall / #acceptCall────▶ Preparing (servers; media in parallel)
//!                                               │ peer created
//!                                               ▼
//!        Setup: Describing ─▶ Gathering ─▶ (caller) Ringing ⇄ Answering ─▶ Connecting
//!                                      └─▶ (callee) ─────────────────────▶ Connecting
//!                                                                              │ connected
//!                                                                              ▼
//!                                                                             Live
//! any stage ──hang-up, decline, failure──▶ Over
//! ```

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;

use crate::channel::{Channels, MutedState};
use crate::guard::Guard;
use crate::ice::CandidateInit;
use crate::ice::IceWait;
use crate::vocab::ConnState;
use crate::quality::{Quality, Sample};
use crate::restart::{Restarts, Role};
use crate::text::Msg;
use crate::vocab::Route;

#[derive(Debug)]
pub enum Stage {
    /// Loaded, no command yet.
    Idle,
    /// An incoming offer came damaged (not base64, not an SDP) while no
    /// call was under way: the person is told, with a way out; a later
    /// valid command replaces it as it would replace `Idle`.
    NotReceived,
    /// The incoming-call prompt; the offer is not touched before Answer.
    Prompt { offer: String },
    /// A call was asked for; waiting for the ICE servers before the peer
    /// connection can be made (getUserMedia runs meanwhile and does not
    /// hold it up).
    Preparing(Preparing),
    /// The peer connection exists and is being set up.
    Setup(Setup),
    /// The connection has come up at least once.
    Live(Live),
    Over(Over),
}

impl Stage {
    /// No peer connection is set up for a call yet (one may be made at
    /// load, but no call uses it).
    pub fn before_peer(&self) -> bool {
        matches!(self, Stage::Idle | Stage::NotReceived | Stage::Prompt { .. } | Stage::Preparing(_))
    }
}

#[derive(Debug)]
pub struct Preparing {
    /// When the command came that our description answers (`#startCall`,
    /// the answer): the ICE wait ends by `OFFER_BY_MS` after it.
    pub asked_at: u64,
    pub side: Side,
}

/// Which description we are to make.
#[derive(Debug)]
pub enum Side {
    /// An offer.
    Caller,
    /// An answer to this offer.
    Callee { offer: String },
}

#[derive(Debug)]
pub struct Setup {
    pub link: Link,
    pub step: Step,
}

impl Setup {
    /// Who makes the offer. Only a caller rings and applies an answer:
    /// those steps name no role, so a callee cannot be in them.
    pub fn role(&self) -> Role {
        match &self.step {
            Step::Describing(d) | Step::Gathering(d) => d.role,
            Step::Ringing | Step::Answering => Role::Caller,
            Step::Connecting { role, .. } => *role,
        }
    }

    /// Until when the screen keeps what it showed before the command.
    pub fn hold(&self) -> Option<u64> {
        match &self.step {
            Step::Describing(d) | Step::Gathering(d) => d.hold,
            _ => None,
        }
    }
}

/// Our description on its way to the host (either role).
#[derive(Debug, Clone)]
pub struct Describe {
    pub role: Role,
    pub wait: IceWait,
    /// Until when the screen keeps what it showed before the command
    /// (`View::hold`); `None`: it follows the call. It exists only while
    /// the description is on its way: once it is with the host the screen
    /// shows the call.
    pub hold: Option<u64>,
}

/// The setup of the peer connection, in order.
#[derive(Debug)]
pub enum Step {
    /// Our description is being made (callee: the offer is applied first).
    /// Candidates may already count for the wait.
    Describing(Describe),
    /// It is set locally; waiting for enough candidates to hand it to the
    /// host.
    Gathering(Describe),
    /// Caller: the offer is with the host; waiting for `#onAnswer`.
    Ringing,
    /// Caller: the answer is being applied.
    Answering,
    /// Both descriptions are in; ICE must connect by `until`.
    Connecting { role: Role, until: u64 },
}

/// What exists with the peer connection: the data channels and what the
/// peer reports through them.
#[derive(Debug)]
pub struct Link {
    /// Our audio and video transceivers exist (the caller's from the
    /// offer, the callee's once the offer is applied): captured tracks can
    /// go on their senders.
    pub senders: bool,
    /// The negotiated channels that are open. Channel 5 open means the
    /// peer has it (the Android client and this page do; the deployed
    /// TypeScript page does not): restarts can be negotiated.
    pub open: Channels,
    /// Candidates gathered after our description left, until
    /// `iceTrickling` opens.
    pub trickle_queue: Vec<String>,
    /// Remote video frames arrive.
    pub remote_video: bool,
    pub remote_muted: Option<MutedState>,
    /// How media reaches the peer, once looked up.
    pub route: Route,
    /// The outgoing video cap last asked of the shell.
    pub video_cap: CapAsked,
    /// The bounds on what the peer sends (PROTOCOL.md section 5a).
    pub guard: Guard,
    /// The newest message on channels 3 and 5 that came faster than the
    /// channel takes them: taken as soon as its rate allows, so that the
    /// peer's last word (its mute state, its newest restart offer) is
    /// never lost to a bound (see `Link::late`).
    pub late_muted: Option<String>,
    pub late_reneg: Option<String>,
    /// Trickled candidates of this generation waiting for their turn
    /// (`guard::CANDIDATE_RATE`); `None` is the end-of-candidates marker,
    /// which keeps its place after them. At most `guard::MAX_CANDIDATES`
    /// candidates.
    pub waiting_candidates: VecDeque<Option<CandidateInit>>,
}

impl Link {
    /// Where the newest too-early message of `ch` waits (`None`: the
    /// channel keeps none; a late candidate is simply dropped).
    pub fn late(&mut self, ch: crate::channel::Channel) -> Option<&mut Option<String>> {
        use crate::channel::Channel;
        match ch {
            Channel::IceTrickling => None,
            Channel::MutedState => Some(&mut self.late_muted),
            Channel::Renegotiation => Some(&mut self.late_reneg),
        }
    }
}

impl Default for Link {
    fn default() -> Link {
        Link {
            senders: false,
            open: Channels::default(),
            trickle_queue: Vec::new(),
            remote_video: false,
            remote_muted: None,
            route: Route::Unknown,
            video_cap: CapAsked::Is(crate::vocab::VideoSend::FREE),
            guard: Guard::default(),
            late_muted: None,
            late_reneg: None,
            waiting_candidates: VecDeque::new(),
        }
    }
}

/// The outgoing video cap last asked of the shell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapAsked {
    /// These encoding parameters (`VideoSend::FREE` as the browser starts).
    Is(crate::vocab::VideoSend),
    /// Not known: setting it failed; the next route asks again.
    Unknown,
}

#[derive(Debug)]
pub struct Live {
    pub link: Link,
    pub restarts: Restarts,
    /// When media first flowed: the call timer counts from here.
    pub connected_at: u64,
    /// The next route and statistics query, or the next estimate look-up
    /// when that comes first.
    pub poll_at: u64,
    /// The next full query (`Effect::QueryRoute`).
    pub full_poll_at: u64,
    /// When the call timer shows its next second.
    pub clock_at: u64,
    pub last_sample: Option<Sample>,
    pub quality: Option<Quality>,
    /// The person opened the quality details.
    pub details: bool,
    /// Callee: the peer's newest restart offer, waiting until the exchange
    /// under way is over and the offers' rate allows (`crate::guard`);
    /// one at a time, so our answer always answers the offer last applied.
    pub waiting_offer: Option<String>,
    /// How our camera's video is sent on this path (audio first).
    pub congestion: crate::congestion::Congestion,
}

impl Live {
    /// What to say when the other side closed the connection. Only a peer
    /// that reached us on channel 3 (every peer sends its state there once
    /// its side is up) had a working call to hang up; one that never did
    /// may have failed (a wrong DTLS fingerprint ends the caller before its
    /// channels open), so the page says only what it knows.
    pub fn peer_gone(&self) -> Msg {
        if self.link.remote_muted.is_some() {
            Msg::PeerHungUp
        } else {
            Msg::ConnectionClosed
        }
    }

    /// Whether silence is a poor connection (see `quality::assess`): not
    /// when the peer said on channel 3 that it sends neither audio nor
    /// video, as long as the connection is up. While it is down, silence
    /// counts whatever the peer chose (a quiet peer could be graded good
    /// throughout an outage, beside "Reconnecting…").
    pub fn media_expected(&self) -> bool {
        self.restarts.conn() != ConnState::Connected
            || self.link.remote_muted.is_none_or(|m| m.audio_enabled || m.video_enabled)
    }

    pub fn new(role: Role, link: Link, now: u64, poll_at: u64) -> Live {
        Live {
            link,
            restarts: Restarts::new(role),
            connected_at: now,
            poll_at,
            full_poll_at: poll_at,
            clock_at: now + crate::params::CLOCK_TICK_MS,
            last_sample: None,
            quality: None,
            details: false,
            waiting_offer: None,
            congestion: crate::congestion::Congestion::default(),
        }
    }
}

#[derive(Debug)]
pub struct Over {
    pub outcome: Outcome,
    /// Kept from the live stage: the call's duration stays on screen.
    pub connected_at: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Our hang-up or decline, or the peer's: `endCall` went out at once.
    Ended(Msg),
    /// The call could not go on; the reason shows until `linger` (then
    /// `endCall`), or until the person presses End. `None`: nothing is
    /// left to do (told already, or no host to tell).
    Failed { why: Msg, linger: Option<u64> },
}
