//! TURN for the tests: a real coturn on 127.0.0.1, and two kinds of dead
//! TURN server (a closed port and a black hole).

use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::{err, Result, TempDir};

pub const TURN_USER: &str = "test";
pub const TURN_PASSWORD: &str = "secret";
pub const TURN_REALM: &str = "calls.test";

/// The coturn binary: `$TURNSERVER`, else the first `turnserver` found in
/// the usual places.
pub fn turnserver_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("TURNSERVER") {
        return Some(PathBuf::from(p)).filter(|p| p.is_file());
    }
    ["/usr/bin/turnserver", "/usr/sbin/turnserver", "/usr/local/bin/turnserver"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

/// The `iceServers` JSON for one TURN URL with credentials.
pub fn turn_ice_servers(url: &str, user: &str, password: &str) -> String {
    serde_json::json!([{ "urls": [url], "username": user, "credential": password }]).to_string()
}

/// A port that is free on 127.0.0.1 for both UDP and TCP (at the moment
/// of asking).
pub fn free_port() -> Result<u16> {
    for _ in 0..50 {
        let udp = UdpSocket::bind("127.0.0.1:0")?;
        let port = udp.local_addr()?.port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    err("no port free for both UDP and TCP on 127.0.0.1")
}

/// A relay port range for one coturn instance, distinct from the other
/// instances of this process (and, by the pid, likely of others), below the
/// kernel's ephemeral range.
fn relay_range() -> (u16, u16) {
    static N: AtomicU32 = AtomicU32::new(0);
    const SIZE: u32 = 40;
    const BASE: u32 = 12000;
    const SLOTS: u32 = (32000 - BASE) / SIZE;
    let slot = (std::process::id().wrapping_mul(7) + N.fetch_add(1, Ordering::Relaxed)) % SLOTS;
    let lo = BASE + slot * SIZE;
    (lo as u16, (lo + SIZE - 1) as u16)
}

/// A coturn process, killed on drop.
pub struct Turn {
    child: Child,
    port: u16,
    log: Arc<Mutex<String>>,
    _dir: TempDir,
}

impl Turn {
    /// Starts coturn on 127.0.0.1 with long-term credentials
    /// `test:secret` and waits (bounded) until it answers STUN.
    pub fn start() -> Result<Turn> {
        let auth = ["--lt-cred-mech", "--user", &format!("{TURN_USER}:{TURN_PASSWORD}")].map(String::from);
        Turn::start_with_auth(&auth)
    }

    /// Starts coturn with REST credentials, as chatmail relays run it
    /// (`--use-auth-secret`): a client's username is an expiry timestamp
    /// and its password base64(HMAC-SHA1(`secret`, username)).
    pub fn start_rest(secret: &str) -> Result<Turn> {
        Turn::start_with_auth(&["--use-auth-secret".into(), format!("--static-auth-secret={secret}")])
    }

    fn start_with_auth(auth: &[String]) -> Result<Turn> {
        let Some(bin) = turnserver_path() else {
            return err("coturn (`turnserver`) is not installed: apt-get install coturn");
        };
        let mut last = String::new();
        // A port can be taken between asking and binding: try a few.
        for _ in 0..3 {
            match Turn::start_once(&bin, auth) {
                Ok(t) => return Ok(t),
                Err(e) => last = e.0,
            }
        }
        err(last)
    }

    fn start_once(bin: &Path, auth: &[String]) -> Result<Turn> {
        let dir = TempDir::new("testhost-turn")?;
        let port = free_port()?;
        let (min, max) = relay_range();
        let mut child = crate::die_with_parent(&mut Command::new(bin))
            .args(["-n", "--listening-ip", "127.0.0.1", "--relay-ip", "127.0.0.1"])
            .args(["--listening-port", &port.to_string()])
            .args(["--min-port", &min.to_string(), "--max-port", &max.to_string()])
            .args(auth)
            .args(["--realm", TURN_REALM])
            .args(["--allow-loopback-peers", "--no-cli", "--no-tls", "--no-dtls", "--fingerprint"])
            .args(["--log-file", "stdout", "--simple-log"])
            .arg("--pidfile")
            .arg(dir.path().join("turnserver.pid"))
            .arg("--userdb")
            .arg(dir.path().join("turndb"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| crate::Error(format!("cannot start {}: {e}", bin.display())))?;
        let log = Arc::new(Mutex::new(String::new()));
        for pipe in [child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>),
                     child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>)]
            .into_iter()
            .flatten()
        {
            let log = log.clone();
            thread::spawn(move || {
                for line in BufReader::new(pipe).lines() {
                    let Ok(line) = line else { break };
                    if let Ok(mut l) = log.lock() {
                        // Bounded: coturn logs every allocation.
                        if l.len() < 256 * 1024 {
                            l.push_str(&line);
                            l.push('\n');
                        }
                    }
                }
            });
        }
        let turn = Turn { child, port, log, _dir: dir };
        turn.wait_ready(Duration::from_secs(10))?;
        Ok(turn)
    }

    /// Polls with STUN binding requests until coturn answers.
    fn wait_ready(&self, timeout: Duration) -> Result<()> {
        let sock = UdpSocket::bind("127.0.0.1:0")?;
        sock.set_read_timeout(Some(Duration::from_millis(100)))?;
        let deadline = Instant::now() + timeout;
        let req = stun_binding_request();
        let mut buf = [0u8; 1500];
        while Instant::now() < deadline {
            let _ = sock.send_to(&req, ("127.0.0.1", self.port));
            if let Ok((n, _)) = sock.recv_from(&mut buf) {
                // Binding success response with our transaction id.
                if n >= 20 && buf[0] == 0x01 && buf[1] == 0x01 && buf[8..20] == req[8..20] {
                    return Ok(());
                }
            }
        }
        err(format!("coturn did not answer STUN on 127.0.0.1:{} within {timeout:?}; log:\n{}", self.port, self.log()))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `turn:127.0.0.1:PORT?transport=udp`.
    pub fn url(&self) -> String {
        format!("turn:127.0.0.1:{}?transport=udp", self.port)
    }

    /// `iceServers` JSON with this server and its credentials.
    pub fn ice_servers(&self) -> String {
        turn_ice_servers(&self.url(), TURN_USER, TURN_PASSWORD)
    }

    /// What coturn logged so far.
    pub fn log(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A STUN Binding request (RFC 5389) with a fresh transaction id.
fn stun_binding_request() -> [u8; 20] {
    let mut m = [0u8; 20];
    m[0..2].copy_from_slice(&0x0001u16.to_be_bytes());
    m[4..8].copy_from_slice(&0x2112_A442u32.to_be_bytes());
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64);
    let t = nanos.unwrap_or(0) ^ u64::from(std::process::id()).rotate_left(32);
    m[8..16].copy_from_slice(&t.to_be_bytes());
    m[16..20].copy_from_slice(&N.fetch_add(1, Ordering::Relaxed).to_be_bytes());
    m
}

/// A UDP port on 127.0.0.1 where nothing listens: packets to it bounce with
/// ICMP port unreachable. (Bound, noted, released.)
pub fn closed_udp_port() -> Result<u16> {
    let s = UdpSocket::bind("127.0.0.1:0")?;
    let port = s.local_addr()?.port();
    drop(s);
    Ok(port)
}

/// `iceServers` JSON for a TURN server on a closed port.
pub fn closed_port_ice_servers() -> Result<String> {
    Ok(turn_ice_servers(&format!("turn:127.0.0.1:{}?transport=udp", closed_udp_port()?), TURN_USER, TURN_PASSWORD))
}

/// A UDP socket that is held open and never answers: a TURN server whose
/// packets disappear (a firewall dropping them, a dead host).
pub struct BlackHole {
    sock: UdpSocket,
}

impl BlackHole {
    pub fn new() -> Result<BlackHole> {
        Ok(BlackHole { sock: UdpSocket::bind("127.0.0.1:0")? })
    }

    pub fn port(&self) -> u16 {
        self.sock.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// `iceServers` JSON pointing TURN at the black hole.
    pub fn ice_servers(&self) -> String {
        turn_ice_servers(&format!("turn:127.0.0.1:{}?transport=udp", self.port()), TURN_USER, TURN_PASSWORD)
    }
}
