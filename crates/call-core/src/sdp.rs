//! Facts read from the other peer's description: which of its media
//! sections carry the call, and its candidates, bounded (PROTOCOL.md
//! sections 4 and 5a).

use alloc::string::String;

/// The media sections of an offer that the answer uses, by `a=mid`: the
/// first audio and the first video section that are not rejected. Every
/// deployed client offers exactly one of each (and the data channels'
/// application section); anything beyond is not part of the protocol and
/// is rejected in the answer, so that its tracks are never shown and no
/// media is sent on them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub audio: Option<String>,
    pub video: Option<String>,
}

/// Reads the plan of an offer.
pub fn plan(sdp: &str) -> Plan {
    let mut plan = Plan::default();
    for m in sections(sdp) {
        // Port 0 rejects a section, unless it is `bundle-only`: with
        // `max-bundle` Firefox offers every section after the first so
        // (RFC 8843), and it carries media like the others.
        let slot = match m.kind {
            Some(_) if m.port_zero && !m.bundle_only => continue,
            Some(true) => &mut plan.video,
            Some(false) => &mut plan.audio,
            None => continue,
        };
        if slot.is_none() {
            *slot = m.mid.map(String::from);
        }
    }
    plan
}

/// One media section, as far as the plan needs it.
struct Section<'a> {
    /// `Some(true)`: video, `Some(false)`: audio, `None`: anything else.
    kind: Option<bool>,
    port_zero: bool,
    bundle_only: bool,
    mid: Option<&'a str>,
}

fn sections(sdp: &str) -> impl Iterator<Item = Section<'_>> {
    let mut out = alloc::vec::Vec::new();
    for line in sdp.lines() {
        if let Some(m) = line.strip_prefix("m=") {
            let mut words = m.split(' ');
            let kind = match words.next() {
                Some("audio") => Some(false),
                Some("video") => Some(true),
                _ => None,
            };
            out.push(Section { kind, port_zero: words.next() == Some("0"), bundle_only: false, mid: None });
        } else if let Some(s) = out.last_mut() {
            if line.trim_end() == "a=bundle-only" {
                s.bundle_only = true;
            } else if let Some(mid) = line.strip_prefix("a=mid:") {
                s.mid = s.mid.or(Some(mid.trim()));
            }
        }
    }
    out.into_iter()
}

/// Keeps the first `max` candidate lines of a description and takes out
/// the rest. Returns the description, how many were kept and how many
/// were taken out (the text is returned as it came when none were).
pub fn cap_candidates(sdp: String, max: u32) -> (String, u32, u32) {
    let is_candidate = |l: &str| l.starts_with("a=candidate:");
    let total = sdp.split('\n').filter(|l| is_candidate(l)).count();
    let total = u32::try_from(total).unwrap_or(u32::MAX);
    if total <= max {
        return (sdp, total, 0);
    }
    let mut out = String::with_capacity(sdp.len());
    let mut kept = 0;
    for line in sdp.split_inclusive('\n') {
        if is_candidate(line) {
            if kept >= max {
                continue;
            }
            kept += 1;
        }
        out.push_str(line);
    }
    (out, kept, total - kept)
}

/// The order in which our audio codecs are offered and answered, as
/// indices into the browser's list (`RTCRtpSender.getCapabilities`
/// mime types); `None`: the browser's own order is right.
///
/// RED for Opus first where the browser has it (RFC 2198: each packet
/// also carries the one before, so a single lost packet costs no sound):
/// Chromium since about 96 offers `audio/red` but lists it after Opus,
/// so two pages that both have it would still send plain Opus. A peer
/// without it (Chromium 87, Firefox, the native clients) answers Opus,
/// whose in-band FEC (`useinbandfec=1`, in every deployed offer) then
/// protects what it can.
pub fn audio_codec_order(mimes: &[&str]) -> Option<alloc::vec::Vec<usize>> {
    let is = |m: &str, want: &str| m.eq_ignore_ascii_case(want);
    if !mimes.iter().any(|m| is(m, "audio/red")) || !mimes.iter().any(|m| is(m, "audio/opus")) {
        return None;
    }
    let rank = |m: &str| if is(m, "audio/red") { 0 } else if is(m, "audio/opus") { 1 } else { 2 };
    // Three passes rather than a sort: no sort routine in the page.
    Some((0..3).flat_map(|r| (0..mimes.len()).filter(move |&i| rank(mimes[i]) == r)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    #[allow(unused_imports)]
    use std::{format, prelude::rust_2021::*, vec};

    fn section(kind: &str, port: u32, mid: &str) -> String {
        format!("m={kind} {port} UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:{mid}\r\na=sendrecv\r\n")
    }

    #[test]
    fn the_first_audio_and_video_sections_carry_the_call() {
        let mut sdp = String::from("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1 2\r\n");
        sdp += &section("audio", 9, "0");
        sdp += &section("video", 9, "1");
        sdp += "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:2\r\n";
        for i in 3..33 {
            sdp += &section(if i % 2 == 0 { "audio" } else { "video" }, 9, &format!("{i}"));
        }
        assert_eq!(plan(&sdp), Plan { audio: Some("0".into()), video: Some("1".into()) });
    }

    #[test]
    fn odd_shapes() {
        // Video first, audio rejected, then a usable audio section.
        let sdp = [section("video", 9, "v"), section("audio", 0, "a0"), section("audio", 9, "a1")].concat();
        assert_eq!(plan(&sdp), Plan { audio: Some("a1".into()), video: Some("v".into()) });
        // Firefox's offers with max-bundle: sections after the first have
        // port 0 and `a=bundle-only`; they carry media.
        let firefox = [section("audio", 9, "0"), section("video", 0, "1").replace("a=sendrecv", "a=bundle-only\r\na=sendrecv")].concat();
        assert_eq!(plan(&firefox), Plan { audio: Some("0".into()), video: Some("1".into()) });
        // No audio section at all; no mid at all.
        assert_eq!(plan(&section("video", 9, "1")), Plan { audio: None, video: Some("1".into()) });
        assert_eq!(plan("v=0\r\nm=audio 9 RTP/AVP 0\r\n"), Plan::default());
    }

    #[test]
    fn candidates_over_the_bound_are_taken_out() {
        let head = "v=0\r\nm=audio 9 x\r\na=mid:0\r\n";
        let cand = |i: u32| format!("a=candidate:{i} 1 udp 1 10.0.{}.{} 9 typ host\r\n", i / 256, i % 256);
        let sdp: String = core::iter::once(head.to_string()).chain((0..100).map(cand)).chain(["a=end\r\n".into()]).collect();
        let (out, kept, dropped) = cap_candidates(sdp.clone(), 64);
        assert_eq!((kept, dropped), (64, 36));
        assert!(out.starts_with(head) && out.ends_with("a=end\r\n"));
        assert!(out.contains(&cand(63)) && !out.contains(&cand(64)));
        let (same, kept, dropped) = cap_candidates(sdp.clone(), 100);
        assert_eq!((same == sdp, kept, dropped), (true, 100, 0));
    }

    #[test]
    fn red_first_where_the_browser_has_it() {
        let chromium = ["audio/opus", "audio/red", "audio/G722", "audio/PCMU", "audio/telephone-event"];
        assert_eq!(audio_codec_order(&chromium), Some(vec![1, 0, 2, 3, 4]));
        assert_eq!(audio_codec_order(&["audio/RED", "audio/OPUS"]), Some(vec![0, 1]));
        // Chromium 87 and Firefox have no RED: their order stays.
        assert_eq!(audio_codec_order(&["audio/opus", "audio/G722", "audio/PCMU"]), None);
        assert_eq!(audio_codec_order(&["audio/red", "audio/PCMU"]), None, "RED without Opus protects nothing we send");
        assert_eq!(audio_codec_order(&[]), None);
    }
}
