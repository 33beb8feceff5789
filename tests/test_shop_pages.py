"""Shop pages without a browser: the embed script's size and reach, the consent signals
(Consent Mode, TCF string) against an independent decoder, the data map's domains and cookies,
the site-scan judgement on hand-built observations, stored scans, receipts, and the CLI/API.

Storage tests run on SQLite and PostgreSQL (the ``workspace`` fixture).
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import iab_tcf  # the independent decoder of the TC strings TrustCart writes
import pytest
import rjsmin
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from trustcart.api.app import create_app
from trustcart.catalog import CookieDeclaration, load_manifest, parse_manifest
from trustcart.catalog.repository import save_datamap
from trustcart.cli import app as cli
from trustcart.compliance import scan
from trustcart.consent import (
    ConsentEventIn,
    ConsentService,
    build_proof,
    build_receipt,
    consent_mode_map,
    consent_mode_state,
    datamap_notice,
    encode_tc_string,
    register_notice,
    tcf_purpose_consents,
)
from trustcart.errors import ValidationError
from trustcart.governance import create_key
from trustcart.rules import load_rules
from trustcart.sitescan import (
    NO_CONSENT,
    Cookie,
    Request,
    SiteScan,
    Stage,
    StorageKey,
    analyze,
    declared_days,
    host_matches,
    latest_scan,
    store_scan,
)
from trustcart.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "shop.yaml"
EMBED = ROOT / "src" / "trustcart" / "web" / "static" / "embed.js"
VISITOR = "v_" + "0123456789abcdef" * 2
runner = CliRunner()


def shop(*replacements: tuple[str, str]) -> str:
    text = EXAMPLE.read_text()
    for old, new in replacements:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


# --- the embed script -----------------------------------------------------------------------


def test_embed_script_is_small_and_contacts_only_its_own_server() -> None:
    source = EMBED.read_bytes()
    minified = rjsmin.jsmin(source)
    packed = gzip.compress(minified, 9)
    print(f"embed.js: {len(source)} B raw, {len(minified)} B minified, {len(packed)} B gzip")
    assert len(minified) < 15 * 1024
    code = minified.decode()
    # No URL of its own: every request is relative to the script's own address (``base``).
    assert re.search(r"https?://", code) is None
    assert re.findall(r"fetch\(([^,)]+)", code) == ['base+"api/"+path+"?"+q', 'base+"api/choices"']
    # GPC is read on the first lines, before any function could release a tag.
    assert code.index("globalPrivacyControl") < code.index("function release")


# --- signals --------------------------------------------------------------------------------


@pytest.mark.parametrize("purposes", [set(), {1}, {2, 4, 7}, set(range(1, 12))])
def test_tc_string_decodes_with_the_iab_library(purposes: set[int]) -> None:
    at = datetime(2026, 11, 20, 15, 3, 7, tzinfo=UTC)
    s = encode_tc_string(purposes, updated=at, publisher_cc="de")
    d = iab_tcf.decode(s)
    assert {i for i, on in d.purposes_consent.items() if on} == purposes
    assert not any(d.purposes_legitimate_interests.values())
    assert (d.version, d.cmp_id, d.tcf_policy_version, d.is_service_specific) == (2, 0, 4, True)
    assert d.publisher_cc == b"DE" and d.consent_language == b"EN"
    assert d.created == d.last_updated == datetime(2026, 11, 20)  # truncated to the day
    assert not any(d.consented_vendors.values()) if d.consented_vendors else True


def test_tc_string_rejects_what_does_not_fit() -> None:
    at = datetime(2026, 11, 20, tzinfo=UTC)
    with pytest.raises(ValidationError, match="two letters"):
        encode_tc_string({1}, updated=at, publisher_cc="DEU")
    with pytest.raises(ValidationError, match="1-24"):
        encode_tc_string({25}, updated=at, publisher_cc="DE")


def test_consent_mode_and_tcf_purposes_follow_data_uses() -> None:
    dm = load_manifest(EXAMPLE)
    mapping = consent_mode_map(dm)
    assert mapping == {
        "ad_storage": ["targeted_offers"],
        "ad_user_data": ["targeted_offers"],
        "ad_personalization": ["targeted_offers"],
        "analytics_storage": ["analytics"],
    }
    assert consent_mode_state(mapping, {"analytics": True}) == {
        "ad_storage": "denied",
        "ad_user_data": "denied",
        "ad_personalization": "denied",
        "analytics_storage": "granted",
    }
    # The example's uses are broader than any TCF purpose: nothing is ever consented in TCF.
    assert tcf_purpose_consents(dm, {p.key: True for p in dm.purposes}) == set()
    narrower = parse_manifest(
        shop(
            (
                "data_use: analytics.reporting\n",
                "data_use: analytics.reporting.content_performance\n",
            ),
            ("data_use: personalize.profiling\n", "data_use: personalize.content.profiling\n"),
        ),
        filename="narrow.yaml",
    )
    assert tcf_purpose_consents(narrower, {"analytics": True, "personalization": True}) == {5, 8}
    assert tcf_purpose_consents(narrower, {"analytics": True}) == {8}


@pytest.fixture
def client(workspace: Workspace) -> Iterator[TestClient]:
    save_datamap(workspace.store, load_manifest(EXAMPLE))
    with TestClient(create_app(workspace), raise_server_exceptions=False) as c:
        yield c


def test_embed_endpoints_carry_the_signals(client: TestClient) -> None:
    eu = client.get("/privacy/api/config", params={"jurisdiction": "EU"}).json()
    assert eu["tcf"] == {"gdpr_applies": True, "publisher_cc": "DE", "policy_version": 4}
    assert eu["consent_mode"]["analytics_storage"] == ["analytics"]
    assert {p["key"]: p["data_use"] for p in eu["purposes"]}["analytics"] == "analytics.reporting"
    ca = client.get("/privacy/api/config", params={"jurisdiction": "US-CA"}).json()
    assert ca["tcf"]["gdpr_applies"] is False

    r = client.post(
        "/privacy/api/choices",
        json={
            "visitor_id": VISITOR,
            "jurisdiction": "EU",
            "mechanism": "opt_in_checkbox",
            "choices": {"analytics": True, "targeted_offers": False},
            "notice_version": eu["notice"]["version"],
        },
    )
    assert r.status_code == 201, r.text
    signals = r.json()["signals"]
    assert signals["consent_mode"] == {
        "ad_storage": "denied",
        "ad_user_data": "denied",
        "ad_personalization": "denied",
        "analytics_storage": "granted",
    }
    state = client.get("/privacy/api/state", params={"visitor_id": VISITOR}).json()
    assert state["consent_mode"] == signals["consent_mode"]
    tc = iab_tcf.decode(state["tcf"]["tc_string"])
    assert not any(tc.purposes_consent.values()) and state["tcf"]["purpose_consents"] == []
    assert tc.created.date() == datetime.now(UTC).date()
    in_ca = client.get(
        "/privacy/api/state", params={"visitor_id": VISITOR, "jurisdiction": "US-CA"}
    ).json()
    assert in_ca["tcf"] is None  # no GDPR, no TC string


# --- the data map ---------------------------------------------------------------------------


def test_domains_and_cookies_are_validated() -> None:
    dm = load_manifest(EXAMPLE)
    assert dm.system("analytics_platform").domains == [  # type: ignore[union-attr]
        "cdn.metricly.example",
        "collect.metricly.example",
    ]
    bad = shop(
        (
            "domains: [cdn.metricly.example, collect.metricly.example]",
            "domains: [https://x.example/]",
        ),
        ("{name: _mtr_id, purpose: analytics,", "{name: _mtr_id, purpose: analytix,"),
    )
    with pytest.raises(ValidationError) as exc:
        parse_manifest(bad, filename="bad.yaml")
    text = str(exc.value)
    assert "systems[6].domains[0]: invalid domain 'https://x.example/'" in text
    wrong_purpose = shop(
        ("{name: _mtr_id, purpose: analytics,", "{name: _mtr_id, purpose: analytix,")
    )
    with pytest.raises(
        ValidationError, match=r"systems\[6\]\.cookies\[0\]\.purpose: unknown purpose"
    ):
        parse_manifest(wrong_purpose, filename="bad.yaml")
    no_lifetime = shop(("purpose: analytics, lifetime: P13M,", "purpose: analytics,"))
    with pytest.raises(ValidationError, match="declare its 'lifetime'"):
        parse_manifest(no_lifetime, filename="bad.yaml")
    key = CookieDeclaration(name="mtr_*", purpose="analytics", storage="local_storage")
    assert key.matches("mtr_queue") and not key.matches("xmtr_queue")
    assert CookieDeclaration(name="a", purpose="p", lifetime="session").lifetime == "session"


# --- judging observations -------------------------------------------------------------------


def _scan(jurisdiction: str, stages: list[Stage]) -> SiteScan:
    return SiteScan(
        id="scan_test",
        url="https://www.stylesense.example/",
        jurisdiction=jurisdiction,
        started_at=datetime(2026, 11, 20, tzinfo=UTC),
        pages=["https://www.stylesense.example/"],
        first_party=["stylesense.example"],
        stages=stages,
    )


def _req(url: str, third_party: bool = True) -> Request:
    host = url.split("/")[2]
    return Request(url, host, "script", "https://www.stylesense.example/", third_party)


def _cookie(name: str, days: float | None) -> Cookie:
    return Cookie(
        name,
        ".stylesense.example",
        "https://www.stylesense.example/",
        days is None,
        None if days is None else datetime(2026, 11, 20, tzinfo=UTC) + timedelta(days=days),
        days,
    )


def test_analysis_rules_on_hand_built_observations() -> None:
    dm = load_manifest(EXAMPLE)
    rules = load_rules()
    none = Stage(
        NO_CONSENT,
        [],
        True,
        requests=[
            _req("https://cdn.metricly.example/m.js"),  # analytics before consent
            _req("https://www.stylesense.example/app.js", third_party=False),  # the shop itself
            _req("https://static.stylesense.example/x.css", third_party=False),
            _req("https://tracker.unknown.example/t.gif"),
        ],
        cookies=[_cookie("shop_session", None), _cookie("_mtr_id", 390), _cookie("zz", 1)],
        storage=[
            StorageKey("https://www.stylesense.example", "trustcart_vid", "p"),
            StorageKey("https://www.stylesense.example", "trustcart_ack_EU_0123", "p"),
            StorageKey("https://www.stylesense.example", "cart", "p"),
        ],
    )
    analytics = Stage(
        "analytics",
        ["analytics"],
        True,
        requests=[_req("https://collect.metricly.example/c")],
        cookies=[_cookie("_mtr_id", 450)],  # past P13M (at most 403 days + 1 of slack)
    )
    found = {(f.kind, f.object): f for f in analyze(_scan("EU", [none, analytics]), dm, rules)}
    assert set(found) == {
        ("tracker_without_consent", "system:analytics_platform"),
        ("unknown_third_party", "host:tracker.unknown.example"),
        ("undeclared_storage", "cookie:zz"),
        ("undeclared_storage", "storage:cart"),
        ("lifetime_exceeded", "cookie:_mtr_id"),
    }
    tracker = found[("tracker_without_consent", "system:analytics_platform")]
    assert tracker.stages == (NO_CONSENT,) and "before any choice" in tracker.message
    assert any("cookie _mtr_id" in e for e in tracker.evidence)
    assert found[("lifetime_exceeded", "cookie:_mtr_id")].stages == ("analytics",)
    # In California analytics is opt-out: loading it before a choice is not a finding there.
    in_ca = {(f.kind, f.object) for f in analyze(_scan("US-CA", [none]), dm, rules)}
    assert ("tracker_without_consent", "system:analytics_platform") not in in_ca
    # A persistent cookie declared as a session cookie outlives its declaration.
    persistent = Stage(NO_CONSENT, [], True, cookies=[_cookie("shop_session", 30)])
    kinds = {(f.kind, f.object) for f in analyze(_scan("EU", [persistent]), dm, rules)}
    assert kinds == {("lifetime_exceeded", "cookie:shop_session")}


def test_domain_and_duration_helpers() -> None:
    assert host_matches("*.metricly.example", "metricly.example")
    assert host_matches("*.metricly.example", "a.b.metricly.example")
    assert not host_matches("*.metricly.example", "evilmetricly.example")
    assert not host_matches("metricly.example", "cdn.metricly.example")
    assert declared_days("P13M") == 13 * 31
    assert declared_days("P1Y2W") == 366 + 14
    assert declared_days("session") is None


def test_stored_scan_round_trips_and_feeds_the_scanner(workspace: Workspace) -> None:
    dm = load_manifest(EXAMPLE)
    save_datamap(workspace.store, dm)
    register_notice(workspace.store, **datamap_notice(dm))
    assert latest_scan(workspace.store) is None
    assert not [f for f in scan(workspace).findings if f.area == "site"]
    stage = Stage(NO_CONSENT, [], True, requests=[_req("https://cdn.metricly.example/m.js")])
    original = _scan("EU", [stage])
    record = store_scan(workspace.store, original)
    assert record.seq == 1
    again = latest_scan(workspace.store)
    assert again is not None and again.to_dict() == original.to_dict()
    findings = [(f.check, f.object) for f in scan(workspace, areas=["site"]).findings]
    assert findings == [("TC-WEB-001", "system:analytics_platform")]
    assert workspace.store.log("site_scans").verify().ok


# --- receipts -------------------------------------------------------------------------------


def test_receipt_maps_every_event_of_the_ledger(workspace: Workspace) -> None:
    dm = load_manifest(EXAMPLE)
    save_datamap(workspace.store, dm)
    notice = register_notice(workspace.store, **datamap_notice(dm))
    svc = ConsentService(workspace)
    base = {"subject": "cust-7", "notice_version": notice.version, "channel": "web"}
    svc.record(
        ConsentEventIn(
            **base,
            purposes=["personalization", "analytics"],
            decision="granted",
            mechanism="opt_in_checkbox",
            jurisdiction="EU",
        )
    )
    svc.record(
        ConsentEventIn(
            **base,
            purposes=["personalization"],
            decision="withdrawn",
            mechanism="preference_center",
            jurisdiction="EU",
        )
    )
    svc.record(
        ConsentEventIn(
            **base,
            purposes=["targeted_offers"],
            decision="granted",
            mechanism="implied_banner",
            jurisdiction="EU",
        )
    )
    receipt = build_receipt(svc, "cust-7")
    proof = build_proof(svc, "cust-7")
    assert "cust-7" not in json.dumps(receipt, default=str)  # pseudonym only
    assert receipt["pii_principal_id"] == proof["subject"]
    records = {r["processing"]["purpose_id"]: r for r in receipt["records"]}
    assert set(records) == {"personalization", "analytics", "targeted_offers"}
    pers = records["personalization"]
    assert [e["event_state"] for e in pers["events"]] == ["given", "withdrawn"]
    assert pers["current_state"] == "withdrawn"
    assert pers["events"][0]["event_type_dpv"] == "dpv:ExpressedConsent"
    assert pers["events"][0]["entity_id"] == "pii_principal"
    assert pers["processing"]["lawful_basis"] == "consent"
    assert pers["processing"]["retention_period"] == "P2Y"
    assert "user.behavior.fit_profile" in pers["processing"]["pii_information"]
    assert pers["processing"]["storage_locations"] == ["DE"]
    assert "cloud_hosting" in " ".join(pers["processing"]["recipient_third_parties"])
    implied = records["targeted_offers"]["events"][0]
    # An implied banner is no valid consent in the EU (GDPR Art. 4(11)): recorded, invalidated.
    assert (implied["event_type"], implied["event_state"]) == ("implied consent", "invalidated")
    # Every event is the proof's event, with the same ledger hash.
    by_id = {e["id"]: e["ledger"]["hash"] for e in proof["events"]}
    events = [e for r in receipt["records"] for e in r["events"]]
    assert {e["event_id"]: e["ledger"]["hash"] for e in events} == by_id
    assert receipt["parties"][0]["party_name"] == "StyleSense GmbH"
    assert notice.version in receipt["privacy_notices"]
    # The workspace's maximum consent age becomes the grants' validity duration.
    assert pers["events"][0]["validity_duration"] is None  # none configured: until withdrawn


def test_receipt_over_http_and_cli(client: TestClient, workspace: Workspace) -> None:
    keys = {
        role: {"Authorization": f"Bearer {create_key(workspace.store, role=role, name=role)[0]}"}
        for role in ("support", "analyst")
    }
    version = client.get("/privacy/api/config").json()["notice"]["version"]
    client.post(
        "/privacy/api/choices",
        json={
            "visitor_id": VISITOR,
            "jurisdiction": "EU",
            "mechanism": "opt_in_checkbox",
            "choices": {"analytics": True},
            "notice_version": version,
        },
    )
    url = f"/v1/consent/subjects/{VISITOR}/receipt"
    assert client.get(url).status_code == 401
    assert client.get(url, headers=keys["analyst"]).status_code == 403
    r = client.get(url, headers=keys["support"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert [rec["processing"]["purpose_id"] for rec in body["records"]] == ["analytics"]
    out = runner.invoke(cli, ["-w", str(workspace.root), "consent", "receipt", VISITOR])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["records"][0]["events"][0]["event_state"] == "given"


# --- the scan-site command ------------------------------------------------------------------


def test_scan_site_cli_rejects_bad_input(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    assert runner.invoke(cli, ["init", str(ws)]).exit_code == 0
    no_map = runner.invoke(cli, ["-w", str(ws), "scan-site", "https://shop.example/"])
    assert no_map.exit_code == 2 and "load a data map first" in no_map.output
    assert runner.invoke(cli, ["-w", str(ws), "catalog", "load", str(EXAMPLE)]).exit_code == 0
    bad = runner.invoke(cli, ["-w", str(ws), "scan-site", "ftp://shop.example/"])
    assert bad.exit_code == 2 and "not a web page URL" in bad.output
    pages = runner.invoke(cli, ["-w", str(ws), "scan-site", "https://s.example/", "-n", "0"])
    assert pages.exit_code == 2 and "--pages must be between 1" in pages.output
    purpose = runner.invoke(cli, ["-w", str(ws), "scan-site", "https://s.example/", "-p", "nope"])
    assert purpose.exit_code == 2 and "unknown purpose(s) nope" in purpose.output
