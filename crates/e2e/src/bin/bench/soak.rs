//! `bench --soak MINUTES [--flap GAP/PERIOD] [--path direct] [--every SECONDS]`:
//! one long call per page (ours↔ours and theirs↔theirs, side by side in one
//! run) with video both ways, set up as Desktop does (the command on
//! `location.hash` 1.5 s after the page loaded). The path is relayed
//! through coturn behind the userspace relay, or with `--path direct` peer
//! to peer over a veth pair between two network namespaces per call (needs
//! root, as `tests/netpath.rs`); optionally it drops for GAP seconds every
//! PERIOD seconds (the relay drops every packet; the direct link sends
//! them to a link-layer address nobody has).
//! Once a sample period (default a minute) each window is measured: JS
//! heap after a forced GC, DOM nodes, event listeners, main-thread busy
//! time and renderer CPU in that period, live `RTCPeerConnection`s, timers
//! pending (the host shim counts them), frames decoded and data-channel
//! messages (sent and received). The report
//! gives each counter's drift (late window against early window) and the
//! per-sample tables, and replaces its own section of BENCHMARKS.md.
//!
//! At the end the run is judged as `tests/outages.rs`'s minute of flapping
//! judges (that test is the short form of this soak, which is where the
//! long flapping runs live): each person still sees the other's picture
//! move and hears them; no window ever failed, ended or called `endCall`;
//! after every outage media came back before the next one; at most one
//! restart offer per outage; one live connection; no more timers pending
//! than in the first samples, no more channel messages per sample period
//! than early on; channel 5 followed the Android client's rules. A broken
//! rule is written into the report and fails the command.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use e2e::{err, Browser, Error, Page, Result, Server};
use serde_json::json;
use testhost::netns::Link;
use testhost::relay::Impairment;
use testhost::server::ServerConfig;

use crate::{browsers, metric, metrics, run_call, Net, NetEnv, Side};

pub(crate) struct SoakOpts {
    pub(crate) minutes: u64,
    /// (gap, period) in seconds: the path drops for `gap` every `period`.
    pub(crate) flap: Option<(u64, u64)>,
    /// Peer to peer between network namespaces instead of relayed.
    pub(crate) direct: bool,
    pub(crate) every: u64,
}

impl SoakOpts {
    /// `--soak [MINUTES]`, `--flap GAP/PERIOD`, `--path relayed|direct`,
    /// `--every SECONDS`.
    pub(crate) fn parse(args: &[String]) -> Result<Option<SoakOpts>> {
        let Some(i) = args.iter().position(|a| a == "--soak") else { return Ok(None) };
        let minutes = args.get(i + 1).and_then(|m| m.parse().ok()).unwrap_or(60);
        let value = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1));
        let flap = match value("--flap") {
            None => None,
            Some(v) => {
                let (g, p) = v.split_once('/').ok_or_else(|| Error::new("--flap needs GAP/PERIOD in seconds, e.g. 3/20"))?;
                let (g, p): (u64, u64) = (g.parse().map_err(|_| Error::new("--flap: bad gap"))?, p.parse().map_err(|_| Error::new("--flap: bad period"))?);
                if g == 0 || g >= p {
                    return err("--flap: the gap must be shorter than the period");
                }
                Some((g, p))
            }
        };
        let every = value("--every").and_then(|e| e.parse().ok()).unwrap_or(60).clamp(5, 600);
        let direct = match value("--path").map(String::as_str) {
            None | Some("relayed") => false,
            Some("direct") => true,
            Some(other) => return err(format!("--path: relayed or direct, not {other:?}")),
        };
        if !(1..=600).contains(&minutes) {
            return err("--soak: between 1 and 600 minutes");
        }
        Ok(Some(SoakOpts { minutes, flap, direct, every }))
    }

    fn variant(&self) -> String {
        let path = if self.direct { ", direct path" } else { "" };
        match self.flap {
            None => format!("steady{path}"),
            Some((g, p)) => format!("flapping {g} s every {p} s{path}"),
        }
    }

    fn path_words(&self) -> &'static str {
        if self.direct {
            "peer to peer over a veth pair between two network namespaces (no ICE servers)"
        } else {
            "relayed through coturn behind the userspace relay"
        }
    }
}

/// One window's counters at one moment.
#[derive(Clone, Copy, Default)]
struct Sample {
    heap_mb: f64,
    nodes: f64,
    listeners: f64,
    /// Cumulative: main-thread task time and renderer CPU, seconds.
    task_s: f64,
    cpu_s: f64,
    live_pcs: f64,
    timers: f64,
    frames: f64,
    /// Cumulative: data-channel messages sent and received.
    messages: f64,
    offers: f64,
    end_calls: f64,
}

/// The CPU seconds of the browser's renderer processes (one call window
/// per browser, so that is the window's).
fn renderer_cpu(b: &Browser) -> f64 {
    let Ok(info) = b.call("SystemInfo.getProcessInfo", json!({})) else { return f64::NAN };
    info["processInfo"]
        .as_array()
        .map(|l| l.iter().filter(|p| p["type"] == "renderer").filter_map(|p| p["cpuTime"].as_f64()).sum())
        .unwrap_or(f64::NAN)
}

fn sample(b: &Browser, p: &Page) -> Result<Sample> {
    p.call("HeapProfiler.collectGarbage", json!({}))?;
    let m = metrics(p)?;
    let v = p.eval(
        "Promise.all([window.__host.inbound(), window.__host.callPc() ? window.__host.callPc().getStats() : null]).then(([i, r]) => { \
           let msgs = 0; if (r) r.forEach(s => { if (s.type === 'data-channel') msgs += (s.messagesSent || 0) + (s.messagesReceived || 0); }); \
           return { frames: i ? i.videoFrames : 0, timers: window.__host.timersPending(), msgs, \
           offers: window.__host.offers, ends: window.__host.calls.filter(c => c.name === 'endCall').length, \
           live: window.__host.pcList.filter(pc => pc.connectionState !== 'closed').length }; })",
    )?;
    let n = |k: &str| v[k].as_f64().unwrap_or(f64::NAN);
    Ok(Sample {
        heap_mb: metric(p, &m, "JSHeapUsedSize")? / 1e6,
        nodes: metric(p, &m, "Nodes")?,
        listeners: metric(p, &m, "JSEventListeners")?,
        task_s: metric(p, &m, "TaskDuration")?,
        cpu_s: renderer_cpu(b),
        live_pcs: n("live"),
        timers: n("timers"),
        frames: n("frames"),
        messages: n("msgs"),
        offers: n("offers"),
        end_calls: n("ends"),
    })
}

/// A counter as the report shows it, per sample period: levels as they
/// are, cumulative ones as the difference to the previous sample.
struct Counter {
    label: &'static str,
    unit: &'static str,
    cumulative: bool,
    get: fn(&Sample) -> f64,
}

const COUNTERS: &[Counter] = &[
    Counter { label: "JS heap after GC", unit: "MB", cumulative: false, get: |s| s.heap_mb },
    Counter { label: "DOM nodes", unit: "", cumulative: false, get: |s| s.nodes },
    Counter { label: "event listeners", unit: "", cumulative: false, get: |s| s.listeners },
    Counter { label: "main-thread busy", unit: "ms", cumulative: true, get: |s| s.task_s * 1000.0 },
    Counter { label: "renderer CPU", unit: "ms", cumulative: true, get: |s| s.cpu_s * 1000.0 },
    Counter { label: "live connections", unit: "", cumulative: false, get: |s| s.live_pcs },
    Counter { label: "timers pending", unit: "", cumulative: false, get: |s| s.timers },
    Counter { label: "frames decoded", unit: "", cumulative: true, get: |s| s.frames },
    Counter { label: "channel messages", unit: "", cumulative: true, get: |s| s.messages },
];

/// The values of counter `c` per sample period (one fewer than samples for
/// cumulative ones).
fn series(c: &Counter, s: &[Sample]) -> Vec<f64> {
    if c.cumulative {
        s.windows(2).map(|w| (c.get)(&w[1]) - (c.get)(&w[0])).collect()
    } else {
        s.iter().map(c.get).collect()
    }
}

fn mean(v: &[f64]) -> f64 {
    let v: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        f64::NAN
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// The early and the late window of a run of `n` values, in samples: for
/// an hour sampled per minute, minutes 5–15 and the last 10 (the issue's
/// target); for shorter runs the second quarter and the last quarter.
fn windows(n: usize, per_minute: f64) -> (std::ops::Range<usize>, std::ops::Range<usize>) {
    let at = |min: f64| ((min * per_minute).round() as usize).min(n);
    if n as f64 >= 25.0 * per_minute {
        (at(5.0)..at(15.0), n.saturating_sub(at(10.0))..n)
    } else {
        (n / 4..(n / 2).max(n / 4 + 1).min(n), n.saturating_sub((n / 4).max(1))..n)
    }
}

/// Drift in percent of the late window's mean against the early one's.
fn drift(v: &[f64], per_minute: f64) -> (f64, f64, f64) {
    let (e, l) = windows(v.len(), per_minute);
    let (e, l) = (mean(&v[e]), mean(&v[l]));
    let pct = if e.abs() > f64::EPSILON { 100.0 * (l - e) / e } else if l.abs() > f64::EPSILON { f64::INFINITY } else { 0.0 };
    (e, l, pct)
}

struct Window {
    side: Side,
    name: &'static str,
    browser: usize,
    page: Page,
    samples: Vec<Sample>,
    /// Outages after which media did not come back before the next one.
    not_back: u32,
}

pub(crate) fn run(o: &SoakOpts, server: &Server, chromium: &str) -> Result<()> {
    let started = Instant::now();
    let load_before = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let relayed = if o.direct { None } else { Some(NetEnv::relayed(Impairment::NONE)?) };
    let no_servers = NetEnv::new(Net::NoServers)?;
    // For the direct path: per call a link, and per side a page server in
    // its namespace (each namespace has a 127.0.0.1 of its own).
    let mut links: Vec<Link> = Vec::new();
    let mut ns_servers: Vec<[Server; 2]> = Vec::new();
    let mut browsers_of: Vec<[Browser; 2]> = Vec::new();
    let mut windows_list: Vec<Window> = Vec::new();
    for side in [Side::Ours, Side::Theirs] {
        let (a, bb) = match &relayed {
            Some(net) => {
                let b = browsers()?;
                let pages = run_call(&b, [server, server], side, net, true, &mut Vec::new(), &mut Vec::new())?;
                browsers_of.push(b);
                pages
            }
            None => {
                let link = Link::new()?;
                let s = [Server::start_in(Some(&link.a), ServerConfig::default())?, Server::start_in(Some(&link.b), ServerConfig::default())?];
                let b = [Browser::launch_in(Some(&link.a), &[])?, Browser::launch_in(Some(&link.b), &[])?];
                let pages = run_call(&b, [&s[0], &s[1]], side, &no_servers, true, &mut Vec::new(), &mut Vec::new())?;
                links.push(link);
                ns_servers.push(s);
                browsers_of.push(b);
                pages
            }
        };
        let k = browsers_of.len() - 1;
        for (i, (name, page)) in [("caller", a), ("callee", bb)].into_iter().enumerate() {
            windows_list.push(Window { side, name, browser: k * 2 + i, page, samples: Vec::new(), not_back: 0 });
        }
    }
    // Drops (or lets through) every packet of both calls' paths.
    let drop_path = |on: bool| -> Result<()> {
        if let Some(relay) = relayed.as_ref().and_then(|n| n.relay.as_ref()) {
            relay.set_blocked(on);
        }
        for l in &links {
            if on {
                l.cut()?;
            } else {
                l.restore()?;
            }
        }
        Ok(())
    };
    // What each page sends on its data channels, from now on (the spy's
    // wrapper of `RTCDataChannel.prototype.send` holds for channels made
    // before it): for channel 5's rules at the end.
    for w in &windows_list {
        w.page.eval(e2e::SPY)?;
    }
    let browser = |i: usize| &browsers_of[i / 2][i % 2];
    let every = Duration::from_secs(o.every);
    let total = Duration::from_secs(o.minutes * 60);
    let t0 = Instant::now();
    let mut next_sample = Duration::ZERO;
    let mut outages = 0u32;
    let mut last_frames: HashMap<usize, f64> = HashMap::new();
    let mut next_cut = o.flap.map(|(_, p)| Duration::from_secs(p));
    while t0.elapsed() <= total {
        let now = t0.elapsed();
        if now >= next_sample {
            for w in windows_list.iter_mut() {
                let s = sample(browser(w.browser), &w.page).unwrap_or_else(|e| {
                    eprintln!("soak: {} {}: no sample: {}", w.side.label(), w.name, e.0.lines().next().unwrap_or(""));
                    Sample { heap_mb: f64::NAN, ..Sample::default() }
                });
                w.samples.push(s);
            }
            eprintln!(
                "soak {} min {:.1}: {}",
                o.variant(),
                now.as_secs_f64() / 60.0,
                windows_list
                    .iter()
                    .map(|w| {
                        let s = w.samples.last().copied().unwrap_or_default();
                        format!("{} {}: heap {:.2} MB, nodes {}, frames {}", w.side.label(), w.name, s.heap_mb, s.nodes, s.frames)
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            );
            next_sample += every;
        }
        if let (Some((gap, period)), Some(cut)) = (o.flap, next_cut) {
            if now >= cut {
                for (i, w) in windows_list.iter().enumerate() {
                    let f = w.page.eval("window.__host.inbound().then(i => i ? i.videoFrames : 0)")?.as_f64().unwrap_or(0.0);
                    last_frames.insert(i, f);
                }
                drop_path(true)?;
                std::thread::sleep(Duration::from_secs(gap));
                drop_path(false)?;
                outages += 1;
                // Before the next outage, media must be back on every window.
                let back_by = Instant::now() + Duration::from_secs(period - gap).min(Duration::from_secs(30));
                for (i, w) in windows_list.iter_mut().enumerate() {
                    let before = last_frames.get(&i).copied().unwrap_or(0.0);
                    let js = format!("window.__host.inbound().then(i => !!i && i.videoFrames >= {} + 3)", before);
                    let wait = back_by.saturating_duration_since(Instant::now()).max(Duration::from_millis(100));
                    if w.page.wait_for(&js, wait).is_err() {
                        w.not_back += 1;
                    }
                }
                next_cut = Some(cut + Duration::from_secs(period));
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let broken = judge(o, &windows_list, outages);
    let load_after = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let section = report(o, &windows_list, outages, chromium, (&load_before, &load_after), started.elapsed());
    // The verdict goes under the table, before the per-sample details.
    let section = section.replacen("\n<details>", &format!("{}\n<details>", verdict(&broken)), 1);
    println!("{section}");
    write_section(&o.variant(), &section)?;
    if broken.is_empty() {
        Ok(())
    } else {
        err(format!("soak: {} rule(s) broken:\n{}", broken.len(), broken.join("\n")))
    }
}

/// The rules of a long call, checked at its end (see the module's doc):
/// one line per broken rule, empty when all held.
fn judge(o: &SoakOpts, ws: &[Window], outages: u32) -> Vec<String> {
    let mut broken = Vec::new();
    let per_minute = 60.0 / o.every as f64;
    // Outages per sample period, for the channel messages they cost.
    let outages_per_sample = o.flap.map_or(0.0, |(_, p)| o.every as f64 / p as f64);
    for w in ws {
        let who = format!("{} {}", w.side.label(), w.name);
        let mut rule = |ok: bool, what: String| {
            if !ok {
                broken.push(format!("{who}: {what}"));
            }
        };
        let (first, last) = (w.samples.first().copied().unwrap_or_default(), w.samples.last().copied().unwrap_or_default());
        rule(last.end_calls == 0.0, format!("called endCall {} times", last.end_calls));
        let gone = w.page.eval_bool("(window.__host.phases || []).some(x => x.phase === 'failed' || x.phase === 'ended')");
        rule(matches!(gone, Ok(false)), format!("failed or ended on the way ({gone:?})"));
        if o.flap.is_some() {
            rule(last.offers - first.offers <= f64::from(outages), format!("{} restart offers for {outages} outages", last.offers - first.offers));
            rule(w.not_back == 0, format!("media not back before the next outage after {} of {outages} outages", w.not_back));
        }
        rule(last.live_pcs == 1.0, format!("{} live connections at the end", last.live_pcs));
        let early_timers = w.samples.iter().take(4).map(|s| s.timers).fold(f64::NAN, f64::max);
        rule(not_above(last.timers, early_timers), format!("timers pending grew: {early_timers} early, {} at the end", last.timers));
        let msgs = COUNTERS.iter().find(|c| c.label == "channel messages").map(|c| series(c, &w.samples)).unwrap_or_default();
        let (e, l) = windows(msgs.len(), per_minute);
        if !e.is_empty() && !l.is_empty() {
            let (early, late) = (msgs[e].iter().copied().fold(f64::NAN, f64::max), mean(&msgs[l]));
            rule(not_above(late, early + 4.0 * outages_per_sample), format!("channel messages per sample period grew: {early} early, {late:.1} late"));
        }
        rule(e2e::wait_video(&w.page).is_ok(), "the other side's picture does not move at the end".into());
        rule(e2e::wait_heard(&w.page).is_ok(), "the other side is not heard at the end".into());
    }
    for pair in ws.chunks(2) {
        if let [caller, callee] = pair {
            if let Err(e) = e2e::channel5_follows_android_rules(&caller.page, &callee.page) {
                broken.push(format!("{}: channel 5: {}", caller.side.label(), e.0.lines().next().unwrap_or("")));
            }
        }
    }
    broken
}

/// `x <= bound`, and true when either is unknown (no sample).
fn not_above(x: f64, bound: f64) -> bool {
    x.partial_cmp(&bound) != Some(std::cmp::Ordering::Greater)
}

/// The report's paragraph on the rules (see [`judge`]).
fn verdict(broken: &[String]) -> String {
    let rules = "each person sees the other's picture move and hears them at the end; no window failed, ended or called `endCall`; \
        with a flapping path, media back after every outage before the next and at most one restart offer per outage; one live \
        connection; timers pending and channel messages per sample period no more than early on; channel 5 by the Android client's rules";
    if broken.is_empty() {
        format!("\nJudged at the end ({rules}): all held.\n")
    } else {
        format!("\nJudged at the end ({rules}): **broken**:\n\n{}\n", broken.iter().map(|b| format!("- {b}\n")).collect::<String>())
    }
}

fn fmt(v: f64) -> String {
    if !v.is_finite() {
        "–".into()
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

fn report(o: &SoakOpts, ws: &[Window], outages: u32, chromium: &str, load: (&str, &str), took: Duration) -> String {
    let per_minute = 60.0 / o.every as f64;
    let mut s = format!(
        "### Soak: {}, {} minutes\n\n`cargo xtask bench --soak {}{}{} --every {}`; {}; ours↔ours and theirs↔theirs at the \
         same time, each window in a Chromium of its own, both calls {}{}; load average before `{}`, after `{}`; took {:.0} min. Drift: the mean of the late window against the \
         early one (an hour sampled per minute: the last 10 minutes against minutes 5–15; a shorter run: the last \
         quarter against the second).\n\n",
        o.variant(),
        o.minutes,
        o.minutes,
        o.flap.map(|(g, p)| format!(" --flap {g}/{p}")).unwrap_or_default(),
        if o.direct { " --path direct" } else { "" },
        o.every,
        chromium,
        o.path_words(),
        o.flap.map(|(g, p)| format!("; the path drops every packet for {g} s every {p} s ({outages} outages)")).unwrap_or_default(),
        load.0.trim(),
        load.1.trim(),
        took.as_secs_f64() / 60.0,
    );
    s += "| window | ";
    s += &COUNTERS.iter().map(|c| c.label).collect::<Vec<_>>().join(" | ");
    s += " | restart offers | endCall | outages without media back |\n|---|";
    s += &"---|".repeat(COUNTERS.len() + 3);
    s += "\n";
    for w in ws {
        let cells: Vec<String> = COUNTERS
            .iter()
            .map(|c| {
                let (e, l, pct) = drift(&series(c, &w.samples), per_minute);
                let unit = if c.unit.is_empty() { String::new() } else { format!(" {}", c.unit) };
                format!("{} → {}{unit} ({:+.1} %)", fmt(e), fmt(l), pct)
            })
            .collect();
        let first = w.samples.first().copied().unwrap_or_default();
        let last = w.samples.last().copied().unwrap_or_default();
        s += &format!(
            "| {} {} | {} | {} | {} | {} |\n",
            w.side.label(),
            w.name,
            cells.join(" | "),
            fmt(last.offers - first.offers),
            fmt(last.end_calls),
            w.not_back
        );
    }
    s += "\n<details><summary>per sample</summary>\n\n| window | t (min) | ";
    s += &COUNTERS.iter().map(|c| if c.unit.is_empty() { c.label.to_string() } else { format!("{} ({})", c.label, c.unit) }).collect::<Vec<_>>().join(" | ");
    s += " |\n|---|---|";
    s += &"---|".repeat(COUNTERS.len());
    s += "\n";
    for w in ws {
        let cols: Vec<Vec<f64>> = COUNTERS.iter().map(|c| series(c, &w.samples)).collect();
        for i in 0..w.samples.len() {
            let cells: Vec<String> = COUNTERS
                .iter()
                .zip(&cols)
                .map(|(c, v)| {
                    let at = if c.cumulative { i.checked_sub(1) } else { Some(i) };
                    at.and_then(|k| v.get(k)).map(|x| fmt(*x)).unwrap_or_else(|| "–".into())
                })
                .collect();
            s += &format!("| {} {} | {:.1} | {} |\n", w.side.label(), w.name, i as f64 / per_minute, cells.join(" | "));
        }
    }
    s += "\n</details>\n";
    s
}

const HEADING: &str = "## Soak: long calls";

/// The soak part of a BENCHMARKS.md (from its heading on), for the main
/// bench to keep when it rewrites the file.
pub(crate) fn kept(old: &str) -> &str {
    old.find(HEADING).map_or("", |i| &old[i..])
}

/// Replaces (or adds) this variant's section of BENCHMARKS.md, between
/// markers, and leaves the rest of the file as the main bench wrote it.
fn write_section(variant: &str, section: &str) -> Result<()> {
    let path = testhost::workspace_root().join("BENCHMARKS.md");
    let old = std::fs::read_to_string(&path).unwrap_or_default();
    let (begin, end) = (format!("<!-- soak: {variant} -->"), format!("<!-- /soak: {variant} -->"));
    let block = format!("{begin}\n{section}{end}\n");
    let new = match (old.find(&begin), old.find(&end)) {
        (Some(a), Some(b)) if a < b => format!("{}{block}{}", &old[..a], old[b + end.len()..].trim_start_matches('\n')),
        _ => {
            let mut s = old.clone();
            if !s.contains(HEADING) {
                s += &format!("\n{HEADING}\n\nWritten by `cargo xtask bench --soak …`, one section per variant (the main bench run keeps them).\n\n");
            }
            s + &block
        }
    };
    std::fs::write(&path, new)?;
    eprintln!("bench: wrote the soak section '{variant}' of {}", path.display());
    crate::plots::refresh(&path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drift_windows() {
        // An hour per minute: minutes 5..15 against the last 10.
        assert_eq!(windows(61, 1.0), (5..15, 51..61));
        // Ten minutes: the second quarter against the last quarter.
        assert_eq!(windows(11, 1.0), (2..5, 9..11));
        assert_eq!(windows(0, 1.0), (0..0, 0..0));
        let flat = vec![10.0; 61];
        assert_eq!(drift(&flat, 1.0).2, 0.0);
        let growing: Vec<f64> = (0..61).map(|i| 10.0 + i as f64).collect();
        assert!(drift(&growing, 1.0).2 > 100.0);
    }

    #[test]
    fn flags() {
        let a = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        assert!(SoakOpts::parse(&a("--runs 3")).unwrap().is_none());
        let o = SoakOpts::parse(&a("--soak 5 --flap 3/20 --every 10")).unwrap().unwrap();
        assert_eq!((o.minutes, o.flap, o.every, o.direct), (5, Some((3, 20)), 10, false));
        let d = SoakOpts::parse(&a("--soak 5 --flap 3/20 --path direct")).unwrap().unwrap();
        assert!(d.direct);
        assert_eq!(d.variant(), "flapping 3 s every 20 s, direct path");
        assert!(SoakOpts::parse(&a("--soak 5 --path sideways")).is_err());
        assert_eq!(SoakOpts::parse(&a("--soak")).unwrap().unwrap().minutes, 60);
        assert!(SoakOpts::parse(&a("--soak 5 --flap 20/3")).is_err());
    }
}
