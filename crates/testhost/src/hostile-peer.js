// SPDX-License-Identifier: MIT OR Apache-2.0
//
// A hostile peer: a test fixture, never shipped. It speaks the call
// protocol (PROTOCOL.md sections 4 and 5) honestly until a test tells it to
// misbehave, then floods and feeds junk to the page on the other end
// (section 5a). Served by the test host at `/hostile.html` with the host
// shim (`web/host-shim.js`) before it, so the shim's recorders and media
// checks (`__host.callPc`, `__host.inbound`) work here as on a call page.
//
// Driven from Rust by evaluating `window.hostile.*`:
//   call({extraAudio, extraVideo})  caller: media, connection, the offer
//        handed to `window.calls.startCall` (and more m-lines on request)
//   `#onAnswer=B64` (hashchange)    caller: applies the answer
//   `#acceptCall=B64` (hashchange)  callee: answers through `acceptCall`
//   candidates(n, perSecond)        channel 1: well-formed host candidates
//   junk(n)                         channel 1: junk, binary, one 200 kB
//   mutes(n, ms)                    channel 3: toggles, then the truth
//   restarts(n, junkN, ms)          channel 5: one real ICE-restart offer
//                                   sent n times, with junk between
//   calleeOffers(n, ms)             channel 5, as the callee: offers
//   channels(n, bytes)              in-band data channels, a message each
// Each attack resolves once its last message is queued, with what it sent.
// `hostile.state` has what came back (answers, restart requests, errors).
(function () {
  "use strict";

  var S = window.hostile = {};
  var st = S.state = {
    role: null, answers: 0, answersApplied: 0, answerErrors: [], offersIn: 0,
    restartRequests: 0, candidatesIn: 0, mutedIn: [], errors: [],
  };
  var pc = null, stream = null, ch = {};
  var sleep = function (ms) { return new Promise(function (r) { setTimeout(r, ms); }); };
  var note = function (what, e) { st.errors.push(what + ": " + String(e && e.message || e)); };

  function unb64(b) {
    var bin = atob(decodeURIComponent(b));
    var bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return new TextDecoder().decode(bytes);
  }

  // Host candidates only (no ICE servers), so gathering ends quickly; the
  // description goes out complete and nothing needs trickling.
  function gathered() {
    return new Promise(function (resolve) {
      if (pc.iceGatheringState === "complete") return resolve();
      var done = function () { if (pc.iceGatheringState === "complete") resolve(); };
      pc.addEventListener("icegatheringstatechange", done);
      setTimeout(resolve, 3000); // bounded, as the protocol asks
    });
  }

  // The first audio and video transceivers' tracks, by kind, as the
  // Android client takes them (not by stream: a renegotiation may move a
  // track to another stream and leave the old one empty).
  function show() {
    var v = document.getElementById("remote-video");
    var tracks = ["audio", "video"].map(function (kind) {
      var t = pc.getTransceivers().filter(function (x) { return x.receiver.track.kind === kind; })[0];
      return t && t.receiver.track;
    }).filter(Boolean);
    var now = v.srcObject ? v.srcObject.getTracks() : [];
    if (tracks.length === now.length && tracks.every(function (t) { return now.indexOf(t) >= 0; })) return;
    v.srcObject = new MediaStream(tracks);
    v.play().catch(function () {});
  }

  function channel(id, label) {
    var c = pc.createDataChannel(label, { negotiated: true, id: id });
    ch[id] = c;
    return c;
  }

  function setUp() {
    pc = new RTCPeerConnection({ bundlePolicy: "max-bundle", iceServers: [] });
    pc.addEventListener("track", show);
    channel(1, "iceTrickling").onmessage = function (e) {
      st.candidatesIn += 1;
      var m = null;
      try { m = JSON.parse(e.data); } catch (x) { return; }
      if (m && m.candidate) pc.addIceCandidate(m).catch(function (x) { note("addIceCandidate", x); });
    };
    var muted = channel(3, "mutedState");
    muted.onopen = function () { muted.send(JSON.stringify({ audioEnabled: true, videoEnabled: true })); };
    muted.onmessage = function (e) { if (st.mutedIn.length < 100) st.mutedIn.push(String(e.data)); };
    channel(5, "renegotiation").onmessage = function (e) { renegotiation(e.data); };
  }

  // Channel 5 as an honest Android caller: a restart request gets a
  // restart offer; an answer is applied when one is awaited.
  function renegotiation(data) {
    var m = null;
    try { m = JSON.parse(data); } catch (x) { return; }
    if (!m) return;
    if (m.type === "answer") {
      st.answers += 1;
      if (st.role !== "caller" || pc.signalingState !== "have-local-offer") return;
      pc.setRemoteDescription({ type: "answer", sdp: m.sdp })
        .then(function () { st.answersApplied += 1; }, function (x) { st.answerErrors.push(String(x)); });
    } else if (m.type === "offer") {
      st.offersIn += 1;
    } else if (m.type === "restart-request") {
      st.restartRequests += 1;
      if (st.role === "caller" && !S.storming && pc.signalingState === "stable") {
        restartOffer().then(function (sdp) { ch[5].send(JSON.stringify({ type: "offer", sdp: sdp })); },
                            function (x) { note("restart", x); });
      }
    }
  }

  // A restart offer, set here, with the new generation's candidates in it
  // (gathering ends quickly without servers; bounded anyway).
  function restartOffer() {
    var complete = new Promise(function (resolve) {
      var done = function () {
        if (pc.iceGatheringState !== "complete") return;
        pc.removeEventListener("icegatheringstatechange", done);
        resolve();
      };
      pc.addEventListener("icegatheringstatechange", done);
      setTimeout(resolve, 3000);
    });
    return pc.createOffer({ iceRestart: true })
      .then(function (o) { return pc.setLocalDescription(o); })
      .then(function () { return complete; })
      .then(function () { return pc.localDescription.sdp; });
  }

  function media() {
    return navigator.mediaDevices.getUserMedia({ audio: true, video: true }).then(function (s) { stream = s; });
  }

  S.call = function (opts) {
    opts = opts || {};
    st.role = "caller";
    return media().then(function () {
      setUp();
      stream.getTracks().forEach(function (t) { pc.addTrack(t, stream); });
      // Odd shapes: more audio and video m-lines than any client sends,
      // sendrecv and in the same stream, but without media.
      for (var i = 0; i < (opts.extraAudio || 0); i++) pc.addTransceiver("audio", { direction: "sendrecv", streams: [stream] });
      for (var j = 0; j < (opts.extraVideo || 0); j++) pc.addTransceiver("video", { direction: "sendrecv", streams: [stream] });
      return pc.setLocalDescription();
    }).then(gathered).then(function () {
      window.calls.startCall(pc.localDescription.sdp);
      return pc.localDescription.sdp.length;
    });
  };

  function answerOffer(sdp) {
    st.role = "callee";
    return media().then(function () {
      setUp();
      return pc.setRemoteDescription({ type: "offer", sdp: sdp });
    }).then(function () {
      stream.getTracks().forEach(function (t) { pc.addTrack(t, stream); });
      return pc.setLocalDescription();
    }).then(gathered).then(function () {
      window.calls.acceptCall(pc.localDescription.sdp);
    });
  }

  window.addEventListener("hashchange", function () {
    var h = location.hash;
    if (h.indexOf("#onAnswer=") === 0 && pc) {
      pc.setRemoteDescription({ type: "answer", sdp: unb64(h.slice(10)) }).catch(function (x) { note("answer", x); });
    } else if (h.indexOf("#acceptCall=") === 0) {
      answerOffer(unb64(h.slice(12))).catch(function (x) { note("callee", x); });
    }
  });

  // Sends `make(i)` for i < n, spread evenly over `ms` (at least one
  // macrotask per 10 ms, so the page's own loop keeps turning).
  function paced(c, n, ms, make) {
    var t0 = performance.now(), i = 0, maxBuffered = 0;
    return new Promise(function (resolve) {
      (function tick() {
        var due = ms > 0 ? Math.min(n, Math.ceil((performance.now() - t0) * n / ms)) : n;
        if (due <= i) due = Math.min(n, i + 1);
        try {
          for (; i < due; i++) c.send(make(i));
        } catch (x) { note("send", x); i = n; }
        maxBuffered = Math.max(maxBuffered, c.bufferedAmount);
        if (i < n) setTimeout(tick, 10);
        else resolve({ sent: n, ms: Math.round(performance.now() - t0), maxBuffered: maxBuffered });
      })();
    });
  }

  function ufrag() {
    var m = /a=ice-ufrag:(\S+)/.exec(pc.localDescription.sdp);
    return m ? m[1] : "x";
  }

  // Well-formed host candidates of addresses nobody has (198.18.0.0/15,
  // the benchmarking range), each one new.
  S.candidates = function (n, perSecond) {
    var u = ufrag();
    return paced(ch[1], n, n * 1000 / perSecond, function (i) {
      var ip = "198." + (18 + (i >> 16 & 1)) + "." + (i >> 8 & 255) + "." + (i & 255);
      var c = "candidate:" + (1000 + i) + " 1 udp 2122260223 " + ip + " " + (10000 + i % 50000) +
        " typ host generation 0 ufrag " + u + " network-id 1";
      return JSON.stringify({ candidate: c, sdpMid: "0", sdpMLineIndex: 0, usernameFragment: u });
    });
  };

  var JUNK = [
    "not json {", "{\"candidate\":", "[]", "42", "\"text\"", "true",
    "{\"candidate\":42,\"sdpMid\":{}}", "{\"candidate\":\"candidate:garbage\",\"sdpMid\":\"0\"}",
    "{\"sdpMLineIndex\":-1}", "{\"candidate\":[\"a\"],\"sdpMLineIndex\":\"zero\"}",
    "{\"type\":\"offer\",\"sdp\":\"v=0\"}", "\u0000\u0001\u0002", "{\"audioEnabled\":\"yes\"}",
  ];

  function junkAt(i) {
    if (i === 0) return "{\"candidate\":\"" + new Array(200 * 1024).join("a") + "\",\"sdpMid\":\"0\"}";
    if (i % 7 === 3) { var b = new Uint8Array(64); b[0] = i & 255; return b; }
    return JUNK[i % JUNK.length];
  }

  S.junk = function (n) {
    return paced(ch[1], n, 1000, junkAt);
  };

  // Toggles of both flags (every state a lie but the last one), then the
  // truth: both on.
  S.mutes = function (n, ms) {
    return paced(ch[3], n, ms, function (i) {
      return JSON.stringify({ audioEnabled: i % 2 === 1, videoEnabled: i % 4 > 1 });
    }).then(function (r) {
      ch[3].send(JSON.stringify({ audioEnabled: true, videoEnabled: true }));
      return r;
    });
  };

  // One real ICE restart (set here, so the call can go on with whichever
  // copy the page applies), its offer sent `n` times, junk between.
  S.restarts = function (n, junkN, ms) {
    S.storming = true;
    return restartOffer().then(function (sdp) {
      var offer = JSON.stringify({ type: "offer", sdp: sdp });
      var every = Math.max(1, Math.floor((n + junkN) / Math.max(1, junkN)));
      var k = 0;
      return paced(ch[5], n + junkN, ms, function (i) {
        if (junkN > 0 && i % every === every - 1 && k < junkN) { k++; return junkAt(1 + i); }
        return offer;
      });
    }).then(function (r) { S.storming = false; return r; });
  };

  // The callee offers (a restart, never set here): only a caller may.
  S.calleeOffers = function (n, ms) {
    return pc.createOffer({ iceRestart: true }).then(function (o) {
      var offer = JSON.stringify({ type: "offer", sdp: o.sdp });
      return paced(ch[5], n, ms, function (i) { return i % 10 === 9 ? junkAt(2 + i) : offer; });
    });
  };

  // In-band channels (DCEP), none of which the protocol has; each sends
  // `bytes` once open. Resolves when every one is closed or after 10 s.
  S.channels = function (n, bytes) {
    var msg = new Array(bytes + 1).join("x");
    var list = [], opened = 0, closed = 0, t0 = performance.now();
    for (var i = 0; i < n; i++) {
      var c = pc.createDataChannel("hostile-" + i);
      c.onopen = function () { opened += 1; try { this.send(msg); } catch (x) { /* closed under us */ } };
      c.onclose = function () { closed += 1; };
      list.push(c);
    }
    return new Promise(function (resolve) {
      (function wait() {
        if (closed >= n || performance.now() - t0 > 10000) {
          resolve({ sent: n, opened: opened, closed: closed, ms: Math.round(performance.now() - t0) });
        } else setTimeout(wait, 50);
      })();
    });
  };
})();
