// The wallet's service worker. Pages: network first; each wallet page the member opens (and,
// from any of them, the card, rewards and history tabs, at most every few minutes) is kept, so
// that offline the last known card, balances, rewards and history still open, with a note
// saying "as of" when (the page carries its own time; this worker only unhides the note). A
// page never kept falls back to the card. Signing out, or a session that ended, drops them.
// Scripts and icons: from the cache once seen. Push: shows what the server sends.
var STATIC = "lealtad-wallet-v2";
var PAGES = "lealtad-wallet-pages-v1";
var SHELL = ["/static/vendor/htmx.min.js", "/static/icon.svg", "/static/icon-192.png"];
var FRESH_MS = 5 * 60 * 1000;
var KEPT_AT = "X-Wallet-Kept-At";

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(STATIC).then(function (cache) { return cache.addAll(SHELL); }));
  self.skipWaiting();
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return n !== STATIC && n !== PAGES; }).map(
      function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }));
});

function scopePath() { return new URL(self.registration.scope).pathname.replace(/\/$/, ""); }

function inWallet(url) {
  var base = scopePath();
  return url.pathname === base || url.pathname.indexOf(base + "/") === 0;
}

// One copy per page, whatever the query (?lang=, ?saved=1): the last one seen.
function keyOf(url) { return new Request(url.origin + url.pathname); }

function keep(url, response) {
  var type = response.headers.get("Content-Type") || "";
  if (!response.ok || response.redirected || type.indexOf("text/html") !== 0) {
    // Sent to the login page: the session ended, and the copies are someone's private data.
    if (response.redirected && /\/login$/.test(new URL(response.url).pathname)) {
      return caches.delete(PAGES);
    }
    return Promise.resolve();
  }
  return response.blob().then(function (body) {
    var headers = new Headers(response.headers);
    headers.set(KEPT_AT, String(Date.now()));
    return caches.open(PAGES).then(function (cache) {
      return cache.put(keyOf(url), new Response(body, { status: 200, headers: headers }));
    });
  });
}

function fromCopy(url) {
  return caches.open(PAGES).then(function (cache) {
    return cache.match(keyOf(url)).then(function (found) {
      return found || cache.match(keyOf(new URL(scopePath(), url.origin)));
    });
  }).then(function (found) {
    if (!found) return Response.error();
    return found.text().then(function (html) {
      var shown = html.replace("data-as-of hidden", "data-as-of");
      return new Response(shown, { status: 200, headers: found.headers });
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method !== "GET") {
    if (request.method === "POST" && inWallet(url) && /\/logout$/.test(url.pathname)) {
      event.waitUntil(caches.delete(PAGES));
    }
    return;
  }
  if (request.mode === "navigate" && inWallet(url)) {
    event.respondWith(fetch(request).then(function (response) {
      event.waitUntil(keep(url, response.clone()));
      return response;
    }).catch(function () { return fromCopy(url); }));
    return;
  }
  if (url.pathname.indexOf("/static/") === 0 || url.pathname.slice(-10) === "/wallet.js") {
    event.respondWith(caches.match(request).then(function (found) {
      return found || fetch(request).then(function (response) {
        var copy = response.clone();
        caches.open(STATIC).then(function (cache) { cache.put(request, copy); });
        return response;
      });
    }));
  }
});

// A wallet page asks, online, for fresh copies of the main tabs.
self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type !== "keep" || !Array.isArray(data.urls)) return;
  event.waitUntil(caches.open(PAGES).then(function (cache) {
    return Promise.all(data.urls.slice(0, 5).map(function (address) {
      var url = new URL(address, self.location.origin);
      if (url.origin !== self.location.origin || !inWallet(url)) return null;
      return cache.match(keyOf(url)).then(function (found) {
        var kept = found ? Number(found.headers.get(KEPT_AT)) : 0;
        if (Date.now() - kept < FRESH_MS) return null;
        return fetch(url.href, { credentials: "same-origin" }).then(function (response) {
          return keep(url, response);
        }).catch(function () { return null; });
      });
    }));
  }));
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
