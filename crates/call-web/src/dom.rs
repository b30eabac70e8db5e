//! Applies the core's view model to the static template (`web/index.html`)
//! and turns clicks and `hashchange` into inputs. The template's CSS keys on
//! the root element's `data-*` attributes; no markup is generated here.

use call_core::i18n::Lang;
use call_core::view::{shortcut, Shortcut};
use call_core::{Button, Dev, Extras, Input, View};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Document, Element, HtmlMediaElement, MediaStream, MediaStreamTrack, Window};

use crate::event::input;
use crate::js::{call_method, cb, err_name, log, then};

pub(crate) fn doc() -> Option<Document> {
    web_sys::window()?.document()
}

pub(crate) fn by_id(id: &str) -> Option<Element> {
    doc()?.get_element_by_id(id)
}

fn media_el(id: &str) -> Option<HtmlMediaElement> {
    by_id(id)?.dyn_into().ok()
}

pub(crate) struct Ui {
    root: Element,
    last: Option<View>,
    last_extras: Option<Extras>,
    /// The clock's text and our preview's track as last drawn: a step
    /// that changes neither touches no element (a peer's flood of
    /// messages is a step each; BENCHMARKS.md, the hostile peer).
    last_clock: alloc::string::String,
    last_local: Option<MediaStreamTrack>,
    lang: Lang,
}

fn set_text(id: &str, text: &str) {
    if let Some(e) = by_id(id) {
        if e.text_content().as_deref() != Some(text) {
            e.set_text_content(Some(text));
        }
    }
}

// The setters write only what changed: a write of the same value still
// costs a style invalidation and a frame, and in a steady call nothing
// should (BENCHMARKS.md, cost of a call).

fn set_hidden(id: &str, hidden: bool) {
    if let Some(e) = by_id(id) {
        if e.has_attribute("hidden") != hidden {
            let _ = if hidden { e.set_attribute("hidden", "") } else { e.remove_attribute("hidden") };
        }
    }
}

fn set_attr(id: &str, name: &str, value: &str) {
    if let Some(e) = by_id(id) {
        if e.get_attribute(name).as_deref() != Some(value) {
            let _ = e.set_attribute(name, value);
        }
    }
}

fn dev(d: Dev) -> &'static str {
    d.as_str()
}

/// Plays a media element; browsers may refuse without a user gesture
/// (autoplay policy, old Chromium). Then the next tap or key press anywhere
/// starts it: a call where one side hears nothing is worse than a tap.
fn play(el: &HtmlMediaElement) {
    let Ok(p) = el.play() else { return };
    let el = el.clone();
    then(&p, move |r| {
        // Only `NotAllowedError` is the autoplay policy; an interrupted
        // load (`AbortError`, a new source) or no source is not.
        match r {
            Ok(_) => return,
            Err(e) if err_name(&e) != "NotAllowedError" => return,
            Err(_) => {}
        }
        log("autoplay refused; waiting for a tap");
        let Some(d) = doc() else { return };
        let retry = cb(move |_| {
            let _ = el.play();
        });
        let opts = web_sys::AddEventListenerOptions::new();
        opts.set_once(true);
        for ev in ["pointerdown", "keydown"] {
            let _ = d.add_event_listener_with_callback_and_add_event_listener_options(ev, &retry, &opts);
        }
    });
}

fn stream_of(track: &MediaStreamTrack) -> Option<MediaStream> {
    let tracks = js_sys::Array::of1(track);
    MediaStream::new_with_tracks(&tracks).ok()
}

impl Ui {
    pub(crate) fn new(window: &Window) -> Option<Ui> {
        let root = window.document()?.document_element()?;
        #[cfg(feature = "debug")]
        set_hidden("debug", false);
        let lang = pick_lang(window);
        translate(&root, lang);
        Some(Ui { root, last: None, last_extras: None, last_clock: alloc::string::String::new(), last_local: None, lang })
    }

    pub(crate) fn set_avatar(&self, value: Option<&str>) {
        let src = value.and_then(call_core::view::avatar_src);
        if let Some(src) = src {
            // A property set, never markup: the value cannot escape.
            set_attr("avatar", "src", src);
        }
        let _ = self.root.set_attribute("data-avatar", if src.is_some() { "image" } else { "none" });
    }

    pub(crate) fn render(&mut self, v: &View) {
        if self.last.as_ref() == Some(v) {
            return;
        }
        let r = &self.root;
        let attrs = [
            ("data-phase", v.phase.as_str()),
            ("data-remote-video", if v.remote_video { "on" } else { "off" }),
            ("data-remote-mic", match v.remote_mic {
                Some(true) => "on",
                Some(false) => "off",
                None => "unknown",
            }),
            ("data-mic", dev(v.mic)),
            ("data-cam", dev(v.cam)),
            ("data-route", v.route.as_str()),
            ("data-show-avatar", if v.avatar { "on" } else { "off" }),
            ("data-quality", v.quality.map_or("", |q| q.level.as_str())),
            ("data-screen", dev(v.screen)),
            ("data-ringback", if v.ringback { "on" } else { "off" }),
        ];
        for (k, val) in attrs {
            if r.get_attribute(k).as_deref() != Some(val) {
                let _ = r.set_attribute(k, val);
            }
        }
        let lang = self.lang;
        set_text("status", v.status.map(|m| m.text(lang)).unwrap_or(""));
        set_text("notice", v.notice.map(|m| m.text(lang)).unwrap_or(""));
        set_hidden("screen", v.screen == Dev::None);
        set_attr("screen", "aria-pressed", if v.screen == Dev::On { "true" } else { "false" });
        set_attr("screen", "aria-label", lang.text(if v.screen == Dev::On { "stop_sharing" } else { "share_screen" }));
        set_hidden("quality", v.quality.is_none());
        set_hidden("quality-details", !v.details);
        set_attr("quality", "aria-expanded", if v.details { "true" } else { "false" });
        if let Some(q) = &v.quality {
            let label = ["quality_", q.level.as_str()].concat();
            set_attr("quality", "aria-label", lang.text(&label));
            // Hidden details are not kept up to date: no work for nothing.
            if v.details {
                set_text("quality-details", &call_core::quality::details(q, v.route, lang));
            }
        }
        set_hidden("switch-cam", !v.switch_camera);
        set_hidden("answer", !v.answer);
        set_hidden("end", !v.end);
        set_hidden("mic", v.mic == Dev::None);
        set_hidden("cam", v.cam == Dev::None);
        set_attr("end", "aria-label", v.end_label.text(lang));
        set_attr("mic", "aria-label", v.mic_label.text(lang));
        set_attr("mic", "aria-pressed", if v.mic == Dev::Off { "true" } else { "false" });
        set_attr("cam", "aria-label", v.cam_label.text(lang));
        set_attr("cam", "aria-pressed", if v.cam == Dev::Off { "true" } else { "false" });
        #[cfg(feature = "debug")]
        set_text("debug-route", match v.route {
            call_core::Route::P2p => "P2P (direct)",
            call_core::Route::Relay => "Relayed (TURN)",
            call_core::Route::Unknown => "not connected",
        });
        self.last = Some(v.clone());
    }

    /// Shows or hides what goes beside the view: the picture-in-picture
    /// button, the shortcut list, the speaker row.
    pub(crate) fn extras(&mut self, x: &Extras) {
        if self.last_extras.as_ref() == Some(x) {
            return;
        }
        set_hidden("pip", !x.pip);
        set_hidden("help", !x.help);
        set_hidden("row-spk", !x.speaker);
        self.last_extras = Some(x.clone());
    }

    /// Whether the device dialog opens or closes with this view.
    pub(crate) fn devices_toggled(&self, v: &View) -> bool {
        self.last.as_ref().map_or(v.devices, |l| l.devices != v.devices)
    }

    /// Shows the call timer at `now` while the view's clock runs (the
    /// core wakes the call when the shown second changes); when it stops
    /// the last value stays as the call's duration. Only the text node's
    /// data is written, and only when it changed: a small style and layout
    /// pass inside the timer's box (`contain` in the template), the one
    /// frame a second that a clock costs.
    pub(crate) fn timer(&mut self, clock: Option<u64>, now: u64) {
        let Some(start) = clock else { return };
        let text = call_core::view::format_elapsed(now.saturating_sub(start));
        if text == self.last_clock {
            return;
        }
        let Some(el) = by_id("timer") else { return };
        self.last_clock.clone_from(&text);
        match el.first_child() {
            Some(node) if node.node_value().as_deref() == Some(text.as_str()) => {}
            Some(node) => node.set_node_value(Some(&text)),
            None => el.set_text_content(Some(&text)),
        }
    }

    /// Shows `track` (our camera or screen) in the mirrored thumbnail,
    /// unless it is shown already: a new stream would load the element
    /// again.
    pub(crate) fn show_local(&mut self, track: Option<MediaStreamTrack>) {
        if track == self.last_local {
            return;
        }
        self.last_local.clone_from(&track);
        let Some(el) = media_el("local-video") else { return };
        let shown = el.src_object().and_then(|s| s.get_video_tracks().get(0).dyn_into::<MediaStreamTrack>().ok());
        if shown.map(|t| t.id()) == track.as_ref().map(MediaStreamTrack::id) {
            return;
        }
        let stream = track.as_ref().and_then(stream_of);
        el.set_src_object(stream.as_ref());
        if stream.is_some() {
            play(&el);
        }
    }

    /// Attaches a remote track: audio to the `<audio>`, video to the muted
    /// `<video>` (a muted video may always autoplay; audio gets its own
    /// element so that autoplay trouble cannot stop the picture).
    pub(crate) fn show_remote(&self, track: MediaStreamTrack) {
        let video = track.kind() == "video";
        let Some(el) = media_el(if video { "remote-video" } else { "remote-audio" }) else { return };
        // Shown already (the caller's receivers at the hand-over, then
        // `ontrack` with the same track): a new stream would load the
        // element again.
        if el.src_object().is_some_and(|s| s.get_track_by_id(&track.id()).is_some()) {
            return;
        }
        el.set_src_object(stream_of(&track).as_ref());
        play(&el);
        if video {
            input(Input::RemoteVideo(!track.muted()));
        }
        // A remote track is muted until packets arrive, and again when they
        // stop. Some peers send no video until their camera turns on; the
        // element then needs another play() once frames come.
        let el2 = el.clone();
        track.set_onunmute(Some(&cb(move |_| {
            play(&el2);
            if video {
                input(Input::RemoteVideo(true));
            }
        })));
        if video {
            track.set_onmute(Some(&cb(|_| input(Input::RemoteVideo(false)))));
        }
    }
}

/// Wires `hashchange` and the buttons.
pub(crate) fn listen(window: &Window) {
    let w = window.clone();
    let on_hash = cb(move |_| input(Input::HashChanged(w.location().hash().unwrap_or_default())));
    let _ = window.add_event_listener_with_callback("hashchange", &on_hash);
    // A network change is a reason to restart ICE before the old path
    // times out (what the Android client does).
    let net = cb(|_| input(Input::NetworkChanged));
    let _ = window.add_event_listener_with_callback("online", &net);
    if let Ok(conn) = js_sys::Reflect::get(&window.navigator(), &"connection".into()) {
        if let Some(target) = conn.dyn_ref::<web_sys::EventTarget>() {
            let _ = target.add_event_listener_with_callback("change", &net);
        }
    }
    for (id, b) in BUTTONS {
        if let Some(el) = by_id(id) {
            let _ = el.add_event_listener_with_callback("click", &cb(move |_| input(Input::Click(b))));
        }
    }
    if let Some(d) = doc() {
        let _ = d.add_event_listener_with_callback("keydown", &cb(on_key));
    }
    if let Some(el) = by_id("pip") {
        let _ = el.add_event_listener_with_callback("click", &cb(|_| toggle_pip()));
    }
}

const BUTTONS: [(&str, Button); 8] = [
    ("answer", Button::Answer),
    ("end", Button::End),
    ("mic", Button::Mic),
    ("cam", Button::Cam),
    ("screen", Button::Screen),
    ("stop-sharing", Button::Screen),
    ("quality", Button::Quality),
    ("help-btn", Button::Help),
];

/// Keyboard shortcuts (`call_core::view::shortcut`): a key is a press of
/// its button; the core ignores presses its view does not offer.
fn on_key(e: JsValue) {
    let Some(e) = e.dyn_ref::<web_sys::KeyboardEvent>() else { return };
    if e.repeat() {
        return;
    }
    let Some(s) = shortcut(&e.key(), e.ctrl_key() || e.alt_key() || e.meta_key()) else { return };
    match s {
        Shortcut::Press(b) => input(Input::Click(b)),
        Shortcut::Help => input(Input::Click(Button::Help)),
        Shortcut::CloseHelp => input(Input::Click(Button::CloseHelp)),
    }
    e.prevent_default();
}

/// Picture-in-picture exists (Chromium, Safari; not Firefox, not most
/// WebViews).
pub(crate) fn can_pip() -> bool {
    doc().and_then(|d| js_sys::Reflect::get(&d, &"pictureInPictureEnabled".into()).ok()).is_some_and(|v| v.is_truthy())
}

/// The remote video in a floating window, or back.
fn toggle_pip() {
    let Some(d) = doc() else { return };
    let active = js_sys::Reflect::get(&d, &"pictureInPictureElement".into()).is_ok_and(|e| e.is_truthy());
    let p = if active {
        call_method(&d, "exitPictureInPicture", None)
    } else {
        by_id("remote-video").and_then(|v| call_method(&v, "requestPictureInPicture", None))
    };
    if let Some(p) = p {
        then(&js_sys::Promise::resolve(&p), |r| {
            if r.is_err() {
                log("picture-in-picture refused");
            }
        });
    }
}

/// The `lang` query flag, else the browser's languages, else English.
fn pick_lang(window: &Window) -> Lang {
    let search = window.location().search().unwrap_or_default();
    let browser: alloc::vec::Vec<alloc::string::String> =
        window.navigator().languages().iter().filter_map(|l| l.as_string()).collect();
    call_core::i18n::pick(call_core::i18n::query_value(&search, "lang"), browser.iter().map(|s| s.as_str()))
}

/// Sets `lang`/`dir` and the template's own texts: `data-t` names the key
/// of an element's text, `data-tl` of its `aria-label`. Text nodes only,
/// never markup.
fn translate(root: &Element, lang: Lang) {
    let _ = root.set_attribute("lang", lang.code());
    let _ = root.set_attribute("dir", if lang.rtl() { "rtl" } else { "ltr" });
    let Some(d) = doc() else { return };
    for (sel, attr) in [("[data-t]", "data-t"), ("[data-tl]", "data-tl")] {
        let Ok(list) = d.query_selector_all(sel) else { continue };
        for i in 0..list.length() {
            let Some(e) = list.item(i).and_then(|n| n.dyn_into::<Element>().ok()) else { continue };
            let Some(key) = e.get_attribute(attr) else { continue };
            let text = lang.text(&key);
            if text.is_empty() {
                continue;
            }
            if attr == "data-t" {
                e.set_text_content(Some(text));
            } else {
                let _ = e.set_attribute("aria-label", text);
            }
        }
    }
}

/// The panic screen as the core has it (`View::crashed`), in English:
/// plain DOM writes only.
pub(crate) fn show_crash() {
    let v = View::crashed();
    if let Some(root) = doc().and_then(|d| d.document_element()) {
        let _ = root.set_attribute("data-phase", v.phase.as_str());
    }
    set_text("status", v.status.map_or("", call_core::Msg::en));
    set_text("notice", v.notice.map_or("", call_core::Msg::en));
}
