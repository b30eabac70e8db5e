//! Fixtures shared by the state-machine tests and the fuzz targets
//! (`fuzz/src/lib.rs` includes this file): session descriptions, ICE
//! server lists and candidates as real browsers and hosts produce them.

use call_core::payload::base64_encode;
use call_core::CandidateInit;

/// An offer as Chromium makes it (shortened). The `a=x-note` line makes the
/// base64 form contain `+`, `/` and `=` padding, the characters hosts encode
/// differently.
pub const OFFER: &str = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
a=group:BUNDLE 0 1 2\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n\
a=ice-ufrag:oFfR\r\na=ice-pwd:offerpassword0123456789\r\n\
a=fingerprint:sha-256 AA:BB:CC:DD\r\na=setup:actpass\r\na=mid:0\r\na=x-note:>>>???>\r\n";

pub const OFFER_2: &str = "v=0\r\no=- 99 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ice-ufrag:sEcd\r\na=ice-pwd:secondofferpassword01\r\n\
a=fingerprint:sha-256 11:22:33:44\r\na=setup:actpass\r\na=mid:0\r\n";

pub const ANSWER: &str = "v=0\r\no=- 7 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ice-ufrag:aNsW\r\na=ice-pwd:answerpassword0123456\r\n\
a=fingerprint:sha-256 EE:FF:00:11\r\na=setup:active\r\na=mid:0\r\n";

pub const ANSWER_2: &str = "v=0\r\no=- 8 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ice-ufrag:aNs2\r\na=ice-pwd:answerpassword6543210\r\n\
a=fingerprint:sha-256 EE:FF:00:22\r\na=setup:active\r\na=mid:0\r\n";

/// Raw base64 with literal padding, as Desktop sends it.
pub fn b64(sdp: &str) -> String {
    base64_encode(sdp.as_bytes())
}

/// URL-encoded base64, as Android sends it.
pub fn b64_url_encoded(sdp: &str) -> String {
    b64(sdp).replace('+', "%2B").replace('/', "%2F").replace('=', "%3D")
}

/// The core's usual list: one TURN server with credentials.
pub const TURN_JSON: &str = r#"[{"urls":["turn:203.0.113.5:3478"],"username":"1735000000","credential":"s3cret"}]"#;
pub const STUN_JSON: &str = r#"[{"urls":"stun:203.0.113.5:3478"}]"#;
/// Several servers, some of which Chromium would refuse.
pub const MIXED_JSON: &str = r#"[{"urls":["stun:203.0.113.5","turn:203.0.113.5:3478?transport=tcp"],"username":"u","credential":"p"},{"urls":"turn:198.51.100.1"},{"urls":"http://x"},7]"#;

/// A gathered candidate of type `typ` (`host`, `srflx`, `relay`…), number `n`.
pub fn cand(typ: &str, n: u32) -> CandidateInit {
    CandidateInit {
        candidate: format!("candidate:{n} 1 udp 1677729535 203.0.113.{n} 5{n:04} typ {typ} generation 0"),
        sdp_mid: Some("0".into()),
        sdp_m_line_index: Some(0),
        username_fragment: None,
    }
}

