//! The view model: what the screen shows, as plain data. The shell maps it
//! onto the static HTML template (data attributes that CSS keys on, texts).

use alloc::string::String;

use crate::text::Msg;

/// The stage of the call, as the person sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Loaded, no command yet.
    Idle,
    /// The incoming-call prompt.
    Incoming,
    /// An incoming offer came damaged: said so, with a Close button.
    NotReceived,
    Connecting,
    /// The offer went out; waiting for the callee.
    Ringing,
    InCall,
    Reconnecting,
    Ended,
    Failed,
}

impl Phase {
    /// The value of the root element's `data-phase` attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Idle => "idle",
            Phase::Incoming => "incoming",
            Phase::NotReceived => "not-received",
            Phase::Connecting => "connecting",
            Phase::Ringing => "ringing",
            Phase::InCall => "in-call",
            Phase::Reconnecting => "reconnecting",
            Phase::Ended => "ended",
            Phase::Failed => "failed",
        }
    }
}

/// A local capture device as the controls show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dev {
    /// Not available: no control.
    None,
    On,
    Off,
}

impl Dev {
    pub fn as_str(self) -> &'static str {
        match self {
            Dev::None => "none",
            Dev::On => "on",
            Dev::Off => "off",
        }
    }
}

pub use crate::vocab::Route;

/// Everything the screen shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    pub phase: Phase,
    /// The big status line (`None`: nothing, e.g. while media plays).
    pub status: Option<Msg>,
    /// A smaller line with a warning or the reason of a failure.
    pub notice: Option<Msg>,
    /// The Answer button (only while prompting).
    pub answer: bool,
    /// The End / Decline button.
    pub end: bool,
    pub mic: Dev,
    pub cam: Dev,
    /// The remote video is shown (else the avatar, if `avatar`).
    pub remote_video: bool,
    /// The peer's microphone as it reports it (`None`: not reported).
    pub remote_mic: Option<bool>,
    pub avatar: bool,
    pub route: Route,
    /// Screen sharing: `None` where unavailable, `On` while sharing.
    pub screen: Dev,
    /// The connection quality indicator (in call, once measured).
    pub quality: Option<crate::quality::Quality>,
    /// Its details (route, round trip, loss, bitrates) are open.
    pub details: bool,
    /// The ring-back tone plays.
    pub ringback: bool,
    /// The call timer runs, counting from this time (on the clock of
    /// `Call::handle`); `None`: it stands (it keeps its last value).
    pub clock: Option<u64>,
    /// The device dialog is open.
    pub devices: bool,
    /// The "switch camera" button is offered (two or more cameras).
    pub switch_camera: bool,
    /// Accessible labels of the toggle buttons, which say what a press does.
    pub end_label: Msg,
    pub mic_label: Msg,
    pub cam_label: Msg,
    /// Leave the screen as it is for now (`SCREEN_HOLD_MS`): the call was
    /// asked for on a page that shows nothing yet, and its description is
    /// being made. Everything else here already describes the call.
    pub hold: bool,
}

/// What the page shows beside [`View`]: our own preview, and the controls
/// that exist only where this browser offers them or that only open and
/// close. Derived from the call's state like the view
/// ([`crate::machine::Call::extras`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extras {
    /// What our own (mirrored) preview shows: what our video sender sends,
    /// and the camera from the moment the core accepted the capture, before
    /// the senders exist.
    pub preview: crate::vocab::VideoSource,
    /// The picture-in-picture button: remote video is shown, and the
    /// browser can float it.
    pub pip: bool,
    /// The list of shortcuts is shown.
    pub help: bool,
    /// The device dialog's speaker row: the browser can route audio.
    pub speaker: bool,
}

/// Accepts the host's avatar value only in the two forms hosts use: a
/// same-origin path (`/avatar`) or a `data:image/…` URL. It is only ever set
/// as an `<img>` `src` property (never spliced into HTML or CSS), so this is
/// defence in depth against a hostile host value such as
/// `javascript:…`, `//evil.example/x` or a CSS `url()` break-out.
///
/// Refused anywhere in the value: quotes, `<`, `>`, backslash (a URL parser
/// reads `/\host` as `//host`), parentheses, whitespace and control
/// characters: none occurs in a path or base64 data URL a host sends.
pub fn avatar_src(v: &str) -> Option<&str> {
    let v = v.trim();
    let unsafe_char =
        |c: char| c.is_whitespace() || c.is_control() || matches!(c, '"' | '\'' | '`' | '<' | '>' | '\\' | '(' | ')');
    let clean = v.len() <= 512 * 1024 && !v.chars().any(unsafe_char);
    let path = v.starts_with('/') && !v.starts_with("//");
    // The media type must end where the parameters or the data begin
    // (`data:image/pngfoo,` is not a PNG).
    let image = ["png", "jpeg", "gif", "webp"].iter().any(|t| {
        let rest = v.strip_prefix("data:image/").and_then(|r| r.strip_prefix(t));
        rest.is_some_and(|r| r.starts_with(';') || r.starts_with(','))
    });
    (clean && (path || image)).then_some(v)
}

/// What the device dialog lists for a device: its label, or before the
/// person allowed the devices (labels are hidden until then) the start of
/// its id, enough to tell two apart.
pub fn device_label<'a>(label: &'a str, id: &'a str) -> &'a str {
    /// Characters of the id shown: ids are long hashes, 8 tell them apart.
    const ID_SHOWN: usize = 8;
    if !label.is_empty() {
        return label;
    }
    id.char_indices().nth(ID_SHOWN).map_or(id, |(end, _)| id.get(..end).unwrap_or(id))
}

impl View {
    /// The screen after the shell caught a panic: the call failed, and
    /// why. The shell shows it without the (no longer trusted) call.
    pub fn crashed() -> View {
        View {
            phase: Phase::Failed,
            status: Some(Msg::CallFailed),
            notice: Some(Msg::Crashed),
            answer: false,
            end: false,
            mic: Dev::None,
            cam: Dev::None,
            remote_video: false,
            remote_mic: None,
            avatar: false,
            route: Route::Unknown,
            screen: Dev::None,
            quality: None,
            details: false,
            ringback: false,
            clock: None,
            devices: false,
            switch_camera: false,
            end_label: Msg::EndCall,
            mic_label: Msg::MuteMic,
            cam_label: Msg::CameraOff,
            hold: false,
        }
    }
}

/// The call timer's text: `m:ss`, or `h:mm:ss` from one hour on.
pub fn format_elapsed(ms: u64) -> String {
    let s = ms / 1000;
    let two = |n: u64| [(b'0' + (n / 10 % 10) as u8) as char, (b'0' + (n % 10) as u8) as char];
    let mut out = String::new();
    if s >= 3600 {
        out.push_str(&crate::json::itoa(s / 3600));
        out.push(':');
        out.extend(two(s / 60 % 60));
    } else {
        out.push_str(&crate::json::itoa(s / 60));
    }
    out.push(':');
    out.extend(two(s % 60));
    out
}

/// What a key press asks for. Single keys, since the page has no text
/// field; modifier combinations are left to the host and the browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shortcut {
    Press(crate::vocab::Button),
    /// Show or hide the list of shortcuts.
    Help,
    /// Close the help (Escape); never ends the call.
    CloseHelp,
}

/// `key` is `KeyboardEvent.key`; `modified` is true when Ctrl, Alt or Meta
/// is held (those belong to the host: copy, reload, zoom).
pub fn shortcut(key: &str, modified: bool) -> Option<Shortcut> {
    use crate::vocab::Button;
    if modified {
        return None;
    }
    Some(match key {
        "m" | "M" => Shortcut::Press(Button::Mic),
        "v" | "V" => Shortcut::Press(Button::Cam),
        // Capital E (Shift+E): hanging up must not happen by a stray key.
        "E" => Shortcut::Press(Button::End),
        "?" => Shortcut::Help,
        "Escape" => Shortcut::CloseHelp,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elapsed_times() {
        assert_eq!(format_elapsed(0), "0:00");
        assert_eq!(format_elapsed(999), "0:00");
        assert_eq!(format_elapsed(61_000), "1:01");
        assert_eq!(format_elapsed(59 * 60_000 + 59_999), "59:59");
        assert_eq!(format_elapsed(3_600_000), "1:00:00");
        assert_eq!(format_elapsed(36_000_000 + 62_000), "10:01:02");
        assert!(!format_elapsed(u64::MAX).is_empty());
    }

    #[test]
    fn shortcuts() {
        use crate::vocab::Button;
        assert_eq!(shortcut("m", false), Some(Shortcut::Press(Button::Mic)));
        assert_eq!(shortcut("V", false), Some(Shortcut::Press(Button::Cam)));
        assert_eq!(shortcut("E", false), Some(Shortcut::Press(Button::End)));
        assert_eq!(shortcut("e", false), None, "a lower-case e does not hang up");
        assert_eq!(shortcut("m", true), None, "Ctrl/Alt/Meta combinations are the host's");
        assert_eq!(shortcut("?", false), Some(Shortcut::Help));
        assert_eq!(shortcut("Escape", false), Some(Shortcut::CloseHelp));
        assert_eq!(shortcut("Enter", false), None);
    }

    #[test]
    fn avatar_values() {
        assert_eq!(avatar_src("/avatar"), Some("/avatar"));
        assert_eq!(avatar_src("data:image/png;base64,iVBORw0KGgo="), Some("data:image/png;base64,iVBORw0KGgo="));
        for bad in [
            "", "javascript:alert(1)", "//evil.example/a.png", "http://evil.example/a.png",
            "data:text/html,<script>", "data:image/svg+xml,<svg onload=alert(1)>",
            "/a\") ; background:url(http://x", "/a\" onerror=\"alert(1)", "/a'b", "/a\nb",
        ] {
            assert_eq!(avatar_src(bad), None, "{bad}");
        }
        // Found by the `avatar` fuzz target: these passed and could break
        // out of a CSS `url()` or an unquoted attribute.
        for bad in [
            "/a);background:url(//evil.example/x", "/a b", "/a\u{a0}b", "/a\u{2028}b", "/<svg>", "/a`b",
            "data:image/pngfoo,x", "data:image/png", "data:image/gif;base64,R0l(GOD",
        ] {
            assert_eq!(avatar_src(bad), None, "{bad}");
        }
        assert_eq!(avatar_src("  /avatar?v=2  "), Some("/avatar?v=2"));
        assert_eq!(avatar_src("data:image/webp,UklGR"), Some("data:image/webp,UklGR"));
        assert_eq!(Route::from_pair("relay", "host"), Route::Relay);
        assert_eq!(Route::from_pair("host", "prflx"), Route::P2p);
    }
}
