//! Local capture: microphone, camera and a shared screen.

use call_core::{Camera, Input, Media, VideoSource};
use js_sys::{Array, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{MediaDeviceInfo, MediaDeviceKind, MediaDevices, MediaStream, MediaStreamConstraints, MediaStreamTrack};

use crate::event::{dispatch, input, Ev};
use crate::js::{cb, err_name, log, then};

/// The local tracks we send.
#[derive(Default)]
pub(crate) struct Local {
    mic: Option<MediaStreamTrack>,
    cam: Option<MediaStreamTrack>,
    screen: Option<MediaStreamTrack>,
}

fn devices() -> Option<MediaDevices> {
    web_sys::window()?.navigator().media_devices().ok()
}

fn tracks(stream: &MediaStream, video: bool) -> Option<MediaStreamTrack> {
    let list = if video { stream.get_video_tracks() } else { stream.get_audio_tracks() };
    list.get(0).dyn_into::<MediaStreamTrack>().ok()
}

impl Local {
    pub(crate) fn set_stream(&mut self, stream: MediaStream) -> Media {
        self.mic = tracks(&stream, false);
        self.cam = tracks(&stream, true);
        Media { audio: self.mic.is_some(), video: self.cam.is_some() }
    }

    /// A new microphone track (another device) replaces the old one; the
    /// core then puts it on the sender and mutes it if need be.
    pub(crate) fn set_mic_track(&mut self, t: MediaStreamTrack) {
        if let Some(old) = self.mic.replace(t) {
            old.stop();
        }
    }

    pub(crate) fn mic_track(&self) -> Option<&MediaStreamTrack> {
        self.mic.as_ref()
    }

    pub(crate) fn camera_track(&self) -> Option<MediaStreamTrack> {
        self.cam.clone()
    }

    /// The track for what the core put on the video sender.
    pub(crate) fn video(&self, source: VideoSource) -> Option<MediaStreamTrack> {
        match source {
            VideoSource::Nothing => None,
            VideoSource::Camera => self.cam.clone(),
            VideoSource::Screen => self.screen.clone(),
        }
    }

    pub(crate) fn set_camera(&mut self, t: MediaStreamTrack) {
        if let Some(old) = self.cam.replace(t) {
            old.stop();
        }
    }

    pub(crate) fn set_mic(&self, on: bool) {
        if let Some(t) = &self.mic {
            t.set_enabled(on);
        }
    }

    /// Stops the capture itself (the camera light goes off), not just the
    /// sending.
    pub(crate) fn stop_camera(&mut self) {
        if let Some(t) = self.cam.take() {
            t.stop();
        }
    }

    pub(crate) fn set_screen(&mut self, t: MediaStreamTrack) {
        if let Some(old) = self.screen.replace(t) {
            old.stop();
        }
    }

    pub(crate) fn stop_screen(&mut self) {
        if let Some(t) = self.screen.take() {
            t.set_onended(None);
            t.stop();
        }
    }

    pub(crate) fn stop_all(&mut self) {
        self.stop_camera();
        self.stop_screen();
        if let Some(t) = self.mic.take() {
            t.stop();
        }
    }
}

/// `{key: {exact: value}}`.
fn exact(key: &str, value: &str) -> JsValue {
    let inner = js_sys::Object::new();
    let outer = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&inner, &"exact".into(), &JsValue::from_str(value));
    let _ = js_sys::Reflect::set(&outer, &key.into(), &inner);
    outer.into()
}

/// Calls getUserMedia; `f` gets the stream, or `None` on any failure.
fn get_user_media(audio: JsValue, video: JsValue, f: impl FnOnce(Option<MediaStream>) + 'static) {
    let c = MediaStreamConstraints::new();
    c.set_audio(&audio);
    c.set_video(&video);
    let p = devices().ok_or(JsValue::NULL).and_then(|md| md.get_user_media_with_constraints(&c));
    let p = p.unwrap_or_else(|e| Promise::reject(&e));
    then(&p, move |r| match r {
        Ok(s) => f(s.dyn_into::<MediaStream>().ok()),
        Err(e) => {
            log(&["getUserMedia failed: ", &err_name(&e)].concat());
            f(None)
        }
    });
}

/// Captures the microphone, and the camera when `video`; the result comes
/// back as [`Ev::LocalStream`] or `Input::Media(Err)`.
pub(crate) fn acquire(video: bool) {
    get_user_media(JsValue::TRUE, JsValue::from_bool(video), |s| match s {
        Some(s) => dispatch(Ev::LocalStream(s)),
        None => input(Input::Media(Err(()))),
    });
}

/// Turns the camera on again during the call, or switches cameras.
pub(crate) fn start_camera(which: Camera) {
    let video = match which {
        Camera::Default => JsValue::TRUE,
        Camera::Device(id) => exact("deviceId", &id),
        Camera::Facing(mode) => exact("facingMode", mode),
    };
    get_user_media(JsValue::FALSE, video, |s| match s.and_then(|s| tracks(&s, true)) {
        Some(t) => dispatch(Ev::CameraTrack(t)),
        None => input(Input::CameraStarted(false)),
    });
}

/// Switches to microphone `id`; the track comes back as [`Ev::MicTrack`],
/// a failure as `MicStarted(false)`.
pub(crate) fn start_mic(id: &str) {
    get_user_media(exact("deviceId", id), JsValue::FALSE, |s| match s.and_then(|s| tracks(&s, false)) {
        Some(t) => dispatch(Ev::MicTrack(t)),
        None => input(Input::MicStarted(false)),
    });
}

/// Stops every track of a stream that came too late.
pub(crate) fn stop_stream(stream: &MediaStream) {
    for t in stream.get_tracks().iter() {
        t.unchecked_into::<MediaStreamTrack>().stop();
    }
}

/// `getDisplayMedia` exists (desktop browsers; not Android WebView).
pub(crate) fn can_share_screen() -> bool {
    devices().is_some_and(|md| js_sys::Reflect::has(&md, &"getDisplayMedia".into()).unwrap_or(false))
}

/// Asks the person to pick a screen or window; the track comes back as
/// [`Ev::ScreenTrack`], a refusal or cancel as `ScreenStarted(false)`.
pub(crate) fn start_screen() {
    let p = devices().and_then(|md| {
        let f: js_sys::Function = js_sys::Reflect::get(&md, &"getDisplayMedia".into()).ok()?.dyn_into().ok()?;
        let c = js_sys::Object::new();
        js_sys::Reflect::set(&c, &"video".into(), &JsValue::TRUE).ok()?;
        f.call1(&md, &c).ok()
    });
    let Some(p) = p else { return input(Input::ScreenStarted(false)) };
    then(&Promise::resolve(&p), |r| {
        match r.ok().and_then(|s| s.dyn_into::<MediaStream>().ok()).and_then(|s| tracks(&s, true)) {
            Some(t) => dispatch(Ev::ScreenTrack(t)),
            None => {
                log("screen sharing refused or cancelled");
                input(Input::ScreenStarted(false))
            }
        }
    });
}

/// Reports the cameras: whether one exists, and their ids (hidden until
/// the person allows the camera).
pub(crate) fn check_devices() {
    let Some(md) = devices() else { return };
    let Ok(p) = md.enumerate_devices() else { return };
    then(&p, |r| {
        let Ok(list) = r else { return };
        let list: Array = list.unchecked_into();
        let cams: alloc::vec::Vec<MediaDeviceInfo> = list
            .iter()
            .filter_map(|d| d.dyn_into::<MediaDeviceInfo>().ok())
            .filter(|d| d.kind() == MediaDeviceKind::Videoinput)
            .collect();
        input(Input::CameraPresent(!cams.is_empty()));
        input(Input::Cameras(cams.iter().map(|d| d.device_id()).filter(|id| !id.is_empty()).collect()));
    });
}

/// Reports the cameras now and whenever devices change.
pub(crate) fn watch_devices() {
    check_devices();
    if let Some(md) = devices() {
        md.set_ondevicechange(Some(&cb(|_| check_devices())));
    }
}
