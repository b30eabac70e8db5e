//! Our media and the person's controls: what getUserMedia gave, the
//! microphone, camera and screen, the device dialog and every button
//! ([`crate::media`] holds their state). Part of [`Call`]'s rules;
//! `machine.rs` dispatches.

use alloc::string::String;

use crate::io::Effect;
use crate::machine::Call;
use crate::media::{Capture, Outcome as MediaOutcome};
use crate::stage::{Side, Stage};
use crate::text::Msg;
use crate::view::Dev;
use crate::vocab::{Button, DeviceKind, Camera, VideoSource, Media};

impl Call {
    /// Asks for the devices of the person's choice on the prompt (else the
    /// flags' default), once per call.
    pub(crate) fn request_media(&mut self) {
        let video = self.local.start().cam && self.flags.video_allowed();
        if let Some(video) = self.local.request(video) {
            self.out(Effect::AcquireMedia { video });
        }
    }

    pub(crate) fn media_result(&mut self, r: Result<Media, ()>) {
        match self.local.result(r) {
            MediaOutcome::Ignored => {}
            MediaOutcome::RetryWithoutVideo => {
                self.notice = Some(Msg::CameraUnavailable);
                self.out(Effect::AcquireMedia { video: false });
            }
            MediaOutcome::Ready(notice) => {
                if notice.is_some() {
                    self.notice = notice;
                }
                self.attach_media();
                self.send_muted_state();
            }
        }
    }

    /// Puts our captured tracks on the senders, once both exist: the
    /// microphone on the audio sender, the camera on the video sender
    /// (unless the screen is there). Whichever of the two comes last calls
    /// this; before both, it does nothing.
    pub(crate) fn attach_media(&mut self) {
        let senders = match &self.stage {
            Stage::Setup(s) => s.link.senders,
            Stage::Live(l) => l.link.senders,
            _ => false,
        };
        let Capture::Done(m) = self.local.capture() else { return };
        if !senders {
            return;
        }
        if m.audio {
            self.out(Effect::SendAudio);
            if self.local.mic() == Dev::Off {
                self.out(Effect::SetMic(false));
            }
        }
        if m.video && self.local.cam() == Dev::On && !self.local.sharing() {
            self.out(Effect::SendVideo(VideoSource::Camera));
        }
    }

    pub(crate) fn camera_started(&mut self, ok: bool) {
        if !ok && self.local.cam() == Dev::On {
            // A switch to another camera failed; the running one goes on.
            return self.log("the other camera could not be started");
        }
        self.local.camera_started(ok);
        if !ok {
            self.notice = Some(Msg::CameraUnavailable);
        } else {
            self.clear_notice(Msg::CameraUnavailable);
            // While sharing, the screen keeps the sender and the preview.
            if !self.local.sharing() {
                self.out(Effect::SendVideo(VideoSource::Camera));
            }
        }
        self.send_muted_state();
    }

    /// Another microphone started (`StartMic`): its track goes on the audio
    /// sender where there is one, muted if the person had muted (a new
    /// track starts enabled). A failure leaves the old microphone on.
    pub(crate) fn mic_started(&mut self, ok: bool) {
        if !ok {
            return self.log("the other microphone could not be started");
        }
        if self.link_ref().is_some_and(|l| l.senders) {
            self.out(Effect::SendAudio);
        }
        if self.local.mic() == Dev::Off {
            self.out(Effect::SetMic(false));
        }
    }

    /// Our camera runs (and video is allowed at all).
    pub(crate) fn camera_on(&self) -> bool {
        self.local.cam_available(self.flags.video_allowed()) && self.local.cam() == Dev::On
    }

    pub(crate) fn pick_device(&mut self, kind: DeviceKind, id: String) {
        match kind {
            DeviceKind::Camera => {
                self.local.pick_camera(id.clone());
                if self.camera_on() {
                    self.out(Effect::StartCamera(Camera::Device(id)));
                }
            }
            DeviceKind::Mic => {
                if self.local.mic() != Dev::None {
                    self.out(Effect::StartMic(id));
                }
            }
            DeviceKind::Speaker => self.out(Effect::SetSpeaker(id)),
        }
    }

    /// The camera facing the other way where the camera says how it faces,
    /// else the next one in the list.
    pub(crate) fn next_camera(&mut self, facing: Option<&str>, device: Option<&str>) {
        if !self.camera_on() {
            return;
        }
        if let Some(mode) = crate::camera::other_facing(facing) {
            return self.out(Effect::StartCamera(Camera::Facing(mode)));
        }
        if let Some(id) = self.local.camera_after(device) {
            self.local.pick_camera(id.clone());
            self.out(Effect::StartCamera(Camera::Device(id)));
        }
    }

    pub(crate) fn screen_started(&mut self, ok: bool) {
        let sharing = ok && self.in_call();
        self.local.set_sharing(sharing);
        if sharing {
            self.out(Effect::SendVideo(VideoSource::Screen));
        } else if ok {
            self.out(Effect::StopScreen); // the call moved on meanwhile
        }
        self.send_muted_state();
    }

    pub(crate) fn stop_sharing(&mut self) {
        if self.local.sharing() {
            self.local.set_sharing(false);
            self.out(Effect::StopScreen);
            // The camera, if on, goes back on the sender.
            let cam = if self.local.cam() == Dev::On { VideoSource::Camera } else { VideoSource::Nothing };
            self.out(Effect::SendVideo(cam));
            self.send_muted_state();
        }
    }

    pub(crate) fn click(&mut self, now: u64, b: Button) {
        let video_allowed = self.flags.video_allowed();
        let screen_ok = self.screen_available();
        match (&mut self.stage, b) {
            (Stage::Prompt { offer }, Button::Answer) => {
                let offer = core::mem::take(offer);
                self.prepare(now, Side::Callee { offer });
            }
            // Not before any call exists (a stray Shift+E on an idle page).
            (Stage::Idle, Button::End) => {}
            // Close on the screen of a damaged offer.
            (Stage::NotReceived, Button::End) => self.end(Msg::CallNotReceived),
            (_, Button::End) => self.end(Msg::CallEnded),
            // The prompt's toggles: a choice for the start of the call; no
            // device is opened before Answer.
            (Stage::Prompt { .. }, Button::Mic) => self.local.toggle_start_mic(),
            (Stage::Prompt { .. }, Button::Cam) => self.local.toggle_start_cam(video_allowed),
            (_, Button::Mic) => {
                if let Some(on) = self.local.toggle_mic() {
                    self.out(Effect::SetMic(on));
                    self.send_muted_state();
                }
            }
            (_, Button::Cam) if self.local.cam_available(video_allowed) => {
                if self.local.cam() == Dev::On {
                    self.local.camera_off();
                    self.out(Effect::StopCamera);
                    if !self.local.sharing() {
                        self.out(Effect::SendVideo(VideoSource::Nothing));
                    }
                    self.send_muted_state();
                } else {
                    // Reported on once the camera actually delivers.
                    let which = self.local.picked_camera().map_or(Camera::Default, |id| Camera::Device(id.into()));
                    self.out(Effect::StartCamera(which));
                }
            }
            (Stage::Live(l), Button::Quality) if l.quality.is_some() => {
                l.details = !l.details;
                if l.details {
                    // Fresh numbers now; then the fast polling (`timeout`).
                    self.out(Effect::QueryRoute);
                }
            }
            (_, Button::Devices) => self.local.toggle_devices(),
            (_, Button::Screen) if screen_ok => {
                if self.local.sharing() {
                    self.stop_sharing();
                } else {
                    self.out(Effect::StartScreen);
                }
            }
            _ => {}
        }
    }

    pub(crate) fn in_call(&self) -> bool {
        matches!(self.stage, Stage::Live(_))
    }

    /// Sharing needs the API, a call, and video allowed at all.
    pub(crate) fn screen_available(&self) -> bool {
        self.local.can_share() && self.in_call() && self.flags.video_allowed()
    }
}
