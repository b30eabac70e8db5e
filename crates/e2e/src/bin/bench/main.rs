//! `cargo xtask bench`: our page and the deployed page
//! (`@deltachat/calls-webapp`), measured side by side in one run.
//!
//! Each scenario runs N times per page, the pages interleaved and their
//! order alternated (ours, theirs, theirs, ours, …) so that a drift of the
//! machine's load hits both alike. One call at a time; every window in a
//! fresh Chromium of its own (as on two machines).
//!
//! The first scenarios (`warm-…`) drive a call as Delta Chat Desktop does:
//! the window loads the page, and the command comes 1.5 s later on
//! `location.hash`; the others open the page with the command in the URL.
//!
//! Usage: `bench [--runs N] [--scenario ID[,ID…]]… [--smoke] [--out FILE] [--trace DIR] [--list]`,
//! or `bench --soak [MINUTES] [--flap GAP/PERIOD] [--every SECONDS]` for one
//! long call per page (see `soak.rs`), or `bench --hostile [--runs N]
//! [--attack ID[,ID…]]` for a peer that misbehaves (see `hostile.rs`),
//! or `bench --quality [--runs N] [--profile ID[,ID…]] [--window SECONDS]`
//! for call quality on shaped paths (see `quality.rs`), or `bench --plots`
//! to redraw the summary and plots of `BENCHMARKS.md` from the numbers it
//! holds, measuring nothing (see `plots.rs`)
//! (`--smoke` = `--runs 1 --scenario none`; `--trace DIR`: Chromium traces
//! of the cost scenario's windows, and where their main thread's time went,
//! see `trace.rs`). A run of every scenario
//! writes `BENCHMARKS.md` at the workspace root; a filtered run writes
//! `target/bench/BENCHMARKS-partial.md` unless `--out` says otherwise.
//! Every run that writes `BENCHMARKS.md` then redraws its summary and the
//! plots `docs/bench/setup.svg` and `docs/bench/soak.svg` (`plots.rs`).
//! Either way the report goes to stdout too; progress goes to stderr.
//! With `BENCH_DIAG` set in the environment, each call also prints both
//! windows' signalling, ICE, DTLS and connection states with their times
//! relative to `#onAnswer=` (what t_connected is made of).

mod hostile;
mod plots;
mod quality;
mod soak;
mod svg;
mod trace;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use e2e::{err, payload, Browser, Enc, Error, Page, Result, Server};
use serde_json::{json, Value};
use testhost::relay::{Impairment, Relay};
use testhost::turn::{closed_port_ice_servers, BlackHole, Turn};

/// Bound of a step that a dead TURN server can stall (their page waits
/// for ICE gathering to complete: about 38 s).
const SLOW_STEP: Duration = Duration::from_secs(60);
/// Bound of the other steps.
const STEP: Duration = Duration::from_secs(30);
/// The call whose cost is measured.
const COST_CALL: Duration = Duration::from_secs(20);
/// The outage of the recovery scenario.
/// Desktop's flow: it opens the call window, then sets `#startCall` about
/// 1.5 s later (PROTOCOL.md section 3); hosts answer the same way.
const WARM_DELAY: Duration = Duration::from_millis(1500);
const OUTAGE: Duration = Duration::from_secs(5);
/// 100 ms RTT and 5 % loss between the two pages. Every packet crosses the
/// relay twice (page → TURN, TURN → other page): 25 ms and 1 − √0.95 per
/// crossing.
const LOSSY: Impairment = Impairment { delay: Duration::from_millis(25), loss: 0.025_320_566 };

// ---------------------------------------------------------------------------
// What is measured

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Side {
    Ours,
    Theirs,
}

impl Side {
    fn label(self) -> &'static str {
        match self {
            Side::Ours => "ours",
            Side::Theirs => "theirs",
        }
    }

    /// The served page; `relay_only` adds our flag (theirs has none: the
    /// harness forces it, see [`FORCE_RELAY`]).
    fn path(self, relay_only: bool) -> &'static str {
        match (self, relay_only) {
            (Side::Ours, false) => "/call.html",
            (Side::Ours, true) => "/call.html?relayOnly",
            (Side::Theirs, _) => "/theirs.html",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Unit {
    Ms,
    Mb,
    Count,
}

#[derive(Clone, Copy)]
enum Target {
    /// ours/theirs of the medians at most this.
    Ratio(f64),
    /// Ours at most this many ms (median and max), whatever theirs does.
    OursMs(f64),
    None,
}

#[derive(Clone, Copy)]
struct MetricDef {
    key: &'static str,
    label: &'static str,
    unit: Unit,
    target: Target,
}

const fn m(key: &'static str, label: &'static str, unit: Unit, target: Target) -> MetricDef {
    MetricDef { key, label, unit, target }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Net {
    NoServers,
    Coturn,
    ClosedPort,
    BlackHole,
    Relay,
    Lossy,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Load,
    /// A call; `warm`: Desktop's flow (the page loaded first, the command
    /// set on `location.hash` [`WARM_DELAY`] later), else the command in
    /// the URL it opens with.
    Call(Net, bool),
    Cost,
    Recovery,
}

struct Scenario {
    id: &'static str,
    title: &'static str,
    kind: Kind,
    metrics: Vec<MetricDef>,
    /// Method notes for the report.
    about: &'static str,
}

fn call_metrics(offer_target: Target) -> Vec<MetricDef> {
    vec![
        m("offer", "t_offer: `#startCall` → `startCall()`", Unit::Ms, offer_target),
        m("answer", "t_answer: `#acceptCall=` → `acceptCall()`", Unit::Ms, Target::Ratio(1.0)),
        m("sent", "t_seen: `#startCall` → the caller's first video frame encoded (`framesEncoded` > 0)", Unit::Ms, Target::None),
        m("connected", "t_connected: `#onAnswer=` → both connected", Unit::Ms, Target::Ratio(1.0)),
        m("media", "t_media: `#onAnswer=` → video decoded on both sides", Unit::Ms, Target::Ratio(1.0)),
        m("srd", "(detail) caller: `#onAnswer=` → `setRemoteDescription(answer)`", Unit::Ms, Target::None),
        m("ice", "(detail) caller: `#onAnswer=` → ICE connected", Unit::Ms, Target::None),
        m("dtls", "(detail) caller: `#onAnswer=` → DTLS connected", Unit::Ms, Target::None),
    ]
}

fn scenarios() -> Vec<Scenario> {
    let call = |id, title, net, offer_target, about| Scenario { id, title, kind: Kind::Call(net, false), metrics: call_metrics(offer_target), about };
    let warm = |id, title, net, about| Scenario { id, title, kind: Kind::Call(net, true), metrics: call_metrics(Target::Ratio(1.0)), about };
    vec![
        warm("warm-none", "Desktop's flow: no ICE servers", Net::NoServers,
            "Desktop's flow (PROTOCOL.md section 3): each window loads the page without a command; 1.5 s \
             later the host sets `#startCall` (caller) or `#acceptCall=<offer>` (callee) on `location.hash`. \
             t_offer and t_answer run from that moment; t_seen from `#startCall` to the caller's first \
             encoded video frame. `getIceServers()` gives `[]`."),
        warm("warm-coturn", "Desktop's flow: local coturn", Net::Coturn,
            "As above, with a working coturn on 127.0.0.1."),
        warm("warm-relay", "Desktop's flow: relay forced (coturn)", Net::Relay,
            "As above, relay candidates only (ours `?relayOnly`, theirs forced by the harness)."),
        warm("warm-lossy", "Desktop's flow: 100 ms RTT, 5 % loss (relay forced)", Net::Lossy,
            "As above, through the lossy relay of the `lossy` scenario below."),
        Scenario {
            id: "load",
            title: "Page load",
            kind: Kind::Load,
            metrics: vec![
                m("ready", "ready: Answer button shown and ICE servers asked for", Unit::Ms, Target::Ratio(1.2)),
                m("ui", "Answer button shown", Unit::Ms, Target::None),
                m("ice", "`getIceServers()` called", Unit::Ms, Target::None),
                m("fcp", "first contentful paint", Unit::Ms, Target::None),
                m("dcl", "DOMContentLoaded done", Unit::Ms, Target::None),
                m("script", "main-thread script time until ready + 0.5 s", Unit::Ms, Target::Ratio(1.0)),
                m("heap", "JS heap used when idle (after GC)", Unit::Mb, Target::None),
                m("nodes", "DOM nodes when idle", Unit::Count, Target::None),
            ],
            about: "A fresh window opens the page with an incoming call to prompt for \
                    (`#offerIncomingCall=<offer>`, as Desktop opens it for a call with the prompt in the \
                    page). Times from navigation start (`performance.now()` origin). *Ready* = the later of \
                    (a) the first animation frame in which the page's Answer button is laid out and visible \
                    (ours `#answer`, theirs `[aria-label=\"Answer call\"]`; a `requestAnimationFrame` probe \
                    installed before the page's scripts) and (b) the page's `getIceServers()` call (its \
                    script is up and it has started the call machinery; both pages ask at start-up). \
                    Script time, heap and nodes are CDP `Performance.getMetrics` of the window's renderer \
                    0.5 s after ready (heap after a forced GC).",
        },
        call("none", "No ICE servers", Net::NoServers, Target::Ratio(1.0),
            "`getIceServers()` gives `[]`: host candidates only."),
        call("coturn", "Local coturn", Net::Coturn, Target::Ratio(1.0),
            "A working coturn on 127.0.0.1; host and relay candidates."),
        call("closed-port", "TURN on a closed UDP port", Net::ClosedPort, Target::OursMs(3000.0),
            "The TURN URL points at a UDP port where nothing listens (ICMP port unreachable)."),
        call("black-hole", "TURN black-holed", Net::BlackHole, Target::OursMs(3000.0),
            "The TURN URL points at a UDP socket that never answers."),
        call("relay", "Relay forced (coturn)", Net::Relay, Target::Ratio(1.0),
            "coturn, relay candidates only: ours with `?relayOnly`; theirs has no such flag, so the \
             harness forces `iceTransportPolicy: \"relay\"` on its RTCPeerConnection (constructor and \
             `setConfiguration`) before its script runs. Checked: only relay candidates in the offer, \
             relay route in use."),
        call("lossy", "100 ms RTT, 5 % loss (relay forced)", Net::Lossy, Target::Ratio(1.0),
            "A userspace UDP relay (`testhost::relay`) in front of coturn: \
             25 ms delay and 2.53 % random drop per crossing, bounded queue (4096 packets). Relay \
             forced as in the scenario above, so every packet crosses the relay twice: 100 ms RTT and \
             5 % loss page to page (50 ms RTT page to TURN, also for the allocation)."),
        Scenario {
            id: "cost",
            title: "Cost of a 20 s call (per window)",
            kind: Kind::Cost,
            metrics: vec![
                m("script", "main-thread script time (ScriptDuration)", Unit::Ms, Target::Ratio(1.0)),
                m("task", "main-thread busy time (TaskDuration)", Unit::Ms, Target::Ratio(1.0)),
                m("style", "style and layout time (RecalcStyle + Layout)", Unit::Ms, Target::None),
                m("other", "other main-thread work (TaskOtherDuration: paint, compositing, task overhead)", Unit::Ms, Target::None),
                m("recalcs", "style recalculations (RecalcStyleCount)", Unit::Count, Target::None),
                m("layouts", "layouts (LayoutCount)", Unit::Count, Target::None),
                m("cpu", "renderer process CPU (ProcessTime, incl. WebRTC)", Unit::Ms, Target::None),
                m("heap", "JS heap used at the end (after GC)", Unit::Mb, Target::None),
                m("nodes", "DOM nodes at the end", Unit::Count, Target::None),
            ],
            about: "No ICE servers (P2P). Once video is decoded on both sides, CDP `Performance.getMetrics` \
                    on each window, 20 s of call without any probing, `getMetrics` again; deltas. Heap and \
                    nodes after a forced GC at the end. Values are the mean of the two windows.",
        },
        Scenario {
            id: "recovery",
            title: "Recovery after a 5 s outage (relay forced)",
            kind: Kind::Recovery,
            metrics: vec![m("recovery", "outage end → video decoded again on both sides", Unit::Ms, Target::None)],
            about: "Both windows forced through the userspace relay (no delay, no loss) in front of \
                    coturn, relay candidates only as above. With video flowing, the relay drops every \
                    packet for 5 s, then forwards again; measured from the end of the outage until \
                    frames decoded increase again on both sides (60 s bound).",
        },
    ]
}

// ---------------------------------------------------------------------------
// Samples and the report

#[derive(Default)]
struct Samples {
    values: Vec<f64>,
    failures: Vec<String>,
}

struct Row {
    scenario: &'static str,
    def: MetricDef,
    ours: Samples,
    theirs: Samples,
}

impl Row {
    fn side(&mut self, s: Side) -> &mut Samples {
        match s {
            Side::Ours => &mut self.ours,
            Side::Theirs => &mut self.theirs,
        }
    }
}

fn median(v: &[f64]) -> Option<f64> {
    let mut s: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if s.is_empty() {
        return None;
    }
    s.sort_by(f64::total_cmp);
    let n = s.len();
    Some(if n % 2 == 1 { s[n / 2] } else { (s[n / 2 - 1] + s[n / 2]) / 2.0 })
}

fn fmt_val(v: f64, u: Unit) -> String {
    match u {
        Unit::Ms => format!("{v:.0} ms"),
        Unit::Mb => format!("{v:.1} MB"),
        Unit::Count => format!("{v:.0}"),
    }
}

fn fmt_bare(v: f64, u: Unit) -> String {
    match u {
        Unit::Mb => format!("{v:.1}"),
        _ => format!("{v:.0}"),
    }
}

fn cell(s: &Samples, u: Unit, runs: usize) -> String {
    let Some(med) = median(&s.values) else {
        return if s.failures.is_empty() { "—".into() } else { format!("failed ({}/{runs})", s.failures.len()) };
    };
    let lo = s.values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = s.values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut c = if s.values.len() > 1 {
        format!("{} ({}–{})", fmt_val(med, u), fmt_bare(lo, u), fmt_bare(hi, u))
    } else {
        fmt_val(med, u)
    };
    if !s.failures.is_empty() {
        c.push_str(&format!(", {}/{runs} failed", s.failures.len()));
    }
    c
}

fn verdict(r: &Row) -> (String, String) {
    let (o, t) = (median(&r.ours.values), median(&r.theirs.values));
    let ratio = match (o, t) {
        (Some(o), Some(t)) if t > 0.0 => Some(o / t),
        (Some(o), Some(_)) if o > 0.0 => Some(f64::INFINITY),
        (Some(_), Some(_)) => Some(1.0),
        _ => None,
    };
    let ratio_s = match ratio {
        Some(x) if x.is_infinite() => "∞ (theirs 0)".into(),
        Some(x) => format!("{x:.2}"),
        None => "n/a".into(),
    };
    let target = match r.def.target {
        Target::Ratio(lim) => match ratio {
            Some(x) if x <= lim => format!("≤ {lim:.1}: met"),
            Some(_) => format!("≤ {lim:.1}: **MISSED**"),
            None => format!("≤ {lim:.1}: n/a"),
        },
        Target::OursMs(lim) => {
            let worst = r.ours.values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if r.ours.values.is_empty() || !r.ours.failures.is_empty() {
                format!("ours ≤ {:.0} s: **MISSED** (failed)", lim / 1000.0)
            } else if worst <= lim {
                format!("ours ≤ {:.0} s: met", lim / 1000.0)
            } else {
                format!("ours ≤ {:.0} s: **MISSED** (max {worst:.0} ms)", lim / 1000.0)
            }
        }
        Target::None => "—".into(),
    };
    (ratio_s, target)
}

// ---------------------------------------------------------------------------
// Small helpers

/// Milliseconds since the Unix epoch, the bench's clock.
fn epoch_ms() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0)
}

fn num(p: &Page, v: &Value, what: &str) -> Result<f64> {
    v.as_f64().filter(|x| x.is_finite()).ok_or_else(|| Error(format!("{}: {what}: the page gave {v}, not a number", p.name())))
}

fn eval_num(p: &Page, js: &str, what: &str) -> Result<f64> {
    let v = p.eval(js)?;
    num(p, &v, what)
}

/// The page's shared clock (`performance.timeOrigin + now()`) minus the
/// bench's: subtract it from a page time to get bench time.
fn clock_offset(p: &Page) -> Result<f64> {
    let mut best: Option<(f64, f64)> = None;
    for _ in 0..3 {
        let t1 = epoch_ms();
        let v = eval_num(p, "performance.timeOrigin + performance.now()", "its clock")?;
        let t2 = epoch_ms();
        if best.is_none_or(|(w, _)| t2 - t1 < w) {
            best = Some((t2 - t1, v - (t1 + t2) / 2.0));
        }
    }
    best.map(|b| b.1).ok_or_else(|| Error::new("no clock reading"))
}

fn metrics(p: &Page) -> Result<HashMap<String, f64>> {
    let r = p.call("Performance.getMetrics", json!({}))?;
    let list = r["metrics"]
        .as_array()
        .ok_or_else(|| Error(format!("{}: Performance.getMetrics gave no metrics: {r}", p.name())))?;
    Ok(list.iter().filter_map(|m| Some((m["name"].as_str()?.to_string(), m["value"].as_f64()?))).collect())
}

fn metric(p: &Page, m: &HashMap<String, f64>, name: &str) -> Result<f64> {
    m.get(name).copied().ok_or_else(|| Error(format!("{}: Performance.getMetrics has no {name}", p.name())))
}

fn first_line(e: &Error) -> String {
    let l = e.0.lines().next().unwrap_or("").trim();
    if l.chars().count() > 240 {
        l.chars().take(240).collect::<String>() + "…"
    } else {
        l.to_string()
    }
}

/// Runs before any script of their page: relay candidates only, as our
/// `?relayOnly` does (their page has no such option).
const FORCE_RELAY: &str = "(function () { var O = window.RTCPeerConnection; if (typeof O !== 'function') return; \
  var P = O.prototype, set = P.setConfiguration; \
  var relay = function (c) { var o = {}; c = c || {}; for (var k in c) o[k] = c[k]; o.iceTransportPolicy = 'relay'; return o; }; \
  P.setConfiguration = function (c) { return set.call(this, relay(c)); }; \
  var F = function RTCPeerConnection(c) { return new O(relay(c)); }; \
  F.prototype = P; Object.setPrototypeOf(F, O); window.RTCPeerConnection = F; })();";

/// Runs before any script of a call window: time-stamps (page time, in
/// `window.__probe`) every `setRemoteDescription` call, every ICE
/// connection state and every state of the DTLS transport (the first
/// sender's, all of them under max-bundle), for the breakdown of
/// t_connected.
const PROBE: &str = "window.__probe = { srd: [], ice: [], dtls: [], conn: [] }; (function () { var O = window.RTCPeerConnection; \
  if (typeof O !== 'function') return; var P = O.prototype, srd = P.setRemoteDescription; \
  P.setRemoteDescription = function (d) { window.__probe.srd.push({ type: d && d.type, t: performance.now() }); return srd.apply(this, arguments); }; \
  var F = function RTCPeerConnection(c) { var pc = arguments.length ? new O(c) : new O(); \
    pc.addEventListener('iceconnectionstatechange', function () { window.__probe.ice.push({ state: pc.iceConnectionState, c: pc.connectionState, t: performance.now() }); }); \
    pc.addEventListener('connectionstatechange', function () { window.__probe.conn.push({ state: pc.connectionState, t: performance.now() }); }); \
    var hooked = false, hook = function () { var s = pc.getSenders()[0], tr = s && s.transport; if (hooked || !tr) return; hooked = true; \
      var note = function () { window.__probe.dtls.push({ state: tr.state, c: pc.connectionState, t: performance.now() }); }; note(); tr.addEventListener('statechange', note); }; \
    pc.addEventListener('signalingstatechange', hook); pc.addEventListener('icegatheringstatechange', hook); \
    return pc; }; \
  F.prototype = P; Object.setPrototypeOf(F, O); window.RTCPeerConnection = F; })();";

/// Starts watching the newest connection's inbound video: `__bench.first`
/// becomes the shared-clock time at which more than `base` frames were
/// decoded (`base`: the count now, or 0). Returns the base.
fn watch_frames(p: &Page, from_now: bool) -> Result<f64> {
    let js = format!(
        "(async () => {{ const s0 = {from_now} ? await window.__host.inbound() : null; \
           const m = window.__bench = {{ first: null, base: s0 ? s0.videoFrames : 0, frames: 0 }}; \
           const tick = () => window.__host.inbound().then(s => {{ \
             if (s && s.videoFrames > m.base) {{ m.first = performance.timeOrigin + performance.now(); m.frames = s.videoFrames; }} \
             else setTimeout(tick, 20); }}, () => setTimeout(tick, 20)); \
           tick(); return m.base; }})()"
    );
    eval_num(p, &js, "frames decoded so far")
}

/// Waits for [`watch_frames`]'s moment and returns it in bench time.
fn frames_seen(p: &Page, offset: f64, timeout: Duration) -> Result<f64> {
    let v = p.wait_for("window.__bench && window.__bench.first", timeout)?;
    Ok(num(p, &v, "first decoded frame")? - offset)
}

/// Video frames still growing (the picture moves).
fn video_moving(p: &Page) -> Result<()> {
    p.wait_for(
        "(async () => { const a = await window.__host.inbound(); await new Promise(r => setTimeout(r, 300)); \
         const b = await window.__host.inbound(); return !!a && !!b && b.videoFrames > a.videoFrames; })()",
        STEP,
    )
    .map(|_| ())
}

/// The inbound video as decoded: codec and size (for notes).
fn video_format(p: &Page) -> String {
    let js = "window.__host.callPc().getStats().then(r => { let out = null; \
      r.forEach(s => { if (s.type === 'inbound-rtp' && s.kind === 'video') { const c = s.codecId && r.get(s.codecId); \
        out = (c ? c.mimeType.replace('video/', '') : '?') + ' ' + (s.frameWidth || 0) + 'x' + (s.frameHeight || 0); } }); \
      return out; })";
    match p.eval(js) {
        Ok(Value::String(v)) => v,
        Ok(v) => format!("unknown ({v})"),
        Err(e) => format!("unknown ({})", first_line(&e)),
    }
}

// ---------------------------------------------------------------------------
// Networks

/// What one scenario's pages get: ICE servers, relay-only, and the servers
/// behind them (kept alive for the scenario).
struct NetEnv {
    ice: String,
    relay_only: bool,
    relay: Option<Relay>,
    _hole: Option<BlackHole>,
    _turn: Option<Turn>,
}

impl NetEnv {
    fn new(net: Net) -> Result<NetEnv> {
        let plain = |ice: String| NetEnv { ice, relay_only: false, relay: None, _hole: None, _turn: None };
        Ok(match net {
            Net::NoServers => plain("[]".into()),
            Net::ClosedPort => plain(closed_port_ice_servers()?),
            Net::BlackHole => {
                let hole = BlackHole::new()?;
                NetEnv { ice: hole.ice_servers(), _hole: Some(hole), ..plain(String::new()) }
            }
            Net::Coturn | Net::Relay => {
                let turn = Turn::start()?;
                let ice = turn.ice_servers();
                NetEnv { ice, relay_only: net == Net::Relay, relay: None, _hole: None, _turn: Some(turn) }
            }
            Net::Lossy => NetEnv::relayed(LOSSY)?,
        })
    }

    /// coturn behind the userspace relay, relay candidates only.
    fn relayed(imp: Impairment) -> Result<NetEnv> {
        let turn = Turn::start()?;
        let relay = Relay::start(SocketAddr::from(([127, 0, 0, 1], turn.port())), imp)?;
        Ok(NetEnv { ice: relay.ice_servers(), relay_only: true, relay: Some(relay), _hole: None, _turn: Some(turn) })
    }
}

// ---------------------------------------------------------------------------
// Runs

/// A call window (alone in its Chromium), `Performance` metrics on.
fn open(b: &Browser, server: &Server, side: Side, name: &str, net: &NetEnv, hash: &str) -> Result<Page> {
    let p = b.new_page(&format!("{} {name}", side.label()), json!({ "iceServers": net.ice }))?;
    if side == Side::Theirs && net.relay_only {
        p.call("Page.addScriptToEvaluateOnNewDocument", json!({ "source": FORCE_RELAY }))?;
    }
    p.call("Page.addScriptToEvaluateOnNewDocument", json!({ "source": PROBE }))?;
    p.call("Page.addScriptToEvaluateOnNewDocument", json!({ "source": SENT_PROBE }))?;
    p.call("Performance.enable", json!({}))?;
    p.goto(&server.url(&format!("{}{hash}", side.path(net.relay_only))))?;
    Ok(p)
}

type Rec = Vec<(&'static str, f64)>;

/// A Chromium per window of a call (caller, callee): two machines share no
/// network process, no cache of unreachable servers, no CPU accounting.
fn browsers() -> Result<[Browser; 2]> {
    Ok([Browser::launch()?, Browser::launch()?])
}

/// Time-stamps (in `window.__ui`, page time) the first animation frame in
/// which the element `sel` is laid out and visible; installed before any
/// script of the page.
fn ui_probe(sel: &str) -> Result<String> {
    let sel = serde_json::to_string(sel)?;
    Ok(format!(
        "window.__ui = null; (function () {{ var sel = {sel}; function f() {{ var e = document.querySelector(sel); \
         if (e && !e.hidden && !e.closest('[hidden]')) {{ var r = e.getBoundingClientRect(); \
           if (r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== 'hidden') {{ window.__ui = performance.now(); return; }} }} \
         requestAnimationFrame(f); }} requestAnimationFrame(f); }})();"
    ))
}

fn run_load(server: &Server, side: Side, rec: &mut Rec) -> Result<()> {
    let b = Browser::launch()?;
    let p = b.new_page(&format!("{} prompt", side.label()), json!({}))?;
    let answer = match side {
        Side::Ours => "#answer",
        Side::Theirs => "[aria-label=\"Answer call\"]",
    };
    p.call("Page.addScriptToEvaluateOnNewDocument", json!({ "source": ui_probe(answer)? }))?;
    p.call("Performance.enable", json!({}))?;
    p.goto(&server.url(&format!("{}#offerIncomingCall={}", side.path(false), payload(e2e::DUMMY_OFFER, Enc::Raw))))?;
    let ice = p.wait_host_call("getIceServers", STEP)?.t;
    let ui = p.wait_for("window.__ui", STEP)?;
    let ui = num(&p, &ui, "the Answer button shown")?;
    let fcp = p.wait_for("(performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime", STEP)?;
    let fcp = num(&p, &fcp, "first contentful paint")?;
    let dcl = p.wait_for("(performance.getEntriesByType('navigation')[0] || {}).domContentLoadedEventEnd", STEP)?;
    let dcl = num(&p, &dcl, "DOMContentLoaded")?;
    let ready = ice.max(ui);
    rec.extend([("ready", ready), ("ui", ui), ("ice", ice), ("fcp", fcp), ("dcl", dcl)]);
    // Until ready + 0.5 s in page time.
    let now = eval_num(&p, "performance.now()", "its clock")?;
    if ready + 500.0 > now {
        sleep(Duration::from_secs_f64((ready + 500.0 - now) / 1000.0));
    }
    let m = metrics(&p)?;
    rec.push(("script", metric(&p, &m, "ScriptDuration")? * 1000.0));
    p.call("HeapProfiler.collectGarbage", json!({}))?;
    let m = metrics(&p)?;
    rec.push(("heap", metric(&p, &m, "JSHeapUsedSize")? / 1e6));
    rec.push(("nodes", metric(&p, &m, "Nodes")?));
    Ok(())
}

/// Runs before any script of a call window: `window.__sent` becomes the
/// page time at which the call's connection first reported an encoded
/// outgoing video frame (polled every 25 ms once the connection exists).
const SENT_PROBE: &str = "window.__sent = null; (function () { var iv = setInterval(function () { \
  var pc = window.__host && window.__host.callPc && window.__host.callPc(); if (!pc || pc.signalingState === 'closed') return; \
  pc.getStats().then(function (r) { r.forEach(function (s) { if (s.type === 'outbound-rtp' && s.kind === 'video' && s.framesEncoded > 0 && window.__sent === null) { \
    window.__sent = performance.now(); clearInterval(iv); } }); }, function () {}); }, 25); })();";

/// Sets a command on `location.hash` of a loaded window; returns the page
/// time at which it did.
fn command(p: &Page, hash: &str) -> Result<f64> {
    let hash = serde_json::to_string(hash)?;
    eval_num(p, &format!("(() => {{ const t = performance.now(); location.hash = {hash}; return t; }})()"), "the moment of the command")
}

/// A window of a call that gets `hash` as a host gives it: in the URL
/// (cold), or set on the loaded page [`WARM_DELAY`] later (warm, Desktop).
/// Returns the window and the page time of the command (0: navigation).
fn open_with_command(b: &Browser, server: &Server, side: Side, name: &str, net: &NetEnv, hash: &str, warm: bool) -> Result<(Page, f64)> {
    if !warm {
        return Ok((open(b, server, side, name, net, hash)?, 0.0));
    }
    let p = open(b, server, side, name, net, "")?;
    sleep(WARM_DELAY);
    let t = command(&p, hash)?;
    Ok((p, t))
}

/// A whole call between two windows of one page, as a host drives it: the
/// caller gets `#startCall`, the callee `#acceptCall=<offer>`, then the
/// caller `#onAnswer=<answer>`; `warm` as in [`open_with_command`].
/// Records t_offer, t_answer, t_seen, t_connected and t_media; returns
/// (caller, callee).
fn run_call(b: &[Browser; 2], servers: [&Server; 2], side: Side, net: &NetEnv, warm: bool, rec: &mut Rec, notes: &mut Vec<String>) -> Result<(Page, Page)> {
    let (a, t_start) = open_with_command(&b[0], servers[0], side, "caller", net, "#startCall", warm)?;
    let offer = a.wait_host_call("startCall", SLOW_STEP)?;
    rec.push(("offer", offer.t - t_start));
    let offer = offer.arg.ok_or_else(|| Error::new("startCall without an SDP"))?;
    if net.relay_only {
        let types = e2e::candidate_types(&offer);
        if types.is_empty() || types.iter().any(|t| t != "relay") {
            return err(format!("{}: relay forced, but the offer has candidates {types:?}", a.name()));
        }
    }
    let (bb, t_accept) = open_with_command(&b[1], servers[1], side, "callee", net, &format!("#acceptCall={}", payload(&offer, Enc::Raw)), warm)?;
    let answer = bb.wait_host_call("acceptCall", SLOW_STEP)?;
    rec.push(("answer", answer.t - t_accept));
    let answer = answer.arg.ok_or_else(|| Error::new("acceptCall without an SDP"))?;
    let (oa, ob) = (clock_offset(&a)?, clock_offset(&bb)?);
    watch_frames(&a, false)?;
    watch_frames(&bb, false)?;
    let hash = serde_json::to_string(&format!("#onAnswer={}", payload(&answer, Enc::Raw)))?;
    let t0 = eval_num(&a, &format!("(() => {{ const t = performance.timeOrigin + performance.now(); location.hash = {hash}; return t; }})()"), "the moment of #onAnswer")? - oa;
    let connected = |p: &Page, off: f64| -> Result<f64> {
        let v = p.wait_for("(window.__host.pcEvents.find(e => e.state === 'connected') || {}).at", STEP)?;
        Ok(num(p, &v, "connected")? - off)
    };
    // Per window too (progress log only): which side is the later one.
    let (ca, cb) = (connected(&a, oa)? - t0, connected(&bb, ob)? - t0);
    rec.push(("connected", ca.max(cb)));
    let (fa, fb) = (frames_seen(&a, oa, STEP)? - t0, frames_seen(&bb, ob, STEP)? - t0);
    rec.push(("media", fa.max(fb)));
    rec.extend([("connected_caller", ca), ("connected_callee", cb), ("media_caller", fa), ("media_callee", fb)]);
    // The caller's way to "connected": answer applied, ICE connected.
    let page_t0 = t0 + oa - eval_num(&a, "performance.timeOrigin", "its time origin")?;
    let srd = a.eval("(window.__probe.srd.find(x => x.type === 'answer') || {}).t")?;
    let ice = a.eval("(window.__probe.ice.find(x => x.state === 'connected' || x.state === 'completed') || {}).t")?;
    if let (Some(srd), Some(ice)) = (srd.as_f64(), ice.as_f64()) {
        rec.extend([("srd", srd - page_t0), ("ice", ice - page_t0)]);
    }
    let dtls = a.eval("(window.__probe.dtls.find(x => x.state === 'connected') || {}).t")?;
    if let Some(dtls) = dtls.as_f64() {
        rec.push(("dtls", dtls - page_t0));
    }
    let page_t0b = t0 + ob - eval_num(&bb, "performance.timeOrigin", "its time origin")?;
    if let Some(d) = bb.eval("(window.__probe.dtls.find(x => x.state === 'connected') || {}).t")?.as_f64() {
        rec.push(("dtls_callee", d - page_t0b));
    }
    if std::env::var_os("BENCH_DIAG").is_some() {
        for (p, t) in [(&a, page_t0), (&bb, page_t0b)] {
            let js = format!("(() => {{ const q = window.__probe, f = (k, l) => q[k].map(x => l + ':' + (x.type || x.state) + (x.c ? '/' + x.c : '') + '@' + Math.round(x.t - {t})).join(' '); \
              return [f('srd', 'srd'), f('ice', 'ice'), f('dtls', 'dtls'), f('conn', 'conn')].join(' '); }})()");
            eprintln!("  {}: {}", p.name(), p.eval(&js).map(|v| v.to_string()).unwrap_or_default());
        }
    }
    video_moving(&a)?;
    video_moving(&bb)?;
    let sent = a.wait_for("window.__sent", STEP)?;
    rec.push(("sent", num(&a, &sent, "the first encoded frame")? - t_start));
    notes.push(format!("video received by the caller: {}", video_format(&a)));
    if net.relay_only {
        for p in [&a, &bb] {
            let r = p.eval("window.__host.inbound().then(s => s && s.local)")?;
            if r.as_str() != Some("relay") {
                return err(format!("{}: relay forced, but the route's local candidate is {r}", p.name()));
            }
        }
    }
    Ok((a, bb))
}

fn run_cost(server: &Server, side: Side, trace_dir: Option<&std::path::Path>, run: usize, rec: &mut Rec, notes: &mut Vec<String>) -> Result<()> {
    let files = trace_dir.map(|d| [trace::file(d, side.label(), "caller", run), trace::file(d, side.label(), "callee", run)]);
    let b = match &files {
        Some(f) => {
            let launch = |f: &std::path::Path| {
                let _ = std::fs::remove_file(f);
                let sw = trace::switches(f);
                Browser::launch_with(&sw.iter().map(String::as_str).collect::<Vec<_>>())
            };
            [launch(&f[0])?, launch(&f[1])?]
        }
        None => browsers()?,
    };
    let net = NetEnv::new(Net::NoServers)?;
    let mut setup = Vec::new();
    let (a, bb) = run_call(&b, [server, server], side, &net, false, &mut setup, &mut Vec::new())?;
    let mark = |name: &str| -> Result<()> {
        for p in [&a, &bb] {
            p.eval(&format!("performance.mark('{name}'), 0"))?;
        }
        Ok(())
    };
    mark(trace::START)?;
    let m0 = [metrics(&a)?, metrics(&bb)?];
    sleep(COST_CALL);
    let m1 = [metrics(&a)?, metrics(&bb)?];
    mark(trace::END)?;
    let mut sums = [0.0f64; 9];
    for (i, p) in [&a, &bb].into_iter().enumerate() {
        let delta = |name: &str| -> Result<f64> { Ok(metric(p, &m1[i], name)? - metric(p, &m0[i], name)?) };
        sums[0] += delta("ScriptDuration")? * 1000.0;
        sums[1] += delta("TaskDuration")? * 1000.0;
        sums[2] += (delta("RecalcStyleDuration")? + delta("LayoutDuration")?) * 1000.0;
        sums[3] += delta("ProcessTime")? * 1000.0;
        sums[6] += delta("TaskOtherDuration")? * 1000.0;
        sums[7] += delta("RecalcStyleCount")?;
        sums[8] += delta("LayoutCount")?;
        p.call("HeapProfiler.collectGarbage", json!({}))?;
        let m2 = metrics(p)?;
        sums[4] += metric(p, &m2, "JSHeapUsedSize")? / 1e6;
        sums[5] += metric(p, &m2, "Nodes")?;
    }
    for (k, s) in ["script", "task", "style", "cpu", "heap", "nodes", "other", "recalcs", "layouts"].into_iter().zip(sums) {
        rec.push((k, s / 2.0));
    }
    notes.push(format!("video at the end of the call: caller receives {}, callee receives {}", video_format(&a), video_format(&bb)));
    video_moving(&a)?;
    video_moving(&bb)?;
    if let Some(files) = files {
        for f in &files {
            let (names, sources, tasks) = trace::summarize(&trace::wait(f)?)?;
            let mut text = format!("{}: main thread between the marks, top-level tasks {tasks:.1} ms\n", f.display());
            for (title, list) in [("tasks by where they were posted", &sources), ("self time by event", &names)] {
                text.push_str(&format!(" {title}:\n"));
                for (n, ms, c) in list.iter().take(20) {
                    text.push_str(&format!("  {ms:8.1} ms  {c:6}  {n}\n"));
                }
            }
            eprint!("{text}");
            std::fs::write(f.with_extension("txt"), text)?;
        }
    }
    Ok(())
}

/// What the connections did, for the notes: states since event `from`.
fn states_since(p: &Page, from: &[f64; 2], i: usize) -> String {
    let js = format!(
        "(window.__host.pcEvents.slice({}).map(e => e.state).join('→') || 'stayed connected') + ' (' + window.__host.pcList.filter(p => p.getTransceivers().length > 0).length + ' connection(s), ' + window.__host.restarts + ' restartIce)'",
        from[i]
    );
    p.eval(&js).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_else(|| "?".into())
}

fn run_recovery(server: &Server, side: Side, rec: &mut Rec, notes: &mut Vec<String>) -> Result<()> {
    let b = browsers()?;
    let net = NetEnv::relayed(Impairment::NONE)?;
    let relay = net.relay.as_ref().ok_or_else(|| Error::new("no relay"))?;
    let mut setup = Vec::new();
    let (a, bb) = run_call(&b, [server, server], side, &net, false, &mut setup, &mut Vec::new())?;
    let (oa, ob) = (clock_offset(&a)?, clock_offset(&bb)?);
    let ev = [
        eval_num(&a, "window.__host.pcEvents.length", "events")?,
        eval_num(&bb, "window.__host.pcEvents.length", "events")?,
    ];
    relay.set_blocked(true);
    sleep(OUTAGE - Duration::from_secs(1));
    watch_frames(&a, true)?;
    watch_frames(&bb, true)?;
    sleep(Duration::from_secs(1));
    relay.set_blocked(false);
    let back = epoch_ms();
    let seen = frames_seen(&a, oa, SLOW_STEP).and_then(|x| Ok(x.max(frames_seen(&bb, ob, SLOW_STEP)?)));
    let states = format!("caller {}; callee {}", states_since(&a, &ev, 0), states_since(&bb, &ev, 1));
    match seen {
        Ok(t) => {
            rec.push(("recovery", t - back));
            notes.push(format!("recovered after {:.0} ms; states {states}", t - back));
            Ok(())
        }
        Err(e) => {
            notes.push(format!("no video within {} s after the outage; states {states}", SLOW_STEP.as_secs()));
            Err(e)
        }
    }
}

// ---------------------------------------------------------------------------
// Main

struct Opts {
    runs: usize,
    filter: Vec<String>,
    out: Option<PathBuf>,
    /// `--trace DIR`: Chromium traces of the cost scenario, summarised.
    trace: Option<PathBuf>,
}

const USAGE: &str = "usage: bench [--runs N] [--scenario ID[,ID…]]… [--smoke] [--out FILE] [--trace DIR] [--list]\n       bench --soak [MINUTES] [--flap GAP/PERIOD] [--path relayed|direct] [--every SECONDS]\n       bench --hostile [--runs N] [--attack ID[,ID…]]\n       bench --quality [--runs N] [--profile ID[,ID…]] [--window SECONDS]\n       bench --plots";

fn parse(args: &[String]) -> Result<Option<Opts>> {
    let mut o = Opts { runs: 5, filter: Vec::new(), out: None, trace: None };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--runs" => {
                o.runs = it.next().and_then(|n| n.parse().ok()).filter(|n| *n > 0).ok_or_else(|| Error::new("--runs needs a number > 0"))?;
            }
            "--scenario" => {
                let v = it.next().ok_or_else(|| Error::new("--scenario needs an id"))?;
                o.filter.extend(v.split(',').filter(|s| !s.is_empty()).map(str::to_string));
            }
            "--smoke" => {
                o.runs = 1;
                o.filter = vec!["none".into()];
            }
            "--out" => o.out = Some(PathBuf::from(it.next().ok_or_else(|| Error::new("--out needs a file"))?)),
            "--trace" => {
                let dir = PathBuf::from(it.next().ok_or_else(|| Error::new("--trace needs a directory"))?);
                std::fs::create_dir_all(&dir)?;
                o.trace = Some(std::fs::canonicalize(&dir)?);
            }
            "--list" => {
                for s in scenarios() {
                    println!("{:12} {}", s.id, s.title);
                }
                return Ok(None);
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(None);
            }
            other => return err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    let known: Vec<&str> = scenarios().iter().map(|s| s.id).collect();
    if let Some(bad) = o.filter.iter().find(|f| !known.contains(&f.as_str())) {
        return err(format!("unknown scenario {bad}; known: {}", known.join(", ")));
    }
    Ok(Some(o))
}

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--quality") {
        return quality::main(&args);
    }
    let r = if args.iter().any(|a| a == "--plots") {
        if args.len() == 1 {
            plots::main()
        } else {
            err(format!("--plots takes no other argument\n{USAGE}"))
        }
    } else {
        bench_main(&args)
    };
    match r {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Every mode but `--quality` and `--plots`.
fn bench_main(args: &[String]) -> Result<()> {
    let args = args.to_vec();
    match hostile::HostileOpts::parse(&args) {
        Ok(Some(h)) => testhost::require_dist()
            .and_then(|_| testhost::require_interop())
            .and_then(|_| hostile::run(&h, &args, &chromium_version()?)),
        Ok(None) => match soak::SoakOpts::parse(&args) {
            Ok(Some(s)) => soak(&s),
            Ok(None) => parse(&args).and_then(|o| o.map_or(Ok(()), |o| bench(&o, &args))),
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    }
}

/// `--soak`: see the `soak` module.
fn soak(o: &soak::SoakOpts) -> Result<()> {
    testhost::require_dist()?;
    testhost::require_interop()?;
    let chromium = chromium_version()?;
    soak::run(o, &Server::start()?, &chromium)
}

fn chromium_version() -> Result<String> {
    let b = Browser::launch()?;
    let v = b.call("Browser.getVersion", json!({}))?;
    Ok(v["product"].as_str().unwrap_or("?").to_string())
}

fn bench(o: &Opts, args: &[String]) -> Result<()> {
    testhost::require_dist()?;
    let theirs_page = testhost::require_interop()?;
    let ours_page = testhost::dist_dir().join("index.html");
    let started = Instant::now();
    let load_before = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let chromium = chromium_version()?;
    let server = Server::start()?;
    let all = scenarios();
    let chosen: Vec<&Scenario> = all.iter().filter(|s| o.filter.is_empty() || o.filter.iter().any(|f| f == s.id)).collect();

    let mut rows: Vec<Row> = Vec::new();
    let mut notes: Vec<(&'static str, Option<Side>, String)> = Vec::new();
    for s in &chosen {
        for d in &s.metrics {
            rows.push(Row { scenario: s.id, def: *d, ours: Samples::default(), theirs: Samples::default() });
        }
        let net = match s.kind {
            Kind::Call(n, _) => Some(NetEnv::new(n)?),
            _ => None,
        };
        for run in 0..o.runs {
            let order = if run % 2 == 0 { [Side::Ours, Side::Theirs] } else { [Side::Theirs, Side::Ours] };
            for side in order {
                let t = Instant::now();
                let mut rec: Rec = Vec::new();
                let mut run_notes = Vec::new();
                let r = match (s.kind, &net) {
                    (Kind::Load, _) => run_load(&server, side, &mut rec),
                    (Kind::Call(_, warm), Some(net)) => {
                        browsers().and_then(|b| run_call(&b, [&server, &server], side, net, warm, &mut rec, &mut run_notes).map(|_| ()))
                    }
                    (Kind::Cost, _) => run_cost(&server, side, o.trace.as_deref(), run + 1, &mut rec, &mut run_notes),
                    (Kind::Recovery, _) => run_recovery(&server, side, &mut rec, &mut run_notes),
                    (Kind::Call(..), None) => err("no network for a call"),
                };
                let shown: Vec<String> = rec.iter().map(|(k, v)| format!("{k}={v:.1}")).collect();
                eprintln!(
                    "[{}] run {}/{} {:6} {:5.1} s  {}{}",
                    s.id,
                    run + 1,
                    o.runs,
                    side.label(),
                    t.elapsed().as_secs_f64(),
                    shown.join(" "),
                    r.as_ref().err().map(|e| format!("  FAILED: {}", first_line(e))).unwrap_or_default()
                );
                for row in rows.iter_mut().filter(|r| r.scenario == s.id) {
                    let key = row.def.key;
                    let samples = row.side(side);
                    match rec.iter().find(|(k, _)| *k == key) {
                        Some((_, v)) => samples.values.push(*v),
                        None => samples.failures.push(match &r {
                            Err(e) => format!("run {}: {}", run + 1, first_line(e)),
                            Ok(()) => format!("run {}: not measured", run + 1),
                        }),
                    }
                }
                for n in run_notes {
                    // Notes that every run repeats are given once.
                    if n.starts_with("video") {
                        if !notes.iter().any(|(id, sd, x)| *id == s.id && *sd == Some(side) && *x == n) {
                            notes.push((s.id, Some(side), n));
                        }
                    } else {
                        notes.push((s.id, Some(side), format!("run {}: {n}", run + 1)));
                    }
                }
            }
        }
        if let Some(relay) = net.as_ref().and_then(|n| n.relay.as_ref()) {
            let (fwd, drop) = relay.counts();
            let pct = if fwd + drop > 0 { 100.0 * drop as f64 / (fwd + drop) as f64 } else { 0.0 };
            notes.push((s.id, None, format!("the relay forwarded {fwd} and dropped {drop} packets ({pct:.2} % per crossing), both pages' runs together")));
        }
    }
    let load_after = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();

    let report = report(&Report {
        opts: o,
        args,
        chosen: &chosen,
        rows: &rows,
        notes: &notes,
        chromium: &chromium,
        load: (&load_before, &load_after),
        took: started.elapsed(),
        sizes: (sizes(&ours_page)?, sizes(&theirs_page)?),
    });
    println!("{report}");
    let out = match &o.out {
        Some(p) => p.clone(),
        None if o.filter.is_empty() => testhost::workspace_root().join("BENCHMARKS.md"),
        None => testhost::workspace_root().join("target").join("bench").join("BENCHMARKS-partial.md"),
    };
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // The soak's sections (`--soak`) and the quality section (`--quality`)
    // are runs of their own: kept.
    let soak = std::fs::read_to_string(&out).map(|old| quality::kept(&old).to_string()).unwrap_or_default();
    std::fs::write(&out, if soak.is_empty() { report } else { format!("{report}\n{soak}") })?;
    let out = std::fs::canonicalize(&out).unwrap_or(out);
    eprintln!("bench: wrote {}", out.display());
    if std::fs::canonicalize(testhost::workspace_root().join("BENCHMARKS.md")).is_ok_and(|root| root == out) {
        plots::refresh(&out)?;
    }
    Ok(())
}

/// (raw, gzip -9) bytes of a file.
fn sizes(path: &std::path::Path) -> Result<(usize, usize)> {
    use std::io::Write;
    let raw = std::fs::read(path).map_err(|e| Error(format!("{}: {e}", path.display())))?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&raw)?;
    Ok((raw.len(), gz.finish()?.len()))
}

/// Where ours misses a target and what bounds it: found with the
/// diagnostics of this tool (`BENCH_DIAG`, `--trace`), not re-measured by
/// every run.
const ANALYSIS: &str = "
### Where ours is slower, and what bounds it

**t_offer and t_answer on Desktop's flow** (the `warm-` rows). The deployed page creates its \
`RTCPeerConnection` when it loads, with `iceCandidatePoolSize: 1`, and sets the ICE servers on it as soon \
as the host gives them: its candidates, the TURN allocation included, are gathered before anyone pressed \
anything, so its offer on `#startCall` only writes down what is already there (20–45 ms). Checked with a \
probe on `/theirs.html` loaded with a coturn: a connection 1.4 s before the command, configured with pool \
size 1, and relay candidates in an offer 38 ms after `#startCall`. Ours may not do that: nothing that \
gathers candidates or opens a device happens before the person calls or answers (README, \
PROTOCOL.md section 3). What costs no privacy ours does at load: it makes its connection as soon as the \
host gives the servers (no transceivers, no candidate pool: it gathers nothing and sends nothing, \
`tests/browser.rs` counts the packets at the TURN server), which took 3–16 ms with the machine lightly \
loaded and 40–550 ms under heavy load (load 25–50) (a probe in Chromium 156). On the command nothing \
else runs on the page's thread before the description is with the host; Chromium traces of warm windows \
(startup tracing, as `--trace` does) showed what did: on the callee, putting the peer's tracks on the \
page's elements when the offer was applied (the first remote `<audio>` starts the audio output, a \
50–60 ms task) before the answer could be made; on the caller, getUserMedia started beside createOffer \
(the offer left 7–10 ms later) and the frame that drew the call's screen (4–6 ms of style, layout and paint) \
between the description's steps. Now the tracks go on the elements once the description is with the \
host; a caller whose connection was made at load starts its devices once the offer is set; the screen \
of a page that showed nothing waits for the hand-over (at most 80 ms); the description is created and \
set in one step (`setLocalDescription()` without an argument); the window for more host candidates is \
5 ms. Without servers that brought the offer from 38 ms to the deployed page's time (medians of five \
runs of this bench on 2026-12-05, ours/theirs: 19/19, 20/19, 22/19, 25/23, 29/21 ms; single runs spread \
17–42 against 16–28 ms, wider than the difference) and the answer from 97 to 32–39 ms. With a TURN server ours then waits for the first relay candidate, which Chromium asks \
for one allocation step (50 ms) after the host candidates, plus the allocation's round trips: 65–75 ms \
after the command with a coturn on this machine, against the deployed page's 20 ms of writing down what \
its pool gathered at load. Those rows (t_offer with coturn, relay forced, lossy) cannot reach 1.0 \
without gathering before the command, which the privacy rule forbids; the callee's answer can, because \
applying the offer takes the deployed page as long as the allocation takes ours. A run of the first \
relay candidate taking over a second (seen once in `warm-coturn`, also on the callee) is the TURN \
allocation being retried; it happens to ours because ours gathers after the command, and is bounded by \
the relay wait. t_seen, the time from `#startCall` until the caller's first video frame is encoded, \
shows what the person waits for: it needs the other side's answer and the connection, and is shorter \
for ours on both flows.

**t_connected and t_media** are decided by the caller (the callee is always connected first). \
`BENCH_DIAG=1 cargo xtask bench --scenario none --runs 12` logs, per window, when the answer was applied \
and when ICE, the DTLS transport and `connectionState` reached `connected`. Medians over 12 runs per page \
(2026-11-30, ours/theirs, ms after `#onAnswer=`): caller `setRemoteDescription(answer)` 18/32, caller ICE \
connected 40/55, caller DTLS transport connected 41/63, callee connected 46/50, caller `connectionState` \
connected 147/230, video decoded on both sides 204/290. So on the caller `connectionState` trails its own \
ICE and DTLS transports, in both pages, by 100 ms (ours) and 168 ms (theirs) median and anywhere from 16 \
to about 300 ms; when the DTLS transport fires `connected`, `pc.connectionState` still reads \
`connecting`. The callee (the DTLS client) shows no such lag. Everything before the lag is ours, and it is \
as fast as theirs or faster: the answer is applied in the `hashchange` handler, nothing else runs on the \
caller until it is connected (no `getStats`, no channel traffic), and ICE and DTLS come up as early. The \
lag comes after both transports are connected, inside Chromium. In the full run above, where ours misses \
t_connected (coturn, black hole) its caller had ICE and DTLS up before theirs (see the detail rows) and \
lost it all in that lag. Its spread is larger than any difference between the pages, and the first \
decoded frame follows it, so with 5 runs the ratio of the medians falls either side of 1.0 from one run \
to the next (the previous full run missed `none`, this one meets it). With 12 runs per page (same \
command, `--scenario coturn,relay`): coturn t_connected 0.88, t_media 0.71; relay forced 0.71 and 0.83; \
no ICE servers 0.64 and 0.70. The ICE candidate pool (theirs 1, ours none) plays no part: it only changes \
gathering before the offer.

**Main-thread time in a steady call.** Their page runs no script and renders no frame in a steady call \
(the video is composited without the main thread): in a Chromium trace (`cargo xtask bench --scenario \
cost --runs 1 --trace DIR`, which also lists the main thread's tasks by where they were posted) its \
windows have one frame in 20 s. Ours had 31–32 per window: 20 from the call timer (one a second), 8–9 \
set off by those frames (an intersection observer of Chromium's own with a delay, \
`ScheduleDelayedIntersection`: it runs after some other frame and then asks for one of its own; not the \
video elements' `autoplay`, tried without) and a few \
from stats samples (`getStats` every 5 s, each rewriting the hidden quality details and re-setting \
unchanged attributes). Since then a sample that changes nothing visible writes nothing (hidden details \
are not updated; no DOM write of an unchanged \
value), `getStats` runs every 10 s while the quality is good and the details are closed (every 2 s before \
the first grade, while it is not good, or while the details are open), and a tick writes one text node \
inside a box with `contain: strict`: 28–29 frames per window remain, the timer's 20 and the observations \
they set off, with less style and layout work each (full runs: script 12 → 9 ms, style and layout 16 → \
10 ms per window; busy time 1.70 → 1.59 of theirs). What is left is the clock: a timer that shows seconds changes the DOM once a \
second, and every DOM change costs a main-thread frame (style, layout, paint, commit: about 1.5 ms each \
in the trace, more under load), plus the delayed observations it sets off. A clock without main-thread frames \
(digits moved by a compositor `steps()` transform animation) would keep the compositor ticking at the \
display rate for the whole call, more CPU in all than one frame a second, and would hide the time from \
screen readers; not worth it. So ours stays above theirs by the price of a visible call timer, which \
their page does not have. The few ms of script per window are those ticks and the stats samples; theirs \
runs none, hence the ratio ∞.
";

/// What the numbers do not say.
const CAVEATS: &str = "
### Caveats and what is not measured

- Their page has no relay-only option: in the *relay forced*, *100 ms RTT* and *recovery* scenarios the \
harness forces `iceTransportPolicy: \"relay\"` on its RTCPeerConnection (checked: relay-only offer, relay \
route). Without that it would take the direct path and not cross the impaired relay at all.
- Calls are answered with `#acceptCall=` (answered in the messenger). The in-page prompt (`#offerIncomingCall=` \
and a click on Answer) is only used by the page-load scenario, for its *ready* moment.
- Media is judged by `getStats` (`framesDecoded`), the same for both pages (their markup differs); a \
decoded frame is usually painted in the next animation frame.
- All on one machine over loopback: no real network, software video coding of Chromium's fake camera (codec and size in the notes; about 20 fps). \
The 100 ms RTT / 5 % loss and the outage are made by a userspace relay between the pages and coturn, \
so the TURN allocation goes through them too; the host-candidate path is not impaired (hence relay forced).
- A ratio against 0 (their page runs no script at all during a steady call) is shown as ∞.
- The machine is shared: the load average is printed above; alternating the order spreads drift over \
both pages, but min–max shows the noise.
";

struct Report<'a> {
    opts: &'a Opts,
    args: &'a [String],
    chosen: &'a [&'a Scenario],
    rows: &'a [Row],
    notes: &'a [(&'static str, Option<Side>, String)],
    chromium: &'a str,
    load: (&'a str, &'a str),
    took: Duration,
    sizes: ((usize, usize), (usize, usize)),
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| c.lines().find(|l| l.starts_with("model name")).and_then(|l| l.split(':').nth(1)).map(|s| s.trim().to_string()))
        .unwrap_or_else(|| "?".into());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|c| c.lines().find(|l| l.starts_with("MemTotal:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok()))
        .map(|kb| format!("{:.1} GiB", kb / 1024.0 / 1024.0))
        .unwrap_or_else(|| "?".into());
    format!("{cpus} CPUs (nproc; {model}), {mem} memory")
}

/// "YYYY-MM-DD HH:MM UTC" (days to civil date: H. Hinnant's algorithm).
fn utc_now() -> String {
    let s = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let (days, rem) = (s.div_euclid(86400), s.rem_euclid(86400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(mo <= 2);
    format!("{y:04}-{mo:02}-{d:02} {:02}:{:02} UTC", rem / 3600, rem % 3600 / 60)
}

fn report(r: &Report) -> String {
    let mut s = String::new();
    let cmd = if r.args.is_empty() { "cargo xtask bench".to_string() } else { format!("cargo xtask bench {}", r.args.join(" ")) };
    s.push_str("# Benchmarks: our page and the deployed page, side by side\n\n");
    s.push_str(&format!("- Machine: {}\n", machine()));
    s.push_str(&format!("- Browser: {} (headless, software video, fake camera and microphone)\n", r.chromium));
    s.push_str(&format!("- Date: {}; took {:.1} min\n", utc_now(), r.took.as_secs_f64() / 60.0));
    s.push_str(&format!(
        "- Load average (1, 5, 15 min) at start: {}; at the end: {}\n",
        r.load.0.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
        r.load.1.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    ));
    s.push_str(&format!("- Command: `{cmd}` ({} run(s) per page and scenario)\n", r.opts.runs));
    s.push_str("- Pages: ours = `dist/index.html` (release build); theirs = `@deltachat/calls-webapp` 0.12.1-beta-debug \
                (what Desktop ships). Both served by the test host on 127.0.0.1 with the host shim `web/host-shim.js` \
                injected first; ours with its CSP, theirs with Desktop's.\n\n");

    s.push_str("## Method\n\n");
    s.push_str("Each scenario runs N times per page, interleaved, the order alternated (ours, theirs, theirs, ours, …) \
                so that drift of the machine hits both alike. One call at a time. Every run starts fresh headless \
                Chromiums: one per window (caller, callee), as two machines, sharing no renderer or network \
                process. A call is between two windows of the same page (ours–ours, theirs–theirs), driven as \
                Delta Chat Desktop does: the caller window is opened with `#startCall`, the callee window with \
                `#acceptCall=<offer>` (answered in the messenger, no prompt), then the caller gets \
                `#onAnswer=<answer>`.\n\n");
    s.push_str("- t_offer: navigation start of the caller window (URL with `#startCall`) → its `startCall(offer)` host call.\n");
    s.push_str("- t_answer: navigation start of the callee window (URL with `#acceptCall=`) → its `acceptCall(answer)`.\n");
    s.push_str("- t_connected: `#onAnswer=` set on the caller → both RTCPeerConnections `connectionState` `connected` \
                (the later of the two; `connectionstatechange` time-stamped by the host shim, `__host.pcEvents`).\n");
    s.push_str("- t_media: `#onAnswer=` set → inbound video frames decoded (`getStats` `framesDecoded` > 0, polled every \
                20 ms in each page) on both sides; afterwards checked to keep increasing.\n");
    s.push_str("- Times across the two windows use the pages' `performance.timeOrigin + now()` mapped onto the bench's \
                clock (offset measured per page).\n");
    s.push_str("- Values: median (min–max) over the successful runs; ratio = ours/theirs of the medians; a target \
                marked MISSED means ours is slower (or bigger) than the target allows.\n\n");
    for sc in r.chosen {
        s.push_str(&format!("- **{}** (`{}`): {}\n", sc.title, sc.id, sc.about));
    }
    s.push('\n');

    s.push_str("## Results\n\n");
    s.push_str("| Scenario | Metric | Ours | Theirs | Ours/theirs | Target |\n|---|---|---|---|---|---|\n");
    for sc in r.chosen {
        for row in r.rows.iter().filter(|x| x.scenario == sc.id) {
            let (ratio, target) = verdict(row);
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                sc.title,
                row.def.label,
                cell(&row.ours, row.def.unit, r.opts.runs),
                cell(&row.theirs, row.def.unit, r.opts.runs),
                ratio,
                target
            ));
        }
    }
    let ((or, og), (tr, tg)) = r.sizes;
    s.push_str("\n### File size\n\n| Page | Raw | gzip -9 |\n|---|---|---|\n");
    s.push_str(&format!("| ours (`dist/index.html`) | {or} B | {og} B |\n"));
    s.push_str(&format!("| theirs (`dist/index.html` of the package) | {tr} B | {tg} B |\n"));
    s.push_str(&format!("| ours/theirs | {:.3} | {:.3} |\n", or as f64 / tr as f64, og as f64 / tg as f64));

    if r.chosen.iter().any(|c| matches!(c.kind, Kind::Call(..) | Kind::Cost)) {
        s.push_str(ANALYSIS);
    }
    s.push_str(CAVEATS);

    let mut fails = String::new();
    for row in r.rows {
        for (side, smp) in [(Side::Ours, &row.ours), (Side::Theirs, &row.theirs)] {
            for f in &smp.failures {
                fails.push_str(&format!("- `{}` {} ({}): {f}\n", row.scenario, side.label(), row.def.key));
            }
        }
    }
    let mut notes = String::new();
    for (id, side, n) in r.notes {
        notes.push_str(&format!("- `{id}`{}: {n}\n", side.map(|x| format!(" {}", x.label())).unwrap_or_default()));
    }
    if !notes.is_empty() {
        s.push_str("\n### Notes from the runs\n\n");
        s.push_str(&notes);
    }
    if !fails.is_empty() {
        s.push_str("\n### Failed or missing measurements\n\n");
        s.push_str(&fails);
    }
    s
}
