//! The shaping model of the userspace relay (`relay.rs`), with no sockets
//! and no clock of its own: a link per direction of a call, a token bucket
//! at the profile's rate with a queue bounded in time at that rate (tail
//! drop beyond it), a one-way delay with jitter, random loss and bursts of
//! loss, and profiles that change these settings over time.
//!
//! Time is an argument (a `Duration` since an epoch the caller chooses), so
//! the model is tested with a fake clock and the relay's threads only feed
//! it the real one.

use std::time::Duration;

/// Bytes a packet costs on the link beyond its UDP payload (IPv4 and UDP
/// headers), so that a rate means what it means on a real link.
pub const HEADER_BYTES: usize = 28;
/// The bucket's depth: this long at the rate, and at least two full-size
/// packets (a token bucket that holds less than a packet never lets one
/// pass at once).
const BUCKET_TIME: f64 = 0.010;
const BUCKET_MIN_BYTES: f64 = 3000.0;

/// Loss in bursts: `loss` for the first `length` of every `every`,
/// counted from the start of the profile.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Burst {
    pub loss: f64,
    pub length: Duration,
    pub every: Duration,
}

impl Burst {
    /// Whether time `t` (since the profile's start) is inside a burst.
    pub fn active(&self, t: Duration) -> bool {
        let every = self.every.as_nanos();
        every > 0 && t.as_nanos() % every < self.length.as_nanos()
    }
}

/// What one direction of the path does to a packet.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// The link's rate in bits per second (IP bytes); `None`: no cap.
    pub rate_bps: Option<u64>,
    /// The queue's bound, as the time a packet would wait at the rate
    /// (router buffers are sized so); a packet that would wait longer is
    /// dropped (tail drop).
    pub queue: Duration,
    /// Added to every packet after the queue (half the round trip).
    pub delay: Duration,
    /// The delay varies by up to this much either way, uniformly; packets
    /// keep their order (a later packet never overtakes an earlier one).
    pub jitter: Duration,
    /// Probability that a packet is lost, independently of the others.
    pub loss: f64,
    pub burst: Option<Burst>,
}

impl Settings {
    /// A path that does nothing.
    pub const CLEAN: Settings =
        Settings { rate_bps: None, queue: Duration::from_millis(100), delay: Duration::ZERO, jitter: Duration::ZERO, loss: 0.0, burst: None };

    /// Capped at `bps` with the usual 100 ms queue, nothing else.
    pub const fn rate(bps: u64) -> Settings {
        Settings { rate_bps: Some(bps), ..Settings::CLEAN }
    }

    /// Probabilities within [0, 1), a rate above zero, a burst inside its period.
    pub fn check(&self) -> Result<(), String> {
        let p = |x: f64| (0.0..1.0).contains(&x);
        if !p(self.loss) || self.burst.is_some_and(|b| !p(b.loss)) {
            return Err(format!("loss must be a probability below 1: {self:?}"));
        }
        if self.rate_bps == Some(0) {
            return Err("a rate of 0 passes nothing; use an outage instead".into());
        }
        if self.burst.is_some_and(|b| b.every.is_zero() || b.length > b.every) {
            return Err(format!("a burst must be shorter than its period: {self:?}"));
        }
        Ok(())
    }
}

/// Settings that change over time: each step holds from its time (since
/// the profile's start) until the next step's. Before the first step's
/// time, and before the profile starts, the first step holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    steps: Vec<(Duration, Settings)>,
}

impl Profile {
    pub fn constant(s: Settings) -> Profile {
        Profile { steps: vec![(Duration::ZERO, s)] }
    }

    /// Steps in the order of their times; at least one.
    pub fn new(steps: Vec<(Duration, Settings)>) -> Result<Profile, String> {
        if steps.is_empty() {
            return Err("a profile needs a step".into());
        }
        if steps.windows(2).any(|w| w[1].0 < w[0].0) {
            return Err("a profile's steps must be in time order".into());
        }
        for (_, s) in &steps {
            s.check()?;
        }
        Ok(Profile { steps })
    }

    /// The settings at `t` since the profile's start.
    pub fn at(&self, t: Duration) -> &Settings {
        let i = self.steps.iter().rposition(|(from, _)| *from <= t).unwrap_or(0);
        &self.steps[i].1
    }

    pub fn steps(&self) -> &[(Duration, Settings)] {
        &self.steps
    }
}

/// What happened to a packet offered to a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Delivered at this time (on the caller's clock).
    Deliver(Duration),
    /// Lost at random.
    Lost,
    /// Lost in a burst.
    Burst,
    /// The queue was full: tail drop.
    Overflow,
}

/// Packets by what happened to them, and the bytes delivered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub delivered: u64,
    pub delivered_bytes: u64,
    pub lost: u64,
    pub burst: u64,
    pub overflow: u64,
}

impl Counts {
    pub fn add(&mut self, o: &Counts) {
        self.delivered += o.delivered;
        self.delivered_bytes += o.delivered_bytes;
        self.lost += o.lost;
        self.burst += o.burst;
        self.overflow += o.overflow;
    }

    pub fn dropped(&self) -> u64 {
        self.lost + self.burst + self.overflow
    }
}

/// One direction of a path: its bucket, its queue (as the time the last
/// accepted packet leaves it) and the delivery time of its last packet.
#[derive(Debug, Clone)]
pub struct Link {
    rng: u64,
    /// Tokens (bytes) at `leaves`.
    tokens: f64,
    /// When the last accepted packet leaves the bucket.
    leaves: Duration,
    /// When the last accepted packet is delivered (order is kept).
    last_due: Duration,
    pub counts: Counts,
}

impl Link {
    /// A link with a full bucket; `seed` makes its loss reproducible.
    pub fn new(seed: u64) -> Link {
        Link { rng: seed | 1, tokens: f64::INFINITY, leaves: Duration::ZERO, last_due: Duration::ZERO, counts: Counts::default() }
    }

    /// xorshift64*, uniform in [0, 1).
    fn chance(&mut self) -> f64 {
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A packet of `size` payload bytes arrives at `now`; `in_profile` is
    /// the time since the profile's start (for its bursts). Returns what
    /// happens to it.
    pub fn offer(&mut self, s: &Settings, in_profile: Duration, now: Duration, size: usize) -> Verdict {
        if s.loss > 0.0 && self.chance() < s.loss {
            self.counts.lost += 1;
            return Verdict::Lost;
        }
        if let Some(b) = s.burst.filter(|b| b.active(in_profile)) {
            if self.chance() < b.loss {
                self.counts.burst += 1;
                return Verdict::Burst;
            }
        }
        let bytes = (size + HEADER_BYTES) as f64;
        let leaves = match s.rate_bps {
            None => now,
            Some(bps) => {
                let rate = bps as f64 / 8.0;
                let depth = (rate * BUCKET_TIME).max(BUCKET_MIN_BYTES);
                // The packet is served once every earlier one has left.
                let start = now.max(self.leaves);
                let tokens = (self.tokens + rate * (start - self.leaves).as_secs_f64()).min(depth);
                let wait = if tokens >= bytes { 0.0 } else { (bytes - tokens) / rate };
                let leaves = start + Duration::from_secs_f64(wait);
                if leaves - now > s.queue {
                    self.counts.overflow += 1;
                    return Verdict::Overflow;
                }
                self.tokens = (tokens + rate * wait - bytes).max(0.0);
                self.leaves = leaves;
                leaves
            }
        };
        let jitter = s.jitter.as_secs_f64() * (2.0 * self.chance() - 1.0);
        let delay = Duration::from_secs_f64((s.delay.as_secs_f64() + jitter).max(0.0));
        let due = (leaves + delay).max(self.last_due);
        self.last_due = due;
        self.counts.delivered += 1;
        self.counts.delivered_bytes += size as u64;
        Verdict::Deliver(due)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    /// Offers `size`-byte packets every `gap` for `total` (fake clock) and
    /// returns the verdicts with their arrival times.
    fn feed(link: &mut Link, p: &Profile, size: usize, gap: Duration, total: Duration) -> Vec<(Duration, Verdict)> {
        let mut out = Vec::new();
        let mut t = Duration::ZERO;
        while t < total {
            out.push((t, link.offer(p.at(t), t, t, size)));
            t += gap;
        }
        out
    }

    /// 8 Mbit/s offered to a 1 Mbit/s link: it delivers 1 Mbit/s (headers
    /// counted), no packet waits longer than the queue's 100 ms, and the
    /// rest is tail-dropped.
    #[test]
    fn caps_the_rate() {
        let p = Profile::constant(Settings::rate(1_000_000));
        let mut l = Link::new(7);
        let v = feed(&mut l, &p, 972, MS(1), Duration::from_secs(10));
        let mut bits = 0.0f64;
        let mut last_due = Duration::ZERO;
        for (t, x) in &v {
            if let Verdict::Deliver(due) = x {
                assert!(*due - *t <= MS(100), "waited {:?}", *due - *t);
                assert!(*due >= last_due, "order kept");
                last_due = *due;
                if *due <= Duration::from_secs(10) {
                    bits += 1000.0 * 8.0;
                }
            }
        }
        let rate = bits / 10.0;
        assert!((rate - 1e6).abs() < 0.02e6, "delivered {rate} bit/s");
        assert!(l.counts.overflow > 8000 && l.counts.lost == 0, "{:?}", l.counts);
    }

    /// Below the rate nothing waits and nothing is dropped.
    #[test]
    fn below_the_rate_passes() {
        let p = Profile::constant(Settings::rate(1_000_000));
        let mut l = Link::new(7);
        // 500 kbit/s of 1000-byte packets.
        for (t, x) in feed(&mut l, &p, 972, MS(16), Duration::from_secs(5)) {
            assert_eq!(x, Verdict::Deliver(t));
        }
    }

    /// A burst at once: the bucket's depth passes at once, then the queue
    /// fills to 100 ms at the rate and the rest is dropped; the queue
    /// drains at the rate.
    #[test]
    fn bounds_the_queue() {
        let p = Profile::constant(Settings::rate(800_000));
        let mut l = Link::new(7);
        let mut accepted = Vec::new();
        for _ in 0..100 {
            if let Verdict::Deliver(due) = l.offer(p.at(Duration::ZERO), Duration::ZERO, Duration::ZERO, 972) {
                accepted.push(due);
            }
        }
        // 3000 B at once, then 100 ms at 100 kB/s: 10 kB, 10 packets more.
        assert!((12..=14).contains(&accepted.len()), "{} accepted", accepted.len());
        assert_eq!(l.counts.overflow, 100 - accepted.len() as u64);
        assert!(accepted.iter().all(|d| *d <= MS(100)));
        let last = accepted[accepted.len() - 1];
        assert!(last >= MS(90), "the last accepted packet leaves near the bound: {last:?}");
        // 15 ms later there is room for one packet again, and it waits.
        let x = l.offer(p.at(MS(15)), MS(15), MS(15), 972);
        assert!(matches!(x, Verdict::Deliver(d) if d > last));
    }

    #[test]
    fn loses_at_random() {
        let s = Settings { loss: 0.05, ..Settings::CLEAN };
        let p = Profile::constant(s);
        let mut l = Link::new(42);
        feed(&mut l, &p, 100, MS(1), Duration::from_secs(100));
        let pct = l.counts.lost as f64 / 1000.0;
        assert!((pct - 5.0).abs() < 0.4, "{pct} % lost");
    }

    /// 20 % loss for 300 ms every 3 s: nothing lost outside the bursts,
    /// about a fifth inside.
    #[test]
    fn loses_in_bursts() {
        let b = Burst { loss: 0.2, length: MS(300), every: Duration::from_secs(3) };
        let p = Profile::constant(Settings { burst: Some(b), ..Settings::CLEAN });
        let mut l = Link::new(3);
        let v = feed(&mut l, &p, 100, MS(1), Duration::from_secs(300));
        let (mut inside, mut lost_inside) = (0u32, 0u32);
        for (t, x) in &v {
            if b.active(*t) {
                inside += 1;
                lost_inside += u32::from(*x == Verdict::Burst);
            } else {
                assert!(matches!(x, Verdict::Deliver(_)), "lost outside a burst at {t:?}");
            }
        }
        assert_eq!(inside, 100 * 300);
        let pct = 100.0 * f64::from(lost_inside) / f64::from(inside);
        assert!((pct - 20.0).abs() < 1.0, "{pct} % lost inside the bursts");
        assert!(b.active(Duration::from_millis(3100)) && !b.active(Duration::from_millis(3300)));
    }

    /// Delay and jitter: every packet within delay ± jitter of its
    /// departure unless it had to wait for the one before, never reordered.
    #[test]
    fn delays_with_jitter_in_order() {
        let s = Settings { delay: MS(75), jitter: MS(10), ..Settings::CLEAN };
        let p = Profile::constant(s);
        let mut l = Link::new(9);
        let mut last = Duration::ZERO;
        let mut spread = (Duration::MAX, Duration::ZERO);
        for (t, x) in feed(&mut l, &p, 100, MS(20), Duration::from_secs(20)) {
            let Verdict::Deliver(due) = x else { panic!("dropped") };
            assert!(due >= last);
            last = due;
            let d = due - t;
            assert!(d >= MS(65) && d <= MS(85), "{d:?}");
            spread = (spread.0.min(d), spread.1.max(d));
        }
        assert!(spread.1 - spread.0 > MS(15), "the delay varies: {spread:?}");
    }

    /// A dip: the profile's steps apply from their times, the rate follows.
    #[test]
    fn profiles_change_over_time() {
        let p = Profile::new(vec![
            (Duration::ZERO, Settings::rate(2_500_000)),
            (Duration::from_secs(10), Settings::rate(250_000)),
            (Duration::from_secs(25), Settings::rate(2_500_000)),
        ])
        .unwrap();
        assert_eq!(p.at(Duration::from_secs(9)).rate_bps, Some(2_500_000));
        assert_eq!(p.at(Duration::from_secs(10)).rate_bps, Some(250_000));
        assert_eq!(p.at(Duration::from_secs(40)).rate_bps, Some(2_500_000));
        let mut l = Link::new(1);
        // 1.6 Mbit/s offered: passes before and after the dip, capped in it.
        let v = feed(&mut l, &p, 972, MS(5), Duration::from_secs(35));
        let bytes_in = |a: u64, b: u64| {
            v.iter()
                .filter(|(t, x)| matches!(x, Verdict::Deliver(_)) && *t >= Duration::from_secs(a) && *t < Duration::from_secs(b))
                .count() as f64
                * 1000.0
        };
        assert!((bytes_in(0, 10) * 8.0 / 10.0 - 1.6e6).abs() < 0.02e6);
        assert!((bytes_in(11, 25) * 8.0 / 14.0 - 0.25e6).abs() < 0.02e6);
        assert!((bytes_in(26, 35) * 8.0 / 9.0 - 1.6e6).abs() < 0.02e6);
        assert!(Profile::new(vec![]).is_err());
        assert!(Profile::new(vec![(MS(5), Settings::CLEAN), (MS(1), Settings::CLEAN)]).is_err());
        assert!(Profile::new(vec![(MS(0), Settings { loss: 1.0, ..Settings::CLEAN })]).is_err());
    }
}
