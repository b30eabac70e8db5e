//! `payload::decode_sdp_payload`, `base64_decode`/`base64_encode` and
//! `percent_decode` on arbitrary input.
//!
//! Properties: a decoded payload is text that passes the SDP check (and
//! only small payloads decode); every byte string survives encode/decode in
//! all the forms hosts send (padded, unpadded, URL-safe, URL-encoded,
//! line-wrapped, `+` turned into a space); an accepted base64 text has no
//! data after its padding and re-encodes canonically; any UTF-8 text sent
//! the way hosts send it comes back exactly iff it looks like an SDP.
#![no_main]

use call_core::payload::{
    base64_decode, base64_encode, decode_sdp_payload, looks_like_sdp, percent_decode, PayloadError, MAX_PAYLOAD_LEN,
};
use call_core_fuzz::OFFER;
use libfuzzer_sys::fuzz_target;

const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn host_forms(enc: &str) -> Vec<String> {
    let wrapped: String = enc
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\r\n");
    vec![
        enc.to_owned(),
        enc.trim_end_matches('=').to_owned(),
        enc.replace('+', "-").replace('/', "_"),
        enc.replace('+', "%2B").replace('/', "%2F").replace('=', "%3D"),
        enc.replace('=', "%3d").replace('/', "%2f"),
        enc.replace('+', " "),
        wrapped,
    ]
}

fn check_arbitrary_text(s: &str) {
    match decode_sdp_payload(s) {
        Ok(text) => {
            assert!(looks_like_sdp(&text), "accepted a payload that is not an SDP: {text:?}");
            assert!(s.len() <= MAX_PAYLOAD_LEN);
        }
        Err(PayloadError::TooLarge) => assert!(s.len() > MAX_PAYLOAD_LEN),
        Err(_) => {}
    }
    if let Some(bytes) = base64_decode(s) {
        // Padding ends the data: after the first `=` only more `=` and the
        // line breaks that are skipped everywhere.
        if let Some(i) = s.find('=') {
            assert!(
                s[i..].bytes().all(|b| matches!(b, b'=' | b'\n' | b'\r' | b'\t')),
                "data after padding accepted: {s:?}"
            );
        }
        // Six bits per data character, whole bytes only.
        let data_chars = s.bytes().filter(|b| !matches!(b, b'=' | b'\n' | b'\r' | b'\t')).count();
        assert_eq!(bytes.len(), data_chars * 6 / 8, "{s:?}");
        assert_eq!(base64_decode(&base64_encode(&bytes)).as_deref(), Some(&bytes[..]));
    }
    if !s.contains('%') {
        assert_eq!(percent_decode(s), s);
    }
    // Percent-encoding every byte of a text is undone exactly.
    let all: String = s.bytes().map(|b| format!("%{b:02X}")).collect();
    assert_eq!(percent_decode(&all), s);
}

fn check_round_trip(data: &[u8]) {
    let enc = base64_encode(data);
    assert_eq!(enc.len(), data.len().div_ceil(3) * 4);
    let body = enc.trim_end_matches('=');
    assert!(enc.len() - body.len() <= 2 && body.chars().all(|c| ALPHABET.contains(c)), "{enc}");
    for form in host_forms(&enc) {
        let decoded = base64_decode(&percent_decode(&form));
        assert_eq!(decoded.as_deref(), Some(data), "form {form:?}");
    }
}

fn check_host_path(text: &str) {
    let expect = |t: &str, raw: &str| {
        if raw.len() > MAX_PAYLOAD_LEN {
            Err(PayloadError::TooLarge)
        } else if looks_like_sdp(t) {
            Ok(t.to_owned())
        } else {
            Err(PayloadError::NotSdp)
        }
    };
    // The text itself, and the text behind a real offer's first lines (so
    // that the SDP check passes and the accepting path is exercised).
    for t in [text.to_owned(), format!("{OFFER}{text}")] {
        for raw in host_forms(&base64_encode(t.as_bytes())) {
            assert_eq!(decode_sdp_payload(&raw), expect(&t, &raw), "{raw:?}");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    check_arbitrary_text(&s);
    check_round_trip(data);
    if let Ok(text) = std::str::from_utf8(data) {
        check_host_path(text);
    }
});
