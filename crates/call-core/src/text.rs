//! Everything the page says to a person, as message ids. The shell turns an
//! id into words; keeping ids here keeps wording out of the logic and makes
//! the view model testable without strings.

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
    CallFailed,
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
    // button labels
    Answer,
    Decline,
    EndCall,
    MuteMic,
    UnmuteMic,
    CameraOff,
    CameraOn,
}

impl Msg {
    /// English text. (Other languages: see the localization issue.)
    pub fn en(self) -> &'static str {
        match self {
            Msg::IncomingCall => "Incoming call",
            Msg::Connecting => "Connecting…",
            Msg::Ringing => "Ringing…",
            Msg::InCall => "",
            Msg::Reconnecting => "Reconnecting…",
            Msg::CallEnded => "Call ended",
            Msg::PeerHungUp => "The other person hung up",
            Msg::CallFailed => "Call failed",
            Msg::BadPayload(PayloadError::TooLarge) => "Received call data is too large; ignored.",
            Msg::BadPayload(PayloadError::NotBase64) => "Received call data is damaged (not base64); ignored.",
            Msg::BadPayload(PayloadError::NotText) => "Received call data is damaged (not text); ignored.",
            Msg::BadPayload(PayloadError::NotSdp) => "Received call data is not a call description; ignored.",
            Msg::IceServersUnavailable => "Relay servers unavailable; trying a direct connection.",
            Msg::SomeIceServersIgnored => "Some relay servers were invalid and are not used.",
            Msg::CameraUnavailable => "Camera unavailable: audio only.",
            Msg::NoMicrophone => "Microphone unavailable: the other person cannot hear you.",
            Msg::NoMedia => "No camera or microphone: you can see and hear, but not be seen or heard.",
            Msg::NoHost => "This page must be opened by Delta Chat.",
            Msg::HostIncomplete => "The app that opened this page lacks a needed call function.",
            Msg::NoWebRtc => "This browser cannot make calls (no WebRTC).",
            Msg::SetupFailed => "The call could not be set up.",
            Msg::AnswerRejected => "The answer could not be used; waiting for another.",
            Msg::ConnectFailed => "Could not connect to the other person.",
            Msg::ConnectionLost => "Connection lost.",
            Msg::Crashed => "Internal error.",
            Msg::Answer => "Answer",
            Msg::Decline => "Decline",
            Msg::EndCall => "End call",
            Msg::MuteMic => "Mute microphone",
            Msg::UnmuteMic => "Unmute microphone",
            Msg::CameraOff => "Turn camera off",
            Msg::CameraOn => "Turn camera on",
        }
    }
}
