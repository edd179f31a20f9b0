// The program editor shows only the fields that apply to the choice made (the kind of rule, what
// earns a stamp, how points expire). Without this script every field stays visible, and the
// server reads only the ones the choice needs.
(function () {
  "use strict";
  function sync(select) {
    var scope = select.form || document;
    scope.querySelectorAll('[data-shown-by="' + select.name + '"]').forEach(function (el) {
      var wanted = el.getAttribute("data-shown-for").split(" ");
      el.hidden = wanted.indexOf(select.value) === -1;
    });
  }
  document.querySelectorAll("select[data-controls]").forEach(function (select) {
    select.addEventListener("change", function () { sync(select); });
    sync(select);
  });
})();
