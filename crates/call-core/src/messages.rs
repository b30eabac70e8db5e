//! What the peer says on the negotiated data channels (PROTOCOL.md
//! section 5), taken within the bounds of [`crate::guard`] (section 5a):
//! candidates, mute states, the restart exchange on channel 5, channels
//! the peer opens of its own. Part of [`Call`]'s rules; `machine.rs`
//! dispatches.

use alloc::string::String;
use alloc::vec::Vec;

use crate::channel::{self, Channel, Incoming};
use crate::guard::{Admit, Refused};
use crate::io::Effect;
use crate::machine::Call;
use crate::restart::{Exchange, Role};
use crate::stage::Stage;
use crate::vocab::ConnState;

impl Call {
    /// A message on the `renegotiation` channel.
    pub(crate) fn renegotiation(&mut self, now: u64, m: channel::Renegotiation) {
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
    pub(crate) fn apply_waiting_offer(&mut self, now: u64) {
        let Stage::Live(l) = &mut self.stage else { return };
        if l.waiting_offer.is_none() || l.restarts.exchange() != Exchange::Idle || !l.link.guard.offer(now) {
            return;
        }
        let Some(sdp) = l.waiting_offer.take() else { return };
        l.restarts.offer_received();
        self.set_remote(true, sdp);
    }

    /// Hands the browser the waiting candidates whose turn has come.
    pub(crate) fn candidates_in_turn(&mut self, now: u64) {
        let mut out = Vec::new();
        if let Some(l) = self.link() {
            while !l.waiting_candidates.is_empty() && l.guard.candidate_turn(now) {
                out.extend(l.waiting_candidates.pop_front());
            }
        }
        for c in out {
            self.out(Effect::AddCandidate(c));
        }
    }

    /// Applies the peer's description. It starts a new ICE generation, its
    /// candidates bounded (`crate::guard`); candidates of the old one that
    /// still wait are dropped. An offer says first which of its media
    /// sections carry the call.
    pub(crate) fn set_remote(&mut self, offer: bool, sdp: String) {
        let Some(link) = self.link() else { return };
        link.waiting_candidates.clear();
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
    pub(crate) fn refuse(&mut self, r: Refused) {
        if let Some(line) = self.link().and_then(|l| l.guard.refuse(r)) {
            self.log(line);
        }
    }

    /// What the peer sent faster than its bounds allow, whose time has come.
    pub(crate) fn late_from_peer(&mut self, now: u64) {
        for ch in [Channel::MutedState, Channel::Renegotiation] {
            let Some(link) = self.link() else { return };
            let due = link.late(ch).is_some_and(|m| m.is_some()) && link.guard.admit(now, ch, Some(0)) == Admit::Yes;
            if let Some(text) = link.late(ch).filter(|_| due).and_then(Option::take) {
                self.parsed(now, ch, &text);
            }
        }
        self.apply_waiting_offer(now);
        self.candidates_in_turn(now);
    }

    /// The peer opened a data channel of its own: this protocol has none.
    pub(crate) fn foreign_channel(&mut self) {
        self.refuse(Refused::Channel);
        self.out(Effect::CloseForeignChannels);
    }

    pub(crate) fn channel_open(&mut self, ch: Channel) {
        let Some(link) = self.link() else { return };
        link.open.insert(ch);
        match ch {
            Channel::IceTrickling => {
                for m in core::mem::take(&mut link.trickle_queue) {
                    self.out(Effect::Send(Channel::IceTrickling, m));
                }
            }
            Channel::MutedState => self.send_muted_state(),
            Channel::Renegotiation => {}
        }
    }

    pub(crate) fn channel_closed(&mut self, ch: Channel) {
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

    pub(crate) fn send_muted_state(&mut self) {
        let mut m = self.local.muted_state();
        if self.video_paused() {
            m.video_enabled = false;
            m.video_paused = true;
        }
        let m = m.to_json();
        if self.link().is_some_and(|l| l.open.contains(Channel::MutedState)) {
            self.out(Effect::Send(Channel::MutedState, m));
        }
    }

    /// A message from the peer (`None`: a binary one), within its
    /// channel's bounds (`crate::guard`).
    pub(crate) fn message(&mut self, now: u64, ch: Channel, text: Option<String>) {
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

    pub(crate) fn parsed(&mut self, now: u64, ch: Channel, text: &str) {
        match channel::parse_message(ch, text) {
            None => {
                let head: String = text.chars().take(60).collect();
                self.log(["ignored malformed message on ", ch.label(), ": ", &head].concat());
            }
            Some(Incoming::Candidate(c)) => {
                if let Some(l) = self.link() {
                    if l.guard.candidate() {
                        l.waiting_candidates.push_back(Some(c));
                    } else {
                        self.refuse(Refused::Candidates);
                    }
                }
                self.candidates_in_turn(now);
            }
            // Once per generation: a peer repeating it has nothing to wait for.
            Some(Incoming::EndOfCandidates) => {
                if let Some(l) = self.link().filter(|l| !l.waiting_candidates.contains(&None)) {
                    l.waiting_candidates.push_back(None);
                }
                self.candidates_in_turn(now);
            }
            Some(Incoming::Muted(m)) => {
                if let Some(link) = self.link() {
                    link.remote_muted = Some(m);
                }
            }
            Some(Incoming::Renegotiation(r)) => self.renegotiation(now, r),
        }
    }
}
