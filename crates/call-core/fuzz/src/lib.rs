//! Shared pieces of the fuzz targets: fixtures that look like what real
//! hosts and peers send, the generator of hostile input sequences and the
//! simulated shell of the state machine (one copy with the property
//! tests, from `../tests/common/`), and oracles (independent models) that
//! the targets compare call-core with.

use libfuzzer_sys::arbitrary::{Result, Unstructured};

// ------------------------------------------------------------------ fixtures

// One set of fixtures, one copy of the state machine's invariants and one
// generator of its input sequences, shared with the state-machine tests.
#[path = "../../tests/common/drive.rs"]
pub mod drive;
#[path = "../../tests/common/fixtures.rs"]
mod fixtures;
#[path = "../../tests/common/invariants.rs"]
pub mod invariants;
pub use fixtures::*;

// ---------------------------------------------------------------- generators

/// An arbitrary string, at most `max` bytes, lossily from the fuzz bytes.
pub fn any_string(u: &mut Unstructured, max: usize) -> Result<String> {
    let n = u.int_in_range(0..=max)?;
    let bytes = u.bytes(n.min(u.len()))?;
    Ok(String::from_utf8_lossy(bytes).into_owned())
}

// ------------------------------------------------------------------- oracles

pub use drive::webrtc_accepts;

/// The plain shapes every host uses: `scheme:host[:port][?transport=udp|tcp]`
/// with an IPv4 address, a DNS name or a bracketed IPv6 address, a port in
/// range, and TURN credentials. call-core must keep every such URL.
pub fn plain_ice_url(url: &str, username: Option<&str>, credential: Option<&str>) -> bool {
    let (uri, query) = match url.split_once('?') {
        Some((a, q)) => (a, Some(q)),
        None => (url, None),
    };
    let Some((scheme, hostport)) = uri.split_once(':') else { return false };
    let turn = matches!(scheme, "turn" | "turns");
    if !(turn || matches!(scheme, "stun" | "stuns")) {
        return false;
    }
    if let Some(q) = query {
        if !turn || !(q == "transport=udp" || q == "transport=tcp") {
            return false;
        }
    }
    let (name_ok, port) = if let Some(rest) = hostport.strip_prefix('[') {
        let Some((h, after)) = rest.split_once(']') else { return false };
        let ok = !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
        match after.strip_prefix(':') {
            Some(p) => (ok, Some(p)),
            None => (ok && after.is_empty(), None),
        }
    } else {
        let (h, p) = match hostport.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        };
        (!h.is_empty() && h.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b)), p)
    };
    let port_ok = port.is_none_or(|p| {
        !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<u32>().is_ok_and(|n| (1..=65535).contains(&n))
    });
    name_ok && port_ok && (!turn || (username.is_some_and(|s| !s.is_empty()) && credential.is_some_and(|s| !s.is_empty())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oracle_agrees_on_known_urls() {
        let c = (Some("u"), Some("p"));
        for ok in ["turn:203.0.113.5:3478", "turns:a.example:443?transport=tcp", "stun:[2001:db8::1]:3478", "stun:1.2.3.4"] {
            assert!(webrtc_accepts(ok, c.0, c.1), "{ok}");
            assert!(plain_ice_url(ok, c.0, c.1), "{ok}");
        }
        for bad in ["turn:", "turn:?transport=udp", "stun:1.2.3.4?transport=udp", "turn:h:0", "turn:h:70000", "turn:u@h", "turn:h:", "stun:[]:1", "http:x"] {
            assert!(!webrtc_accepts(bad, c.0, c.1), "{bad}");
            assert!(!plain_ice_url(bad, c.0, c.1), "{bad}");
        }
        assert!(!webrtc_accepts("turn:h", Some(""), Some("p")));
        assert!(webrtc_accepts("stun:h", None, None));
    }
}
