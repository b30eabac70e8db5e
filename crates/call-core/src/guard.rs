//! Bounds on what the other peer can make the page do (PROTOCOL.md section
//! 5a): how many of its candidates are applied, how fast its messages are
//! taken, how large they may be, how often its restart offers are applied.
//!
//! The other end is software this project does not control. Every remote
//! candidate handed to `addIceCandidate` costs the browser memory and time
//! that grow faster than the count (measured in Chromium 156: 2,000
//! candidates, 650 MB and 2 s of a blocked page; 20,000 killed the
//! renderer), so the page applies only as many as a real peer could have.
//! A [`Guard`] lives with the peer connection ([`crate::stage::Link`]); what
//! it refuses is dropped, counted ([`Counts`], shown in the debug panel) and
//! logged once per kind. No bound is within reach of a real peer: each
//! number below says what real peers send.

use alloc::string::String;

use crate::channel::Channel;

/// Remote candidates applied per ICE generation (those in the remote
/// description and those trickled after it). Real peers send tens at most:
/// a host candidate per interface and address family (phones: Wi-Fi,
/// cellular, a VPN; desktops: an IPv4 and up to four IPv6 addresses), UDP
/// and sometimes TCP, one or two server-reflexive ones, and one relay
/// candidate per TURN server and transport (the core may hand out several
/// relays' servers: 3 servers × UDP/TCP). That is about 32 in the worst
/// case seen; twice that is the bound.
pub const MAX_CANDIDATES: u32 = 64;

/// A token bucket: at most `burst` at once, then one per `every_ms`.
/// Integer time only (the core has no floats), exact at any clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    burst: u32,
    every_ms: u64,
    /// Credit in milliseconds at `at` (a token costs `every_ms`).
    credit: u64,
    at: u64,
}

impl Bucket {
    /// A full bucket.
    pub const fn new(burst: u32, every_ms: u64) -> Bucket {
        Bucket { burst, every_ms, credit: burst as u64 * every_ms, at: 0 }
    }

    fn refill(&mut self, now: u64) {
        if now > self.at {
            let cap = u64::from(self.burst).saturating_mul(self.every_ms);
            self.credit = self.credit.saturating_add(now - self.at).min(cap);
            self.at = now;
        }
    }

    /// Takes one token if there is one.
    pub fn take(&mut self, now: u64) -> bool {
        self.refill(now);
        if self.credit >= self.every_ms {
            self.credit -= self.every_ms;
            true
        } else {
            false
        }
    }

    /// When the next token is there (at or before the last `take`'s time
    /// if there is one now).
    pub fn ready_at(&self) -> u64 {
        self.at.saturating_add(self.every_ms.saturating_sub(self.credit))
    }
}

/// How fast trickled candidates are handed to the browser: 4 at once,
/// then 10 a second; the others wait their turn (at most
/// `MAX_CANDIDATES` of a generation ever wait or are applied). Each
/// candidate costs the renderer's main thread milliseconds while the
/// connection is busy (Chromium 156, a flood on channel 1: 64 candidates
/// at once stalled the page for 140–460 ms, 4 for 20–40 ms): paced, the
/// page stays responsive. A real peer trickles only what it gathered
/// after its description left (most candidates ride in the description):
/// a few, applied within a second.
const CANDIDATE_RATE: Bucket = Bucket::new(4, 100);

/// Restart offers the callee applies: 3 at once, then one every 10 s. A
/// real caller restarts at most every `RESTART_ATTEMPT_MS` (8 s), and on a
/// network change (a phone walking out of Wi-Fi: two or three in a row).
const OFFER_RATE: Bucket = Bucket::new(3, 10_000);

/// What one channel accepts: bytes per message, then a burst and a rate.
pub struct Limit {
    pub max_bytes: usize,
    pub burst: u32,
    pub every_ms: u64,
}

/// The bounds of each channel (PROTOCOL.md section 5).
pub fn limit(ch: Channel) -> Limit {
    match ch {
        // A candidate message is under 400 bytes (the candidate line, its
        // mid and ufrag). Burst 80, then 40 a second: twice the candidate
        // bound, so that well-formed candidates meet `MAX_CANDIDATES` and
        // `CANDIDATE_RATE` first and junk meets this.
        Channel::IceTrickling => Limit { max_bytes: 2048, burst: 80, every_ms: 25 },
        // `{"audioEnabled":false,"videoEnabled":false}` is 44 bytes; a
        // person toggles a few times a second at most. What comes faster is
        // not lost: the newest state waits (`Guard::late_muted`).
        Channel::MutedState => Limit { max_bytes: 512, burst: 20, every_ms: 100 },
        // Restart offers and answers (a few kB of SDP; 64 kB leaves room
        // for many codecs and candidates) and restart requests; the offers
        // have their own rate (`OFFER_RATE`).
        Channel::Renegotiation => Limit { max_bytes: crate::channel::MAX_MESSAGE_LEN, burst: 8, every_ms: 250 },
    }
}

fn channel_bucket(ch: Channel) -> Bucket {
    let l = limit(ch);
    Bucket::new(l.burst, l.every_ms)
}

/// What was applied and what was dropped, for the debug panel and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Remote candidates applied (from descriptions and trickled).
    pub candidates: u32,
    /// Remote candidates dropped: over `MAX_CANDIDATES` or too fast.
    pub candidates_dropped: u32,
    /// Messages dropped for their rate, per channel (1, 3, 5).
    pub dropped: [u32; 3],
    /// Messages dropped for their size, or binary.
    pub oversized: u32,
    /// Restart offers applied.
    pub offers: u32,
    /// Restart offers dropped: replaced by a newer one while waiting, or
    /// sent by a peer that may not offer.
    pub offers_dropped: u32,
    /// In-band data channels the peer opened, closed at once.
    pub channels_closed: u32,
}

impl Counts {
    /// `key=value` pairs, as the debug panel shows them.
    pub fn to_text(&self) -> alloc::string::String {
        use crate::json::itoa;
        let n = |v: u32| itoa(u64::from(v));
        [
            "candidates=",
            &n(self.candidates),
            " candidates_dropped=",
            &n(self.candidates_dropped),
            " dropped_1=",
            &n(self.dropped[0]),
            " dropped_3=",
            &n(self.dropped[1]),
            " dropped_5=",
            &n(self.dropped[2]),
            " oversized=",
            &n(self.oversized),
            " offers=",
            &n(self.offers),
            " offers_dropped=",
            &n(self.offers_dropped),
            " channels_closed=",
            &n(self.channels_closed),
        ]
        .concat()
    }
}

/// Kinds of refusal, each logged once per call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    Candidates,
    Rate(Channel),
    Size,
    Offer,
    Channel,
}

impl Refused {
    fn bit(self) -> u8 {
        match self {
            Refused::Candidates => 1,
            Refused::Rate(Channel::IceTrickling) => 2,
            Refused::Rate(Channel::MutedState) => 4,
            Refused::Rate(Channel::Renegotiation) => 8,
            Refused::Size => 16,
            Refused::Offer => 32,
            Refused::Channel => 64,
        }
    }

    fn text(self) -> &'static str {
        match self {
            Refused::Candidates => "the peer sent more candidates than any real peer: dropping the rest",
            Refused::Rate(Channel::IceTrickling) => "too many messages on iceTrickling: dropping",
            Refused::Rate(Channel::MutedState) => "too many messages on mutedState: only the newest state is kept",
            Refused::Rate(Channel::Renegotiation) => "too many messages on renegotiation: dropping",
            Refused::Size => "a message too large for its channel (or binary): dropped",
            Refused::Offer => "restart offers faster than a real peer restarts: only the newest is kept",
            Refused::Channel => "the peer opened a data channel of its own: closed",
        }
    }
}

/// What a message may do, by its channel's bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    Yes,
    /// Over the channel's size: dropped unparsed.
    TooLarge,
    /// Over the channel's rate.
    TooFast,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guard {
    channels: [Bucket; 3],
    candidates: Bucket,
    offers: Bucket,
    /// Remote candidates applied in this ICE generation.
    in_generation: u32,
    counts: Counts,
    /// The kinds logged already (`Refused::bit`).
    logged: u8,
}

impl Default for Guard {
    fn default() -> Guard {
        Guard {
            channels: Channel::ALL.map(channel_bucket),
            candidates: CANDIDATE_RATE,
            offers: OFFER_RATE,
            in_generation: 0,
            counts: Counts::default(),
            logged: 0,
        }
    }
}

fn slot(ch: Channel) -> usize {
    match ch {
        Channel::IceTrickling => 0,
        Channel::MutedState => 1,
        Channel::Renegotiation => 2,
    }
}

impl Guard {
    pub fn counts(&self) -> Counts {
        self.counts
    }

    /// Counts a refusal; the log line the first time of its kind.
    pub fn refuse(&mut self, r: Refused) -> Option<&'static str> {
        let c = &mut self.counts;
        let n = match r {
            Refused::Candidates => &mut c.candidates_dropped,
            Refused::Rate(ch) => &mut c.dropped[slot(ch)],
            Refused::Size => &mut c.oversized,
            Refused::Offer => &mut c.offers_dropped,
            Refused::Channel => &mut c.channels_closed,
        };
        *n = n.saturating_add(1);
        let first = self.logged & r.bit() == 0;
        self.logged |= r.bit();
        first.then(|| r.text())
    }

    /// A message of `len` bytes on `ch` at `now` (binary: `None`).
    pub fn admit(&mut self, now: u64, ch: Channel, len: Option<usize>) -> Admit {
        match len {
            Some(n) if n <= limit(ch).max_bytes => {}
            _ => return Admit::TooLarge,
        }
        if self.channels[slot(ch)].take(now) {
            Admit::Yes
        } else {
            Admit::TooFast
        }
    }

    /// When channel `ch` takes its next message.
    pub fn channel_ready_at(&self, ch: Channel) -> u64 {
        self.channels[slot(ch)].ready_at()
    }

    /// Whether a trickled candidate has a place in this generation (it
    /// is counted: applied now or once its turn comes).
    pub fn candidate(&mut self) -> bool {
        if self.in_generation >= MAX_CANDIDATES {
            return false;
        }
        self.in_generation += 1;
        self.counts.candidates = self.counts.candidates.saturating_add(1);
        true
    }

    /// Whether the browser may take a candidate now (`CANDIDATE_RATE`).
    pub fn candidate_turn(&mut self, now: u64) -> bool {
        self.candidates.take(now)
    }

    /// When the next waiting candidate may go to the browser.
    pub fn candidate_ready_at(&self) -> u64 {
        self.candidates.ready_at()
    }

    /// A remote description starts a new ICE generation: its candidates
    /// count first; those over the bound are taken out of it. Returns the
    /// description to apply, and a line to log if that was the first
    /// refusal of candidates.
    pub fn description(&mut self, sdp: String) -> (String, Option<&'static str>) {
        let (sdp, kept, dropped) = crate::sdp::cap_candidates(sdp, MAX_CANDIDATES);
        self.in_generation = kept;
        self.counts.candidates = self.counts.candidates.saturating_add(kept);
        let mut line = None;
        if dropped > 0 {
            line = self.refuse(Refused::Candidates);
            self.counts.candidates_dropped = self.counts.candidates_dropped.saturating_add(dropped - 1);
        }
        (sdp, line)
    }

    /// Whether a restart offer may be applied now (it is counted).
    pub fn offer(&mut self, now: u64) -> bool {
        let ok = self.offers.take(now);
        if ok {
            self.counts.offers = self.counts.offers.saturating_add(1);
        }
        ok
    }

    /// When the next restart offer may be applied.
    pub fn offer_ready_at(&self) -> u64 {
        self.offers.ready_at()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_burst_then_rate() {
        let mut b = Bucket::new(3, 100);
        assert!(b.take(1000) && b.take(1000) && b.take(1000));
        assert!(!b.take(1000));
        assert_eq!(b.ready_at(), 1100);
        assert!(!b.take(1099));
        assert!(b.take(1100));
        assert!(!b.take(1100));
        // Never more than the burst, however long the pause; time going
        // backwards takes nothing and gives nothing.
        assert!(b.take(u64::MAX / 2) && b.take(u64::MAX / 2) && b.take(u64::MAX / 2) && !b.take(u64::MAX / 2));
        assert!(!b.take(5));
    }

    #[test]
    fn candidates_per_generation() {
        let mut g = Guard::default();
        let placed = (0..20_000).filter(|_| g.candidate()).count();
        assert_eq!(placed, MAX_CANDIDATES as usize);
        // A new description is a new generation.
        g.description(String::from("v=0\r\na=candidate:1 1 udp 1 10.0.0.1 9 typ host\r\n"));
        assert!(g.candidate());
        assert_eq!(g.counts().candidates, MAX_CANDIDATES + 2);
    }

    #[test]
    fn candidates_go_to_the_browser_at_their_pace() {
        let mut g = Guard::default();
        let now = (0..30).filter(|_| g.candidate_turn(1000)).count();
        assert_eq!(now, 4);
        assert_eq!(g.candidate_ready_at(), 1100);
        assert!(!g.candidate_turn(1099) && g.candidate_turn(1100));
    }

    #[test]
    fn sizes_and_rates_per_channel() {
        let mut g = Guard::default();
        assert_eq!(g.admit(0, Channel::MutedState, Some(513)), Admit::TooLarge);
        assert_eq!(g.admit(0, Channel::MutedState, None), Admit::TooLarge);
        assert_eq!(g.admit(0, Channel::IceTrickling, Some(2048)), Admit::Yes);
        let yes = (0..100).filter(|_| g.admit(0, Channel::MutedState, Some(44)) == Admit::Yes).count();
        assert_eq!(yes, 20);
        assert_eq!(g.channel_ready_at(Channel::MutedState), 100);
        // Other channels have their own buckets.
        assert_eq!(g.admit(0, Channel::Renegotiation, Some(44)), Admit::Yes);
    }

    #[test]
    fn each_refusal_is_logged_once_and_counted_always() {
        let mut g = Guard::default();
        assert!(g.refuse(Refused::Channel).is_some());
        assert!(g.refuse(Refused::Channel).is_none());
        assert!(g.refuse(Refused::Rate(Channel::IceTrickling)).is_some());
        assert_eq!(g.counts().channels_closed, 2);
        assert_eq!(g.counts().dropped, [1, 0, 0]);
        assert!(g.counts().to_text().contains(" channels_closed=2"));
    }
}
