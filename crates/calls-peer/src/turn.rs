//! Candidate gathering beyond the host address: a STUN Binding probe
//! (server-reflexive address) and a minimal TURN/UDP client holding one
//! relay allocation. str0m itself does no gathering; these hand it the
//! addresses (`Candidate::server_reflexive`, `Candidate::relayed`), and the
//! run loop wraps and unwraps the relayed traffic.
//!
//! Sans-IO like str0m: methods take the time and return datagrams to send
//! to the server.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::time::{Duration, Instant};

use call_core::ice::IceServer;

use crate::stun::*;

/// First retransmission; doubled each time (RFC 5389 RTO, shortened).
const RTO: Duration = Duration::from_millis(300);
const MAX_TRIES: u32 = 5;
/// Permissions last 300 s on the server; refreshed before.
const PERMISSION_REFRESH: Duration = Duration::from_secs(240);

/// One usable server address from the `iceServers` JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    pub url: String,
    pub addr: SocketAddr,
    /// `Some((username, credential))` for TURN.
    pub turn: Option<(String, String)>,
}

/// Turns the validated `iceServers` into addresses this client can use
/// (UDP STUN and TURN, of the family of `local`). The rest is skipped with
/// a reason (for the log): TLS/TCP transports, unresolvable names.
pub fn resolve_servers(servers: &[IceServer], local: IpAddr) -> (Vec<Server>, Vec<String>) {
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    for s in servers {
        for url in &s.urls {
            match resolve_url(url, s, local) {
                Ok(srv) => {
                    if !out.contains(&srv) {
                        out.push(srv);
                    }
                }
                Err(why) => skipped.push(format!("{url}: {why}")),
            }
        }
    }
    (out, skipped)
}

fn resolve_url(url: &str, s: &IceServer, local: IpAddr) -> Result<Server, String> {
    let (scheme, rest) = url.split_once(':').ok_or("no scheme")?;
    let turn = match scheme {
        "stun" => None,
        "turn" => {
            let user = s
                .username
                .clone()
                .filter(|u| !u.is_empty())
                .ok_or("TURN without username")?;
            let pass = s.credential.clone().ok_or("TURN without credential")?;
            Some((user, pass))
        }
        "stuns" | "turns" => return Err("TLS transports are not supported (UDP only)".into()),
        _ => return Err("unknown scheme".into()),
    };
    let (host_port, query) = rest.split_once('?').unwrap_or((rest, ""));
    if !query.is_empty() && query != "transport=udp" {
        return Err(format!("{query} is not supported (UDP only)"));
    }
    let (host, port) = if let Some(v6) = host_port.strip_prefix('[') {
        let (h, after) = v6.split_once(']').ok_or("bad IPv6 literal")?;
        (h, after.strip_prefix(':'))
    } else {
        match host_port.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host_port, None),
        }
    };
    let port: u16 = match port {
        Some(p) => p.parse().map_err(|_| "bad port")?,
        None => 3478,
    };
    let addr = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve: {e}"))?
        .find(|a| a.is_ipv4() == local.is_ipv4())
        .ok_or("no address of the local family")?;
    Ok(Server {
        url: url.to_string(),
        addr,
        turn,
    })
}

/// A STUN Binding request to learn the server-reflexive address.
pub struct StunProbe {
    pub server: SocketAddr,
    txid: TxId,
    next: Instant,
    tries: u32,
    pub done: bool,
}

impl StunProbe {
    pub fn new(server: SocketAddr, now: Instant) -> StunProbe {
        StunProbe {
            server,
            txid: new_txid(),
            next: now,
            tries: 0,
            done: false,
        }
    }

    /// The request to (re)send now, if any.
    pub fn poll(&mut self, now: Instant) -> Option<Vec<u8>> {
        if self.done || now < self.next {
            return None;
        }
        if self.tries >= MAX_TRIES {
            self.done = true;
            return None;
        }
        self.next = now + RTO * 2u32.pow(self.tries);
        self.tries += 1;
        Some(Builder::new(BINDING_REQUEST, &self.txid).finish(None))
    }

    pub fn next_timeout(&self) -> Option<Instant> {
        (!self.done).then_some(self.next)
    }

    /// The mapped address, if `m` answers this probe.
    pub fn handle(&mut self, m: &Message) -> Option<SocketAddr> {
        if self.done || m.txid != self.txid || m.typ != BINDING_SUCCESS {
            return None;
        }
        self.done = true;
        m.xor_addr(ATTR_XOR_MAPPED_ADDRESS).or_else(|| m.mapped_addr())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Req {
    Allocate,
    Refresh(u32),
    Permission(IpAddr),
}

struct Pending {
    txid: TxId,
    req: Req,
    bytes: Vec<u8>,
    next: Instant,
    tries: u32,
}

/// What the TURN client has to report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TurnEvent {
    /// The relay address, and our address as the server saw it.
    Allocated {
        relay: SocketAddr,
        mapped: Option<SocketAddr>,
    },
    Failed(String),
    /// A datagram from `peer` arrived through the relay.
    Data {
        peer: SocketAddr,
        data: Vec<u8>,
    },
}

/// One TURN/UDP allocation.
pub struct TurnClient {
    pub server: SocketAddr,
    user: String,
    pass: String,
    realm: Option<String>,
    nonce: Option<String>,
    key: Option<[u8; 16]>,
    pending: Vec<Pending>,
    pub relay: Option<SocketAddr>,
    refresh_at: Option<Instant>,
    perms: HashMap<IpAddr, Instant>,
    pub failed: bool,
    auth_tries: u32,
}

impl TurnClient {
    pub fn new(server: SocketAddr, user: String, pass: String) -> TurnClient {
        TurnClient {
            server,
            user,
            pass,
            realm: None,
            nonce: None,
            key: None,
            pending: Vec::new(),
            relay: None,
            refresh_at: None,
            perms: HashMap::new(),
            failed: false,
            auth_tries: 0,
        }
    }

    /// Starts the allocation; returns the first request.
    pub fn start(&mut self, now: Instant) -> Vec<u8> {
        self.request(Req::Allocate, now)
    }

    fn request(&mut self, req: Req, now: Instant) -> Vec<u8> {
        let txid = new_txid();
        let typ = match req {
            Req::Allocate => ALLOCATE_REQUEST,
            Req::Refresh(_) => REFRESH_REQUEST,
            Req::Permission(_) => CREATE_PERMISSION_REQUEST,
        };
        let mut b = Builder::new(typ, &txid);
        match req {
            // REQUESTED-TRANSPORT: UDP (17) in the first byte.
            Req::Allocate => b = b.attr(ATTR_REQUESTED_TRANSPORT, &[17, 0, 0, 0]),
            Req::Refresh(l) => b = b.attr(ATTR_LIFETIME, &l.to_be_bytes()),
            Req::Permission(ip) => b = b.xor_addr(ATTR_XOR_PEER_ADDRESS, SocketAddr::new(ip, 0)),
        }
        if let (Some(realm), Some(nonce)) = (&self.realm, &self.nonce) {
            b = b
                .attr(ATTR_USERNAME, self.user.as_bytes())
                .attr(ATTR_REALM, realm.as_bytes())
                .attr(ATTR_NONCE, nonce.as_bytes());
        }
        let bytes = b.finish(self.key.as_ref().map(|k| &k[..]));
        self.pending.retain(|p| p.req != req);
        self.pending.push(Pending {
            txid,
            req,
            bytes: bytes.clone(),
            next: now + RTO,
            tries: 1,
        });
        bytes
    }

    /// Retransmissions and refreshes due at `now`.
    pub fn poll(&mut self, now: Instant) -> (Option<TurnEvent>, Vec<Vec<u8>>) {
        let mut out = Vec::new();
        let mut event = None;
        let mut gave_up = Vec::new();
        for p in &mut self.pending {
            if now >= p.next {
                if p.tries >= MAX_TRIES {
                    gave_up.push(p.req);
                    continue;
                }
                p.next = now + RTO * 2u32.pow(p.tries);
                p.tries += 1;
                out.push(p.bytes.clone());
            }
        }
        self.pending.retain(|p| !gave_up.contains(&p.req));
        for req in gave_up {
            match req {
                Req::Allocate => {
                    self.failed = true;
                    event = Some(TurnEvent::Failed(format!("no answer from TURN server {}", self.server)));
                }
                Req::Permission(ip) => {
                    self.perms.remove(&ip);
                }
                Req::Refresh(_) => {}
            }
        }
        if self.refresh_at.is_some_and(|t| now >= t) {
            self.refresh_at = Some(now + Duration::from_secs(60));
            out.push(self.request(Req::Refresh(600), now));
        }
        let due: Vec<IpAddr> = self
            .perms
            .iter()
            .filter(|(_, t)| now >= **t)
            .map(|(ip, _)| *ip)
            .collect();
        for ip in due {
            self.perms.insert(ip, now + PERMISSION_REFRESH);
            out.push(self.request(Req::Permission(ip), now));
        }
        (event, out)
    }

    pub fn next_timeout(&self) -> Option<Instant> {
        let p = self.pending.iter().map(|p| p.next).min();
        let perms = self.perms.values().min().copied();
        [p, perms, self.refresh_at].into_iter().flatten().min()
    }

    /// A datagram from the server.
    pub fn handle(&mut self, m: &Message, now: Instant) -> (Option<TurnEvent>, Vec<Vec<u8>>) {
        if m.typ == DATA_INDICATION {
            // Indications carry no integrity; they come from the server's
            // address, which is all TURN offers here.
            return match (m.xor_addr(ATTR_XOR_PEER_ADDRESS), m.get(ATTR_DATA)) {
                (Some(peer), Some(data)) => (
                    Some(TurnEvent::Data {
                        peer,
                        data: data.to_vec(),
                    }),
                    vec![],
                ),
                _ => (None, vec![]),
            };
        }
        let Some(idx) = self.pending.iter().position(|p| p.txid == m.txid) else {
            return (None, vec![]);
        };
        // Responses to authenticated requests must carry our integrity.
        if let Some(key) = &self.key {
            if m.get(ATTR_MESSAGE_INTEGRITY).is_some() && !m.integrity_ok(key) {
                return (None, vec![]);
            }
        }
        let req = self.pending.remove(idx).req;
        let class_error = m.typ & 0x0110 == 0x0110;
        if class_error {
            let (code, reason) = m.error().unwrap_or((0, String::new()));
            if (code == 401 || code == 438) && self.auth_tries < 3 {
                self.auth_tries += 1;
                if let Some(r) = m.text(ATTR_REALM) {
                    self.realm = Some(r);
                }
                if let Some(n) = m.text(ATTR_NONCE) {
                    self.nonce = Some(n);
                }
                if let Some(realm) = &self.realm {
                    self.key = Some(long_term_key(&self.user, realm, &self.pass));
                }
                return (None, vec![self.request(req, now)]);
            }
            return match req {
                Req::Allocate => {
                    self.failed = true;
                    (
                        Some(TurnEvent::Failed(format!("TURN allocation refused: {code} {reason}"))),
                        vec![],
                    )
                }
                Req::Permission(ip) => {
                    self.perms.remove(&ip);
                    (None, vec![])
                }
                Req::Refresh(_) => (None, vec![]),
            };
        }
        self.auth_tries = 0;
        match (req, m.typ) {
            (Req::Allocate, ALLOCATE_SUCCESS) => {
                let Some(relay) = m.xor_addr(ATTR_XOR_RELAYED_ADDRESS) else {
                    self.failed = true;
                    return (
                        Some(TurnEvent::Failed("TURN allocation without relay address".into())),
                        vec![],
                    );
                };
                let lifetime = m.lifetime().unwrap_or(600).clamp(60, 3600);
                self.refresh_at = Some(now + Duration::from_secs(u64::from(lifetime) / 2));
                self.relay = Some(relay);
                let mapped = m.xor_addr(ATTR_XOR_MAPPED_ADDRESS);
                (Some(TurnEvent::Allocated { relay, mapped }), vec![])
            }
            (Req::Refresh(_), REFRESH_SUCCESS) => {
                let lifetime = m.lifetime().unwrap_or(600).clamp(60, 3600);
                self.refresh_at = Some(now + Duration::from_secs(u64::from(lifetime) / 2));
                (None, vec![])
            }
            _ => (None, vec![]),
        }
    }

    /// Wraps a datagram for `peer` into a Send indication, asking for a
    /// permission first when there is none yet.
    pub fn send_to(&mut self, peer: SocketAddr, data: &[u8], now: Instant) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        if self.relay.is_none() {
            return out;
        }
        if let std::collections::hash_map::Entry::Vacant(e) = self.perms.entry(peer.ip()) {
            e.insert(now + PERMISSION_REFRESH);
            out.push(self.request(Req::Permission(peer.ip()), now));
        }
        out.push(
            Builder::new(SEND_INDICATION, &new_txid())
                .xor_addr(ATTR_XOR_PEER_ADDRESS, peer)
                .attr(ATTR_DATA, data)
                .finish(None),
        );
        out
    }

    /// Releases the allocation (Refresh with lifetime 0), if there is one.
    pub fn close(&mut self, now: Instant) -> Option<Vec<u8>> {
        self.relay?;
        self.refresh_at = None;
        let m = self.request(Req::Refresh(0), now);
        self.relay = None;
        Some(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(json: &str) -> (Vec<Server>, Vec<String>) {
        let (s, _) = call_core::ice::parse_ice_servers(json).unwrap();
        resolve_servers(&s, "192.0.2.2".parse().unwrap())
    }

    #[test]
    fn resolves_udp_servers_only() {
        let (s, skipped) = server(
            r#"[{"urls":["turn:127.0.0.1:3478?transport=udp","turns:127.0.0.1:443?transport=tcp","turn:127.0.0.1?transport=tcp"],"username":"u","credential":"p"},{"urls":"stun:127.0.0.1:9"}]"#,
        );
        assert_eq!(s.len(), 2, "{s:?}");
        assert_eq!(s[0].addr, "127.0.0.1:3478".parse().unwrap());
        assert_eq!(s[0].turn, Some(("u".into(), "p".into())));
        assert_eq!(s[1].addr, "127.0.0.1:9".parse().unwrap());
        assert_eq!(s[1].turn, None);
        assert_eq!(skipped.len(), 2);
    }

    #[test]
    fn allocation_with_auth_challenge() {
        let now = Instant::now();
        let mut t = TurnClient::new("127.0.0.1:3478".parse().unwrap(), "u".into(), "p".into());
        let first = t.start(now);
        let req = Message::parse(&first).unwrap();
        assert_eq!(req.typ, ALLOCATE_REQUEST);
        // 401 with realm and nonce
        let resp = Builder::new(ALLOCATE_ERROR, &req.txid)
            .attr(ATTR_ERROR_CODE, &[0, 0, 4, 1])
            .attr(ATTR_REALM, b"calls.test")
            .attr(ATTR_NONCE, b"n0nce")
            .finish(None);
        let (ev, out) = t.handle(&Message::parse(&resp).unwrap(), now);
        assert_eq!(ev, None);
        let req2 = Message::parse(&out[0]).unwrap();
        let key = long_term_key("u", "calls.test", "p");
        assert!(req2.integrity_ok(&key));
        assert_eq!(req2.text(ATTR_NONCE).as_deref(), Some("n0nce"));
        let relay: SocketAddr = "127.0.0.1:50000".parse().unwrap();
        let ok = Builder::new(ALLOCATE_SUCCESS, &req2.txid)
            .xor_addr(ATTR_XOR_RELAYED_ADDRESS, relay)
            .xor_addr(ATTR_XOR_MAPPED_ADDRESS, "192.0.2.2:4000".parse().unwrap())
            .attr(ATTR_LIFETIME, &600u32.to_be_bytes())
            .finish(Some(&key));
        let (ev, _) = t.handle(&Message::parse(&ok).unwrap(), now);
        assert_eq!(
            ev,
            Some(TurnEvent::Allocated {
                relay,
                mapped: Some("192.0.2.2:4000".parse().unwrap())
            })
        );
        // Sending asks for a permission once.
        let peer: SocketAddr = "192.0.2.3:5000".parse().unwrap();
        assert_eq!(t.send_to(peer, b"x", now).len(), 2);
        assert_eq!(t.send_to(peer, b"y", now).len(), 1);
        // A Data indication comes out as data from the peer.
        let di = Builder::new(DATA_INDICATION, &new_txid())
            .xor_addr(ATTR_XOR_PEER_ADDRESS, peer)
            .attr(ATTR_DATA, b"pong")
            .finish(None);
        let (ev, _) = t.handle(&Message::parse(&di).unwrap(), now);
        assert_eq!(
            ev,
            Some(TurnEvent::Data {
                peer,
                data: b"pong".to_vec()
            })
        );
    }

    #[test]
    fn allocation_gives_up() {
        let now = Instant::now();
        let mut t = TurnClient::new("127.0.0.1:3478".parse().unwrap(), "u".into(), "p".into());
        t.start(now);
        let mut failed = false;
        let mut at = now;
        for _ in 0..20 {
            at += Duration::from_secs(10);
            if let (Some(TurnEvent::Failed(_)), _) = t.poll(at) {
                failed = true;
            }
        }
        assert!(failed && t.failed);
    }
}
