// The portal's service worker: keeps a copy of the portal's own files so that the pages, and
// above all a household's receipt page (`/receipt#<code>`), open with the network off after
// one visit. Pages and files are fetched from the network first (a node upgrade is seen at
// once) and from the copy when the network fails. The API is never cached: records and
// checkpoints are verified fresh, and nothing about a household is ever requested.
const CACHE = 'daylight-portal-v1';
const SHELL = '/assets/index.html';
const FILES = [
  '/', '/receipt', SHELL,
  '/assets/icon.svg',
  '/assets/css/portal.css',
  '/assets/js/api.js', '/assets/js/app.js', '/assets/js/checks.js', '/assets/js/format.js',
  '/assets/js/i18n.js', '/assets/js/page-audit.js', '/assets/js/page-member.js',
  '/assets/js/page-network.js', '/assets/js/page-receipt.js', '/assets/js/page-record.js',
  '/assets/js/page-search.js', '/assets/js/receipt-view.js', '/assets/js/record-view.js',
  '/assets/js/verify-panel.js', '/assets/js/verify.js',
  '/assets/wasm/daylight_verifier_wasm.js', '/assets/wasm/daylight_verifier_wasm_bg.wasm',
];
const PAGE = /^\/(|search|audit|receipt|member\/[^/]+|record\/[^/]+)$/;

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    // One missing file must not leave the others uncached.
    await Promise.all(FILES.map((url) => cache.add(url).catch(() => undefined)));
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) if (key !== CACHE) await caches.delete(key);
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin) return;
  const page = event.request.mode === 'navigate' && PAGE.test(url.pathname);
  if (!page && !url.pathname.startsWith('/assets/')) return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    try {
      const response = await fetch(event.request);
      if (response.ok) await cache.put(page ? SHELL : event.request, response.clone());
      return response;
    } catch (e) {
      const copy = await cache.match(page ? SHELL : event.request, { ignoreSearch: page });
      if (copy) return copy;
      throw e;
    }
  })());
});
