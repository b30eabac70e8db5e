//! Setting up the peer connection (the `Setup` stage): our description,
//! the peer's, our candidates and the ICE wait until the description goes
//! to the host (PROTOCOL.md section 4). Part of [`Call`]'s rules;
//! `machine.rs` dispatches.

use alloc::string::String;

use crate::channel::Channel;
use crate::ice::{CandidateInit, CandidateType};
use crate::io::Effect;
use crate::machine::Call;
use crate::params::CONNECT_TIMEOUT_MS;
use crate::restart::{Exchange, Role};
use crate::stage::{Describe, Setup, Stage, Step};
use crate::text::Msg;
use crate::vocab::HostCall;

impl Call {
    pub(crate) fn local_set(&mut self, now: u64) {
        match &mut self.stage {
            Stage::Setup(s) => {
                if let Step::Describing(d) = &s.step {
                    s.step = Step::Gathering(d.clone());
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

    pub(crate) fn remote_set(&mut self, now: u64) {
        match &mut self.stage {
            Stage::Setup(s @ Setup { step: Step::Describing(Describe { role: Role::Callee, .. }), .. }) => {
                s.link.senders = true;
                self.attach_media();
                self.out(Effect::CreateAnswer);
            }
            // (Also from Ringing: the answer's outcome may come after an
            // error of another operation was taken for its own.)
            Stage::Setup(s @ Setup { step: Step::Answering | Step::Ringing, .. }) => {
                s.step = Step::Connecting { role: Role::Caller, until: now + CONNECT_TIMEOUT_MS };
                self.clear_notice(Msg::AnswerRejected);
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

    pub(crate) fn peer_error(&mut self, now: u64) {
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

    pub(crate) fn candidate(&mut self, now: u64, c: CandidateInit) {
        match &mut self.stage {
            Stage::Setup(Setup { step: Step::Describing(d) | Step::Gathering(d), .. }) => {
                if let Some(t) = CandidateType::of_candidate(&c.candidate) {
                    d.wait.on_candidate(t, now);
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

    pub(crate) fn gathering_complete(&mut self, now: u64) {
        match &mut self.stage {
            Stage::Setup(Setup { step: Step::Describing(d) | Step::Gathering(d), .. }) => {
                d.wait.on_complete();
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

    pub(crate) fn trickle(&mut self, msg: String) {
        let Some(link) = self.link() else { return };
        if link.open.contains(Channel::IceTrickling) {
            self.out(Effect::Send(Channel::IceTrickling, msg));
        } else {
            link.trickle_queue.push(msg);
        }
    }

    /// Gathering: hands our description to the host once the wait is over.
    pub(crate) fn check_ice_wait(&mut self, now: u64) {
        let Stage::Setup(s @ Setup { step: Step::Gathering(_), .. }) = &mut self.stage else { return };
        let Step::Gathering(Describe { wait: w, role, .. }) = &s.step else { return };
        let role = *role;
        if !w.is_ready(now) {
            return;
        }
        let waited = w.elapsed(now);
        let (call, ok) = match role {
            Role::Caller => (HostCall::StartCall, self.host.start_call),
            Role::Callee => (HostCall::AcceptCall, self.host.accept_call),
        };
        if !ok {
            return self.fail(now, Msg::HostIncomplete);
        }
        s.step = match role {
            Role::Caller => Step::Ringing,
            Role::Callee => Step::Connecting { role, until: now + CONNECT_TIMEOUT_MS },
        };
        self.out(Effect::HandToHost(call));
        self.out(Effect::ShowRemote);
        // (After: writing to the console is not free, and the host waits.)
        self.log(["ICE wait ", &crate::json::itoa(waited), " ms"].concat());
    }
}
