//! The API boundary: [`Input`], what happened outside the core, and
//! [`Effect`], what the shell must do. The shell, the native peer, the
//! tests and the fuzz targets speak to the core in these words only.

use alloc::string::String;
use alloc::vec::Vec;

use crate::channel::Channel;
use crate::ice::{CandidateInit, IceServer};
use crate::vocab::Route;
use crate::vocab::{VideoSend, HostApi, Button, DeviceKind, Camera, VideoSource, ConnState, Media, HostCall};

/// Something that happened outside the machine.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// The page has loaded. `webrtc`: `RTCPeerConnection` exists.
    Started { search: String, hash: String, host: HostApi, webrtc: bool },
    HashChanged(String),
    /// `getIceServers()` returned or resolved to this value; `Err` when it
    /// threw, rejected or gave something that is not a string.
    IceServers(Result<String, ()>),
    /// Result of [`Effect::AcquireMedia`]; `Err` when getUserMedia failed.
    Media(Result<Media, ()>),
    /// Whether a camera exists (from `enumerateDevices`).
    CameraPresent(bool),
    /// The cameras' device ids, in the browser's order (empty before the
    /// person allowed the camera: ids are hidden until then).
    Cameras(Vec<String>),
    /// The person picked a device in the dialog.
    PickDevice(DeviceKind, String),
    /// The "switch camera" button, with what the current camera reports of
    /// itself (`facingMode`, `deviceId`).
    NextCamera { facing: Option<String>, device: Option<String> },
    /// Capping the outgoing video failed (no encoding yet, or refused).
    VideoLimitFailed,
    /// Putting a track on the video sender failed.
    SendVideoFailed,
    /// Result of [`Effect::StartCamera`].
    CameraStarted(bool),
    /// Result of [`Effect::StartMic`]: the new microphone's track replaced
    /// the old one in the shell (`true`), or getUserMedia failed and the
    /// old one goes on (`false`).
    MicStarted(bool),
    /// The local description is set (after CreateOffer or CreateAnswer).
    LocalDescriptionSet,
    /// The remote description is applied.
    RemoteDescriptionSet,
    /// A peer connection operation failed: creating it, an offer/answer,
    /// or applying a description.
    PeerError,
    /// The host's `startCall`/`acceptCall` threw (or there was no local
    /// description to give it).
    HostFailed,
    Candidate(CandidateInit),
    GatheringComplete,
    Connection(ConnState),
    ChannelOpen(Channel),
    ChannelClosed(Channel),
    ChannelMessage(Channel, String),
    /// A binary message on a channel (the protocol has none).
    BinaryMessage(Channel),
    /// The peer opened an in-band data channel of its own (the protocol
    /// has none); the shell holds it until `CloseForeignChannels`.
    ForeignChannel,
    /// The device's network changed (`online`, connection type change).
    NetworkChanged,
    /// Our end of the selected candidate pair has an address the device
    /// no longer has. The core concludes this itself from `PathEnd` and
    /// `AddressesFound`; as an input it stands for that conclusion.
    AddressGone,
    /// The answer to [`Effect::CheckAddress`]: the stats of our end of the
    /// selected candidate pair (`candidateType`, `address`,
    /// `relatedAddress`), as the browser gives them.
    PathEnd { candidate_type: String, address: Option<String>, related: Option<String> },
    /// The answer to [`Effect::ProbeAddresses`]: the address it was about,
    /// and the candidate lines the fresh gathering found.
    AddressesFound { ours: String, found: Vec<String> },
    /// Remote video frames arrive (`true`) or stopped (`false`).
    RemoteVideo(bool),
    Route(Route),
    /// The browser can share the screen (`getDisplayMedia` exists).
    CanShareScreen(bool),
    /// The browser can show a video in a floating window
    /// (`document.pictureInPictureEnabled`).
    CanPip(bool),
    /// The browser can route the remote audio to a chosen speaker
    /// (`setSinkId` on media elements).
    CanPickSpeaker(bool),
    /// Screen capture started (`true`) or was refused or cancelled.
    ScreenStarted(bool),
    /// The shared screen's track ended (the browser's own "Stop sharing").
    ScreenEnded,
    /// A `getStats` sample, taken with each route query.
    Stats(crate::quality::Sample),
    /// From the video sender's statistics (`Effect::QueryEstimate`): the
    /// selected pair's `availableOutgoingBitrate` in kbit/s and the video
    /// stream's `bytesSent`; `None`: the browser gives none.
    Estimate { kbps: Option<u32>, video_sent: Option<u64> },
    Click(Button),
    /// The time [`Call::poll_timeout`] named has come (or passed).
    Timeout,
    /// The shell caught a panic or an unexpected exception.
    Crashed,
}

/// Something the shell must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    LoadIceServers,
    /// Capture the microphone, and the camera if `video`.
    AcquireMedia { video: bool },
    /// Create the peer connection with an audio and a video transceiver and
    /// the negotiated channels. `video`: the video transceiver is used
    /// (sendrecv); otherwise it is inactive (`disableVideoCompletely`).
    CreatePeer { servers: Vec<IceServer>, relay_only: bool, video: bool },
    /// Create an offer and set it as local description; `ice_restart`: with
    /// new ICE credentials (`restartIce()`), for a renegotiation.
    CreateOffer { ice_restart: bool },
    CreateAnswer,
    /// Apply a remote description; as callee, also attach our tracks to the
    /// transceivers the offer created.
    SetRemote { offer: bool, sdp: String },
    /// Comes before each `SetRemote` of an offer: once it is applied, the
    /// transceivers of these mids carry the call (ours sending on them,
    /// theirs shown by `ShowRemote`) and every other audio or video
    /// transceiver is stopped, so the answer rejects it.
    UseMedia(crate::sdp::Plan),
    /// Close the data channels the peer opened (`Input::ForeignChannel`).
    CloseForeignChannels,
    /// Call the host with the current local description's SDP; a host
    /// that throws is reported as `Input::HostFailed`.
    HandToHost(HostCall),
    /// Send the current local description on the `renegotiation` channel
    /// (`{"type":"offer"|"answer","sdp":…}`).
    SendDescription,
    /// From now on, put the peer's tracks on the page's elements as they
    /// come (those that came already, at once). Not before our description
    /// is with the host: binding the first remote audio track starts the
    /// audio output, which held Chromium's main thread for 50–60 ms and,
    /// on a callee, the answer with it; no media can arrive before.
    ShowRemote,
    /// `window.calls.endCall()`.
    EndCall,
    AddCandidate(Option<CandidateInit>),
    Send(Channel, String),
    SetMic(bool),
    StartCamera(Camera),
    StopCamera,
    /// Capture the microphone with this device id; the new track replaces
    /// the old one in the shell, which reports `Input::MicStarted`. The
    /// core then puts it on the sender and carries the mute state over.
    StartMic(String),
    /// Route the remote audio to this speaker (`setSinkId`).
    SetSpeaker(String),
    /// Put this on the video sender (if the peer exists); failures come
    /// back as `Input::SendVideoFailed`. Our own preview shows what
    /// `Extras::preview` says.
    SendVideo(VideoSource),
    /// Put our microphone's track on the audio sender (media that came
    /// after the transceivers, see `Call::attach_media`).
    SendAudio,
    /// Look up the selected pair and the statistics of every stream:
    /// `Input::Route` and `Input::Stats`.
    QueryRoute,
    /// Look up only what the path is estimated to carry from us and what
    /// our video sent, from the video sender's own statistics (a small
    /// report): `Input::Estimate`.
    QueryEstimate,
    /// Find out whether our end of the selected candidate pair still has
    /// its address: report that end's stats as `Input::PathEnd`.
    CheckAddress,
    /// List the device's addresses now: gather afresh for
    /// `ice::ADDRESS_PROBE_MS` and report the candidate lines found as
    /// `Input::AddressesFound`, with this address (ours, to compare).
    ProbeAddresses(String),
    /// Ask for a screen to share (`getDisplayMedia`); the result comes
    /// back as `Input::ScreenStarted`.
    StartScreen,
    /// Stop the screen capture.
    StopScreen,
    /// Send our video so (a cap, a smaller picture, fewer frames, or
    /// none: `crate::congestion`); failures come back as
    /// `Input::VideoLimitFailed`.
    LimitVideo(VideoSend),
    /// Close the peer connection and stop all capture, including capture
    /// that completes later.
    ClosePeer,
    Log(String),
}
