/* TrustCart's bridge to IAB's GPP CMP API (built into src/trustcart/web/static/gpp.js by
 * `make gpp`). The embed script loads it from its own server, for US visitors of shops that set
 * data-gpp="on", and calls window.TrustCartGpp(config, allowed, gpc, bannerShown) once its state
 * is known and after every choice. Why a bridge and not our own encoder: the GPP string is
 * encoded here by IAB's reference library (@iabgpp/cmpapi), never by hand; the server decided
 * the mapping (trustcart.consent.gpp), this file only applies it:
 *   - config.sections[].fixed: set as given (notices, MSPA fields, not-applicable opt-outs);
 *   - config.sections[].opt_outs: field -> purpose keys; 2 ("did not opt out") when every one
 *     is allowed for this visitor, else 1 ("opted out");
 *   - Gpc: navigator.globalPrivacyControl, in sections that have a GPC sub-section.
 * The library installs window.__gpp (taking over the embed's stub queue). Frames may call it
 * with postMessage ({__gppCall: {command, parameter, callId}}), answered with __gppReturn. */
import { CmpApi } from "@iabgpp/cmpapi";

var api = null;
var queued = null;
var last = {};
var shownBefore = null;

/* The library answers a stub's queued calls as soon as it is constructed, before any field is
   set; so the queue is taken first and replayed once the sections are filled (a queued getField
   then gets the visitor's value, not null). Listeners an IAB stub kept ("events") pass through. */
function start(g) {
  var stub = window.__gpp;
  queued = [];
  if (typeof stub === "function") {
    queued = stub() || [];
    window.__gpp = function (c) { return c === "events" ? stub("events") : []; };
  }
  api = new CmpApi(g.cmp_id, g.cmp_version);
  api.setSupportedAPIs(g.supported_apis);
  api.setApplicableSections(g.applicable_sections);
  window.addEventListener("message", function (e) {
    var d = e.data;
    var text = typeof d === "string";
    if (text) {
      try { d = JSON.parse(d); } catch (x) { return; }
    }
    var call = d && d.__gppCall;
    if (!call || !e.source) return;
    window.__gpp(call.command, function (value, ok) {
      var m = { __gppReturn: { returnValue: value, success: ok, callId: call.callId } };
      e.source.postMessage(text ? JSON.stringify(m) : m, "*");
    }, call.parameter, call.version);
  });
}

window.TrustCartGpp = function (g, allowed, gpc, shown) {
  if (!api) start(g);
  api.setSignalStatus("not ready");
  g.sections.forEach(function (s) {
    Object.keys(s.fixed).forEach(function (f) { api.setFieldValue(s.name, f, s.fixed[f]); });
    Object.keys(s.opt_outs).forEach(function (f) {
      var all = s.opt_outs[f].every(function (key) { return allowed[key] === true; });
      api.setFieldValue(s.name, f, all ? 2 : 1);
    });
    if (s.gpc) api.setFieldValue(s.name, "Gpc", gpc === true);
  });
  if (api.getCmpStatus() !== "loaded") api.setCmpStatus("loaded");
  if (shown !== shownBefore) {
    shownBefore = shown;
    api.setCmpDisplayStatus(shown ? "visible" : "hidden");
  }
  api.setSignalStatus("ready");
  if (queued) { /* early listeners then also hear the first sectionChange */
    var calls = queued;
    queued = null;
    calls.forEach(function (args) { window.__gpp.apply(null, args); });
  }
  g.sections.forEach(function (s) {
    var str = api.getSectionString(s.name);
    if (last[s.name] !== str) {
      last[s.name] = str;
      api.fireSectionChange(s.name);
    }
  });
};
