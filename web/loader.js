// Loader of the call page (the only hand-written JavaScript of the page).
// The packer fills in BLOB (gzip(css ++ markup ++ glue ++ wasm), 7 bits per
// character), SIZE (its byte count), LENGTHS (of the first three parts) and
// VERSION. Decompression is native
// (DecompressionStream, Chromium 80+); styles and markup go in place, the
// glue runs as an inline script, the wasm is instantiated from bytes: no
// network request. If this fails the page says so and, like any failure,
// ends the call after a pause.
(function () {
  function fail(e) {
    var s = document.getElementById("status");
    if (s) s.textContent = "This call page cannot run here (" + e + ").";
    document.documentElement.setAttribute("data-phase", "failed");
    setTimeout(function () {
      try { window.calls.endCall(); } catch (_) {}
    }, 3000);
  }
  try {
    console.info("calls-webapp-rs VERSION");
    // 7 bits per character; see xtask/src/b7.rs for the format.
    var s = "BLOB", n = SIZE, l = LENGTHS, x = [0, 10, 13, 34, 92, 60];
    var u = new Uint8Array(n), k = 0, acc = 0, bits = 0;
    function put(v) {
      acc = (acc << 7) | v;
      bits += 7;
      if (bits >= 8) {
        bits -= 8;
        if (k < n) u[k++] = acc >> bits;
        acc &= (1 << bits) - 1;
      }
    }
    for (var i = 0; i < s.length; i++) {
      var c = s.charCodeAt(i);
      if (c < 128) put(c);
      else {
        c -= 256;
        put(x[c >> 7]);
        put(c & 127);
      }
    }
    new Response(new Blob([u]).stream().pipeThrough(new DecompressionStream("gzip")))
      .arrayBuffer()
      .then(function (a) {
        var d = new Uint8Array(a), t = new TextDecoder(), o = 0;
        function next(n) {
          o += n;
          return t.decode(d.subarray(o - n, o));
        }
        var st = document.createElement("style"), s = document.createElement("script");
        st.textContent = next(l[0]);
        document.head.appendChild(st);
        document.body.innerHTML = next(l[1]);
        s.textContent = next(l[2]);
        document.head.appendChild(s);
        return wasm_bindgen({ module_or_path: d.subarray(o) });
      })
      .catch(fail);
  } catch (e) {
    fail(e);
  }
})();
