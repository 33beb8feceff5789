"""Consent enforced on the shop's own pages, in headless Debian Chromium (Playwright).

One browser for the module; each test makes fresh contexts (fresh visitors). The fixture site
(``tests/_shop_site.py``) serves a shop page with the embed, a tagged AdNet script and iframe,
an untagged Metricly tag and a chat widget, on four loopback addresses; the third parties count
what they receive, so "did not run" is checked both in the page and on the wire.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from _shop_site import PLANTED, Site, running_site, shop_datamap_text
from trustcart.catalog import parse_manifest
from trustcart.compliance import scan
from trustcart.config import init_workspace
from trustcart.consent.tcf import decode_tcf
from trustcart.privacy import Pseudonymizer
from trustcart.rules import load_rules
from trustcart.sitescan import NO_CONSENT, analyze, latest_scan, scan_site
from trustcart.store.tables import ConsentEvent, table_of
from trustcart.workspace import Workspace

playwright_api = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
GPC_ON = "Object.defineProperty(navigator, 'globalPrivacyControl', {get: () => true})"
DENIED = {
    "ad_storage": "denied",
    "ad_user_data": "denied",
    "ad_personalization": "denied",
    "analytics_storage": "denied",
}
_events = table_of(ConsentEvent)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (see .ci/run)")
    with pytest.MonkeyPatch.context() as mp:  # module scope: no TRUSTCART_* from the shell
        for name in list(os.environ):
            if name.startswith("TRUSTCART_"):
                mp.delenv(name)
        ws = Workspace.open(init_workspace(tmp_path_factory.mktemp("shop-pages") / "ws"))
    try:
        with running_site(ws) as s:
            yield s
    finally:
        ws.close()


@pytest.fixture
def new_page(chromium: Any) -> Iterator[Any]:
    """A factory of pages, each in a fresh context (optionally with GPC switched on)."""
    contexts = []
    errors: list[str] = []

    def make(*, gpc: bool = False) -> Any:
        ctx = chromium.new_context()
        ctx.set_default_timeout(5000)
        if gpc:
            ctx.add_init_script(GPC_ON)
        contexts.append(ctx)
        page = ctx.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        return page

    yield make
    for ctx in contexts:
        ctx.close()
    assert errors == [], f"JavaScript errors in the page: {errors}"


def _updates(page: Any) -> list[dict[str, str]]:
    """The Consent Mode updates the page's gtag stub received, in order."""
    calls: list[list[Any]] = page.evaluate("window.__cm")
    return [c[2] for c in calls if c[:2] == ["consent", "update"]]


def _settled(page: Any, updates: int = 1) -> None:
    """Wait until the embed has sent ``updates`` Consent Mode updates (it releases tags in the
    same step as the first, so a tag that was going to run has been inserted by then)."""
    page.wait_for_function(
        f"window.__cm.filter(c => c[0] === 'consent' && c[1] === 'update').length >= {updates}"
    )


def _decisions(site: Site, visitor: str) -> dict[str, str]:
    pseudonym = Pseudonymizer(site.ws.settings.pseudonym_key()).pseudonym(visitor)
    with site.ws.store.read() as conn:
        rows = conn.execute(
            select(_events.c.purpose, _events.c.decision)
            .where(_events.c.subject == pseudonym)
            .order_by(_events.c.seq)
        ).all()
    return {r.purpose: r.decision for r in rows}


def test_marketing_tag_waits_for_consent_and_withdrawal_stops_it(new_page: Any, site: Site) -> None:
    page = new_page()
    ads, frames = site.hits_of("/ads.js"), site.hits_of("/frame")
    page.goto(site.url("/shop/about"))
    banner = page.get_by_role("dialog", name="Privacy choices")
    banner.get_by_role("button", name="Accept all").wait_for()
    _settled(page)
    # Before any choice: the tag and the frame are held back, nothing reached AdNet, and Consent
    # Mode was defaulted to denied before anything else and updated to denied.
    assert page.evaluate("window.__adsRan") is None
    assert page.locator("iframe[title=offer]").get_attribute("src") is None
    assert (site.hits_of("/ads.js"), site.hits_of("/frame")) == (ads, frames)
    first = page.evaluate("window.__cm[0]")
    assert first == ["consent", "default", {**DENIED, "wait_for_update": 500}]
    assert _updates(page) == [DENIED]
    # The TCF API answers for an EU visitor: GDPR applies, no purpose and no vendor consent yet.
    data, ok = page.evaluate("new Promise(r => __tcfapi('getTCData', 2, (d, ok) => r([d, ok])))")
    assert ok and data["gdprApplies"] is True and data["cmpStatus"] == "loaded"
    assert not any(data["purpose"]["consents"].values()) and data["vendor"]["consents"] == {}
    tc = decode_tcf(data["tcString"])
    assert (tc.cmp_id, tc.purposes_consent, tc.vendors_consent) == (0, frozenset(), frozenset())

    # Allow targeted offers only: the tag runs once, the frame loads, Consent Mode follows.
    banner.get_by_role("button", name="Choose").click()
    page.get_by_label("Targeted offers").check()
    with page.expect_response(lambda r: "/privacy/api/choices" in r.url) as resp:
        page.get_by_role("button", name="Save choices").click()
    assert resp.value.status == 201
    page.wait_for_function("window.__adsRan === 1")
    assert page.locator("iframe[title=offer]").get_attribute("src") == (
        site.hosts["adnet"] + "/frame"
    )
    assert _updates(page)[-1] == {
        "ad_storage": "granted",
        "ad_user_data": "granted",
        "ad_personalization": "granted",
        "analytics_storage": "denied",
    }
    visitor = page.evaluate("localStorage.getItem('trustcart_vid')")
    decisions = _decisions(site, visitor)
    assert decisions.pop("targeted_offers") == "granted"
    assert set(decisions.values()) == {"denied"}
    # The choice holds on the next page view.
    page.reload()
    page.wait_for_function("window.__adsRan === 1")

    # Withdraw: a script cannot be undone, so the page reloads itself; the tag stays off.
    page.evaluate("TrustCart.open()")
    with page.expect_navigation():
        banner.get_by_role("button", name="Reject all").click()
    _settled(page)
    assert page.evaluate("window.__adsRan") is None
    assert page.locator("iframe[title=offer]").get_attribute("src") is None
    assert _updates(page) == [DENIED]
    assert _decisions(site, visitor)["targeted_offers"] == "withdrawn"
    assert site.hits_of("/ads.js") == ads + 2  # the two allowed views, nothing since


def test_gpc_keeps_an_opt_out_tag_off_from_the_first_page_view(new_page: Any, site: Site) -> None:
    # Control: in California targeted offers are opt-out, so without GPC the tag runs at once.
    page = new_page()
    page.goto(site.url("/shop/about", "US-CA"))
    page.wait_for_function("window.__adsRan === 1")
    ads = site.hits_of("/ads.js")
    # With GPC the embed reads the signal before releasing anything: never run, never fetched.
    page = new_page(gpc=True)
    with page.expect_response(lambda r: "/privacy/api/choices" in r.url) as resp:
        page.goto(site.url("/shop/about", "US-CA"))
    assert resp.value.status == 201  # the opt-out is recorded (CCPA regs §7025)
    page.get_by_text("Global Privacy Control signal was applied").wait_for()
    _settled(page)
    assert page.evaluate("window.__adsRan") is None
    assert site.hits_of("/ads.js") == ads
    assert _updates(page)[-1]["ad_storage"] == "denied"
    ping = page.evaluate("new Promise(r => __tcfapi('ping', 2, d => r(d)))")
    assert ping["gdprApplies"] is False


def test_scan_site_reports_exactly_the_planted_problems(chromium: Any, site: Site) -> None:
    with site.ws.store.read() as conn:
        events_before = conn.execute(select(func.count()).select_from(_events)).scalar_one()
    report = scan_site(site.ws, site.url("/shop/"), pages=3, jurisdiction="EU", browser=chromium)
    assert {(f.kind, f.object) for f in report.findings} == PLANTED

    s = report.scan
    assert len(s.pages) == 3 and all(p.startswith(site.shop + "/shop/") for p in s.pages)
    names = [st.name for st in s.stages]
    assert names == [
        NO_CONSENT,
        "personalization",
        "targeted_offers",
        "email_marketing",
        "dynamic_pricing",
        "analytics",
    ]
    assert all(st.embed_seen for st in s.stages)
    # The tagged AdNet script loads only in the stage that allows its purpose.
    ads_in = {st.name for st in s.stages if any(r.url.endswith("/ads.js") for r in st.requests)}
    assert ads_in == {"targeted_offers"}
    tracker = next(f for f in report.findings if f.kind == "tracker_without_consent")
    assert set(tracker.stages) == set(names) - {"analytics"}
    # Declared and own keys are seen but not reported; no value is ever kept.
    keys = {k.key for st in s.stages for k in st.storage}
    assert {"mtr_queue", "trustcart_vid"} <= keys
    assert "m1" not in str(s.to_dict()) and "a1" not in str(s.to_dict())
    # The scan wrote nothing to the consent ledger.
    with site.ws.store.read() as conn:
        assert conn.execute(select(func.count()).select_from(_events)).scalar_one() == (
            events_before
        )

    # Stored: the compliance scanner reads it back and reports the same problems.
    stored = latest_scan(site.ws.store)
    assert stored is not None and stored.to_dict() == s.to_dict()
    result = scan(site.ws, areas=["site"])
    assert {(f.check, f.object) for f in result.findings} == {
        ("TC-WEB-001", "system:analytics_platform"),
        ("TC-WEB-002", "host:127.0.0.4"),
        ("TC-WEB-003", "cookie:_adn_uid"),
        ("TC-WEB-003", "cookie:_mtr_id"),
    }
    # Declaring the chat vendor in the data map clears that finding without crawling again.
    fixed = shop_datamap_text().replace(
        "    domains: [127.0.0.3]\n",
        "    domains: [127.0.0.3]\n  - key: chat\n    name: Chatly\n    type: processor\n"
        "    country: IE\n    purposes: [order_fulfilment]\n    domains: [127.0.0.4]\n",
    )
    rejudged = analyze(stored, parse_manifest(fixed, filename="fixed.yaml"), load_rules())
    assert {(f.kind, f.object) for f in rejudged} == PLANTED - {
        ("unknown_third_party", "host:127.0.0.4")
    }
