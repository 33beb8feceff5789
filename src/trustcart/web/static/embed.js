/* TrustCart embed: consent banner, just-in-time notices, Global Privacy Control (GPC), tag
 * blocking and consent signals (Google Consent Mode v2, an IAB TCF v2.2 __tcfapi, and with
 * data-gpp="on" an IAB GPP __gpp for US visitors: static/gpp.js, loaded from this server).
 *   <script src="https://trustcart.example/privacy/embed.js" data-jurisdiction="EU"
 *           data-token="(optional, from the shop's back end)"></script>
 * Tags held back until their purpose is allowed for this visitor in this jurisdiction:
 *   <script type="text/plain" data-trustcart-purpose="targeted_offers" src="…"></script>
 *   <iframe data-src="…" data-trustcart-purpose="marketing.advertising"></iframe>
 * (a purpose key or a fideslang data use; several, space-separated, must all be allowed; an
 * unknown one is never allowed). GPC is read first, before any tag can be released, and a tag
 * whose purpose GPC opts out of stays blocked unless the person explicitly said yes. On
 * withdrawal an iframe is unloaded at once; a script cannot be undone, so the page reloads.
 * It records nothing until the person acts. Banner buttons are explicit (opt_in_checkbox);
 * just-in-time boxes record just_in_time; an implied banner grant is recorded only where the
 * rules allow it (notice at collection for opt-out purposes) and only after a real click or key
 * press on the page, never on scroll or page load. A GPC signal is sent as gpc: true (a script
 * cannot set the Sec-GPC header) and, where it is an opt-out, applied once on arrival.
 * No third-party requests: only this script's own server is contacted. */
(function () {
  "use strict";
  var me = document.currentScript, w = window;
  if (!me || !w.fetch) return;
  var gpc = navigator.globalPrivacyControl === true; /* read before anything else happens */
  var base = me.src.replace(/embed\.js([?#].*)?$/, "");
  var jur = me.getAttribute("data-jurisdiction") || "";
  var token = me.getAttribute("data-token") || "";
  var cfg, state = {}, tcf = null, banner = null, opener = null, vid = null, ready = false;
  var waiting = [], released = [], warned = {};
  /* --- IAB GPP: a stub queue (as IAB's stub) until gpp.js answers; removed where no section
     applies (the jurisdiction decides, once /api/config has answered) ---------------------- */
  var gppOn = me.getAttribute("data-gpp") === "on", gppQ = gppOn && !w.__gpp ? [] : null;
  if (gppQ) w.__gpp = function (c, cb) {
    if (!arguments.length) return gppQ;
    if (c === "events") return [];
    if (c !== "ping") gppQ.push(arguments);
    else if (cb) cb({ gppVersion: "1.1", cmpStatus: "stub", cmpDisplayStatus: "hidden",
      signalStatus: "not ready", supportedAPIs: [], cmpId: 0, sectionList: [],
      applicableSections: [-1], gppString: "", parsedSections: {} }, true);
  };
  function gppSync() { /* gpp.js encodes; it is told which purposes are allowed */
    var on = {}, g = w.TrustCartGpp;
    if (!g || !cfg.gpp) return;
    cfg.purposes.forEach(function (p) { on[p.key] = allowed(p); });
    g(cfg.gpp, on, gpc, !!banner);
  }

  /* --- Google Consent Mode v2: everything denied until the visitor's state is known --------- */
  var CM = ["ad_storage", "ad_user_data", "ad_personalization", "analytics_storage"];
  w.dataLayer = w.dataLayer || [];
  if (typeof w.gtag !== "function") w.gtag = function () { w.dataLayer.push(arguments); };
  var defaults = { wait_for_update: 500 };
  CM.forEach(function (k) { defaults[k] = "denied"; });
  w.gtag("consent", "default", defaults);
  function consentMode() {
    var o = {};
    CM.forEach(function (k) {
      var keys = cfg.consent_mode[k] || [];
      o[k] = keys.length && keys.every(function (key) { return allowed(purpose(key)); })
        ? "granted" : "denied";
    });
    return o;
  }

  /* --- IAB TCF v2.2 API: the visitor's purpose consents; TrustCart is no registered CMP
     (cmpId 0) and collects no vendor consent, so vendor consents are always empty ---------- */
  var tcfEvent = "tcloaded", listeners = {}, nextListener = 1;
  function flags(ids) {
    var o = {};
    for (var i = 1; i <= 11; i++) o[i] = ids.indexOf(i) >= 0;
    return o;
  }
  function tcData(id) {
    var applies = cfg.tcf.gdpr_applies, none = { consents: {}, legitimateInterests: {} };
    return {
      tcString: applies && tcf ? tcf.tc_string : "", tcfPolicyVersion: cfg.tcf.policy_version,
      cmpId: 0, cmpVersion: 1, gdprApplies: applies, eventStatus: tcfEvent, cmpStatus: "loaded",
      listenerId: id, isServiceSpecific: true, useNonStandardTexts: false,
      publisherCC: cfg.tcf.publisher_cc, purposeOneTreatment: false,
      purpose: { consents: flags(applies && tcf ? tcf.purpose_consents : []), legitimateInterests: {} },
      vendor: none, specialFeatureOptins: {},
      publisher: { consents: {}, legitimateInterests: {}, customPurpose: none, restrictions: {} }
    };
  }
  function notify() {
    Object.keys(listeners).forEach(function (id) { listeners[id](tcData(+id), true); });
    gppSync();
  }
  function whenReady(f) { if (ready) f(); else waiting.push(f); }
  w.__tcfapi = function (command, version, callback, param) {
    if (typeof callback !== "function") return;
    if (command === "ping") {
      callback({
        gdprApplies: cfg ? cfg.tcf.gdpr_applies : undefined, cmpLoaded: ready,
        cmpStatus: ready ? "loaded" : "stub", displayStatus: banner ? "visible" : "hidden",
        apiVersion: "2.2", cmpVersion: 1, cmpId: 0, gvlVersion: 0, tcfPolicyVersion: 4
      }, true);
    } else if (command === "getTCData" || command === "addEventListener") {
      var id = command === "addEventListener" ? nextListener++ : undefined;
      if (id) listeners[id] = callback;
      whenReady(function () { callback(tcData(id), true); });
    } else if (command === "removeEventListener") {
      var had = !!listeners[param];
      delete listeners[param];
      callback(had, true);
    } else {
      callback(null, false);
    }
  };
  /* frames reach the API through postMessage to the "__tcfapiLocator" frame's parent */
  w.addEventListener("message", function (e) {
    var d = e.data, text = typeof d === "string";
    if (text) { try { d = JSON.parse(d); } catch (x) { return; } }
    var call = d && d.__tcfapiCall;
    if (!call || !e.source) return;
    w.__tcfapi(call.command, call.version, function (value, ok) {
      var m = { __tcfapiReturn: { returnValue: value, success: ok, callId: call.callId } };
      e.source.postMessage(text ? JSON.stringify(m) : m, "*");
    }, call.parameter);
  });

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
      apply(res.signals);
      tcfEvent = "useractioncomplete";
      syncJit();
      changed();
      return res;
    });
  }
  function apply(st) { state = st.purposes; tcf = st.tcf; }
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
  function purpose(key) { return cfg.purposes.filter(function (p) { return p.key === key; })[0]; }
  /* May a tag of purpose p run? The server's answer (may_use), and never over a GPC opt-out
     the person did not explicitly override, even before the opt-out is recorded. */
  function allowed(p) {
    if (!p || !isOn(p)) return false;
    return !(gpc && cfg.gpc.honoured && p.gpc_opts_out && state[p.key].decision !== "granted");
  }
  function ackKey() {
    return "trustcart_ack_" + cfg.jurisdiction.code + "_" + cfg.notice.version.slice(0, 16);
  }

  /* --- banner ------------------------------------------------------------------------------ */
  function hide() {
    if (!banner) return;
    var hadFocus = banner.contains(document.activeElement);
    banner.remove();
    banner = null;
    gppSync();
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
    tcfEvent = "cmpuishown";
    notify();
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

  /* --- tag blocking ----------------------------------------------------------------------- */
  var TAGS = "script[data-trustcart-purpose],iframe[data-trustcart-purpose]";
  function permitted(node) {
    var names = (node.getAttribute("data-trustcart-purpose") || "").split(/[\s,]+/).filter(String);
    var ps = [];
    for (var i = 0; i < names.length; i++) {
      var t = names[i], found = cfg.purposes.filter(function (p) {
        return p.key === t || p.data_use === t || p.data_use.indexOf(t + ".") === 0;
      });
      if (!found.length) {
        if (!warned[t] && w.console) console.warn("TrustCart: unknown purpose " + t + "; tag kept blocked");
        warned[t] = 1;
        return false;
      }
      ps = ps.concat(found);
    }
    return ps.length > 0 && ps.every(allowed);
  }
  function release() {
    document.querySelectorAll(TAGS).forEach(function (n) {
      if (n.getAttribute("data-tc-state") || !permitted(n)) return;
      if (n.tagName === "IFRAME") {
        if (!n.getAttribute("data-src")) return;
        n.src = n.getAttribute("data-src");
      } else {
        if ((n.getAttribute("type") || "").toLowerCase() !== "text/plain") return;
        var s = document.createElement("script");
        Array.prototype.forEach.call(n.attributes, function (a) {
          if (a.name !== "type" && a.name !== "data-type") s.setAttribute(a.name, a.value);
        });
        s.type = n.getAttribute("data-type") || "text/javascript";
        s.async = n.hasAttribute("async");  /* keep document order, as the page meant */
        if (!n.hasAttribute("src")) s.text = n.text;
        s.setAttribute("data-tc-state", "copy");
        n.parentNode.insertBefore(s, n.nextSibling);
      }
      n.setAttribute("data-tc-state", "released");
      released.push(n);
    });
  }
  function revoke() {
    var reload = false;
    released = released.filter(function (n) {
      if (permitted(n)) return true;
      if (n.tagName === "IFRAME") {
        n.src = "about:blank";
        n.removeAttribute("data-tc-state");
      } else {
        reload = true;
      }
      return false;
    });
    if (reload) location.reload(); /* a script that ran cannot be undone */
  }
  function changed() {
    w.gtag("consent", "update", consentMode());
    notify();
    revoke();
    release();
  }

  /* --- start ------------------------------------------------------------------------------- */
  function domReady(f) {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", f);
    else f();
  }
  document.head.appendChild(el("link", { rel: "stylesheet", href: base + "static/embed.css" }));
  Promise.all([get("config", {}), get("state", who())]).then(function (r) {
    cfg = r[0];
    apply(r[1]);
    var pending = gpc && cfg.gpc.honoured ? cfg.purposes.filter(function (p) {
      return p.toggleable && p.gpc_opts_out && isOn(p);
    }) : [];
    return pending.length
      ? record("gpc_signal", {}, "navigator.globalPrivacyControl").then(function (res) {
        return res.gpc_applied.length > 0;
      })
      : false;
  }).then(function (gpcApplied) {
    ready = true;
    w.gtag("consent", "update", consentMode());
    waiting.forEach(function (f) { f(); });
    waiting = [];
    if (gppOn && cfg.gpp) {
      document.head.appendChild(el("script", { src: base + "static/gpp.js" })).onload = gppSync;
    } else if (gppQ) {
      delete w.__gpp;
      gppQ.forEach(function (a) { if (typeof a[1] === "function") a[1](null, false); });
    }
    domReady(function () {
      document.querySelectorAll("[data-trustcart-jit]").forEach(fillJit);
      document.querySelectorAll("[data-trustcart-open]").forEach(function (a) {
        a.addEventListener("click", function (e) {
          e.preventDefault();
          opener = a;
          showBanner(true);
        });
      });
      w.TrustCart = { open: function () { showBanner(true); } };
      release();
      if (w.MutationObserver) {
        new MutationObserver(release).observe(document.documentElement, { childList: true, subtree: true });
      }
      var ask = ofModel("opt_in").some(function (p) { return !decided(p); });
      var notice = ofModel("opt_out").length && !stored(ackKey());
      if (ask || notice || gpcApplied) showBanner(false);
    });
  }).catch(function (err) {
    if (w.console) console.warn("TrustCart: " + err.message);
  });
})();
