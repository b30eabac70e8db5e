//! The words the core's modules share: what the host provides, buttons,
//! devices, connection states, what capture gave, deadlines. Leaf types:
//! they import only the numbers of [`crate::params`].

use alloc::string::String;

use crate::params::HALF_SIZE_KBPS;

/// How our video is sent (`Effect::LimitVideo`): the sender's encoding
/// parameters, no renegotiation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoSend {
    /// `maxBitrate` in kbit/s (`None`: the browser's own).
    pub max_kbps: Option<u32>,
    /// `scaleResolutionDownBy`: 1, 2 or 4.
    pub scale: u32,
    /// `maxFramerate` (`None`: the camera's).
    pub max_fps: Option<u32>,
    /// `active`: false sends no video at all (paused).
    pub active: bool,
}

impl VideoSend {
    /// As the browser starts.
    pub const FREE: VideoSend = VideoSend { max_kbps: None, scale: 1, max_fps: None, active: true };

    /// Capped at `kbps`; at caps up to `HALF_SIZE_KBPS` also at half size.
    pub fn capped(kbps: u32) -> VideoSend {
        VideoSend { max_kbps: Some(kbps), scale: if kbps <= HALF_SIZE_KBPS { 2 } else { 1 }, ..VideoSend::FREE }
    }
}

/// Which members of `window.calls` the host provides.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HostApi {
    pub present: bool,
    pub start_call: bool,
    pub accept_call: bool,
    pub end_call: bool,
    pub get_ice_servers: bool,
}

impl HostApi {
    /// A host with everything.
    pub const FULL: HostApi =
        HostApi { present: true, start_call: true, accept_call: true, end_call: true, get_ice_servers: true };
}

/// A button the person pressed (or its keyboard shortcut).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Button {
    Answer,
    /// End, or Decline while prompting.
    End,
    Mic,
    Cam,
    /// Start or stop sharing the screen.
    Screen,
    /// The connection quality indicator: shows or hides its details.
    Quality,
    /// Opens or closes the device dialog.
    Devices,
    /// The help button and `?`: shows or hides the list of shortcuts.
    Help,
    /// Escape: hides the list of shortcuts (never ends the call).
    CloseHelp,
}

/// A kind of device the person can pick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKind {
    Camera,
    Mic,
    Speaker,
}

/// Which camera to capture (`Effect::StartCamera`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Camera {
    /// The browser's default camera.
    Default,
    /// This device.
    Device(String),
    /// The camera facing this way (`user`, `environment`).
    Facing(&'static str),
}

/// What goes on the video sender and in our own preview.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoSource {
    Nothing,
    Camera,
    Screen,
}

/// `RTCPeerConnection.connectionState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnState {
    New,
    Connecting,
    Connected,
    Disconnected,
    Failed,
    Closed,
}

/// What getUserMedia produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Media {
    pub audio: bool,
    pub video: bool,
}

/// What a deadline of the call is for (tests and the log name them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// `getIceServers()` gets no longer.
    IceServers,
    /// Our description goes to the host by now at the latest.
    IceWait,
    /// ICE must have connected by now.
    Connect,
    /// The failure message has shown long enough: `endCall`.
    EndAfterFailure,
    /// The next route and quality query.
    Route,
    /// The grace period after `disconnected` is over.
    Grace,
    /// An ICE restart attempt ran out of time.
    Restart,
    /// A held restart offer goes out now at the latest.
    HeldOffer,
    /// The screen shows the call now, described or not.
    Screen,
    /// A mute state or a restart offer that came faster than the peer's
    /// bounds allow (`crate::guard`) is taken now.
    Peer,
    /// The call timer shows the next second (`CLOCK_TICK_MS`).
    Clock,
}

/// Which host method receives the local description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostCall {
    StartCall,
    AcceptCall,
}

/// How media reaches the peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Unknown,
    /// Directly (host, server-reflexive or peer-reflexive candidates).
    P2p,
    /// Through a TURN server on either side.
    Relay,
}

impl Route {
    pub fn as_str(self) -> &'static str {
        match self {
            Route::Unknown => "",
            Route::P2p => "p2p",
            Route::Relay => "relay",
        }
    }

    /// From the candidate types of the selected pair (`"relay"`, `"host"`…).
    pub fn from_pair(local_type: &str, remote_type: &str) -> Route {
        if local_type == "relay" || remote_type == "relay" {
            Route::Relay
        } else {
            Route::P2p
        }
    }
}
