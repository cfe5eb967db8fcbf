// crm's service worker (served as /sw.js with VERSION and SHELL prepended by the server).
//
// It keeps the static shell (stylesheet, scripts, icons, the offline page) for when the
// network is gone, and nothing else: /api/ answers and the stream hold customer data and
// pages carry a session's CSRF token, so the worker never stores them (it does not even
// look at /api/ or /stream requests: the browser handles those as if it were not there).
//
// Online, every static file comes from the network first (revalidated as before), so a
// new version shows at once; the cache is only the offline copy. Each version fills a
// cache of its own name and the old caches are deleted when it takes over.

const CACHE = `crm-shell-${VERSION}`;
const OFFLINE = "/static/offline.html";

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith("crm-shell-") && name !== CACHE) await caches.delete(name);
    }
    // Pages are fetched while the worker starts, not after (it only needs their failure).
    if (self.registration.navigationPreload) await self.registration.navigationPreload.enable();
    await self.clients.claim();
  })());
});

function isShell(url) {
  return url.origin === self.location.origin && url.pathname.startsWith("/static/");
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    // Pages: always the network (never stored); the offline page when there is none.
    event.respondWith((async () => {
      try {
        return (await event.preloadResponse) || (await fetch(request));
      } catch {
        const cache = await caches.open(CACHE);
        return (await cache.match(OFFLINE)) || Response.error();
      }
    })());
  } else if (isShell(url)) {
    event.respondWith(fetch(request).catch(async () => {
      const cache = await caches.open(CACHE);
      return (await cache.match(request, { ignoreSearch: true })) || Response.error();
    }));
  }
  // Anything else (/api/, /stream, media): not ours to answer.
});

// A notification the page showed through this worker (notify.js) was tapped: bring the
// inbox forward and open the chat (a new window if none is open).
self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const phone = (event.notification.data || {}).phone;
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    const inbox = windows.find((client) => new URL(client.url).pathname === "/") || windows[0];
    if (inbox) {
      await inbox.focus();
      if (phone) inbox.postMessage({ type: "crm:open-chat", phone });
      return;
    }
    await self.clients.openWindow(phone ? `/#/chat/${encodeURIComponent(phone)}` : "/");
  })());
});
