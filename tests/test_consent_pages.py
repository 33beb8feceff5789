"""End-user privacy pages over HTTP: preference center, notice, embed script and its JSON API.

Runs on SQLite and PostgreSQL (the ``workspace`` fixture). What matters here is what reaches
the consent ledger — checked through ``ConsentService.state`` / ``events`` — and that a shopper
never sees JSON or a traceback where a page is expected.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import rjsmin
from fastapi.testclient import TestClient

from trustcart.api.app import create_app
from trustcart.catalog import load_manifest
from trustcart.catalog.repository import save_datamap
from trustcart.consent import ConsentEventIn, ConsentService, Decision
from trustcart.consent.tokens import make_subject_token
from trustcart.governance import create_key
from trustcart.workspace import Workspace

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "shop.yaml"
VISITOR = "v_" + "0123456789abcdef" * 2
OPT_IN_EU = [
    "personalization",
    "targeted_offers",
    "email_marketing",
    "dynamic_pricing",
    "analytics",
]


@pytest.fixture
def client(workspace: Workspace) -> Iterator[TestClient]:
    save_datamap(workspace.store, load_manifest(EXAMPLE))
    with TestClient(create_app(workspace), raise_server_exceptions=False) as c:
        yield c


def _svc(client: TestClient) -> ConsentService:
    """The app's own ConsentService (created on the first request that needs it)."""
    client.get("/privacy/api/config")
    svc: ConsentService = client.app.state.consent  # type: ignore[attr-defined]
    return svc


def _token(client: TestClient, subject: str = "cust-1", ttl: int = 3600) -> str:
    svc = _svc(client)
    return make_subject_token(svc.pseudonyms, svc.ws.settings.pseudonym_key(), subject, ttl=ttl)


def _notice(client: TestClient) -> str:
    version: str = client.get("/privacy/api/config").json()["notice"]["version"]
    return version


def _choices(client: TestClient, **body: Any) -> Any:
    body.setdefault("jurisdiction", "EU")
    body.setdefault("mechanism", "preference_center")
    body.setdefault("notice_version", _notice(client))
    return client.post("/privacy/api/choices", json=body)


def _switch(html: str, key: str) -> str:
    match = re.search(rf'<input type="checkbox" role="switch" id="p-{key}"[^>]*>', html)
    assert match, f"no switch for {key}"
    return match.group(0)


def test_preference_center_shows_purposes_and_state(client: TestClient) -> None:
    svc = _svc(client)
    version = _notice(client)
    svc.record(
        ConsentEventIn(
            subject="cust-1",
            purposes=["personalization"],
            decision="granted",
            mechanism="opt_in_checkbox",
            jurisdiction="EU",
            notice_version=version,
        )
    )
    r = client.get("/privacy/preferences", params={"token": _token(client)})
    assert r.status_code == 200, r.text
    html = r.text
    for purpose in svc.datamap.purposes:
        assert purpose.name in html
        assert purpose.description in html
    assert "checked" in _switch(html, "personalization")
    assert "checked" not in _switch(html, "analytics")
    assert 'aria-describedby="d-personalization s-personalization"' in html
    assert '<label for="p-personalization">Personalised recommendations</label>' in html
    assert 'id="p-order_fulfilment"' not in html  # essential: no switch
    assert html.count("Always on (needed for your orders)") == 2
    assert "you agreed on" in html
    assert version[:16] in html and 'href="/privacy/notice"' in html
    assert ">Withdraw all</button>" in html and ">Save choices</button>" in html
    assert "onclick" not in html and "<script>" not in html  # no inline script for the CSP
    assert r.headers["content-security-policy"].startswith("default-src 'self'")
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["referrer-policy"] == "no-referrer"


def test_token_link_from_the_api_opens_the_page(client: TestClient, workspace: Workspace) -> None:
    key = create_key(workspace.store, role="service", name="shop")[0]
    r = client.post(
        "/v1/consent/tokens",
        json={"subject": "cust-9"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert r.status_code == 201, r.text
    url = r.json()["url"]
    assert "/privacy/preferences?token=" in url
    page = client.get(url)
    assert page.status_code == 200 and "Your privacy choices" in page.text


@pytest.mark.parametrize("case", ["missing", "forged", "garbage", "expired"])
def test_bad_token_gets_friendly_401_page(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    token = _token(client, ttl=60)
    params = {
        "missing": {},
        "forged": {"token": token[:-2] + ("AA" if not token.endswith("AA") else "BB")},
        "garbage": {"token": "not.a-token"},
        "expired": {"token": token},
    }[case]
    if case == "expired":
        real = time.time
        monkeypatch.setattr("trustcart.consent.tokens.time.time", lambda: real() + 120)
    r = client.get("/privacy/preferences", params=params)
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("text/html")
    assert "This privacy link does not work" in r.text
    assert {"missing": "link the shop gave you", "expired": "expired"}.get(
        case, "ask the shop for a new one"
    ) in r.text
    assert "Traceback" not in r.text and '"error"' not in r.text
    assert "content-security-policy" in r.headers


def test_choices_with_token_record_then_withdraw_all(client: TestClient) -> None:
    token = _token(client)
    r = _choices(
        client,
        token=token,
        choices={"personalization": True, "analytics": True, "email_marketing": False},
        page="https://shop.example/privacy?token=secret#x",
    )
    assert r.status_code == 201, r.text
    out = r.json()
    assert {(e["purpose"], e["decision"]) for e in out["recorded"]} == {
        ("personalization", "granted"),
        ("analytics", "granted"),
        ("email_marketing", "denied"),
    }
    assert all(e["mechanism"] == "preference_center" and e["valid"] for e in out["recorded"])
    assert out["state"]["personalization"]["on"] and not out["state"]["email_marketing"]["on"]
    svc = _svc(client)
    state = svc.state("cust-1")  # the token names cust-1 by pseudonym
    assert state["personalization"].decision is Decision.GRANTED
    assert state["personalization"].mechanism == "preference_center"
    # Saving the same page again adds nothing to the ledger.
    again = _choices(client, token=token, choices={"personalization": True, "analytics": True})
    assert again.json()["recorded"] == []
    assert sorted(again.json()["unchanged"]) == ["analytics", "personalization"]
    # "Withdraw all": every switch off in one submission.
    withdraw = _choices(client, token=token, choices=dict.fromkeys(OPT_IN_EU, False))
    assert withdraw.status_code == 201, withdraw.text
    by_purpose = {e["purpose"]: e["decision"] for e in withdraw.json()["recorded"]}
    assert by_purpose == {
        "personalization": "withdrawn",
        "analytics": "withdrawn",
        "targeted_offers": "denied",
        "dynamic_pricing": "denied",
    }  # email_marketing was already refused: unchanged
    state = svc.state("cust-1")
    assert all(state[k].decision is not Decision.GRANTED for k in OPT_IN_EU)
    assert not svc.may_use("cust-1", "personalization", (), "EU").allowed
    # Evidence: the page without its query (the token must not be stored), a truncated IP.
    events = svc.events("cust-1")
    assert len(events) == 7


def test_form_post_without_javascript(client: TestClient) -> None:
    token = _token(client, "cust-form")
    version = _notice(client)
    form = {
        "token": token,
        "jurisdiction": "EU",
        "notice_version": version,
        "purpose": ["personalization", "targeted_offers"],
        "action": "save",
    }
    r = client.post("/privacy/preferences", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    page = client.get(r.headers["location"])
    assert "Saved." in page.text and "checked" in _switch(page.text, "targeted_offers")
    svc = _svc(client)
    assert svc.state("cust-form")["targeted_offers"].decision is Decision.GRANTED
    r = client.post(
        "/privacy/preferences", data={**form, "action": "withdraw_all"}, follow_redirects=False
    )
    assert r.status_code == 303
    state = svc.state("cust-form")
    assert state["targeted_offers"].decision is Decision.WITHDRAWN
    assert state["analytics"].decision is Decision.DENIED
    bad = client.post("/privacy/preferences", data={**form, "token": "x.y"})
    assert bad.status_code == 401 and bad.headers["content-type"].startswith("text/html")


def test_visitor_id_flow(client: TestClient) -> None:
    empty = client.get("/privacy/api/state", params={"visitor_id": VISITOR, "jurisdiction": "EU"})
    assert empty.status_code == 200, empty.text
    assert empty.json()["purposes"]["personalization"] == {
        "on": False,
        "decision": None,
        "mechanism": None,
        "valid": None,
        "at": None,
        "text": "Off — we have not asked you yet; nothing is used unless you switch it on.",
    }
    assert empty.json()["purposes"]["order_fulfilment"]["on"]
    r = _choices(
        client,
        visitor_id=VISITOR,
        mechanism="just_in_time",
        choices={"personalization": True},
        element="jit:personalization",
    )
    assert r.status_code == 201, r.text
    assert r.json()["recorded"][0]["mechanism"] == "just_in_time"
    state = client.get("/privacy/api/state", params={"visitor_id": VISITOR}).json()
    assert state["purposes"]["personalization"]["on"]
    assert _svc(client).may_use(VISITOR, "personalization", (), "EU").allowed
    assert client.get("/privacy/api/state", params={"visitor_id": "v_XYZ"}).status_code == 422
    assert client.get("/privacy/api/state").status_code == 422
    assert client.get("/privacy/api/state", params={"token": "a.b"}).status_code == 401


@pytest.mark.parametrize(
    ("change", "status", "expect"),
    [
        ({"visitor_id": None}, 422, "exactly one of token and visitor_id"),
        ({"token": "abc.def"}, 422, "exactly one of token and visitor_id"),
        ({"visitor_id": "v_123"}, 422, "visitor_id must be"),
        ({"choices": {"telepathy": True}}, 422, "unknown purpose 'telepathy'"),
        ({"choices": {"analytics": "yes"}}, 422, "valid boolean"),
        ({"choices": {}}, 422, "name at least one purpose"),
        ({"choices": {"order_fulfilment": False}}, 422, "needed for your orders"),
        ({"mechanism": "api"}, 422, "mechanism"),
        ({"mechanism": "implied_banner"}, 422, "implied banner is not a valid way"),
        ({"mechanism": "gpc_signal", "choices": {}}, 422, "needs gpc: true"),
        ({"notice_version": None}, 422, "notice version"),
        ({"notice_version": "ab" * 8}, 404, "no notice version"),
        ({"jurisdiction": "Narnia"}, 422, "unknown jurisdiction"),
        ({"extra": 1}, 422, "extra"),
    ],
)
def test_bad_choices_get_json_4xx_with_message(
    client: TestClient, change: dict[str, Any], status: int, expect: str
) -> None:
    body: dict[str, Any] = {
        "visitor_id": VISITOR,
        "jurisdiction": "EU",
        "mechanism": "opt_in_checkbox",
        "choices": {"analytics": True},
        "notice_version": _notice(client),
    }
    body.update(change)
    body = {k: v for k, v in body.items() if v is not None}
    r = client.post("/privacy/api/choices", json=body)
    assert r.status_code == status, r.text
    out = r.json()
    assert out["error"] and expect in out["message"], out
    assert "Traceback" not in r.text
    assert _svc(client).events(VISITOR) == []


def test_bad_token_in_body_is_401_json(client: TestClient) -> None:
    r = _choices(client, token="forged.token", choices={"analytics": True})
    assert r.status_code == 401
    assert r.json()["error"] == "unauthenticated"


def test_gpc_flag_in_california_applies_the_opt_out(client: TestClient) -> None:
    r = _choices(
        client,
        visitor_id=VISITOR,
        jurisdiction="US-CA",
        mechanism="just_in_time",
        choices={"analytics": False},
        gpc=True,
    )
    assert r.status_code == 201, r.text
    out = r.json()
    assert set(out["gpc_applied"]) == {"targeted_offers", "email_marketing"}
    svc = _svc(client)
    state = svc.state(VISITOR)
    assert state["targeted_offers"].mechanism == "gpc_signal"
    assert state["targeted_offers"].decision is Decision.DENIED
    assert not svc.may_use(VISITOR, "targeted_offers", (), "US-CA").allowed
    assert not out["state"]["email_marketing"]["on"]
    assert "Global Privacy Control" in out["state"]["email_marketing"]["text"]
    # Already applied: a later choice with the flag does not repeat the opt-out.
    later = _choices(
        client,
        visitor_id=VISITOR,
        jurisdiction="US-CA",
        mechanism="just_in_time",
        choices={"personalization": False},
        gpc=True,
    ).json()
    assert [e["purpose"] for e in later["recorded"]] == ["personalization"]


def test_gpc_only_submission_and_real_header(client: TestClient) -> None:
    r = _choices(
        client,
        visitor_id=VISITOR,
        jurisdiction="US-CA",
        mechanism="gpc_signal",
        choices={},
        notice_version=None,
        gpc=True,
    )
    assert r.status_code == 201, r.text
    assert set(r.json()["gpc_applied"]) == {"targeted_offers", "email_marketing"}
    assert {e["mechanism"] for e in r.json()["recorded"]} == {"gpc_signal"}
    other = "v_" + "f" * 32
    h = client.post(
        "/privacy/api/choices",
        headers={"Sec-GPC": "1"},
        json={
            "visitor_id": other,
            "jurisdiction": "US-CA",
            "mechanism": "opt_in_checkbox",
            "choices": {"analytics": False},
        },
    )
    assert h.status_code == 201 and "targeted_offers" in h.json()["gpc_applied"]
    # In the EU the rule pack makes GPC no opt-out: nothing extra is recorded, and we say so.
    eu = _choices(
        client,
        visitor_id="v_" + "e" * 32,
        mechanism="opt_in_checkbox",
        choices={"analytics": False},
        gpc=True,
    ).json()
    assert eu["gpc_applied"] == [] and any("GPC" in w for w in eu["warnings"])


def test_implied_banner_only_where_valid_and_never_over_a_choice(client: TestClient) -> None:
    body = {
        "visitor_id": VISITOR,
        "jurisdiction": "US-CA",
        "mechanism": "implied_banner",
        "choices": {"targeted_offers": True, "email_marketing": True},
    }
    r = _choices(client, **body)
    assert r.status_code == 201, r.text
    assert {e["mechanism"] for e in r.json()["recorded"]} == {"implied_banner"}
    assert all(e["valid"] for e in r.json()["recorded"])
    opted_out = "v_" + "a" * 32
    _choices(
        client,
        visitor_id=opted_out,
        jurisdiction="US-CA",
        mechanism="opt_in_checkbox",
        choices={"targeted_offers": False},
    )
    again = _choices(client, **{**body, "visitor_id": opted_out}).json()
    assert "targeted_offers" in again["skipped"]
    assert [e["purpose"] for e in again["recorded"]] == ["email_marketing"]
    with_gpc = _choices(client, **{**body, "visitor_id": "v_" + "b" * 32, "gpc": True}).json()
    assert set(with_gpc["skipped"]) == {"targeted_offers", "email_marketing"}
    refuse = _choices(client, **{**body, "choices": {"targeted_offers": False}})
    assert refuse.status_code == 422
    eu = _choices(client, **{**body, "jurisdiction": "EU"})
    assert eu.status_code == 422 and "not a valid way" in eu.json()["message"]


def test_config_reflects_jurisdiction_rules(client: TestClient) -> None:
    eu = client.get("/privacy/api/config", params={"jurisdiction": "EU"})
    assert eu.status_code == 200, eu.text
    purposes = {p["key"]: p for p in eu.json()["purposes"]}
    assert purposes["personalization"]["model"] == "opt_in"
    assert purposes["personalization"]["implied_banner_valid"] is False
    assert purposes["personalization"]["short"].startswith("Recommending products")
    assert purposes["order_fulfilment"]["toggleable"] is False
    assert eu.json()["gpc"]["honoured"] is False
    assert len(eu.json()["notice"]["version"]) == 64
    ca = client.get("/privacy/api/config", params={"jurisdiction": "US-CA"}).json()
    ca_purposes = {p["key"]: p for p in ca["purposes"]}
    assert ca_purposes["targeted_offers"]["model"] == "opt_out"
    assert ca_purposes["targeted_offers"]["implied_banner_valid"] is True
    assert ca_purposes["targeted_offers"]["gpc_opts_out"] is True
    assert ca_purposes["analytics"]["implied_banner_valid"] is False
    assert ca["gpc"]["honoured"] is True and "7025" in ca["gpc"]["citation"]
    assert eu.headers["access-control-allow-origin"] == "*"
    bad = client.get("/privacy/api/config", params={"jurisdiction": "Narnia"})
    assert bad.status_code == 422 and "unknown jurisdiction" in bad.json()["message"]
    pre = client.options("/privacy/api/choices")
    assert pre.status_code == 204 and "POST" in pre.headers["access-control-allow-methods"]


def test_notice_page_registers_the_data_map_notice_once(
    client: TestClient, workspace: Workspace
) -> None:
    from trustcart.consent import list_notices

    assert list_notices(workspace.store) == []
    r = client.get("/privacy/notice")
    assert r.status_code == 200, r.text
    notices = list_notices(workspace.store)
    assert len(notices) == 1 and notices[0].kind == "privacy_notice"
    assert notices[0].version in r.text
    assert "<h2>Who we are</h2>" in r.text and "StyleSense GmbH" in r.text
    assert r.headers["content-security-policy"].startswith("default-src 'self'")
    client.get("/privacy/notice")
    assert len(list_notices(workspace.store)) == 1


def test_pages_without_a_data_map_explain_in_html(workspace: Workspace) -> None:
    with TestClient(create_app(workspace), raise_server_exceptions=False) as c:
        r = c.get("/privacy/notice")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert "has not loaded its data map" in r.text


def test_embed_script_example_page_and_static_files(client: TestClient) -> None:
    js = client.get("/privacy/embed.js")
    assert js.status_code == 200
    assert js.headers["content-type"].startswith("text/javascript")
    # The limit is on the minified script (comments and whitespace removed); the source stays
    # commented and readable. tests/test_shop_pages.py prints raw, minified and gzip sizes.
    assert len(rjsmin.jsmin(js.content)) < 15 * 1024
    for forbidden in ("http://", "https://cdn", "innerHTML", "eval("):
        assert forbidden not in js.text.split("*/", 1)[1], forbidden
    page = client.get("/privacy/example", params={"jurisdiction": "US-CA"})
    assert page.status_code == 200
    assert 'src="/privacy/embed.js" data-jurisdiction="US-CA" defer' in page.text
    assert 'data-trustcart-jit="personalization"' in page.text
    assert "data-trustcart-open" in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    for name in ("embed.css", "privacy.css", "preferences.js"):
        assert client.get(f"/privacy/static/{name}").status_code == 200
    assert client.get("/privacy/static/..%2Fview.py").status_code == 404
    assert client.get("/privacy/static/view.py").status_code == 404


def test_privacy_routes_are_public_and_outside_v1(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    privacy = [p for p in paths if p.startswith("/privacy")]
    # The JSON endpoints are part of the API contract; the HTML pages and static files are not.
    assert "/privacy/api/choices" in privacy and "/privacy/api/config" in privacy
    assert "/privacy/preferences" not in privacy
    assert not any(p.startswith("/v1/privacy") for p in paths)
