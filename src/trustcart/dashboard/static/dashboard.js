// TrustCart dashboard: small progressive enhancements; every page works without this file.
(function () {
  "use strict";
  // Filters apply as soon as a select changes (the Filter button still works without JS).
  document.querySelectorAll("select[data-autosubmit]").forEach(function (el) {
    el.addEventListener("change", function () { if (el.form) { el.form.submit(); } });
  });
  // Irreversible actions ask first.
  document.querySelectorAll("button[data-confirm]").forEach(function (btn) {
    btn.addEventListener("click", function (ev) {
      if (!window.confirm(btn.getAttribute("data-confirm"))) { ev.preventDefault(); }
    });
  });
})();
