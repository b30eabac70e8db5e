//! The one queue every browser callback feeds, and what the panic handler
//! shuts. It imports only `js` (a leaf), so a module that raises an event
//! does not import the event loop (`lib.rs`), which imports it back; the
//! loop hands its handler in at start.

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::cell::{Cell, RefCell};

use call_core::Input;
use wasm_bindgen::JsValue;
use web_sys::{MediaStream, MediaStreamTrack, RtcDataChannel};

/// An event for the shell: most are core inputs; a few carry browser
/// objects that the shell must keep before the core hears of them.
pub(crate) enum Ev {
    Core(Input),
    /// getUserMedia produced this stream (microphone and maybe camera).
    LocalStream(MediaStream),
    /// The camera was (re)started with this track.
    CameraTrack(MediaStreamTrack),
    /// The peer sends a track (`ontrack`).
    RemoteTrack,
    /// The peer opened a data channel of its own.
    ForeignChannel(RtcDataChannel),
    /// The person picked a screen to share.
    ScreenTrack(MediaStreamTrack),
    /// A microphone track from a newly picked device.
    MicTrack(MediaStreamTrack),
    /// The "switch camera" button: the core hears of it with what the
    /// current camera reports of itself.
    NextCamera,
}

/// The queue, whether an event is being handled, and who handles them.
struct Queue {
    events: RefCell<VecDeque<Ev>>,
    busy: Cell<bool>,
    handler: Cell<Option<fn(Ev)>>,
    /// Objects with `close()` or `stop()` for the panic handler.
    last_resort: RefCell<Vec<JsValue>>,
}

// SAFETY: wasm32 without the `atomics` target feature (`lib.rs` refuses a
// build with it) runs exactly one thread, so this is never shared.
unsafe impl Sync for Queue {}

static Q: Queue = Queue {
    events: RefCell::new(VecDeque::new()),
    busy: Cell::new(false),
    handler: Cell::new(None),
    last_resort: RefCell::new(Vec::new()),
};

/// Who handles the events (the event loop, once, at start).
pub(crate) fn set_handler(f: fn(Ev)) {
    Q.handler.set(Some(f));
}

/// Queues an event and, unless one is being handled already, handles all
/// queued events. Handlers never re-enter: an event raised while handling
/// another is simply handled after it.
pub(crate) fn dispatch(ev: Ev) {
    if let Ok(mut q) = Q.events.try_borrow_mut() {
        q.push_back(ev);
    }
    if Q.busy.replace(true) {
        return;
    }
    loop {
        let next = Q.events.try_borrow_mut().ok().and_then(|mut q| q.pop_front());
        let Some(ev) = next else { break };
        if let Some(f) = Q.handler.get() {
            f(ev);
        }
    }
    Q.busy.set(false);
}

/// Queues a core input.
pub(crate) fn input(i: Input) {
    dispatch(Ev::Core(i));
}

/// Registers an object with `close()` or `stop()` for the panic handler.
pub(crate) fn close_on_panic(v: &JsValue) {
    if let Ok(mut l) = Q.last_resort.try_borrow_mut() {
        l.push(v.clone());
    }
}

/// After a panic: no event reaches the (possibly inconsistent) state any
/// more (the loop believes one is being handled and only queues), and
/// every registered object is closed or stopped.
pub(crate) fn shut_down() {
    Q.busy.set(true);
    if let Ok(list) = Q.last_resort.try_borrow() {
        for v in list.iter() {
            for m in ["close", "stop"] {
                let _ = crate::js::call_method(v, m, None);
            }
        }
    }
}
