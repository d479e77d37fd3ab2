// The counter page's few behaviours; served as a file so the CSP needs no inline script.
(function () {
  "use strict";
  // A second tap on a form that writes does nothing; the server's key makes a retry
  // after a network error harmless anyway.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("once")) return;
    if (form.dataset.sent === "1") { event.preventDefault(); return; }
    form.dataset.sent = "1";
    var buttons = form.querySelectorAll("button[type=submit]");
    for (var i = 0; i < buttons.length; i++) buttons[i].setAttribute("aria-busy", "true");
  }, true);
  // A scanner types the code and Enter into the box that has the focus: keep it there.
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.querySelector("[autofocus]");
    if (box) box.focus();
  });
})();
