//! The browser shell of the Delta Chat call page.
//!
//! It owns the browser objects (peer connection, media, DOM, timers) and no
//! decisions: every event becomes an [`Input`] for the core's [`Call`], and
//! every [`Effect`] the core asks for is performed here. See ARCHITECTURE.md.
//!
//! Nothing that comes from outside may panic here: host return values,
//! remote messages and browser API failures all become inputs (`PeerError`,
//! `Media(Err)`, …) that the core turns into a message and a clean end.

#![no_std]

extern crate alloc;
#[cfg(not(target_arch = "wasm32"))]
extern crate std; // native builds (clippy, docs) get std's panic handler

mod debug;
mod devices;
mod dom;
mod event;
mod host;
mod js;
mod media;
mod netcheck;
mod peer;
mod tone;

use core::cell::RefCell;

use call_core::{Call, Effect, Input};
use event::{close_on_panic, input, Ev};
use js::{log, now_ms};
use wasm_bindgen::prelude::*;

#[cfg(target_feature = "atomics")]
compile_error!("the shell assumes one thread: build without the `atomics` target feature");

/// The shell's state, reachable from the event loop.
struct Global(RefCell<Option<Shell>>);

// SAFETY: wasm32 without the `atomics` target feature (checked above) runs
// exactly one thread, so this state is never shared between threads.
unsafe impl Sync for Global {}

static G: Global = Global(RefCell::new(None));

/// The event loop's handler (`event::dispatch` never re-enters it).
fn handle(ev: Ev) {
    if let Ok(mut s) = G.0.try_borrow_mut() {
        if let Some(shell) = s.as_mut() {
            shell.event(ev);
        }
    }
}

#[cfg(target_arch = "wasm32")]
#[global_allocator]
// SAFETY: single-threaded, as above.
static ALLOC: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };

/// Everything the shell holds.
struct Shell {
    call: Call,
    ui: dom::Ui,
    host: host::Host,
    peer: Option<peer::Peer>,
    /// Our capture, until `ClosePeer` stops it and it is gone with the
    /// call: a track that arrives later has nowhere to go and is stopped.
    media: Option<media::Local>,
    tone: tone::Tone,
    /// The one timeout armed for the core: its deadline and handle.
    wake: Option<(u64, i32)>,
    /// What that timeout calls (one function for the page's lifetime).
    on_wake: js_sys::Function,
    /// The peer's bounds' counts as last shown in the debug panel.
    counts: Option<call_core::guard::Counts>,
}

impl Shell {
    fn event(&mut self, ev: Ev) {
        // Capture that completes after `ClosePeer` (the person took a while
        // in the screen picker) has no holder: it must not keep the camera
        // light on (`Effect::ClosePeer`: "including capture that completes
        // later").
        let Some(media) = &mut self.media else {
            match ev {
                Ev::CameraTrack(t) | Ev::ScreenTrack(t) | Ev::MicTrack(t) => t.stop(),
                Ev::LocalStream(stream) => media::stop_stream(&stream),
                Ev::ForeignChannel(dc) => dc.close(),
                Ev::Core(i) => self.step(i),
                Ev::NextCamera | Ev::RemoteTrack => {}
            }
            return;
        };
        match ev {
            Ev::Core(i) => self.step(i),
            Ev::LocalStream(stream) => {
                for t in stream.get_tracks().iter() {
                    close_on_panic(&t);
                }
                let m = media.set_stream(stream);
                media::check_devices(); // ids exist once permitted
                // The preview shows the camera once the core accepted it
                // (`Extras::preview`, drawn after this step).
                self.step(Input::Media(Ok(m)));
            }
            Ev::CameraTrack(track) => {
                close_on_panic(&track);
                media.set_camera(track);
                self.step(Input::CameraStarted(true));
            }
            Ev::MicTrack(track) => {
                close_on_panic(&track);
                media.set_mic_track(track);
                self.step(Input::MicStarted(true));
            }
            Ev::NextCamera => {
                let cam = media.camera_track();
                let facing = cam.as_ref().and_then(|t| devices::setting(t, "facingMode"));
                let device = cam.as_ref().and_then(devices::track_device);
                self.step(Input::NextCamera { facing, device });
            }
            Ev::ScreenTrack(track) => {
                close_on_panic(&track);
                track.set_onended(Some(&js::cb(|_| input(Input::ScreenEnded))));
                media.set_screen(track);
                self.step(Input::ScreenStarted(true));
            }
            // Only once the core said `ShowRemote` (the handler is set then).
            Ev::RemoteTrack => self.show_remote(),
            Ev::ForeignChannel(dc) => {
                match &mut self.peer {
                    Some(p) => p.foreign.push(dc),
                    None => dc.close(),
                }
                self.step(Input::ForeignChannel);
            }
        }
    }

    fn step(&mut self, i: Input) {
        if i == Input::Timeout {
            self.wake = None; // it has fired
        }
        let now = now_ms();
        self.call.handle(now, i);
        while let Some(e) = self.call.poll_effect() {
            self.perform(e);
        }
        let counts = self.call.peer_counts();
        if counts != self.counts {
            self.counts = counts;
            debug::bounds(counts);
        }
        self.arm();
        let view = self.call.view();
        let extras = self.call.extras();
        self.tone.set(view.ringback);
        if self.ui.devices_toggled(&view) {
            let cam = self.media.as_ref().and_then(media::Local::camera_track).as_ref().and_then(devices::track_device);
            let mic = self.media.as_ref().and_then(media::Local::mic_track).and_then(devices::track_device);
            devices::show(view.devices, [cam, mic, None]);
        }
        if !view.hold {
            self.ui.render(&view);
            self.ui.timer(view.clock, now);
            self.ui.extras(&extras);
            self.ui.show_local(self.media.as_ref().and_then(|m| m.video(extras.preview)));
        }
    }

    /// Keeps exactly one JS timeout armed, at the core's next deadline.
    fn arm(&mut self) {
        let next = self.call.poll_timeout();
        if next == self.wake.map(|(at, _)| at) {
            return;
        }
        if let Some((_, handle)) = self.wake.take() {
            js::clear_timeout(handle);
        }
        if let Some(at) = next {
            if let Some(handle) = js::set_timeout(&self.on_wake, at.saturating_sub(now_ms())) {
                self.wake = Some((at, handle));
            }
        }
    }

    /// Puts the tracks of the transceivers that carry the call on the
    /// page's elements (those shown already stay as they are). The
    /// receivers exist from the description on (the caller's since its
    /// offer, long before `ontrack`): shown at the hand-over, while it
    /// rings, the audio output starts then and not as the call connects.
    fn show_remote(&self) {
        for track in self.peer.as_ref().map(peer::Peer::receiver_tracks).unwrap_or_default() {
            self.ui.show_remote(track);
        }
    }

    fn perform(&mut self, e: Effect) {
        match e {
            Effect::LoadIceServers => self.host.load_ice_servers(),
            Effect::AcquireMedia { video } => media::acquire(video),
            Effect::CreatePeer { servers, relay_only, video } => {
                match peer::Peer::new(&servers, relay_only, video) {
                    Ok(p) => self.peer = Some(p),
                    Err(_) => input(Input::PeerError),
                }
            }
            Effect::CreateOffer { ice_restart } => match &self.peer {
                Some(p) if ice_restart => p.restart_offer(),
                Some(p) => p.offer(),
                None => input(Input::PeerError),
            },
            Effect::CreateAnswer => match &self.peer {
                Some(p) => p.answer(),
                None => input(Input::PeerError),
            },
            Effect::SetRemote { offer, sdp } => match &self.peer {
                Some(p) => p.set_remote(offer, &sdp),
                None => input(Input::PeerError),
            },
            Effect::HandToHost(which) => {
                let sdp = self.peer.as_ref().and_then(|p| p.local_sdp());
                match sdp {
                    Some(sdp) if self.host.hand_over(which, &sdp) => {}
                    _ => input(Input::HostFailed),
                }
            }
            Effect::SendDescription => {
                if let Some(p) = &self.peer {
                    p.send_description();
                }
            }
            Effect::ShowRemote => {
                if let Some(p) = &self.peer {
                    p.on_track();
                }
                self.show_remote();
            }
            Effect::UseMedia(plan) => {
                if let Some(p) = &mut self.peer {
                    p.plan = Some(plan);
                }
            }
            Effect::CloseForeignChannels => {
                if let Some(p) = &mut self.peer {
                    p.close_foreign();
                }
            }
            Effect::EndCall => self.host.end_call(),
            Effect::AddCandidate(c) => {
                if let Some(p) = &self.peer {
                    p.add_candidate(c.as_ref());
                }
            }
            Effect::Send(ch, text) => {
                if let Some(p) = &self.peer {
                    p.send(ch, &text);
                }
            }
            Effect::SetMic(on) => self.media.iter().for_each(|m| m.set_mic(on)),
            Effect::StartCamera(which) => media::start_camera(which),
            Effect::StopCamera => self.media.iter_mut().for_each(media::Local::stop_camera),
            Effect::StartMic(id) => media::start_mic(&id),
            Effect::SetSpeaker(id) => devices::set_speaker(&id),
            Effect::SendVideo(source) => {
                let track = self.media.as_ref().and_then(|m| m.video(source));
                if let Some(p) = &self.peer {
                    p.send_video(track.as_ref());
                }
            }
            Effect::SendAudio => {
                if let (Some(p), Some(t)) = (&self.peer, self.media.as_ref().and_then(media::Local::mic_track)) {
                    p.send_audio(t);
                }
            }
            Effect::StartScreen => media::start_screen(),
            Effect::StopScreen => self.media.iter_mut().for_each(media::Local::stop_screen),
            Effect::LimitVideo(cap) => {
                if let Some(p) = &self.peer {
                    p.limit_video(cap);
                }
            }
            Effect::QueryRoute => {
                if let Some(p) = &self.peer {
                    p.query_route();
                }
            }
            Effect::QueryEstimate => {
                if let Some(p) = &self.peer {
                    p.query_estimate();
                }
            }
            Effect::CheckAddress => {
                if let Some(p) = &self.peer {
                    p.check_address();
                }
            }
            Effect::ProbeAddresses(ours) => netcheck::probe(ours),
            Effect::ClosePeer => {
                if let Some(p) = self.peer.take() {
                    p.close();
                }
                if let Some(mut m) = self.media.take() {
                    m.stop_all();
                }
                self.tone.set(false);
            }
            Effect::Log(s) => log(&s),
        }
    }
}

/// Last resort: a panic shows an error and ends the call from plain
/// JavaScript objects (the wasm instance is not trusted after a panic).
/// The message is not formatted: that keeps core::fmt out of the wasm.
#[cfg(target_arch = "wasm32")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    web_sys::console::error_1(&JsValue::from_str("call page panicked"));
    event::shut_down();
    dom::show_crash();
    host::end_call_later_without_wasm(call_core::params::FAILURE_LINGER_MS);
    core::arch::wasm32::unreachable()
}

/// Debug build only: panics on purpose, so that a test can prove the last
/// resort works (error screen, `endCall` without the wasm instance).
#[cfg(feature = "debug")]
#[wasm_bindgen]
#[allow(clippy::panic)]
pub fn debug_panic() {
    panic!("debug_panic called");
}

/// Entry point, run by the loader once the module is instantiated.
#[wasm_bindgen(start)]
pub fn start() {
    let Some(window) = web_sys::window() else { return };
    let Some(ui) = dom::Ui::new(&window) else { return };
    debug::init();
    let host = host::Host::new(&window);
    let loc = window.location();
    let search = loc.search().unwrap_or_default();
    let hash = loc.hash().unwrap_or_default();
    let started = Input::Started {
        search,
        hash,
        host: host.api(),
        webrtc: js_sys::Reflect::has(&window, &JsValue::from_str("RTCPeerConnection")).unwrap_or(false),
    };
    ui.set_avatar(host.avatar().as_deref());
    let shell = Shell {
        call: Call::new(),
        ui,
        host,
        peer: None,
        media: Some(media::Local::default()),
        tone: tone::Tone::default(),
        wake: None,
        on_wake: js::cb(|_| input(Input::Timeout)),
        counts: None,
    };
    if let Ok(mut s) = G.0.try_borrow_mut() {
        *s = Some(shell);
    }
    event::set_handler(handle);
    dom::listen(&window);
    devices::listen();
    media::watch_devices();
    input(started);
    input(Input::CanShareScreen(media::can_share_screen()));
    input(Input::CanPip(dom::can_pip()));
    input(Input::CanPickSpeaker(devices::can_pick_speaker()));
}
