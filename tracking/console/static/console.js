/* Drag and drop onto the upload form's file input; nothing else runs inline (strict CSP). */
(function () {
  "use strict";
  function ready(fn) {
    if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); }
  }
  ready(function () {
    var zone = document.getElementById("drop-zone");
    var input = document.getElementById("orders-file");
    var label = document.getElementById("file-name");
    if (!zone || !input) { return; }
    function show() {
      if (label) { label.textContent = input.files && input.files.length ? input.files[0].name : ""; }
    }
    var form = document.getElementById("upload-form");
    var limit = form ? Number(form.getAttribute("data-max-bytes")) : 0;
    function tooLarge() {
      return limit > 0 && input.files && input.files.length && input.files[0].size > limit;
    }
    if (form) {
      form.addEventListener("submit", function (event) {
        if (tooLarge()) {
          event.preventDefault();
          if (label) { label.textContent = form.getAttribute("data-too-large"); }
        }
      });
    }
    input.addEventListener("change", show);
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (event) {
        event.preventDefault();
        zone.classList.add("over");
      });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function () { zone.classList.remove("over"); });
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      if (event.dataTransfer && event.dataTransfer.files.length) {
        input.files = event.dataTransfer.files;
        show();
      }
    });
  });
})();
