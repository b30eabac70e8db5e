//! A userspace UDP relay in front of a TURN server, to impair the path
//! between the pages and coturn: a fixed delay per direction, random loss,
//! and an outage switch (everything dropped while it is on); or, started
//! with a [`Profile`] ([`Relay::start_shaped`]), a shaped path: each
//! client's packets towards coturn go through a link of their own
//! (`shaper.rs`: rate cap with a bounded queue, delay, jitter, loss and
//! bursts of loss, changing over time).
//!
//! The pages talk to the relay's port as if it were the TURN server; for
//! each client address the relay opens one upstream socket to coturn, so
//! coturn sees one 5-tuple per client as usual. Packets wait in one queue
//! ordered by when they are due, of bounded length; what does not fit is
//! dropped, like a full router buffer.
//!
//! Shaped, only the client → TURN crossing is shaped: with both pages
//! forced through TURN, a packet from one page to the other crosses the
//! relay twice (its sender's link, then TURN → the other page unshaped),
//! so each direction of a call goes through exactly one link, the
//! sender's: a page's uplink is one direction of the call.

use std::cmp::Ordering as Cmp;
use std::collections::{BinaryHeap, HashMap};
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::shaper::{Counts, Link, Profile, Verdict};
use crate::{err, Result};

/// At most this many packets in flight inside the relay.
const QUEUE_MAX: usize = 4096;
/// At most this many client addresses (each has an upstream socket).
const CLIENTS_MAX: usize = 64;
/// A packet sent this much after it was due counts as late.
pub const LATE: Duration = Duration::from_millis(10);
/// How often blocked reads look at the stop flag.
const TICK: Duration = Duration::from_millis(50);

/// How the relay treats packets, per traversal (one direction, one hop).
#[derive(Debug, Clone, Copy)]
pub struct Impairment {
    /// Added to every packet.
    pub delay: Duration,
    /// Probability that a packet is dropped.
    pub loss: f64,
}

impl Impairment {
    pub const NONE: Impairment = Impairment { delay: Duration::ZERO, loss: 0.0 };
}

struct Packet {
    due: Instant,
    /// Arrival order: equal due times leave in it.
    seq: u64,
    sock: Arc<UdpSocket>,
    to: SocketAddr,
    data: Vec<u8>,
}

// The queue is a max-heap: the packet due first (then the one that came
// first) is the greatest.
impl Ord for Packet {
    fn cmp(&self, o: &Packet) -> Cmp {
        o.due.cmp(&self.due).then(o.seq.cmp(&self.seq))
    }
}
impl PartialOrd for Packet {
    fn partial_cmp(&self, o: &Packet) -> Option<Cmp> {
        Some(self.cmp(o))
    }
}
impl PartialEq for Packet {
    fn eq(&self, o: &Packet) -> bool {
        self.cmp(o) == Cmp::Equal
    }
}
impl Eq for Packet {}

/// A shaped relay's links, one per client (its uplink), and the clocks of
/// the model: its epoch and the profile's start (none yet: the first step
/// holds, and bursts count from the epoch).
struct Shaping {
    profile: Profile,
    epoch: Instant,
    start: Option<Instant>,
    seed: u64,
    links: HashMap<SocketAddr, Link>,
}

struct Shared {
    stop: AtomicBool,
    blocked: AtomicBool,
    imp: Impairment,
    shaping: Option<Mutex<Shaping>>,
    queue: Mutex<BinaryHeap<Packet>>,
    seq: AtomicU64,
    ready: Condvar,
    rng: AtomicU64,
    forwarded: AtomicU64,
    dropped: AtomicU64,
    /// How late packets left against when they were due (µs): the sum,
    /// the worst, and how many were more than [`LATE`] late. A relay
    /// starved of CPU holds its timings no better than the pages do.
    late_sum_us: AtomicU64,
    late_max_us: AtomicU64,
    late_over: AtomicU64,
}

impl Shared {
    /// xorshift64*: enough randomness for dropping packets.
    fn chance(&self) -> f64 {
        let mut x = self.rng.load(Ordering::Relaxed);
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng.store(x, Ordering::Relaxed);
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Queues a packet, or drops it; `uplink`: the client that sent it
    /// towards TURN (shaped by its link when the relay is shaped).
    fn push(&self, sock: &Arc<UdpSocket>, to: SocketAddr, data: &[u8], uplink: Option<SocketAddr>) {
        if self.blocked.load(Ordering::SeqCst) || (self.imp.loss > 0.0 && self.chance() < self.imp.loss) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let now = Instant::now();
        let mut due = now + self.imp.delay;
        if let (Some(shaping), Some(client)) = (&self.shaping, uplink) {
            let Ok(mut sh) = shaping.lock() else { return };
            let sh = &mut *sh;
            let (in_profile, settings) = match sh.start {
                Some(start) => {
                    let t = now.saturating_duration_since(start);
                    (t, *sh.profile.at(t))
                }
                None => (now - sh.epoch, sh.profile.steps()[0].1),
            };
            let seed = sh.seed ^ (u64::from(client.port()) << 17);
            let link = sh.links.entry(client).or_insert_with(|| Link::new(seed));
            match link.offer(&settings, in_profile, now - sh.epoch, data.len()) {
                Verdict::Deliver(at) => due = sh.epoch + at,
                Verdict::Lost | Verdict::Burst | Verdict::Overflow => {
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                    return;
                }
            }
        }
        let Ok(mut q) = self.queue.lock() else { return };
        if q.len() >= QUEUE_MAX {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        q.push(Packet { due, seq, sock: sock.clone(), to, data: data.to_vec() });
        self.ready.notify_one();
    }
}

/// A running relay; its threads stop when it is dropped.
pub struct Relay {
    port: u16,
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

impl Relay {
    /// Listens on 127.0.0.1 (a free port) and forwards to `upstream`.
    pub fn start(upstream: SocketAddr, imp: Impairment) -> Result<Relay> {
        Relay::start_with(upstream, imp, None)
    }

    /// Listens on 127.0.0.1 and forwards to `upstream`, each client's
    /// packets towards it shaped by a link of its own after `profile`:
    /// its first step until [`Relay::start_profile`] starts its clock (a
    /// call is set up and warmed up on the first step; the steps' times
    /// count from then).
    pub fn start_shaped(upstream: SocketAddr, profile: Profile) -> Result<Relay> {
        Relay::start_with(upstream, Impairment::NONE, Some(profile))
    }

    fn start_with(upstream: SocketAddr, imp: Impairment, profile: Option<Profile>) -> Result<Relay> {
        if !(0.0..1.0).contains(&imp.loss) {
            return err(format!("loss {} is not a probability below 1", imp.loss));
        }
        let front = Arc::new(UdpSocket::bind("127.0.0.1:0")?);
        front.set_read_timeout(Some(TICK))?;
        let port = front.local_addr()?.port();
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9E37_79B9_7F4A_7C15)
            | 1;
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            blocked: AtomicBool::new(false),
            imp,
            shaping: profile.map(|profile| {
                let now = Instant::now();
                Mutex::new(Shaping { profile, epoch: now, start: None, seed, links: HashMap::new() })
            }),
            queue: Mutex::new(BinaryHeap::new()),
            seq: AtomicU64::new(0),
            ready: Condvar::new(),
            rng: AtomicU64::new(seed),
            forwarded: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            late_sum_us: AtomicU64::new(0),
            late_max_us: AtomicU64::new(0),
            late_over: AtomicU64::new(0),
        });
        let mut threads = Vec::new();
        let s = shared.clone();
        threads.push(thread::Builder::new().name("relay-send".into()).spawn(move || sender(&s))?);
        let s = shared.clone();
        threads.push(thread::Builder::new().name("relay-front".into()).spawn(move || front_loop(&s, &front, upstream))?);
        Ok(Relay { port, shared, threads })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `iceServers` JSON: the TURN server, reached through this relay.
    pub fn ice_servers(&self) -> String {
        crate::turn::turn_ice_servers(
            &format!("turn:127.0.0.1:{}?transport=udp", self.port()),
            crate::turn::TURN_USER,
            crate::turn::TURN_PASSWORD,
        )
    }

    /// An outage: while on, every packet (both ways) is dropped, and what
    /// waited in the queue is dropped too.
    pub fn set_blocked(&self, on: bool) {
        self.shared.blocked.store(on, Ordering::SeqCst);
        if on {
            if let Ok(mut q) = self.shared.queue.lock() {
                let n = q.len() as u64;
                q.clear();
                self.shared.dropped.fetch_add(n, Ordering::Relaxed);
            }
        }
    }

    /// A shaped relay's profile starts (or starts over) now: its steps'
    /// times count from here. Returns false when the relay is not shaped.
    pub fn start_profile(&self) -> bool {
        match self.shared.shaping.as_ref().map(|s| s.lock()) {
            Some(Ok(mut s)) => {
                s.start = Some(Instant::now());
                true
            }
            _ => false,
        }
    }

    /// A shaped relay's links (one per client, towards TURN) and what each
    /// did so far, busiest first.
    pub fn link_counts(&self) -> Vec<(SocketAddr, Counts)> {
        let mut v: Vec<(SocketAddr, Counts)> = match self.shared.shaping.as_ref().map(|s| s.lock()) {
            Some(Ok(s)) => s.links.iter().map(|(a, l)| (*a, l.counts)).collect(),
            _ => Vec::new(),
        };
        v.sort_by_key(|e| std::cmp::Reverse(e.1.delivered_bytes));
        v
    }

    /// How late the relay sent packets against their due times: (mean,
    /// worst, share of packets more than [`LATE`] late).
    pub fn lateness(&self) -> (Duration, Duration, f64) {
        let s = &self.shared;
        let n = s.forwarded.load(Ordering::Relaxed);
        let mean = s.late_sum_us.load(Ordering::Relaxed).checked_div(n).unwrap_or(0);
        let over = if n > 0 { s.late_over.load(Ordering::Relaxed) as f64 / n as f64 } else { 0.0 };
        (Duration::from_micros(mean), Duration::from_micros(s.late_max_us.load(Ordering::Relaxed)), over)
    }

    /// (forwarded, dropped) packets so far.
    pub fn counts(&self) -> (u64, u64) {
        (self.shared.forwarded.load(Ordering::Relaxed), self.shared.dropped.load(Ordering::Relaxed))
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.ready.notify_all();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Sends queued packets when they are due.
fn sender(s: &Shared) {
    let Ok(mut q) = s.queue.lock() else { return };
    while !s.stop.load(Ordering::SeqCst) {
        let now = Instant::now();
        match q.peek().map(|p| p.due) {
            Some(due) if due <= now => {
                if let Some(p) = q.pop() {
                    drop(q);
                    let late = now.saturating_duration_since(p.due);
                    if p.sock.send_to(&p.data, p.to).is_ok() {
                        s.forwarded.fetch_add(1, Ordering::Relaxed);
                        let us = late.as_micros() as u64;
                        s.late_sum_us.fetch_add(us, Ordering::Relaxed);
                        s.late_max_us.fetch_max(us, Ordering::Relaxed);
                        if late > LATE {
                            s.late_over.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    q = match s.queue.lock() {
                        Ok(q) => q,
                        Err(_) => return,
                    };
                }
            }
            Some(due) => {
                q = match s.ready.wait_timeout(q, (due - now).min(TICK)) {
                    Ok((q, _)) => q,
                    Err(_) => return,
                };
            }
            None => {
                q = match s.ready.wait_timeout(q, TICK) {
                    Ok((q, _)) => q,
                    Err(_) => return,
                };
            }
        }
    }
}

/// Client → TURN: one upstream socket (and reader thread) per client.
fn front_loop(s: &Arc<Shared>, front: &Arc<UdpSocket>, upstream: SocketAddr) {
    let mut clients: HashMap<SocketAddr, Arc<UdpSocket>> = HashMap::new();
    let mut readers: Vec<JoinHandle<()>> = Vec::new();
    let mut buf = vec![0u8; 65536];
    while !s.stop.load(Ordering::SeqCst) {
        let (n, from) = match front.recv_from(&mut buf) {
            Ok(x) => x,
            Err(_) => continue,
        };
        let up = match clients.get(&from) {
            Some(u) => u.clone(),
            None => {
                if clients.len() >= CLIENTS_MAX {
                    continue;
                }
                let Some(u) = UdpSocket::bind("127.0.0.1:0").ok().filter(|u| u.set_read_timeout(Some(TICK)).is_ok())
                else {
                    continue;
                };
                let u = Arc::new(u);
                let (s2, u2, f2) = (s.clone(), u.clone(), front.clone());
                if let Ok(h) = thread::Builder::new().name("relay-up".into()).spawn(move || upstream_loop(&s2, &u2, &f2, from)) {
                    readers.push(h);
                }
                clients.insert(from, u.clone());
                u
            }
        };
        s.push(&up, upstream, &buf[..n], Some(from));
    }
    for r in readers {
        let _ = r.join();
    }
}

/// TURN → client, from the client's upstream socket.
fn upstream_loop(s: &Shared, up: &UdpSocket, front: &Arc<UdpSocket>, client: SocketAddr) {
    let mut buf = vec![0u8; 65536];
    while !s.stop.load(Ordering::SeqCst) {
        if let Ok((n, _)) = up.recv_from(&mut buf) {
            s.push(front, client, &buf[..n], None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A UDP echo server on 127.0.0.1: its address, its stop flag, its
    /// thread.
    fn echo_server() -> (SocketAddr, Arc<AtomicBool>, thread::JoinHandle<()>) {
        let echo = UdpSocket::bind("127.0.0.1:0").unwrap();
        let echo_addr = echo.local_addr().unwrap();
        echo.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let t = thread::spawn(move || {
            let mut b = [0u8; 1500];
            while !stop2.load(Ordering::SeqCst) {
                if let Ok((n, from)) = echo.recv_from(&mut b) {
                    let _ = echo.send_to(&b[..n], from);
                }
            }
        });
        (echo_addr, stop, t)
    }

    /// An echo server behind the relay: delay added, outage drops.
    #[test]
    fn relays_with_delay_and_outage() {
        let (echo_addr, stop, t) = echo_server();
        let relay = Relay::start(echo_addr, Impairment { delay: Duration::from_millis(30), loss: 0.0 }).unwrap();
        let c = UdpSocket::bind("127.0.0.1:0").unwrap();
        c.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
        let t0 = Instant::now();
        c.send_to(b"ping", ("127.0.0.1", relay.port())).unwrap();
        let mut b = [0u8; 16];
        let (n, _) = c.recv_from(&mut b).unwrap();
        assert_eq!(&b[..n], b"ping");
        assert!(t0.elapsed() >= Duration::from_millis(60), "two traversals of 30 ms");
        relay.set_blocked(true);
        c.send_to(b"lost", ("127.0.0.1", relay.port())).unwrap();
        assert!(c.recv_from(&mut b).is_err(), "nothing passes during an outage");
        relay.set_blocked(false);
        c.send_to(b"back", ("127.0.0.1", relay.port())).unwrap();
        let (n, _) = c.recv_from(&mut b).unwrap();
        assert_eq!(&b[..n], b"back");
        drop(relay);
        stop.store(true, Ordering::SeqCst);
        t.join().unwrap();
    }

    /// Shaped: the client's packets towards the server wait its link's
    /// delay, the answers come straight back, and the link counts them.
    #[test]
    fn shapes_the_uplink() {
        use crate::shaper::Settings;
        let (echo_addr, stop, t) = echo_server();
        let s = Settings { delay: Duration::from_millis(40), ..Settings::rate(1_000_000) };
        let relay = Relay::start_shaped(echo_addr, Profile::constant(s)).unwrap();
        assert!(relay.start_profile());
        let c = UdpSocket::bind("127.0.0.1:0").unwrap();
        c.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
        let mut b = [0u8; 16];
        for _ in 0..3 {
            let t0 = Instant::now();
            c.send_to(b"ping", ("127.0.0.1", relay.port())).unwrap();
            let (n, _) = c.recv_from(&mut b).unwrap();
            assert_eq!(&b[..n], b"ping");
            let rtt = t0.elapsed();
            assert!(rtt >= Duration::from_millis(40) && rtt < Duration::from_millis(400), "{rtt:?}");
        }
        // The profile's steps count from start_profile, not from the
        // relay's start: a call set up and warmed up first sees step 0.
        drop(relay);
        let later = Settings { delay: Duration::from_millis(250), ..Settings::CLEAN };
        let p = Profile::new(vec![(Duration::ZERO, Settings::CLEAN), (Duration::from_millis(100), later)]).unwrap();
        let relay = Relay::start_shaped(echo_addr, p).unwrap();
        let ping = |relay: &Relay| {
            let t0 = Instant::now();
            c.send_to(b"ping", ("127.0.0.1", relay.port())).unwrap();
            let mut b = [0u8; 16];
            c.recv_from(&mut b).unwrap();
            t0.elapsed()
        };
        thread::sleep(Duration::from_millis(200));
        assert!(ping(&relay) < Duration::from_millis(200), "before the profile starts, its first step holds");
        assert!(relay.start_profile());
        thread::sleep(Duration::from_millis(200));
        assert!(ping(&relay) >= Duration::from_millis(250), "then its steps follow");
        c.send_to(b"ping", ("127.0.0.1", relay.port())).unwrap();
        let (n, _) = c.recv_from(&mut b).unwrap();
        assert_eq!(&b[..n], b"ping");
        let links = relay.link_counts();
        assert_eq!(links.len(), 1);
        assert_eq!(links[0].0, c.local_addr().unwrap());
        assert_eq!((links[0].1.delivered, links[0].1.delivered_bytes), (3, 12));
        let (mean, worst, _) = relay.lateness();
        assert!(mean <= worst && worst < Duration::from_secs(1));
        drop(relay);
        stop.store(true, Ordering::SeqCst);
        t.join().unwrap();
    }
}
