//! The SDP payloads hosts put into the URL fragment: base64 (raw with `=`
//! padding from Desktop, URL-encoded from Android), checked to be an SDP.

use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;

/// Payloads larger than this are refused before decoding. A real offer with
/// many candidates is 3–8 kB; 256 kB leaves room for anything legitimate and
/// keeps a hostile 1 MB fragment from costing time.
pub const MAX_PAYLOAD_LEN: usize = 256 * 1024;

/// Why a payload was refused. Shown to the person as a reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadError {
    TooLarge,
    NotBase64,
    NotText,
    NotSdp,
}

impl PayloadError {
    /// What failed, for the log.
    pub fn as_str(self) -> &'static str {
        match self {
            PayloadError::TooLarge => "too large",
            PayloadError::NotBase64 => "not base64",
            PayloadError::NotText => "not UTF-8 text",
            PayloadError::NotSdp => "not an SDP",
        }
    }
}

/// Decodes `%XX` escapes. Invalid escapes are kept as they are; base64
/// decoding then rejects them.
pub fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_owned();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if let (Some(h), Some(l)) = (b.get(i + 1).and_then(hex), b.get(i + 2).and_then(hex)) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(c: &u8) -> Option<u8> {
    (*c as char).to_digit(16).map(|d| d as u8)
}

fn b64_value(c: u8) -> Option<u32> {
    Some(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' | b'-' => 62,
        b'/' | b'_' => 63,
        _ => return None,
    } as u32)
}

/// Decodes standard or URL-safe base64, padded or not. ASCII whitespace is
/// skipped (some hosts wrap long lines); `' '` is also accepted as `+`, the
/// way form-encoding turns `+` into a space.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() / 4 * 3 + 3);
    let (mut acc, mut bits, mut pad) = (0u32, 0u32, 0usize);
    for &c in s.as_bytes() {
        let v = match c {
            b'=' => {
                pad += 1;
                continue;
            }
            b'\n' | b'\r' | b'\t' => continue,
            // Data after padding; a space here is a `+` (data) too.
            _ if pad > 0 => return None,
            b' ' => 62,
            _ => b64_value(c)?,
        };
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    // 6 leftover bits can only come from a truncated quantum (1 char).
    if bits == 6 || pad > 2 {
        return None;
    }
    Some(out)
}

/// Turns a fragment payload into SDP text, or says why it is not one.
pub fn decode_sdp_payload(raw: &str) -> Result<String, PayloadError> {
    if raw.len() > MAX_PAYLOAD_LEN {
        return Err(PayloadError::TooLarge);
    }
    let bytes = base64_decode(&percent_decode(raw)).ok_or(PayloadError::NotBase64)?;
    let text = String::from_utf8(bytes).map_err(|_| PayloadError::NotText)?;
    if !looks_like_sdp(&text) {
        return Err(PayloadError::NotSdp);
    }
    Ok(text)
}

/// A session description must start with `v=0` and describe at least one
/// media section with ICE credentials and a DTLS fingerprint; anything else
/// would only fail later inside the browser with a less useful message.
pub fn looks_like_sdp(text: &str) -> bool {
    // Byte-wise on purpose: str searching and slicing would pull core's
    // panic-message formatting into the wasm.
    let has_line = |prefix: &[u8]| text.as_bytes().split(|&b| b == b'\n').any(|l| l.starts_with(prefix));
    text.starts_with("v=0") && has_line(b"m=") && has_line(b"a=ice-ufrag:") && has_line(b"a=fingerprint:")
}

/// Encodes bytes as standard base64 with padding (what the fragment carries).
pub fn base64_encode(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | (b as u32) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    #[allow(unused_imports)]
    use std::{format, prelude::rust_2021::*, vec};

    pub(crate) const SDP: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdefghijkl\r\na=fingerprint:sha-256 AA:BB\r\n";

    #[test]
    fn base64_round_trip_all_lengths() {
        for n in 0..40 {
            let data: Vec<u8> = (0..n).map(|i| (i * 37 + 11) as u8).collect();
            let enc = base64_encode(&data);
            assert_eq!(base64_decode(&enc).unwrap(), data);
            assert_eq!(base64_decode(enc.trim_end_matches('=')).unwrap(), data);
            let url = enc.replace('+', "-").replace('/', "_");
            assert_eq!(base64_decode(&url).unwrap(), data);
        }
    }

    #[test]
    fn accepts_both_host_encodings() {
        let raw = base64_encode(SDP.as_bytes());
        assert!(raw.ends_with('=') || raw.contains('+') || raw.contains('/') || !raw.is_empty());
        let url_encoded = raw.replace('+', "%2B").replace('/', "%2F").replace('=', "%3D");
        assert_eq!(decode_sdp_payload(&raw).unwrap(), SDP);
        assert_eq!(decode_sdp_payload(&url_encoded).unwrap(), SDP);
        // lowercase escapes and a `+` turned into a space by a form decoder
        assert_eq!(decode_sdp_payload(&raw.replace('=', "%3d")).unwrap(), SDP);
        assert_eq!(decode_sdp_payload(&raw.replace('+', " ")).unwrap(), SDP);
    }

    #[test]
    fn rejects_hostile_payloads() {
        assert_eq!(decode_sdp_payload("!!!"), Err(PayloadError::NotBase64));
        assert_eq!(decode_sdp_payload("QQ==QQ"), Err(PayloadError::NotBase64));
        assert_eq!(decode_sdp_payload("A"), Err(PayloadError::NotBase64));
        assert_eq!(decode_sdp_payload("%"), Err(PayloadError::NotBase64));
        assert_eq!(decode_sdp_payload(&base64_encode(&[0xff, 0xfe])), Err(PayloadError::NotText));
        assert_eq!(decode_sdp_payload(&base64_encode(b"hello")), Err(PayloadError::NotSdp));
        assert_eq!(decode_sdp_payload(""), Err(PayloadError::NotSdp));
        let huge = "A".repeat(MAX_PAYLOAD_LEN + 1);
        assert_eq!(decode_sdp_payload(&huge), Err(PayloadError::TooLarge));
    }

    #[test]
    fn space_after_padding_is_data_after_padding() {
        // Found by the `payload` fuzz target: a space (a form-decoded `+`)
        // after `=` was decoded as data and appended a garbage byte.
        assert_eq!(base64_decode("QQ== "), None);
        assert_eq!(base64_decode("QQ==\r\n"), Some(vec![b'A']));
        let raw = base64_encode(SDP.as_bytes()) + " ";
        assert_eq!(decode_sdp_payload(&raw), Err(PayloadError::NotBase64));
    }

    #[test]
    fn percent_decode_keeps_invalid_escapes() {
        assert_eq!(percent_decode("a%2Bb%zz%4"), "a+b%zz%4");
        assert_eq!(percent_decode("%C3%A9"), "é");
    }
}
