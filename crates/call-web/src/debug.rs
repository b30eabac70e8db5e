//! The debug build's panel (`--features debug`, `dist/index-debug.html`):
//! both SDPs, the ICE candidates both ways, the selected candidate pair and
//! a "Copy report" button that gathers all of it with the log, so that a
//! person can send one text instead of opening a JS console. In the normal
//! build every function here is empty and compiles away.

#[cfg(feature = "debug")]
mod imp {
    use alloc::string::String;

    use js_sys::Reflect;
    use wasm_bindgen::{JsCast, JsValue};
    use web_sys::HtmlTextAreaElement;

    use crate::js::{cb, get_str};

    use crate::dom::{by_id as el, doc};

    fn text(id: &str) -> String {
        el(id).and_then(|e| e.text_content()).unwrap_or_default()
    }

    pub(crate) fn sdp(local: bool, sdp: &str) {
        if let Some(e) = el(if local { "debug-local-sdp" } else { "debug-remote-sdp" }) {
            e.set_text_content(Some(sdp));
        }
    }

    /// What the bounds toward the peer applied and dropped (`guard::Counts`).
    pub(crate) fn bounds(counts: Option<call_core::guard::Counts>) {
        if let (Some(c), Some(e)) = (counts, el("debug-bounds")) {
            e.set_text_content(Some(&c.to_text()));
        }
    }

    /// One candidate line: `>` gathered here, `<` received from the peer.
    pub(crate) fn candidate(local: bool, line: &str) {
        if let Some(e) = el("debug-cands") {
            let _ = e.insert_adjacent_text("beforeend", &[if local { "> " } else { "< " }, line, "\n"].concat());
        }
    }

    fn num(obj: &JsValue, key: &str) -> String {
        call_core::json::itoa(crate::js::get_f64(obj, key).unwrap_or(0.0) as u64)
    }

    fn describe(c: &JsValue) -> String {
        let s = |k| get_str(c, k).unwrap_or_default();
        let addr = get_str(c, "address").or_else(|| get_str(c, "ip")).unwrap_or_default();
        let relay = get_str(c, "relayProtocol").map(|p| [" via TURN/", &p].concat()).unwrap_or_default();
        [&s("candidateType"), " ", &addr, ":", &num(c, "port"), " ", &s("protocol"), &relay].concat()
    }

    /// Shows the selected pair; `local`/`remote` are candidate stats.
    pub(crate) fn pair(local: &JsValue, remote: &JsValue, rtt: &JsValue) {
        let rtt = rtt.as_f64().map(|s| [" rtt ", &call_core::json::itoa((s * 1000.0) as u64), " ms"].concat());
        let line = [&describe(local), "  <->  ", &describe(remote), &rtt.unwrap_or_default()].concat();
        if let Some(e) = el("debug-pair") {
            e.set_text_content(Some(&line));
        }
    }

    fn report() -> String {
        let root = doc().and_then(|d| d.document_element());
        let attr = |n: &str| root.as_ref().and_then(|r| r.get_attribute(n)).unwrap_or_default();
        let version = doc()
            .and_then(|d| d.query_selector("meta[name=generator]").ok().flatten())
            .and_then(|m| m.get_attribute("content"))
            .unwrap_or_default();
        let ua = web_sys::window().and_then(|w| w.navigator().user_agent().ok()).unwrap_or_default();
        let mut r = String::new();
        for (k, v) in [
            ("version", version),
            ("browser", ua),
            ("phase", attr("data-phase")),
            ("route", attr("data-route")),
            ("mic/cam", [attr("data-mic"), "/".into(), attr("data-cam")].concat()),
            ("status", text("status")),
            ("notice", text("notice")),
            ("pair", text("debug-pair")),
        ] {
            r.push_str(k);
            r.push_str(": ");
            r.push_str(&v);
            r.push('\n');
        }
        for (title, id) in [
            ("candidates", "debug-cands"),
            ("local SDP", "debug-local-sdp"),
            ("remote SDP", "debug-remote-sdp"),
            ("log", "debug-log"),
        ] {
            r.push_str("\n--- ");
            r.push_str(title);
            r.push('\n');
            r.push_str(&text(id));
        }
        r
    }

    /// Wires the copy button: the report goes into a text area (selected,
    /// so Ctrl+C works where the clipboard API is missing or refused) and
    /// to the clipboard.
    pub(crate) fn init() {
        let Some(button) = el("debug-copy") else { return };
        let click = cb(|_| {
            let r = report();
            if let Some(area) = el("debug-report").and_then(|e| e.dyn_into::<HtmlTextAreaElement>().ok()) {
                area.set_value(&r);
                let _ = area.remove_attribute("hidden");
                area.select();
            }
            let clipboard = web_sys::window()
                .and_then(|w| Reflect::get(&w.navigator(), &JsValue::from_str("clipboard")).ok())
                .filter(|c| c.is_object());
            // A refusal (no focus, no permission) leaves the text area.
            if let Some(p) = clipboard.and_then(|c| crate::js::call_method(&c, "writeText", Some(&JsValue::from_str(&r)))) {
                crate::js::then(&js_sys::Promise::resolve(&p), |_| {});
            }
        });
        let _ = button.add_event_listener_with_callback("click", &click);
    }
}

#[cfg(not(feature = "debug"))]
mod imp {
    use wasm_bindgen::JsValue;

    pub(crate) fn sdp(_local: bool, _sdp: &str) {}
    pub(crate) fn candidate(_local: bool, _line: &str) {}
    pub(crate) fn bounds(_counts: Option<call_core::guard::Counts>) {}
    pub(crate) fn pair(_local: &JsValue, _remote: &JsValue, _rtt: &JsValue) {}
    pub(crate) fn init() {}
}

pub(crate) use imp::*;
