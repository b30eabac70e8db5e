//! STUN (RFC 5389) and TURN (RFC 5766) messages: just what a client needs
//! to learn its server-reflexive address and to hold one UDP relay
//! allocation (Allocate, Refresh, CreatePermission, Send and Data
//! indications), with long-term credentials.
//!
//! Everything received is untrusted: parsing never panics and refuses
//! truncated or inconsistent messages.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::hash::{crc32, hmac_sha1, md5};

pub const MAGIC: u32 = 0x2112_A442;

pub const BINDING_REQUEST: u16 = 0x0001;
pub const BINDING_SUCCESS: u16 = 0x0101;
pub const ALLOCATE_REQUEST: u16 = 0x0003;
pub const ALLOCATE_SUCCESS: u16 = 0x0103;
pub const ALLOCATE_ERROR: u16 = 0x0113;
pub const REFRESH_REQUEST: u16 = 0x0004;
pub const REFRESH_SUCCESS: u16 = 0x0104;
pub const REFRESH_ERROR: u16 = 0x0114;
pub const CREATE_PERMISSION_REQUEST: u16 = 0x0008;
pub const CREATE_PERMISSION_SUCCESS: u16 = 0x0108;
pub const CREATE_PERMISSION_ERROR: u16 = 0x0118;
pub const SEND_INDICATION: u16 = 0x0016;
pub const DATA_INDICATION: u16 = 0x0017;

pub const ATTR_MAPPED_ADDRESS: u16 = 0x0001;
pub const ATTR_USERNAME: u16 = 0x0006;
pub const ATTR_MESSAGE_INTEGRITY: u16 = 0x0008;
pub const ATTR_ERROR_CODE: u16 = 0x0009;
pub const ATTR_LIFETIME: u16 = 0x000D;
pub const ATTR_XOR_PEER_ADDRESS: u16 = 0x0012;
pub const ATTR_DATA: u16 = 0x0013;
pub const ATTR_REALM: u16 = 0x0014;
pub const ATTR_NONCE: u16 = 0x0015;
pub const ATTR_XOR_RELAYED_ADDRESS: u16 = 0x0016;
pub const ATTR_REQUESTED_TRANSPORT: u16 = 0x0019;
pub const ATTR_XOR_MAPPED_ADDRESS: u16 = 0x0020;
pub const ATTR_SOFTWARE: u16 = 0x8022;
pub const ATTR_FINGERPRINT: u16 = 0x8028;

pub type TxId = [u8; 12];

/// A fresh transaction id (not cryptographic; it only has to be unique).
pub fn new_txid() -> TxId {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let mut seed = nanos ^ (u64::from(std::process::id()) << 40) ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut t = [0u8; 12];
    for chunk in t.chunks_mut(4) {
        // xorshift64*
        seed ^= seed >> 12;
        seed ^= seed << 25;
        seed ^= seed >> 27;
        let v = seed.wrapping_mul(0x2545_F491_4F6C_DD1D);
        chunk.copy_from_slice(&v.to_be_bytes()[..4]);
    }
    t
}

/// Is this datagram a STUN message (first two bits 0, magic cookie)?
pub fn is_stun(b: &[u8]) -> bool {
    b.len() >= 20 && b[0] & 0xC0 == 0 && b[4..8] == MAGIC.to_be_bytes()
}

/// A message being built.
pub struct Builder {
    buf: Vec<u8>,
}

impl Builder {
    pub fn new(typ: u16, txid: &TxId) -> Builder {
        let mut buf = Vec::with_capacity(128);
        buf.extend_from_slice(&typ.to_be_bytes());
        buf.extend_from_slice(&[0, 0]);
        buf.extend_from_slice(&MAGIC.to_be_bytes());
        buf.extend_from_slice(txid);
        Builder { buf }
    }

    fn set_len(&mut self, extra: usize) {
        let len = (self.buf.len() - 20 + extra) as u16;
        self.buf[2..4].copy_from_slice(&len.to_be_bytes());
    }

    pub fn attr(mut self, typ: u16, value: &[u8]) -> Builder {
        self.buf.extend_from_slice(&typ.to_be_bytes());
        self.buf.extend_from_slice(&(value.len() as u16).to_be_bytes());
        self.buf.extend_from_slice(value);
        while !self.buf.len().is_multiple_of(4) {
            self.buf.push(0);
        }
        self.set_len(0);
        self
    }

    pub fn xor_addr(self, typ: u16, addr: SocketAddr) -> Builder {
        let txid: TxId = self.buf[8..20].try_into().unwrap_or([0; 12]);
        let v = encode_xor_addr(addr, &txid);
        self.attr(typ, &v)
    }

    /// Appends MESSAGE-INTEGRITY (HMAC-SHA1 with `key`) and FINGERPRINT.
    pub fn finish(mut self, key: Option<&[u8]>) -> Vec<u8> {
        if let Some(key) = key {
            self.set_len(24);
            let mac = hmac_sha1(key, &self.buf);
            self = self.attr(ATTR_MESSAGE_INTEGRITY, &mac);
        }
        self.set_len(8);
        let fp = crc32(&self.buf) ^ 0x5354_554E;
        self.attr(ATTR_FINGERPRINT, &fp.to_be_bytes()).buf
    }
}

fn encode_xor_addr(addr: SocketAddr, txid: &TxId) -> Vec<u8> {
    let port = addr.port() ^ (MAGIC >> 16) as u16;
    let mut v = vec![0u8];
    match addr.ip() {
        IpAddr::V4(ip) => {
            v.push(1);
            v.extend_from_slice(&port.to_be_bytes());
            let x = u32::from(ip) ^ MAGIC;
            v.extend_from_slice(&x.to_be_bytes());
        }
        IpAddr::V6(ip) => {
            v.push(2);
            v.extend_from_slice(&port.to_be_bytes());
            let mut mask = [0u8; 16];
            mask[..4].copy_from_slice(&MAGIC.to_be_bytes());
            mask[4..].copy_from_slice(txid);
            for (o, m) in ip.octets().iter().zip(mask) {
                v.push(o ^ m);
            }
        }
    }
    v
}

/// A received message.
#[derive(Debug, Clone)]
pub struct Message<'a> {
    pub typ: u16,
    pub txid: TxId,
    raw: &'a [u8],
    /// (type, value, offset of the attribute header in `raw`)
    attrs: Vec<(u16, &'a [u8], usize)>,
}

impl<'a> Message<'a> {
    pub fn parse(b: &'a [u8]) -> Option<Message<'a>> {
        if !is_stun(b) {
            return None;
        }
        let len = u16::from_be_bytes([b[2], b[3]]) as usize;
        if !len.is_multiple_of(4) || b.len() < 20 + len {
            return None;
        }
        let b = &b[..20 + len];
        let typ = u16::from_be_bytes([b[0], b[1]]);
        let txid: TxId = b[8..20].try_into().ok()?;
        let mut attrs = Vec::new();
        let mut i = 20;
        while i + 4 <= b.len() {
            let t = u16::from_be_bytes([b[i], b[i + 1]]);
            let l = u16::from_be_bytes([b[i + 2], b[i + 3]]) as usize;
            let v = b.get(i + 4..i + 4 + l)?;
            attrs.push((t, v, i));
            i += 4 + l.div_ceil(4) * 4;
        }
        Some(Message {
            typ,
            txid,
            raw: b,
            attrs,
        })
    }

    pub fn get(&self, typ: u16) -> Option<&'a [u8]> {
        self.attrs.iter().find(|a| a.0 == typ).map(|a| a.1)
    }

    pub fn text(&self, typ: u16) -> Option<String> {
        self.get(typ)
            .and_then(|v| std::str::from_utf8(v).ok())
            .map(str::to_string)
    }

    pub fn xor_addr(&self, typ: u16) -> Option<SocketAddr> {
        let v = self.get(typ)?;
        if v.len() < 8 {
            return None;
        }
        let port = u16::from_be_bytes([v[2], v[3]]) ^ (MAGIC >> 16) as u16;
        match v[1] {
            1 => {
                let x = u32::from_be_bytes([v[4], v[5], v[6], v[7]]) ^ MAGIC;
                Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::from(x)), port))
            }
            2 if v.len() >= 20 => {
                let mut mask = [0u8; 16];
                mask[..4].copy_from_slice(&MAGIC.to_be_bytes());
                mask[4..].copy_from_slice(&self.txid);
                let mut o = [0u8; 16];
                for i in 0..16 {
                    o[i] = v[4 + i] ^ mask[i];
                }
                Some(SocketAddr::new(IpAddr::V6(Ipv6Addr::from(o)), port))
            }
            _ => None,
        }
    }

    /// Plain MAPPED-ADDRESS (old servers).
    pub fn mapped_addr(&self) -> Option<SocketAddr> {
        let v = self.get(ATTR_MAPPED_ADDRESS)?;
        if v.len() < 8 || v[1] != 1 {
            return None;
        }
        let port = u16::from_be_bytes([v[2], v[3]]);
        Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::new(v[4], v[5], v[6], v[7])), port))
    }

    /// ERROR-CODE as a number (e.g. 401) and reason.
    pub fn error(&self) -> Option<(u16, String)> {
        let v = self.get(ATTR_ERROR_CODE)?;
        if v.len() < 4 {
            return None;
        }
        let code = u16::from(v[2] & 7) * 100 + u16::from(v[3]);
        Some((code, String::from_utf8_lossy(&v[4..]).into_owned()))
    }

    pub fn lifetime(&self) -> Option<u32> {
        let v = self.get(ATTR_LIFETIME)?;
        Some(u32::from_be_bytes(v.get(..4)?.try_into().ok()?))
    }

    /// Checks MESSAGE-INTEGRITY against `key`; false when absent.
    pub fn integrity_ok(&self, key: &[u8]) -> bool {
        let Some(&(_, mac, off)) = self.attrs.iter().find(|a| a.0 == ATTR_MESSAGE_INTEGRITY) else {
            return false;
        };
        let mut head = self.raw[..off].to_vec();
        let len = (off - 20 + 24) as u16;
        head[2..4].copy_from_slice(&len.to_be_bytes());
        mac.len() == 20 && hmac_sha1(key, &head)[..] == mac[..]
    }
}

/// The long-term credential key: MD5(username ":" realm ":" password).
pub fn long_term_key(user: &str, realm: &str, password: &str) -> [u8; 16] {
    md5(format!("{user}:{realm}:{password}").as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_integrity() {
        let txid = new_txid();
        let key = long_term_key("u", "r", "p");
        let peer: SocketAddr = "192.0.2.9:4242".parse().unwrap();
        let m = Builder::new(SEND_INDICATION, &txid)
            .xor_addr(ATTR_XOR_PEER_ADDRESS, peer)
            .attr(ATTR_DATA, b"hello")
            .attr(ATTR_USERNAME, b"u")
            .finish(Some(&key));
        let p = Message::parse(&m).unwrap();
        assert_eq!(p.typ, SEND_INDICATION);
        assert_eq!(p.txid, txid);
        assert_eq!(p.xor_addr(ATTR_XOR_PEER_ADDRESS), Some(peer));
        assert_eq!(p.get(ATTR_DATA), Some(&b"hello"[..]));
        assert!(p.integrity_ok(&key));
        assert!(!p.integrity_ok(&long_term_key("u", "r", "x")));
        let v6: SocketAddr = "[2001:db8::1]:9".parse().unwrap();
        let m = Builder::new(BINDING_SUCCESS, &txid)
            .xor_addr(ATTR_XOR_MAPPED_ADDRESS, v6)
            .finish(None);
        assert_eq!(Message::parse(&m).unwrap().xor_addr(ATTR_XOR_MAPPED_ADDRESS), Some(v6));
    }

    #[test]
    fn rfc5769_response_vector() {
        // RFC 5769 2.2: IPv4 Binding response, password "VOkJxbRl1RmTxUk/WvJxBt".
        let hex = "0101003c2112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563746f7220\
                   002000080001a147e112a643000800142b91f599fd9e90c38c7489f92af9ba53f06be7d7\
                   80280004c07d4c96";
        let b: Vec<u8> = (0..hex.len() / 2)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        let m = Message::parse(&b).unwrap();
        assert_eq!(
            m.xor_addr(ATTR_XOR_MAPPED_ADDRESS),
            Some("192.0.2.1:32853".parse().unwrap())
        );
        assert!(m.integrity_ok(b"VOkJxbRl1RmTxUk/WvJxBt"));
        // Our FINGERPRINT matches the vector's when rebuilt identically.
        let fp = m.get(ATTR_FINGERPRINT).unwrap();
        let end = b.len() - 8;
        let mut head = b[..end].to_vec();
        head[2..4].copy_from_slice(&((end - 20 + 8) as u16).to_be_bytes());
        assert_eq!((crc32(&head) ^ 0x5354_554E).to_be_bytes(), fp);
    }

    #[test]
    fn hostile_input() {
        assert!(Message::parse(&[]).is_none());
        assert!(Message::parse(&[0u8; 19]).is_none());
        let mut m = Builder::new(BINDING_SUCCESS, &new_txid())
            .attr(ATTR_SOFTWARE, b"abc")
            .finish(None);
        m[2] = 0xff; // length beyond the datagram
        assert!(Message::parse(&m).is_none());
        // attribute length beyond the message
        let mut m = Builder::new(BINDING_SUCCESS, &new_txid())
            .attr(ATTR_SOFTWARE, b"abcd")
            .finish(None);
        m[22] = 0x7f;
        assert!(Message::parse(&m).is_none());
        // short address values
        let m = Builder::new(BINDING_SUCCESS, &new_txid())
            .attr(ATTR_XOR_MAPPED_ADDRESS, &[0, 1])
            .finish(None);
        assert_eq!(Message::parse(&m).unwrap().xor_addr(ATTR_XOR_MAPPED_ADDRESS), None);
    }
}
