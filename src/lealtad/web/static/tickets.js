// The wallet's ticket scanner: the camera reads the receipt's QR (qr-camera.js, loaded before
// this file) and sends what it says with the form. Without the script, or without a camera, the
// member pastes the code; a receipt's printed link fills the field by itself.
(function () {
  "use strict";
  var root = document.getElementById("ticket-camera");
  var start = document.getElementById("ticket-camera-start");
  var box = document.getElementById("ticket-camera-box");
  var video = document.getElementById("ticket-camera-video");
  var note = document.getElementById("ticket-camera-note");
  var field = document.getElementById("ticket-code");
  var form = document.getElementById("ticket-form");
  if (!root || !start || !window.lealtadQrCamera) return;
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return;
  // A printed receipt may come out light on dark: both ways are tried.
  var camera = window.lealtadQrCamera(video, found, { invert: true });
  start.hidden = false;

  function stop() {
    camera.stop();
    box.hidden = true;
  }

  function found(text) {
    box.hidden = true;
    field.value = text;
    if (form.requestSubmit) form.requestSubmit(); else form.submit();
  }

  start.addEventListener("click", function () {
    box.hidden = false;
    note.textContent = root.dataset.cameraHint || "";
    camera.start().catch(function () {
      note.textContent = root.dataset.cameraError || "";
      box.hidden = true;
    });
  });
  document.getElementById("ticket-camera-stop").addEventListener("click", stop);
})();
