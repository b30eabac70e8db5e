//! Our own media: what was asked of getUserMedia, what arrived, what each
//! control shows, and whether our screen is shared. The call
//! ([`crate::machine`]) decides when; this module keeps the facts and the
//! rules that need nothing else.

use alloc::string::String;
use alloc::vec::Vec;

use crate::vocab::{Button, Media};
use crate::text::Msg;
use crate::view::Dev;

/// The getUserMedia request of the call (one per call, with one retry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capture {
    NotAsked,
    /// Under way; `video`: the camera is included.
    Asking { video: bool },
    /// Done, with what came (nothing at all on failure).
    Done(Media),
}

/// What a getUserMedia result means for the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Not asked for: ignored.
    Ignored,
    /// The camera failed too: ask again for the microphone alone.
    RetryWithoutVideo,
    /// Media is known now (possibly none), with a notice to show if any.
    Ready(Option<Msg>),
}

#[derive(Debug, Clone)]
pub struct Local {
    capture: Capture,
    /// A camera exists (from the device list, or one delivered video).
    camera_present: bool,
    /// What the controls show.
    mic: Dev,
    cam: Dev,
    /// The browser can share a screen (`getDisplayMedia` exists).
    can_share: bool,
    /// Our screen is on the video sender.
    sharing: bool,
    /// The cameras' device ids (for "switch camera").
    cameras: Vec<String>,
    /// The camera the person picked (dialog or switch), if any.
    picked_camera: Option<String>,
    /// The device dialog is open.
    devices_open: bool,
    /// The list of shortcuts is shown.
    help_open: bool,
    /// The browser offers picture-in-picture.
    can_pip: bool,
    /// The browser can route the remote audio to a chosen speaker.
    can_pick_speaker: bool,
    /// What the person chose for the start of the call (on the prompt):
    /// the microphone on, the camera on. A choice, not a device: nothing
    /// is opened before the call is answered.
    start: Choice,
}

/// The person's choice for the start of the call, made on the prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Choice {
    pub mic: bool,
    pub cam: bool,
}

impl Default for Local {
    fn default() -> Self {
        Local {
            capture: Capture::NotAsked,
            camera_present: false,
            mic: Dev::None,
            cam: Dev::None,
            can_share: false,
            sharing: false,
            cameras: Vec::new(),
            picked_camera: None,
            devices_open: false,
            help_open: false,
            can_pip: false,
            can_pick_speaker: false,
            start: Choice { mic: true, cam: true },
        }
    }
}

impl Local {
    pub fn capture(&self) -> Capture {
        self.capture
    }

    pub fn mic(&self) -> Dev {
        self.mic
    }

    pub fn cam(&self) -> Dev {
        self.cam
    }

    pub fn sharing(&self) -> bool {
        self.sharing
    }

    pub fn can_share(&self) -> bool {
        self.can_share
    }

    /// Media has been captured (or given up on): the call can go on.
    pub fn ready(&self) -> bool {
        matches!(self.capture, Capture::Done(_))
    }

    /// The choice for the start of the call.
    pub fn start(&self) -> Choice {
        self.start
    }

    /// Sets where the camera's choice starts (`noOutgoingVideoInitially`:
    /// off).
    pub fn set_start_cam(&mut self, on: bool) {
        self.start.cam = on;
    }

    /// The prompt's microphone toggle.
    pub fn toggle_start_mic(&mut self) {
        self.start.mic = !self.start.mic;
    }

    /// The prompt's camera toggle, where it exists (`prompt_controls`).
    pub fn toggle_start_cam(&mut self, video_allowed: bool) {
        if self.camera_present && video_allowed {
            self.start.cam = !self.start.cam;
        }
    }

    /// What the prompt's toggles show: the choice, and no camera toggle
    /// without a camera or with video disabled.
    pub fn prompt_controls(&self, video_allowed: bool) -> (Dev, Dev) {
        let dev = |on: bool| if on { Dev::On } else { Dev::Off };
        let cam = if self.camera_present && video_allowed { dev(self.start.cam) } else { Dev::None };
        (dev(self.start.mic), cam)
    }

    /// Asks for the microphone, and the camera if `video`; `None` if the
    /// request was made already.
    pub fn request(&mut self, video: bool) -> Option<bool> {
        if self.capture != Capture::NotAsked {
            return None;
        }
        self.capture = Capture::Asking { video };
        Some(video)
    }

    /// A getUserMedia result.
    pub fn result(&mut self, r: Result<Media, ()>) -> Outcome {
        let Capture::Asking { video: asked_video } = self.capture else { return Outcome::Ignored };
        match r {
            Ok(m) => {
                // Video that was not asked for (`disableVideoCompletely`,
                // `noOutgoingVideoInitially`, the camera chosen off) is not
                // ours to send, whatever the browser delivered (found by
                // fuzzing: it reached the video sender).
                let m = Media { video: m.video && asked_video, ..m };
                let mut notice = None;
                if asked_video && !m.video {
                    notice = Some(Msg::CameraUnavailable);
                }
                if !m.audio {
                    notice = Some(self.no_microphone(m.video));
                }
                self.set(m);
                Outcome::Ready(notice)
            }
            // The camera may be missing or refused while the microphone
            // works: try again with audio alone before giving up on both.
            Err(()) if asked_video => {
                self.capture = Capture::Asking { video: false };
                Outcome::RetryWithoutVideo
            }
            Err(()) => {
                let notice = self.no_microphone(false);
                self.set(Media { audio: false, video: false });
                Outcome::Ready(Some(notice))
            }
        }
    }

    /// The notice when the microphone is missing: whether we can be seen.
    /// A camera left off by choice (on the prompt, or by the flag) was not
    /// asked for, so it is not missing: it can be turned on.
    fn no_microphone(&self, video: bool) -> Msg {
        if video || (!self.start.cam && self.camera_present) {
            Msg::NoMicrophone
        } else {
            Msg::NoMedia
        }
    }

    fn set(&mut self, m: Media) {
        self.capture = Capture::Done(m);
        // Chosen off on the prompt: the track starts disabled (the call's
        // `SetMic(false)`), the control shows it muted.
        self.mic = match (m.audio, self.start.mic) {
            (false, _) => Dev::None,
            (true, true) => Dev::On,
            (true, false) => Dev::Off,
        };
        self.cam = if m.video { Dev::On } else { Dev::Off };
        if m.video {
            self.camera_present = true;
        }
    }

    pub fn set_camera_present(&mut self, present: bool) {
        self.camera_present = present;
    }

    pub fn set_cameras(&mut self, ids: Vec<String>) {
        self.cameras = ids;
    }

    /// How many cameras the device list names: "switch camera" shows
    /// with two or more.
    pub fn cameras(&self) -> usize {
        self.cameras.len()
    }

    pub fn pick_camera(&mut self, id: String) {
        self.picked_camera = Some(id);
    }

    pub fn picked_camera(&self) -> Option<&str> {
        self.picked_camera.as_deref()
    }

    /// The camera after `current` in the list (`crate::camera::after`).
    pub fn camera_after(&self, current: Option<&str>) -> Option<String> {
        let ids: Vec<&str> = self.cameras.iter().map(String::as_str).collect();
        crate::camera::after(&ids, current.or(self.picked_camera.as_deref())).map(String::from)
    }

    pub fn toggle_devices(&mut self) {
        self.devices_open = !self.devices_open;
    }

    pub fn devices_open(&self) -> bool {
        self.devices_open
    }

    /// `Button::Help` toggles the list of shortcuts, `CloseHelp` hides it.
    pub fn help(&mut self, b: Button) {
        self.help_open = b == Button::Help && !self.help_open;
    }

    pub fn help_open(&self) -> bool {
        self.help_open
    }

    pub fn set_can_pip(&mut self, can: bool) {
        self.can_pip = can;
    }

    pub fn can_pip(&self) -> bool {
        self.can_pip
    }

    pub fn set_can_pick_speaker(&mut self, can: bool) {
        self.can_pick_speaker = can;
    }

    pub fn can_pick_speaker(&self) -> bool {
        self.can_pick_speaker
    }

    pub fn set_can_share(&mut self, can: bool) {
        self.can_share = can;
    }

    /// The camera control exists: video allowed, a camera, media captured.
    pub fn cam_available(&self, video_allowed: bool) -> bool {
        video_allowed && self.camera_present && self.ready()
    }

    /// Toggles the microphone; the new state, or `None` without one.
    pub fn toggle_mic(&mut self) -> Option<bool> {
        self.mic = match self.mic {
            Dev::None => return None,
            Dev::On => Dev::Off,
            Dev::Off => Dev::On,
        };
        Some(self.mic == Dev::On)
    }

    /// The camera was turned off by the person.
    pub fn camera_off(&mut self) {
        self.cam = Dev::Off;
    }

    /// The camera (re)started, or failed to.
    pub fn camera_started(&mut self, ok: bool) {
        self.cam = if ok { Dev::On } else { Dev::Off };
    }

    pub fn set_sharing(&mut self, on: bool) {
        self.sharing = on;
    }

    /// What the peer is told on the `mutedState` channel. A shared screen
    /// is video the other side should see.
    pub fn muted_state(&self) -> crate::channel::MutedState {
        crate::channel::MutedState {
            audio_enabled: self.mic == Dev::On,
            video_enabled: self.cam == Dev::On || self.sharing,
            video_paused: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AV: Media = Media { audio: true, video: true };

    #[test]
    fn one_request_and_one_retry_without_the_camera() {
        let mut l = Local::default();
        assert_eq!(l.result(Ok(AV)), Outcome::Ignored, "not asked");
        assert_eq!(l.request(true), Some(true));
        assert_eq!(l.request(true), None, "asked once");
        assert_eq!(l.result(Err(())), Outcome::RetryWithoutVideo);
        assert_eq!(l.capture(), Capture::Asking { video: false });
        assert_eq!(l.result(Err(())), Outcome::Ready(Some(Msg::NoMedia)));
        assert!(l.ready());
        assert_eq!((l.mic(), l.cam()), (Dev::None, Dev::Off));
        assert_eq!(l.result(Ok(AV)), Outcome::Ignored, "a late second result");
    }

    #[test]
    fn partial_media_says_what_is_missing() {
        let mut l = Local::default();
        l.request(true);
        assert_eq!(l.result(Ok(Media { audio: true, video: false })), Outcome::Ready(Some(Msg::CameraUnavailable)));
        let mut l = Local::default();
        l.request(true);
        assert_eq!(l.result(Ok(Media { audio: false, video: true })), Outcome::Ready(Some(Msg::NoMicrophone)));
        assert!(l.cam_available(true), "a camera delivered: it exists");
        assert!(!l.cam_available(false), "not with video disabled");
    }

    #[test]
    fn the_prompt_choice_is_kept_for_the_start_of_the_call() {
        let mut l = Local::default();
        assert_eq!(l.prompt_controls(true), (Dev::On, Dev::None), "no camera known: no camera toggle");
        l.toggle_start_cam(true);
        assert!(l.start().cam, "an absent toggle changes nothing");
        l.set_camera_present(true);
        assert_eq!(l.prompt_controls(false), (Dev::On, Dev::None), "video disabled: no camera toggle");
        l.toggle_start_mic();
        l.toggle_start_cam(true);
        assert_eq!(l.prompt_controls(true), (Dev::Off, Dev::Off));
        assert_eq!((l.mic(), l.cam()), (Dev::None, Dev::None), "nothing captured");
        l.request(l.start().cam);
        assert_eq!(l.capture(), Capture::Asking { video: false });
        assert_eq!(l.result(Ok(Media { audio: true, video: false })), Outcome::Ready(None));
        assert_eq!((l.mic(), l.cam()), (Dev::Off, Dev::Off), "muted, the camera off and can be turned on");
        assert!(!l.muted_state().audio_enabled);
        assert_eq!(l.toggle_mic(), Some(true), "unmuting works as in any call");
    }

    #[test]
    fn muted_state_counts_a_shared_screen_as_video() {
        let mut l = Local::default();
        l.request(true);
        l.result(Ok(AV));
        assert_eq!(l.toggle_mic(), Some(false));
        l.camera_off();
        assert!(!l.muted_state().video_enabled);
        l.set_sharing(true);
        assert!(l.muted_state().video_enabled);
        assert!(!l.muted_state().audio_enabled);
    }
}
