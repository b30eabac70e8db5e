//! A native peer for the Delta Chat call protocol (`PROTOCOL.md`), built on
//! [str0m](https://docs.rs/str0m) (sans-IO WebRTC) and the protocol code of
//! `call-core`: it answers or places a 1:1 call from the command line, with
//! the same SDP payloads, negotiated data channels (ids 1, 3, 5), trickle,
//! mute state and ICE restart over channel 5 as the call page, and echoes
//! the media it receives or sends a generated tone (PCMU) and picture
//! (H.264, [`h264`]). For test calls against the page and hosts. str0m does
//! no candidate gathering: STUN and TURN/UDP are done here ([`turn`]).
//!
//! The binary is `calls-peer` (`src/main.rs`); [`peer::run`] runs one call.

pub mod cli;
pub mod h264;
pub mod hash;
pub mod payload;
pub mod peer;
pub mod stun;
pub mod turn;

pub use cli::{Command, MediaMode, Options, Role};
pub use peer::{run, End, Error, Signaling, STOP};
