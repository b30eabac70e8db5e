//! The one generator of random, hostile input sequences for the state
//! machine, and the simulated shell that feeds them and checks every step.
//! Both random drivers of `Call` run it: the property tests in
//! `tests/machine.rs` on a seeded pseudo-random byte stream, and the
//! `machine` fuzz target (`fuzz/src/lib.rs` includes this file) on
//! libFuzzer's input. What one finds, the other can reach.
//!
//! A call is `Started` and then at most `max_steps` steps, each a time step
//! (the call is woken at each deadline it names on the way, as the shell's
//! one timer does) and one input, built from hostile strings (fragments,
//! payloads, ICE server lists, candidates, channel messages). The first
//! byte picks the mode: "shell" mode feeds results only for work that was
//! asked for (media after `AcquireMedia`, `LocalDescriptionSet` after
//! `CreateOffer`…), connection events only while a peer exists, as the
//! browser shell can; "free" mode feeds anything at any time, the call
//! woken when nothing is due too. In both, a "happy" step lets the shell
//! and the other peer do the next right thing (resolve the oldest request,
//! answer, connect, open the channels, answer a renegotiation), so runs
//! reach calls, restarts and renegotiations.
//!
//! After every step, the invariants of `invariants.rs` (`EndCall` and
//! `ClosePeer` at most once and only at the end, nothing after the end but
//! that `EndCall`, the flags, the prompt's privacy, the next deadline at
//! most 20 s away and, once woken, in the future, the view consistent with
//! its phase), and these, which need this model of the browser:
//! - no panic;
//! - once the call is over, only being woken or End can still do anything;
//! - privacy: no `CreateOffer`, `SetRemote` or `AcquireMedia` before the
//!   person (or the host's `#acceptCall`, or `#startCall`) consented to a
//!   call (a `CreatePeer` may come first: a connection without a
//!   description gathers and sends nothing); a remote offer is used only
//!   after answering (or for an ICE restart in call);
//! - a `SetRemote` SDP passes the SDP check; every message sent on a
//!   channel parses as that channel's message; only the caller makes
//!   (restart) offers, only the callee asks for a restart; at most 3
//!   restart attempts while the connection is down; (shell mode) every
//!   renegotiation offer or answer the browser sets as local description
//!   is sent to the peer;
//! - `CreatePeer`'s servers are valid for Chromium.
//!
//! In shell mode, at the end: with no more input but time passing, a call
//! whose connection is down after it was up must end (restarts are
//! bounded), and one whose descriptions are in must not stay connecting.
//!
//! A broken rule panics with the inputs that led there (time, input,
//! effects, phase); `CALL_FUZZ_TRACE=1` prints them for every call.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use call_core::channel::{parse_message, Incoming, Renegotiation};
use call_core::machine::MAX_RESTARTS;
use call_core::payload::looks_like_sdp;
use call_core::quality::Sample;
use call_core::{
    Button, Call, CandidateInit, Channel, ConnState, DeviceKind, Effect, HostApi, HostCall, Input, Media, Phase, Route,
    View, Wake,
};

use super::fixtures::{b64, b64_url_encoded, cand, ANSWER, ANSWER_2, MIXED_JSON, OFFER, OFFER_2, STUN_JSON, TURN_JSON};
use super::invariants::Watch;

// ------------------------------------------------------------------ entropy

/// Where the choices come from: the bytes of a fuzz input (used up from
/// the front; then every choice is the first one, and the run ends), or a
/// seeded xorshift64* stream that never ends.
pub struct Entropy<'a> {
    data: &'a [u8],
    rng: Option<u64>,
}

impl<'a> Entropy<'a> {
    /// libFuzzer's input.
    pub fn from_bytes(data: &'a [u8]) -> Entropy<'a> {
        Entropy { data, rng: None }
    }

    /// A deterministic stream for a seed (the property tests).
    pub fn from_seed(seed: u64) -> Entropy<'static> {
        Entropy { data: &[], rng: Some(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1) }
    }

    /// No more bytes (never for a seeded stream).
    pub fn is_empty(&self) -> bool {
        self.rng.is_none() && self.data.is_empty()
    }

    pub fn byte(&mut self) -> u8 {
        match &mut self.rng {
            Some(x) => {
                *x ^= *x >> 12;
                *x ^= *x << 25;
                *x ^= *x >> 27;
                (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
            }
            None => match self.data.split_first() {
                Some((b, rest)) => {
                    self.data = rest;
                    *b
                }
                None => 0,
            },
        }
    }

    /// `lo..=hi`, from as few bytes as the span needs.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        let span = hi.saturating_sub(lo);
        let mut x: u64 = 0;
        let mut left = span;
        while left > 0 {
            x = (x << 8) | u64::from(self.byte());
            left >>= 8;
        }
        match span.checked_add(1) {
            Some(n) => lo + x % n,
            None => lo.wrapping_add(x),
        }
    }

    /// `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n <= 1 {
            0
        } else {
            self.range(0, n as u64 - 1) as usize
        }
    }

    /// True `num` times in `den`.
    pub fn ratio(&mut self, num: usize, den: usize) -> bool {
        self.below(den) < num
    }

    pub fn flip(&mut self) -> bool {
        self.byte() & 1 == 1
    }

    pub fn pick<'t, T>(&mut self, xs: &'t [T]) -> &'t T {
        &xs[self.below(xs.len())]
    }

    /// Up to `max` bytes.
    pub fn bytes(&mut self, max: usize) -> Vec<u8> {
        let n = self.below(max + 1);
        if self.rng.is_none() {
            let (taken, rest) = self.data.split_at(n.min(self.data.len()));
            self.data = rest;
            return taken.to_vec();
        }
        (0..n).map(|_| self.byte()).collect()
    }

    /// A string of up to `max` bytes, lossily from the bytes.
    pub fn string(&mut self, max: usize) -> String {
        String::from_utf8_lossy(&self.bytes(max)).into_owned()
    }
}

// --------------------------------------------------------------- generators

/// A session description that is a fixture, or one damaged in a small way
/// (truncated, a line injected, bytes flipped).
pub fn hostile_sdp(g: &mut Entropy) -> String {
    let base = *g.pick(&[OFFER, OFFER_2, ANSWER]);
    match g.below(5) {
        0 | 1 => base.to_owned(),
        2 => {
            let cut = g.below(base.len() + 1);
            String::from_utf8_lossy(&base.as_bytes()[..cut]).into_owned()
        }
        3 => {
            let at = g.below(base.len() + 1);
            let mut b = base.as_bytes().to_vec();
            let extra = g.string(40);
            b.splice(at..at, extra.bytes());
            String::from_utf8_lossy(&b).into_owned()
        }
        _ => g.string(300),
    }
}

/// Odd fragments a host or a person could produce.
const ODD_HASHES: &[&str] = &[
    "",
    "#",
    "startCall",
    "#startCall=1",
    "#onAnswer",
    "#offerIncomingCall",
    "#onAnswer=!!!",
    "#onAnswer=",
    "#acceptCall=%",
    "#acceptCall==",
    "#STARTCALL",
    "\u{0}\u{202e}é😀#startCall",
    "#%E0%A4%A",
    "##startCall",
];

/// A `location.hash` value: mostly the commands real hosts send, some
/// damaged, some odd, some arbitrary, once in a while a huge one.
pub fn hostile_hash(g: &mut Entropy) -> String {
    match g.below(16) {
        0 | 1 => "#startCall".into(),
        2 => format!("#offerIncomingCall={}", b64(OFFER)),
        3 => format!("#offerIncomingCall={}", b64_url_encoded(OFFER)),
        4 => format!("#acceptCall={}", b64(OFFER)),
        5 => format!("#acceptCall={}", b64_url_encoded(OFFER_2)),
        6 | 7 => format!("#onAnswer={}", b64(ANSWER)),
        8 => format!("#onAnswer={}", b64_url_encoded(ANSWER)),
        9 => g.pick(ODD_HASHES).to_string(),
        10 => {
            let cmd = *g.pick(&["offerIncomingCall", "acceptCall", "onAnswer"]);
            format!("#{cmd}={}", b64(&hostile_sdp(g)))
        }
        11 => {
            let cmd = *g.pick(&["offerIncomingCall", "acceptCall", "onAnswer"]);
            format!("#{cmd}={}", g.string(200))
        }
        12 => match g.below(4) {
            0 => format!("#offerIncomingCall={}", b64("hello")),
            1 => format!("#onAnswer={}", call_core::payload::base64_encode(&[0xff, 0xfe])),
            2 => format!("#onAnswer={}", b64(ANSWER_2)),
            _ => format!("#onAnswer={}", "QUFB".repeat(80_000)),
        },
        13 => format!("#offerIncomingCall={}", b64(OFFER_2)),
        _ => g.string(200),
    }
}

/// A `location.search` value.
pub fn hostile_search(g: &mut Entropy) -> String {
    match g.below(10) {
        0..=2 => String::new(),
        3 => "?playRingtone=true".into(),
        4 => "?noOutgoingVideoInitially=true&playRingtone".into(),
        5 => "?disableVideoCompletely".into(),
        6 => "?relayOnly&noOutgoingVideoInitially".into(),
        7 => g.pick(&["?relayOnly", "?playRingtone=1&noOutgoingVideoInitially&relayOnly", "?disableVideoCompletely&noOutgoingVideoInitially", "?%00&&==&"]).to_string(),
        _ => g.string(80),
    }
}

/// What `getIceServers()` returns.
pub fn hostile_servers(g: &mut Entropy) -> Result<String, ()> {
    Ok(match g.below(10) {
        0 | 1 => TURN_JSON.into(),
        2 => STUN_JSON.into(),
        3 => "[]".into(),
        4 => MIXED_JSON.into(),
        5 => r#"[{"urls":"turn:203.0.113.5:3478","username":"","credential":""}]"#.into(),
        6 => return Err(()),
        7 => match g.below(6) {
            0 => String::new(),
            1 => "{".into(),
            2 => "null".into(),
            3 => r#"[{"urls":"http://x"},{"urls":"turn:1.2.3.4"}]"#.into(),
            4 => format!("[{}]", vec![r#"{"urls":"stun:1.1.1.1"}"#; 300].join(",")),
            _ => "[".repeat(10_000),
        },
        _ => g.string(300),
    })
}

/// A candidate as the browser reports it (mostly well-formed).
pub fn hostile_candidate(g: &mut Entropy) -> CandidateInit {
    let n = u32::from(g.byte());
    match g.below(8) {
        0 => cand("host", n),
        1 => cand("srflx", n),
        2 => cand("relay", n),
        3 => cand("prflx", n),
        4 => cand("weird", n),
        5 => {
            let mut c = cand("relay", n);
            c.candidate = g.pick(&["", "typ", "typ relay typ host", "\u{0}", "candidate:1 1 udp 1 ::1 5 typ relay"]).to_string();
            c
        }
        // Any text, but placed: a browser's RTCIceCandidate always has an
        // sdpMid or an sdpMLineIndex.
        _ => CandidateInit {
            candidate: g.string(120),
            sdp_mid: if g.flip() { Some(g.string(8)) } else { None },
            sdp_m_line_index: Some(u16::from(g.byte()) | (u16::from(g.byte()) << 8)),
            username_fragment: if g.flip() { Some(g.string(8)) } else { None },
        },
    }
}

/// Odd channel messages: wrong types, broken JSON, deep nesting, lone
/// surrogates.
const ODD_MESSAGES: &[&str] = &[
    "{",
    "",
    "[]",
    "42",
    r#"{"audioEnabled":"yes","videoEnabled":1}"#,
    r#"{"candidate":7}"#,
    r#"{"type":"offer","sdp":"v=0"}"#,
    "\"\\ud800\"",
    "\u{0}\u{ffff}",
];

/// A data-channel message for the channel's label, or for another
/// channel, or junk.
pub fn hostile_message(g: &mut Entropy) -> String {
    match g.below(13) {
        0 | 1 => {
            let (a, v) = (g.flip(), g.flip());
            format!(r#"{{"audioEnabled":{a},"videoEnabled":{v}}}"#)
        }
        2 => cand("host", g.byte().into()).to_json(),
        3 => cand("relay", g.byte().into()).to_json(),
        4 => "null".into(),
        5 => r#"{"candidate":"","sdpMid":"0"}"#.into(),
        6 | 7 => r#"{"type":"restart-request"}"#.into(),
        8 => Renegotiation::Offer(hostile_sdp(g)).to_json(),
        9 => Renegotiation::Answer(hostile_sdp(g)).to_json(),
        10 if g.ratio(1, 8) => "[".repeat(5000),
        10 => g.pick(ODD_MESSAGES).to_string(),
        _ => g.string(200),
    }
}

/// A model of what Chromium accepts in `RTCIceServer.urls` without
/// throwing (libwebrtc's `ParseIceServerUrl`, plus Blink's rule that TURN
/// needs a username and a credential; libwebrtc also refuses empty ones).
pub fn webrtc_accepts(url: &str, username: Option<&str>, credential: Option<&str>) -> bool {
    if url.is_empty() {
        return false;
    }
    let tokens: Vec<&str> = url.split('?').collect();
    if tokens.len() == 2 {
        let t: Vec<&str> = tokens[1].split('=').collect();
        if t[0] != "transport" || t.len() < 2 || !(t[1] == "udp" || t[1] == "tcp") {
            return false;
        }
    }
    let uri = tokens[0];
    let Some(colon) = uri.find(':') else { return false };
    if colon + 1 == uri.len() {
        return false;
    }
    let (scheme, host) = (&uri[..colon], &uri[colon + 1..]);
    let (stun, turn) = (matches!(scheme, "stun" | "stuns"), matches!(scheme, "turn" | "turns"));
    if !(stun || turn) || (stun && tokens.len() > 1) || host.contains('@') {
        return false;
    }
    let port_ok = |p: &str| p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<i32>().is_ok_and(|n| n > 0 && n <= 0xffff);
    let host_ok = if host.starts_with('[') {
        // IP literal: the part after the last `]` is a port or ignored.
        let Some(close) = host.rfind(']') else { return false };
        if host[close..].contains(':') && !port_ok(host.get(close + 2..).unwrap_or("")) {
            return false;
        }
        close > 1
    } else {
        let name = match host.find(':') {
            Some(c) => {
                if !port_ok(&host[c + 1..]) {
                    return false;
                }
                &host[..c]
            }
            None => host,
        };
        const REG_NAME: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~%!$&'()*+,;=";
        !name.is_empty() && name.chars().all(|c| REG_NAME.contains(c))
    };
    host_ok && (!turn || (username.is_some_and(|s| !s.is_empty()) && credential.is_some_and(|s| !s.is_empty())))
}

// ------------------------------------------------------------------- driver

/// What a run of calls did, for the property tests to check that the
/// driver reaches every stage.
#[derive(Default, Debug)]
pub struct Stats {
    pub calls: usize,
    /// Inputs fed, wake-ups included.
    pub inputs: usize,
    /// Per phase, how many calls reached it.
    pub reached: std::collections::BTreeMap<&'static str, usize>,
}

/// Drives one call from `g` (see the module's doc); `label` heads a
/// failure's trace. With `spurious`, the call may be woken when nothing
/// is due in shell mode too (free mode always may).
pub fn call(g: &mut Entropy, max_steps: usize, spurious: bool, label: &str, stats: &mut Stats) {
    let mode = g.byte();
    let shell = mode & 1 == 0;
    let search = hostile_search(g);
    let hash = hostile_hash(g);
    let host = if g.ratio(7, 8) {
        HostApi::FULL
    } else if g.ratio(1, 4) {
        HostApi::default() // no window.calls at all
    } else {
        HostApi { present: true, start_call: g.flip(), accept_call: g.flip(), end_call: g.flip(), get_ice_servers: g.flip() }
    };
    let webrtc = g.ratio(15, 16);
    let mut h = Harness {
        call: Call::new(),
        shell,
        spurious: spurious || !shell,
        host,
        now: 100_000 + g.range(0, 1 << 32),
        pending: Pending::default(),
        watch: Watch::new(host),
        label: format!("{label}, mode: {}", if shell { "shell" } else { "free" }),
        trace: Vec::new(),
        inputs: 0,
        reached: BTreeSet::new(),
        peer: false,
        peer_closed: false,
        local_set: false,
        remote_set: false,
        connected: false,
        last_conn: None,
        connected_once: false,
        open: [false; 3],
        hand_overs: 0,
        consent: false,
        described: false,
        answered: false,
        caller: false,
        callee: false,
        restarts_while_down: 0,
        sample: Sample::default(),
        answer_sent: false,
        reneg_local: 0,
        reneg_overlap: false,
        held_offer: None,
        peer_owes_answer: false,
        peer_owes_offer: false,
    };
    h.feed(Input::Started { search, hash, host, webrtc });
    for _ in 0..max_steps {
        if g.is_empty() {
            break;
        }
        h.step(g);
    }
    // Liveness: nothing more happens but time passes. A call whose
    // connection dropped (disconnected or failed) after it was up must end
    // by itself (bounded restarts); one never connected must not stay
    // "connecting" once its descriptions are in (the connect timeout).
    if h.shell && !h.peer_closed {
        let down = h.connected_once && matches!(h.last_conn, Some(ConnState::Disconnected | ConnState::Failed));
        let connecting = !h.connected_once && h.remote_set && h.local_set && h.hand_overs > 0;
        for _ in 0..100 {
            let Some(due) = h.call.poll_timeout() else { break };
            h.advance(due);
        }
        if down || connecting {
            let p = h.call.view().phase;
            h.check(matches!(p, Phase::Ended | Phase::Failed), || format!("the call is stuck in {} with no more input", p.as_str()));
        }
    }
    if std::env::var_os("CALL_FUZZ_TRACE").is_some() {
        eprintln!("{}\nfinal view: {:?}", h.trace_text(), h.call.view());
    }
    stats.calls += 1;
    stats.inputs += h.inputs;
    for p in h.reached {
        *stats.reached.entry(p).or_default() += 1;
    }
}

/// Runs `calls` calls of at most `steps` steps from one seeded stream.
pub fn calls(seed: u64, calls: usize, steps: usize, spurious: bool) -> Stats {
    let mut g = Entropy::from_seed(seed);
    let mut stats = Stats::default();
    for n in 0..calls {
        call(&mut g, steps, spurious, &format!("seed {seed:#x} call {n}"), &mut stats);
    }
    stats
}

#[derive(Default)]
struct Pending {
    servers: u32,
    media: u32,
    camera: u32,
    screen: u32,
    /// CreateOffer/CreateAnswer: LocalDescriptionSet or PeerError.
    local: u32,
    /// SetRemote: RemoteDescriptionSet or PeerError.
    remote: u32,
    /// CreatePeer and HandToHost can fail synchronously: PeerError.
    may_fail: u32,
}

struct Harness {
    call: Call,
    shell: bool,
    /// The call may be woken when nothing is due.
    spurious: bool,
    host: HostApi,
    now: u64,
    pending: Pending,
    /// The invariants of every step (`invariants.rs`).
    watch: Watch,
    label: String,
    /// (time, input, effects, phase after) of every input so far.
    trace: Vec<(u64, Input, Vec<Effect>, &'static str)>,
    inputs: usize,
    reached: BTreeSet<&'static str>,
    // what the shell knows
    peer: bool,
    peer_closed: bool,
    local_set: bool,
    remote_set: bool,
    connected: bool,
    /// The last connection state fed while a peer existed.
    last_conn: Option<ConnState>,
    connected_once: bool,
    open: [bool; 3],
    // invariant bookkeeping
    hand_overs: u32,
    consent: bool,
    /// A description was asked for (an offer made or a remote one applied):
    /// from then on the connection gathers.
    described: bool,
    answered: bool,
    caller: bool,
    callee: bool,
    restarts_while_down: u32,
    /// The last `getStats` sample fed.
    sample: Sample,
    // what the simulated peer owes (for the happy-path driver)
    answer_sent: bool,
    /// Renegotiation offers/answers asked of the browser and not yet set.
    reneg_local: u32,
    /// Two of them were in flight at once since `reneg_local` was last 0.
    reneg_overlap: bool,
    /// A restart offer set but held for its candidates: when it must be
    /// sent at the latest.
    held_offer: Option<u64>,
    peer_owes_answer: bool,
    peer_owes_offer: bool,
}

fn chan_index(ch: Channel) -> usize {
    match ch {
        Channel::IceTrickling => 0,
        Channel::MutedState => 1,
        Channel::Renegotiation => 2,
    }
}

/// `Debug` of `x`, cut at about 300 bytes (without formatting the rest of a
/// huge input).
fn short(x: &impl std::fmt::Debug) -> String {
    struct Cut(String);
    impl std::fmt::Write for Cut {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            for c in s.chars() {
                if self.0.len() >= 300 {
                    self.0.push('…');
                    return Err(std::fmt::Error);
                }
                self.0.push(c);
            }
            Ok(())
        }
    }
    let mut out = Cut(String::new());
    let _ = write!(out, "{x:?}");
    out.0
}

impl Harness {
    fn trace_text(&self) -> String {
        let mut t = format!("{}\n--- inputs (time ms, input -> effects | phase) ---", self.label);
        for (now, input, effects, phase) in &self.trace {
            let _ = write!(t, "\n{now:>8} {}\n           -> {} | phase {phase}", short(input), short(effects));
        }
        t
    }

    fn fail(&self, what: &str) -> ! {
        panic!("INVARIANT: {what}\n{}", self.trace_text());
    }

    fn check(&self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            self.fail(&what());
        }
    }

    /// Wakes the call at each deadline it names up to `until` (as the
    /// shell's one timer does), then sets the clock there.
    fn advance(&mut self, until: u64) {
        while let Some(due) = self.call.poll_timeout().filter(|d| *d <= until) {
            self.now = self.now.max(due);
            self.feed(Input::Timeout);
        }
        self.now = self.now.max(until);
    }

    fn feed(&mut self, input: Input) {
        let before = self.call.view();
        let mut reneg_set = false;
        // What the shell does with the input (before the machine sees it).
        match &input {
            Input::HashChanged(h) | Input::Started { hash: h, .. } => {
                let h = h.strip_prefix('#').unwrap_or(h);
                let is = |c: &str| h == c || h.starts_with(&format!("{c}="));
                if is("startCall") {
                    self.consent = true;
                }
                if h.starts_with("acceptCall=") {
                    self.consent = true;
                    self.answered = true;
                }
            }
            Input::Click(Button::Answer) if before.phase == Phase::Incoming => {
                self.consent = true;
                self.answered = true;
            }
            Input::Connection(s) if self.peer => {
                self.connected = *s == ConnState::Connected;
                self.last_conn = Some(*s);
                if self.connected {
                    self.connected_once = true;
                    self.restarts_while_down = 0;
                }
            }
            Input::LocalDescriptionSet => {
                self.local_set = true;
                // Once connected, every description the browser sets is a
                // renegotiation one (the first ones were set before). Only
                // with one in flight: overlapping ones (a peer that sends
                // two offers at once) the browser's signaling state would
                // refuse, which this shell does not model.
                reneg_set = self.reneg_local == 1 && !self.reneg_overlap;
                self.reneg_local = self.reneg_local.saturating_sub(1);
                self.reneg_overlap &= self.reneg_local > 0;
            }
            Input::RemoteDescriptionSet => self.remote_set = true,
            _ => {}
        }
        let fired = input == Input::Timeout && self.held_offer.is_some_and(|at| self.now >= at);
        let woken_or_end = input == Input::Timeout || input == Input::Click(Button::End);
        self.call.handle(self.now, input.clone());
        self.inputs += 1;
        // After the input: `Started` sets the flags, and the connection may
        // be made in the same step (a host without getIceServers).
        let flags = self.call.flags();
        let mut effects = Vec::new();
        while let Some(e) = self.call.poll_effect() {
            effects.push(e);
        }
        let after = self.call.view();
        self.reached.insert(after.phase.as_str());
        self.trace.push((self.now, input.clone(), effects.clone(), after.phase.as_str()));
        let over = |p: Phase| matches!(p, Phase::Ended | Phase::Failed);
        self.check(!over(before.phase) || effects.is_empty() || woken_or_end, || {
            format!("the call was over, and {input:?} still did something: {effects:?}")
        });
        let held = self.call.deadlines().find(|(w, _)| *w == Wake::HeldOffer).map(|(_, at)| at);
        let sent = effects.contains(&Effect::SendDescription);
        if self.shell && reneg_set && !over(after.phase) {
            // Sent now, or held (a caller's restart offer waits for its
            // candidates) and sent by its timer at the latest.
            self.check(sent || held.is_some(), || "a renegotiation description was set but never sent to the peer".into());
        }
        if fired && !over(after.phase) {
            self.check(sent, || "a held restart offer was not sent when its time was up".into());
        }
        if sent {
            self.held_offer = None;
        } else if held.is_some() {
            self.held_offer = held;
        }
        let next = self.call.poll_timeout();
        if let Err(why) = self.watch.step(flags, &input, &before, &after, &effects, self.now, next) {
            let deadlines: Vec<_> = self.call.deadlines().collect();
            self.fail(&format!("{why} (deadlines: {deadlines:?})"));
        }
        self.check_step(&after, &effects, flags);
    }

    fn check_step(&mut self, after: &View, effects: &[Effect], flags: call_core::command::Flags) {
        for e in effects {
            match e {
                Effect::ClosePeer => self.peer_closed = true,
                Effect::CreatePeer { servers, .. } => {
                    self.peer = true;
                    self.pending.may_fail += 1;
                    self.check(servers.len() <= 8, || "more than 8 ICE servers".into());
                    for s in servers {
                        for u in &s.urls {
                            self.check(webrtc_accepts(u, s.username.as_deref(), s.credential.as_deref()), || {
                                format!("CreatePeer with a URL Chromium refuses: {u:?}")
                            });
                        }
                    }
                }
                Effect::SetRemote { offer, sdp } => {
                    self.described = true;
                    self.pending.remote += 1;
                    self.check(looks_like_sdp(sdp), || "SetRemote with a non-SDP".into());
                    self.check(after.phase != Phase::Incoming, || "SetRemote while the prompt shows".into());
                    self.check(self.peer, || "SetRemote without a peer".into());
                    if *offer {
                        self.check(self.answered || self.connected_once, || "remote offer used before answering".into());
                    }
                }
                Effect::CreateOffer { ice_restart } => {
                    self.described = true;
                    self.pending.local += 1;
                    self.check(self.peer, || "CreateOffer without a peer".into());
                    self.check(self.consent, || "CreateOffer (gathering) before the person consented to a call".into());
                    if !ice_restart {
                        self.caller = true;
                    } else {
                        self.reneg_overlap |= self.reneg_local > 0;
                        self.reneg_local += 1;
                        if !self.connected {
                            self.restarts_while_down += 1;
                        }
                        self.check(self.caller && !self.callee, || "a restart offer from the callee".into());
                        self.check(self.connected_once, || "ICE restart before the call connected".into());
                    }
                }
                Effect::CreateAnswer => {
                    self.pending.local += 1;
                    if self.connected_once {
                        self.reneg_overlap |= self.reneg_local > 0;
                        self.reneg_local += 1;
                    }
                    self.check(!self.caller, || "the caller creates an answer".into());
                    self.callee = true;
                }
                Effect::HandToHost(h) => {
                    self.hand_overs += 1;
                    self.pending.may_fail += 1;
                    // (In free mode a LocalDescriptionSet may come before the
                    // offer or answer was even asked for.)
                    let ok = match h {
                        HostCall::StartCall => (self.caller || !self.shell) && self.host.start_call,
                        HostCall::AcceptCall => (self.callee || !self.shell) && self.host.accept_call,
                    };
                    self.check(ok, || format!("{h:?} by the wrong side or without host support"));
                }
                Effect::AcquireMedia { .. } => {
                    self.pending.media += 1;
                    // Privacy: the camera and microphone stay off until the
                    // person consented to a call.
                    self.check(self.consent && after.phase != Phase::Incoming, || {
                        "AcquireMedia before the person consented to a call".into()
                    });
                    // (The camera against the flags or the prompt's choice:
                    // one copy, in the shared invariants.)
                }
                Effect::StartCamera(_) => {
                    self.pending.camera += 1;
                    // (In free mode media may "arrive" unasked, even during
                    // the prompt; the browser cannot do that.)
                    self.check(!self.shell || (self.consent && after.phase != Phase::Incoming), || {
                        "StartCamera before the person consented to a call".into()
                    });
                    self.check(!flags.disable_video_completely, || "StartCamera with disableVideoCompletely".into());
                }
                Effect::LoadIceServers => self.pending.servers += 1,
                Effect::Send(ch, text) => {
                    let m = parse_message(*ch, text);
                    self.check(m.is_some(), || format!("sent a malformed {ch:?} message: {text}"));
                    if let Some(Incoming::Renegotiation(Renegotiation::RestartRequest)) = m {
                        self.peer_owes_offer = true;
                        self.check(!self.caller, || "the caller asks for a restart".into());
                        self.check(self.connected_once, || "restart request before the call connected".into());
                        if !self.connected {
                            self.restarts_while_down += 1;
                        }
                    }
                }
                Effect::SendDescription => {
                    self.check(self.connected_once, || "SendDescription before connecting".into());
                    self.peer_owes_answer = self.caller;
                }
                Effect::StartScreen => {
                    self.pending.screen += 1;
                    self.check(matches!(after.phase, Phase::InCall | Phase::Reconnecting), || "StartScreen outside a call".into());
                    self.check(!flags.disable_video_completely, || "StartScreen with disableVideoCompletely".into());
                }
                // AddCandidate, SetMic, StopCamera, StopScreen, QueryRoute,
                // LimitVideo, Log, and effects added later: no invariant of
                // their own (the phase rules above still apply to them).
                _ => {}
            }
        }
        self.check(self.restarts_while_down <= MAX_RESTARTS, || "more than 3 restart attempts while down".into());
        if after.phase == Phase::Incoming {
            self.check(!self.described, || "a description (gathering) while the prompt shows".into());
        }
    }

    /// What the shell and the other peer do next when all goes well: the
    /// oldest outstanding request succeeds, the remote side answers, the
    /// connection comes up, the channels open. This gets runs deep into
    /// calls; the generator interleaves everything else.
    fn happy(&mut self) -> Option<Input> {
        let phase = self.call.view().phase;
        let live_peer = self.peer && !self.peer_closed;
        let p = &mut self.pending;
        Some(if p.servers > 0 {
            p.servers -= 1;
            Input::IceServers(Ok(TURN_JSON.into()))
        } else if p.media > 0 {
            p.media -= 1;
            Input::Media(Ok(Media { audio: true, video: true }))
        } else if p.local > 0 {
            p.local -= 1;
            Input::LocalDescriptionSet
        } else if p.remote > 0 {
            p.remote -= 1;
            Input::RemoteDescriptionSet
        } else if p.screen > 0 {
            p.screen -= 1;
            Input::ScreenStarted(true)
        } else if p.camera > 0 {
            p.camera -= 1;
            Input::CameraStarted(true)
        } else if live_peer && self.local_set && self.hand_overs == 0 {
            Input::Candidate(cand("relay", 7))
        } else if self.caller && self.hand_overs > 0 && !self.answer_sent {
            self.answer_sent = true;
            Input::HashChanged(format!("#onAnswer={}", b64(ANSWER)))
        } else if live_peer && !self.connected && self.local_set && self.remote_set && self.hand_overs > 0 {
            Input::Connection(ConnState::Connected)
        } else if live_peer && self.connected && self.open.contains(&false) {
            let i = self.open.iter().position(|o| !o).unwrap_or(0);
            self.open[i] = true;
            Input::ChannelOpen(Channel::ALL[i])
        } else if live_peer && self.peer_owes_answer {
            self.peer_owes_answer = false;
            Input::ChannelMessage(Channel::Renegotiation, Renegotiation::Answer(ANSWER_2.into()).to_json())
        } else if live_peer && self.peer_owes_offer {
            self.peer_owes_offer = false;
            Input::ChannelMessage(Channel::Renegotiation, Renegotiation::Offer(OFFER_2.into()).to_json())
        } else if phase == Phase::Incoming {
            Input::Click(Button::Answer)
        } else if phase == Phase::Idle {
            Input::HashChanged("#startCall".into())
        } else {
            return None;
        })
    }

    /// One step: a time step, then one input (none when the shell has
    /// nothing sensible to feed in shell mode).
    fn step(&mut self, g: &mut Entropy) {
        let dt = match g.below(8) {
            0 | 1 => 0,
            2 => g.range(1, 200),
            3 => g.range(100, 3000),
            4 => *g.pick(&[150, 1500, 2000, 2500, 3000, 5000, 8000, 20_000]),
            5 => g.range(0, 30_000),
            _ => g.range(0, 50),
        };
        self.advance(self.now + dt);
        let shell = self.shell;
        let p = &self.pending;
        let live_peer = self.peer && !self.peer_closed;
        let input = match g.below(35) {
            26..=33 => match self.happy() {
                Some(i) => i,
                None => return,
            },
            0 => Input::HashChanged(hostile_hash(g)),
            1 if !shell || p.servers > 0 => {
                self.pending.servers = self.pending.servers.saturating_sub(1);
                Input::IceServers(hostile_servers(g))
            }
            2 if !shell || p.media > 0 => {
                self.pending.media = self.pending.media.saturating_sub(1);
                if g.ratio(1, 4) {
                    Input::Media(Err(()))
                } else {
                    Input::Media(Ok(Media { audio: g.ratio(4, 5), video: g.flip() }))
                }
            }
            3 => match g.below(7) {
                0 | 1 => Input::CameraPresent(g.flip()),
                2 => Input::Cameras((0..g.below(4)).map(|i| format!("cam-{i}")).collect()),
                3 => {
                    let kind = *g.pick(&[DeviceKind::Camera, DeviceKind::Mic, DeviceKind::Speaker]);
                    Input::PickDevice(kind, g.string(20))
                }
                4 => {
                    let facing = *g.pick(&[None, Some("user"), Some("environment"), Some("left")]);
                    let device = *g.pick(&[None, Some("cam-0"), Some("cam-2"), Some("gone")]);
                    Input::NextCamera { facing: facing.map(String::from), device: device.map(String::from) }
                }
                5 => Input::VideoLimitFailed,
                _ => Input::SendVideoFailed,
            },
            4 if !shell || p.camera > 0 => {
                self.pending.camera = self.pending.camera.saturating_sub(1);
                Input::CameraStarted(g.ratio(3, 4))
            }
            5 if !shell || p.local > 0 => {
                self.pending.local = self.pending.local.saturating_sub(1);
                Input::LocalDescriptionSet
            }
            6 if !shell || p.remote > 0 => {
                self.pending.remote = self.pending.remote.saturating_sub(1);
                Input::RemoteDescriptionSet
            }
            7 if !shell || p.local + p.remote + p.may_fail > 0 => {
                let pe = &mut self.pending;
                match g.below(3) {
                    0 if pe.local > 0 => {
                        pe.local -= 1;
                        self.reneg_local = self.reneg_local.saturating_sub(1);
                        self.reneg_overlap &= self.reneg_local > 0;
                    }
                    1 if pe.remote > 0 => pe.remote -= 1,
                    _ if pe.may_fail > 0 => pe.may_fail -= 1,
                    _ if pe.local > 0 => {
                        pe.local -= 1;
                        self.reneg_local = self.reneg_local.saturating_sub(1);
                        self.reneg_overlap &= self.reneg_local > 0;
                    }
                    _ => pe.remote = pe.remote.saturating_sub(1),
                }
                Input::PeerError
            }
            8 | 9 if !shell || (live_peer && self.local_set) => {
                let c = hostile_candidate(g);
                if g.ratio(1, 10) {
                    Input::GatheringComplete
                } else {
                    Input::Candidate(c)
                }
            }
            10 | 11 if !shell || live_peer => {
                let s = *g.pick(&[
                    ConnState::New,
                    ConnState::Connecting,
                    ConnState::Connected,
                    ConnState::Disconnected,
                    ConnState::Failed,
                    ConnState::Closed,
                ]);
                // Up only once both descriptions are in and the SDP went out.
                if shell && s == ConnState::Connected && !(self.local_set && self.remote_set && self.hand_overs > 0) {
                    return;
                }
                Input::Connection(s)
            }
            12 if !shell || live_peer => {
                let ch = *g.pick(&Channel::ALL);
                if shell && !self.connected_once {
                    return;
                }
                let i = chan_index(ch);
                if g.ratio(1, 6) {
                    self.open[i] = false;
                    Input::ChannelClosed(ch)
                } else {
                    self.open[i] = true;
                    Input::ChannelOpen(ch)
                }
            }
            13 | 14 if !shell || live_peer => {
                let ch = *g.pick(&Channel::ALL);
                if shell && !self.open[chan_index(ch)] {
                    return;
                }
                Input::ChannelMessage(ch, hostile_message(g))
            }
            15 if g.ratio(3, 4) => Input::NetworkChanged,
            15 => Input::AddressGone,
            16 if !shell || live_peer => Input::RemoteVideo(g.flip()),
            17 if !shell || live_peer => Input::Route(*g.pick(&[Route::P2p, Route::Relay, Route::Unknown])),
            18 | 19 => Input::Click(*g.pick(&[
                Button::Answer,
                Button::End,
                Button::Mic,
                Button::Cam,
                Button::Screen,
                Button::Quality,
                Button::Devices,
            ])),
            21 => Input::CanShareScreen(g.ratio(3, 4)),
            22 if !shell || p.screen > 0 => {
                self.pending.screen = self.pending.screen.saturating_sub(1);
                Input::ScreenStarted(g.ratio(3, 4))
            }
            23 if !shell || self.pending.screen == 0 => Input::ScreenEnded,
            24 | 25 if !shell || live_peer => {
                // Cumulative counters, mostly growing, sometimes reset.
                let prev = self.sample;
                let mut grow = |x: u64| -> u64 {
                    if g.ratio(1, 10) {
                        g.range(0, u64::MAX)
                    } else {
                        x.saturating_add(g.range(0, 5000))
                    }
                };
                let s = Sample {
                    at_ms: grow(prev.at_ms),
                    rtt_ms: None,
                    packets_received: grow(prev.packets_received),
                    packets_lost: grow(prev.packets_lost),
                    bytes_received: grow(prev.bytes_received),
                    bytes_sent: grow(prev.bytes_sent),
                };
                let video_sent = grow(prev.bytes_sent);
                let rtt_ms = if g.ratio(1, 5) { None } else { Some(g.range(0, 2000) as u32) };
                let s = Sample { rtt_ms, ..s };
                if g.ratio(1, 2) {
                    // The light look-up: the browser's estimate, mostly a
                    // path between a narrow and a wide one, so that every
                    // tier of `congestion` is reached; sometimes none
                    // (Firefox); and the video's byte count, growing.
                    let kbps = if g.ratio(1, 5) { None } else { Some(g.range(0, 3000) as u32) };
                    Input::Estimate { kbps, video_sent: Some(video_sent) }
                } else {
                    self.sample = s;
                    Input::Stats(s)
                }
            }
            20 => {
                // Jump to the call's next deadline.
                if let Some(due) = self.call.poll_timeout() {
                    self.advance(due);
                }
                return;
            }
            // Woken when nothing is due (or once more).
            34 if self.spurious => Input::Timeout,
            _ if !shell && g.ratio(1, 50) => Input::Crashed,
            // The host's startCall/acceptCall throws (right after the
            // hand-over, in the shell).
            _ if (!shell || self.hand_overs > 0) && g.ratio(1, 50) => Input::HostFailed,
            _ => return,
        };
        self.feed(input);
    }
}
