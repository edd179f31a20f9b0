// The wallet's ticket scanner: the camera reads the receipt's QR (the browser's BarcodeDetector,
// else the vendored jsQR) and sends what it says with the form. Without the script, or without
// a camera, the member pastes the code; a receipt's printed link fills the field by itself.
(function () {
  "use strict";
  var root = document.getElementById("ticket-camera");
  var start = document.getElementById("ticket-camera-start");
  var box = document.getElementById("ticket-camera-box");
  var video = document.getElementById("ticket-camera-video");
  var note = document.getElementById("ticket-camera-note");
  var field = document.getElementById("ticket-code");
  var form = document.getElementById("ticket-form");
  var stream = null;
  var timer = null;
  if (!root || !start || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return;
  start.hidden = false;

  function stop() {
    if (timer) clearTimeout(timer);
    timer = null;
    if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
    stream = null;
    box.hidden = true;
  }

  function found(text) {
    stop();
    field.value = text;
    if (form.requestSubmit) form.requestSubmit(); else form.submit();
  }

  function loadJsQR() {
    return new Promise(function (resolve, reject) {
      if (window.jsQR) return resolve(window.jsQR);
      var script = document.createElement("script");
      script.src = "/static/vendor/jsQR.js";
      script.onload = function () { resolve(window.jsQR); };
      script.onerror = reject;
      document.head.appendChild(script);
    });
  }

  function detector() {
    if (!("BarcodeDetector" in window)) return Promise.resolve(null);
    return window.BarcodeDetector.getSupportedFormats().then(function (formats) {
      return formats.indexOf("qr_code") >= 0 ? new window.BarcodeDetector({ formats: ["qr_code"] }) : null;
    }).catch(function () { return null; });
  }

  function scan(native, decode) {
    var canvas = document.createElement("canvas");
    var context = canvas.getContext("2d", { willReadFrequently: true });
    function frame() {
      if (!stream) return;
      if (video.readyState < 2) { timer = setTimeout(frame, 150); return; }
      if (native) {
        native.detect(video).then(function (codes) {
          if (codes.length) found(codes[0].rawValue); else timer = setTimeout(frame, 150);
        }).catch(function () { timer = setTimeout(frame, 300); });
        return;
      }
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      context.drawImage(video, 0, 0, canvas.width, canvas.height);
      var image = context.getImageData(0, 0, canvas.width, canvas.height);
      var code = decode(image.data, image.width, image.height, { inversionAttempts: "attemptBoth" });
      if (code && code.data) found(code.data); else timer = setTimeout(frame, 200);
    }
    frame();
  }

  start.addEventListener("click", function () {
    box.hidden = false;
    note.textContent = root.dataset.cameraHint || "";
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
      .then(function (opened) {
        stream = opened;
        video.srcObject = opened;
        return video.play();
      })
      .then(detector)
      .then(function (native) {
        if (native) return scan(native, null);
        return loadJsQR().then(function (decode) { scan(null, decode); });
      })
      .catch(function () {
        note.textContent = root.dataset.cameraError || "";
        stop();
        box.hidden = true;
      });
  });
  document.getElementById("ticket-camera-stop").addEventListener("click", stop);
})();
