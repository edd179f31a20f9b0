// The wallet's only script: registers the service worker (notifications, and later the card
// offline) and offers web push where the browser has it. Everything else works without it.
(function () {
  "use strict";
  var button = document.getElementById("enable-push");
  var note = document.querySelector("[data-offline]");
  function showConnection() { if (note) note.hidden = navigator.onLine; }
  window.addEventListener("online", showConnection);
  window.addEventListener("offline", showConnection);
  showConnection();
  if (!("serviceWorker" in navigator) || !button) return;
  var base = button.dataset.url.replace(/\/push$/, "");
  navigator.serviceWorker.register(base + "/sw.js", { scope: base }).then(function (registration) {
    if (!("PushManager" in window) || !button.dataset.key) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      Notification.requestPermission().then(function (answer) {
        if (answer !== "granted") return;
        return registration.pushManager.subscribe({
          userVisibleOnly: true,
          applicationServerKey: toBytes(button.dataset.key),
        });
      }).then(function (subscription) {
        if (!subscription) return;
        return fetch(button.dataset.url, {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRF-Token": button.dataset.csrf },
          body: JSON.stringify(subscription.toJSON()),
        });
      }).then(function (response) {
        if (response && response.ok) button.hidden = true;
      });
    });
  });

  function toBytes(base64url) {
    var padded = base64url.replace(/-/g, "+").replace(/_/g, "/");
    padded += "===".slice((padded.length + 3) % 4);
    var raw = atob(padded);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }
})();
