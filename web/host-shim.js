// SPDX-License-Identifier: MIT OR Apache-2.0
//
// A stand-in for the messenger that hosts the call page (PROTOCOL.md
// section 2). The test host (crates/testhost) injects this file as the
// first inline script of the page, so `window.calls` exists before the
// page's own scripts run, as with Delta Chat Desktop.
//
// Configuration: `window.__hostConfig` (set by a test before any page script,
// e.g. with CDP `Page.addScriptToEvaluateOnNewDocument`) or, inside the demo
// page's iframes, the iframe element's `data-host-config` attribute (JSON):
//   iceServers  JSON text returned by getIceServers (default "[]")
//   iceMode     "promise" (default) | "sync" | "reject" | "throw" | "never"
//   avatar      string returned by getAvatar; absent: no getAvatar member
//   media       "camera+mic" (default) | "mic-only" | "none"
//   gumDelayMs  getUserMedia resolves this much later (a slow camera)
//   demo        {side: "alice" | "bob", channel: "name"}: carry payloads to
//               the other iframe over a BroadcastChannel
//
// What the page did is recorded in `window.__host` for the tests:
//   calls  [{name, arg, t}] every host call (t: performance.now())
//   pcs    RTCPeerConnection instances created; pcList the instances,
//          pcTimes when each was created
//   srd    setRemoteDescription calls; offers: offers made on a
//          connection with media (createOffer, or setLocalDescription
//          without a description when stable; not a page's probe)
//   restarts  restartIce calls
//   gum    [{audio, video, ok, t, done}] getUserMedia requests
//   phases [{phase, t}] every change of <html data-phase>
//   csp    Content-Security-Policy violations [{directive, blocked}]
//   alerts values passed to alert/confirm/prompt (must stay empty)
//   hashchanges  how many hashchange events the page got
//   timersPending()  how many timers the page has pending
//   bound  [{id, t}] every stream the page put on a media element
//          (`srcObject`), by the element's id
//   pcEvents [{i, state, t, at}] every connectionState change of the
//          instance pcList[i]; at = performance.timeOrigin + t, a clock
//          that two pages share (for timings across windows)
(function () {
  "use strict";

  var frameConfig = null;
  try {
    var fe = window.frameElement;
    if (fe && fe.getAttribute("data-host-config")) {
      frameConfig = JSON.parse(fe.getAttribute("data-host-config"));
    }
  } catch (e) { /* not same-origin or not JSON: no frame config */ }
  var config = window.__hostConfig || frameConfig || {};
  var now = function () { return performance.now(); };

  var host = {
    config: config,
    calls: [],
    pcs: 0,
    pcList: [],
    pcTimes: [],
    srd: 0,
    offers: 0,
    restarts: 0,
    gum: [],
    phases: [],
    csp: [],
    alerts: [],
    bound: [],
    hashchanges: 0,
    pcEvents: [],
  };
  window.__host = host;

  function record(name, arg) {
    host.calls.push({ name: name, arg: arg, t: now() });
  }

  // ---- base64 of UTF-8 text (btoa alone only takes Latin-1) ----
  function b64(text) {
    var bytes = new TextEncoder().encode(text);
    var bin = "";
    for (var i = 0; i < bytes.length; i += 0x8000) {
      bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return btoa(bin);
  }
  host.b64 = b64;

  // ---- demo mode: the "messenger" between two iframes ----
  var demo = config.demo || null;
  var bc = null;
  if (demo && typeof BroadcastChannel === "function") {
    bc = new BroadcastChannel(demo.channel || "calls-demo");
    bc.onmessage = function (ev) {
      var m = ev.data || {};
      if (m.to === demo.side && typeof m.hash === "string") {
        location.hash = m.hash;
      }
    };
  }
  function send(msg) {
    if (bc) {
      msg.from = demo.side;
      bc.postMessage(msg);
    }
  }
  var other = demo && demo.side === "alice" ? "bob" : "alice";

  // ---- window.calls ----
  var iceText = typeof config.iceServers === "string" ? config.iceServers : "[]";
  var calls = {
    startCall: function (sdp) {
      record("startCall", sdp);
      send({ type: "startCall", to: other, hash: "#offerIncomingCall=" + b64(sdp) });
    },
    acceptCall: function (sdp) {
      record("acceptCall", sdp);
      send({ type: "acceptCall", to: other, hash: "#onAnswer=" + b64(sdp) });
    },
    endCall: function () {
      record("endCall", null);
      // Desktop closes the window here; the demo page does that for us.
      send({ type: "endCall" });
    },
    getIceServers: function () {
      var mode = config.iceMode || "promise";
      record("getIceServers", mode);
      switch (mode) {
        case "sync": return iceText;
        case "reject": return Promise.reject(new Error("no ICE servers (test)"));
        case "throw": throw new Error("getIceServers throws (test)");
        case "never": return new Promise(function () {});
        default: return Promise.resolve(iceText);
      }
    },
  };
  if (typeof config.avatar === "string") {
    calls.getAvatar = function () {
      record("getAvatar", null);
      return config.avatar;
    };
  }
  window.calls = calls;

  // ---- instrumentation of RTCPeerConnection ----
  var Orig = window.RTCPeerConnection;
  if (typeof Orig === "function") {
    var proto = Orig.prototype;
    var wrap = function (name, count) {
      var f = proto[name];
      if (typeof f !== "function") return;
      proto[name] = function () {
        if (count !== "offers" || this.getTransceivers().length > 0) host[count] += 1;
        return f.apply(this, arguments);
      };
    };
    wrap("setRemoteDescription", "srd");
    wrap("createOffer", "offers");
    // An offer made inside setLocalDescription() (no argument, in the
    // stable state) counts as one too.
    var sld = proto.setLocalDescription;
    if (typeof sld === "function") {
      proto.setLocalDescription = function (d) {
        if (!d && this.signalingState === "stable" && this.getTransceivers().length > 0) host.offers += 1;
        return sld.apply(this, arguments);
      };
    }
    wrap("restartIce", "restarts");
    var Counted = function RTCPeerConnection(cfg) {
      var pc = arguments.length ? new Orig(cfg) : new Orig();
      host.pcs += 1;
      host.pcList.push(pc);
      host.pcTimes.push(now());
      var index = host.pcList.length - 1;
      pc.addEventListener("connectionstatechange", function () {
        var t = now();
        host.pcEvents.push({ i: index, state: pc.connectionState, t: t, at: performance.timeOrigin + t });
      });
      return pc;
    };
    Counted.prototype = proto;
    Object.setPrototypeOf(Counted, Orig);
    window.RTCPeerConnection = Counted;
  }

  // ---- media elements ----
  var src = window.HTMLMediaElement && Object.getOwnPropertyDescriptor(HTMLMediaElement.prototype, "srcObject");
  if (src && src.set) {
    Object.defineProperty(HTMLMediaElement.prototype, "srcObject", {
      configurable: true,
      get: src.get,
      set: function (v) {
        if (v) host.bound.push({ id: this.id, t: now() });
        src.set.call(this, v);
      }
    });
  }

  // ---- media stubs ----
  var md = navigator.mediaDevices;
  var media = config.media || "camera+mic";
  if (md && typeof md.getUserMedia === "function") {
    var gum = md.getUserMedia.bind(md);
    var enumerate = md.enumerateDevices.bind(md);
    var notFound = function () {
      return Promise.reject(new DOMException("Requested device not found", "NotFoundError"));
    };
    md.getUserMedia = function (c) {
      c = c || {};
      var entry = { audio: !!c.audio, video: !!c.video, ok: null, t: now() };
      host.gum.push(entry);
      var p;
      if (media === "none") p = notFound();
      else if (media === "mic-only" && c.video) p = notFound();
      else p = gum(c);
      // A slow camera: the capture resolves only after gumDelayMs.
      var delay = Number(config.gumDelayMs) || 0;
      if (delay > 0) p = p.then(function (s) { return new Promise(function (r) { setTimeout(function () { r(s); }, delay); }); });
      return p.then(function (s) { entry.ok = true; entry.done = now(); return s; },
                    function (e) { entry.ok = false; entry.done = now(); throw e; });
    };
    md.enumerateDevices = function () {
      return enumerate().then(function (list) {
        return list.filter(function (d) {
          if (media === "none") return false;
          if (media === "mic-only") return d.kind !== "videoinput";
          return true;
        });
      });
    };
  }

  // ---- page state and safety recorders ----
  // Registered before the page's own listener, which runs in the same
  // dispatch: once this count moved, the page has seen the new fragment.
  window.addEventListener("hashchange", function () { host.hashchanges += 1; });
  document.addEventListener("securitypolicyviolation", function (e) {
    host.csp.push({ directive: e.violatedDirective, blocked: String(e.blockedURI), t: now() });
  });
  ["alert", "confirm", "prompt"].forEach(function (n) {
    window[n] = function (v) { host.alerts.push(n + ":" + String(v)); };
  });
  var root = document.documentElement;
  var lastPhase = null;
  var notePhase = function () {
    var p = root.getAttribute("data-phase");
    if (p !== lastPhase) {
      lastPhase = p;
      host.phases.push({ phase: p, t: now() });
    }
  };
  if (root && typeof MutationObserver === "function") {
    notePhase();
    new MutationObserver(notePhase).observe(root, { attributes: true, attributeFilter: ["data-phase"] });
  }

  // ---- timers ----
  // Timers the page has pending (a setTimeout not yet run nor cleared, a
  // setInterval not cleared): over a long call they must not pile up.
  var pending = new Set();
  var st = window.setTimeout, ct = window.clearTimeout, si = window.setInterval, ci = window.clearInterval;
  window.setTimeout = function (f) {
    var args = [].slice.call(arguments), id;
    args[0] = function () {
      pending.delete(id);
      if (typeof f === "function") return f.apply(this, arguments);
    };
    id = st.apply(window, args);
    pending.add(id);
    return id;
  };
  window.clearTimeout = function (id) { pending.delete(id); return ct.call(window, id); };
  window.setInterval = function () { var id = si.apply(window, arguments); pending.add(id); return id; };
  window.clearInterval = function (id) { pending.delete(id); return ci.call(window, id); };
  host.timersPending = function () { return pending.size; };

  // ---- helpers for the tests (not part of the host API) ----
  // The call's connection: the newest one with media. A page may make
  // short-lived probes without any (ours, to list its addresses).
  host.callPc = function () {
    for (var i = host.pcList.length - 1; i >= 0; i--) {
      if (host.pcList[i].getTransceivers().length > 0) return host.pcList[i];
    }
    return host.pcList[host.pcList.length - 1];
  };
  // Inbound media counters and the selected route of the call's connection.
  host.inbound = function () {
    var pc = host.callPc();
    if (!pc) return Promise.resolve(null);
    return pc.getStats().then(function (r) {
      var out = { state: pc.connectionState, videoFrames: 0, videoBytes: 0, audioPackets: 0,
                  audioBytes: 0, audioEnergy: 0, local: null, remote: null };
      var pairId = null, trackEnergy = 0;
      r.forEach(function (s) {
        // Older Chromium (87) keeps the received audio's energy on its
        // "track" statistics, not on inbound-rtp.
        if (s.type === "track" && s.remoteSource && (s.kind === "audio" || s.mediaType === "audio")) {
          trackEnergy = Math.max(trackEnergy, s.totalAudioEnergy || 0);
        }
        if (s.type === "inbound-rtp" && s.kind === "video") {
          out.videoFrames += s.framesDecoded || 0;
          out.videoBytes += s.bytesReceived || 0;
        }
        if (s.type === "inbound-rtp" && s.kind === "audio") {
          out.audioPackets += s.packetsReceived || 0;
          out.audioBytes += s.bytesReceived || 0;
          out.audioEnergy += s.totalAudioEnergy || 0;
        }
        if (s.type === "transport" && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
      });
      out.audioEnergy = Math.max(out.audioEnergy, trackEnergy);
      var pair = pairId && r.get(pairId);
      if (pair) {
        var l = r.get(pair.localCandidateId), rm = r.get(pair.remoteCandidateId);
        out.local = l ? l.candidateType : null;
        out.remote = rm ? rm.candidateType : null;
      }
      return out;
    });
  };
})();
