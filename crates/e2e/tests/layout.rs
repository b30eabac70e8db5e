//! The layout on phones and in narrow windows (issue "On a phone the
//! controls collide"). Every phase (the prompt with its toggles, the
//! damaged offer's screen, ringing, a call with every optional control,
//! reconnecting, failed) is reached once and then
//! measured at phone sizes, portrait and landscape, with touch emulation
//! and without (a narrow desktop window), in English, in Arabic (mirrored)
//! and in the language with the longest visible texts (then also with
//! each text in its longest translation). A measurement fails when two
//! visible controls overlap, when a control covers what the person must
//! read or their own picture, or two of those overlap, when a control is
//! off screen or not on top where it is tapped, when a main control
//! (microphone, camera, end, answer, decline) is not round or below 44 px,
//! when any control is below 24 px (WCAG 2.2 target size), when the bar's
//! order on screen is not its DOM order (the order of Tab and of screen
//! readers), or when the bar takes more than 30 % of a landscape screen's
//! height.
//!
//! `LAYOUT_SHOTS=<dir>` also saves a screenshot of every measurement.

use std::time::Duration;

use e2e::*;
use serde_json::{json, Value};

/// Portrait phones from small to large, and a phone held sideways.
const SIZES: [(u32, u32); 4] = [(320, 640), (360, 740), (412, 915), (740, 360)];
/// The controls a call cannot do without: round, at least 44 px.
const MAIN: [&str; 4] = ["mic", "cam", "end", "answer"];
/// Space between a main control and any other, for thumbs.
const THUMB_GAP: f64 = 8.0;
const TWO_CAMERAS: &str = "--use-fake-device-for-media-stream=device-count=2";

/// Every visible control (in DOM order) and everything a control must not
/// cover, as boxes in CSS pixels. `hit`: the control is what a tap at its
/// centre reaches.
const MEASURE: &str = r#"(() => {
  const shown = e => !e.closest('[hidden]') && e.getClientRects().length > 0 &&
    getComputedStyle(e).visibility !== 'hidden' && getComputedStyle(e).opacity !== '0';
  const name = e => e ? '#' + (e.id || e.tagName.toLowerCase()) : 'nothing';
  const box = e => { const r = e.getBoundingClientRect(); return { id: name(e), x: r.left, y: r.top, w: r.width, h: r.height }; };
  const seen = ['status', 'notice', 'who', 'timer', 'remote-muted', 'local-video', 'sharing', 'quality-details', 'devices']
    .map(id => document.getElementById(id))
    .filter(e => e && shown(e) && (e.tagName === 'VIDEO' || e.id === 'who' || e.textContent.trim() !== ''));
  const bar = document.getElementById('controls');
  const controls = [...document.querySelectorAll('button, select, input, textarea, a[href]')].filter(shown).map(e => {
    const b = box(e);
    const at = document.elementFromPoint(b.x + b.w / 2, b.y + b.h / 2);
    b.hit = !!at && (at === e || e.contains(at));
    b.by = name(at);
    b.bar = !!bar && bar.contains(e) && !e.closest('[role=dialog]');
    b.inside = seen.filter(s => s.contains(e)).map(name);
    return b;
  });
  return { w: innerWidth, h: innerHeight, rtl: getComputedStyle(document.body).direction === 'rtl', controls, seen: seen.map(box),
    barTop: bar ? bar.getBoundingClientRect().top : innerHeight };
})()"#;

#[derive(Debug, Clone)]
struct Rect {
    id: String,
    x: f64,
    y: f64,
    w: f64,
    h: f64,
}

impl Rect {
    fn of(v: &Value) -> Rect {
        let n = |k: &str| v[k].as_f64().unwrap_or(f64::NAN);
        Rect { id: v["id"].as_str().unwrap_or("?").to_string(), x: n("x"), y: n("y"), w: n("w"), h: n("h") }
    }

    fn main(&self) -> bool {
        MAIN.iter().any(|m| self.id.strip_prefix('#') == Some(m))
    }

    /// How far apart two boxes are (0 when they touch or overlap), and
    /// the size of their overlap.
    fn gap(&self, o: &Rect) -> f64 {
        let dx = (o.x - (self.x + self.w)).max(self.x - (o.x + o.w)).max(0.0);
        let dy = (o.y - (self.y + self.h)).max(self.y - (o.y + o.h)).max(0.0);
        dx.hypot(dy)
    }

    fn overlap(&self, o: &Rect) -> (f64, f64) {
        let w = (self.x + self.w).min(o.x + o.w) - self.x.max(o.x);
        let h = (self.y + self.h).min(o.y + o.h) - self.y.max(o.y);
        (w.max(0.0), h.max(0.0))
    }
}

impl std::fmt::Display for Rect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({:.0},{:.0} {:.0}×{:.0})", self.id, self.x, self.y, self.w, self.h)
    }
}

/// What the measurements found wrong, each with where it was seen.
#[derive(Default)]
struct Findings {
    problems: Vec<String>,
    measured: usize,
}

impl Findings {
    /// Measures `p` at every size, with and without touch.
    fn at_every_size(&mut self, p: &Page, what: &str) -> Result<()> {
        for touch in [true, false] {
            for (w, h) in SIZES {
                emulate(p, w, h, touch)?;
                let m = p.eval(MEASURE)?;
                let at = format!("{what} {w}×{h}{}", if touch { " touch" } else { "" });
                self.judge(&at, &m, (w, h));
                self.measured += 1;
                screenshot(p, &at)?;
            }
        }
        Ok(())
    }

    fn judge(&mut self, at: &str, m: &Value, (w, h): (u32, u32)) {
        let mut bad = |s: String| self.problems.push(format!("[{at}] {s}"));
        let (vw, vh) = (m["w"].as_f64().unwrap_or(0.0), m["h"].as_f64().unwrap_or(0.0));
        if (vw, vh) != (w as f64, h as f64) {
            bad(format!("the viewport is {vw}×{vh}"));
        }
        let list = m["controls"].as_array().cloned().unwrap_or_default();
        let controls: Vec<Rect> = list.iter().map(Rect::of).collect();
        let seen: Vec<Rect> = m["seen"].as_array().map(|a| a.iter().map(Rect::of).collect()).unwrap_or_default();
        if controls.is_empty() {
            bad("no control is visible".into());
        }
        for (i, (c, raw)) in controls.iter().zip(&list).enumerate() {
            if c.x < -0.5 || c.y < -0.5 || c.x + c.w > vw + 0.5 || c.y + c.h > vh + 0.5 {
                bad(format!("{c} is (partly) off screen"));
            } else if raw["hit"] != Value::Bool(true) {
                bad(format!("{c} is covered by {} where it is tapped", raw["by"].as_str().unwrap_or("?")));
            }
            let least = if c.main() { 44.0 } else { 24.0 };
            if c.w.min(c.h) < least - 0.01 {
                bad(format!("{c} is below {least} px"));
            }
            if c.main() && (c.w - c.h).abs() > 1.0 {
                bad(format!("{c} is not round"));
            }
            for o in &controls[i + 1..] {
                let (ow, oh) = c.overlap(o);
                if ow > 0.5 && oh > 0.5 {
                    bad(format!("{c} overlaps {o} by {ow:.0}×{oh:.0} px"));
                } else if (c.main() || o.main()) && c.gap(o) < THUMB_GAP {
                    bad(format!("{c} and {o} are {:.1} px apart (< {THUMB_GAP})", c.gap(o)));
                }
            }
            let inside: Vec<&str> = raw["inside"].as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
            for s in seen.iter().filter(|s| !inside.contains(&s.id.as_str())) {
                let (ow, oh) = c.overlap(s);
                if ow > 0.5 && oh > 0.5 {
                    bad(format!("{c} covers {s} by {ow:.0}×{oh:.0} px"));
                }
            }
        }
        for (i, s) in seen.iter().enumerate() {
            for o in &seen[i + 1..] {
                let (ow, oh) = s.overlap(o);
                if ow > 0.5 && oh > 0.5 {
                    bad(format!("{s} and {o} overlap by {ow:.0}×{oh:.0} px"));
                }
            }
        }
        // The bar reads in rows from the top, each from the start side
        // (right in Arabic): that order must be the DOM's.
        let rtl = m["rtl"] == Value::Bool(true);
        let dom: Vec<&Rect> = controls.iter().zip(&list).filter(|(_, r)| r["bar"] == Value::Bool(true)).map(|(c, _)| c).collect();
        let seen_order = reading_order(&dom, rtl);
        let dom_order: Vec<&str> = dom.iter().map(|c| c.id.as_str()).collect();
        if seen_order != dom_order {
            bad(format!("the bar reads {seen_order:?} on screen but {dom_order:?} in the DOM"));
        }
        if w > h {
            let top = m["barTop"].as_f64().unwrap_or(0.0);
            if vh - top > 0.3 * vh {
                bad(format!("the bar takes {:.0} of {vh} px in landscape", vh - top));
            }
        }
    }

    fn verdict(self, what: &str) -> Result<()> {
        eprintln!("{what}: {} measurements, {} problems", self.measured, self.problems.len());
        if self.problems.is_empty() {
            return Ok(());
        }
        err(format!("{what}: {} problems in {} measurements:\n{}", self.problems.len(), self.measured, self.problems.join("\n")))
    }
}

/// Rows from the top (controls whose centres are within 8 px of the row's
/// first), each from the start side.
fn reading_order<'a>(controls: &[&'a Rect], rtl: bool) -> Vec<&'a str> {
    let mut v: Vec<&Rect> = controls.to_vec();
    v.sort_by(|a, b| (a.y + a.h / 2.0).total_cmp(&(b.y + b.h / 2.0)));
    let mut rows: Vec<Vec<&Rect>> = Vec::new();
    for c in v {
        match rows.last_mut() {
            Some(row) if (row[0].y + row[0].h / 2.0 - (c.y + c.h / 2.0)).abs() < 8.0 => row.push(c),
            _ => rows.push(vec![c]),
        }
    }
    let mut out = Vec::new();
    for mut row in rows {
        row.sort_by(|a, b| if rtl { b.x.total_cmp(&a.x) } else { a.x.total_cmp(&b.x) });
        out.extend(row.iter().map(|c| c.id.as_str()));
    }
    out
}

/// A phone of `w`×`h` CSS pixels (touch: a phone's screen and input; else
/// a desktop window of that size), laid out before this returns.
fn emulate(p: &Page, w: u32, h: u32, touch: bool) -> Result<()> {
    p.call("Emulation.setDeviceMetricsOverride", json!({ "width": w, "height": h, "deviceScaleFactor": 2, "mobile": touch }))?;
    p.call("Emulation.setTouchEmulationEnabled", json!({ "enabled": touch, "maxTouchPoints": 5 }))?;
    p.eval("new Promise(r => { requestAnimationFrame(() => requestAnimationFrame(r)); setTimeout(r, 200); }).then(() => true)")?;
    Ok(())
}

fn screenshot(p: &Page, at: &str) -> Result<()> {
    let Some(dir) = std::env::var_os("LAYOUT_SHOTS") else { return Ok(()) };
    let shot = p.call("Page.captureScreenshot", json!({ "format": "png" }))?;
    let Some(png) = shot["data"].as_str().and_then(call_core::payload::base64_decode) else {
        return err("the browser sent no screenshot");
    };
    let file: String = at.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    std::fs::create_dir_all(&dir)?;
    std::fs::write(std::path::Path::new(&dir).join(format!("{file}.png")), png)?;
    Ok(())
}

/// The ids of the visible controls in the order Tab reaches them (a real
/// key press through the browser's input pipeline, from the top).
fn tab_order(p: &Page) -> Result<Vec<String>> {
    let n = p.eval("[...document.querySelectorAll('button, select')].filter(e => !e.closest('[hidden]') && e.getClientRects().length > 0).length")?;
    p.eval("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); true")?;
    let mut order = Vec::new();
    for _ in 0..n.as_u64().unwrap_or(0) {
        press_tab(p)?;
        order.push(p.eval_str("'#' + document.activeElement.id")?);
    }
    Ok(order)
}

/// Tab reaches the bar's controls in the order they are seen.
fn tab_follows_the_screen(p: &Page, what: &str, f: &mut Findings) -> Result<()> {
    emulate(p, 360, 740, false)?;
    let m = p.eval(MEASURE)?;
    let bar: Vec<Rect> = m["controls"].as_array().map(|a| a.iter().filter(|c| c["bar"] == Value::Bool(true)).map(Rect::of).collect()).unwrap_or_default();
    let seen = reading_order(&bar.iter().collect::<Vec<_>>(), m["rtl"] == Value::Bool(true));
    let tabs = tab_order(p)?;
    if tabs != seen {
        f.problems.push(format!("[{what}] Tab goes {tabs:?}, the screen reads {seen:?}"));
    }
    Ok(())
}

/// Decline (`#end` on the prompt) left of Answer in a left-to-right
/// language, right of it in a right-to-left one, at every size.
fn decline_then_answer(p: &Page, what: &str, f: &mut Findings) -> Result<()> {
    for (w, h) in SIZES {
        emulate(p, w, h, true)?;
        let m = p.eval(MEASURE)?;
        let find = |id: &str| m["controls"].as_array().and_then(|a| a.iter().find(|c| c["id"] == id)).map(Rect::of);
        let (Some(decline), Some(answer)) = (find("#end"), find("#answer")) else {
            f.problems.push(format!("[{what} {w}×{h}] Decline or Answer is not shown"));
            continue;
        };
        let ok = if m["rtl"] == Value::Bool(true) { answer.x + answer.w <= decline.x } else { decline.x + decline.w <= answer.x };
        if !ok {
            f.problems.push(format!("[{what} {w}×{h}] Decline {decline} and Answer {answer} are the wrong way round"));
        }
    }
    Ok(())
}

/// Each key of the template's texts (`data-t`) with its longest translation,
/// as a JSON object.
fn longest_of_each() -> Value {
    let template = std::fs::read_to_string(testhost::workspace_root().join("web/index.html")).unwrap_or_default();
    let keys = template.split("data-t=\"").skip(1).filter_map(|s| s.split('"').next());
    let longest = |k: &str| call_core::i18n::Lang::all().map(|l| l.text(k)).max_by_key(|t| t.chars().count()).unwrap_or("");
    Value::Object(keys.map(|k| (k.to_string(), Value::from(longest(k)))).collect())
}

/// Every phase in `lang`; `all`: also ringing, reconnecting and failed.
fn phases(lang: &str, all: bool) -> Result<()> {
    let env = Env::with_args(&[TWO_CAMERAS])?;
    let mut f = Findings::default();
    let q = format!("/call.html?lang={lang}");

    let prompt = env.open("prompt", json!({ "avatar": "/avatar" }), &format!("{q}#offerIncomingCall={}", payload(DUMMY_OFFER, Enc::Raw)))?;
    prompt.wait_data("phase", "incoming", T)?;
    // With its microphone and camera toggles (the camera's once the device
    // list said there is one).
    prompt.wait_for("['mic', 'cam'].every(id => document.getElementById(id).getClientRects().length > 0)", T)?;
    f.at_every_size(&prompt, &format!("{lang} prompt"))?;
    decline_then_answer(&prompt, &format!("{lang} prompt"), &mut f)?;
    tab_follows_the_screen(&prompt, &format!("{lang} prompt"), &mut f)?;
    prompt.close()?;

    let damaged = env.open("damaged", json!({ "avatar": "/avatar" }), &format!("{q}#offerIncomingCall=@@@"))?;
    damaged.wait_data("phase", "not-received", T)?;
    f.at_every_size(&damaged, &format!("{lang} damaged offer"))?;
    damaged.close()?;

    if all {
        let ringing = env.open("ringing", json!({ "avatar": "/avatar" }), &format!("{q}#startCall"))?;
        ringing.wait_data("phase", "ringing", T)?;
        ringing.wait_for("document.getElementById('switch-cam').getClientRects().length > 0", T)?;
        f.at_every_size(&ringing, &format!("{lang} ringing"))?;
        ringing.close()?;
    }

    // A call with every optional control: two cameras (switch camera),
    // screen sharing on, picture in picture, the quality indicator, the
    // devices button, and the other side muted.
    let (a, b) = env.call(&q)?;
    fake_screen(&a)?;
    a.wait_data("remote-video", "on", T)?;
    a.wait_for("document.getElementById('switch-cam').getClientRects().length > 0", T)?;
    if a.eval_bool("document.pictureInPictureEnabled === true")? {
        a.wait_for("document.getElementById('pip').getClientRects().length > 0", T)?;
    }
    a.click("#screen")?;
    a.wait_data("screen", "on", T)?;
    b.click("#mic")?;
    a.wait_data("remote-mic", "off", T)?;
    a.wait_for("document.documentElement.dataset.quality !== ''", Duration::from_secs(20))?;
    f.at_every_size(&a, &format!("{lang} in call"))?;
    tab_follows_the_screen(&a, &format!("{lang} in call"), &mut f)?;
    a.click("#quality")?;
    f.at_every_size(&a, &format!("{lang} in call, quality details open"))?;
    a.click("#quality")?;
    a.click("#devices-btn")?;
    f.at_every_size(&a, &format!("{lang} in call, devices open"))?;
    a.click("#devices-btn")?;
    if !all {
        // Worse than any one language: each text of the template in its
        // longest translation.
        a.eval(&format!("(t => {{ for (const e of document.querySelectorAll('[data-t]')) e.textContent = t[e.dataset.t] || e.textContent; return true; }})({})", longest_of_each()))?;
        a.click("#devices-btn")?;
        f.at_every_size(&a, "the longest text of each key, in call, devices open")?;
    }

    if all {
        // The other side's renderer dies without a word: the connection
        // goes quiet, the page reconnects and, after its attempts, fails.
        // (The crash never answers; a thread waits for that.)
        let crash = std::thread::spawn(move || drop(b.call("Page.crash", json!({}))));
        a.wait_data("phase", "reconnecting", Duration::from_secs(30))?;
        f.at_every_size(&a, &format!("{lang} reconnecting"))?;
        a.wait_data("phase", "failed", Duration::from_secs(60))?;
        f.at_every_size(&a, &format!("{lang} failed"))?;
        let _ = crash.join();
    }
    f.verdict(lang)
}

#[test]
fn english() -> Result<()> {
    phases("en", true)
}

#[test]
fn arabic_mirrored() -> Result<()> {
    phases("ar", true)
}

/// The language whose visible texts (the sharing banner, the badge, the
/// device dialog, the statuses) are longest, in the phases that show them
/// next to controls.
#[test]
fn longest_texts() -> Result<()> {
    const SHOWN: [&str; 8] = ["sharing", "stop_sharing", "muted", "camera", "microphone", "speaker", "reconnecting", "connection_lost"];
    let length = |l: call_core::i18n::Lang| SHOWN.iter().map(|k| l.text(k).chars().count()).sum::<usize>();
    let longest = call_core::i18n::Lang::all().max_by_key(|l| length(*l)).map(|l| l.code()).unwrap_or("en");
    eprintln!("longest texts: {longest}");
    phases(longest, false)
}
