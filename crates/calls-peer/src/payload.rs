//! Payloads as people and hosts hand them over: base64 (raw or URL-encoded,
//! via `call_core::payload`), a whole fragment such as `#onAnswer=...`, or
//! plain SDP text (an adapter: call-core only knows the base64 forms).

use call_core::payload::{base64_encode, decode_sdp_payload, looks_like_sdp, MAX_PAYLOAD_LEN};

/// Turns a payload into SDP text with CRLF line ends, or says why not.
pub fn decode(raw: &str) -> Result<String, String> {
    let t = raw.trim();
    if t.len() > MAX_PAYLOAD_LEN {
        return Err("payload too large".into());
    }
    if t.starts_with("v=0") {
        let sdp = normalize(t);
        return if looks_like_sdp(&sdp) {
            Ok(sdp)
        } else {
            Err("plain text payload is not an SDP with media, ICE credentials and a fingerprint".into())
        };
    }
    // `#offerIncomingCall=...`, `onAnswer=...` etc.: the part after the command.
    let body = match t.strip_prefix('#').unwrap_or(t).split_once('=') {
        Some((cmd, rest)) if ["offerIncomingCall", "acceptCall", "onAnswer"].contains(&cmd) => rest,
        _ => t,
    };
    decode_sdp_payload(body)
        .map(|s| normalize(&s))
        .map_err(|e| format!("payload is {}", e.as_str()))
}

/// CRLF line ends and a final CRLF, as SDP wants.
pub fn normalize(sdp: &str) -> String {
    let mut out = String::with_capacity(sdp.len() + 64);
    for line in sdp.lines() {
        let line = line.trim_end_matches('\r');
        if !line.is_empty() {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out
}

/// The payload for an SDP: standard base64 with padding.
pub fn encode(sdp: &str) -> String {
    base64_encode(sdp.as_bytes())
}

/// Drops `a=candidate` lines str0m cannot use: mDNS names (`….local`,
/// what browsers put there to hide local addresses) and other host names.
/// ICE still finds those peers through their connectivity checks
/// (peer-reflexive candidates). str0m 0.25 skips such lines itself; doing
/// it here keeps that independent of its version and lets us log it.
/// Returns the SDP and how many were dropped.
pub fn strip_unusable_candidates(sdp: &str) -> (String, usize) {
    let mut dropped = 0;
    let mut out = String::with_capacity(sdp.len());
    for line in sdp.split_inclusive('\n') {
        if let Some(c) = line.trim_end().strip_prefix("a=candidate:") {
            // foundation component transport priority ADDRESS port typ …
            let ip_ok = c
                .split_ascii_whitespace()
                .nth(4)
                .is_some_and(|a| a.parse::<std::net::IpAddr>().is_ok());
            if !ip_ok {
                dropped += 1;
                continue;
            }
        }
        out.push_str(line);
    }
    (out, dropped)
}

/// The value of the first `a=<key>:` line.
pub fn sdp_attr<'a>(sdp: &'a str, key: &str) -> Option<&'a str> {
    sdp.lines()
        .find_map(|l| l.trim_end().strip_prefix("a=")?.strip_prefix(key)?.strip_prefix(':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SDP: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdefghijkl\r\na=fingerprint:sha-256 AA:BB\r\n";

    #[test]
    fn all_forms() {
        let b = encode(SDP);
        assert_eq!(decode(&b).unwrap(), SDP);
        assert_eq!(decode(&format!("  {b}\n")).unwrap(), SDP);
        let url = b.replace('+', "%2B").replace('/', "%2F").replace('=', "%3D");
        assert_eq!(decode(&url).unwrap(), SDP);
        assert_eq!(decode(&format!("#onAnswer={b}")).unwrap(), SDP);
        assert_eq!(decode(&format!("offerIncomingCall={url}")).unwrap(), SDP);
        assert_eq!(decode(&SDP.replace("\r\n", "\n")).unwrap(), SDP);
        assert_eq!(sdp_attr(SDP, "ice-ufrag"), Some("abcd"));
        assert_eq!(sdp_attr(SDP, "mid"), Some("0"));
    }

    #[test]
    fn mdns_candidates_are_dropped() {
        let sdp = format!(
            "{SDP}a=candidate:1 1 udp 2122260223 3f1a-77.local 50000 typ host\r\na=candidate:2 1 udp 2122260223 192.0.2.2 50001 typ host\r\n"
        );
        let (out, n) = strip_unusable_candidates(&sdp);
        assert_eq!(n, 1);
        assert!(!out.contains(".local") && out.contains("192.0.2.2 50001") && out.starts_with("v=0"));
    }

    #[test]
    fn refusals() {
        assert!(decode("").is_err());
        assert!(decode("!!!").is_err());
        assert!(decode(&encode("hello")).is_err());
        assert!(decode("v=0\r\ns=-\r\n").is_err());
        assert!(decode(&"A".repeat(MAX_PAYLOAD_LEN + 10)).is_err());
        assert!(decode("#onAnswer=").is_err());
    }
}
