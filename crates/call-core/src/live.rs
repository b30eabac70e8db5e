//! A call that has connected (the `Live` stage): the connection's states
//! and the restarts they call for ([`crate::restart`]), the route and the
//! outgoing video cap, the quality samples. Part of [`Call`]'s rules;
//! `machine.rs` dispatches.

use alloc::string::String;
use alloc::vec::Vec;

use crate::channel::{self, Channel};
use crate::io::Effect;
use crate::machine::Call;
use crate::params::{ROUTE_POLL_FAST_MS, RELAY_VIDEO_KBPS, LOW_DATA_VIDEO_KBPS};
use crate::restart::Do;
use crate::stage::{CapAsked, Live, Setup, Stage, Step};
use crate::text::Msg;
use crate::vocab::Route;
use crate::vocab::{VideoSend, ConnState};
use crate::congestion::Tier;
use crate::view::Dev;

impl Call {
    pub(crate) fn connection(&mut self, now: u64, s: ConnState) {
        match (&mut self.stage, s) {
            (Stage::Setup(setup @ Setup { step: Step::Connecting { .. }, .. }), ConnState::Connected) => {
                let (role, link) = (setup.role(), core::mem::take(&mut setup.link));
                self.stage = Stage::Live(Live::new(role, link, now, now + ROUTE_POLL_FAST_MS));
                self.out(Effect::QueryRoute);
                self.clear_notice(Msg::AnswerRejected);
            }
            (Stage::Setup(_), ConnState::Failed) => self.fail(now, Msg::ConnectFailed),
            (Stage::Live(l), ConnState::Connected) => {
                let mut dos = Vec::new();
                l.restarts.connected(&mut |d| dos.push(d));
                // The path may have changed (relay after a restart).
                self.out(Effect::QueryRoute);
                self.perform_restart(now, dos);
                self.clear_notice(Msg::AnswerRejected);
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
    pub(crate) fn restart_do(&mut self, now: u64, rule: impl FnOnce(&mut crate::restart::Restarts, u64, bool, &mut dyn FnMut(Do))) {
        let Stage::Live(l) = &mut self.stage else { return };
        let mut dos = Vec::new();
        rule(&mut l.restarts, now, l.link.open.contains(Channel::Renegotiation), &mut |d| dos.push(d));
        self.perform_restart(now, dos);
    }

    /// Our end of the selected pair (the answer to `CheckAddress`): where
    /// its address says something about the device's (`ice::path_address`),
    /// list the device's addresses.
    pub(crate) fn path_end(&mut self, candidate_type: &str, address: Option<&str>, related: Option<&str>) {
        if !matches!(self.stage, Stage::Live(_)) {
            return;
        }
        if let Some(ours) = crate::ice::path_address(candidate_type, address, related) {
            self.out(Effect::ProbeAddresses(ours.into()));
        }
    }

    /// The device's addresses now (the answer to `ProbeAddresses`): if
    /// ours is not among them, the path cannot come back by itself.
    pub(crate) fn addresses_found(&mut self, now: u64, ours: &str, found: &[String]) {
        let hosts: Vec<String> = found.iter().filter_map(|l| crate::ice::host_address(l)).map(String::from).collect();
        if crate::ice::address_gone(ours, &hosts) {
            self.restart_rule(now, "our address is gone", |r, t, ch, out| r.address_gone(t, ch, out));
        }
    }

    /// A restart rule that only applies once the call is live.
    pub(crate) fn restart_rule(
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

    pub(crate) fn perform_restart(&mut self, now: u64, dos: Vec<Do>) {
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

    /// Sends our video as the path allows: capped for the relay or the
    /// `lowData` flag, smaller or paused when the path is narrow
    /// (`crate::congestion`); asks the shell only when that changed.
    pub(crate) fn limit_video(&mut self) {
        let low_data = self.flags.low_data;
        let (tier, budget) = match &self.stage {
            Stage::Live(l) => (l.congestion.tier(), l.congestion.video_budget()),
            _ => (Tier::Full, None),
        };
        let Some(link) = self.link() else { return };
        let mut send = if low_data {
            VideoSend::capped(LOW_DATA_VIDEO_KBPS)
        } else if link.route == Route::Relay {
            VideoSend::capped(RELAY_VIDEO_KBPS)
        } else {
            VideoSend::FREE
        };
        send.max_kbps = match (send.max_kbps, budget) {
            (Some(cap), Some(b)) => Some(cap.min(b)),
            (cap, b) => cap.or(b),
        };
        send.scale = send.scale.max(tier.scale());
        send.max_fps = tier.max_fps();
        send.active = tier != Tier::Paused;
        if link.video_cap != CapAsked::Is(send) {
            link.video_cap = CapAsked::Is(send);
            self.out(Effect::LimitVideo(send));
        }
    }

    /// Whether our video is paused for the path (`Tier::Paused`): the
    /// peer is told, and both screens say so.
    pub(crate) fn video_paused(&self) -> bool {
        matches!(&self.stage, Stage::Live(l) if l.congestion.tier() == Tier::Paused)
    }

    pub(crate) fn video_limit_failed(&mut self) {
        self.log("the video cap could not be set; again with the next route");
        if let Some(link) = self.link() {
            link.video_cap = CapAsked::Unknown;
        }
    }

    pub(crate) fn stats(&mut self, cur: crate::quality::Sample) {
        let Stage::Live(l) = &mut self.stage else { return };
        if let Some(prev) = l.last_sample.replace(cur) {
            l.quality = crate::quality::assess(&prev, &cur, l.media_expected()).or(l.quality);
        }
    }

    /// What the path is estimated to carry from us: how our camera's
    /// video is sent (`crate::congestion`).
    pub(crate) fn estimate(&mut self, now: u64, kbps: Option<u32>, video_sent: Option<u64>) {
        let camera = self.local.cam() == Dev::On && !self.local.sharing() && self.flags.video_allowed();
        let Stage::Live(l) = &mut self.stage else { return };
        if l.restarts.conn() != ConnState::Connected {
            l.congestion.hold(now);
            return;
        }
        let was_paused = l.congestion.tier() == Tier::Paused;
        let tier = l.congestion.sample(now, camera, kbps, video_sent);
        if !l.congestion.budget(kbps) && tier.is_none() {
            return;
        }
        if let Some(tier) = tier {
            let est = kbps.map_or_else(|| "none".into(), |k| crate::json::itoa(u64::from(k)));
            self.log(["video for the path: ", tier.as_str(), " (estimate ", &est, " kbit/s)"].concat());
        }
        self.limit_video();
        let Some(tier) = tier else { return };
        if was_paused != (tier == Tier::Paused) {
            self.send_muted_state();
        }
    }

    pub(crate) fn route(&mut self, r: Route) {
        if let Some(link) = self.link() {
            link.route = r;
            self.limit_video();
        }
    }
}
