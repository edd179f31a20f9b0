// The referral link's Share button: the phone's own share sheet where there is one, otherwise
// the link is copied; without either the link stays on the page as text to copy by hand.
(function () {
  "use strict";
  document.querySelectorAll("[data-share]").forEach(function (button) {
    var status = document.querySelector("[data-share-status]");
    var field = document.querySelector("[data-referral-link]");
    function say(text) { if (status) status.textContent = text; }
    function copy() {
      if (navigator.clipboard && window.isSecureContext) {
        return navigator.clipboard.writeText(button.dataset.url).then(function () {
          say(button.dataset.copied);
        }, manual);
      }
      manual();
    }
    function manual() {
      if (field) { field.focus(); field.select(); }
      say(button.dataset.manual);
    }
    button.addEventListener("click", function () {
      if (navigator.share) {
        navigator.share({
          title: button.dataset.title,
          text: button.dataset.text,
          url: button.dataset.url,
        }).catch(function (error) {
          // The member closing the sheet is not a failure; anything else falls back to copying.
          if (!error || error.name !== "AbortError") copy();
        });
        return;
      }
      copy();
    });
  });
})();
