/* TrustCart embed: consent banner, just-in-time notices and Global Privacy Control (GPC).
 *   <script src="https://trustcart.example/privacy/embed.js" data-jurisdiction="EU"
 *           data-token="(optional, from the shop's back end)" defer></script>
 * It records nothing until the person acts. Banner buttons are explicit (opt_in_checkbox);
 * just-in-time boxes record just_in_time; an implied banner grant is recorded only where the
 * rules allow it (notice at collection for opt-out purposes) and only after a real click or key
 * press on the page, never on scroll or page load. A GPC signal is sent as gpc: true (a script
 * cannot set the Sec-GPC header) and, where it is an opt-out, applied once on arrival.
 * No third-party requests: only this script's own server is contacted. */
(function () {
  "use strict";
  var me = document.currentScript;
  if (!me || !window.fetch || !document.body) return;
  var base = me.src.replace(/embed\.js([?#].*)?$/, "");
  var jur = me.getAttribute("data-jurisdiction") || "";
  var token = me.getAttribute("data-token") || "";
  var gpc = navigator.globalPrivacyControl === true;
  var cfg, state = {}, banner = null, opener = null, vid = null;

  function stored(key, value) {
    try {
      if (value === undefined) return localStorage.getItem(key);
      localStorage.setItem(key, value);
    } catch (e) { /* storage blocked: the choice still reaches the server */ }
    return value || null;
  }
  function visitor() {
    if (vid) return vid;
    vid = stored("trustcart_vid");
    if (!/^v_[0-9a-f]{32}$/.test(vid || "")) {
      var b = new Uint8Array(16);
      crypto.getRandomValues(b);
      vid = "v_" + Array.prototype.map.call(b, function (x) {
        return (x + 256).toString(16).slice(1);
      }).join("");
      stored("trustcart_vid", vid);
    }
    return vid;
  }
  function who() { return token ? { token: token } : { visitor_id: visitor() }; }
  function check(r) {
    return r.json().then(function (b) {
      if (!r.ok) throw new Error(b.message || "error " + r.status);
      return b;
    });
  }
  function get(path, params) {
    if (jur) params.jurisdiction = jur;
    var q = Object.keys(params).map(function (k) {
      return encodeURIComponent(k) + "=" + encodeURIComponent(params[k]);
    }).join("&");
    return fetch(base + "api/" + path + "?" + q, { credentials: "omit" }).then(check);
  }
  function el(tag, attrs, kids) {
    var n = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") n.textContent = attrs[k];
      else if (k === "on") n.addEventListener("click", attrs[k]);
      else n.setAttribute(k, attrs[k]);
    });
    (kids || []).forEach(function (c) {
      if (c) n.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return n;
  }
  function record(mechanism, choices, element) {
    var body = who();
    body.jurisdiction = cfg.jurisdiction.code;
    body.mechanism = mechanism;
    body.choices = choices;
    body.notice_version = cfg.notice.version;
    body.page = location.origin + location.pathname;
    body.element = element;
    body.gpc = gpc;
    return fetch(base + "api/choices", {
      method: "POST", credentials: "omit", keepalive: true,
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(body)
    }).then(check).then(function (res) {
      state = res.state;
      syncJit();
      return res;
    });
  }
  function ofModel(m) {
    return cfg.purposes.filter(function (p) { return p.toggleable && p.model === m; });
  }
  function all(list, value) {
    var o = {};
    list.forEach(function (p) { o[p.key] = value; });
    return o;
  }
  function names(list) { return list.map(function (p) { return p.name; }).join(", "); }
  function decided(p) { return !!(state[p.key] && state[p.key].decision); }
  function isOn(p) { return !!(state[p.key] && state[p.key].on); }
  function ackKey() {
    return "trustcart_ack_" + cfg.jurisdiction.code + "_" + cfg.notice.version.slice(0, 16);
  }

  /* --- banner ------------------------------------------------------------------------------ */
  function hide() {
    if (!banner) return;
    var hadFocus = banner.contains(document.activeElement);
    banner.remove();
    banner = null;
    if (hadFocus && opener) opener.focus();
  }
  function decide(choices, element, status) {
    if (!Object.keys(choices).length) { stored(ackKey(), "1"); hide(); return; }
    status.textContent = "Saving…";
    record("opt_in_checkbox", choices, element).then(function () {
      stored(ackKey(), "1");
      hide();
    }).catch(function (err) { status.textContent = "Not saved: " + err.message; });
  }
  function showBanner(choose) {
    hide();
    var optIn = ofModel("opt_in"), optOut = ofModel("opt_out");
    var covered = cfg.gpc.honoured ? cfg.purposes.filter(function (p) {
      return p.toggleable && p.gpc_opts_out;
    }) : [];
    var status = el("p", { "class": "tc-status", role: "status" });
    var panel = el("div", { id: "tc-choose", "class": "tc-choose", hidden: "" });
    var chooseBtn = function () {
      return el("button", {
        type: "button", "class": "tc-alt", "aria-expanded": "false", "aria-controls": "tc-choose",
        text: "Choose", on: function (e) { openChooser(e.currentTarget); }
      });
    };
    var kids = [el("h2", { text: "Your privacy choices" })];
    if (gpc) {
      kids.push(el("p", { "class": "tc-gpc", text: covered.length
        ? "Your browser's Global Privacy Control signal was applied: we do not use your data for "
          + names(covered) + "."
        : "Your browser sends a Global Privacy Control signal. Nothing that needs your consent "
          + "is switched on unless you agree." }));
    }
    if (optIn.length) {
      kids.push(el("p", { text: "With your permission we would like to use your data for: "
        + names(optIn) + ". Nothing is switched on unless you agree." }));
      kids.push(el("div", { "class": "tc-row" }, [
        el("button", { type: "button", text: "Accept all", on: function () {
          decide(all(optIn, true), "banner:accept_all", status);
        } }),
        el("button", { type: "button", text: "Reject all", on: function () {
          decide(all(optIn, false), "banner:reject_all", status);
        } }),
        chooseBtn()
      ]));
    }
    if (optOut.length) {
      kids.push(el("p", { text: "Notice at collection: we use your data for " + names(optOut)
        + ". You can opt out at any time." }));
      kids.push(el("div", { "class": "tc-row" }, [
        el("button", { type: "button", text: "Opt out of these", on: function () {
          decide(all(optOut, false), "banner:opt_out", status);
        } }),
        optIn.length ? null : chooseBtn()
      ]));
    }
    optIn.concat(optOut).forEach(function (p) {
      var box = el("input", { type: "checkbox", id: "tc-c-" + p.key, "data-key": p.key });
      box.checked = box.defaultChecked = isOn(p);
      box.setAttribute("data-model", p.model);
      panel.appendChild(el("label", { "for": box.id }, [box, " " + p.name, el("small", { text: p.short })]));
    });
    panel.appendChild(el("div", { "class": "tc-row" }, [el("button", {
      type: "button", text: "Save choices", on: function () {
        var choices = {};
        panel.querySelectorAll("input[data-key]").forEach(function (b) {
          /* opt-in: every box counts (unticked = no); opt-out: only boxes the person changed,
             so a pre-ticked box is never recorded as a grant */
          if (b.getAttribute("data-model") === "opt_in" || b.checked !== b.defaultChecked) {
            choices[b.getAttribute("data-key")] = b.checked;
          }
        });
        decide(choices, "banner:choose", status);
      }
    })]));
    kids.push(panel);
    kids.push(el("p", {}, [
      el("a", { href: cfg.notice.url, text: "Privacy notice" }), " ",
      el("button", { type: "button", "class": "tc-alt", text: "Close", on: function () {
        if (!optIn.some(function (p) { return !decided(p); })) stored(ackKey(), "1");
        hide();
      } })
    ]));
    kids.push(status);
    banner = el("div", { "class": "tc-banner", role: "dialog", "aria-label": "Privacy choices" }, kids);
    document.body.insertBefore(banner, document.body.firstChild);
    if (choose) openChooser(banner.querySelector("[aria-controls]"));
    function openChooser(btn) {
      panel.hidden = false;
      if (btn) btn.setAttribute("aria-expanded", "true");
      var first = panel.querySelector("input");
      if (first) first.focus();
    }
    armImplied(optOut);
  }

  /* An implied banner counts only as notice at collection, only where the rules say so, and
     never over an earlier choice or a GPC opt-out (the server enforces the same). */
  var armed = false;
  function armImplied(optOut) {
    var candidates = optOut.filter(function (p) { return p.implied_banner_valid; });
    if (armed || !candidates.length) return;
    armed = true;
    function onInteract(e) {
      if (!e.isTrusted || (banner && banner.contains(e.target))) return;
      document.removeEventListener("pointerdown", onInteract, true);
      document.removeEventListener("keydown", onInteract, true);
      var implied = candidates.filter(function (p) {
        return !decided(p) && !(gpc && p.gpc_opts_out);
      });
      if (!implied.length) return;
      record("implied_banner", all(implied, true), "page:" + e.type).then(function () {
        stored(ackKey(), "1");
      }).catch(function () { /* not recorded: the banner stays until a choice */ });
    }
    document.addEventListener("pointerdown", onInteract, true);
    document.addEventListener("keydown", onInteract, true);
  }

  /* --- just-in-time notices ---------------------------------------------------------------- */
  function fillJit(node, i) {
    var key = node.getAttribute("data-trustcart-jit");
    var p = cfg.purposes.filter(function (x) { return x.key === key; })[0];
    if (!p || node.getAttribute("data-tc-filled")) return;
    node.setAttribute("data-tc-filled", "1");
    node.textContent = "";
    node.classList.add("tc-jit");
    node.setAttribute("role", "group");
    node.setAttribute("aria-label", "Privacy: " + p.name);
    node.appendChild(el("p", {}, [el("strong", { text: p.name }), ": " + p.short + " ",
      el("a", { href: cfg.notice.url, text: "More in our privacy notice" })]));
    if (!p.toggleable) {
      node.appendChild(el("p", { text: "Always on (needed for your orders)" }));
      return;
    }
    var id = "tc-jit-" + key + "-" + i;
    var box = el("input", { type: "checkbox", id: id, "data-jit-key": key });
    var status = el("p", { "class": "tc-status", role: "status" });
    box.checked = isOn(p);
    box.addEventListener("change", function () {
      var choice = {};
      choice[key] = box.checked;
      status.textContent = "Saving…";
      record("just_in_time", choice, "jit:" + key).then(function (res) {
        status.textContent = isOn(p) ? "Switched on. Thank you."
          : res.gpc_applied.indexOf(key) >= 0 ? "Kept off: your browser's Global Privacy Control signal applies."
          : "Switched off.";
      }).catch(function (err) { status.textContent = "Not saved: " + err.message; });
    });
    node.appendChild(el("p", {}, [box, " ", el("label", { "for": id, text: "Yes, use my data for this" })]));
    node.appendChild(status);
  }
  function syncJit() {
    document.querySelectorAll("input[data-jit-key]").forEach(function (b) {
      var s = state[b.getAttribute("data-jit-key")];
      if (s) b.checked = s.on;
    });
  }

  /* --- start ------------------------------------------------------------------------------- */
  document.head.appendChild(el("link", { rel: "stylesheet", href: base + "static/embed.css" }));
  Promise.all([get("config", {}), get("state", who())]).then(function (r) {
    cfg = r[0];
    state = r[1].purposes;
    document.querySelectorAll("[data-trustcart-jit]").forEach(fillJit);
    document.querySelectorAll("[data-trustcart-open]").forEach(function (a) {
      a.addEventListener("click", function (e) {
        e.preventDefault();
        opener = a;
        showBanner(true);
      });
    });
    window.TrustCart = { open: function () { showBanner(true); } };
    var pending = gpc && cfg.gpc.honoured ? cfg.purposes.filter(function (p) {
      return p.toggleable && p.gpc_opts_out && isOn(p);
    }) : [];
    var gpcStep = pending.length
      ? record("gpc_signal", {}, "navigator.globalPrivacyControl").then(function (res) {
        return res.gpc_applied.length > 0;
      })
      : Promise.resolve(false);
    return gpcStep.then(function (gpcApplied) {
      var ask = ofModel("opt_in").some(function (p) { return !decided(p); });
      var notice = ofModel("opt_out").length && !stored(ackKey());
      if (ask || notice || gpcApplied) showBanner(false);
    });
  }).catch(function (err) {
    if (window.console) console.warn("TrustCart: " + err.message);
  });
})();
