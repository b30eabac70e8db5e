//! `view::avatar_src` on arbitrary host values.
//!
//! Properties: an accepted value is the trimmed input, at most 512 kB,
//! and cannot break out of an HTML attribute or a CSS `url()` (no quotes,
//! `<`, `>`, backslash, parentheses, whitespace or control characters);
//! it is a same-origin path (`/x`, never `//host`) or a `data:` URL of one
//! of the four raster image types; the values real hosts send are kept.
#![no_main]

use call_core::payload::base64_encode;
use call_core::view::avatar_src;
use libfuzzer_sys::fuzz_target;

const IMAGE_TYPES: [&str; 4] = ["png", "jpeg", "gif", "webp"];

fn breaks_out(c: char) -> bool {
    matches!(c, '"' | '\'' | '`' | '<' | '>' | '\\' | '(' | ')') || c.is_whitespace() || c.is_control()
}

fn check(v: &str) {
    let Some(src) = avatar_src(v) else { return };
    assert_eq!(src, v.trim());
    assert!(src.len() <= 512 * 1024);
    assert!(!src.chars().any(breaks_out), "accepted {src:?}");
    let path = src.starts_with('/') && !src.starts_with("//");
    let image = IMAGE_TYPES.iter().any(|t| {
        src.strip_prefix("data:image/")
            .and_then(|r| r.strip_prefix(t))
            .is_some_and(|r| r.starts_with(';') || r.starts_with(','))
    });
    assert!(path || image, "accepted {src:?}");
}

fuzz_target!(|data: &[u8]| {
    let v = String::from_utf8_lossy(data);
    check(&v);
    check(&format!("/{v}"));
    check(&format!("data:image/png;base64,{v}"));
    // What hosts send: Desktop's path, Android's data URL.
    let b64 = base64_encode(data);
    for t in IMAGE_TYPES {
        let url = format!("data:image/{t};base64,{b64}");
        assert_eq!(avatar_src(&url), Some(url.as_str()));
    }
    let clean: String = v.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '.' | '?' | '=' | '&' | '%')).collect();
    let path = format!("/avatar/{clean}");
    assert_eq!(avatar_src(&path), Some(path.as_str()));
});
