"""IAB GPP (``__gpp``) for US visitors, checked against IAB's own library.

The page's GPP string is encoded in the browser by ``@iabgpp/cmpapi`` (bundled as
``static/gpp.js``) and decoded here by the same library's ``GppModel`` in a separate Node process
(``js/gpp/node_modules``, installed by ``make test`` with ``npm ci`` from the lockfile), so the
tests compare the decoded fields with the mapping worked out by hand for each scenario — not
with TrustCart's own code. Browser tests drive headless Debian Chromium over the fixture shop
(``tests/_shop_site.py``) with one extra purpose of type sale/sharing, so every opt-out field
has something to reflect.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from _shop_site import Site, running_site, shop_datamap_text
from trustcart.api.app import create_app
from trustcart.catalog import load_manifest, parse_manifest
from trustcart.catalog.repository import save_datamap
from trustcart.config import init_workspace
from trustcart.consent.gpp import GppOptions, gpp_config
from trustcart.rules import load_rules
from trustcart.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]
JS = ROOT / "js" / "gpp"
GPP_JS = ROOT / "src" / "trustcart" / "web" / "static" / "gpp.js"
EXAMPLE = ROOT / "examples" / "shop.yaml"
CHROMIUM = "/usr/bin/chromium"
GPC_ON = "Object.defineProperty(navigator, 'globalPrivacyControl', {get: () => true})"
SHARING = """  - key: partner_sharing
    name: Sharing with ad partners
    description: Sharing your shopping history with advertising partners for their own ads.
    data_use: third_party_sharing
    legal_basis: {EU: consent, US-CA: notice_opt_out, BR: consent}
    data_subjects: [customer]
    retention: P1Y

"""
#: usnat fields TrustCart never fills (sensitive data, known children, secondary use): 0 = N/A.
UNFILLED = {
    "SensitiveDataProcessingOptOutNotice": 0,
    "SensitiveDataLimitUseNotice": 0,
    "SensitiveDataProcessing": [0] * 16,
    "KnownChildSensitiveDataConsents": [0, 0, 0],
    "PersonalDataConsents": 0,
}
#: What a notice registered for a shop with sale/sharing and targeted-ads purposes gives.
NOTICES = {
    "SharingNotice": 1,
    "SaleOptOutNotice": 1,
    "SharingOptOutNotice": 1,
    "TargetedAdvertisingOptOutNotice": 1,
}
NOT_COVERED = {"MspaCoveredTransaction": 2, "MspaOptOutOptionMode": 0, "MspaServiceProviderMode": 0}


def with_sharing(text: str) -> str:
    """The data map plus ``partner_sharing`` (data use ``third_party_sharing`` → sale/sharing)."""
    anchor = "  - key: analytics\n"
    assert text.count(anchor) == 1
    return text.replace(anchor, SHARING + anchor)


def _node_modules() -> Path:
    if shutil.which("node") is None:
        pytest.fail("node is missing: the GPP tests decode with @iabgpp/cmpapi in Node")
    if not (JS / "node_modules" / "@iabgpp" / "cmpapi" / "package.json").exists():
        pytest.fail("js/gpp/node_modules is missing: run `make test` (or `cd js/gpp && npm ci`)")
    return JS


def node(script: str, *args: str) -> Any:
    """Run ``script`` in Node from js/gpp (its node_modules) and parse what it prints."""
    out = subprocess.run(
        ["node", "-e", script, *args],
        cwd=_node_modules(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


DECODE = """
const { GppModel } = require("@iabgpp/cmpapi");
const m = new GppModel(process.argv[1]);
console.log(JSON.stringify({ sectionIds: m.getHeader().SectionIds, sections: m.toObject() }));
"""


def decode(gpp_string: str) -> dict[str, Any]:
    """The reference decoder's reading of a GPP string: header section ids and fields."""
    result: dict[str, Any] = node(DECODE, gpp_string)
    return result


def usnat(**opt_outs: Any) -> dict[str, Any]:
    """A full expected usnat v2 section for the fixture shop (notice registered, no MSPA)."""
    return {"Version": 2, **NOTICES, **UNFILLED, **NOT_COVERED, "GpcSegmentType": 1, **opt_outs}


# --- the asset ------------------------------------------------------------------------------


def test_gpp_js_is_the_build_of_the_locked_library(tmp_path: Path) -> None:
    """The committed asset is exactly what ``make gpp`` builds from js/gpp (so it holds the
    library version the lockfile pins, unmodified), and names package, version and licence."""
    lock = json.loads((JS / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/@iabgpp/cmpapi"]["version"] == "3.2.0"
    _node_modules()
    out = tmp_path / "gpp.js"
    subprocess.run(["node", "build.mjs", str(out)], cwd=JS, check=True, timeout=120)
    assert out.read_bytes() == GPP_JS.read_bytes(), "gpp.js is stale: run `make gpp`"
    head = GPP_JS.read_text()[:600]
    assert "@iabgpp/cmpapi 3.2.0" in head and "Apache-2.0" in head


# --- the mapping (Python) -------------------------------------------------------------------


def test_sections_follow_the_jurisdiction_and_the_approach() -> None:
    rules = load_rules()
    dm = parse_manifest(with_sharing(EXAMPLE.read_text()), filename="shop.yaml")
    for code in ("EU", "UK", "BR", "CA"):
        assert gpp_config(dm, rules, rules.resolve(code), notice_given=True) is None
    ca = gpp_config(dm, rules, rules.resolve("US-CA"), notice_given=True)
    assert ca is not None and ca.applicable_sections == [7] and ca.cmp_id == 0
    (section,) = ca.sections
    assert section.name == "usnat" and section.gpc is True
    assert section.opt_outs == {
        "SaleOptOut": ["partner_sharing"],
        "SharingOptOut": ["partner_sharing"],
        "TargetedAdvertisingOptOut": ["targeted_offers"],  # email_marketing is no ad targeting
    }
    assert section.fixed == {**NOTICES, **NOT_COVERED}
    state = GppOptions(approach="state")
    by_state = {
        code: gpp_config(dm, rules, rules.resolve(code), notice_given=True, options=state)
        for code in ("US-CA", "US-VA", "US-CO")
    }
    got = {
        c: (g.applicable_sections, [s.name for s in g.sections]) for c, g in by_state.items() if g
    }
    assert got == {
        "US-CA": ([8], ["usca"]),
        "US-VA": ([9], ["usva"]),
        "US-CO": ([10], ["usco"]),
    }
    va = by_state["US-VA"]
    assert va is not None and va.sections[0].gpc is False  # Virginia has no GPC sub-section
    assert set(va.sections[0].opt_outs) == {"SaleOptOut", "TargetedAdvertisingOptOut"}


def test_without_purposes_or_notice_the_fields_are_not_applicable() -> None:
    rules = load_rules()
    dm = parse_manifest(EXAMPLE.read_text(), filename="shop.yaml")  # no sale/sharing purpose
    ca = gpp_config(dm, rules, rules.resolve("US-CA"), notice_given=True)
    assert ca is not None
    (s,) = ca.sections
    assert s.opt_outs == {"TargetedAdvertisingOptOut": ["targeted_offers"]}
    assert (s.fixed["SaleOptOut"], s.fixed["SaleOptOutNotice"]) == (0, 0)
    assert (s.fixed["SharingOptOut"], s.fixed["SharingOptOutNotice"]) == (0, 0)
    # No notice provided: notices say 2 and the opt-outs 0 ("no notice was provided").
    bare = gpp_config(dm, rules, rules.resolve("US-CA"), notice_given=False)
    assert bare is not None
    (b,) = bare.sections
    assert b.opt_outs == {}
    assert (b.fixed["TargetedAdvertisingOptOut"], b.fixed["TargetedAdvertisingOptOutNotice"]) == (
        0,
        2,
    )
    assert b.fixed["SharingNotice"] == 2


# --- the asset against the reference decoder, without a browser ------------------------------

RUN_BUNDLE = """
globalThis.window = globalThis;
window.addEventListener = () => {};
window.__gpp = () => [];  // an empty stub queue, as the embed leaves it when nothing was called
const [bundle, cfg, allowed, gpc] = process.argv.slice(1).map(a => JSON.parse(a));
require(bundle);
window.TrustCartGpp(cfg, allowed, gpc, false);
window.__gpp("ping", d => console.log(JSON.stringify(d)));
"""


@pytest.fixture
def state_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """A shop following the state approach that signed the MSPA (opt-out option mode)."""
    monkeypatch.setenv("TRUSTCART_GPP_US_APPROACH", "state")
    monkeypatch.setenv("TRUSTCART_GPP_MSPA_COVERED_TRANSACTION", "1")
    monkeypatch.setenv("TRUSTCART_GPP_MSPA_OPT_OUT_OPTION_MODE", "1")
    monkeypatch.setenv("TRUSTCART_GPP_MSPA_SERVICE_PROVIDER_MODE", "2")
    ws = Workspace.open(init_workspace(tmp_path / "ws"))
    try:
        save_datamap(ws.store, parse_manifest(with_sharing(EXAMPLE.read_text()), filename="s.yaml"))
        with TestClient(create_app(ws), raise_server_exceptions=False) as c:
            yield c
    finally:
        ws.close()


@pytest.mark.parametrize(
    ("code", "allowed", "gpc", "expected"),
    [
        (
            "US-VA",
            {"partner_sharing": False, "targeted_offers": True},
            False,
            {"SaleOptOut": 1, "TargetedAdvertisingOptOut": 2, "SharingNotice": 1},
        ),
        (
            "US-CO",
            {"partner_sharing": True, "targeted_offers": False},
            True,
            {"SaleOptOut": 2, "TargetedAdvertisingOptOut": 1, "Gpc": True},
        ),
        (
            "US-CA",
            {"partner_sharing": True, "targeted_offers": False},
            False,
            {"SaleOptOut": 2, "SharingOptOut": 2, "SaleOptOutNotice": 1, "Gpc": False},
        ),
    ],
)
def test_state_sections_decode_with_the_reference_library(
    state_client: TestClient,
    code: str,
    allowed: dict[str, bool],
    gpc: bool,
    expected: dict[str, Any],
) -> None:
    cfg = state_client.get("/privacy/api/config", params={"jurisdiction": code}).json()["gpp"]
    args = [json.dumps(str(GPP_JS)), json.dumps(cfg), json.dumps(allowed), json.dumps(gpc)]
    ping = node(RUN_BUNDLE, *args)
    name, sid = {"US-CA": ("usca", 8), "US-VA": ("usva", 9), "US-CO": ("usco", 10)}[code]
    assert ping["applicableSections"] == [sid] and ping["signalStatus"] == "ready"
    decoded = decode(ping["gppString"])
    assert decoded["sectionIds"] == [sid]
    fields = decoded["sections"][name]
    assert {k: fields[k] for k in expected} == expected
    mspa = {"MspaCoveredTransaction": 1, "MspaOptOutOptionMode": 1, "MspaServiceProviderMode": 2}
    assert {k: fields[k] for k in mspa} == mspa
    assert decoded["sections"] == ping["parsedSections"]


def test_config_leaves_gpp_out_where_it_does_not_apply(tmp_path: Path) -> None:
    ws = Workspace.open(init_workspace(tmp_path / "ws"))
    try:
        save_datamap(ws.store, load_manifest(EXAMPLE))
        with TestClient(create_app(ws)) as c:
            assert c.get("/privacy/api/config", params={"jurisdiction": "EU"}).json()["gpp"] is None
            ca = c.get("/privacy/api/config", params={"jurisdiction": "US-CA"}).json()["gpp"]
            assert ca["applicable_sections"] == [7]
            r = c.get("/privacy/static/gpp.js")
            assert r.status_code == 200 and r.content == GPP_JS.read_bytes()
            assert r.headers["content-type"].startswith("text/javascript")
            assert r.headers["cache-control"] == "public, max-age=300"
    finally:
        ws.close()


# --- in the browser ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (see .ci/run)")
    with pytest.MonkeyPatch.context() as mp:  # module scope: no TRUSTCART_* from the shell
        for name in list(os.environ):
            if name.startswith("TRUSTCART_"):
                mp.delenv(name)
        ws = Workspace.open(init_workspace(tmp_path_factory.mktemp("gpp") / "ws"))
    try:
        with running_site(ws, with_sharing(shop_datamap_text())) as s:
            yield s
    finally:
        ws.close()


@pytest.fixture
def new_page(chromium: Any) -> Iterator[Any]:
    """Pages in fresh contexts; every request URL each page makes is kept in ``page.urls``."""
    contexts = []
    errors: list[str] = []

    def make(*, gpc: bool = False) -> Any:
        ctx = chromium.new_context()
        ctx.set_default_timeout(5000)
        if gpc:
            ctx.add_init_script(GPC_ON)
        contexts.append(ctx)
        page = ctx.new_page()
        page.urls = []
        page.on("request", lambda r: page.urls.append(r.url))
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        return page

    yield make
    for ctx in contexts:
        ctx.close()
    assert errors == [], f"JavaScript errors in the page: {errors}"


def _url(site: Site, jurisdiction: str, gpp: bool = True) -> str:
    return site.url("/shop/about", jurisdiction) + ("&gpp=on" if gpp else "")


def _ready(page: Any) -> None:
    page.wait_for_function(
        "() => { let s; window.__gpp && __gpp('ping', d => { s = d.signalStatus; });"
        " return s === 'ready'; }"
    )


def _ping(page: Any) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate("new Promise(r => __gpp('ping', d => r(d)))")
    return result


def _fields(page: Any, *names: str) -> dict[str, Any]:
    """``__gpp('getField', cb, 'usnat.<name>')`` for each name."""
    out: dict[str, Any] = page.evaluate(
        """names => Object.fromEntries(names.map(n => {
             let v; __gpp('getField', (x, ok) => { v = ok ? x : 'failed'; }, 'usnat.' + n);
             return [n, v]; }))""",
        list(names),
    )
    return out


def _opt(sale: int, sharing: int, targeted: int, *, gpc: bool) -> dict[str, Any]:
    return {
        "SaleOptOut": sale,
        "SharingOptOut": sharing,
        "TargetedAdvertisingOptOut": targeted,
        "Gpc": gpc,
    }


def _check(page: Any, expected: dict[str, Any]) -> None:
    """getField answers, the ping's string decoded by the reference library, and the page's own
    parsed view all agree with ``expected``."""
    assert _fields(page, *expected) == expected
    ping = _ping(page)
    assert (ping["cmpId"], ping["gppVersion"], ping["cmpStatus"]) == (0, "1.1", "loaded")
    assert ping["applicableSections"] == [7] and ping["sectionList"] == [7]
    decoded = decode(ping["gppString"])
    assert decoded["sectionIds"] == [7]
    assert decoded["sections"] == {"usnat": usnat(**expected)}
    assert ping["parsedSections"] == decoded["sections"]


def _choose(page: Any, key: str, on: bool) -> None:
    """Open the banner's chooser, set one purpose's box, save, and wait until it is gone."""
    page.evaluate("TrustCart.open()")
    page.locator(f"#tc-c-{key}").set_checked(on)
    with page.expect_response(lambda r: "/privacy/api/choices" in r.url):
        page.get_by_role("button", name="Save choices").click()
    page.get_by_role("dialog", name="Privacy choices").wait_for(state="detached")


def _changes(page: Any, n: int) -> None:
    """Wait until the early listener has heard ``n`` usnat section changes."""
    page.wait_for_function(f"window.__early.filter(e => e === 'sectionChange:usnat').length >= {n}")


@pytest.mark.browser
def test_gpp_for_a_california_visitor_follows_every_choice(new_page: Any, site: Site) -> None:
    page = new_page()
    page.goto(_url(site, "US-CA"))
    _ready(page)
    # Before any choice: California is opt-out, so nothing is opted out yet; notices provided.
    _check(page, _opt(2, 2, 2, gpc=False))
    # Calls made right after the embed tag, before gpp.js existed, were queued and answered
    # with the visitor's value; the early listener heard the first section change.
    early = page.evaluate("window.__early")
    assert early[:2] == ["listenerRegistered:true", "getField:2"]
    assert "sectionChange:usnat" in early

    # Opt out of sale/sharing only: Sale and Sharing flip, targeted advertising does not.
    _choose(page, "partner_sharing", False)
    _changes(page, 2)
    _check(page, _opt(1, 1, 2, gpc=False))
    # Opting in again brings "did not opt out" back.
    _choose(page, "partner_sharing", True)
    _changes(page, 3)
    _check(page, _opt(2, 2, 2, gpc=False))
    # An opt-out of targeted offers reaches TargetedAdvertisingOptOut. Its tag had run, so the
    # page reloads (a script cannot be undone); the new page's __gpp says it from the start.
    page.evaluate("TrustCart.open()")
    page.locator("#tc-c-targeted_offers").set_checked(False)
    with page.expect_navigation():
        page.get_by_role("button", name="Save choices").click()
    _ready(page)
    assert page.evaluate("window.__adsRan") is None
    _check(page, _opt(2, 2, 1, gpc=False))


@pytest.mark.browser
def test_gpc_shows_in_gpp_and_gpp_js_asks_no_third_party(new_page: Any, site: Site) -> None:
    page = new_page(gpc=True)
    page.goto(_url(site, "US-CA"))
    page.get_by_text("Global Privacy Control signal was applied").wait_for()
    _ready(page)
    # GPC opts out of sale/sharing and marketing here (CCPA regs §7025): every field says so.
    _check(page, _opt(1, 1, 1, gpc=True))
    # Every tag is held back, so every request the page made went to the shop's own server:
    # gpp.js (fetched from there, once) asked nobody else.
    assert [u for u in page.urls if not u.startswith(site.shop + "/")] == []
    assert sum(1 for u in page.urls if u.startswith(site.shop + "/privacy/static/gpp.js")) == 1


@pytest.mark.browser
def test_no_gpp_outside_the_us_or_without_the_shop_opting_in(new_page: Any, site: Site) -> None:
    # An EU visitor on a page that opted in: the stub is gone once the jurisdiction is known,
    # calls made meanwhile are answered "not successful", TCF answers instead, gpp.js never loads.
    page = new_page()
    page.goto(_url(site, "EU"))
    page.get_by_role("dialog", name="Privacy choices").wait_for()
    page.wait_for_function("window.__early.length === 2")
    assert page.evaluate("typeof window.__gpp") == "undefined"
    assert page.evaluate("window.__early") == ["failed", "failed"]
    tcf = page.evaluate("new Promise(r => __tcfapi('ping', 2, d => r(d)))")
    assert tcf["gdprApplies"] is True
    # A California visitor on a page that did not opt in (no data-gpp): no __gpp at all.
    us = new_page()
    us.goto(_url(site, "US-CA", gpp=False))
    us.wait_for_function("window.__adsRan === 1")  # the embed is done: it released the tag
    assert us.evaluate("typeof window.__gpp") == "undefined"
    assert not any("/gpp.js" in u for u in page.urls + us.urls)
