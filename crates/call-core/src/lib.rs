//! The call core of the Delta Chat call page: every decision, no I/O.
//!
//! The browser shell (crate `call-web`) owns the `RTCPeerConnection`, the
//! media and the DOM; this crate owns what to do with them. It is driven like
//! a sans-IO protocol stack: feed an [`Input`] with the current time, drain
//! the [`Effect`]s, perform them, feed their results back, render the
//! [`View`].
//!
//! ```
//! use call_core::{Call, Effect, HostApi, Input};
//!
//! let mut call = Call::new();
//! call.handle(0, Input::Started {
//!     search: String::new(),
//!     hash: "#startCall".into(),
//!     host: HostApi::FULL,
//!     webrtc: true,
//! });
//! let mut effects = Vec::new();
//! while let Some(e) = call.poll_effect() {
//!     effects.push(e);
//! }
//! // The page asks the host for ICE servers and captures media, in parallel.
//! assert!(effects.contains(&Effect::LoadIceServers));
//! assert!(effects.contains(&Effect::AcquireMedia { video: true }));
//! assert_eq!(call.view().phase.as_str(), "connecting");
//! ```
//!
//! Where the rules come from: `PROTOCOL.md` (the wire and host contract).

#![no_std]

extern crate alloc;
#[cfg(test)]
extern crate std;

mod calling;
pub mod camera;
pub mod channel;
pub mod command;
mod controls;
pub mod guard;
pub mod i18n;
pub mod io;
pub mod ice;
pub mod json;
mod live;
pub mod machine;
pub mod media;
mod messages;
pub mod params;
pub mod payload;
pub mod quality;
pub mod restart;
pub mod congestion;
mod screen;
pub mod sdp;
mod setup;
pub mod stage;
pub mod text;
pub mod view;
pub mod vocab;

pub use channel::Channel;
pub use ice::{CandidateInit, IceServer};
pub use machine::{
    Button, Call, Camera, ConnState, DeviceKind, Effect, HostApi, HostCall, Input, Media, VideoSend, VideoSource, Wake,
};
pub use text::Msg;
pub use view::{Dev, Extras, Phase, Route, View};
