// The counter's only script: the camera scanner, the product buttons (a tap adds one; the
// amount follows the prices until staff type their own), and keeping the cursor where the next
// thing will be typed. Everything else is plain forms (HTMX swaps the work area when it is
// there); without the script staff type the counts; a keyboard-wedge scanner types into the
// focused scan box and presses Enter, which needs no script.
(function () {
  "use strict";
  var box = document.getElementById("camera-box");
  var video = document.getElementById("camera");
  var note = document.getElementById("camera-note");
  var work = document.getElementById("work");
  // The camera closes itself once it has read a code (qr-camera.js, loaded before this file).
  var camera = window.lealtadQrCamera ? window.lealtadQrCamera(video, found) : null;

  function focusWanted(root) {
    var wanted = (root || document).querySelector("[autofocus]");
    if (wanted) wanted.focus();
  }

  function offerCamera() {
    var button = document.getElementById("camera-start");
    if (button && navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
      button.hidden = false;
    }
  }

  function stop() {
    if (camera) camera.stop();
    box.hidden = true;
    var scan = document.getElementById("scan");
    if (scan) scan.focus();
  }

  function found(text) {
    stop();
    var scan = document.getElementById("scan");
    var form = document.getElementById("find");
    if (!scan || !form) return;
    scan.value = text;
    if (form.requestSubmit) form.requestSubmit(); else form.submit();
  }

  function start() {
    if (!camera) return;
    box.hidden = false;
    note.textContent = work.dataset.cameraHint || "";
    camera.start().catch(function () {
      note.textContent = work.dataset.cameraError || "";
    });
  }

  // The amount as the products' prices add up, in the page's decimal style ("4,50").
  function productTotal(form) {
    var total = 0;
    form.querySelectorAll(".product").forEach(function (row) {
      var count = parseInt(row.querySelector(".count").value, 10);
      if (count > 0) total += count * parseInt(row.dataset.price, 10);
    });
    return total;
  }

  function shown(minor, form) {
    var exponent = parseInt(form.dataset.exponent || "2", 10);
    if (!exponent) return String(minor);
    var text = String(minor).padStart(exponent + 1, "0");
    return text.slice(0, -exponent) + (form.dataset.decimal || ".") + text.slice(-exponent);
  }

  function refreshAmount(form) {
    var amount = form.querySelector("#amount");
    if (!amount) return;
    // Staff who typed their own amount keep it; one the buttons filled in follows them.
    if (amount.value && amount.value !== amount.dataset.filled) return;
    var total = productTotal(form);
    amount.value = total ? shown(total, form) : "";
    amount.dataset.filled = amount.value;
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target && target.id === "camera-start") start();
    if (target && target.id === "camera-stop") stop();
    var add = target && target.closest ? target.closest("[data-adds]") : null;
    if (add) {
      var count = document.getElementById(add.dataset.adds);
      count.value = Math.min(999, (parseInt(count.value, 10) || 0) + 1);
      count.closest(".product").classList.add("chosen");
      refreshAmount(add.form);
    }
    var clear = target && target.closest ? target.closest("[data-clear-products]") : null;
    if (clear) {
      clear.form.querySelectorAll(".product").forEach(function (row) {
        row.querySelector(".count").value = "0";
        row.classList.remove("chosen");
      });
      refreshAmount(clear.form);
    }
  });
  document.addEventListener("input", function (event) {
    var target = event.target;
    if (target && target.classList && target.classList.contains("count")) {
      target.closest(".product").classList.toggle("chosen", parseInt(target.value, 10) > 0);
      refreshAmount(target.form);
    }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && !box.hidden) stop();
  });

  // A session that ran out answers with the login page: go there rather than show it in a box.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (xhr && xhr.responseURL && xhr.responseURL.indexOf("/admin/login") >= 0) {
      event.detail.shouldSwap = false;
      window.location.href = xhr.responseURL;
    }
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    offerCamera();
    focusWanted(event.detail.target);
  });
  offerCamera();
})();
