// SPDX-License-Identifier: MIT OR Apache-2.0
//
// The reference host's `window.calls` (PROTOCOL.md section 2), installed
// before any script of the page runs (CDP
// Page.addScriptToEvaluateOnNewDocument, what an Electron preload does).
// Each call is queued; the Rust host collects the queue (`__dchost.take()`)
// and answers getIceServers through `__dchost.resolve(id, json)`.
(function () {
  "use strict";
  var queue = [];
  var waiting = {};
  var next = 1;
  var post = function (name, arg) { queue.push({ name: name, arg: arg }); };
  var calls = {
    startCall: function (offerSdp) { post("startCall", String(offerSdp)); },
    acceptCall: function (answerSdp) { post("acceptCall", String(answerSdp)); },
    endCall: function () { post("endCall", null); },
    getIceServers: function () {
      var id = next++;
      return new Promise(function (resolve, reject) {
        waiting[id] = { resolve: resolve, reject: reject };
        post("getIceServers", id);
      });
    },
  };
  // A getter with a no-op setter: the test server's page also carries the
  // test shim (its media counters serve the tests), whose own
  // `window.calls = …` must not replace this one. A real host has no shim.
  Object.defineProperty(window, "calls", { get: function () { return calls; }, set: function () {} });
  window.__dchost = {
    take: function () { var q = queue; queue = []; return q; },
    resolve: function (id, text) { var w = waiting[id]; delete waiting[id]; if (w) w.resolve(text); },
    reject: function (id, why) { var w = waiting[id]; delete waiting[id]; if (w) w.reject(new Error(why)); },
  };
})();
