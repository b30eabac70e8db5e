//! The little glue the shell needs over wasm-bindgen: callbacks, promises,
//! timers, time and logging. Every callback goes through one boxed closure
//! type, so wasm-bindgen emits one trampoline instead of one per call site
//! (measured: the page must fit in 80 kB). A leaf: it imports no other
//! module of the crate, so every module may use it.

use alloc::boxed::Box;

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// A JS function that calls `f` for the page's lifetime (event handlers).
pub(crate) fn cb(f: impl FnMut(JsValue) + 'static) -> Function {
    Closure::wrap(Box::new(f) as Box<dyn FnMut(JsValue)>).into_js_value().unchecked_into()
}

#[wasm_bindgen]
extern "C" {
    /// A promise seen through a type of our own, to call `then` with a
    /// plain function (js-sys's `then` wants a closure).
    #[wasm_bindgen(js_name = Promise)]
    type Thenable;
    #[wasm_bindgen(method, js_name = then)]
    fn then_fn(this: &Thenable, ok: &Function) -> JsValue;
}

type Once = Box<dyn FnOnce(JsValue)>;

/// A JS function that calls `f` once and is then freed. (Never called, it
/// would live as long as the page: a wasm-bindgen closure is freed by its
/// call.)
fn once(f: Once) -> Function {
    Closure::once_into_js(move |v: JsValue| f(v)).unchecked_into()
}

/// Runs `f` with the outcome of `p` (fulfilled → `Ok`, rejected → `Err`).
/// One callback that always runs: `Promise.allSettled` turns either outcome
/// into a fulfilment. (A pair of callbacks, one for each outcome, left the
/// one not taken alive for good: one closure per `getStats` poll, a heap
/// growing through an hour-long call.)
pub(crate) fn then(p: &Promise, f: impl FnOnce(Result<JsValue, JsValue>) + 'static) {
    settle(p, Box::new(f))
}

type Settled = Box<dyn FnOnce(Result<JsValue, JsValue>)>;

/// [`then`] without its type parameter: one copy of this in the binary.
fn settle(p: &Promise, f: Settled) {
    let settled = Promise::all_settled(&js_sys::Array::of1(p));
    let done = once(Box::new(move |list| {
        let get = |v: &JsValue, k: &str| js_sys::Reflect::get(v, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED);
        let outcome = js_sys::Reflect::get(&list, &JsValue::from_f64(0.0)).unwrap_or(JsValue::UNDEFINED);
        f(if get(&outcome, "status").as_string().as_deref() == Some("fulfilled") {
            Ok(get(&outcome, "value"))
        } else {
            Err(get(&outcome, "reason"))
        })
    }));
    let _ = settled.unchecked_ref::<Thenable>().then_fn(&done);
}

/// Runs `f` after `ms` milliseconds.
pub(crate) fn after(ms: u64, f: impl FnOnce() + 'static) {
    let Some(w) = web_sys::window() else { return };
    let f = once(Box::new(move |_| f()));
    let ms = ms.min(i32::MAX as u64) as i32;
    let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&f, ms);
}

/// Calls `f` after `ms` milliseconds; the handle cancels it.
pub(crate) fn set_timeout(f: &Function, ms: u64) -> Option<i32> {
    let ms = ms.min(i32::MAX as u64) as i32;
    web_sys::window()?.set_timeout_with_callback_and_timeout_and_arguments_0(f, ms).ok()
}

pub(crate) fn clear_timeout(handle: i32) {
    if let Some(w) = web_sys::window() {
        w.clear_timeout_with_handle(handle);
    }
}

/// Milliseconds since the page started, monotonic.
pub(crate) fn now_ms() -> u64 {
    let t = web_sys::window().and_then(|w| w.performance()).map(|p| p.now()).unwrap_or(0.0);
    if t.is_finite() && t > 0.0 {
        t as u64
    } else {
        0
    }
}

/// Logs to the console (and the debug panel in the debug build).
pub(crate) fn log(s: &str) {
    web_sys::console::log_1(&JsValue::from_str(s));
    #[cfg(feature = "debug")]
    if let Some(e) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.get_element_by_id("debug-log")) {
        let line = [&call_core::json::itoa(now_ms()), " ", s, "\n"].concat();
        let _ = e.insert_adjacent_text("beforeend", &line);
    }
}

/// The `name` of a DOMException (`NotAllowedError`, …) for the log.
pub(crate) fn err_name(e: &JsValue) -> alloc::string::String {
    get_str(e, "name").unwrap_or_default()
}

/// Calls `obj[name](arg?)` where the method may be missing (APIs that
/// web-sys lacks or that old WebViews lack); `None` if it is or throws.
pub(crate) fn call_method(obj: &JsValue, name: &str, arg: Option<&JsValue>) -> Option<JsValue> {
    let f: js_sys::Function = js_sys::Reflect::get(obj, &JsValue::from_str(name)).ok()?.dyn_into().ok()?;
    match arg {
        Some(a) => f.call1(obj, a).ok(),
        None => f.call0(obj).ok(),
    }
}

/// `obj[key]` as a number, if it is one.
pub(crate) fn get_f64(obj: &JsValue, key: &str) -> Option<f64> {
    js_sys::Reflect::get(obj, &JsValue::from_str(key)).ok()?.as_f64()
}

/// `obj[key]` as a string, if it is one.
pub(crate) fn get_str(obj: &JsValue, key: &str) -> Option<alloc::string::String> {
    js_sys::Reflect::get(obj, &JsValue::from_str(key)).ok()?.as_string()
}
