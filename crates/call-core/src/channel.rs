//! The negotiated data channels every peer opens (PROTOCOL.md section 5).
//! Ids and labels are part of the wire protocol: changing them breaks calls
//! with the deployed desktop page and the Android/iOS clients.

use alloc::borrow::ToOwned;
use alloc::string::String;

use crate::ice::CandidateInit;
use crate::json::{self, Json};

/// A negotiated channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    IceTrickling,
    MutedState,
    Renegotiation,
}

impl Channel {
    pub const ALL: [Channel; 3] = [Channel::IceTrickling, Channel::MutedState, Channel::Renegotiation];

    /// The fixed SCTP stream id (`negotiated: true`).
    pub fn id(self) -> u16 {
        match self {
            Channel::IceTrickling => 1,
            Channel::MutedState => 3,
            Channel::Renegotiation => 5,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Channel::IceTrickling => "iceTrickling",
            Channel::MutedState => "mutedState",
            Channel::Renegotiation => "renegotiation",
        }
    }
}

/// A set of channels (the open ones).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Channels(u8);

impl Channels {
    pub fn contains(self, ch: Channel) -> bool {
        self.0 & (1 << ch.id()) != 0
    }

    pub fn insert(&mut self, ch: Channel) {
        self.0 |= 1 << ch.id();
    }
}

/// Messages larger than this are dropped unparsed. The largest legitimate
/// one is a renegotiation SDP (a few kB).
pub const MAX_MESSAGE_LEN: usize = 64 * 1024;

/// The `mutedState` message: what the sender is sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MutedState {
    pub audio_enabled: bool,
    pub video_enabled: bool,
    /// Our addition, sent only when true: the video is off because the
    /// path is too narrow for it, not by the person's choice (then
    /// `videoEnabled` is false too, so a peer that does not know the
    /// field shows the avatar, which is true as well).
    pub video_paused: bool,
}

impl MutedState {
    pub fn to_json(self) -> String {
        let b = |v: bool| if v { "true" } else { "false" };
        let paused = if self.video_paused { ",\"videoPaused\":true" } else { "" };
        ["{\"audioEnabled\":", b(self.audio_enabled), ",\"videoEnabled\":", b(self.video_enabled), paused, "}"].concat()
    }
}

/// The `renegotiation` message (the Android client's ICE restart).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Renegotiation {
    Offer(String),
    Answer(String),
    RestartRequest,
}

impl Renegotiation {
    pub fn to_json(&self) -> String {
        let (ty, sdp) = match self {
            Renegotiation::Offer(s) => ("offer", Some(s)),
            Renegotiation::Answer(s) => ("answer", Some(s)),
            Renegotiation::RestartRequest => ("restart-request", None),
        };
        let mut out = String::from("{\"type\":");
        json::write_str(&mut out, ty);
        if let Some(sdp) = sdp {
            out.push_str(",\"sdp\":");
            json::write_str(&mut out, sdp);
        }
        out.push('}');
        out
    }
}

/// A message received on one of the channels, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// A trickled candidate.
    Candidate(CandidateInit),
    /// `null`: the peer has no more candidates.
    EndOfCandidates,
    Muted(MutedState),
    Renegotiation(Renegotiation),
}

/// Parses a text message on `channel`. Anything malformed is `None`: the
/// caller logs it and carries on (a bad message is never fatal).
pub fn parse_message(channel: Channel, text: &str) -> Option<Incoming> {
    if text.len() > MAX_MESSAGE_LEN {
        return None;
    }
    let v = Json::parse(text)?;
    match channel {
        Channel::IceTrickling => match v {
            Json::Null => Some(Incoming::EndOfCandidates),
            // An empty candidate string is the spec's end-of-candidates too.
            ref o if o.get("candidate").and_then(Json::as_str) == Some("") => Some(Incoming::EndOfCandidates),
            ref o => CandidateInit::from_json(o).map(Incoming::Candidate),
        },
        Channel::MutedState => Some(Incoming::Muted(MutedState {
            audio_enabled: v.get("audioEnabled")?.as_bool()?,
            video_enabled: v.get("videoEnabled")?.as_bool()?,
            video_paused: v.get("videoPaused").and_then(Json::as_bool) == Some(true),
        })),
        Channel::Renegotiation => {
            let sdp = || v.get("sdp").and_then(Json::as_str).filter(|s| crate::payload::looks_like_sdp(s));
            Some(Incoming::Renegotiation(match v.get("type")?.as_str()? {
                "offer" => Renegotiation::Offer(sdp()?.to_owned()),
                "answer" => Renegotiation::Answer(sdp()?.to_owned()),
                "restart-request" => Renegotiation::RestartRequest,
                _ => return None,
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[allow(unused_imports)]
    use std::{format, prelude::rust_2021::*, vec};

    #[test]
    fn wire_constants() {
        let ids: Vec<_> = Channel::ALL.iter().map(|c| (c.id(), c.label())).collect();
        assert_eq!(ids, [(1, "iceTrickling"), (3, "mutedState"), (5, "renegotiation")]);
    }

    #[test]
    fn muted_state_exact_format() {
        let m = MutedState { audio_enabled: false, video_enabled: true, video_paused: false };
        assert_eq!(m.to_json(), r#"{"audioEnabled":false,"videoEnabled":true}"#);
        assert_eq!(parse_message(Channel::MutedState, &m.to_json()), Some(Incoming::Muted(m)));
        let m = MutedState { audio_enabled: true, video_enabled: false, video_paused: true };
        assert_eq!(m.to_json(), r#"{"audioEnabled":true,"videoEnabled":false,"videoPaused":true}"#);
        assert_eq!(parse_message(Channel::MutedState, &m.to_json()), Some(Incoming::Muted(m)));
        // unknown fields are fine
        assert!(parse_message(Channel::MutedState, r#"{"audioEnabled":true,"videoEnabled":true,"x":1}"#).is_some());
    }

    #[test]
    fn hostile_messages_are_none() {
        for (ch, bad) in [
            (Channel::MutedState, "{"),
            (Channel::MutedState, r#"{"audioEnabled":"yes","videoEnabled":true}"#),
            (Channel::MutedState, r#"{"audioEnabled":true}"#),
            (Channel::MutedState, "[]"),
            (Channel::IceTrickling, "42"),
            (Channel::IceTrickling, r#"{"candidate":7}"#),
            (Channel::Renegotiation, r#"{"type":"offer"}"#),
            (Channel::Renegotiation, r#"{"type":"offer","sdp":"hello"}"#),
            (Channel::Renegotiation, r#"{"type":"rollback"}"#),
            (Channel::Renegotiation, "null"),
        ] {
            assert_eq!(parse_message(ch, bad), None, "{bad}");
        }
        let huge = format!("{{\"audioEnabled\":true,\"videoEnabled\":true,\"p\":\"{}\"}}", "x".repeat(MAX_MESSAGE_LEN));
        assert_eq!(parse_message(Channel::MutedState, &huge), None);
    }

    #[test]
    fn trickle_messages() {
        assert_eq!(parse_message(Channel::IceTrickling, "null"), Some(Incoming::EndOfCandidates));
        let c = r#"{"candidate":"candidate:1 1 udp 1 1.2.3.4 5 typ host","sdpMid":"0","sdpMLineIndex":0}"#;
        assert!(matches!(parse_message(Channel::IceTrickling, c), Some(Incoming::Candidate(_))));
    }

    #[test]
    fn renegotiation_round_trip() {
        let sdp = "v=0\r\nm=audio 9 x\r\na=ice-ufrag:a\r\na=fingerprint:sha-256 A\r\n".to_string();
        for m in [Renegotiation::Offer(sdp.clone()), Renegotiation::Answer(sdp), Renegotiation::RestartRequest] {
            assert_eq!(parse_message(Channel::Renegotiation, &m.to_json()), Some(Incoming::Renegotiation(m)));
        }
        assert_eq!(Renegotiation::RestartRequest.to_json(), r#"{"type":"restart-request"}"#);
    }
}
