// The wallet's service worker. Pages: network first, the last good copy when offline, so the
// card (and its number, which staff can type) opens without a connection. Scripts and icons:
// from the cache once seen. Push: shows what the server sends (title, body, url, tag).
var CACHE = "lealtad-wallet-v1";
var SHELL = ["/static/vendor/htmx.min.js", "/static/icon.svg", "/static/icon-192.png"];

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) { return cache.addAll(SHELL); }));
  self.skipWaiting();
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return n !== CACHE; }).map(function (n) {
      return caches.delete(n);
    }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    event.respondWith(fetch(request).then(function (response) {
      if (response.ok) {
        var copy = response.clone();
        caches.open(CACHE).then(function (cache) { cache.put(request, copy); });
      }
      return response;
    }).catch(function () {
      return caches.match(request, { ignoreSearch: true }).then(function (found) {
        return found || Response.error();
      });
    }));
    return;
  }
  if (url.pathname.indexOf("/static/") === 0 || url.pathname.slice(-10) === "/wallet.js") {
    event.respondWith(caches.match(request).then(function (found) {
      return found || fetch(request).then(function (response) {
        var copy = response.clone();
        caches.open(CACHE).then(function (cache) { cache.put(request, copy); });
        return response;
      });
    }));
  }
});

self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = { body: event.data.text() }; }
  event.waitUntil(self.registration.showNotification(data.title || "Lealtad", {
    body: data.body || "",
    tag: data.tag || undefined,
    icon: "/static/icon-192.png",
    data: { url: data.url || self.registration.scope },
  }));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var url = (event.notification.data && event.notification.data.url) || self.registration.scope;
  event.waitUntil(clients.openWindow(url));
});
