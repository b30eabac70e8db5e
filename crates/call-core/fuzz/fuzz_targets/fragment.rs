//! `command::parse_fragment` and `parse_flags` on arbitrary text.
//!
//! Properties: the result is exactly determined by the text (a command
//! re-serializes to the text it came from; `Empty` only for `""`/`"#"`),
//! the leading `#`/`?` is optional, a payload is kept byte for byte (also
//! when it contains `=`), and flags are a union over `&`-separated names,
//! independent of values and of unknown flags.
#![no_main]

use call_core::command::{parse_flags, parse_fragment, Command, Flags, Fragment};
use libfuzzer_sys::fuzz_target;

/// The flags as (name, value) pairs, so that new flags need no change here.
fn named(f: Flags) -> [(&'static str, bool); 4] {
    [
        ("noOutgoingVideoInitially", f.no_outgoing_video_initially),
        ("disableVideoCompletely", f.disable_video_completely),
        ("relayOnly", f.relay_only),
        ("lowData", f.low_data),
    ]
}

fn check_fragment(s: &str) {
    let body = s.strip_prefix('#').unwrap_or(s);
    let known = |name: &str, has_payload: bool| {
        name == "startCall" || (has_payload && matches!(name, "offerIncomingCall" | "acceptCall" | "onAnswer"))
    };
    match parse_fragment(s) {
        Fragment::Empty => assert!(body.is_empty(), "Empty for {s:?}"),
        Fragment::Unknown => {
            assert!(!body.is_empty());
            let (name, payload) = match body.split_once('=') {
                Some((n, _)) => (n, true),
                None => (body, false),
            };
            assert!(!known(name, payload), "known command {s:?} reported as Unknown");
        }
        Fragment::Command(Command::StartCall) => {
            assert!(body == "startCall" || body.starts_with("startCall="), "{s:?}");
        }
        Fragment::Command(c) => {
            let again = match &c {
                Command::OfferIncomingCall(p) => format!("offerIncomingCall={p}"),
                Command::AcceptCall(p) => format!("acceptCall={p}"),
                Command::OnAnswer(p) => format!("onAnswer={p}"),
                Command::StartCall => unreachable!(),
            };
            assert_eq!(again, body, "command {c:?} does not re-serialize to its fragment");
        }
    }
    if !s.starts_with('#') {
        assert_eq!(parse_fragment(s), parse_fragment(&format!("#{s}")), "leading # changes {s:?}");
    }
    // Any text is a payload, byte for byte (base64 padding contains `=`).
    for (name, make) in [
        ("offerIncomingCall", Command::OfferIncomingCall as fn(String) -> Command),
        ("acceptCall", Command::AcceptCall),
        ("onAnswer", Command::OnAnswer),
    ] {
        assert_eq!(parse_fragment(&format!("#{name}={s}")), Fragment::Command(make(s.to_owned())));
    }
}

fn check_flags(s: &str) {
    let f = parse_flags(s);
    let q = s.strip_prefix('?').unwrap_or(s);
    let has = |flag: &str| q.split('&').any(|pair| pair.split('=').next() == Some(flag));
    for (name, set) in named(f) {
        assert_eq!(set, has(name), "flag {name} of {s:?}");
    }
    if !s.starts_with('?') {
        assert_eq!(f, parse_flags(&format!("?{s}")));
    }
    // Unknown flags (Desktop's playRingtone) never matter.
    assert_eq!(parse_flags(&format!("{s}&playRingtone=1")), f);
    // Presence counts, not the value.
    assert!(parse_flags(&format!("{s}&relayOnly=false")).relay_only);
    // Flags accumulate over `&`.
    if let Some((a, b)) = s.split_once('&') {
        if !b.starts_with('?') {
            let (fa, fb) = (named(parse_flags(a)), named(parse_flags(b)));
            for ((n, set), ((_, x), (_, y))) in named(f).into_iter().zip(fa.into_iter().zip(fb)) {
                assert_eq!(set, x || y, "flag {n} of {s:?} is not the union over `&`");
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    check_fragment(&s);
    check_flags(&s);
});
