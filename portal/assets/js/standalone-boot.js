// The standalone receipt file's loader (a classic script, inlined): browsers do not load ES
// modules from file://, so each module the receipt page needs is turned into a blob: URL, its
// relative imports rewritten to its dependencies' blob URLs. The verifier's request for its
// .wasm file is answered with the bytes inlined in the file; every other request is refused,
// so the file verifies with the network off and sends nothing anywhere.
(function () {
  'use strict';
  var text = function (id) { return JSON.parse(document.getElementById(id).textContent); };
  // Inlined in a standalone receipt; in receipt-verifier.js beside a linked one.
  var shared = window.DAYLIGHT_RECEIPT_VERIFIER || {};
  var modules = text('daylight-modules') || shared.modules;
  var wasmBase64 = text('daylight-wasm') || shared.wasm;
  var BASE = 'https://receipt.daylight.invalid/assets/';
  var wasm = null;
  if (wasmBase64) {
    var binary = atob(wasmBase64);
    wasm = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i += 1) wasm[i] = binary.charCodeAt(i);
  }
  window.fetch = function (input) {
    var url = typeof input === 'string' ? input : (input && input.url) || String(input);
    if (wasm && /\.wasm$/.test(url.split(/[?#]/)[0])) {
      return Promise.resolve(new Response(wasm, { headers: { 'content-type': 'application/wasm' } }));
    }
    return Promise.reject(new TypeError('this receipt file works offline and fetches nothing: ' + url));
  };
  var urls = {};
  function resolve(from, spec) { return new URL(spec, BASE + from).href.slice(BASE.length); }
  function urlOf(path, stack) {
    if (urls[path]) return urls[path];
    if (!Object.prototype.hasOwnProperty.call(modules, path)) throw new Error('this receipt file lacks ' + path);
    if (stack.indexOf(path) >= 0) throw new Error('import cycle at ' + path);
    var source = modules[path]
      .replace(/(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(\.{1,2}\/[^'"]+)\2/g, function (m, pre, q, spec) {
        return pre + q + urlOf(resolve(path, spec), stack.concat([path])) + q;
      })
      .replace(/\bimport\.meta\.url\b/g, JSON.stringify(BASE + path));
    urls[path] = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
    return urls[path];
  }
  function fail(e) {
    var out = document.getElementById('receipt');
    out.setAttribute('data-verdict', 'not-verified');
    out.textContent = '无法核验 / Cannot verify: ' + (e && e.message ? e.message : e);
  }
  if (!modules) {
    fail(new Error('receipt-verifier.js, which checks this receipt, must be in the same folder'));
    return;
  }
  try {
    import(urlOf('js/standalone.js', [])).catch(fail);
  } catch (e) {
    fail(e);
  }
})();
