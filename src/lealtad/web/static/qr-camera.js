// The camera's QR reader, shared by the counter's card scanner and the wallet's ticket scanner:
// the browser's BarcodeDetector where it reads QR codes, else the vendored jsQR, fetched only
// then (it is large). `lealtadQrCamera(video, onFound, {invert})` gives {start, stop}; start()
// opens the back camera and reads frames until a code is found (the camera is closed first,
// then onFound gets the text), and its promise fails when no camera can be opened.
(function () {
  "use strict";

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

  window.lealtadQrCamera = function (video, onFound, options) {
    // A printed receipt may come out light on dark; a phone's screen never does.
    var inversion = options && options.invert ? "attemptBoth" : "dontInvert";
    var stream = null;
    var timer = null;

    function stop() {
      if (timer) clearTimeout(timer);
      timer = null;
      if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
      stream = null;
    }

    function found(text) {
      stop();
      onFound(text);
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
        var code = decode(image.data, image.width, image.height, { inversionAttempts: inversion });
        if (code && code.data) found(code.data); else timer = setTimeout(frame, 200);
      }
      frame();
    }

    function start() {
      return navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
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
        .catch(function (error) {
          stop();
          throw error;
        });
    }

    return { start: start, stop: stop };
  };
})();
