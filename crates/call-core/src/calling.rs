//! From a command to a peer connection: the page's start, the commands in
//! the URL fragment (PROTOCOL.md section 3), the host's ICE servers, and
//! preparing a call (the `Idle`, `Prompt` and `Preparing` stages of
//! [`crate::stage`]). Part of [`Call`]'s rules; `machine.rs` dispatches.

use alloc::string::String;
use alloc::vec::Vec;

use crate::command::{parse_flags, parse_fragment, Command, Fragment};
use crate::ice::{parse_ice_servers, server_kinds, IceServer, IceWait, OFFER_BY_MS};
use crate::io::Effect;
use crate::machine::{Call, Servers};
use crate::params::{ICE_SERVERS_TIMEOUT_MS, SCREEN_HOLD_MS};
use crate::payload::decode_sdp_payload;
use crate::restart::Role;
use crate::stage::{Describe, Link, Outcome, Over, Preparing, Setup, Side, Stage, Step};
use crate::text::Msg;
use crate::vocab::HostApi;

impl Call {
    pub(crate) fn start(&mut self, now: u64, search: &str, hash: &str, host: HostApi, webrtc: bool) {
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

    pub(crate) fn fragment(&mut self, now: u64, hash: &str) {
        match parse_fragment(hash) {
            Fragment::Empty => {}
            Fragment::Unknown => {
                let head: String = hash.chars().take(40).collect();
                self.log(["ignored unknown command: ", &head].concat());
            }
            Fragment::Command(c) => self.command(now, c),
        }
    }

    pub(crate) fn command(&mut self, now: u64, c: Command) {
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
        if let (true, true, Stage::Setup(Setup { step: Step::Describing(d), .. })) = (blank, made, &mut self.stage) {
            d.hold = Some(now + SCREEN_HOLD_MS);
        }
    }

    pub(crate) fn command_on(&mut self, now: u64, c: Command, free: bool) {
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
            (Stage::Setup(Setup { step: Step::Ringing, .. }), Command::OnAnswer(p)) => {
                if let Some(sdp) = self.decode(&p) {
                    if let Stage::Setup(s) = &mut self.stage {
                        s.step = Step::Answering;
                    }
                    self.set_remote(false, sdp);
                }
            }
            (Stage::Setup(Setup { step: Step::Answering | Step::Connecting { role: Role::Caller, .. }, .. }) | Stage::Live(_), Command::OnAnswer(_)) => {
                self.log("ignored #onAnswer: already answered")
            }
            (_, Command::OnAnswer(_)) => self.log("ignored #onAnswer: no offer is waiting for an answer"),
        }
    }

    pub(crate) fn decode(&mut self, payload: &str) -> Option<String> {
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
    pub(crate) fn forget_bad_payload(&mut self) {
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
    pub(crate) fn prepare(&mut self, now: u64, side: Side) {
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

    pub(crate) fn ice_servers(&mut self, now: u64, r: Result<String, ()>) {
        // Once the peer exists the list can no longer matter; before that a
        // good list replaces the empty one the timeout put in place.
        let before_peer = self.stage.before_peer();
        let have = matches!(self.servers, Some(Servers::Ready(_)));
        if !before_peer || self.made_at_load() || (have && r.is_err()) {
            return;
        }
        let answered = r.is_ok();
        self.clear_notice(Msg::IceServersUnavailable);
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
    pub(crate) fn made_at_load(&self) -> bool {
        matches!(self.servers, Some(Servers::InPeer(_)))
    }

    pub(crate) fn create_peer_effect(&self, servers: Vec<IceServer>) -> Effect {
        let video = self.flags.video_allowed();
        Effect::CreatePeer { servers, relay_only: self.flags.relay_only, video }
    }

    /// Preparing → Setup, once the servers are there (media need not be);
    /// the peer made unless it was made at load.
    pub(crate) fn create_peer(&mut self, now: u64) {
        let (Stage::Preparing(_), Some(Servers::Ready(servers) | Servers::InPeer(servers))) = (&self.stage, &self.servers)
        else {
            return;
        };
        let (servers, made) = (servers.clone(), self.made_at_load());
        let Stage::Preparing(p) = &mut self.stage else { return };
        let mut wait = IceWait::new(server_kinds(&servers), now);
        wait.cap(p.asked_at + OFFER_BY_MS);
        let (role, offer) = match &mut p.side {
            Side::Caller => (Role::Caller, None),
            Side::Callee { offer } => (Role::Callee, Some(core::mem::take(offer))),
        };
        if !made {
            self.out(self.create_peer_effect(servers));
        }
        // The caller's transceivers come with the offer; the callee's with
        // the applied offer (`remote_set`).
        let link = Link { senders: role == Role::Caller, ..Link::default() };
        self.stage = Stage::Setup(Setup { link, step: Step::Describing(Describe { role, wait, hold: None }) });
        match offer {
            None => self.out(Effect::CreateOffer { ice_restart: false }),
            Some(offer) => self.set_remote(true, offer),
        }
        self.attach_media();
    }
}
