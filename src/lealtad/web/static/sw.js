// The wallet's service worker: shows the notifications the server pushes (a small JSON of
// title, body, url and tag) and opens the wallet when one is tapped.
self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = { body: event.data.text() }; }
  event.waitUntil(self.registration.showNotification(data.title || "Lealtad", {
    body: data.body || "",
    tag: data.tag || undefined,
    data: { url: data.url || self.registration.scope },
  }));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var url = (event.notification.data && event.notification.data.url) || self.registration.scope;
  event.waitUntil(clients.openWindow(url));
});
