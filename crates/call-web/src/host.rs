//! `window.calls`, the host's API (PROTOCOL.md section 2). Every value it
//! returns is untrusted; every call into it may throw.

use alloc::string::String;

use call_core::{HostApi, HostCall, Input};
use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};

use crate::event::input;
use crate::js::{log, then};

pub(crate) struct Host {
    calls: JsValue,
}

fn method(obj: &JsValue, name: &str) -> Option<Function> {
    if obj.is_undefined() || obj.is_null() {
        return None;
    }
    Reflect::get(obj, &JsValue::from_str(name)).ok()?.dyn_into::<Function>().ok()
}

impl Host {
    pub(crate) fn new(window: &web_sys::Window) -> Host {
        let calls = Reflect::get(window, &JsValue::from_str("calls")).unwrap_or(JsValue::UNDEFINED);
        Host { calls }
    }

    pub(crate) fn api(&self) -> HostApi {
        let has = |n| method(&self.calls, n).is_some();
        HostApi {
            present: self.calls.is_object(),
            start_call: has("startCall"),
            accept_call: has("acceptCall"),
            end_call: has("endCall"),
            get_ice_servers: has("getIceServers"),
        }
    }

    /// The avatar URL, if the host has one. Validated by the view code.
    pub(crate) fn avatar(&self) -> Option<String> {
        method(&self.calls, "getAvatar")?.call0(&self.calls).ok()?.as_string()
    }

    /// Calls `getIceServers()`, which returns a string or a promise of one
    /// (Desktop is async, old Android builds were sync).
    pub(crate) fn load_ice_servers(&self) {
        let Some(f) = method(&self.calls, "getIceServers") else {
            return input(Input::IceServers(Err(())));
        };
        let v = match f.call0(&self.calls) {
            Ok(v) => v,
            Err(_) => return input(Input::IceServers(Err(()))),
        };
        if let Some(s) = v.as_string() {
            return input(Input::IceServers(Ok(s)));
        }
        // Anything else is treated as a thenable; `Promise.resolve` adopts
        // it, and a plain non-string value resolves to itself (then refused).
        then(&Promise::resolve(&v), |r| {
            input(Input::IceServers(r.ok().and_then(|v| v.as_string()).ok_or(())));
        });
    }

    /// Hands the local SDP to the host. `false` if the host threw.
    pub(crate) fn hand_over(&self, which: HostCall, sdp: &str) -> bool {
        let name = match which {
            HostCall::StartCall => "startCall",
            HostCall::AcceptCall => "acceptCall",
        };
        match method(&self.calls, name) {
            Some(f) => f.call1(&self.calls, &JsValue::from_str(sdp)).is_ok(),
            None => false,
        }
    }

    pub(crate) fn end_call(&self) {
        if let Some(f) = method(&self.calls, "endCall") {
            if f.call0(&self.calls).is_err() {
                log("endCall threw");
            }
        }
    }
}

/// After a panic: schedule `window.calls.endCall()` through a bound JS
/// function, so that no wasm code runs when the timer fires.
pub(crate) fn end_call_later_without_wasm(ms: u64) {
    let Some(w) = web_sys::window() else { return };
    let calls = Reflect::get(&w, &JsValue::from_str("calls")).unwrap_or(JsValue::UNDEFINED);
    if let Some(f) = method(&calls, "endCall") {
        let bound = f.bind0(&calls);
        let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&bound, ms as i32);
    }
}
