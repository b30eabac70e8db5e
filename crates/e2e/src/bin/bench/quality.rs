//! `bench --quality [--runs N] [--profile ID[,ID…]] [--window SECONDS]`:
//! call quality on shaped paths, our page and the deployed page side by
//! side (issue 27, part 1).
//!
//! Both windows of a call are forced through coturn (ours `?relayOnly`,
//! theirs by the harness, as the `relay` scenario does), and coturn is
//! reached through the userspace relay started with a shaping profile
//! (`testhost::relay::Relay::start_shaped`, model in `testhost::shaper`):
//! each page's uplink is one direction of the call, so every packet of the
//! call crosses one shaped link. The call is set up on the profile's first
//! step, video flows for a warm-up (a third of the window, so the
//! bandwidth estimate can climb), then the profile starts and both windows
//! are sampled from `getStats` once a second (in the page, time-stamped)
//! for the window (45 s; profile times scale with `--window`). Per profile
//! the runs alternate between the pages (ours, theirs, theirs, ours, …).
//!
//! Video freezes and pauses are Chromium's own split (a pause: no video
//! packet for 5 s, as when our page pauses its camera on a narrow path);
//! the report shows them side by side and summed, the audio codec each
//! page sent with (RED or Opus) beside audio loss and concealment, and the
//! issue's targets judged from the medians.
//!
//! A run of every profile with the full window writes its section of
//! BENCHMARKS.md (between `<!-- quality -->` markers, before the soak's
//! sections) and the dip plot `docs/bench/quality-dip.svg`; a filtered or
//! shortened run writes `target/bench/QUALITY-partial.md` and
//! `target/bench/quality-dip.svg`.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::thread::sleep;
use std::time::{Duration, Instant};

use e2e::{err, Error, Page, Result, Server};
use serde_json::Value;
use testhost::relay::Relay;
use testhost::shaper::{Burst, Counts, Profile, Settings};
use testhost::turn::Turn;

use crate::{browsers, clock_offset, epoch_ms, first_line, machine, median, run_call, utc_now, NetEnv, Side};

/// The window the profiles are written for, seconds.
const WINDOW: f64 = 45.0;
/// The dip profile's dip, seconds into the window (before scaling).
const DIP: (f64, f64) = (10.0, 25.0);
/// The stretch before the dip that "full quality" is taken from.
const BEFORE_DIP: f64 = 5.0;
/// Received bitrate counts as back at this share of the pre-dip rate.
const RATE_BACK: f64 = 0.8;
/// Fewer runs per page than this are shown, not judged.
const MIN_RUNS: usize = 3;
/// Samples kept per window in the page (bounded: one a second).
const SAMPLES_MAX: usize = 900;

pub(crate) struct QualityOpts {
    runs: usize,
    filter: Vec<String>,
    window: f64,
}

impl QualityOpts {
    /// `--quality`, `--runs N` (default 3), `--profile ID[,ID…]`,
    /// `--window SECONDS` (default 45, at least 15).
    pub(crate) fn parse(args: &[String]) -> Result<Option<QualityOpts>> {
        if !args.iter().any(|a| a == "--quality") {
            return Ok(None);
        }
        let mut o = QualityOpts { runs: 3, filter: Vec::new(), window: WINDOW };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--quality" => {}
                "--runs" => {
                    o.runs = it.next().and_then(|n| n.parse().ok()).filter(|n| (1..=50).contains(n)).ok_or_else(|| Error::new("--runs needs a number 1–50"))?;
                }
                "--profile" => {
                    let v = it.next().ok_or_else(|| Error::new("--profile needs an id"))?;
                    o.filter.extend(v.split(',').filter(|s| !s.is_empty()).map(str::to_string));
                }
                "--window" => {
                    o.window = it.next().and_then(|n| n.parse().ok()).filter(|n: &f64| (15.0..=600.0).contains(n)).ok_or_else(|| Error::new("--window needs 15–600 seconds"))?;
                }
                other => return err(format!("--quality: unknown argument {other}\n{USAGE}")),
            }
        }
        let known: Vec<&str> = PROFILES.iter().map(|p| p.id).collect();
        if let Some(bad) = o.filter.iter().find(|f| !known.contains(&f.as_str())) {
            return err(format!("unknown profile {bad}; known: {}", known.join(", ")));
        }
        Ok(Some(o))
    }

    fn scale(&self) -> f64 {
        self.window / WINDOW
    }

    fn full(&self) -> bool {
        self.filter.is_empty() && (self.window - WINDOW).abs() < 1e-9
    }
}

pub(crate) const USAGE: &str = "bench --quality [--runs N] [--profile clean,3g,burst,dip] [--window SECONDS]";

// ---------------------------------------------------------------------------
// The profiles

struct ProfileDef {
    id: &'static str,
    title: &'static str,
    about: &'static str,
    /// Steps at times for the 45 s window (scaled with the window).
    steps: fn() -> Vec<(f64, Settings)>,
    dip: bool,
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

const PROFILES: &[ProfileDef] = &[
    ProfileDef {
        id: "clean",
        title: "Clean path",
        about: "no cap, no delay, no loss (the relay and coturn only): the baseline, and the spread that a difference elsewhere must exceed",
        steps: || vec![(0.0, Settings::CLEAN)],
        dip: false,
    },
    ProfileDef {
        id: "3g",
        title: "3G-like: 400 kbit/s, 150 ms RTT, 1 % loss",
        about: "400 kbit/s each way with a 100 ms queue, 75 ms one-way delay with ±10 ms jitter (order kept), 1 % random loss",
        steps: || vec![(0.0, Settings { delay: ms(75), jitter: ms(10), loss: 0.01, ..Settings::rate(400_000) })],
        dip: false,
    },
    ProfileDef {
        id: "burst",
        title: "Burst loss: 1 Mbit/s, 20 % loss for 300 ms every 3 s",
        about: "1 Mbit/s each way with a 100 ms queue; for the first 300 ms of every 3 s, 20 % of the packets are lost",
        steps: || {
            vec![(0.0, Settings { burst: Some(Burst { loss: 0.2, length: ms(300), every: Duration::from_secs(3) }), ..Settings::rate(1_000_000) })]
        },
        dip: false,
    },
    ProfileDef {
        id: "dip",
        title: "Bandwidth dip: 2.5 Mbit/s, 15 s at 250 kbit/s, back",
        about: "2.5 Mbit/s each way with a 100 ms queue; from 10 s to 25 s of the window 250 kbit/s, then 2.5 Mbit/s again for the last 20 s",
        steps: || vec![(0.0, Settings::rate(2_500_000)), (DIP.0, Settings::rate(250_000)), (DIP.1, Settings::rate(2_500_000))],
        dip: true,
    },
];

fn profile(def: &ProfileDef, scale: f64) -> Result<Profile> {
    let steps = (def.steps)().into_iter().map(|(t, s)| (Duration::from_secs_f64(t * scale), s)).collect();
    Profile::new(steps).map_err(Error)
}

// ---------------------------------------------------------------------------
// Samples

/// Installed in a call window once video flows: every second one sample of
/// the call's connection into `window.__q` (bounded), time-stamped on the
/// shared clock. Cumulative counters as `getStats` gives them; the sums of
/// every inbound/outbound stream of a kind (one each in a 1:1 call). A
/// counter the browser does not give stays `null` (pauses, FEC), and so do
/// the audio codecs when nothing names one: `aco`/`aci` from the stats
/// (`codecId` → the codec's `mimeType`), `acs` the first of the audio
/// sender's `getParameters().codecs`, the one it sends with (Chromium's
/// stats name Opus inside RED, see [`codecs_note`]); `vsa` is whether the
/// video sender's first encoding is active (0: the page paused its video).
const SAMPLER: &str = "(() => { if (window.__q) return 0; const q = window.__q = []; \
  const tick = () => { const pc = window.__host.callPc(); if (!pc) return; \
    let vsa = null, vss = null, acs = null; try { pc.getSenders().forEach(x => { if (!x.track) return; const p = x.getParameters(); \
      if (x.track.kind === 'audio') { const c = (p.codecs || [])[0]; if (c && c.mimeType) acs = c.mimeType; return; } \
      if (x.track.kind !== 'video') return; const e = (p.encodings || [])[0]; if (!e) return; \
      vsa = (vsa === 0 || e.active === false) ? 0 : 1; if (e.scaleResolutionDownBy !== undefined) vss = e.scaleResolutionDownBy; }); } catch (e) {} \
    pc.getStats().then(r => { const o = { t: performance.timeOrigin + performance.now(), \
        ac: 0, at: 0, ajd: 0, aje: 0, al: 0, ar: 0, afec: null, aci: null, aco: null, acs: acs, \
        fc: 0, fd: 0, pc: null, pd: null, dec: 0, vb: 0, h: null, w: null, fps: null, \
        tb: null, ob: 0, qlr: null, qcpu: 0, aob: null, rtt: null, vsa: vsa, vss: vss }; let pairId = null; \
      const mime = id => { const c = id && r.get(id); return (c && c.mimeType) || null; }; \
      r.forEach(s => { \
        if (s.type === 'inbound-rtp' && s.kind === 'audio') { o.ac += s.concealedSamples || 0; o.at += s.totalSamplesReceived || 0; \
          o.ajd += s.jitterBufferDelay || 0; o.aje += s.jitterBufferEmittedCount || 0; \
          o.al += s.packetsLost || 0; o.ar += s.packetsReceived || 0; \
          if (s.fecPacketsReceived !== undefined) o.afec = (o.afec || 0) + s.fecPacketsReceived; \
          o.aci = mime(s.codecId) || o.aci; } \
        if (s.type === 'outbound-rtp' && s.kind === 'audio') o.aco = mime(s.codecId) || o.aco; \
        if (s.type === 'inbound-rtp' && s.kind === 'video') { o.fc += s.freezeCount || 0; o.fd += s.totalFreezesDuration || 0; \
          if (s.pauseCount !== undefined) o.pc = (o.pc || 0) + s.pauseCount; \
          if (s.totalPausesDuration !== undefined) o.pd = (o.pd || 0) + s.totalPausesDuration; \
          o.dec += s.framesDecoded || 0; o.vb += s.bytesReceived || 0; \
          if (s.frameHeight) { o.h = Math.max(o.h || 0, s.frameHeight); o.w = Math.max(o.w || 0, s.frameWidth || 0); } \
          if (s.framesPerSecond !== undefined) o.fps = (o.fps || 0) + s.framesPerSecond; } \
        if (s.type === 'outbound-rtp' && s.kind === 'video') { o.ob += s.bytesSent || 0; \
          if (s.targetBitrate !== undefined) o.tb = (o.tb || 0) + s.targetBitrate; \
          if (s.qualityLimitationReason && s.qualityLimitationReason !== 'none') o.qlr = s.qualityLimitationReason; \
          o.qcpu += (s.qualityLimitationDurations && s.qualityLimitationDurations.cpu) || 0; } \
        if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId; }); \
      const pair = pairId && r.get(pairId); \
      if (pair) { if (pair.availableOutgoingBitrate !== undefined) o.aob = pair.availableOutgoingBitrate; \
        if (pair.currentRoundTripTime !== undefined) o.rtt = pair.currentRoundTripTime; } \
      if (q.length < @@MAX@@) q.push(o); }, () => {}); }; \
  window.__qi = setInterval(tick, 1000); tick(); return 1; })()";

/// One sample of one window, `t` in seconds since the profile started.
/// NaN where the browser gave nothing.
#[derive(Clone, Copy, Debug)]
struct Sample {
    t: f64,
    /// Inbound audio: concealed and received samples, jitter buffer delay
    /// (s) and samples emitted from it; packets lost, received, and
    /// received as FEC.
    ac: f64,
    at: f64,
    ajd: f64,
    aje: f64,
    al: f64,
    ar: f64,
    afec: f64,
    /// Inbound video: freezes and their total duration (s), pauses and
    /// theirs (Chromium's `pauseCount`, `totalPausesDuration`), frames
    /// decoded, bytes, the frame height.
    fc: f64,
    fd: f64,
    pc: f64,
    pd: f64,
    dec: f64,
    vb: f64,
    h: f64,
    /// Outbound video: the encoder's target (bit/s), seconds limited by CPU.
    tb: f64,
    qcpu: f64,
    qlr_cpu: bool,
    /// The selected pair's bandwidth estimate, bit/s.
    aob: f64,
    /// The video sender's first encoding: active (1) or paused by the page
    /// (0), and its `scaleResolutionDownBy`.
    vsa: f64,
    vss: f64,
}

/// The audio codecs of one sample (`mimeType`): the one the sender sends
/// with (its parameters' first codec), and the stats' of the outbound and
/// the inbound stream.
#[derive(Clone, Debug, Default, PartialEq)]
struct Codecs {
    snd: Option<String>,
    out: Option<String>,
    inb: Option<String>,
}

fn parse_samples(v: &Value, offset: f64, t0: f64) -> (Vec<Sample>, Vec<Codecs>) {
    let f = |s: &Value, k: &str| s[k].as_f64().unwrap_or(f64::NAN);
    let a = v.as_array().map(Vec::as_slice).unwrap_or_default();
    let samples = a
        .iter()
        .map(|s| Sample {
            t: (f(s, "t") - offset - t0) / 1000.0,
            ac: f(s, "ac"),
            at: f(s, "at"),
            ajd: f(s, "ajd"),
            aje: f(s, "aje"),
            al: f(s, "al"),
            ar: f(s, "ar"),
            afec: f(s, "afec"),
            fc: f(s, "fc"),
            fd: f(s, "fd"),
            pc: f(s, "pc"),
            pd: f(s, "pd"),
            dec: f(s, "dec"),
            vb: f(s, "vb"),
            h: f(s, "h"),
            tb: f(s, "tb"),
            qcpu: f(s, "qcpu"),
            qlr_cpu: s["qlr"].as_str() == Some("cpu"),
            aob: f(s, "aob"),
            vsa: f(s, "vsa"),
            vss: f(s, "vss"),
        })
        .collect();
    let text = |s: &Value, k: &str| s[k].as_str().map(str::to_string);
    let codecs = a.iter().map(|s| Codecs { snd: text(s, "acs"), out: text(s, "aco"), inb: text(s, "aci") }).collect();
    (samples, codecs)
}

/// One run: both windows' samples (what each end received and sent).
struct RunData {
    side: Side,
    ends: [Vec<Sample>; 2],
    /// The audio codecs of each sample of `ends`, index for index.
    codecs: [Vec<Codecs>; 2],
    load_end: f64,
    cpu: Option<String>,
    links: Vec<(SocketAddr, Counts)>,
    /// The relay's own lateness: mean, worst, share over 10 ms.
    late: (Duration, Duration, f64),
}

// ---------------------------------------------------------------------------
// Metrics of a run

#[derive(Clone, Copy, PartialEq)]
enum Unit {
    Pct,
    Ms,
    Count,
    Secs,
    Fps,
    Px,
    Kbps,
    /// Seconds until something came back; ∞: not within the window.
    Back,
}

#[derive(Clone, Copy, PartialEq)]
enum Better {
    Lower,
    Higher,
    /// Not a quality by itself (a means: the estimate, the target).
    Neither,
}

struct Metric {
    key: &'static str,
    label: &'static str,
    unit: Unit,
    better: Better,
    dip_only: bool,
}

const METRICS: &[Metric] = &[
    Metric { key: "conc", label: "audio concealed (both ends, whole window)", unit: Unit::Pct, better: Better::Lower, dip_only: false },
    Metric { key: "lost", label: "audio packets lost (both ends, whole window)", unit: Unit::Pct, better: Better::Neither, dip_only: false },
    Metric { key: "conc_dip", label: "audio concealed during the dip", unit: Unit::Pct, better: Better::Lower, dip_only: true },
    Metric { key: "lost_dip", label: "audio packets lost during the dip", unit: Unit::Pct, better: Better::Neither, dip_only: true },
    Metric { key: "jb", label: "audio jitter-buffer delay", unit: Unit::Ms, better: Better::Lower, dip_only: false },
    Metric { key: "freezes", label: "video freezes (both ends)", unit: Unit::Count, better: Better::Lower, dip_only: false },
    Metric { key: "frozen", label: "video frozen (both ends)", unit: Unit::Secs, better: Better::Lower, dip_only: false },
    Metric { key: "pauses", label: "video pauses (both ends)", unit: Unit::Count, better: Better::Neither, dip_only: false },
    Metric { key: "paused", label: "video paused (both ends)", unit: Unit::Secs, better: Better::Neither, dip_only: false },
    Metric { key: "still", label: "video paused + frozen (both ends)", unit: Unit::Secs, better: Better::Lower, dip_only: false },
    Metric { key: "held", label: "video sending paused by the page (both ends, sender's encoding inactive)", unit: Unit::Secs, better: Better::Neither, dip_only: false },
    Metric { key: "fps", label: "frame rate received (mean of the ends)", unit: Unit::Fps, better: Better::Higher, dip_only: false },
    Metric { key: "height", label: "resolution received (median frame height)", unit: Unit::Px, better: Better::Higher, dip_only: false },
    Metric { key: "height_dip", label: "resolution received during the dip (median)", unit: Unit::Px, better: Better::Higher, dip_only: true },
    Metric { key: "kbps", label: "video received (mean of the ends)", unit: Unit::Kbps, better: Better::Neither, dip_only: false },
    Metric { key: "target", label: "video target bitrate (median, `targetBitrate`)", unit: Unit::Kbps, better: Better::Neither, dip_only: false },
    Metric { key: "bwe", label: "bandwidth estimate (median, `availableOutgoingBitrate`)", unit: Unit::Kbps, better: Better::Neither, dip_only: false },
    Metric { key: "back_res", label: "dip over → back to full resolution (the later end)", unit: Unit::Back, better: Better::Lower, dip_only: true },
    Metric { key: "back_rate", label: "dip over → video received back to 80 % of before (the later end)", unit: Unit::Back, better: Better::Lower, dip_only: true },
];

/// Samples of one end within [a, b] seconds of the profile.
fn within(s: &[Sample], a: f64, b: f64) -> Vec<Sample> {
    s.iter().copied().filter(|x| x.t >= a - 0.25 && x.t <= b + 0.25).collect()
}

/// The change of a cumulative counter over the samples, and their time span.
fn delta(s: &[Sample], f: fn(&Sample) -> f64) -> Option<(f64, f64)> {
    let (a, b) = (s.first()?, s.last()?);
    let d = f(b) - f(a);
    (d.is_finite() && b.t > a.t).then_some((d, b.t - a.t))
}

/// Sum of the ends' changes of `num` over those of `den`.
fn pooled(ends: &[Vec<Sample>], num: fn(&Sample) -> f64, den: fn(&Sample) -> f64) -> f64 {
    let (mut n, mut d) = (0.0, 0.0);
    for e in ends {
        if let (Some((x, _)), Some((y, _))) = (delta(e, num), delta(e, den)) {
            n += x;
            d += y;
        }
    }
    if d > 0.0 {
        n / d
    } else {
        f64::NAN
    }
}

fn sum_delta(ends: &[Vec<Sample>], f: fn(&Sample) -> f64) -> f64 {
    let v: Vec<f64> = ends.iter().filter_map(|e| delta(e, f)).map(|(d, _)| d).collect();
    if v.is_empty() {
        f64::NAN
    } else {
        v.iter().sum()
    }
}

fn mean_rate(ends: &[Vec<Sample>], f: fn(&Sample) -> f64) -> f64 {
    let v: Vec<f64> = ends.iter().filter_map(|e| delta(e, f)).map(|(d, t)| d / t).collect();
    if v.is_empty() {
        f64::NAN
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// Seconds in which the video sender's encoding was inactive (the page
/// paused its video), both ends summed: each interval between samples
/// counted by the later one. NaN when no end reported its sender.
fn held(ends: &[Vec<Sample>]) -> f64 {
    let mut secs = 0.0;
    let mut seen = false;
    for e in ends {
        for w in e.windows(2) {
            if w[1].vsa.is_finite() {
                seen = true;
                if w[1].vsa == 0.0 {
                    secs += w[1].t - w[0].t;
                }
            }
        }
    }
    if seen {
        secs
    } else {
        f64::NAN
    }
}

fn median_of(ends: &[Vec<Sample>], f: fn(&Sample) -> f64) -> f64 {
    let v: Vec<f64> = ends.iter().flatten().map(f).filter(|x| x.is_finite()).collect();
    median(&v).unwrap_or(f64::NAN)
}

/// Per-interval received video bitrate of one end: (end time, kbit/s).
fn rate_series(s: &[Sample]) -> Vec<(f64, f64)> {
    s.windows(2).filter(|w| w[1].t > w[0].t).map(|w| (w[1].t, (w[1].vb - w[0].vb) * 8.0 / 1000.0 / (w[1].t - w[0].t))).collect()
}

/// Seconds from `from` until the end's resolution is back at what it was
/// before the dip and stays there to the end of the window (∞: not back).
fn back_resolution(s: &[Sample], before: (f64, f64), from: f64) -> f64 {
    let full = within(s, before.0, before.1).iter().map(|x| x.h).filter(|h| h.is_finite()).fold(f64::NAN, f64::max);
    if !full.is_finite() {
        return f64::NAN;
    }
    let after: Vec<&Sample> = s.iter().filter(|x| x.t >= from).collect();
    // The first sample of the run of full ones that lasts to the end.
    let mut back = f64::INFINITY;
    for x in after.iter().rev() {
        if x.h < full {
            break;
        }
        back = x.t - from;
    }
    // A return seen in the last two seconds only is not yet a return.
    if after.last().is_some_and(|l| l.t - from - back < 2.0) {
        return f64::INFINITY;
    }
    back.max(0.0)
}

/// Seconds from `from` until the end's received video bitrate, averaged
/// over 3 s, is back at [`RATE_BACK`] of its mean before the dip (∞: not).
fn back_rate(s: &[Sample], before: (f64, f64), from: f64) -> f64 {
    let r = rate_series(s);
    let pre: Vec<f64> = r.iter().filter(|(t, _)| *t > before.0 && *t < before.1).map(|x| x.1).collect();
    if pre.is_empty() {
        return f64::NAN;
    }
    let goal = RATE_BACK * pre.iter().sum::<f64>() / pre.len() as f64;
    let after: Vec<(f64, f64)> = r.into_iter().filter(|(t, _)| *t > from).collect();
    for w in after.windows(3) {
        if w.iter().map(|x| x.1).sum::<f64>() / 3.0 >= goal {
            return (w[0].0 - 1.0 - from).max(0.0);
        }
    }
    f64::INFINITY
}

fn run_metrics(d: &RunData, window: f64, dip: Option<(f64, f64)>, scale: f64) -> Vec<(&'static str, f64)> {
    let ends: Vec<Vec<Sample>> = d.ends.iter().map(|e| within(e, 0.0, window)).collect();
    let mut m = vec![
        ("conc", 100.0 * pooled(&ends, |s| s.ac, |s| s.at)),
        ("lost", 100.0 * pooled(&ends, |s| s.al, |s| s.al + s.ar)),
        ("jb", 1000.0 * pooled(&ends, |s| s.ajd, |s| s.aje)),
        ("freezes", sum_delta(&ends, |s| s.fc)),
        ("frozen", sum_delta(&ends, |s| s.fd)),
        ("pauses", sum_delta(&ends, |s| s.pc)),
        ("paused", sum_delta(&ends, |s| s.pd)),
        ("still", sum_delta(&ends, |s| s.fd + s.pd)),
        ("held", held(&ends)),
        ("fps", mean_rate(&ends, |s| s.dec)),
        ("height", median_of(&ends, |s| s.h)),
        ("kbps", mean_rate(&ends, |s| s.vb) * 8.0 / 1000.0),
        ("target", median_of(&ends, |s| s.tb) / 1000.0),
        ("bwe", median_of(&ends, |s| s.aob) / 1000.0),
    ];
    if let Some((a, b)) = dip {
        let during: Vec<Vec<Sample>> = d.ends.iter().map(|e| within(e, a, b)).collect();
        m.push(("conc_dip", 100.0 * pooled(&during, |s| s.ac, |s| s.at)));
        m.push(("lost_dip", 100.0 * pooled(&during, |s| s.al, |s| s.al + s.ar)));
        m.push(("height_dip", median_of(&during, |s| s.h)));
        let before = (a - BEFORE_DIP * scale, a);
        let worst = |f: fn(&[Sample], (f64, f64), f64) -> f64| ends.iter().map(|e| f(e, before, b)).fold(f64::NAN, f64::max);
        m.push(("back_res", worst(back_resolution)));
        m.push(("back_rate", worst(back_rate)));
    }
    m
}

/// Why a run counts as limited by CPU: the load average above the cores at
/// its end, or an encoder that said "cpu" for more than a second.
fn cpu_limited(ends: &[Vec<Sample>; 2], load: f64, cores: usize, window: f64) -> Option<String> {
    let mut why = Vec::new();
    if load > cores as f64 {
        why.push(format!("load {load:.1} > {cores} cores"));
    }
    for (e, name) in ends.iter().zip(["caller", "callee"]) {
        let w = within(e, 0.0, window);
        let secs = delta(&w, |s| s.qcpu).map(|x| x.0).unwrap_or(0.0);
        if secs > 1.0 || w.iter().filter(|s| s.qlr_cpu).count() > 1 {
            why.push(format!("{name}'s encoder limited by CPU for {secs:.1} s"));
        }
    }
    (!why.is_empty()).then(|| why.join(", "))
}

fn load1() -> f64 {
    std::fs::read_to_string("/proc/loadavg").ok().and_then(|l| l.split_whitespace().next()?.parse().ok()).unwrap_or(f64::NAN)
}

// ---------------------------------------------------------------------------
// A run

/// coturn behind a shaping relay, relay candidates only.
fn shaped_net(p: Profile) -> Result<NetEnv> {
    let turn = Turn::start()?;
    let relay = Relay::start_shaped(SocketAddr::from(([127, 0, 0, 1], turn.port())), p)?;
    Ok(NetEnv { ice: relay.ice_servers(), relay_only: true, relay: Some(relay), _hole: None, _turn: Some(turn) })
}

fn read_samples(p: &Page, offset: f64, t0: f64) -> Result<(Vec<Sample>, Vec<Codecs>)> {
    Ok(parse_samples(&p.eval("window.__q || []")?, offset, t0))
}

fn run_one(server: &Server, def: &ProfileDef, o: &QualityOpts, side: Side) -> Result<RunData> {
    let net = shaped_net(profile(def, o.scale())?)?;
    let relay = net.relay.as_ref().ok_or_else(|| Error::new("no relay"))?;
    let b = browsers()?;
    let (a, bb) = run_call(&b, [server, server], side, &net, false, &mut Vec::new(), &mut Vec::new())?;
    let sampler = SAMPLER.replace("@@MAX@@", &SAMPLES_MAX.to_string());
    for p in [&a, &bb] {
        p.eval(&sampler)?;
    }
    sleep(Duration::from_secs_f64(o.window / 3.0));
    relay.start_profile();
    let t0 = epoch_ms();
    sleep(Duration::from_secs_f64(o.window + 1.5));
    let load_end = load1();
    let (ea, ca) = read_samples(&a, clock_offset(&a)?, t0)?;
    let (eb, cb) = read_samples(&bb, clock_offset(&bb)?, t0)?;
    let (ends, codecs) = ([ea, eb], [ca, cb]);
    for (e, p) in ends.iter().zip([&a, &bb]) {
        if within(e, 0.0, o.window).len() < (o.window / 2.0) as usize {
            return err(format!("{}: only {} samples in the window", p.name(), e.len()));
        }
    }
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let cpu = cpu_limited(&ends, load_end, cores, o.window);
    Ok(RunData { side, ends, codecs, load_end, cpu, links: relay.link_counts(), late: relay.lateness() })
}

// ---------------------------------------------------------------------------
// The whole bench

pub(crate) fn main(args: &[String]) -> std::process::ExitCode {
    let r = QualityOpts::parse(args).and_then(|o| match o {
        Some(o) => run(&o, args),
        None => err("--quality missing"),
    });
    match r {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench --quality: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

struct Outcome<'a> {
    def: &'a ProfileDef,
    runs: Vec<RunData>,
    failures: Vec<(Side, String)>,
}

fn run(o: &QualityOpts, args: &[String]) -> Result<()> {
    testhost::require_dist()?;
    testhost::require_interop()?;
    let started = Instant::now();
    let load_before = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let chromium = crate::chromium_version()?;
    let server = Server::start()?;
    let chosen: Vec<&ProfileDef> = PROFILES.iter().filter(|p| o.filter.is_empty() || o.filter.iter().any(|f| f == p.id)).collect();
    let mut outcomes = Vec::new();
    for def in chosen {
        let mut out = Outcome { def, runs: Vec::new(), failures: Vec::new() };
        for run in 0..o.runs {
            let order = if run % 2 == 0 { [Side::Ours, Side::Theirs] } else { [Side::Theirs, Side::Ours] };
            for side in order {
                let t = Instant::now();
                match run_one(&server, def, o, side) {
                    Ok(d) => {
                        let m = run_metrics(&d, o.window, dip_of(def, o.scale()), o.scale());
                        let shown: Vec<String> = m.iter().map(|(k, v)| format!("{k}={v:.2}")).collect();
                        eprintln!(
                            "[quality {}] run {}/{} {:6} {:5.1} s load {:.1}{}  {}",
                            def.id,
                            run + 1,
                            o.runs,
                            side.label(),
                            t.elapsed().as_secs_f64(),
                            d.load_end,
                            d.cpu.as_ref().map(|c| format!(" CPU-LIMITED ({c})")).unwrap_or_default(),
                            shown.join(" ")
                        );
                        dump(def, run, &d);
                        out.runs.push(d);
                    }
                    Err(e) => {
                        eprintln!("[quality {}] run {}/{} {:6} FAILED: {}", def.id, run + 1, o.runs, side.label(), first_line(&e));
                        out.failures.push((side, format!("run {}: {}", run + 1, first_line(&e))));
                    }
                }
            }
        }
        outcomes.push(out);
    }
    let load_after = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let svg_name = "quality-dip.svg";
    let (md, svg_dir) = if o.full() {
        (None, testhost::workspace_root().join("docs").join("bench"))
    } else {
        (Some(testhost::workspace_root().join("target/bench/QUALITY-partial.md")), testhost::workspace_root().join("target").join("bench"))
    };
    let mut svg_written = None;
    if let Some(dip) = outcomes.iter().find(|x| x.def.dip) {
        std::fs::create_dir_all(&svg_dir)?;
        let path = svg_dir.join(svg_name);
        std::fs::write(&path, svg(dip, o)?)?;
        eprintln!("bench: wrote {}", path.display());
        svg_written = Some(path);
    }
    let section = report(&Report {
        o,
        args,
        outcomes: &outcomes,
        chromium: &chromium,
        load: (&load_before, &load_after),
        took: started.elapsed(),
        svg: svg_written.as_ref().map(|_| if o.full() { "docs/bench/quality-dip.svg".to_string() } else { svg_name.to_string() }),
    });
    println!("{section}");
    match md {
        Some(path) => {
            if let Some(d) = path.parent() {
                std::fs::create_dir_all(d)?;
            }
            std::fs::write(&path, &section)?;
            eprintln!("bench: wrote {}", path.display());
        }
        None => write_section(&section)?,
    }
    Ok(())
}

/// Every run's samples, for a closer look: `target/bench/quality/`.
fn dump(def: &ProfileDef, run: usize, d: &RunData) {
    let dir = testhost::workspace_root().join("target").join("bench").join("quality");
    let rows: Vec<Value> = d
        .ends
        .iter()
        .zip(&d.codecs)
        .zip(["caller", "callee"])
        .flat_map(|((e, c), name)| {
            e.iter().zip(c).map(move |(x, c)| {
                serde_json::json!({ "end": name, "t": x.t, "concealed": x.ac, "samples": x.at, "jb_delay": x.ajd, "jb_emitted": x.aje,
                    "audio_lost": x.al, "audio_received": x.ar, "audio_fec": x.afec,
                    "audio_codec_sent": c.snd, "audio_codec_out": c.out, "audio_codec_in": c.inb,
                    "freezes": x.fc, "frozen": x.fd, "pauses": x.pc, "paused": x.pd, "decoded": x.dec, "bytes": x.vb, "height": x.h,
                    "target": x.tb, "cpu_s": x.qcpu, "cpu": x.qlr_cpu, "bwe": x.aob, "video_send_active": x.vsa, "video_send_scale": x.vss })
            })
        })
        .collect();
    let file = dir.join(format!("{}-{}-{}.json", def.id, d.side.label(), run + 1));
    let r = std::fs::create_dir_all(&dir).and_then(|_| std::fs::write(&file, Value::Array(rows).to_string()));
    if let Err(e) = r {
        eprintln!("bench: cannot write {}: {e}", file.display());
    }
}

fn dip_of(def: &ProfileDef, scale: f64) -> Option<(f64, f64)> {
    def.dip.then_some((DIP.0 * scale, DIP.1 * scale))
}

// ---------------------------------------------------------------------------
// The report

struct Report<'a> {
    o: &'a QualityOpts,
    args: &'a [String],
    outcomes: &'a [Outcome<'a>],
    chromium: &'a str,
    load: (&'a str, &'a str),
    took: Duration,
    svg: Option<String>,
}

fn fmt(v: f64, u: Unit) -> String {
    if v.is_infinite() && u == Unit::Back {
        return "not back".into();
    }
    if !v.is_finite() {
        return "–".into();
    }
    match u {
        Unit::Pct => format!("{v:.2} %"),
        Unit::Ms => format!("{v:.0} ms"),
        Unit::Count if v.fract() == 0.0 => format!("{v:.0}"),
        Unit::Count => format!("{v:.1}"),
        Unit::Secs | Unit::Back => format!("{v:.1} s"),
        Unit::Fps => format!("{v:.1} fps"),
        Unit::Px => format!("{v:.0} px"),
        Unit::Kbps => format!("{v:.0} kbit/s"),
    }
}

fn bare(v: f64, u: Unit) -> String {
    let s = fmt(v, u);
    match s.rsplit_once(' ') {
        Some((n, _)) if u != Unit::Back || v.is_finite() => n.to_string(),
        _ => s,
    }
}

/// Median (min–max) of a metric over runs; ∞ sorts last.
fn stats(v: &[f64]) -> Option<(f64, f64, f64)> {
    let mut s: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
    if s.is_empty() {
        return None;
    }
    s.sort_by(f64::total_cmp);
    let n = s.len();
    let med = if n % 2 == 1 { s[n / 2] } else { (s[n / 2 - 1] + s[n / 2]) / 2.0 };
    Some((med, s[0], s[n - 1]))
}

fn cell(v: &[f64], u: Unit) -> String {
    match stats(v) {
        None => "–".into(),
        Some((m, lo, hi)) if v.len() > 1 => format!("{} ({}–{})", fmt(m, u), bare(lo, u), bare(hi, u)),
        Some((m, _, _)) => fmt(m, u),
    }
}

/// The chance that N runs of one page all fall on one side of N runs of
/// the other when the pages do not differ: 2 / C(2N, N).
fn chance_apart(n: usize) -> f64 {
    let mut c = 1.0;
    for i in 0..n {
        c = c * (2 * n - i) as f64 / (i + 1) as f64;
    }
    2.0 / c
}

/// Ours against theirs: called a difference only when the runs do not
/// overlap and the medians differ by more than the clean path's spread.
fn compare(ours: &[f64], theirs: &[f64], clean_spread: Option<f64>, m: &Metric) -> String {
    let (Some((mo, lo_o, hi_o)), Some((mt, lo_t, hi_t))) = (stats(ours), stats(theirs)) else { return "n/a".into() };
    if mo == mt {
        return "same".into();
    }
    if ours.len().min(theirs.len()) < MIN_RUNS {
        return format!("not judged (fewer than {MIN_RUNS} runs)");
    }
    let diff = mo - mt;
    let apart = hi_o < lo_t || hi_t < lo_o;
    let beyond = clean_spread.is_none_or(|s| !diff.is_finite() || diff.abs() > s);
    let noise = clean_spread.filter(|s| s.is_finite()).map(|s| format!("; clean spread {}", bare(s, m.unit))).unwrap_or_default();
    if !(apart && beyond) {
        return format!("within noise{}", if apart { noise } else { String::from(" (runs overlap)") });
    }
    let dir = if diff < 0.0 { "ours lower" } else { "ours higher" };
    let verdict = match (m.better, diff < 0.0) {
        (Better::Neither, _) => "",
        (Better::Lower, true) | (Better::Higher, false) => ": **ours better**",
        _ => ": **theirs better**",
    };
    format!("{dir}{verdict}{noise}")
}

/// A metric's values over the runs of one page on one profile.
fn values(o: &QualityOpts, x: &Outcome, side: Side, key: &str) -> Vec<f64> {
    x.runs
        .iter()
        .filter(|d| d.side == side)
        .map(|d| run_metrics(d, o.window, dip_of(x.def, o.scale()), o.scale()))
        .filter_map(|m| m.iter().find(|(k, _)| *k == key).map(|(_, v)| *v))
        .collect()
}

/// A metric's spread on the clean path: the larger min–max of the pages.
fn spread(o: &QualityOpts, outcomes: &[Outcome], key: &str) -> Option<f64> {
    let c = outcomes.iter().find(|x| x.def.id == "clean")?;
    let w = |side| stats(&values(o, c, side, key)).map(|(_, lo, hi)| hi - lo);
    match (w(Side::Ours), w(Side::Theirs)) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// The table's judgement of one metric on one profile.
fn judge(o: &QualityOpts, outcomes: &[Outcome], x: &Outcome, m: &Metric) -> String {
    let (vo, vt) = (values(o, x, Side::Ours, m.key), values(o, x, Side::Theirs, m.key));
    let cs = if x.def.id == "clean" || m.dip_only { None } else { spread(o, outcomes, m.key) };
    compare(&vo, &vt, cs, m)
}

/// The audio codecs of one end that `f` picks, in the order seen.
fn codec_seq(c: &[Codecs], f: fn(&Codecs) -> &Option<String>) -> String {
    let mut v: Vec<&str> = Vec::new();
    for x in c {
        if let Some(m) = f(x) {
            if v.last() != Some(&m.as_str()) {
                v.push(m);
            }
        }
    }
    if v.is_empty() {
        "none reported".into()
    } else {
        v.join(" then ")
    }
}

/// The audio codec a run sent with: the same at both ends (`Ok`), or each
/// end's.
fn run_codecs(d: &RunData) -> std::result::Result<String, String> {
    let (a, b) = (codec_seq(&d.codecs[0], |c| &c.snd), codec_seq(&d.codecs[1], |c| &c.snd));
    if a == b {
        Ok(a)
    } else {
        Err(format!("caller sends {a}, callee sends {b}"))
    }
}

/// What the stats of a run say, outbound and inbound, at each end.
fn run_stat_codecs(d: &RunData) -> String {
    let (ao, bo) = (codec_seq(&d.codecs[0], |c| &c.out), codec_seq(&d.codecs[1], |c| &c.out));
    let (ai, bi) = (codec_seq(&d.codecs[0], |c| &c.inb), codec_seq(&d.codecs[1], |c| &c.inb));
    if ao == bo && ai == ao && bi == ao {
        format!("{ao} both ways")
    } else {
        format!("caller out {ao}, in {ai}; callee out {bo}, in {bi}")
    }
}

/// Per page: the audio codec of its runs, and the FEC packets received.
fn codecs_note(outcomes: &[Outcome]) -> String {
    let page = |side: Side| -> String {
        let runs: Vec<&RunData> = outcomes.iter().flat_map(|x| &x.runs).filter(|d| d.side == side).collect();
        let n = runs.len();
        if n == 0 {
            return "no runs".into();
        }
        let mut groups: Vec<(std::result::Result<String, String>, usize)> = Vec::new();
        for d in &runs {
            let c = run_codecs(d);
            match groups.iter_mut().find(|g| g.0 == c) {
                Some(g) => g.1 += 1,
                None => groups.push((c, 1)),
            }
        }
        let words: Vec<String> = groups
            .iter()
            .map(|(c, k)| match c {
                Ok(m) => format!("{m} (both ends, {k}/{n} runs)"),
                Err(e) => format!("{e} ({k}/{n} runs)"),
            })
            .collect();
        let mut stat: Vec<String> = Vec::new();
        for d in &runs {
            let c = run_stat_codecs(d);
            if !stat.contains(&c) {
                stat.push(c);
            }
        }
        let fec: Vec<f64> = runs.iter().flat_map(|d| d.ends.iter().filter_map(|e| delta(e, |s| s.afec)).map(|x| x.0)).collect();
        let fec = if fec.is_empty() { "not reported".to_string() } else { format!("{:.0} in all", fec.iter().sum::<f64>()) };
        format!("{} (the stats: {}; `fecPacketsReceived` {fec})", words.join("; "), stat.join(" or "))
    };
    format!(
        "\nAudio codec sent (each end's audio sender, the first of its `getParameters().codecs`, which Chromium sends \
with; every sample of every run): ours {}; theirs {}. The stats' codec (outbound and inbound audio stream → `codecId` \
→ the codec's `mimeType`) cannot show RED in Chromium: it names the send codec's own payload type and the last one \
decoded, Opus inside RED. With `audio/red` each packet also carries the previous frame, so a lost packet can be \
rebuilt from the next: \"audio packets lost\" counts packets that never arrived, \"audio concealed\" what the \
listener missed; concealment below loss is loss that redundancy (RED, or Opus's own FEC) recovered.\n",
        page(Side::Ours),
        page(Side::Theirs)
    )
}

/// A profile's short name (its title up to the colon).
fn short(def: &ProfileDef) -> &'static str {
    def.title.split(':').next().unwrap_or(def.title)
}

/// The targets, from the medians, each with the table's judgement.
fn targets(o: &QualityOpts, outcomes: &[Outcome]) -> String {
    let metric = |key: &str| METRICS.iter().find(|m| m.key == key).expect("a known metric");
    let find = |id: &str| outcomes.iter().find(|x| x.def.id == id);
    let med = |x: &Outcome, side: Side, key: &str| stats(&values(o, x, side, key)).map(|v| v.0);
    let plain = |x: &Outcome, m: &Metric| format!("the table: {}", judge(o, outcomes, x, m).replace("**", ""));
    let title = |id: &str| -> String { PROFILES.iter().find(|p| p.id == id).map_or_else(|| id.to_string(), |p| short(p).to_string()) };
    // One target: each part's words and whether it was met (None: not run
    // or no numbers).
    let verdict = |parts: &[Option<bool>]| -> String {
        let met = if parts.iter().any(Option::is_none) {
            None
        } else {
            Some(parts.iter().all(|p| *p == Some(true)))
        };
        let word = |m: bool| if m { "met" } else { "not met" };
        match (met, o.full(), o.runs >= MIN_RUNS) {
            (None, _, _) => "not judged (a profile missing or without numbers)".into(),
            (Some(m), true, true) if m => "met".into(),
            (Some(_), true, true) => "**not met**".into(),
            (Some(m), false, _) => format!("not judged (a partial run; on these numbers {})", word(m)),
            (Some(m), true, false) => format!("not judged (fewer than {MIN_RUNS} runs; on these numbers {})", word(m)),
        }
    };
    let mut s = String::from(
        "\nTargets (issue 27), from the medians of the table; beside each number the table's judgement, so a target met \
on medians whose runs overlap reads as a lead, not a result. Only a run of every profile with the full window judges them.\n\n",
    );
    // Audio concealment at most half the deployed page's.
    let mut parts = Vec::new();
    let mut words = Vec::new();
    for (id, key) in [("3g", "conc"), ("burst", "conc"), ("dip", "conc_dip")] {
        let Some(x) = find(id) else {
            parts.push(None);
            words.push(format!("{}: not run", title(id)));
            continue;
        };
        let m = metric(key);
        let (mo, mt) = (med(x, Side::Ours, key), med(x, Side::Theirs, key));
        let lost = |side| med(x, side, if key == "conc" { "lost" } else { "lost_dip" }).map_or("–".into(), |v| fmt(v, Unit::Pct));
        match (mo, mt) {
            (Some(a), Some(b)) if a.is_finite() && b.is_finite() => {
                let ok = a <= 0.5 * b;
                parts.push(Some(ok));
                words.push(format!(
                    "{}{}: ours {} against theirs {}, at most {}: {} ({}); packets lost ours {}, theirs {}",
                    short(x.def),
                    if key == "conc_dip" { ", during the dip" } else { "" },
                    fmt(a, m.unit),
                    fmt(b, m.unit),
                    fmt(0.5 * b, m.unit),
                    if ok { "met" } else { "not met" },
                    plain(x, m),
                    lost(Side::Ours),
                    lost(Side::Theirs),
                ));
            }
            _ => {
                parts.push(None);
                words.push(format!("{}: no numbers", short(x.def)));
            }
        }
    }
    let _ = writeln!(
        s,
        "- Audio concealed at most half the deployed page's on 3G, burst loss and during the dip: {}. {}.",
        verdict(&parts),
        words.join("; ")
    );
    // Video frozen no more than deployed, on every profile.
    let (mut parts, mut words) = (Vec::new(), Vec::new());
    for def in PROFILES {
        let Some(x) = find(def.id) else {
            parts.push(None);
            words.push(format!("{}: not run", short(def)));
            continue;
        };
        let m = metric("frozen");
        let secs = |side, key| med(x, side, key).map_or("–".into(), |v| fmt(v, Unit::Secs));
        match (med(x, Side::Ours, "frozen"), med(x, Side::Theirs, "frozen")) {
            (Some(a), Some(b)) if a.is_finite() && b.is_finite() => {
                let ok = a <= b;
                parts.push(Some(ok));
                words.push(format!(
                    "{}: frozen ours {} against theirs {}: {} ({}); paused beside it ours {}, theirs {}",
                    short(def),
                    fmt(a, m.unit),
                    fmt(b, m.unit),
                    if ok { "met" } else { "not met" },
                    plain(x, m),
                    secs(Side::Ours, "paused"),
                    secs(Side::Theirs, "paused"),
                ));
            }
            _ => {
                parts.push(None);
                words.push(format!("{}: no numbers", short(def)));
            }
        }
    }
    let _ = writeln!(
        s,
        "- Video frozen no more than the deployed page on every profile (judged on freezes, `totalFreezesDuration`; pauses \
shown beside them, and \"paused + frozen\" in the table): {}. {}.",
        verdict(&parts),
        words.join("; ")
    );
    // Full resolution back within 10 s of the dip's end.
    let limit = 10.0 * o.scale();
    let scaled = if o.full() { String::new() } else { format!(" ({} for this window)", fmt(limit, Unit::Secs)) };
    let dip_len = (DIP.1 - DIP.0) * o.scale();
    let (part, word) = match find("dip") {
        None => (None, format!("{}: not run", title("dip"))),
        Some(x) => {
            let m = metric("back_res");
            match (med(x, Side::Ours, "back_res"), med(x, Side::Theirs, "back_res")) {
                (Some(a), b) if !a.is_nan() => {
                    let ok = a <= limit;
                    (
                        Some(ok),
                        format!(
                            "ours {} against theirs {}: {} ({})",
                            fmt(a, m.unit),
                            b.map_or("–".into(), |b| fmt(b, m.unit)),
                            if ok { "met" } else { "not met" },
                            plain(x, m)
                        ),
                    )
                }
                _ => (None, "no numbers".into()),
            }
        }
    };
    let _ = writeln!(
        s,
        "- Full resolution back within 10 s{scaled} after the {:.0} s dip ends (the later end): {}. {word}.",
        dip_len,
        verdict(&[part])
    );
    s
}

fn report(r: &Report) -> String {
    let o = r.o;
    let mut s = String::new();
    let cmd = format!("cargo xtask bench {}", r.args.join(" "));
    let _ = writeln!(s, "## Call quality on shaped paths\n");
    let _ = writeln!(
        s,
        "Written by `{cmd}` on {}; {}; {}; {} run(s) per page and profile, {:.0} s windows; took {:.0} min; load average (1, 5, 15 min) before `{}`, after `{}`.\n",
        utc_now(),
        machine(),
        r.chromium,
        o.runs,
        o.window,
        r.took.as_secs_f64() / 60.0,
        r.load.0.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
        r.load.1.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
    );
    s.push_str(
        "Every packet of the call goes through a shaping relay: both windows are forced through coturn (ours \
`?relayOnly`, theirs by the harness's `iceTransportPolicy: \"relay\"`), and coturn is reached through the userspace \
relay (`testhost::relay`, model in `testhost::shaper`), which shapes each page's uplink, that is each direction of the \
call, after the profile: a token bucket at the profile's rate (IP bytes; depth 10 ms of the rate, at least 3000 B) \
with a queue bounded at 100 ms of the rate (tail drop), then a one-way delay with jitter (order kept), random loss and \
bursts of loss. The TURN allocation and ICE go through it too. The call is set up on the profile's first step; once \
video is decoded on both sides it runs for a third of the window (so the bandwidth estimate can climb), then the \
profile starts and each window samples `getStats` once a second in the page (time-stamped on the shared clock, read \
at the end): inbound audio `concealedSamples`/`totalSamplesReceived`, `jitterBufferDelay`/`jitterBufferEmittedCount`, \
`packetsLost`/`packetsReceived` and `fecPacketsReceived` (where given), inbound video `freezeCount`/`totalFreezesDuration`, \
`pauseCount`/`totalPausesDuration`, `framesDecoded`, `frameHeight`, `bytesReceived`, outbound video `targetBitrate` and \
`qualityLimitationReason`/`qualityLimitationDurations`, the selected pair's `availableOutgoingBitrate`, the audio codec \
(the audio sender's first `getParameters().codecs`, and each stream's `codecId` → the codec's `mimeType`), and whether \
the video sender's encoding is `active` (`getParameters()`). One call at a time, every window in a Chromium of its own; per profile the runs alternate between \
the pages (ours, theirs, theirs, ours, …).\n\n",
    );
    s.push_str(
        "**Paused is not frozen.** Our page pauses its camera's video on its own when the path is too narrow for it (the \
sender's encoding `active: false`), says so on both screens (\"Video paused: poor connection\") and sends video again \
when it can; the deployed page has no such rule. A pause is announced on screen, a freeze is not: the picture just stops. \
Chromium counts them apart at the receiver: a *freeze* is a frame that came at least three times the recent mean \
interval late (and 150 ms more) while video was flowing (`freezeCount`, `totalFreezesDuration`); a *pause* is a gap in \
which no video packet came for 5 s and the stream was taken as inactive (`pauseCount`, `totalPausesDuration`). The \
target \"video frozen no more than the deployed page\" is judged on freezes alone; \"video paused\" stands beside it, \
and \"video paused + frozen\" is every second without a moving picture, so that no freeze can hide as a pause. Three \
limits of the counters: a pause shorter than Chromium's 5 s (or one with packets still arriving) is counted as a \
freeze; both are counted only when the next frame arrives, so a gap still open when the window ends is in neither; \
and the receiver cannot tell a pause the sender chose from a path that carried nothing. The row \"video sending \
paused by the page\" is the sender's own side: the seconds its encoding was inactive, sampled each second.\n\n",
    );
    let _ = writeln!(
        s,
        "Values are the median (min–max) over runs. A difference is called (\"ours better\"/\"theirs better\") only when \
the two pages' runs do not overlap **and** their medians differ by more than that metric's spread on the clean path \
(the larger min–max of the two pages there); metrics that exist only in the dip are judged by the overlap alone. With \
{n} runs per page, {n} runs of one page all falling on one side of the other's happens by chance with probability \
2/C({n2},{n}) = {p:.1} % when the pages do not differ: 3 runs (the default, which keeps a full run near half an hour on \
two cores; fewer are not judged) give 10 %, so a called difference is a lead, and `--runs 5` (0.8 %) is what a claim needs. A run is flagged \
*CPU-limited* when the load average at its end exceeds the cores or either encoder reported `cpu` as its quality \
limitation for more than a second: its numbers say more about the machine than about the page. The second table also \
gives how late the relay sent packets against their due times: its threads want the CPU too, and a late relay is \
delay and jitter the profile did not ask for.\n",
        n = o.runs,
        n2 = 2 * o.runs,
        p = 100.0 * chance_apart(o.runs),
    );
    s.push_str("Profiles (times for the window, scaled with `--window`):\n\n");
    for x in r.outcomes {
        let _ = writeln!(s, "- **{}** (`{}`): {}.", x.def.title, x.def.id, x.def.about);
    }
    s.push('\n');

    let all: usize = r.outcomes.iter().map(|x| x.runs.len()).sum();
    let limited: usize = r.outcomes.iter().map(|x| x.runs.iter().filter(|d| d.cpu.is_some()).count()).sum();
    if all > 0 && 2 * limited > all {
        let _ = writeln!(
            s,
            "**{limited} of {all} runs were limited by CPU** (see the second table): with the machine short of CPU the \
encoders, decoders and the relay's threads wait, delays grow and the bandwidth estimate falls even on the clean path, so \
these numbers describe the machine more than the pages; a difference called below needs a quiet machine to confirm.\n"
        );
    }
    s.push_str("| Profile | Metric | Ours | Theirs | Ours against theirs |\n|---|---|---|---|---|\n");
    for x in r.outcomes {
        for m in METRICS.iter().filter(|m| !m.dip_only || x.def.dip) {
            let (vo, vt) = (values(o, x, Side::Ours, m.key), values(o, x, Side::Theirs, m.key));
            let _ = writeln!(s, "| {} | {} | {} | {} | {} |", x.def.title, m.label, cell(&vo, m.unit), cell(&vt, m.unit), judge(o, r.outcomes, x, m));
        }
    }
    s.push_str(&codecs_note(r.outcomes));
    s.push_str(&targets(o, r.outcomes));
    s.push_str("\n| Profile | runs ours / theirs | CPU-limited ours / theirs | load at the runs' ends | dropped by the shaper (random / burst / queue), per run | relay's packets late: mean, worst, share > 10 ms |\n|---|---|---|---|---|---|\n");
    for x in r.outcomes {
        let count = |side: Side| x.runs.iter().filter(|d| d.side == side).count();
        let cpu = |side: Side| x.runs.iter().filter(|d| d.side == side && d.cpu.is_some()).count();
        let loads: Vec<String> = x.runs.iter().map(|d| format!("{:.1}", d.load_end)).collect();
        let mut drops = Counts::default();
        for d in &x.runs {
            for (_, c) in &d.links {
                drops.add(c);
            }
        }
        let n = x.runs.len().max(1) as u64;
        let late: Vec<String> = x
            .runs
            .iter()
            .map(|d| format!("{:.1} / {:.0} ms / {:.1} %", d.late.0.as_secs_f64() * 1000.0, d.late.1.as_secs_f64() * 1000.0, 100.0 * d.late.2))
            .collect();
        let failed = if x.failures.is_empty() { String::new() } else { format!(" ({} failed)", x.failures.len()) };
        let _ = writeln!(
            s,
            "| {} | {} / {}{failed} | {} / {} | {} | {} / {} / {} of {} | {} |",
            x.def.title,
            count(Side::Ours),
            count(Side::Theirs),
            cpu(Side::Ours),
            cpu(Side::Theirs),
            loads.join(", "),
            drops.lost / n,
            drops.burst / n,
            drops.overflow / n,
            (drops.delivered + drops.dropped()) / n,
            late.join("; "),
        );
    }
    if let Some(svg) = &r.svg {
        let _ = writeln!(
            s,
            "\nThe dip over time, both pages (per second; each line the median over runs of the mean of the two ends; the \
dashed line is the path's rate, the shaded band the dip):\n\n![The bandwidth dip over time: video bitrate received, frame \
height received and audio concealed per second, ours and theirs]({svg})"
        );
    }
    s.push_str(REPORTED);
    let mut notes = String::new();
    for x in r.outcomes {
        for d in x.runs.iter().filter(|d| d.cpu.is_some()) {
            let _ = writeln!(notes, "- `{}` {}: CPU-limited ({})", x.def.id, d.side.label(), d.cpu.as_deref().unwrap_or(""));
        }
        for (side, f) in &x.failures {
            let _ = writeln!(notes, "- `{}` {}: failed, {f}", x.def.id, side.label());
        }
    }
    if !notes.is_empty() {
        s.push_str("\nNotes from the runs:\n\n");
        s.push_str(&notes);
    }
    s
}

/// What the reporter measured outside the project, to compare.
const REPORTED: &str = "
For comparison, the issue's reporter (Chromium 156, both pages through a relay shaping each direction: token bucket, \
100 ms queue, tail drop; 45 s windows sampled once a second on both ends) measured, ours / deployed: clean: audio \
concealed 0.00 % / 0.01 %, video target bitrate 800 / 1,700 kbit/s, bandwidth estimate 1,775 / 3,606 kbit/s; 400 kbit/s, \
150 ms RTT, 1 % loss: concealed 0.90 % / 0.92 %, frozen 0.97 s (3 freezes) / 0.55 s (2); 1 Mbit/s with 20 % loss for \
300 ms every 3 s: concealed 1.88 % / 1.79 %, frozen 1.25 s (4) / 0.71 s (3); 2.5 Mbit/s with 15 s at 250 kbit/s: \
concealed during the dip 1.11 % / 1.10 %, frozen 3.5 s (8) / 5.1 s (12), back to full resolution not within 15 s for \
either. Ours sends at most 800 kbit/s of video on a relayed path by design (the video cap of `crates/call-core/src/params.rs`), \
which is why its target and bitrate rows sit below the deployed page's on a wide path.
";

const BEGIN: &str = "<!-- quality -->";
const END: &str = "<!-- /quality -->";

/// The part of an old BENCHMARKS.md that the main bench keeps when it
/// rewrites the file: this section (when it comes before the soak's) and
/// the soak's sections.
pub(crate) fn kept(old: &str) -> &str {
    let soak = crate::soak::kept(old);
    match old.find(BEGIN) {
        Some(i) if old.len() - i >= soak.len() => &old[i..],
        _ => soak,
    }
}

/// Replaces (or adds, before the soak's sections) this section of
/// BENCHMARKS.md; the rest of the file stays as it was.
fn write_section(section: &str) -> Result<()> {
    crate::plots::write_section(BEGIN, END, section, Some("## Soak: long calls"), "quality")
}

// ---------------------------------------------------------------------------
// The plot

/// Per second of the window, the median over runs of a per-run series
/// (already per second, NaN where missing).
fn per_second(series: &[Vec<f64>], n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| {
            let v: Vec<f64> = series.iter().filter_map(|s| s.get(i).copied()).filter(|x| x.is_finite()).collect();
            median(&v).unwrap_or(f64::NAN)
        })
        .collect()
}

/// A run's value per second: the mean over both ends of `f` applied to
/// each pair of consecutive samples, binned by the later sample's time.
fn binned(d: &RunData, n: usize, f: fn(&Sample, &Sample) -> Option<f64>) -> Vec<f64> {
    let mut sum = vec![0.0; n];
    let mut cnt = vec![0u32; n];
    for e in &d.ends {
        for w in e.windows(2) {
            let t = w[1].t;
            if t < 0.0 || w[1].t <= w[0].t {
                continue;
            }
            let i = t.floor() as usize;
            if let (Some(v), true) = (f(&w[0], &w[1]), i < n) {
                if v.is_finite() {
                    sum[i] += v;
                    cnt[i] += 1;
                }
            }
        }
    }
    sum.iter().zip(&cnt).map(|(s, c)| if *c > 0 { s / f64::from(*c) } else { f64::NAN }).collect()
}

fn svg(x: &Outcome, o: &QualityOpts) -> Result<String> {
    use crate::svg::{nice, Anchor, Area, Stroke, Svg, OURS, THEIRS};
    let n = o.window.ceil() as usize;
    let (w, ph, left, right, top, gap) = (960.0, 190.0, 70.0, 150.0, 62.0, 50.0);
    let pw = w - left - right;
    let h = top + 3.0 * ph + 3.0 * gap;
    let xs = |t: f64| left + pw * t / o.window;
    let prof = profile(x.def, o.scale())?;
    let sides = [(Side::Ours, OURS, "ours"), (Side::Theirs, THEIRS, "theirs (deployed)")];
    type F = fn(&Sample, &Sample) -> Option<f64>;
    let panels: [(&str, &str, F); 3] = [
        ("video received", "kbit/s", |a, b| Some((b.vb - a.vb) * 8.0 / 1000.0 / (b.t - a.t))),
        ("frame height received", "px", |_, b| Some(b.h)),
        ("audio concealed", "%", |a, b| {
            let d = b.at - a.at;
            (d > 0.0).then(|| 100.0 * (b.ac - a.ac) / d)
        }),
    ];
    let mut s = Svg::new(w, h);
    s.text(left, 22.0, Anchor::Start, "font-size=\"15\"", &format!("{} — {} run(s) per page, {:.0} s window", x.def.title, o.runs, o.window));
    let dip = dip_of(x.def, o.scale()).unwrap_or((0.0, 0.0));
    for (k, (title, unit, f)) in panels.iter().enumerate() {
        let y0 = top + k as f64 * (ph + gap);
        let area = Area { x: left, y: y0, w: pw, h: ph };
        let lines: Vec<(&str, &str, Vec<f64>)> = sides
            .iter()
            .map(|(side, color, name)| {
                let per_run: Vec<Vec<f64>> = x.runs.iter().filter(|d| d.side == *side).map(|d| binned(d, n, *f)).collect();
                (*color, *name, per_second(&per_run, n))
            })
            .collect();
        let mut ymax = lines.iter().flat_map(|l| l.2.iter()).copied().filter(|v| v.is_finite()).fold(0.0, f64::max);
        if k == 0 {
            for (_, st) in prof.steps() {
                if let Some(r) = st.rate_bps {
                    ymax = ymax.max(r as f64 / 1000.0);
                }
            }
        }
        let ymax = nice(ymax * 1.05);
        let ys = |v: f64| area.y_of(v, ymax);
        s.rect(Area { x: xs(dip.0), y: y0, w: xs(dip.1) - xs(dip.0), h: ph }, "#fff3c4", None);
        s.panel(area, &format!("{title} ({unit})"), ymax, 4);
        let ticks = (0..).map(|i| f64::from(i) * 5.0).take_while(|t| *t <= o.window + 1e-9);
        s.x_labels(area, ticks.map(|t| (xs(t), format!("{t:.0} s"))));
        if k == 0 {
            // The path's rate, as a step line.
            let mut pts = Vec::new();
            let steps = prof.steps();
            for (i, (at, st)) in steps.iter().enumerate() {
                let Some(r) = st.rate_bps else { continue };
                let a = at.as_secs_f64();
                let b = steps.get(i + 1).map_or(o.window, |x| x.0.as_secs_f64());
                let y = ys(r as f64 / 1000.0);
                pts.extend([(xs(a), y), (xs(b.min(o.window)), y)]);
            }
            if !pts.is_empty() {
                s.polyline(&pts, Stroke::new("#666", 1.0).dashed("5,4"));
                s.text(left + pw + 8.0, y0 + 12.0, Anchor::Start, "fill=\"#666\"", "path rate");
            }
        }
        for (li, (color, name, v)) in lines.iter().enumerate() {
            // A sample late under load leaves a second empty: bridged up
            // to 3 s, broken beyond.
            s.series(v, |i| xs(i as f64 + 0.5), ys, 3, Stroke::new(color, 2.0));
            s.legend(left + pw + 8.0, y0 + 32.0 + 18.0 * li as f64, Stroke::new(color, 2.0), name);
        }
    }
    Ok(s.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(t: f64, h: f64, vb: f64) -> Sample {
        Sample {
            t,
            ac: 0.0,
            at: 0.0,
            ajd: 0.0,
            aje: 0.0,
            al: 0.0,
            ar: 0.0,
            afec: f64::NAN,
            fc: 0.0,
            fd: 0.0,
            pc: 0.0,
            pd: 0.0,
            dec: 0.0,
            vb,
            h,
            tb: 0.0,
            qcpu: 0.0,
            qlr_cpu: false,
            aob: 0.0,
            vsa: 1.0,
            vss: 1.0,
        }
    }

    #[test]
    fn flags() {
        let a = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        assert!(QualityOpts::parse(&a("--runs 3")).unwrap().is_none());
        let o = QualityOpts::parse(&a("--quality --runs 2 --profile dip,clean --window 20")).unwrap().unwrap();
        assert_eq!((o.runs, o.filter.len(), o.window), (2, 2, 20.0));
        assert!(!o.full());
        assert!(QualityOpts::parse(&a("--quality")).unwrap().unwrap().full());
        assert!(QualityOpts::parse(&a("--quality --profile moon")).is_err());
        assert!(QualityOpts::parse(&a("--quality --window 3")).is_err());
        for p in PROFILES {
            assert!(profile(p, 1.0).is_ok(), "{}", p.id);
        }
    }

    /// The main bench keeps this section and the soak's when it rewrites
    /// BENCHMARKS.md.
    #[test]
    fn the_main_bench_keeps_the_section() {
        let both = "# B\n\n## Results\n\n<!-- quality -->\n## Call quality\n<!-- /quality -->\n\n## Soak: long calls\n\nx\n";
        assert!(kept(both).starts_with("<!-- quality -->") && kept(both).ends_with("x\n"));
        let soak_only = "# B\n\n## Soak: long calls\n\nx\n";
        assert_eq!(kept(soak_only), "## Soak: long calls\n\nx\n");
        assert_eq!(kept("# B\n"), "");
    }

    #[test]
    fn chance_of_runs_apart() {
        assert!((chance_apart(3) - 0.1).abs() < 1e-9);
        assert!((chance_apart(5) - 2.0 / 252.0).abs() < 1e-9);
    }

    /// Full resolution before the dip, down in it, back 4 s after its end.
    #[test]
    fn time_back() {
        let s: Vec<Sample> = (0..45)
            .map(|i| {
                let t = f64::from(i);
                let h = if (10.0..29.0).contains(&t) { 240.0 } else { 480.0 };
                let rate = if (10.0..31.0).contains(&t) { 30.0 } else { 100.0 };
                sample(t, h, 0.0 + rate * t)
            })
            .collect();
        // Cumulative bytes from a piecewise rate.
        let mut acc = 0.0;
        let s: Vec<Sample> = s
            .iter()
            .map(|x| {
                let r = if (10.0..31.0).contains(&x.t) { 30.0 } else { 100.0 };
                acc += r;
                Sample { vb: acc, ..*x }
            })
            .collect();
        assert_eq!(back_resolution(&s, (5.0, 10.0), 25.0), 4.0);
        let r = back_rate(&s, (5.0, 10.0), 25.0);
        assert!((5.0..=7.0).contains(&r), "{r}");
        // Never back.
        let low: Vec<Sample> = s.iter().map(|x| Sample { h: if x.t < 10.0 { 480.0 } else { 240.0 }, ..*x }).collect();
        assert!(back_resolution(&low, (5.0, 10.0), 25.0).is_infinite());
    }

    /// A run of every profile with made-up numbers: ours conceals a
    /// quarter of what theirs does, pauses its video in the dip where
    /// theirs freezes, and sends RED both ways where theirs sends Opus.
    fn made_up(side: Side) -> RunData {
        let ours = side == Side::Ours;
        let end = || -> Vec<Sample> {
            (0..=45)
                .map(|i| {
                    let t = f64::from(i);
                    let gap = (t - 12.0).clamp(0.0, 8.0);
                    Sample {
                        ac: t * if ours { 0.5 } else { 2.0 },
                        at: t * 100.0,
                        al: t * 2.0,
                        ar: t * 48.0,
                        afec: if ours { f64::NAN } else { 0.0 },
                        fc: if ours || t < 20.0 { 0.0 } else { 1.0 },
                        fd: if ours { 0.0 } else { gap },
                        pc: if ours && t >= 20.0 { 1.0 } else { 0.0 },
                        pd: if ours { gap } else { 0.0 },
                        dec: t * 20.0,
                        vsa: if ours && (12.0..20.0).contains(&t) { 0.0 } else { 1.0 },
                        ..sample(t, 480.0, t * 60_000.0)
                    }
                })
                .collect()
        };
        let codec = if ours { "audio/red" } else { "audio/opus" };
        let codecs = || (0..=45).map(|_| Codecs { snd: Some(codec.into()), out: Some("audio/opus".into()), inb: Some("audio/opus".into()) }).collect();
        RunData {
            side,
            ends: [end(), end()],
            codecs: [codecs(), codecs()],
            load_end: 1.0,
            cpu: None,
            links: Vec::new(),
            late: (Duration::ZERO, Duration::ZERO, 0.0),
        }
    }

    /// The report of a full run: pauses beside freezes, the codec per
    /// page, the targets; and the summary of BENCHMARKS.md still reads it.
    #[test]
    fn the_report_and_its_summary() {
        let o = QualityOpts { runs: 3, filter: Vec::new(), window: WINDOW };
        let outcomes: Vec<Outcome> = PROFILES
            .iter()
            .map(|def| Outcome {
                def,
                runs: [Side::Ours, Side::Theirs, Side::Theirs, Side::Ours, Side::Ours, Side::Theirs].into_iter().map(made_up).collect(),
                failures: Vec::new(),
            })
            .collect();
        let args: Vec<String> = vec!["--quality".into()];
        let s = report(&Report { o: &o, args: &args, outcomes: &outcomes, chromium: "Chrome/1", load: ("1 1 1", "1 1 1"), took: Duration::ZERO, svg: None });
        assert!(s.starts_with("## Call quality on shaped paths\n\nWritten by `cargo xtask bench --quality` on "), "{s}");
        assert!(s.contains("| Bandwidth dip: 2.5 Mbit/s, 15 s at 250 kbit/s, back | video paused (both ends) | 16.0 s (16.0–16.0) | 0.0 s (0.0–0.0) | ours higher; clean spread 0.0 |"), "{s}");
        assert!(s.contains("| video frozen (both ends) | 0.0 s (0.0–0.0) | 16.0 s (16.0–16.0) | ours lower: **ours better**; clean spread 0.0 |"), "{s}");
        assert!(s.contains("| video paused + frozen (both ends) | 16.0 s (16.0–16.0) | 16.0 s (16.0–16.0) | same |"), "{s}");
        assert!(s.contains("| audio packets lost (both ends, whole window) | 4.00 % (4.00–4.00) | 4.00 % (4.00–4.00) | same |"), "{s}");
        assert!(s.contains("| video sending paused by the page (both ends, sender's encoding inactive) | 16.0 s (16.0–16.0) | 0.0 s (0.0–0.0) |"), "{s}");
        assert!(
            s.contains("ours audio/red (both ends, 12/12 runs) (the stats: audio/opus both ways; `fecPacketsReceived` not reported); theirs audio/opus (both ends, 12/12 runs) (the stats: audio/opus both ways; `fecPacketsReceived` 0 in all)"),
            "{s}"
        );
        assert!(s.contains("- Audio concealed at most half the deployed page's on 3G, burst loss and during the dip: met. 3G-like: ours 0.50 % against theirs 2.00 %, at most 1.00 %: met (the table: ours lower: ours better; clean spread 0.00)"), "{s}");
        assert!(s.contains("- Video frozen no more than the deployed page on every profile"), "{s}");
        assert!(s.contains("Bandwidth dip: frozen ours 0.0 s against theirs 16.0 s: met (the table: ours lower: ours better; clean spread 0.0); paused beside it ours 16.0 s, theirs 0.0 s"), "{s}");
        assert!(s.contains("- Full resolution back within 10 s after the 15 s dip ends (the later end): met. ours 0.0 s against theirs 0.0 s: met (the table: same)."), "{s}");
        assert!(s.contains("A pause is announced on screen, a freeze is not"), "{s}");
        // A partial run shows the targets without judging them.
        let part = QualityOpts { runs: 3, filter: vec!["dip".into()], window: WINDOW };
        let dip: Vec<Outcome> = outcomes.into_iter().filter(|x| x.def.dip).collect();
        let p = report(&Report { o: &part, args: &args, outcomes: &dip, chromium: "Chrome/1", load: ("1 1 1", "1 1 1"), took: Duration::ZERO, svg: None });
        assert!(p.contains("during the dip: not judged (a profile missing or without numbers). 3G-like: not run; Burst loss: not run;"), "{p}");
        assert!(p.contains("dip ends (the later end): not judged (a partial run; on these numbers met)."), "{p}");
        // The summary row of BENCHMARKS.md, read back from the section.
        let md = format!("# Benchmarks\n\n<!-- quality -->\n{s}<!-- /quality -->\n");
        let sum = crate::plots::summary(&md, false, false);
        let rows = s.lines().filter(|l| l.starts_with("| ") && l.matches(" | ").count() == 4 && !l.starts_with("| Profile ")).count();
        let ours = s.matches("**ours better**").count();
        let theirs = s.matches("**theirs better**").count();
        assert!(ours > 0 && theirs == 0, "{s}");
        assert!(
            sum.contains(&format!("| Call quality on shaped paths: differences called better | {ours} (")) && sum.contains(&format!("| 0 | {} of {rows} within noise or the same |", rows - ours)),
            "{sum}"
        );
    }

    #[test]
    fn comparisons() {
        let m = &METRICS[0];
        assert!(compare(&[1.0, 1.1, 1.2], &[2.0, 2.1, 2.2], Some(0.1), m).contains("ours better"));
        assert!(compare(&[1.0, 1.1, 1.2], &[2.0, 2.1, 2.2], Some(5.0), m).starts_with("within noise"));
        assert!(compare(&[1.0, 2.1, 1.2], &[2.0, 2.1, 2.2], Some(0.0), m).contains("overlap"));
        assert!(compare(&[3.0, 3.1, 3.2], &[2.0, 2.1, 2.2], None, m).contains("theirs better"));
        assert!(compare(&[3.0, 3.1], &[2.0, 2.1], None, m).starts_with("not judged"));
    }
}
