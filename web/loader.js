// Loader of the call page (the only hand-written JavaScript of the page).
// The packer (xtask/src/pack.rs) fills in each @@NAME@@ marker once:
// @@BLOB@@ is gzip(css ++ markup ++ glue ++ wasm), 7 bits per character;
// @@SIZE@@ its byte count; @@LENGTHS@@ the lengths of the first three
// parts; @@VERSION@@ what ran, for bug reports; @@FAILED@@ and
// @@LINGER_MS@@ the core's failed phase and how long its failure screen
// stays before the call ends (call_core::params). Decompression is native
// (DecompressionStream, Chromium 80+); styles and markup go in place, the
// glue runs as an inline script, the wasm is instantiated from bytes: no
// network request. If this fails the page says so and, like any failure,
// ends the call after a pause.
(function () {
  function fail(error) {
    var status = document.getElementById("status");
    if (status) status.textContent = "This call page cannot run here (" + error + ").";
    document.documentElement.setAttribute("data-phase", "@@FAILED@@");
    setTimeout(function () {
      try { window.calls.endCall(); } catch (_) {}
    }, @@LINGER_MS@@);
  }
  try {
    console.info("calls-webapp-rs @@VERSION@@");
    // 7 bits per character; see xtask/src/b7.rs for the format. A
    // character from U+0100 on carries one of the escaped values (by its
    // index in `escaped`) and the next 7-bit group.
    var text = "@@BLOB@@", size = @@SIZE@@, lengths = @@LENGTHS@@;
    var escaped = [0, 10, 13, 34, 92, 60];
    var bytes = new Uint8Array(size), filled = 0, pending = 0, pendingBits = 0;
    function put(group) {
      pending = (pending << 7) | group;
      pendingBits += 7;
      if (pendingBits >= 8) {
        pendingBits -= 8;
        if (filled < size) bytes[filled++] = pending >> pendingBits;
        pending &= (1 << pendingBits) - 1;
      }
    }
    for (var i = 0; i < text.length; i++) {
      var code = text.charCodeAt(i);
      if (code < 128) put(code);
      else {
        code -= 256;
        put(escaped[code >> 7]);
        put(code & 127);
      }
    }
    new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip")))
      .arrayBuffer()
      .then(function (buffer) {
        var unpacked = new Uint8Array(buffer), decoder = new TextDecoder(), offset = 0;
        function next(length) {
          offset += length;
          return decoder.decode(unpacked.subarray(offset - length, offset));
        }
        var style = document.createElement("style"), script = document.createElement("script");
        style.textContent = next(lengths[0]);
        document.head.appendChild(style);
        document.body.innerHTML = next(lengths[1]);
        script.textContent = next(lengths[2]);
        document.head.appendChild(script);
        return wasm_bindgen({ module_or_path: unpacked.subarray(offset) });
      })
      .catch(fail);
  } catch (error) {
    fail(error);
  }
})();
