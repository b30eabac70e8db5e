//! Everything the page says to a person, as message ids. The shell turns an
//! id into words; keeping ids here keeps wording out of the logic and makes
//! the view model testable without strings.

use crate::i18n::Lang;
use crate::payload::PayloadError;

/// A sentence on screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Msg {
    IncomingCall,
    Connecting,
    Ringing,
    InCall,
    Reconnecting,
    CallEnded,
    PeerHungUp,
    /// The connection closed before the other side ever reached us on
    /// channel 3: it may have failed rather than hung up.
    ConnectionClosed,
    CallFailed,
    /// An incoming offer came damaged.
    CallNotReceived,
    // notices
    BadPayload(PayloadError),
    IceServersUnavailable,
    SomeIceServersIgnored,
    CameraUnavailable,
    NoMicrophone,
    NoMedia,
    NoHost,
    HostIncomplete,
    NoWebRtc,
    SetupFailed,
    AnswerRejected,
    ConnectFailed,
    ConnectionLost,
    Crashed,
    /// Video is paused because the path is too narrow for it: ours
    /// (`crate::congestion`) or the peer's (it said so on channel 3).
    VideoPaused,
    // button labels
    Answer,
    Decline,
    /// Closes the screen of a damaged offer.
    Close,
    EndCall,
    MuteMic,
    UnmuteMic,
    CameraOff,
    CameraOn,
}

impl Msg {
    /// The key of this text in `lang/*.txt`.
    pub fn key(self) -> &'static str {
        match self {
            Msg::IncomingCall => "incoming_call",
            Msg::Connecting => "connecting",
            Msg::Ringing => "ringing",
            Msg::InCall => "",
            Msg::Reconnecting => "reconnecting",
            Msg::CallEnded => "call_ended",
            Msg::PeerHungUp => "peer_hung_up",
            Msg::ConnectionClosed => "connection_closed",
            Msg::CallFailed => "call_failed",
            Msg::CallNotReceived => "call_not_received",
            // One sentence for a person; the log says which check failed.
            Msg::BadPayload(_) => "bad_payload",
            Msg::IceServersUnavailable => "ice_servers_unavailable",
            Msg::SomeIceServersIgnored => "some_ice_servers_ignored",
            Msg::CameraUnavailable => "camera_unavailable",
            Msg::NoMicrophone => "no_microphone",
            Msg::NoMedia => "no_media",
            Msg::NoHost => "no_host",
            Msg::HostIncomplete => "host_incomplete",
            Msg::NoWebRtc => "no_webrtc",
            Msg::SetupFailed => "setup_failed",
            Msg::AnswerRejected => "answer_rejected",
            Msg::ConnectFailed => "connect_failed",
            Msg::ConnectionLost => "connection_lost",
            Msg::Crashed => "crashed",
            Msg::VideoPaused => "video_paused",
            Msg::Answer => "answer",
            Msg::Decline => "decline",
            Msg::Close => "close",
            Msg::EndCall => "end_call",
            Msg::MuteMic => "mute_mic",
            Msg::UnmuteMic => "unmute_mic",
            Msg::CameraOff => "camera_off",
            Msg::CameraOn => "camera_on",
        }
    }

    /// The text in `lang`.
    pub fn text(self, lang: Lang) -> &'static str {
        lang.text(self.key())
    }

    /// English text (logs, tests).
    pub fn en(self) -> &'static str {
        self.text(crate::i18n::EN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::PayloadError;
    use std::format;
    use std::string::{String, ToString};
    use std::vec::Vec;

    /// Every message once (`BadPayload` with one of its reasons).
    const ALL: [Msg; 33] = [
        Msg::IncomingCall, Msg::Connecting, Msg::Ringing, Msg::InCall, Msg::Reconnecting, Msg::CallEnded,
        Msg::PeerHungUp, Msg::ConnectionClosed, Msg::CallFailed, Msg::CallNotReceived, Msg::BadPayload(PayloadError::NotSdp), Msg::IceServersUnavailable,
        Msg::SomeIceServersIgnored, Msg::CameraUnavailable, Msg::NoMicrophone, Msg::NoMedia, Msg::NoHost,
        Msg::HostIncomplete, Msg::NoWebRtc, Msg::SetupFailed, Msg::AnswerRejected, Msg::ConnectFailed,
        Msg::ConnectionLost, Msg::Crashed, Msg::VideoPaused, Msg::Answer, Msg::Decline, Msg::Close, Msg::EndCall, Msg::MuteMic,
        Msg::UnmuteMic, Msg::CameraOff, Msg::CameraOn,
    ];

    /// The variant names of `enum Msg` as this file declares it.
    fn declared_variants() -> Vec<&'static str> {
        let src = include_str!("text.rs");
        let body = src.split("pub enum Msg {").nth(1).and_then(|b| b.split("\n}").next()).unwrap_or("");
        body.lines()
            .map(|l| l.split("//").next().unwrap_or("").trim())
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| l.split(|c: char| !c.is_alphanumeric() && c != '_').next().unwrap_or(""))
            .collect()
    }

    #[test]
    fn the_list_has_every_declared_message() {
        let declared = declared_variants();
        assert!(declared.len() > 20 && declared.contains(&"CameraOn"), "the parse found {declared:?}");
        let listed: Vec<String> =
            ALL.iter().map(|m| format!("{m:?}").split('(').next().unwrap_or("").to_string()).collect();
        assert_eq!(listed, declared, "ALL must list every variant of Msg, in declaration order");
    }

    #[test]
    fn every_message_has_an_english_text() {
        for m in ALL {
            if m == Msg::InCall {
                assert_eq!(m.en(), "", "the call itself needs no status line");
            } else {
                assert!(!m.en().is_empty(), "{m:?}");
            }
        }
    }
}
