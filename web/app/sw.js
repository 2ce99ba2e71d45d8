// The service worker: keeps the page's files so a document opens while offline (edits then go to
// IndexedDB and merge on reconnect). Network first, so a new build is picked up when online.

const CACHE = "tandem-shell-v2";
// Every navigation gets the same page, cached under "/". The build defines TANDEM_SHELL: the
// page, its CSS and wasm, and the JS of the first load (app.js and the chunks it imports).
const SHELL = TANDEM_SHELL;
const worker = /** @type {ServiceWorkerGlobalScope} */ (/** @type {unknown} */ (self));

worker.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL))
      .then(() => worker.skipWaiting()),
  );
});

worker.addEventListener("activate", (event) => event.waitUntil(worker.clients.claim()));

worker.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  // The API and the health probe are never answered from the cache: a cached "ok" would hide that
  // the server is down.
  const live = url.pathname.startsWith("/api/") || url.pathname === "/healthz";
  if (request.method !== "GET" || url.origin !== worker.location.origin || live) return;
  const key = request.mode === "navigate" ? "/" : url.pathname;
  event.respondWith(
    fetch(request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(key, copy));
        }
        return response;
      })
      .catch(() => caches.match(key).then((cached) => cached || Response.error())),
  );
});
