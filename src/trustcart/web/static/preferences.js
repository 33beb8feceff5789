/* TrustCart preference center: saves without a page reload (the form also works without JS).
 * "Save" sends every switch; "Withdraw all" switches everything off and saves, in one click.
 * GPC: navigator.globalPrivacyControl is sent as gpc: true (a script cannot set Sec-GPC). */
(function () {
  "use strict";
  var form = document.getElementById("tc-preferences");
  if (!form || !window.fetch) return;
  var status = document.getElementById("tc-status");
  var gpc = navigator.globalPrivacyControl === true;
  if (gpc) document.getElementById("tc-gpc").hidden = false;

  function switches() {
    return Array.prototype.slice.call(form.querySelectorAll('input[role="switch"]'));
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var withdraw = event.submitter && event.submitter.value === "withdraw_all";
    var choices = {};
    switches().forEach(function (box) {
      if (withdraw) box.checked = false;
      choices[box.value] = box.checked;
    });
    status.textContent = "Saving…";
    fetch(form.getAttribute("data-api"), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      credentials: "omit",
      body: JSON.stringify({
        token: form.elements.token.value,
        jurisdiction: form.getAttribute("data-jurisdiction"),
        mechanism: "preference_center",
        choices: choices,
        notice_version: form.getAttribute("data-notice-version"),
        page: location.origin + location.pathname,
        element: withdraw ? "preferences:withdraw_all" : "preferences:save",
        gpc: gpc
      })
    })
      .then(function (r) {
        return r.json().then(function (body) {
          if (!r.ok) throw new Error(body.message || "could not save");
          return body;
        });
      })
      .then(function (body) {
        Object.keys(body.state).forEach(function (key) {
          var s = body.state[key];
          var box = document.getElementById("p-" + key);
          if (box) box.checked = s.on;
          var text = form.querySelector('[data-state-for="' + key + '"]');
          if (text) text.textContent = s.text;
        });
        var msg = withdraw ? "All withdrawn. Your choices are recorded." : "Saved. Your choices are recorded.";
        if (body.gpc_applied.length) msg += " Your browser's Global Privacy Control signal was applied.";
        status.textContent = msg;
      })
      .catch(function (err) {
        status.textContent = "Not saved: " + err.message + ". Please try again.";
      });
  });
})();
