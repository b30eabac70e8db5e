//! Connection quality from `getStats` samples: round-trip time, packet
//! loss and bitrates over the last interval, graded for a small indicator.
//!
//! Grades follow the usual voice-quality rules of thumb (ITU-T G.114 puts
//! the comfortable limit of one-way delay at 150 ms, i.e. about 300 ms
//! round trip; Opus with FEC hides a few percent of loss): good below
//! 300 ms and 2 % loss, poor from 600 ms or 8 % loss, fair between.

use alloc::string::String;

use crate::i18n::Lang;
use crate::json::itoa;
use crate::vocab::Route;

/// Cumulative counters of one `getStats` report (all media, both kinds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sample {
    pub at_ms: u64,
    /// The selected pair's `currentRoundTripTime`, in ms.
    pub rtt_ms: Option<u32>,
    pub packets_received: u64,
    pub packets_lost: u64,
    pub bytes_received: u64,
    pub bytes_sent: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Good,
    Fair,
    Poor,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Good => "good",
            Level::Fair => "fair",
            Level::Poor => "poor",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quality {
    pub level: Level,
    pub rtt_ms: Option<u32>,
    /// Lost packets per thousand expected, over the interval.
    pub loss_permille: u32,
    pub down_kbps: u32,
    pub up_kbps: u32,
}

pub const GOOD_RTT_MS: u32 = 300;
pub const POOR_RTT_MS: u32 = 600;
pub const GOOD_LOSS_PERMILLE: u32 = 20;
pub const POOR_LOSS_PERMILLE: u32 = 80;

fn kbps(bytes: u64, ms: u64) -> u32 {
    u32::try_from(bytes.saturating_mul(8) / ms.max(1)).unwrap_or(u32::MAX)
}

/// Grades the interval between two samples; `None` when they do not make
/// an interval (same time, counters reset by a restart). `media_expected`:
/// whether media should arrive at all. A peer that said on channel 3 that
/// it sends neither audio nor video (muted and camera off, or no devices)
/// sends nothing by choice; then silence is not a poor connection, and the
/// round trip and loss alone grade it.
pub fn assess(prev: &Sample, cur: &Sample, media_expected: bool) -> Option<Quality> {
    let ms = cur.at_ms.checked_sub(prev.at_ms).filter(|&ms| ms > 0)?;
    let received = cur.packets_received.checked_sub(prev.packets_received)?;
    let lost = cur.packets_lost.saturating_sub(prev.packets_lost);
    let expected = received.saturating_add(lost);
    let loss_permille = lost.saturating_mul(1000).checked_div(expected).map_or(0, |l| u32::try_from(l).unwrap_or(1000));
    let down_kbps = kbps(cur.bytes_received.checked_sub(prev.bytes_received)?, ms);
    let up_kbps = kbps(cur.bytes_sent.checked_sub(prev.bytes_sent)?, ms);
    let rtt = cur.rtt_ms.unwrap_or(0);
    let level = if rtt >= POOR_RTT_MS || loss_permille >= POOR_LOSS_PERMILLE || (media_expected && received == 0 && ms >= 1000) {
        Level::Poor
    } else if rtt >= GOOD_RTT_MS || loss_permille >= GOOD_LOSS_PERMILLE {
        Level::Fair
    } else {
        Level::Good
    };
    Some(Quality { level, rtt_ms: cur.rtt_ms, loss_permille, down_kbps, up_kbps })
}

fn rate(kbps: u32) -> String {
    if kbps >= 1000 {
        [&itoa(u64::from(kbps / 1000)), ".", &itoa(u64::from(kbps % 1000 / 100)), " Mbit/s"].concat()
    } else {
        [&itoa(u64::from(kbps)), " kbit/s"].concat()
    }
}

/// The details line: `Direct · 42 ms · 0.1 % lost · ↓ 1.2 Mbit/s · ↑ 640 kbit/s`.
pub fn details(q: &Quality, route: Route, lang: Lang) -> String {
    let mut parts: alloc::vec::Vec<String> = alloc::vec::Vec::new();
    match route {
        Route::P2p => parts.push(lang.text("direct").into()),
        Route::Relay => parts.push(lang.text("relayed").into()),
        Route::Unknown => {}
    }
    if let Some(r) = q.rtt_ms {
        parts.push([&itoa(u64::from(r)), " ms"].concat());
    }
    let l = q.loss_permille;
    parts.push([&itoa(u64::from(l / 10)), ".", &itoa(u64::from(l % 10)), " % ", lang.text("lost")].concat());
    parts.push(["↓ ", &rate(q.down_kbps)].concat());
    parts.push(["↑ ", &rate(q.up_kbps)].concat());
    parts.join(" · ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(at_ms: u64, rtt: u32, recv: u64, lost: u64, bytes: u64) -> Sample {
        Sample { at_ms, rtt_ms: Some(rtt), packets_received: recv, packets_lost: lost, bytes_received: bytes, bytes_sent: bytes / 2 }
    }

    #[test]
    fn grades() {
        let assess = |a: &Sample, b: &Sample| assess(a, b, true);
        let a = s(0, 40, 1000, 0, 0);
        let good = assess(&a, &s(2000, 40, 1200, 1, 250_000)).unwrap();
        assert_eq!(good.level, Level::Good);
        assert_eq!((good.down_kbps, good.up_kbps, good.loss_permille), (1000, 500, 4));
        assert_eq!(assess(&a, &s(2000, 350, 1200, 0, 1)).unwrap().level, Level::Fair);
        assert_eq!(assess(&a, &s(2000, 40, 1200, 10, 1)).unwrap().level, Level::Fair);
        assert_eq!(assess(&a, &s(2000, 700, 1200, 0, 1)).unwrap().level, Level::Poor);
        assert_eq!(assess(&a, &s(2000, 40, 1100, 20, 1)).unwrap().level, Level::Poor);
        assert_eq!(assess(&a, &s(2000, 40, 1000, 0, 0)).unwrap().level, Level::Poor, "nothing arrives");
    }

    /// The other side denied its camera and microphone (it says so on
    /// channel 3: nothing enabled) and sends nothing; the connection
    /// itself is fine. Graded as poor before `media_expected` existed.
    #[test]
    fn silence_by_choice_is_not_poor() {
        let a = s(0, 40, 1000, 0, 0);
        let quiet = s(2000, 40, 1000, 0, 0);
        assert_eq!(assess(&a, &quiet, false).unwrap().level, Level::Good);
        assert_eq!(assess(&a, &quiet, true).unwrap().level, Level::Poor, "when media should come, none is poor");
        // A slow path is still graded by its round trip.
        assert_eq!(assess(&a, &s(2000, 700, 1000, 0, 0), false).unwrap().level, Level::Poor);
        assert_eq!(assess(&a, &s(2000, 350, 1000, 0, 0), false).unwrap().level, Level::Fair);
    }

    #[test]
    fn no_interval_no_grade() {
        let assess = |a: &Sample, b: &Sample| assess(a, b, true);
        let a = s(1000, 40, 1000, 0, 5000);
        assert_eq!(assess(&a, &a), None);
        assert_eq!(assess(&a, &s(500, 40, 1000, 0, 5000)), None, "time went back");
        assert_eq!(assess(&a, &s(3000, 40, 10, 0, 5000)), None, "counters reset");
        assert_eq!(assess(&a, &s(3000, 40, 1000, 0, 0)), None, "bytes reset");
    }

    #[test]
    fn hostile_counters_do_not_overflow() {
        let a = Sample { at_ms: 0, ..Sample::default() };
        let b = Sample { at_ms: 1, rtt_ms: Some(u32::MAX), packets_received: u64::MAX, packets_lost: u64::MAX, bytes_received: u64::MAX, bytes_sent: u64::MAX };
        let q = assess(&a, &b, true).unwrap();
        assert_eq!(q.level, Level::Poor);
        assert!(!details(&q, Route::Relay, crate::i18n::EN).is_empty());
    }

    #[test]
    fn details_text() {
        let q = Quality { level: Level::Good, rtt_ms: Some(42), loss_permille: 1, down_kbps: 1234, up_kbps: 640 };
        let en = crate::i18n::EN;
        assert_eq!(details(&q, Route::P2p, en), "Direct · 42 ms · 0.1 % lost · ↓ 1.2 Mbit/s · ↑ 640 kbit/s");
        let q = Quality { rtt_ms: None, ..q };
        assert_eq!(details(&q, Route::Unknown, en), "0.1 % lost · ↓ 1.2 Mbit/s · ↑ 640 kbit/s");
        let de = crate::i18n::find("de").unwrap();
        assert_eq!(details(&q, Route::Relay, de), "Über Relay · 0.1 % verloren · ↓ 1.2 Mbit/s · ↑ 640 kbit/s");
    }
}
