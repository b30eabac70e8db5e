//! Keeping a connected call alive: the grace period after `disconnected`,
//! ICE restart attempts and their bound, the address check, and the
//! offer/answer exchange on the `renegotiation` channel (channel 5) that
//! carries a restart (PROTOCOL.md section 5).
//!
//! [`Restarts`] exists only while the call is live (it is part of the live
//! stage); it never touches the effect queue itself but says what to do
//! ([`Do`]), so its rules are tested here without a whole call.

use crate::params::{DISCONNECT_GRACE_MS, HELD_OFFER_MS, MAX_RESTARTS, RESTART_ATTEMPT_MS};
use crate::vocab::ConnState;

/// Who makes offers: only the caller does, in setup and in restarts (as the
/// Android client does); the callee asks for a restart instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Caller,
    Callee,
}

/// What a restart rule asks the call to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Do {
    /// Caller: create an offer with new ICE credentials.
    Offer,
    /// Callee: send `{"type":"restart-request"}` on channel 5.
    AskForRestart,
    /// Send the local description on channel 5 (a held restart offer).
    SendDescription,
    /// Find out whether our end of the path still has its address.
    CheckAddress,
    /// The peer cannot renegotiate: only ICE itself can recover.
    WaitForIce,
    /// Attempt number `n` starts (for the log).
    Attempt(u32),
    /// Out of attempts, or failed for good: the call is lost.
    Lost,
}

/// Why the call will be woken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// After `disconnected`: ICE may recover by itself.
    Grace,
    /// A restart attempt that has not reconnected yet.
    Attempt,
}

/// The offer/answer exchange on channel 5.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exchange {
    Idle,
    /// An offer or answer is under way (ours or the peer's).
    Negotiating,
    /// Caller: the peer's answer is being applied; another answer to the
    /// same offer is not taken (one `setRemoteDescription` per offer).
    Applying,
}

#[derive(Debug, Clone)]
pub struct Restarts {
    role: Role,
    /// Last reported connection state.
    conn: ConnState,
    /// Attempts since the connection was last up.
    attempts: u32,
    /// The one pending wait, if any; a new one replaces it.
    wait: Option<(Wait, u64)>,
    /// "Reconnecting" shows: an attempt began while the connection was down.
    reconnecting: bool,
    exchange: Exchange,
    /// Caller: a restart offer is set locally but not sent; it waits for
    /// its candidates until this time at the latest (see [`Restarts::hold`]).
    /// Apart from the exchange: whatever happens to that (a newer attempt,
    /// a late answer to an older offer, a failed step), a description that
    /// was set locally still goes out.
    held: Option<u64>,
}

impl Restarts {
    /// A call that has just connected.
    pub fn new(role: Role) -> Restarts {
        Restarts {
            role,
            conn: ConnState::Connected,
            attempts: 0,
            wait: None,
            reconnecting: false,
            exchange: Exchange::Idle,
            held: None,
        }
    }

    pub fn role(&self) -> Role {
        self.role
    }

    pub fn conn(&self) -> ConnState {
        self.conn
    }

    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    pub fn reconnecting(&self) -> bool {
        self.reconnecting
    }

    pub fn exchange(&self) -> Exchange {
        self.exchange
    }

    /// The next time [`Restarts::timeout`] has something to do.
    pub fn deadline(&self) -> Option<(Wait, u64)> {
        self.wait
    }

    pub fn held_until(&self) -> Option<u64> {
        self.held
    }

    /// The connection is up (again).
    pub fn connected(&mut self, out: &mut dyn FnMut(Do)) {
        self.conn = ConnState::Connected;
        self.send_held(out);
        self.settled();
        // An exchange under way stays: it must finish, or the answer (or
        // offer) it waits for would be dropped.
    }

    /// The connection went down; ICE may recover within the grace period.
    pub fn disconnected(&mut self, now: u64, out: &mut dyn FnMut(Do)) {
        self.conn = ConnState::Disconnected;
        self.wait = Some((Wait::Grace, now + DISCONNECT_GRACE_MS));
        out(Do::CheckAddress);
    }

    /// The connection failed: ICE gave up, only a restart can help.
    pub fn failed(&mut self, now: u64, channel: bool, out: &mut dyn FnMut(Do)) {
        self.conn = ConnState::Failed;
        self.begin(now, channel, out);
    }

    /// Any other connection state (`new`, `connecting`).
    pub fn other_state(&mut self, s: ConnState) {
        self.conn = s;
    }

    /// The device's network changed: restart before the old path times out.
    pub fn network_changed(&mut self, now: u64, channel: bool, out: &mut dyn FnMut(Do)) {
        self.begin(now, channel, out);
    }

    /// Our end of the path lost its address. The path cannot come back by
    /// itself, so the grace period is cut short; only for the first
    /// attempt of an outage (later ones run by their own timers).
    pub fn address_gone(&mut self, now: u64, channel: bool, out: &mut dyn FnMut(Do)) {
        if self.conn != ConnState::Connected && self.attempts == 0 {
            self.begin(now, channel, out);
        }
    }

    /// The wait is over: if the connection is still down, the next attempt.
    pub fn timeout(&mut self, now: u64, channel: bool, out: &mut dyn FnMut(Do)) {
        if let Some((_, at)) = self.wait {
            if now >= at {
                self.wait = None;
                if self.conn != ConnState::Connected {
                    // An exchange of the last attempt is abandoned.
                    self.exchange = Exchange::Idle;
                    self.begin(now, channel, out);
                }
            }
        }
        if let Some(until) = self.held_until() {
            if now >= until {
                self.send_held(out);
            }
        }
    }

    /// Gathering finished: a held offer has all its candidates.
    pub fn gathering_complete(&mut self, out: &mut dyn FnMut(Do)) {
        self.send_held(out);
    }

    /// The peer asks the caller for a restart.
    pub fn restart_requested(&mut self, now: u64, channel: bool, out: &mut dyn FnMut(Do)) {
        if self.exchange == Exchange::Idle {
            self.begin(now, channel, out);
        }
    }

    /// Callee: the peer's restart offer is being applied.
    pub fn offer_received(&mut self) {
        self.exchange = Exchange::Negotiating;
    }

    /// Caller: a restart answer is expected now.
    pub fn awaits_answer(&self) -> bool {
        self.exchange == Exchange::Negotiating
    }

    /// Caller: the answer came and is being applied.
    pub fn answer_received(&mut self) {
        self.exchange = Exchange::Applying;
    }

    /// A restart offer is set locally. Sent at once, it would leave over
    /// the old path: after an address change that path is dead, the
    /// message is lost, and SCTP retries it only with exponential backoff,
    /// because the callee, lacking our new ICE password, cannot acknowledge
    /// anything until it has the offer (measured: the call was lost). So it
    /// waits for its new candidates (they ride in its SDP), for the
    /// connection to come back, or `HELD_OFFER_MS`, whichever comes first.
    pub fn hold(&mut self, now: u64) {
        self.held = Some(now + HELD_OFFER_MS);
    }

    /// Whether candidates must wait for the held offer (they are in it).
    pub fn holding(&self) -> bool {
        self.held_until().is_some()
    }

    /// A renegotiation exchange is complete. If the connection never went
    /// down (a proactive restart after a network change, or the peer's
    /// request), the call simply goes on; otherwise `Connected` will come.
    pub fn exchange_done(&mut self) {
        self.exchange = Exchange::Idle;
        if self.conn == ConnState::Connected {
            self.settled();
        }
    }

    /// A renegotiation step failed; the attempt's timer retries.
    pub fn exchange_failed(&mut self) {
        self.exchange = Exchange::Idle;
    }

    fn settled(&mut self) {
        self.attempts = 0;
        self.wait = None;
        self.reconnecting = false;
    }

    fn send_held(&mut self, out: &mut dyn FnMut(Do)) {
        if self.held.take().is_some() {
            self.exchange = Exchange::Negotiating;
            out(Do::SendDescription);
        }
    }

    /// Starts an attempt: the caller sends an offer with new ICE
    /// credentials, the callee asks the caller to. `channel`: the peer has
    /// channel 5. Without it (the deployed TypeScript page) a restart offer
    /// cannot be carried, and a local offer nobody answers would wedge the
    /// connection's signaling state: ICE may still recover by itself, the
    /// attempt's time bounds the wait, and "failed" is final.
    fn begin(&mut self, now: u64, channel: bool, out: &mut dyn FnMut(Do)) {
        if self.attempts >= MAX_RESTARTS {
            return out(Do::Lost);
        }
        self.attempts += 1;
        if self.conn != ConnState::Connected {
            self.reconnecting = true;
        }
        self.wait = Some((Wait::Attempt, now + RESTART_ATTEMPT_MS));
        if !channel {
            return out(if self.conn == ConnState::Failed { Do::Lost } else { Do::WaitForIce });
        }
        out(Do::Attempt(self.attempts));
        match self.role {
            Role::Caller => {
                self.exchange = Exchange::Negotiating;
                out(Do::Offer);
            }
            Role::Callee => out(Do::AskForRestart),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn run(r: &mut Restarts, f: impl FnOnce(&mut Restarts, &mut dyn FnMut(Do))) -> Vec<Do> {
        let mut v = Vec::new();
        f(r, &mut |d| v.push(d));
        v
    }

    #[test]
    fn grace_then_attempts_then_lost() {
        let mut r = Restarts::new(Role::Caller);
        assert_eq!(run(&mut r, |r, o| r.disconnected(0, o)), [Do::CheckAddress]);
        assert_eq!(r.deadline(), Some((Wait::Grace, DISCONNECT_GRACE_MS)));
        assert!(!r.reconnecting(), "a short gap is not shown");
        assert_eq!(run(&mut r, |r, o| r.timeout(DISCONNECT_GRACE_MS - 1, true, o)), []);
        let t = DISCONNECT_GRACE_MS;
        assert_eq!(run(&mut r, |r, o| r.timeout(t, true, o)), [Do::Attempt(1), Do::Offer]);
        assert!(r.reconnecting());
        assert_eq!(r.deadline(), Some((Wait::Attempt, t + RESTART_ATTEMPT_MS)));
        let mut t = t;
        for n in 2..=MAX_RESTARTS {
            t += RESTART_ATTEMPT_MS;
            assert_eq!(run(&mut r, |r, o| r.timeout(t, true, o)), [Do::Attempt(n), Do::Offer]);
        }
        t += RESTART_ATTEMPT_MS;
        assert_eq!(run(&mut r, |r, o| r.timeout(t, true, o)), [Do::Lost]);
    }

    #[test]
    fn connecting_again_cancels_the_wait_but_not_an_exchange() {
        let mut r = Restarts::new(Role::Caller);
        run(&mut r, |r, o| r.failed(0, true, o));
        assert_eq!(r.exchange(), Exchange::Negotiating);
        run(&mut r, |r, o| r.connected(o));
        assert_eq!((r.deadline(), r.attempts(), r.reconnecting()), (None, 0, false));
        assert!(r.awaits_answer(), "the answer of the exchange under way is still taken");
        r.exchange_done();
        assert!(!r.awaits_answer());
    }

    #[test]
    fn held_offer_goes_at_the_first_of_gathering_connection_or_time() {
        for how in 0..3 {
            let mut r = Restarts::new(Role::Caller);
            run(&mut r, |r, o| r.network_changed(0, true, o));
            r.hold(10);
            assert!(r.holding());
            let sent = match how {
                0 => run(&mut r, |r, o| r.gathering_complete(o)),
                1 => run(&mut r, |r, o| r.connected(o)),
                _ => {
                    assert_eq!(run(&mut r, |r, o| r.timeout(10 + HELD_OFFER_MS - 1, true, o)), []);
                    run(&mut r, |r, o| r.timeout(10 + HELD_OFFER_MS, true, o))
                }
            };
            assert_eq!(sent, [Do::SendDescription], "case {how}");
            assert_eq!(r.exchange(), Exchange::Negotiating, "the answer is awaited");
            assert_eq!(run(&mut r, |r, o| r.gathering_complete(o)), [], "once");
        }
    }

    /// Found by fuzzing: a newer attempt dropped the held offer, so an
    /// offer the browser had set was never sent.
    #[test]
    fn a_held_offer_goes_out_whatever_happens_to_the_exchange() {
        for what in 0..4 {
            let mut r = Restarts::new(Role::Caller);
            run(&mut r, |r, o| r.network_changed(0, true, o));
            r.hold(10);
            match what {
                0 => drop(run(&mut r, |r, o| r.network_changed(20, true, o))),
                1 => r.exchange_done(),
                2 => r.exchange_failed(),
                _ => {
                    run(&mut r, |r, o| r.disconnected(20, o));
                    r.hold(RESTART_ATTEMPT_MS - 100);
                    assert_eq!(run(&mut r, |r, o| r.timeout(RESTART_ATTEMPT_MS, true, o)), [Do::Attempt(2), Do::Offer]);
                }
            }
            assert!(r.holding(), "case {what}");
            let at = r.held_until().unwrap_or(0);
            assert!(run(&mut r, |r, o| r.timeout(at, true, o)).contains(&Do::SendDescription), "case {what}");
            assert!(r.awaits_answer(), "its answer is taken (case {what})");
        }
    }

    #[test]
    fn without_channel_5_only_ice_can_recover() {
        let mut r = Restarts::new(Role::Caller);
        run(&mut r, |r, o| r.disconnected(0, o));
        assert_eq!(run(&mut r, |r, o| r.timeout(DISCONNECT_GRACE_MS, false, o)), [Do::WaitForIce]);
        assert_eq!(r.exchange(), Exchange::Idle, "no offer nobody would answer");
        assert_eq!(run(&mut r, |r, o| r.failed(DISCONNECT_GRACE_MS + 1, false, o)), [Do::Lost], "failed is final");
    }

    #[test]
    fn the_callee_asks_and_the_address_check_cuts_the_grace_once() {
        let mut r = Restarts::new(Role::Callee);
        assert_eq!(run(&mut r, |r, o| r.address_gone(0, true, o)), [], "while connected");
        run(&mut r, |r, o| r.disconnected(0, o));
        assert_eq!(run(&mut r, |r, o| r.address_gone(80, true, o)), [Do::Attempt(1), Do::AskForRestart]);
        assert_eq!(run(&mut r, |r, o| r.address_gone(90, true, o)), [], "once per outage");
    }
}
