//! Shared pieces of the fuzz targets: fixtures that look like what real
//! hosts and peers send, generators of hostile variants of them, and
//! oracles (independent models) that the targets compare call-core with.

use call_core::CandidateInit;
use libfuzzer_sys::arbitrary::{Result, Unstructured};

// ------------------------------------------------------------------ fixtures

// One set of fixtures and one copy of the state machine's invariants,
// shared with the state-machine tests.
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

/// A session description that is a fixture, or one damaged in a small way
/// (truncated, a line injected, bytes flipped).
pub fn hostile_sdp(u: &mut Unstructured) -> Result<String> {
    let base = [OFFER, OFFER_2, ANSWER][u.choose_index(3)?];
    Ok(match u.choose_index(5)? {
        0 | 1 => base.to_owned(),
        2 => {
            let cut = u.int_in_range(0..=base.len())?;
            String::from_utf8_lossy(&base.as_bytes()[..cut]).into_owned()
        }
        3 => {
            let at = u.int_in_range(0..=base.len())?;
            let mut b = base.as_bytes().to_vec();
            let extra = any_string(u, 40)?;
            b.splice(at..at, extra.bytes());
            String::from_utf8_lossy(&b).into_owned()
        }
        _ => any_string(u, 300)?,
    })
}

/// A `location.hash` value: mostly the commands real hosts send, some
/// damaged, some arbitrary.
pub fn hostile_hash(u: &mut Unstructured) -> Result<String> {
    Ok(match u.choose_index(14)? {
        0 | 1 => "#startCall".into(),
        2 => format!("#offerIncomingCall={}", b64(OFFER)),
        3 => format!("#offerIncomingCall={}", b64_url_encoded(OFFER)),
        4 => format!("#acceptCall={}", b64(OFFER)),
        5 => format!("#acceptCall={}", b64_url_encoded(OFFER_2)),
        6 | 7 => format!("#onAnswer={}", b64(ANSWER)),
        8 => format!("#onAnswer={}", b64_url_encoded(ANSWER)),
        9 => ["", "#", "#startCall=1", "#onAnswer", "#offerIncomingCall"][u.choose_index(5)?].into(),
        10 => {
            let cmd = ["offerIncomingCall", "acceptCall", "onAnswer"][u.choose_index(3)?];
            format!("#{cmd}={}", b64(&hostile_sdp(u)?))
        }
        11 => {
            let cmd = ["offerIncomingCall", "acceptCall", "onAnswer"][u.choose_index(3)?];
            format!("#{cmd}={}", any_string(u, 200)?)
        }
        _ => any_string(u, 200)?,
    })
}

/// A `location.search` value.
pub fn hostile_search(u: &mut Unstructured) -> Result<String> {
    Ok(match u.choose_index(8)? {
        0 | 1 | 2 => String::new(),
        3 => "?playRingtone=true".into(),
        4 => "?noOutgoingVideoInitially=true&playRingtone".into(),
        5 => "?disableVideoCompletely".into(),
        6 => "?relayOnly&noOutgoingVideoInitially".into(),
        _ => any_string(u, 80)?,
    })
}

/// What `getIceServers()` returns.
pub fn hostile_servers(u: &mut Unstructured) -> Result<std::result::Result<String, ()>> {
    Ok(Ok(match u.choose_index(9)? {
        0 | 1 => TURN_JSON.into(),
        2 => STUN_JSON.into(),
        3 => "[]".into(),
        4 => MIXED_JSON.into(),
        5 => r#"[{"urls":"turn:203.0.113.5:3478","username":"","credential":""}]"#.into(),
        6 => return Ok(Err(())),
        _ => any_string(u, 300)?,
    }))
}

/// A candidate as the browser reports it (mostly well-formed).
pub fn hostile_candidate(u: &mut Unstructured) -> Result<CandidateInit> {
    let n = u32::from(u.arbitrary::<u8>()?);
    Ok(match u.choose_index(7)? {
        0 => cand("host", n),
        1 => cand("srflx", n),
        2 => cand("relay", n),
        3 => cand("prflx", n),
        4 => cand("weird", n),
        // Any text, but placed: a browser's RTCIceCandidate always has an
        // sdpMid or an sdpMLineIndex.
        _ => CandidateInit {
            candidate: any_string(u, 120)?,
            sdp_mid: if u.arbitrary()? { Some(any_string(u, 8)?) } else { None },
            sdp_m_line_index: Some(u.arbitrary()?),
            username_fragment: if u.arbitrary()? { Some(any_string(u, 8)?) } else { None },
        },
    })
}

/// A data-channel message for `ch`'s label, or for another channel, or junk.
pub fn hostile_message(u: &mut Unstructured) -> Result<String> {
    Ok(match u.choose_index(12)? {
        0 | 1 => {
            let (a, v) = (u.arbitrary::<bool>()?, u.arbitrary::<bool>()?);
            format!(r#"{{"audioEnabled":{a},"videoEnabled":{v}}}"#)
        }
        2 => cand("host", u.arbitrary::<u8>()?.into()).to_json(),
        3 => cand("relay", u.arbitrary::<u8>()?.into()).to_json(),
        4 => "null".into(),
        5 => r#"{"candidate":"","sdpMid":"0"}"#.into(),
        6 | 7 => r#"{"type":"restart-request"}"#.into(),
        8 => call_core::channel::Renegotiation::Offer(hostile_sdp(u)?).to_json(),
        9 => call_core::channel::Renegotiation::Answer(hostile_sdp(u)?).to_json(),
        _ => any_string(u, 200)?,
    })
}

// ------------------------------------------------------------------- oracles

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
