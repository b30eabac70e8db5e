//! What the host tells the page: commands in the URL fragment and flags in
//! the query string (PROTOCOL.md section 3).

use alloc::borrow::ToOwned;
use alloc::string::String;

/// One command from the URL fragment. Payloads are kept raw here and decoded
/// by the state machine, so a bad payload becomes a visible message instead of
/// a silently dropped command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `#startCall`: place an outgoing call.
    StartCall,
    /// `#offerIncomingCall=PAYLOAD`: prompt the person, answer on request.
    OfferIncomingCall(String),
    /// `#acceptCall=PAYLOAD`: answer at once (the host already asked).
    AcceptCall(String),
    /// `#onAnswer=PAYLOAD`: the callee's answer to our offer.
    OnAnswer(String),
}

/// Result of reading a fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fragment {
    /// Nothing there (`""` or `"#"`): the host has not said anything yet.
    Empty,
    Command(Command),
    /// Something we do not know; shown in the log and otherwise ignored.
    Unknown,
}

/// Parses `location.hash` (with or without the leading `#`).
pub fn parse_fragment(hash: &str) -> Fragment {
    let h = hash.strip_prefix('#').unwrap_or(hash);
    if h.is_empty() {
        return Fragment::Empty;
    }
    let (name, payload) = match h.split_once('=') {
        Some((n, p)) => (n, Some(p)),
        None => (h, None),
    };
    let cmd = match (name, payload) {
        ("startCall", _) => Command::StartCall,
        ("offerIncomingCall", Some(p)) => Command::OfferIncomingCall(p.to_owned()),
        ("acceptCall", Some(p)) => Command::AcceptCall(p.to_owned()),
        ("onAnswer", Some(p)) => Command::OnAnswer(p.to_owned()),
        _ => return Fragment::Unknown,
    };
    Fragment::Command(cmd)
}

/// Flags from the query string. Presence is what counts; values are ignored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flags {
    /// `noOutgoingVideoInitially`: an audio call; the camera starts off.
    pub no_outgoing_video_initially: bool,
    /// `disableVideoCompletely`: never capture, never show video.
    pub disable_video_completely: bool,
    /// `relayOnly`: `iceTransportPolicy: "relay"`, so the other side never
    /// learns this device's addresses. Our addition; unknown to old hosts.
    pub relay_only: bool,
    /// `lowData`: cap the outgoing video at a low bitrate and resolution,
    /// for metered or slow connections. Our addition.
    pub low_data: bool,
}

impl Flags {
    /// Video may be captured, sent and shown (not `disableVideoCompletely`).
    pub fn video_allowed(self) -> bool {
        !self.disable_video_completely
    }
}

/// Parses `location.search` (with or without the leading `?`). Unknown flags,
/// such as Desktop's `playRingtone`, are ignored.
pub fn parse_flags(search: &str) -> Flags {
    let q = search.strip_prefix('?').unwrap_or(search);
    let mut f = Flags::default();
    for pair in q.split('&') {
        let name = pair.split('=').next().unwrap_or("");
        match name {
            "noOutgoingVideoInitially" => f.no_outgoing_video_initially = true,
            "disableVideoCompletely" => f.disable_video_completely = true,
            "relayOnly" => f.relay_only = true,
            "lowData" => f.low_data = true,
            _ => {}
        }
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    #[allow(unused_imports)]
    use std::{format, prelude::rust_2021::*, vec};

    #[test]
    fn fragments() {
        assert_eq!(parse_fragment(""), Fragment::Empty);
        assert_eq!(parse_fragment("#"), Fragment::Empty);
        assert_eq!(parse_fragment("#startCall"), Fragment::Command(Command::StartCall));
        assert_eq!(parse_fragment("startCall"), Fragment::Command(Command::StartCall));
        assert_eq!(
            parse_fragment("#offerIncomingCall=dj0w=="),
            Fragment::Command(Command::OfferIncomingCall("dj0w==".into()))
        );
        assert_eq!(parse_fragment("#acceptCall=abc%3D"), Fragment::Command(Command::AcceptCall("abc%3D".into())));
        assert_eq!(parse_fragment("#onAnswer="), Fragment::Command(Command::OnAnswer(String::new())));
        for unknown in ["#onAnswer", "#acceptCall", "#hello", "#startcall", "#%00", "#=x"] {
            assert_eq!(parse_fragment(unknown), Fragment::Unknown, "{unknown}");
        }
        let huge = format!("#x{}", "A".repeat(1 << 20));
        assert_eq!(parse_fragment(&huge), Fragment::Unknown);
    }

    #[test]
    fn flags() {
        assert_eq!(parse_flags(""), Flags::default());
        let f = parse_flags("?playRingtone=1&noOutgoingVideoInitially&relayOnly=false");
        assert!(f.no_outgoing_video_initially && f.relay_only && !f.disable_video_completely);
        assert!(parse_flags("disableVideoCompletely=").disable_video_completely);
        assert_eq!(parse_flags("?novideo&&="), Flags::default());
        assert!(parse_flags("?lowData").low_data);
    }
}
