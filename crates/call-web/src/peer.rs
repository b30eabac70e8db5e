//! The `RTCPeerConnection` and its negotiated data channels.

use alloc::string::String;
use alloc::vec::Vec;

use call_core::sdp::Plan;
use call_core::{CandidateInit, Channel, ConnState, IceServer, Input};
use js_sys::{Array, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{
    MediaStream, MessageEvent, RtcBundlePolicy, RtcConfiguration, RtcDataChannel, RtcDataChannelInit, RtcDataChannelState,
    RtcIceCandidateInit, RtcIceServer, RtcIceTransportPolicy, RtcPeerConnection, RtcPeerConnectionIceEvent,
    RtcPeerConnectionState, RtcRtpTransceiver, RtcRtpTransceiverDirection, RtcRtpTransceiverInit, RtcSdpType,
    RtcSessionDescriptionInit,
};

use crate::event::{close_on_panic, dispatch, input, Ev};
use crate::js::{call_method, cb, err_name, get_f64, get_str, log, now_ms, then};

pub(crate) struct Peer {
    pc: RtcPeerConnection,
    channels: Vec<(Channel, RtcDataChannel)>,
    /// The one stream both our tracks belong to on the wire, so every
    /// sending m-line carries `a=msid:<stream> <track>` (PROTOCOL.md
    /// section 4): web peers take `event.streams[0]` in `ontrack`, and a
    /// track without a stream leaves them with a silent avatar.
    stream: MediaStream,
    /// The video transceiver's direction: sendrecv, or inactive where the
    /// core created the peer without video (`disableVideoCompletely`).
    video: RtcRtpTransceiverDirection,
    /// Callee: which of the offer's media sections carry the call
    /// (`Effect::UseMedia`); `None` for the caller, whose only
    /// transceivers are its own two.
    pub(crate) plan: Option<Plan>,
    /// Data channels the peer opened, until the core has them closed.
    pub(crate) foreign: Vec<RtcDataChannel>,
}

fn transceivers(pc: &RtcPeerConnection) -> impl Iterator<Item = RtcRtpTransceiver> {
    pc.get_transceivers().iter().filter_map(|t| t.dyn_into::<RtcRtpTransceiver>().ok()).collect::<Vec<_>>().into_iter()
}

/// Whether `t` is the transceiver for `kind` ("audio", "video"): the
/// plan's mid where there is a plan, else the first of its kind.
fn is_for(plan: Option<&Plan>, t: &RtcRtpTransceiver, kind: &str) -> bool {
    match plan {
        Some(p) => {
            let want = if kind == "video" { &p.video } else { &p.audio };
            want.is_some() && t.mid() == *want
        }
        None => t.receiver().track().kind() == kind,
    }
}

/// Sets a handler for the page's lifetime. One peer connection exists per
/// page, so the few handlers simply live as long as the page.
fn on<E: JsCast>(set: impl FnOnce(Option<&js_sys::Function>), mut f: impl FnMut(E) + 'static) {
    set(Some(&cb(move |v: JsValue| f(v.unchecked_into()))));
}

fn config(servers: &[IceServer], relay_only: bool) -> RtcConfiguration {
    let cfg = RtcConfiguration::new();
    let list = Array::new();
    for s in servers {
        let srv = RtcIceServer::new();
        let urls: Array = s.urls.iter().map(|u| JsValue::from_str(u)).collect();
        srv.set_urls(&urls);
        if let Some(u) = &s.username {
            srv.set_username(u);
        }
        if let Some(c) = &s.credential {
            srv.set_credential(c);
        }
        list.push(&srv);
    }
    cfg.set_ice_servers(&list);
    // Bundling as every deployed peer does (PROTOCOL.md section 4). Not
    // their iceCandidatePoolSize of 1: with a pool, Chromium 156 sometimes
    // never gathered a single candidate for an answering peer (about one
    // end-to-end run in three; none in ten runs without it). The pool is
    // local, invisible on the wire, and saves nothing here: gathering
    // starts right after the connection is created either way.
    cfg.set_bundle_policy(RtcBundlePolicy::MaxBundle);
    if relay_only {
        cfg.set_ice_transport_policy(RtcIceTransportPolicy::Relay);
    }
    cfg
}

fn conn_state(s: RtcPeerConnectionState) -> ConnState {
    match s {
        RtcPeerConnectionState::Connecting => ConnState::Connecting,
        RtcPeerConnectionState::Connected => ConnState::Connected,
        RtcPeerConnectionState::Disconnected => ConnState::Disconnected,
        RtcPeerConnectionState::Failed => ConnState::Failed,
        RtcPeerConnectionState::Closed => ConnState::Closed,
        _ => ConnState::New,
    }
}

fn candidate_init(c: &web_sys::RtcIceCandidate) -> CandidateInit {
    CandidateInit {
        candidate: c.candidate(),
        sdp_mid: c.sdp_mid(),
        sdp_m_line_index: c.sdp_m_line_index(),
        username_fragment: Reflect::get(c, &JsValue::from_str("usernameFragment")).ok().and_then(|v| v.as_string()),
    }
}

/// Creates the offer or answer the connection's state calls for and sets
/// it as local description, then reports `LocalDescriptionSet` or
/// `PeerError`. `setLocalDescription()` without an argument (Chromium 80,
/// Firefox 75) does both in one operation of the browser's: the created
/// description does not come back to this thread first, where a frame
/// being drawn held it for 4–6 ms on the way to the host.
/// `answered`: as callee, our audio transceiver, whose sender is set up
/// once the answer is applied (`Peer::audio_sent`).
fn describe(pc: &RtcPeerConnection, answered: Option<RtcRtpTransceiver>) {
    let Some(p) = call_method(pc, "setLocalDescription", None).and_then(|p| p.dyn_into::<Promise>().ok()) else {
        return input(Input::PeerError);
    };
    let pc = pc.clone();
    then(&p, move |r| {
        if let Some(d) = pc.local_description().filter(|_| r.is_ok()) {
            crate::debug::sdp(true, &d.sdp());
            answered.iter().for_each(Peer::audio_sent);
            return input(Input::LocalDescriptionSet);
        }
        input(Input::PeerError)
    });
}

/// Logs a failed promise whose success needs no action.
fn log_failure(p: &Promise, what: &'static str) {
    then(p, move |r| {
        if let Err(e) = r {
            log(&[what, " failed: ", &err_name(&e)].concat());
        }
    });
}

impl Peer {
    pub(crate) fn new(servers: &[IceServer], relay_only: bool, video: bool) -> Result<Peer, JsValue> {
        let pc = RtcPeerConnection::new_with_configuration(&config(servers, relay_only))?;
        close_on_panic(&pc);
        on(|f| pc.set_onicecandidate(f), |e: RtcPeerConnectionIceEvent| {
            input(match e.candidate() {
                Some(c) if !c.candidate().is_empty() => {
                    crate::debug::candidate(true, &c.candidate());
                    Input::Candidate(candidate_init(&c))
                }
                _ => Input::GatheringComplete,
            })
        });
        let pc2 = pc.clone();
        on(|f| pc.set_onconnectionstatechange(f), move |_: JsValue| {
            input(Input::Connection(conn_state(pc2.connection_state())))
        });
        let mut channels = Vec::new();
        for ch in Channel::ALL {
            let init = RtcDataChannelInit::new();
            init.set_negotiated(true);
            init.set_id(ch.id());
            let dc = pc.create_data_channel_with_data_channel_dict(ch.label(), &init);
            on(|f| dc.set_onopen(f), move |_: JsValue| input(Input::ChannelOpen(ch)));
            on(|f| dc.set_onclose(f), move |_: JsValue| input(Input::ChannelClosed(ch)));
            on(|f| dc.set_onmessage(f), move |e: MessageEvent| match e.data().as_string() {
                Some(text) => input(Input::ChannelMessage(ch, text)),
                None => input(Input::BinaryMessage(ch)),
            });
            channels.push((ch, dc));
        }
        // Channels the peer opens in-band are not part of the protocol.
        on(|f| pc.set_ondatachannel(f), |e: web_sys::RtcDataChannelEvent| dispatch(Ev::ForeignChannel(e.channel())));
        let video = if video { RtcRtpTransceiverDirection::Sendrecv } else { RtcRtpTransceiverDirection::Inactive };
        Ok(Peer { pc, channels, stream: MediaStream::new()?, video, plan: None, foreign: Vec::new() })
    }

    /// Caller: an audio and a video transceiver, sendrecv even without a
    /// track, so that the callee's media can always come back and our
    /// tracks can go on them whenever capture delivers (`send_audio`,
    /// `send_video`) without renegotiation (PROTOCOL.md section 4). The
    /// offer never waits for the camera.
    pub(crate) fn offer(&self) {
        let init = RtcRtpTransceiverInit::new();
        init.set_direction(RtcRtpTransceiverDirection::Sendrecv);
        init.set_streams(&Array::of1(&self.stream));
        let audio = self.pc.add_transceiver_with_str_and_init("audio", &init);
        Self::audio_first(&audio);
        Self::audio_sent(&audio);
        init.set_direction(self.video);
        self.pc.add_transceiver_with_str_and_init("video", &init);
        describe(&self.pc, None);
    }

    /// Caller: an offer with new ICE credentials, for a renegotiation.
    pub(crate) fn restart_offer(&self) {
        // `restartIce()` is missing from web-sys; Chromium has it since 77.
        let _ = call_method(&self.pc, "restartIce", None);
        describe(&self.pc, None);
    }

    /// Sends the local description on the `renegotiation` channel.
    pub(crate) fn send_description(&self) {
        let Some(d) = self.pc.local_description() else { return };
        let sdp = d.sdp();
        let msg = match d.type_() {
            RtcSdpType::Offer => call_core::channel::Renegotiation::Offer(sdp),
            _ => call_core::channel::Renegotiation::Answer(sdp),
        };
        self.send(Channel::Renegotiation, &msg.to_json());
    }

    /// `setLocalDescription()` without an argument makes an offer in the
    /// stable state: only with a remote offer applied is it an answer.
    pub(crate) fn answer(&self) {
        if self.pc.signaling_state() != web_sys::RtcSignalingState::HaveRemoteOffer {
            return input(Input::PeerError);
        }
        describe(&self.pc, self.transceiver("audio"));
    }

    /// From now on, a track the peer sends is shown (`Effect::ShowRemote`).
    pub(crate) fn on_track(&self) {
        on(|f| self.pc.set_ontrack(f), |_: JsValue| dispatch(Ev::RemoteTrack));
    }

    /// The tracks our receivers deliver, of the transceivers that carry
    /// the call.
    pub(crate) fn receiver_tracks(&self) -> Vec<web_sys::MediaStreamTrack> {
        let plan = self.plan.as_ref();
        transceivers(&self.pc)
            .filter(|t| t.direction() != RtcRtpTransceiverDirection::Inactive)
            .filter(|t| is_for(plan, t, "audio") || is_for(plan, t, "video"))
            .map(|t| t.receiver().track())
            .collect()
    }

    fn transceiver(&self, kind: &str) -> Option<RtcRtpTransceiver> {
        transceivers(&self.pc).find(|t| is_for(self.plan.as_ref(), t, kind))
    }

    /// Closes the data channels the peer opened.
    pub(crate) fn close_foreign(&mut self) {
        for dc in self.foreign.drain(..) {
            dc.close();
        }
    }

    /// Applies a remote description. As callee, the offer created the
    /// transceivers: they are made to send, in our stream; the tracks
    /// follow when the core says so (`send_audio`, `send_video`).
    pub(crate) fn set_remote(&self, offer: bool, sdp: &str) {
        let init = RtcSessionDescriptionInit::new(if offer { RtcSdpType::Offer } else { RtcSdpType::Answer });
        init.set_sdp(sdp);
        crate::debug::sdp(false, sdp);
        let p = self.pc.set_remote_description(&init);
        let pc = self.pc.clone();
        let stream = self.stream.clone();
        let video_dir = self.video;
        let plan = self.plan.clone();
        then(&p, move |r| {
            if r.is_err() {
                return input(Input::PeerError);
            }
            if offer {
                for t in transceivers(&pc) {
                    let dir = if is_for(plan.as_ref(), &t, "audio") {
                        RtcRtpTransceiverDirection::Sendrecv
                    } else if is_for(plan.as_ref(), &t, "video") {
                        video_dir
                    } else {
                        // Not part of the call: rejected in the answer
                        // (`stop()` since Chromium 88; inactive before).
                        t.set_direction(RtcRtpTransceiverDirection::Inactive);
                        let _ = call_method(&t, "stop", None);
                        continue;
                    };
                    t.set_direction(dir);
                    if is_for(plan.as_ref(), &t, "audio") {
                        Self::audio_first(&t);
                    }
                    // The offer made this sender without a stream; our
                    // answer must name one (see `Peer::stream`).
                    if dir != RtcRtpTransceiverDirection::Inactive
                        && call_method(&t.sender(), "setStreams", Some(&stream)).is_none()
                    {
                        log("setStreams failed");
                    }
                }
            }
            input(Input::RemoteDescriptionSet);
        });
    }

    /// Sends `track` on the video transceiver (`None`: send nothing); a
    /// failure goes back to the core.
    pub(crate) fn send_video(&self, track: Option<&web_sys::MediaStreamTrack>) {
        if let Some(t) = self.transceiver("video") {
            then(&t.sender().replace_track(track), |r| {
                if r.is_err() {
                    input(Input::SendVideoFailed);
                }
            });
        }
    }

    /// Sends `track` on the audio transceiver (another microphone).
    pub(crate) fn send_audio(&self, track: &web_sys::MediaStreamTrack) {
        if let Some(t) = self.transceiver("audio") {
            log_failure(&t.sender().replace_track(Some(track)), "replaceTrack");
        }
    }

    /// Sends our video as the core says, through the sender's encoding
    /// parameters (bitrate, size, frame rate, paused): no renegotiation,
    /// nothing in the SDP changes. A failure goes back to the core.
    pub(crate) fn limit_video(&self, send: call_core::VideoSend) {
        let Some(sender) = self.transceiver("video").map(|t| t.sender()) else { return };
        let set = |_: &JsValue, first: &JsValue| {
            let num = |v: Option<u32>, k: &str| match v {
                Some(n) => Reflect::set(first, &JsValue::from_str(k), &JsValue::from_f64(f64::from(n))).is_ok(),
                None => Reflect::delete_property(first.unchecked_ref::<js_sys::Object>(), &JsValue::from_str(k)).is_ok(),
            };
            num(send.max_kbps.map(|k| k.saturating_mul(1000)), "maxBitrate")
                && num(Some(send.scale), "scaleResolutionDownBy")
                && num(send.max_fps, "maxFramerate")
                && Reflect::set(first, &JsValue::from_str("active"), &JsValue::from_bool(send.active)).is_ok()
        };
        if !set_first_encoding(&sender, set, true) {
            input(Input::VideoLimitFailed);
        }
    }

    /// The codec order the core prefers (`sdp::audio_codec_order`):
    /// before our first description of the call, so that it is in it.
    fn audio_first(t: &RtcRtpTransceiver) {
        let sender_class = Reflect::get(&js_sys::global(), &JsValue::from_str("RTCRtpSender")).unwrap_or(JsValue::UNDEFINED);
        let Some(caps) = call_method(&sender_class, "getCapabilities", Some(&JsValue::from_str("audio"))) else { return };
        let codecs = Array::from(&Reflect::get(&caps, &JsValue::from_str("codecs")).unwrap_or(JsValue::UNDEFINED));
        let mimes: Vec<String> = codecs.iter().map(|c| get_str(&c, "mimeType").unwrap_or_default()).collect();
        let names: Vec<&str> = mimes.iter().map(String::as_str).collect();
        let Some(order) = call_core::sdp::audio_codec_order(&names) else { return };
        let preferred: Array = order.into_iter().map(|i| codecs.get(i as u32)).collect();
        if call_method(t, "setCodecPreferences", Some(&preferred)).is_none() {
            log("setCodecPreferences failed");
        }
    }

    /// The audio sender's priority (`call_core::params::AUDIO_PRIORITY`).
    /// The caller's sender has its encoding from the start; the callee's
    /// only once the answer is applied.
    fn audio_sent(t: &RtcRtpTransceiver) {
        let prio = JsValue::from_str(call_core::params::AUDIO_PRIORITY);
        let set = |_: &JsValue, first: &JsValue| {
            ["priority", "networkPriority"].iter().all(|k| Reflect::set(first, &JsValue::from_str(k), &prio).is_ok())
        };
        if !set_first_encoding(&t.sender(), set, false) {
            log("the audio sender's priority could not be set");
        }
    }

    pub(crate) fn local_sdp(&self) -> Option<String> {
        self.pc.local_description().map(|d| d.sdp())
    }

    pub(crate) fn add_candidate(&self, c: Option<&CandidateInit>) {
        let init = c.map(|c| {
            crate::debug::candidate(false, &c.candidate);
            let i = RtcIceCandidateInit::new(&c.candidate);
            i.set_sdp_mid(c.sdp_mid.as_deref());
            i.set_sdp_m_line_index(c.sdp_m_line_index);
            if let Some(u) = &c.username_fragment {
                let _ = Reflect::set(&i, &JsValue::from_str("usernameFragment"), &JsValue::from_str(u));
            }
            i
        });
        log_failure(&self.pc.add_ice_candidate_with_opt_rtc_ice_candidate_init(init.as_ref()), "addIceCandidate");
    }

    pub(crate) fn send(&self, ch: Channel, text: &str) {
        for (c, dc) in &self.channels {
            if *c == ch && dc.ready_state() == RtcDataChannelState::Open && dc.send_with_str(text).is_err() {
                log("data channel send failed");
            }
        }
    }

    /// Looks up the selected candidate pair and reports P2P or relay.
    pub(crate) fn query_route(&self) {
        then(&self.pc.get_stats(), |r| {
            let Ok(report) = r else { return };
            let mut rtt = None;
            if let Some((pair, local, remote)) = selected_pair(&report) {
                let seconds = js_sys::Reflect::get(&pair, &JsValue::from_str("currentRoundTripTime")).unwrap_or(JsValue::UNDEFINED);
                crate::debug::pair(&local, &remote, &seconds);
                rtt = seconds.as_f64().map(|s| (s * 1000.0) as u32);
                if let (Some(l), Some(r)) = (get_str(&local, "candidateType"), get_str(&remote, "candidateType")) {
                    input(Input::Route(call_core::Route::from_pair(&l, &r)));
                }
            }
            input(Input::Stats(call_core::quality::Sample { rtt_ms: rtt, ..sample(&report) }));
        });
    }

    /// The path's estimate and what our video sent, from the video
    /// sender's own report: its outbound stream and what that references
    /// (the transport, the selected pair), a fraction of the whole
    /// connection's report.
    pub(crate) fn query_estimate(&self) {
        let stats = self.transceiver("video").and_then(|t| call_method(&t.sender(), "getStats", None));
        let Some(p) = stats else { return input(Input::Estimate { kbps: None, video_sent: None }) };
        then(&Promise::resolve(&p), |r| {
            let (mut kbps, mut video_sent) = (None, None);
            if let Ok(report) = r {
                kbps = selected_pair(&report).and_then(|(pair, _, _)| estimate_kbps(&pair));
                report.unchecked_ref::<js_sys::Map>().for_each(&mut |v, _| {
                    if get_str(&v, "type").as_deref() == Some("outbound-rtp") {
                        video_sent = get_f64(&v, "bytesSent").map(|b| b as u64);
                    }
                });
            }
            input(Input::Estimate { kbps, video_sent });
        });
    }

    /// Reports our end of the selected pair (`Input::PathEnd`).
    pub(crate) fn check_address(&self) {
        then(&self.pc.get_stats(), |r| {
            let Ok(report) = r else { return };
            if let Some((_, local, _)) = selected_pair(&report) {
                input(Input::PathEnd {
                    candidate_type: get_str(&local, "candidateType").unwrap_or_default(),
                    address: get_str(&local, "address"),
                    related: get_str(&local, "relatedAddress"),
                });
            }
        });
    }

    pub(crate) fn close(self) {
        for (_, dc) in &self.channels {
            dc.close();
        }
        self.pc.close();
    }
}

/// Changes a sender's first encoding with `set` (`getParameters`, then
/// `setParameters`); false when that could not be done. `report`: a
/// rejected promise goes back to the core as `Input::VideoLimitFailed`.
fn set_first_encoding(sender: &web_sys::RtcRtpSender, set: impl Fn(&JsValue, &JsValue) -> bool, report: bool) -> bool {
    let params = call_method(sender, "getParameters", None);
    let first = params.as_ref().and_then(|p| Reflect::get(p, &JsValue::from_str("encodings")).ok()).map(|e| Array::from(&e).get(0));
    let (Some(params), Some(first)) = (params, first.filter(|f| f.is_object())) else { return false };
    if !set(&params, &first) {
        return false;
    }
    match call_method(sender, "setParameters", Some(&params)) {
        Some(p) => then(&Promise::resolve(&p), move |r| {
            if r.is_err() {
                if report {
                    input(Input::VideoLimitFailed);
                } else {
                    log("setParameters failed");
                }
            }
        }),
        None => return false,
    }
    true
}

/// A candidate pair's `availableOutgoingBitrate`, in kbit/s.
fn estimate_kbps(pair: &JsValue) -> Option<u32> {
    get_f64(pair, "availableOutgoingBitrate").map(|b| (b / 1000.0) as u32)
}

fn num(obj: &JsValue, key: &str) -> u64 {
    // `as` saturates: NaN and negatives (packetsLost is signed) become 0.
    get_f64(obj, key).unwrap_or(0.0) as u64
}

/// Sums the counters of a stats report for the quality indicator.
fn sample(report: &JsValue) -> call_core::quality::Sample {
    let map: &js_sys::Map = report.unchecked_ref();
    let mut s = call_core::quality::Sample { at_ms: now_ms(), ..Default::default() };
    map.for_each(&mut |v, _k| match get_str(&v, "type").as_deref() {
        Some("inbound-rtp") => {
            s.packets_received = s.packets_received.saturating_add(num(&v, "packetsReceived"));
            s.packets_lost = s.packets_lost.saturating_add(num(&v, "packetsLost"));
            s.bytes_received = s.bytes_received.saturating_add(num(&v, "bytesReceived"));
        }
        Some("outbound-rtp") => s.bytes_sent = s.bytes_sent.saturating_add(num(&v, "bytesSent")),
        _ => {}
    });
    s
}

/// The stats report is a maplike of id → stats object. The transport's
/// `selectedCandidatePairId` names the pair, whose local and remote
/// candidate stats carry `candidateType`. Returns (pair, local, remote).
fn selected_pair(report: &JsValue) -> Option<(JsValue, JsValue, JsValue)> {
    let map: &js_sys::Map = report.unchecked_ref();
    let get = |id: &str| -> Option<JsValue> {
        let v = map.get(&JsValue::from_str(id));
        (!v.is_undefined()).then_some(v)
    };
    let mut pair_id = None;
    map.for_each(&mut |v, _k| {
        if pair_id.is_none() && get_str(&v, "type").as_deref() == Some("transport") {
            pair_id = get_str(&v, "selectedCandidatePairId");
        }
    });
    let pair = get(&pair_id?)?;
    let local = get(&get_str(&pair, "localCandidateId")?)?;
    let remote = get(&get_str(&pair, "remoteCandidateId")?)?;
    Some((pair, local, remote))
}
