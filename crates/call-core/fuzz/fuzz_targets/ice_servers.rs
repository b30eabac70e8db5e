//! `ice::parse_ice_servers`, candidate parsing, `CandidateInit` JSON and
//! the ICE wait, on arbitrary input.
//!
//! Properties:
//! - a server list never has more than 8 servers of at most 8 URLs; every
//!   kept URL is one Chromium accepts (scheme stun/stuns/turn/turns, a host,
//!   a port in range, `?transport=udp|tcp` only on TURN, TURN only with a
//!   non-empty username and credential), so `RTCPeerConnection` cannot
//!   throw on the list; every plain URL of a valid server is kept; `dropped`
//!   is false only if nothing of the input was left out; `server_kinds`
//!   matches the schemes;
//! - `CandidateType::of_candidate` reads the word after `typ`;
//! - any `CandidateInit` survives `to_json` -> JSON -> `from_json` when it is
//!   placeable and of sane size, and is refused otherwise; what `from_json`
//!   accepts re-serializes to itself;
//! - the ICE wait's deadline never moves later, is bounded by the
//!   documented waits, and readiness never goes back.
#![no_main]

use call_core::channel::{parse_message, Channel, Incoming};
use call_core::ice::{
    parse_ice_servers, server_kinds, CandidateType, IceServersError, IceWait, ServerKinds, HOST_WAIT_MS,
    RELAY_WAIT_MS, SRFLX_WAIT_MS,
};
use call_core::json::{self, Json};
use call_core::{CandidateInit, IceServer};
use call_core_fuzz::{any_string, plain_ice_url, webrtc_accepts};
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;

const MAX_SERVERS: usize = 8;
const MAX_URLS: usize = 8;
const MAX_FIELD: usize = 1024;

/// What a JSON value says about one server, read independently.
struct Entry<'a> {
    urls: Option<Vec<Option<&'a str>>>,
    username: Option<&'a Json>,
    credential: Option<&'a Json>,
}

fn entry(v: &Json) -> Entry<'_> {
    let urls = match v.get("urls").or_else(|| v.get("url")) {
        Some(Json::Str(s)) => Some(vec![Some(s.as_str())]),
        Some(Json::Arr(a)) => Some(a.iter().map(Json::as_str).collect()),
        _ => None,
    };
    Entry { urls, username: v.get("username"), credential: v.get("credential") }
}

/// A username or credential: absent/null, or a string of sane size.
fn field(f: Option<&Json>) -> Option<Option<&str>> {
    match f {
        None | Some(Json::Null) => Some(None),
        Some(Json::Str(s)) if s.len() <= MAX_FIELD => Some(Some(s.as_str())),
        _ => None,
    }
}

fn check_servers(text: &str) {
    let parsed = Json::parse(text);
    let (servers, dropped) = match parse_ice_servers(text) {
        Ok(r) => r,
        Err(IceServersError::NotJson) => return assert!(parsed.is_none()),
        Err(IceServersError::NotArray) => return assert!(!matches!(parsed, None | Some(Json::Arr(_)))),
    };
    let Some(Json::Arr(items)) = parsed else { panic!("accepted a list that is not a JSON array") };
    assert!(servers.len() <= MAX_SERVERS && servers.len() <= items.len());
    let mut expect_kinds = ServerKinds::default();
    for s in &servers {
        assert!(!s.urls.is_empty() && s.urls.len() <= MAX_URLS, "{s:?}");
        for f in [&s.username, &s.credential].into_iter().flatten() {
            assert!(f.len() <= MAX_FIELD);
        }
        for u in &s.urls {
            assert!(u.len() <= MAX_FIELD);
            assert!(
                webrtc_accepts(u, s.username.as_deref(), s.credential.as_deref()),
                "kept a URL Chromium refuses: {u:?} in {s:?}"
            );
            assert!(u.bytes().all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\'), "{u:?}");
            expect_kinds.turn |= u.starts_with("turn");
            expect_kinds.stun |= u.starts_with("stun");
        }
    }
    assert_eq!(server_kinds(&servers), expect_kinds);

    // An exact model: each item is a server with its plain URLs (at most
    // 8) and its credentials, or is left out; `dropped` tells whether
    // anything at all (an item, a URL) was left out.
    let mut expect = Vec::new();
    let mut expect_dropped = false;
    for item in &items {
        let e = entry(item);
        let (Some(urls), Some(user), Some(cred)) = (e.urls, field(e.username), field(e.credential)) else {
            expect_dropped = true;
            continue;
        };
        let ok: Vec<String> = urls
            .iter()
            .flatten()
            .filter(|u| u.len() <= MAX_FIELD && plain_ice_url(u, user, cred))
            .take(MAX_URLS)
            .map(|u| u.to_string())
            .collect();
        expect_dropped |= ok.len() != urls.len();
        if ok.is_empty() || expect.len() >= MAX_SERVERS {
            expect_dropped = true;
            continue;
        }
        expect.push(IceServer { urls: ok, username: user.map(Into::into), credential: cred.map(Into::into) });
    }
    assert_eq!((&servers, dropped), (&expect, expect_dropped), "servers of {text}");
}

/// Builds a server list from fuzz data (URLs from real-looking pieces), so
/// that the interesting shapes come up far more often than in raw text.
fn structured_list(u: &mut Unstructured) -> Result<String> {
    const SCHEMES: [&str; 6] = ["turn:", "turns:", "stun:", "stuns:", "http:", "TURN:"];
    const HOSTS: [&str; 8] =
        ["203.0.113.5", "[2001:db8::1]", "turn.example.org", "", "[]", "a@b", "[::1]x", "host name"];
    const PORTS: [&str; 8] = ["", ":3478", ":0", ":65535", ":65536", ":", ":34x", ":0003478"];
    const QUERIES: [&str; 6] = ["", "?transport=udp", "?transport=tcp", "?transport=tls", "?x=1", "?transport=udp?"];
    let mut out = String::from("[");
    for i in 0..u.int_in_range(0..=10)? {
        if i > 0 {
            out.push(',');
        }
        if u.ratio(1, 12)? {
            out.push_str(&any_string(u, 30)?);
            continue;
        }
        let mut urls = Vec::new();
        for _ in 0..u.int_in_range(0..=10)? {
            let url = if u.ratio(1, 8)? {
                any_string(u, 40)?
            } else {
                [
                    SCHEMES[u.choose_index(6)?],
                    HOSTS[u.choose_index(8)?],
                    PORTS[u.choose_index(8)?],
                    QUERIES[u.choose_index(6)?],
                ]
                .concat()
            };
            let mut j = String::new();
            json::write_str(&mut j, &url);
            urls.push(j);
        }
        out.push_str(if u.arbitrary()? { "{\"urls\":[" } else { "{\"url\":[" });
        out.push_str(&urls.join(","));
        out.push(']');
        for key in ["username", "credential"] {
            match u.choose_index(5)? {
                0 => {}
                1 => out.push_str(&format!(",\"{key}\":null")),
                2 => out.push_str(&format!(",\"{key}\":\"\"")),
                3 => out.push_str(&format!(",\"{key}\":7")),
                _ => out.push_str(&format!(",\"{key}\":\"1735000000\"")),
            }
        }
        out.push('}');
    }
    out.push(']');
    Ok(out)
}

fn check_candidate_line(line: &str) {
    let mut words = line.split_ascii_whitespace();
    let expect = loop {
        match words.next() {
            None => break None,
            Some("typ") => {
                break match words.next() {
                    Some("host") => Some(CandidateType::Host),
                    Some("srflx") => Some(CandidateType::Srflx),
                    Some("prflx") => Some(CandidateType::Prflx),
                    Some("relay") => Some(CandidateType::Relay),
                    _ => None,
                }
            }
            Some(_) => {}
        }
    };
    assert_eq!(CandidateType::of_candidate(line), expect, "{line:?}");
}

fn check_candidate_init(u: &mut Unstructured) -> Result<()> {
    let opt = |u: &mut Unstructured, n| -> Result<Option<String>> {
        Ok(if u.arbitrary()? { Some(any_string(u, n)?) } else { None })
    };
    let c = CandidateInit {
        candidate: any_string(u, 1100)?,
        sdp_mid: opt(u, 1100)?,
        sdp_m_line_index: u.arbitrary()?,
        username_fragment: opt(u, 1100)?,
    };
    let text = c.to_json();
    let v = Json::parse(&text).unwrap_or_else(|| panic!("to_json made invalid JSON: {text}"));
    let sane = c.candidate.len() <= MAX_FIELD
        && c.sdp_mid.as_ref().is_none_or(|s| s.len() <= MAX_FIELD)
        && c.username_fragment.as_ref().is_none_or(|s| s.len() <= MAX_FIELD)
        && (c.sdp_mid.is_some() || c.sdp_m_line_index.is_some());
    assert_eq!(CandidateInit::from_json(&v), sane.then(|| c.clone()), "{text}");
    // The same on the wire: an empty candidate is the end of candidates.
    let on_wire = parse_message(Channel::IceTrickling, &text);
    if c.candidate.is_empty() {
        assert_eq!(on_wire, Some(Incoming::EndOfCandidates));
    } else {
        assert_eq!(on_wire, sane.then(|| Incoming::Candidate(c)));
    }
    Ok(())
}

fn check_wait(u: &mut Unstructured) -> Result<()> {
    let kinds = ServerKinds { turn: u.arbitrary()?, stun: u.arbitrary()? };
    let mut now = u.int_in_range(0..=1u64 << 40)?;
    let start = now;
    let mut w = IceWait::new(kinds, now);
    let bound = if kinds.turn { RELAY_WAIT_MS } else if kinds.stun { SRFLX_WAIT_MS } else { HOST_WAIT_MS };
    assert_eq!(w.deadline(), start + bound);
    let mut was_ready = false;
    for _ in 0..u.int_in_range(0..=20)? {
        now += u.int_in_range(0..=3000u64)?;
        let before = w.deadline();
        match u.choose_index(5)? {
            4 => w.on_complete(),
            i => w.on_candidate([CandidateType::Host, CandidateType::Srflx, CandidateType::Prflx, CandidateType::Relay][i], now),
        }
        assert!(w.deadline() <= before, "the wait grew");
        assert!(w.deadline() >= start && w.deadline() <= start + bound);
        let ready = w.is_ready(now);
        assert!(ready || !was_ready, "ready went back");
        assert!(ready || now < w.deadline());
        assert_eq!(w.elapsed(now), now - start);
        was_ready = ready;
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    check_servers(&text);
    check_candidate_line(&text);
    if let Some(v) = Json::parse(&text) {
        if let Some(c) = CandidateInit::from_json(&v) {
            let again = Json::parse(&c.to_json()).and_then(|v| CandidateInit::from_json(&v));
            assert_eq!(again.as_ref(), Some(&c));
        }
    }
    let mut u = Unstructured::new(data);
    if let Ok(list) = structured_list(&mut u) {
        check_servers(&list);
    }
    let _ = check_candidate_init(&mut u);
    let _ = check_wait(&mut u);
});
