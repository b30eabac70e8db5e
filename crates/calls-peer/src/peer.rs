//! The call: one UDP socket, one str0m `Rtc`, a blocking single-threaded
//! loop. Gathers candidates (host, STUN, TURN), hands the local description
//! to the signaling, then runs the call: negotiated data channels 1/3/5,
//! trickle, mute state, ICE restart over channel 5, media echo or pattern,
//! hang-up detection.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use call_core::channel::{parse_message, Channel, Incoming, MutedState, Renegotiation};
use call_core::ice::{CandidateInit, CandidateType, IceWait, ServerKinds};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::channel::{ChannelConfig, ChannelId};
use str0m::crypto::from_feature_flags;
use str0m::format::Codec;
use str0m::media::{Direction, Frequency, KeyframeRequestKind, MediaData, MediaKind, MediaTime, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc};

use crate::cli::{MediaMode, Options, Role};
use crate::h264;
use crate::payload;
use crate::stun::{is_stun, Message};
use crate::turn::{resolve_servers, StunProbe, TurnClient, TurnEvent};

/// Set by a signal handler (or a test) to hang up.
pub static STOP: AtomicBool = AtomicBool::new(false);

/// How long ICE may stay `disconnected` before a restart (PROTOCOL.md 5).
const DISCONNECTED_GRACE: Duration = Duration::from_secs(3);
/// No packet at all for this long counts as `disconnected`.
const SILENCE: Duration = Duration::from_secs(5);
/// A restart attempt that does not reconnect within this is retried.
const RESTART_ATTEMPT: Duration = Duration::from_secs(8);
const RESTART_ATTEMPTS: u32 = 3;
/// Bound for the first connection after the descriptions were exchanged.
const CONNECT_BOUND: Duration = Duration::from_secs(30);
/// How long a local hang-up may take to flush DTLS close_notify etc.
const CLOSE_DRAIN: Duration = Duration::from_millis(400);
/// The loop wakes at least this often (stop flag, signaling).
const MAX_WAIT: Duration = Duration::from_millis(50);
const KEYFRAME_INTERVAL: Duration = Duration::from_secs(1);
/// One 20 ms Opus frame of silence (CELT-only, fullband, TOC 0xF8).
const OPUS_SILENCE: [u8; 3] = [0xF8, 0xFF, 0xFE];

/// Why the call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// The other side hung up (channel or DTLS close, SCTP abort).
    RemoteHangup(String),
    /// We hung up (signal, stop flag).
    LocalHangup,
    /// `--timeout` elapsed.
    Timeout,
    /// The connection was lost and restarts did not bring it back.
    ConnectionLost,
}

/// A run that could not become a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// A refused offer or answer payload (exit code 2).
    Payload(String),
    /// Anything else: socket, str0m, never connected (exit code 1).
    Other(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Payload(m) => write!(f, "bad payload: {m}"),
            Error::Other(m) => f.write_str(m),
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error::Other(format!("I/O error: {e}"))
    }
}

/// The messenger: carries our description out and the answer in.
pub trait Signaling {
    /// Our offer or answer, as a payload (base64 of the SDP).
    fn send(&mut self, payload: &str);
    /// The answer payload, once it is there (caller only). `Some(Err)`:
    /// it will never come (stdin closed).
    fn poll_answer(&mut self) -> Option<Result<String, String>>;
}

/// One line per event on stderr: what tests wait for.
pub fn event(line: &str) {
    eprintln!("{line}");
}

/// Everything else on stderr, marked so that it cannot be mistaken for an event.
pub fn info(line: &str) {
    eprintln!("info: {line}");
}

/// The first non-loopback IPv4 address of an interface that is up.
pub fn default_ip() -> Option<IpAddr> {
    #[cfg(unix)]
    // SAFETY: getifaddrs hands out a linked list that we only read and then
    // free exactly once; every pointer is checked for null before use.
    unsafe {
        let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
        if libc::getifaddrs(&mut list) != 0 {
            return None;
        }
        let mut found = None;
        let mut p = list;
        while !p.is_null() {
            let ifa = &*p;
            let up = ifa.ifa_flags & (libc::IFF_UP as u32) != 0;
            let lo = ifa.ifa_flags & (libc::IFF_LOOPBACK as u32) != 0;
            if up && !lo && !ifa.ifa_addr.is_null() && i32::from((*ifa.ifa_addr).sa_family) == libc::AF_INET {
                let sin = &*(ifa.ifa_addr as *const libc::sockaddr_in);
                let ip = std::net::Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
                if !ip.is_link_local() {
                    found = Some(IpAddr::V4(ip));
                    break;
                }
            }
            p = ifa.ifa_next;
        }
        libc::freeifaddrs(list);
        found
    }
    #[cfg(not(unix))]
    None
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Gathering,
    AwaitAnswer,
    InCall,
}

struct Restart {
    attempts: u32,
    deadline: Instant,
    /// The new descriptions are in place; waiting for ICE to connect.
    applied: bool,
}

struct Turn {
    client: TurnClient,
    url: String,
}

struct Peer<'a> {
    rtc: Rtc,
    sock: UdpSocket,
    local: SocketAddr,
    caller: bool,
    opts: Options,
    sig: &'a mut dyn Signaling,
    start: Instant,
    phase: Phase,
    wait: IceWait,
    probes: Vec<StunProbe>,
    turns: Vec<Turn>,
    /// Remote offer (callee) kept until gathering is done.
    remote_offer: Option<SdpOffer>,
    pending: Option<SdpPendingOffer>,
    /// Channel ids in the order of `Channel::ALL`, and whether open.
    chans: Channels,
    open: [bool; 3],
    trickle_queue: Vec<String>,
    /// The description was handed over: later candidates are trickled.
    handed_over: Option<Instant>,
    first_mid: String,
    remote_ufrag: Option<String>,
    connected_at: Option<Instant>,
    ice: IceConnectionState,
    disconnected_since: Option<Instant>,
    restart: Option<Restart>,
    restart_hook_done: bool,
    mute_hook_done: bool,
    muted: MutedState,
    audio_mid: Option<Mid>,
    video_mid: Option<Mid>,
    /// Media of this kind (audio, video) has arrived: announced once as
    /// `receiving audio` / `receiving video`, what this peer perceives.
    receiving: [bool; 2],
    last_keyframe_req: Option<Instant>,
    tone_next: Option<Instant>,
    tone_samples: u64,
    video_next: Option<Instant>,
    video_frames: u64,
    end: Option<End>,
    ignored_packets: u64,
    /// Trickled candidates of the next ICE generation, arrived before its
    /// description (a restart in flight): (ufrag, candidate).
    early_candidates: Vec<(String, Candidate)>,
    /// Whether media last went through a TURN relay (for the log).
    relayed: Option<bool>,
    /// When the last packet for this call arrived.
    last_rx: Option<Instant>,
    /// `disconnected_since` was set by silence, not by str0m.
    silent: bool,
}

fn chan_index(c: Channel) -> usize {
    match c {
        Channel::IceTrickling => 0,
        Channel::MutedState => 1,
        Channel::Renegotiation => 2,
    }
}

fn channel_config(c: Channel) -> ChannelConfig {
    ChannelConfig {
        label: c.label().to_string(),
        ordered: true,
        negotiated: Some(c.id()),
        ..Default::default()
    }
}

/// A remote description without the candidates str0m cannot parse.
fn usable(sdp: String) -> String {
    let (sdp, dropped) = payload::strip_unusable_candidates(&sdp);
    if dropped > 0 {
        info(&format!(
            "{dropped} remote candidates without an IP address (mDNS) left to peer-reflexive discovery"
        ));
    }
    sdp
}

/// An SDP to stderr, each line marked (`--verbose`).
fn dump_sdp(what: &str, sdp: &str) {
    let mut out = format!("info: {what} SDP:\n");
    for l in sdp.lines() {
        out.push_str("info: | ");
        out.push_str(l);
        out.push('\n');
    }
    eprint!("{out}");
}

/// The `Rtc` of a call: Opus and VP8/H264/VP9 for the echo; Opus, PCMU and
/// H264 for the pattern.
fn new_rtc(media: MediaMode, start: Instant) -> Rtc {
    let cfg = Rtc::builder()
        .set_crypto_provider(Arc::new(from_feature_flags()))
        .clear_codecs()
        .enable_opus(true, false);
    let mut cfg = match media {
        MediaMode::Echo => cfg.enable_vp8(true).enable_h264(true).enable_vp9(true),
        // The generated video is H.264; the tone is PCMU.
        MediaMode::Pattern => cfg.enable_pcmu(true, false).enable_h264(true),
    };
    // str0m's defaults (RTO up to 3 s, 9 retransmits) notice a dead path
    // only after ~25 s; these make it ~8 s, near Chromium's `disconnected`.
    cfg.set_max_stun_rto(Duration::from_millis(1500));
    cfg.set_max_stun_retransmits(6);
    cfg.build(start)
}

/// str0m's ids of the negotiated channels, in the order of `Channel::ALL`.
type Channels = [Option<ChannelId>; 3];

/// The caller's offer (PROTOCOL.md 4): audio and video sendrecv, and the
/// three negotiated channels.
fn make_offer(rtc: &mut Rtc) -> Option<(SdpOffer, SdpPendingOffer, [Mid; 2], Channels)> {
    let mut api = rtc.sdp_api();
    let a = api.add_media(
        MediaKind::Audio,
        Direction::SendRecv,
        Some("calls-peer".into()),
        None,
        None,
    );
    let v = api.add_media(
        MediaKind::Video,
        Direction::SendRecv,
        Some("calls-peer".into()),
        None,
        None,
    );
    let mut ids = [None; 3];
    for c in Channel::ALL {
        ids[chan_index(c)] = Some(api.add_channel_with_config(channel_config(c)));
    }
    let (offer, pending) = api.apply()?;
    Some((offer, pending, [a, v], ids))
}

/// The callee's answer, and the negotiated channels created on its side.
fn make_answer(rtc: &mut Rtc, offer: SdpOffer) -> Result<(SdpAnswer, Channels), String> {
    let answer = rtc
        .sdp_api()
        .accept_offer(offer)
        .map_err(|e| format!("offer refused: {e}"))?;
    let mut ids = [None; 3];
    for c in Channel::ALL {
        ids[chan_index(c)] = Some(rtc.direct_api().create_data_channel(channel_config(c)));
    }
    Ok((answer, ids))
}

/// Runs one call to its end.
pub fn run(opts: Options, sig: &mut dyn Signaling) -> Result<End, Error> {
    let start = Instant::now();
    // Validate the offer before anything else: a bad payload is exit code 2
    // right away, not after gathering.
    let (caller, remote_offer, remote_ufrag) = match &opts.role {
        Role::Call => (true, None, None),
        Role::Answer(Some(p)) => {
            let sdp = usable(payload::decode(p).map_err(Error::Payload)?);
            if opts.verbose {
                dump_sdp("remote offer", &sdp);
            }
            let ufrag = payload::sdp_attr(&sdp, "ice-ufrag").map(str::to_string);
            let offer = SdpOffer::from_sdp_string(&sdp).map_err(|e| Error::Payload(format!("offer: {e}")))?;
            (false, Some(offer), ufrag)
        }
        Role::Answer(None) => return Err(Error::Payload("no offer given".into())),
    };
    let ip = match opts.bind {
        Some(ip) => ip,
        None => default_ip().ok_or_else(|| Error::Other("no non-loopback IPv4 address found; use --bind".into()))?,
    };
    let sock = UdpSocket::bind((ip, 0)).map_err(|e| Error::Other(format!("cannot bind UDP on {ip}: {e}")))?;
    let local = sock.local_addr()?;
    info(&format!("UDP socket {local}"));

    let mut rtc = new_rtc(opts.media, start);
    let host = Candidate::host(local, "udp").map_err(|e| Error::Other(format!("host candidate {local}: {e}")))?;
    if !opts.relay_only {
        rtc.add_local_candidate(host);
    }

    let (servers, skipped) = resolve_servers(&opts.ice_servers, ip);
    for s in &skipped {
        info(&format!("ICE server skipped: {s}"));
    }
    let mut kinds = ServerKinds::default();
    let mut probes = Vec::new();
    let mut turns = Vec::new();
    for s in servers {
        match s.turn {
            Some((user, pass)) => {
                kinds.turn = true;
                let mut client = TurnClient::new(s.addr, user, pass);
                let first = client.start(start);
                let _ = sock.send_to(&first, s.addr);
                info(&format!("TURN allocation at {} ({})", s.addr, s.url));
                turns.push(Turn { client, url: s.url });
            }
            None => {
                kinds.stun = true;
                probes.push(StunProbe::new(s.addr, start));
            }
        }
    }
    if opts.relay_only && !kinds.turn {
        return Err(Error::Other(
            "--relay-only needs a usable TURN server in --ice-servers".into(),
        ));
    }
    let mut wait = IceWait::new(kinds, 0);
    if !opts.relay_only {
        wait.on_candidate(CandidateType::Host, 0);
    }

    let mut peer = Peer {
        rtc,
        sock,
        local,
        caller,
        opts,
        sig,
        start,
        phase: Phase::Gathering,
        wait,
        probes,
        turns,
        remote_offer,
        pending: None,
        chans: [None; 3],
        open: [false; 3],
        trickle_queue: Vec::new(),
        handed_over: None,
        first_mid: "0".into(),
        remote_ufrag,
        connected_at: None,
        ice: IceConnectionState::New,
        disconnected_since: None,
        restart: None,
        restart_hook_done: false,
        mute_hook_done: false,
        muted: MutedState {
            audio_enabled: true,
            video_enabled: true,
            video_paused: false,
        },
        audio_mid: None,
        video_mid: None,
        receiving: [false; 2],
        last_keyframe_req: None,
        tone_next: None,
        tone_samples: 0,
        video_next: None,
        video_frames: 0,
        end: None,
        ignored_packets: 0,
        early_candidates: Vec::new(),
        relayed: None,
        last_rx: None,
        silent: false,
    };
    let r = peer.run_loop();
    peer.release_turn();
    r
}

impl Peer<'_> {
    fn ms(&self, t: Instant) -> u64 {
        t.saturating_duration_since(self.start).as_millis() as u64
    }

    fn run_loop(&mut self) -> Result<End, Error> {
        let mut buf = vec![0u8; 2048];
        loop {
            let now = Instant::now();
            if STOP.load(Ordering::Relaxed) && self.end.is_none() {
                self.end = Some(End::LocalHangup);
            }
            if self.opts.timeout.is_some_and(|t| now >= self.start + t) && self.end.is_none() {
                self.end = Some(End::Timeout);
            }
            if let Some(end) = self.end.clone() {
                if end != End::ConnectionLost && !matches!(end, End::RemoteHangup(_)) {
                    self.close_gracefully();
                }
                let why = match &end {
                    End::RemoteHangup(w) => format!("remote ({w})"),
                    End::LocalHangup => "local".into(),
                    End::Timeout => "timeout".into(),
                    End::ConnectionLost => "connection lost".into(),
                };
                event(&format!("hangup {why}"));
                return Ok(end);
            }
            self.step(now)?;
            let next = self.drain()?;
            if self.end.is_some() {
                continue;
            }
            let wait = self.next_wakeup(next).saturating_duration_since(Instant::now());
            self.sock
                .set_read_timeout(Some(wait.clamp(Duration::from_millis(1), MAX_WAIT)))?;
            match self.sock.recv_from(&mut buf) {
                Ok((n, source)) => self.receive(&buf[..n], source)?,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut | std::io::ErrorKind::Interrupted
                    ) => {}
                // ICMP port unreachable from an earlier send: not fatal.
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {}
                Err(e) => return Err(e.into()),
            }
            let now = Instant::now();
            if let Err(e) = self.rtc.handle_input(Input::Timeout(now)) {
                return Err(Error::Other(format!("WebRTC: {e}")));
            }
        }
    }

    fn next_wakeup(&self, rtc_next: Instant) -> Instant {
        let mut t = rtc_next;
        for p in &self.probes {
            if let Some(x) = p.next_timeout() {
                t = t.min(x);
            }
        }
        for turn in &self.turns {
            if let Some(x) = turn.client.next_timeout() {
                t = t.min(x);
            }
        }
        for x in [self.tone_next, self.video_next].into_iter().flatten() {
            t = t.min(x);
        }
        t
    }

    /// Timers and phase changes.
    fn step(&mut self, now: Instant) -> Result<(), Error> {
        // Gathering helpers.
        let mut sends = Vec::new();
        for p in &mut self.probes {
            if let Some(m) = p.poll(now) {
                sends.push((m, p.server));
            }
        }
        let mut failed = Vec::new();
        for t in &mut self.turns {
            let (ev, out) = t.client.poll(now);
            sends.extend(out.into_iter().map(|m| (m, t.client.server)));
            if let Some(TurnEvent::Failed(why)) = ev {
                failed.push(format!("{}: {why}", t.url));
            }
        }
        for (m, to) in sends {
            let _ = self.sock.send_to(&m, to);
        }
        for f in failed {
            info(&format!("TURN failed: {f}"));
        }
        if self.probes.iter().all(|p| p.done) && self.turns.iter().all(|t| t.client.failed || t.client.relay.is_some())
        {
            self.wait.on_complete();
        }

        match self.phase {
            Phase::Gathering if self.wait.is_ready(self.ms(now)) => {
                info(&format!("gathering took {} ms", self.wait.elapsed(self.ms(now))));
                self.hand_over(now)?;
            }
            Phase::Gathering => {}
            Phase::AwaitAnswer => match self.sig.poll_answer() {
                None => {}
                Some(Err(why)) => return Err(Error::Payload(format!("no answer: {why}"))),
                Some(Ok(p)) => {
                    let sdp = usable(payload::decode(&p).map_err(Error::Payload)?);
                    if self.opts.verbose {
                        dump_sdp("remote answer", &sdp);
                    }
                    self.remote_ufrag = payload::sdp_attr(&sdp, "ice-ufrag").map(str::to_string);
                    let answer =
                        SdpAnswer::from_sdp_string(&sdp).map_err(|e| Error::Payload(format!("answer: {e}")))?;
                    let pending = self
                        .pending
                        .take()
                        .ok_or_else(|| Error::Other("no pending offer".into()))?;
                    self.rtc
                        .sdp_api()
                        .accept_answer(pending, answer)
                        .map_err(|e| Error::Payload(format!("answer refused: {e}")))?;
                    info("answer applied");
                    self.phase = Phase::InCall;
                    self.handed_over = Some(now);
                }
            },
            Phase::InCall => self.call_timers(now),
        }
        if self.opts.media == MediaMode::Pattern {
            self.tone(now);
            self.pattern_video(now);
        }
        Ok(())
    }

    /// Gathering is done: create and hand over our description.
    fn hand_over(&mut self, now: Instant) -> Result<(), Error> {
        let sdp = if self.caller {
            let (offer, pending, [a, v], ids) =
                make_offer(&mut self.rtc).ok_or_else(|| Error::Other("str0m made no offer".into()))?;
            self.audio_mid = Some(a);
            self.video_mid = Some(v);
            self.chans = ids;
            self.pending = Some(pending);
            self.phase = Phase::AwaitAnswer;
            offer.to_sdp_string()
        } else {
            let offer = self
                .remote_offer
                .take()
                .ok_or_else(|| Error::Other("no offer".into()))?;
            let (answer, ids) = make_answer(&mut self.rtc, offer).map_err(Error::Payload)?;
            self.chans = ids;
            self.phase = Phase::InCall;
            self.handed_over = Some(now);
            answer.to_sdp_string()
        };
        if self.opts.verbose {
            dump_sdp(if self.caller { "local offer" } else { "local answer" }, &sdp);
        }
        if let Some(mid) = payload::sdp_attr(&sdp, "mid") {
            self.first_mid = mid.to_string();
        }
        let types: Vec<String> = sdp
            .lines()
            .filter(|l| l.starts_with("a=candidate:"))
            .filter_map(|l| CandidateType::of_candidate(l).map(|t| format!("{t:?}").to_lowercase()))
            .collect();
        info(&format!(
            "{} ready, candidates: {}",
            if self.caller { "offer" } else { "answer" },
            types.join(" ")
        ));
        self.sig.send(&payload::encode(&sdp));
        if self.caller {
            self.handed_over = Some(now);
        }
        Ok(())
    }

    fn call_timers(&mut self, now: Instant) {
        if let (Some(at), Some(h)) = (self.connected_at, self.opts.mute_after) {
            if !self.mute_hook_done && now >= at + h {
                self.mute_hook_done = true;
                self.muted.audio_enabled = false;
                info("muting the microphone (--mute-after)");
                self.send_muted();
            }
        }
        if let (Some(at), Some(h)) = (self.connected_at, self.opts.restart_after) {
            if !self.restart_hook_done && now >= at + h {
                self.restart_hook_done = true;
                info("ICE restart (--restart-after)");
                self.begin_restart(now);
            }
        }
        if self.connected_at.is_none() {
            if self.handed_over.is_some_and(|t| now >= t + CONNECT_BOUND) {
                info("could not connect");
                self.end = Some(End::ConnectionLost);
            }
            return;
        }
        // str0m's own `disconnected` comes late; a call (media, STUN
        // consent every 1.5 s) that goes silent has lost its path.
        if self.disconnected_since.is_none() && self.last_rx.is_some_and(|t| now >= t + SILENCE) {
            info("no packets for 5 s: disconnected");
            self.silent = true;
            self.disconnected_since = Some(now);
        }
        if let Some(since) = self.disconnected_since {
            if self.restart.is_none() && now >= since + DISCONNECTED_GRACE {
                info("disconnected for 3 s: ICE restart");
                self.begin_restart(now);
            }
        }
        if let Some(r) = &self.restart {
            if now >= r.deadline {
                if r.attempts >= RESTART_ATTEMPTS {
                    info("ICE restart failed");
                    self.end = Some(End::ConnectionLost);
                } else {
                    info("ICE restart attempt timed out, retrying");
                    self.begin_restart(now);
                }
            }
        }
    }

    /// Caller: an ICE restart offer on channel 5. Callee: `restart-request`.
    fn begin_restart(&mut self, now: Instant) {
        let attempts = self.restart.as_ref().map_or(0, |r| r.attempts) + 1;
        self.restart = Some(Restart {
            attempts,
            deadline: now + RESTART_ATTEMPT,
            applied: false,
        });
        if self.caller {
            let mut api = self.rtc.sdp_api();
            api.ice_restart(true);
            match api.apply() {
                Some((offer, pending)) => {
                    self.pending = Some(pending);
                    let msg = Renegotiation::Offer(offer.to_sdp_string()).to_json();
                    if !self.send_text(Channel::Renegotiation, &msg) {
                        info("renegotiation channel not open: restart offer not sent");
                    }
                }
                None => info("str0m made no restart offer"),
            }
        } else if !self.send_text(Channel::Renegotiation, &Renegotiation::RestartRequest.to_json()) {
            info("renegotiation channel not open: restart-request not sent");
        }
    }

    /// Pattern media: 20 ms of a 440 Hz tone in PCMU, every 20 ms.
    fn tone(&mut self, now: Instant) {
        let Some(mid) = self.audio_mid else { return };
        if self.connected_at.is_none() {
            return;
        }
        let next = *self.tone_next.get_or_insert(now);
        if now < next {
            return;
        }
        // Never more than 100 ms behind (after a stall, skip rather than burst).
        let floor = now.checked_sub(Duration::from_millis(100)).unwrap_or(now);
        self.tone_next = Some(next.max(floor) + Duration::from_millis(20));
        let samples: Vec<u8> = (0..160u64)
            .map(|i| {
                let t = (self.tone_samples + i) as f64 / 8000.0;
                let on = self.muted.audio_enabled;
                let v = if on {
                    (t * 440.0 * std::f64::consts::TAU).sin() * 8000.0
                } else {
                    0.0
                };
                mulaw(v as i16)
            })
            .collect();
        let rtp_time = MediaTime::new(self.tone_samples, Frequency::EIGHT_KHZ);
        self.tone_samples += 160;
        let Some(writer) = self.rtc.writer(mid) else { return };
        let Some(pt) = writer
            .payload_params()
            .find(|p| p.spec().codec == Codec::PCMU)
            .map(|p| p.pt())
        else {
            return;
        };
        if let Err(e) = writer.write(pt, now, rtp_time, samples) {
            info(&format!("tone write failed: {e}"));
        }
    }

    /// Pattern media: a test picture (H.264 I_PCM), 10 frames a second.
    fn pattern_video(&mut self, now: Instant) {
        let Some(mid) = self.video_mid else { return };
        if self.connected_at.is_none() || !self.muted.video_enabled {
            return;
        }
        let next = *self.video_next.get_or_insert(now);
        if now < next {
            return;
        }
        let floor = now.checked_sub(Duration::from_millis(300)).unwrap_or(now);
        self.video_next = Some(next.max(floor) + Duration::from_millis(100));
        let n = self.video_frames;
        self.video_frames += 1;
        let Some(writer) = self.rtc.writer(mid) else { return };
        // Prefer the payload type that says what the stream is.
        let h264: Vec<_> = writer
            .payload_params()
            .filter(|p| p.spec().codec == Codec::H264)
            .collect();
        let fmt = |p: &&&str0m::format::PayloadParams| {
            let f = p.spec().format;
            (
                f.packetization_mode == Some(1),
                f.profile_level_id == Some(h264::PROFILE_LEVEL_ID),
            )
        };
        let Some(pt) = h264.iter().max_by_key(fmt).map(|p| p.pt()) else {
            if n == 0 {
                info("no H.264 negotiated: no pattern video");
            }
            return;
        };
        let rtp_time = MediaTime::new(n * 9000, Frequency::NINETY_KHZ);
        if let Err(e) = writer.write(pt, now, rtp_time, h264::frame(n)) {
            info(&format!("pattern video write failed: {e}"));
        }
    }

    /// Polls str0m until it only has a timeout left; returns that timeout.
    fn drain(&mut self) -> Result<Instant, Error> {
        loop {
            if !self.rtc.is_alive() {
                if self.end.is_none() {
                    self.end = Some(End::RemoteHangup("connection closed".into()));
                }
                return Ok(Instant::now());
            }
            match self.rtc.poll_output() {
                Ok(Output::Timeout(t)) => return Ok(t),
                Ok(Output::Transmit(t)) => self.transmit(t.source, t.destination, &t.contents),
                Ok(Output::Event(e)) => self.on_event(e),
                Err(e) => {
                    info(&format!("WebRTC error: {e}"));
                    if self.connected_at.is_some() {
                        self.end = Some(End::ConnectionLost);
                        return Ok(Instant::now());
                    }
                    return Err(Error::Other(format!("WebRTC: {e}")));
                }
            }
        }
    }

    fn transmit(&mut self, source: SocketAddr, dest: SocketAddr, data: &[u8]) {
        let now = Instant::now();
        // DTLS/SRTP (not STUN) shows the pair in use.
        if self.connected_at.is_some() && !is_stun(data) {
            let relayed = source != self.local;
            if self.relayed != Some(relayed) {
                self.relayed = Some(relayed);
                info(&format!(
                    "route {} ({source} -> {dest})",
                    if relayed { "relay" } else { "p2p" }
                ));
            }
        }
        if source != self.local {
            if let Some(t) = self.turns.iter_mut().find(|t| t.client.relay == Some(source)) {
                let server = t.client.server;
                for m in t.client.send_to(dest, data, now) {
                    let _ = self.sock.send_to(&m, server);
                }
                return;
            }
        }
        // A send error (unreachable network) is what ICE is there to handle.
        let _ = self.sock.send_to(data, dest);
    }

    fn receive(&mut self, data: &[u8], source: SocketAddr) -> Result<(), Error> {
        let now = Instant::now();
        if is_stun(data) {
            if let Some(m) = Message::parse(data) {
                if let Some(p) = self.probes.iter_mut().find(|p| p.server == source && !p.done) {
                    if let Some(mapped) = p.handle(&m) {
                        if !self.opts.relay_only {
                            self.add_srflx(mapped, now);
                        }
                        return Ok(());
                    }
                }
                if let Some(i) = self.turns.iter().position(|t| t.client.server == source) {
                    let (ev, out) = self.turns[i].client.handle(&m, now);
                    for msg in out {
                        let _ = self.sock.send_to(&msg, source);
                    }
                    match ev {
                        Some(TurnEvent::Allocated { relay, mapped }) => {
                            info(&format!("TURN relay {relay}"));
                            if let Some(mapped) = mapped.filter(|_| !self.opts.relay_only) {
                                self.add_srflx(mapped, now);
                            }
                            match Candidate::relayed(relay, self.local, "udp") {
                                Ok(c) => self.add_local(c, CandidateType::Relay, now),
                                Err(e) => info(&format!("relay candidate refused: {e}")),
                            }
                        }
                        Some(TurnEvent::Failed(why)) => info(&format!("TURN failed: {why}")),
                        Some(TurnEvent::Data { peer, data }) => {
                            if let Some(relay) = self.turns[i].client.relay {
                                self.feed(&data, peer, relay);
                            }
                        }
                        None => {}
                    }
                    return Ok(());
                }
            }
        }
        self.feed(data, source, self.local);
        Ok(())
    }

    fn feed(&mut self, data: &[u8], source: SocketAddr, destination: SocketAddr) {
        let Ok(contents) = data.try_into() else {
            self.ignored_packets += 1;
            return;
        };
        let input = Input::Receive(
            Instant::now(),
            Receive {
                proto: Protocol::Udp,
                source,
                destination,
                contents,
            },
        );
        if !self.rtc.accepts(&input) {
            self.ignored_packets += 1;
            return;
        }
        self.last_rx = Some(Instant::now());
        if self.silent {
            self.silent = false;
            if self.ice != IceConnectionState::Disconnected {
                self.disconnected_since = None;
            }
        }
        if let Err(e) = self.rtc.handle_input(input) {
            info(&format!("packet from {source} refused: {e}"));
        }
    }

    fn add_srflx(&mut self, mapped: SocketAddr, now: Instant) {
        if mapped == self.local {
            return; // no NAT: the host candidate says it all
        }
        match Candidate::server_reflexive(mapped, self.local, "udp") {
            Ok(c) => self.add_local(c, CandidateType::Srflx, now),
            Err(e) => info(&format!("srflx candidate refused: {e}")),
        }
    }

    fn add_local(&mut self, c: Candidate, typ: CandidateType, now: Instant) {
        let ms = self.ms(now);
        let Some(added) = self.rtc.add_local_candidate(c) else {
            return; // redundant
        };
        let line = added.to_sdp_string();
        info(&format!("local candidate {line}"));
        self.wait.on_candidate(typ, ms);
        if self.handed_over.is_some() || self.phase != Phase::Gathering {
            let init = CandidateInit {
                candidate: line,
                sdp_mid: Some(self.first_mid.clone()),
                sdp_m_line_index: Some(0),
                username_fragment: Some(self.rtc.direct_api().local_ice_credentials().ufrag),
            };
            self.trickle(init.to_json());
        }
    }

    fn trickle(&mut self, json: String) {
        if self.open[chan_index(Channel::IceTrickling)] {
            if !self.send_text(Channel::IceTrickling, &json) {
                info("trickle send failed");
            }
        } else {
            self.trickle_queue.push(json);
        }
    }

    fn send_text(&mut self, c: Channel, text: &str) -> bool {
        let Some(id) = self.chans[chan_index(c)] else {
            return false;
        };
        if !self.open[chan_index(c)] {
            return false;
        }
        match self.rtc.channel(id) {
            Some(mut ch) => ch.write(false, text.as_bytes()).is_ok(),
            None => false,
        }
    }

    fn send_muted(&mut self) {
        let json = self.muted.to_json();
        if self.send_text(Channel::MutedState, &json) {
            info(&format!("sent mutedState {json}"));
        }
    }

    fn channel_of(&self, id: ChannelId) -> Option<Channel> {
        Channel::ALL
            .into_iter()
            .find(|c| self.chans[chan_index(*c)] == Some(id))
    }

    fn on_event(&mut self, e: Event) {
        let now = Instant::now();
        match e {
            Event::Connected if self.connected_at.is_none() => {
                self.connected_at = Some(now);
                event("connected");
            }
            Event::IceConnectionStateChange(s) => {
                info(&format!("ICE {s:?}"));
                self.ice = s;
                match s {
                    IceConnectionState::Disconnected => {
                        self.disconnected_since.get_or_insert(now);
                    }
                    IceConnectionState::Connected | IceConnectionState::Completed => {
                        self.disconnected_since = None;
                        if self.restart.as_ref().is_some_and(|r| r.applied) {
                            self.restart = None;
                            event("restart done");
                            self.request_keyframe(now, true);
                        }
                    }
                    _ => {}
                }
            }
            Event::MediaAdded(m) => {
                info(&format!("media {:?} {:?} mid {}", m.kind, m.direction, m.mid));
                match m.kind {
                    MediaKind::Audio => {
                        self.audio_mid.get_or_insert(m.mid);
                    }
                    MediaKind::Video => {
                        self.video_mid.get_or_insert(m.mid);
                    }
                }
            }
            Event::MediaData(d) => self.echo(d, now),
            Event::KeyframeRequest(_) => self.request_keyframe(now, false),
            Event::ChannelOpen(id, label) => {
                let Some(c) = self.channel_of(id) else {
                    info(&format!("unexpected channel {label:?} opened"));
                    return;
                };
                info(&format!("channel {} open", c.label()));
                self.open[chan_index(c)] = true;
                match c {
                    Channel::IceTrickling => {
                        for m in std::mem::take(&mut self.trickle_queue) {
                            self.send_text(Channel::IceTrickling, &m);
                        }
                    }
                    Channel::MutedState => self.send_muted(),
                    Channel::Renegotiation => {}
                }
            }
            Event::ChannelData(d) => {
                let Some(c) = self.channel_of(d.id) else { return };
                let Ok(text) = std::str::from_utf8(&d.data) else {
                    info(&format!("{}: non-UTF-8 message ignored", c.label()));
                    return;
                };
                match parse_message(c, text) {
                    Some(m) => self.on_message(m, now),
                    None => info(&format!("{}: malformed message ignored: {:.200}", c.label(), text)),
                }
            }
            Event::ChannelClose(id) => {
                if let Some(c) = self.channel_of(id) {
                    info(&format!("channel {} closed", c.label()));
                    self.end
                        .get_or_insert(End::RemoteHangup(format!("{} closed", c.label())));
                }
            }
            Event::Closed => {
                self.end.get_or_insert(End::RemoteHangup("DTLS/SCTP closed".into()));
            }
            _ => {}
        }
    }

    fn on_message(&mut self, m: Incoming, now: Instant) {
        match m {
            Incoming::Candidate(c) => {
                let line = c.candidate.trim().trim_start_matches("a=");
                let cand = match Candidate::from_sdp_string(line) {
                    Ok(cand) => cand,
                    Err(e) => return info(&format!("remote candidate ignored: {e}")),
                };
                if let (Some(u), Some(r)) = (&c.username_fragment, &self.remote_ufrag) {
                    if u != r {
                        // Candidates of a restart may overtake its
                        // description (another SCTP stream); keep a few
                        // until the next description says which are current.
                        if self.early_candidates.len() < 32 {
                            info(&format!("remote candidate kept for ICE generation {u}: {line}"));
                            self.early_candidates.push((u.clone(), cand));
                        } else {
                            info(&format!("candidate of ICE generation {u} ignored"));
                        }
                        return;
                    }
                }
                info(&format!("remote candidate {line}"));
                self.rtc.add_remote_candidate(cand);
            }
            Incoming::EndOfCandidates => info("remote: end of candidates"),
            Incoming::Muted(s) => event(&format!("muted-state {}", s.to_json())),
            Incoming::Renegotiation(Renegotiation::Offer(sdp)) => {
                if self.caller {
                    info("renegotiation offer ignored: only the caller makes offers");
                    return;
                }
                let sdp = usable(payload::normalize(&sdp));
                if self.opts.verbose {
                    dump_sdp("renegotiation", &sdp);
                }
                let offer = match SdpOffer::from_sdp_string(&sdp) {
                    Ok(o) => o,
                    Err(e) => return info(&format!("renegotiation offer unreadable: {e}")),
                };
                match self.rtc.sdp_api().accept_offer(offer) {
                    Ok(answer) => {
                        self.set_remote_ufrag(&sdp);
                        let msg = Renegotiation::Answer(answer.to_sdp_string()).to_json();
                        self.send_text(Channel::Renegotiation, &msg);
                        info("renegotiation offer answered");
                        let attempts = self.restart.as_ref().map_or(1, |r| r.attempts);
                        self.restart = Some(Restart {
                            attempts,
                            deadline: now + RESTART_ATTEMPT,
                            applied: true,
                        });
                    }
                    Err(e) => info(&format!("renegotiation offer refused: {e}")),
                }
            }
            Incoming::Renegotiation(Renegotiation::Answer(sdp)) => {
                let Some(pending) = self.pending.take() else {
                    return info("renegotiation answer without an offer ignored");
                };
                let sdp = usable(payload::normalize(&sdp));
                if self.opts.verbose {
                    dump_sdp("renegotiation", &sdp);
                }
                let answer = match SdpAnswer::from_sdp_string(&sdp) {
                    Ok(a) => a,
                    Err(e) => return info(&format!("renegotiation answer unreadable: {e}")),
                };
                match self.rtc.sdp_api().accept_answer(pending, answer) {
                    Ok(()) => {
                        self.set_remote_ufrag(&sdp);
                        info("renegotiation answer applied");
                        if let Some(r) = &mut self.restart {
                            r.applied = true;
                        }
                    }
                    Err(e) => info(&format!("renegotiation answer refused: {e}")),
                }
            }
            Incoming::Renegotiation(Renegotiation::RestartRequest) => {
                if self.caller {
                    info("restart requested by the callee");
                    self.begin_restart(now);
                } else {
                    info("restart-request ignored: we are the callee");
                }
            }
        }
    }

    /// A new remote description is in place: its ICE generation, and the
    /// candidates of it that came early.
    fn set_remote_ufrag(&mut self, sdp: &str) {
        self.remote_ufrag = payload::sdp_attr(sdp, "ice-ufrag").map(str::to_string);
        for (u, c) in std::mem::take(&mut self.early_candidates) {
            if Some(&u) == self.remote_ufrag.as_ref() {
                info(&format!("remote candidate {}", c.to_sdp_string()));
                self.rtc.add_remote_candidate(c);
            }
        }
    }

    fn echo(&mut self, d: MediaData, now: Instant) {
        let kind = self.rtc.media(d.mid).map(|m| m.kind());
        let (slot, name) = match kind {
            Some(MediaKind::Audio) => (0, "receiving audio"),
            _ => (1, "receiving video"),
        };
        if kind.is_some() && !std::mem::replace(&mut self.receiving[slot], true) {
            event(name);
        }
        if self.opts.media == MediaMode::Pattern {
            return; // we send our own
        }
        if kind == Some(MediaKind::Video) && !d.contiguous {
            self.request_keyframe(now, false);
        }
        // Muted: Opus silence frames keep the stream (and its statistics)
        // alive the way a muted browser track does; other codecs pause.
        let data: Arc<[u8]> = if kind == Some(MediaKind::Audio) && !self.muted.audio_enabled {
            if d.params.spec().codec != Codec::Opus {
                return;
            }
            Arc::from(&OPUS_SILENCE[..])
        } else {
            d.data
        };
        let Some(writer) = self.rtc.writer(d.mid) else { return };
        let Some(pt) = writer.match_params(d.params) else {
            return;
        };
        if let Err(e) = writer.write(pt, d.network_time, d.time, data) {
            info(&format!("echo write failed: {e}"));
        }
    }

    /// Asks the remote for a keyframe of the video we echo (throttled).
    fn request_keyframe(&mut self, now: Instant, force: bool) {
        if !force && self.last_keyframe_req.is_some_and(|t| now < t + KEYFRAME_INTERVAL) {
            return;
        }
        let Some(mid) = self.video_mid else { return };
        self.last_keyframe_req = Some(now);
        if let Some(mut w) = self.rtc.writer(mid) {
            let _ = w.request_keyframe(None, KeyframeRequestKind::Pli);
        }
    }

    /// Local hang-up: DTLS close_notify and SCTP shutdown, flushed briefly.
    fn close_gracefully(&mut self) {
        if self.connected_at.is_none() || !self.rtc.is_alive() {
            return;
        }
        if let Err(e) = self.rtc.close() {
            info(&format!("close: {e}"));
            return;
        }
        let deadline = Instant::now() + CLOSE_DRAIN;
        let mut buf = vec![0u8; 2048];
        while self.rtc.is_alive() && Instant::now() < deadline {
            let next = match self.rtc.poll_output() {
                Ok(Output::Timeout(t)) => t,
                Ok(Output::Transmit(t)) => {
                    self.transmit(t.source, t.destination, &t.contents);
                    continue;
                }
                Ok(Output::Event(_)) => continue,
                Err(_) => break,
            };
            let wait = next.min(deadline).saturating_duration_since(Instant::now());
            let _ = self
                .sock
                .set_read_timeout(Some(wait.clamp(Duration::from_millis(1), MAX_WAIT)));
            if let Ok((n, source)) = self.sock.recv_from(&mut buf) {
                let data = buf[..n].to_vec();
                self.feed(&data, source, self.local);
            }
            let _ = self.rtc.handle_input(Input::Timeout(Instant::now()));
        }
    }

    fn release_turn(&mut self) {
        let now = Instant::now();
        for t in &mut self.turns {
            if let Some(m) = t.client.close(now) {
                let _ = self.sock.send_to(&m, t.client.server);
            }
        }
        if self.ignored_packets > 0 {
            info(&format!("{} packets were not for this call", self.ignored_packets));
        }
    }
}

/// G.711 µ-law encoding of one sample.
pub fn mulaw(sample: i16) -> u8 {
    const BIAS: i32 = 0x84;
    const CLIP: i32 = 32635;
    let mut s = i32::from(sample);
    let sign = if s < 0 {
        s = -s;
        0x80
    } else {
        0
    };
    let s = s.min(CLIP) + BIAS;
    let exponent = (7 - (s as u32).leading_zeros().saturating_sub(17).min(7)) as i32;
    let mantissa = (s >> (exponent + 3)) & 0x0F;
    !(sign | (exponent << 4) as u8 | mantissa as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An offer of the call page in Chromium (captured with --verbose),
    /// plus an mDNS candidate as browsers send them by default.
    fn chromium_offer() -> String {
        let sdp = payload::normalize(include_str!("testdata/chromium-offer.sdp"));
        sdp.replacen(
            "a=ice-ufrag:",
            "a=candidate:9 1 udp 2122260223 0c8f-41.local 50000 typ host\r\na=ice-ufrag:",
            1,
        )
    }

    fn lines_with<'a>(sdp: &'a str, prefix: &str) -> Vec<&'a str> {
        sdp.lines().filter(|l| l.starts_with(prefix)).collect()
    }

    #[test]
    fn answers_the_page_offer() {
        let sdp = usable(chromium_offer());
        assert!(!sdp.contains(".local"));
        for mode in [MediaMode::Echo, MediaMode::Pattern] {
            let offer = SdpOffer::from_sdp_string(&sdp).expect("the page's offer parses");
            let mut rtc = new_rtc(mode, Instant::now());
            rtc.add_local_candidate(Candidate::host("192.0.2.2:5000".parse().unwrap(), "udp").unwrap());
            let (answer, ids) = make_answer(&mut rtc, offer).expect("accepted");
            assert!(ids.iter().all(Option::is_some));
            let a = answer.to_sdp_string();
            let m: Vec<_> = lines_with(&a, "m=")
                .iter()
                .map(|l| l.split(' ').next().unwrap())
                .collect();
            assert_eq!(m, ["m=audio", "m=video", "m=application"]);
            assert_eq!(lines_with(&a, "a=sendrecv").len(), 2, "{a}");
            assert_eq!(lines_with(&a, "a=setup:passive").len(), 3);
            assert!(a.contains("a=group:BUNDLE 0 1 2"), "{a}");
            assert!(a.contains("opus/48000/2"));
            match mode {
                MediaMode::Echo => assert!(a.contains("VP8/90000") && !a.contains("PCMU/8000"), "{a}"),
                MediaMode::Pattern => {
                    assert!(
                        a.contains("H264/90000") && a.contains("PCMU/8000") && !a.contains("VP8/90000"),
                        "{a}"
                    );
                    assert!(a.contains("profile-level-id=42e01f"), "{a}");
                }
            }
            assert!(lines_with(&a, "a=candidate:")
                .iter()
                .all(|l| l.contains("192.0.2.2 5000 typ host")));
            assert!(payload::decode(&payload::encode(&a)).is_ok());
        }
    }

    #[test]
    fn offers_what_the_protocol_needs() {
        let mut rtc = new_rtc(MediaMode::Echo, Instant::now());
        rtc.add_local_candidate(Candidate::host("192.0.2.2:5000".parse().unwrap(), "udp").unwrap());
        let (offer, _pending, _mids, ids) = make_offer(&mut rtc).expect("an offer");
        assert!(ids.iter().all(Option::is_some));
        let o = offer.to_sdp_string();
        let m: Vec<_> = lines_with(&o, "m=")
            .iter()
            .map(|l| l.split(' ').next().unwrap())
            .collect();
        assert_eq!(m, ["m=audio", "m=video", "m=application"]);
        assert_eq!(lines_with(&o, "a=sendrecv").len(), 2);
        assert!(o.contains("a=setup:actpass") && o.contains("a=group:BUNDLE"));
        assert!(call_core::payload::looks_like_sdp(&o));
        assert_eq!(lines_with(&o, "a=candidate:").len(), 1);
    }

    #[test]
    fn mulaw_known_values() {
        assert_eq!(mulaw(0), 0xFF);
        assert_eq!(mulaw(-1), 0x7F);
        assert_eq!(mulaw(32767), 0x80);
        assert_eq!(mulaw(-32768), 0x00);
        assert_eq!(mulaw(1000), 0xCE);
    }
}
