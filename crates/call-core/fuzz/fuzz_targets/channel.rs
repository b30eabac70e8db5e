//! `channel::parse_message` on every channel, and the messages we send.
//!
//! Properties: a message is parsed only from valid JSON of bounded size and
//! only into the kind its channel carries; whatever is parsed re-serializes
//! (`to_json`) into a message that parses back to the same value; a
//! candidate is placeable and non-empty; a renegotiation offer/answer
//! carries an SDP; `MutedState` and `Renegotiation` survive the wire
//! exactly, in the format the deployed peers send.
#![no_main]

use call_core::channel::{parse_message, Channel, Incoming, MutedState, Renegotiation, MAX_MESSAGE_LEN};
use call_core::json::Json;
use call_core::payload::looks_like_sdp;
use libfuzzer_sys::fuzz_target;

fn check(ch: Channel, text: &str) {
    let Some(m) = parse_message(ch, text) else { return };
    assert!(text.len() <= MAX_MESSAGE_LEN);
    let v = Json::parse(text).expect("parsed a message that is not JSON");
    let again = match &m {
        Incoming::Candidate(c) => {
            assert_eq!(ch, Channel::IceTrickling);
            assert!(!c.candidate.is_empty() && (c.sdp_mid.is_some() || c.sdp_m_line_index.is_some()));
            c.to_json()
        }
        Incoming::EndOfCandidates => {
            assert_eq!(ch, Channel::IceTrickling);
            assert!(v == Json::Null || v.get("candidate").and_then(Json::as_str) == Some(""), "{text}");
            return;
        }
        Incoming::Muted(ms) => {
            assert_eq!(ch, Channel::MutedState);
            assert_eq!(v.get("audioEnabled").and_then(Json::as_bool), Some(ms.audio_enabled));
            assert_eq!(v.get("videoEnabled").and_then(Json::as_bool), Some(ms.video_enabled));
            ms.to_json()
        }
        Incoming::Renegotiation(r) => {
            assert_eq!(ch, Channel::Renegotiation);
            if let Renegotiation::Offer(sdp) | Renegotiation::Answer(sdp) = r {
                assert!(looks_like_sdp(sdp));
            }
            r.to_json()
        }
    };
    assert_eq!(parse_message(ch, &again).as_ref(), Some(&m), "{again}");
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for ch in Channel::ALL {
        check(ch, &text);
    }
    // What we send: the exact format, and it parses back.
    let (a, v) = (data.first().is_some_and(|b| b & 1 == 1), data.first().is_some_and(|b| b & 2 == 2));
    let m = MutedState { audio_enabled: a, video_enabled: v, video_paused: false };
    assert_eq!(m.to_json(), format!(r#"{{"audioEnabled":{a},"videoEnabled":{v}}}"#));
    assert_eq!(parse_message(Channel::MutedState, &m.to_json()), Some(Incoming::Muted(m)));
    // Any text as the SDP of a renegotiation message, and behind a real
    // offer's first lines.
    for sdp in [text.to_string(), format!("{}{text}", call_core_fuzz::OFFER)] {
        for r in [Renegotiation::Offer(sdp.clone()), Renegotiation::Answer(sdp.clone())] {
            let wire = r.to_json();
            let ok = looks_like_sdp(&sdp) && wire.len() <= MAX_MESSAGE_LEN;
            assert_eq!(parse_message(Channel::Renegotiation, &wire), ok.then(|| Incoming::Renegotiation(r)));
        }
    }
    let rr = Renegotiation::RestartRequest;
    assert_eq!(parse_message(Channel::Renegotiation, &rr.to_json()), Some(Incoming::Renegotiation(rr)));
});
