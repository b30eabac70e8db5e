//! The page's numbers: timeouts, bounds of the restart rules, video caps
//! and the ring-back cadence, each with where it comes from. A leaf: it
//! imports nothing of the crate.

/// How long `getIceServers()` may take before we go on without servers.
/// Hosts answer from memory in milliseconds; a stuck promise must not stall
/// the call (today's page waits forever).
pub const ICE_SERVERS_TIMEOUT_MS: u64 = 2000;
/// How long at most the screen keeps showing what it showed before a
/// command, while our description is made (`Setup::hold`): below the
/// 100 ms within which a change still reads as immediate, and longer than
/// a description without a TURN server takes (20–40 ms).
pub const SCREEN_HOLD_MS: u64 = 80;

/// After the remote description is applied, the connection must come up
/// within this time or the call is reported as failed. Chromium's own ICE
/// checks give up after about 30 s; a person waits no longer than this.
pub const CONNECT_TIMEOUT_MS: u64 = 20_000;
/// A failure message stays on screen this long before `endCall` closes the
/// page (Desktop closes the window at once on `endCall`).
pub const FAILURE_LINGER_MS: u64 = 3000;
/// After the connection reports `disconnected`, wait this long before
/// restarting ICE: Chromium's consent checks often recover a short gap by
/// themselves, and a restart for a 2 s hiccup would only add a flicker
/// (the Android client waits ~3 s too; PROTOCOL.md section 5).
pub const DISCONNECT_GRACE_MS: u64 = 3000;
/// An ICE restart that has not reconnected after this long is retried
/// (Android: ~8 s per attempt).
pub const RESTART_ATTEMPT_MS: u64 = 8000;
/// How long a restart offer may wait for its candidates (see
/// `hold_restart_offer`).
pub const HELD_OFFER_MS: u64 = 1000;
/// Restart attempts before the call is reported as lost (Android: 3).
pub const MAX_RESTARTS: u32 = 3;
/// How often the selected candidate pair and the quality statistics are
/// looked up in a call that is going well while nobody looks at the
/// details. Each look-up is a `getStats` (a few ms of the main thread) and
/// in a steady call the page has nothing else to do but the timer, so it
/// is rare (BENCHMARKS.md, cost of a call).
pub const ROUTE_POLL_MS: u64 = 10_000;
/// … and while the quality is not graded yet or not good, or the person
/// has the details open: then the numbers should follow the network.
pub const ROUTE_POLL_FAST_MS: u64 = 2000;
/// While our camera's video is sent, the path's estimate is also looked
/// up this often, from the video sender's own small report: a path that
/// narrows (a train leaving the city) is noticed within seconds
/// (`crate::congestion`).
pub const ESTIMATE_POLL_MS: u64 = 2000;
/// … every second while our video is sent smaller or paused for the
/// path: each step back up waits for samples in a row.
pub const CONGESTION_POLL_MS: u64 = 1000;
/// Outgoing video cap on a relayed path: the TURN server carries every
/// byte and is shared by many users (chatmail relays); 800 kbit/s is still
/// a sharp 640×480 picture in VP8.
pub const RELAY_VIDEO_KBPS: u32 = 800;
/// Outgoing video cap with the `lowData` flag.
pub const LOW_DATA_VIDEO_KBPS: u32 = 200;
/// At caps up to this the picture is also sent at half width and height:
/// at full size and 200 kbit/s VP8 stays sharp but stutters.
pub const HALF_SIZE_KBPS: u32 = 300;

/// The call timer shows whole seconds (`view::format_elapsed`): the call
/// is woken when the shown second changes, so the screen shows it then.
pub const CLOCK_TICK_MS: u64 = 1000;

/// The ring-back tone: 425 Hz, 1 s on, 4 s off (the European ring-back
/// cadence the original page used).
pub const RINGBACK_HZ: f32 = 425.0;
pub const RINGBACK_ON_MS: u32 = 1000;
pub const RINGBACK_OFF_MS: u32 = 4000;
/// How many cadences the tone is scheduled for, up front on the audio
/// clock: Delta Chat's core rings for 120 s and then ends the call
/// (PROTOCOL.md section 2), 24 cadences of 5 s; 30 leave a margin for a
/// host that rings a little longer.
pub const RINGBACK_CYCLES: u32 = 30;
/// The tone's loudness (gain, 1.0 is full scale): as loud as the original
/// page's ring-back, clearly below the call's own audio.
pub const RINGBACK_GAIN: f32 = 0.15;

/// The audio sender's `priority` and `networkPriority`: the voice before
/// the picture where the browser shares out a narrow path (Chromium's
/// bitrate allocation; DSCP marking where the platform allows it).
pub const AUDIO_PRIORITY: &str = "high";
