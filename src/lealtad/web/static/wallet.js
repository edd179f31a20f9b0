// The wallet's only script, on every tab: registers the service worker (the wallet offline, and
// notifications) and offers web push where the browser has it. Everything works without it.
(function () {
  "use strict";
  var wallet = document.querySelector("[data-wallet]");
  var button = document.getElementById("enable-push");
  var note = document.querySelector("[data-offline]");
  function showConnection() { if (note) note.hidden = navigator.onLine; }
  window.addEventListener("online", showConnection);
  window.addEventListener("offline", showConnection);
  showConnection();
  if (!("serviceWorker" in navigator) || !wallet) return;
  var base = wallet.dataset.wallet;
  navigator.serviceWorker.register(base + "/sw.js", { scope: base }).then(function (registration) {
    // Online, the worker keeps a fresh copy of the main tabs, so that they open offline too
    // even when the member has not visited them lately.
    if (navigator.onLine && navigator.serviceWorker.controller) {
      navigator.serviceWorker.controller.postMessage({
        type: "keep", urls: [base, base + "/rewards", base + "/history"],
      });
    }
    if (!button || !("PushManager" in window) || !button.dataset.key) return;
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
