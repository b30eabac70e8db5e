//! Audio first on a narrow path: how our camera's video is sent, from the
//! browser's estimate of what the path carries (`availableOutgoingBitrate`
//! of the selected pair, one sample per stats poll).
//!
//! Below what full video needs, the picture is sent smaller and at fewer
//! frames first ([`Tier::Half`], [`Tier::Quarter`]); below what even that
//! needs, our video pauses ([`Tier::Paused`]) and both screens say why, so
//! that the voice keeps the path. Each step down needs the estimate under
//! the tier's floor in [`DOWN_AFTER`] samples in a row (and goes as far
//! down as the last of them says), each step up above the next tier's need
//! in as many: one poor sample is noise.
//!
//! A paused sender cannot learn that the path came back: with audio only,
//! the browser's estimate stays near what it sends (libwebrtc lets it grow
//! to about 1.5 times the acknowledged rate while the sender has less to
//! send than the estimate). So a pause is tried again after a wait, at the
//! lowest tier ([`Tier::Quarter`]); a try that fails doubles the wait, up
//! to [`RETRY_MAX_MS`]. Stepping up a tier raises what the sender may
//! send, which makes Chromium probe the path above it, so the estimate can
//! climb a tier at a time back to full video.

/// How our video is sent, from the best to none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tier {
    Full,
    /// Half width and height, at most [`HALF_FPS`] frames a second.
    Half,
    /// A quarter of the width and height, at most [`QUARTER_FPS`].
    Quarter,
    /// No video sent; the peer is told (`mutedState`, `videoPaused`).
    Paused,
}

/// The estimate (kbit/s) under which each tier steps down.
pub const FULL_FLOOR_KBPS: u32 = 350;
pub const HALF_FLOOR_KBPS: u32 = 180;
pub const QUARTER_FLOOR_KBPS: u32 = 100;
/// The estimate (kbit/s) over which the next tier up is taken. Each is
/// below what the tier under it can make the estimate reach (1.5 times
/// what it sends, with audio): a quarter-size picture sends up to about
/// 200 kbit/s, a half-size one about 500.
pub const HALF_NEEDS_KBPS: u32 = 260;
pub const FULL_NEEDS_KBPS: u32 = 550;
/// Samples in a row that move a tier.
pub const DOWN_AFTER: u8 = 2;
pub const UP_AFTER: u8 = 2;
/// After a change of tier (or the start of our video) the estimate needs
/// this long to follow before it is judged again.
pub const SETTLE_MS: u64 = 3000;
/// A try after a pause is judged later: its video starts from an
/// estimate made on audio alone, which climbs 10–30 kbit/s a second at
/// first (Chromium 156, a path back at 2.5 Mbit/s: 57, 86, 94 kbit/s in
/// the try's first seconds).
pub const TRY_SETTLE_MS: u64 = 5000;
/// The first wait before a paused video tries again, and the longest.
pub const RETRY_FIRST_MS: u64 = 8000;
pub const RETRY_MAX_MS: u64 = 32_000;
/// Frame-rate caps of the smaller tiers: fewer, fuller frames keep a
/// picture recognizable where the bits are few.
pub const HALF_FPS: u32 = 20;
pub const QUARTER_FPS: u32 = 12;

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Full => "full",
            Tier::Half => "half size",
            Tier::Quarter => "quarter size",
            Tier::Paused => "paused",
        }
    }

    /// `scaleResolutionDownBy`.
    pub fn scale(self) -> u32 {
        match self {
            Tier::Full | Tier::Paused => 1,
            Tier::Half => 2,
            Tier::Quarter => 4,
        }
    }

    pub fn max_fps(self) -> Option<u32> {
        match self {
            Tier::Half => Some(HALF_FPS),
            Tier::Quarter => Some(QUARTER_FPS),
            Tier::Full | Tier::Paused => None,
        }
    }

    fn floor(self) -> u32 {
        match self {
            Tier::Full => FULL_FLOOR_KBPS,
            Tier::Half => HALF_FLOOR_KBPS,
            Tier::Quarter => QUARTER_FLOOR_KBPS,
            Tier::Paused => 0,
        }
    }

    /// Where a tier steps down to at estimate `est`: the first tier
    /// below whose floor `est` clears (a path that fell far is not walked
    /// down a tier at a time, a few seconds of broken picture each).
    fn down(self, est: u32) -> Tier {
        [Tier::Half, Tier::Quarter].into_iter().find(|t| *t > self && est >= t.floor()).unwrap_or(Tier::Paused)
    }

    /// The next tier up and what it needs (none from `Full`; a paused
    /// video comes back by trying, not by the estimate).
    fn up(self) -> Option<(Tier, u32)> {
        match self {
            Tier::Half => Some((Tier::Full, FULL_NEEDS_KBPS)),
            Tier::Quarter => Some((Tier::Half, HALF_NEEDS_KBPS)),
            Tier::Full | Tier::Paused => None,
        }
    }
}

/// The rule's state for one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Congestion {
    tier: Tier,
    /// Samples in a row under the floor, and over the next tier's need.
    below: u8,
    above: u8,
    /// Estimates before this are not judged (`SETTLE_MS`).
    settle_until: u64,
    /// Paused: when to try again. Otherwise, whether this is such a try
    /// (it fails back to `Paused` with a longer wait).
    retry_at: u64,
    trying: bool,
    wait_ms: u64,
    /// Our camera's video was being sent at the last sample.
    sending: bool,
}

impl Default for Congestion {
    fn default() -> Self {
        Congestion { tier: Tier::Full, below: 0, above: 0, settle_until: 0, retry_at: 0, trying: false, wait_ms: RETRY_FIRST_MS, sending: false }
    }
}

impl Congestion {
    pub fn tier(&self) -> Tier {
        self.tier
    }

    fn set(&mut self, now: u64, t: Tier) {
        self.tier = t;
        self.below = 0;
        self.above = 0;
        self.settle_until = now.saturating_add(SETTLE_MS);
    }

    /// One sample: whether our camera's video is to be sent (the camera
    /// is on, no screen is shared), and the estimate in kbit/s (`None`:
    /// the browser gives none, as Firefox: its own adaptation is left
    /// alone). Returns the new tier when it changed.
    ///
    /// Video that stops (camera off, a screen shared instead) leaves the
    /// rule; video that starts is sent in full and judged once the
    /// estimate had time to follow it (it was estimated on audio alone).
    pub fn sample(&mut self, now: u64, sending: bool, estimate_kbps: Option<u32>) -> Option<Tier> {
        if !sending {
            self.sending = false;
            self.trying = false;
            if self.tier != Tier::Full {
                self.set(now, Tier::Full);
                return Some(Tier::Full);
            }
            return None;
        }
        if !self.sending {
            self.sending = true;
            self.set(now, self.tier);
            return None;
        }
        if self.tier == Tier::Paused {
            if now < self.retry_at {
                return None;
            }
            self.set(now, Tier::Quarter);
            self.settle_until = now.saturating_add(TRY_SETTLE_MS);
            self.trying = true;
            return Some(Tier::Quarter);
        }
        let est = estimate_kbps?;
        if now < self.settle_until {
            return None;
        }
        self.below = if est < self.tier.floor() { self.below.saturating_add(1) } else { 0 };
        let up = self.tier.up().filter(|&(_, needs)| est >= needs);
        self.above = if up.is_some() { self.above.saturating_add(1) } else { 0 };
        if self.below >= DOWN_AFTER {
            let t = self.tier.down(est);
            if t == Tier::Paused {
                // A try that failed waits longer; a pause out of a video
                // that had been going starts over with the first wait.
                self.wait_ms = if self.trying { self.wait_ms.saturating_mul(2).min(RETRY_MAX_MS) } else { RETRY_FIRST_MS };
                self.retry_at = now.saturating_add(self.wait_ms);
            }
            self.trying = false;
            self.set(now, t);
            return Some(t);
        }
        if let (Some((t, _)), true) = (up, self.above >= UP_AFTER) {
            // The try held: the path carries video again.
            self.trying = false;
            self.set(now, t);
            return Some(t);
        }
        if self.trying && self.above == 0 && self.below == 0 {
            // Held above its floor: no longer a try.
            self.trying = false;
        }
        None
    }

    /// While a tier is below full, the estimate is sampled often.
    pub fn watching(&self) -> bool {
        self.tier != Tier::Full
    }

    /// When a paused video tries again.
    pub fn retry_at(&self) -> Option<u64> {
        (self.tier == Tier::Paused).then_some(self.retry_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    /// Feeds one sample a second from `t`, returns the tier after each.
    fn feed(c: &mut Congestion, t: &mut u64, est: &[u32]) -> Vec<Tier> {
        est.iter()
            .map(|&e| {
                *t += 1000;
                c.sample(*t, true, Some(e));
                c.tier()
            })
            .collect()
    }

    /// Video that started at 0; the next second's sample is judged.
    fn started() -> (Congestion, u64) {
        let mut c = Congestion::default();
        assert_eq!(c.sample(0, true, Some(10)), None, "the first sample of a video is not judged");
        (c, SETTLE_MS - 1000)
    }

    #[test]
    fn a_path_that_fell_far_goes_down_at_once() {
        let (mut c, mut t) = started();
        assert_eq!(feed(&mut c, &mut t, &[150, 150]), [Tier::Full, Tier::Quarter]);
        let (mut c, mut t) = started();
        assert_eq!(feed(&mut c, &mut t, &[300, 40]), [Tier::Full, Tier::Paused]);
    }

    #[test]
    fn steps_down_one_tier_at_a_time_and_only_on_samples_in_a_row() {
        let (mut c, mut t) = started();
        assert_eq!(feed(&mut c, &mut t, &[2000, 300, 2000, 300]), [Tier::Full; 4], "single dips are noise");
        assert_eq!(feed(&mut c, &mut t, &[300, 300])[1], Tier::Half);
        // Settling: the next two samples are not judged.
        assert_eq!(feed(&mut c, &mut t, &[50, 50]), [Tier::Half; 2]);
        assert_eq!(feed(&mut c, &mut t, &[150, 150])[1], Tier::Quarter);
        assert_eq!(feed(&mut c, &mut t, &[50, 50, 50, 50])[3], Tier::Paused);
    }

    #[test]
    fn climbs_back_a_tier_at_a_time() {
        let (mut c, mut t) = started();
        feed(&mut c, &mut t, &[150, 150, 0, 0]);
        assert_eq!(c.tier(), Tier::Quarter);
        // Each step needs two samples in a row, then settles for two.
        let tiers = feed(&mut c, &mut t, &[3000; 8]);
        let (q, h, f) = (Tier::Quarter, Tier::Half, Tier::Full);
        assert_eq!(tiers, [q, h, h, h, h, f, f, f]);
        assert!(!c.watching());
    }

    #[test]
    fn a_pause_tries_again_after_a_wait_that_grows_while_tries_fail() {
        let (mut c, mut t) = started();
        feed(&mut c, &mut t, &[50, 50]);
        assert_eq!(c.tier(), Tier::Paused);
        let paused_at = t;
        assert_eq!(c.retry_at(), Some(paused_at + RETRY_FIRST_MS));
        // While paused the estimate says nothing.
        assert_eq!(c.sample(paused_at + 1000, true, Some(5000)), None);
        assert_eq!(c.sample(paused_at + RETRY_FIRST_MS, true, Some(60)), Some(Tier::Quarter), "a try, at the lowest tier");
        let mut t = paused_at + RETRY_FIRST_MS;
        feed(&mut c, &mut t, &[60, 60, 60, 60, 60, 60]);
        assert_eq!(c.tier(), Tier::Paused);
        assert_eq!(c.retry_at(), Some(t + 2 * RETRY_FIRST_MS), "a failed try waits twice as long");
        // Tries that keep failing wait at most RETRY_MAX_MS.
        for _ in 0..6 {
            t = c.retry_at().unwrap();
            c.sample(t, true, None);
            feed(&mut c, &mut t, &[60, 60, 60, 60, 60, 60]);
        }
        assert_eq!(c.retry_at(), Some(t + RETRY_MAX_MS));
    }

    #[test]
    fn a_try_that_holds_resets_the_wait() {
        let (mut c, mut t) = started();
        feed(&mut c, &mut t, &[50, 50]);
        t = c.retry_at().unwrap();
        c.sample(t, true, None);
        feed(&mut c, &mut t, &[60, 60, 60, 60, 60, 60]);
        t = c.retry_at().unwrap();
        c.sample(t, true, None);
        feed(&mut c, &mut t, &[150, 150, 150, 150, 400, 400]);
        assert_eq!(c.tier(), Tier::Half, "the path came back");
        feed(&mut c, &mut t, &[0, 0, 0, 0]);
        assert_eq!(c.tier(), Tier::Paused);
        assert_eq!(c.retry_at(), Some(t + RETRY_FIRST_MS), "a new pause starts with the first wait");
    }

    #[test]
    fn no_estimate_no_change_and_stopped_video_leaves_the_rule() {
        let (mut c, _) = started();
        for t in 1..20 {
            assert_eq!(c.sample(t * 1000, true, None), None);
        }
        let mut t = 20_000;
        feed(&mut c, &mut t, &[200, 200]);
        assert_eq!(c.tier(), Tier::Half);
        assert_eq!(c.sample(t + 1000, false, Some(10)), Some(Tier::Full), "camera off");
        assert_eq!(c.sample(t + 2000, false, Some(10)), None);
        assert_eq!(c.sample(t + 3000, true, Some(10)), None, "camera on again: not judged yet");
        t += 3000;
        assert_eq!(feed(&mut c, &mut t, &[200, 200, 200, 200]), [Tier::Full, Tier::Full, Tier::Full, Tier::Half], "judged after settling");
    }

    #[test]
    fn hostile_numbers_and_clocks_do_not_overflow() {
        let mut c = Congestion::default();
        for (i, e) in [u32::MAX, 0, u32::MAX, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0].iter().enumerate() {
            c.sample(u64::MAX - 20 + i as u64, true, Some(*e));
        }
        c.sample(u64::MAX, true, Some(0));
        assert!(c.retry_at().is_none_or(|at| at == u64::MAX));
    }
}
