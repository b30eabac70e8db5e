//! The device dialog (camera, microphone and, where `setSinkId` exists,
//! speaker) and the "switch camera" button: their events go to the core
//! (`Input::PickDevice`, `Button::Devices`, `Input::NextCamera`), which
//! decides; this module lists the devices, shows the dialog when the view
//! says so, and routes the remote audio to a speaker. Device labels are
//! shown as text, never markup.

use alloc::string::String;
use alloc::vec::Vec;

use js_sys::{Array, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{MediaDeviceInfo, MediaDeviceKind};

use call_core::{Button, DeviceKind as Kind, Input};

use crate::event::{dispatch, input, Ev};
use crate::js::{call_method, cb, get_str, log, then};

const SELECTS: [(&str, Kind); 3] = [("sel-cam", Kind::Camera), ("sel-mic", Kind::Mic), ("sel-spk", Kind::Speaker)];

use crate::dom::{by_id as el, doc};

fn kind_of(k: MediaDeviceKind) -> Option<Kind> {
    match k {
        MediaDeviceKind::Videoinput => Some(Kind::Camera),
        MediaDeviceKind::Audioinput => Some(Kind::Mic),
        MediaDeviceKind::Audiooutput => Some(Kind::Speaker),
        _ => None,
    }
}

/// All devices as (kind, id, label), in the browser's order.
fn list(f: impl FnOnce(Vec<(Kind, String, String)>) + 'static) {
    let Some(md) = web_sys::window().and_then(|w| w.navigator().media_devices().ok()) else { return };
    let Ok(p) = md.enumerate_devices() else { return };
    then(&p, move |r| {
        let Ok(arr) = r else { return };
        let arr: Array = arr.unchecked_into();
        let devices = arr
            .iter()
            .filter_map(|d| d.dyn_into::<MediaDeviceInfo>().ok())
            .filter_map(|d| Some((kind_of(d.kind())?, d.device_id(), d.label())))
            .filter(|(_, id, _)| !id.is_empty())
            .collect();
        f(devices)
    });
}

/// `setSinkId` on the remote audio element (Chromium, Firefox 116+).
pub(crate) fn can_pick_speaker() -> bool {
    el("remote-audio").is_some_and(|a| Reflect::has(&a, &"setSinkId".into()).unwrap_or(false))
}

/// Fills the dialog's lists; `current` are the ids in use.
fn fill(current: [Option<String>; 3]) {
    list(move |devices| {
        let Some(d) = doc() else { return };
        for ((id, kind), cur) in SELECTS.iter().zip(current.iter()) {
            let Some(select) = el(id) else { continue };
            select.set_text_content(None);
            for (_, dev_id, label) in devices.iter().filter(|(k, _, _)| k == kind) {
                let Ok(o) = d.create_element("option") else { continue };
                let _ = o.set_attribute("value", dev_id);
                o.set_text_content(Some(call_core::view::device_label(label, dev_id)));
                if cur.as_deref() == Some(dev_id.as_str()) {
                    let _ = o.set_attribute("selected", "");
                }
                let _ = select.append_child(&o);
            }
        }
    });
}

/// A value of the track's `getSettings()` (`deviceId`, `facingMode`).
pub(crate) fn setting(t: &web_sys::MediaStreamTrack, key: &str) -> Option<String> {
    get_str(&call_method(t, "getSettings", None)?, key)
}

/// The device id a track captures from.
pub(crate) fn track_device(t: &web_sys::MediaStreamTrack) -> Option<String> {
    setting(t, "deviceId")
}

/// Shows the dialog (filled, `current` as for [`fill`]) or hides it.
pub(crate) fn show(open: bool, current: [Option<String>; 3]) {
    let Some(dialog) = el("devices") else { return };
    if open {
        fill(current);
        let _ = dialog.remove_attribute("hidden");
    } else {
        let _ = dialog.set_attribute("hidden", "");
    }
    if let Some(b) = el("devices-btn") {
        let _ = b.set_attribute("aria-expanded", if open { "true" } else { "false" });
    }
}

/// Routes the remote audio to a speaker.
pub(crate) fn set_speaker(id: &str) {
    let Some(audio) = el("remote-audio") else { return };
    if let Some(p) = call_method(&audio, "setSinkId", Some(&JsValue::from_str(id))) {
        then(&js_sys::Promise::resolve(&p), |r| {
            if r.is_err() {
                log("the speaker could not be selected");
            }
        });
    }
}

/// Wires the dialog's lists and buttons.
pub(crate) fn listen() {
    for (id, kind) in SELECTS {
        let Some(select) = el(id) else { continue };
        let s2 = select.clone();
        let on_change = cb(move |_| {
            if let Some(v) = Reflect::get(&s2, &"value".into()).ok().and_then(|v| v.as_string()) {
                input(Input::PickDevice(kind, v));
            }
        });
        let _ = select.add_event_listener_with_callback("change", &on_change);
    }
    if let Some(b) = el("devices-btn") {
        let _ = b.add_event_listener_with_callback("click", &cb(|_| input(Input::Click(Button::Devices))));
    }
    if let Some(b) = el("switch-cam") {
        let _ = b.add_event_listener_with_callback("click", &cb(|_| dispatch(Ev::NextCamera)));
    }
}
