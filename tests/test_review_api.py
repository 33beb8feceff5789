"""Contest and human review over HTTP and on the shopper's page: contest from the explanation's
link, queue, override, the shopper sees the outcome (page and API); clear 4xx; scopes."""

# ruff: noqa: E402  (helpers are imported after register_assert_rewrite, as pytest requires)
from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape

import pytest

pytest.register_assert_rewrite("_gateway_fixtures")
from fastapi.testclient import TestClient

from _gateway_fixtures import choose
from trustcart.api.app import create_app
from trustcart.consent import ConsentService
from trustcart.gateway import Gateway, PriceGuardrails
from trustcart.governance import Role, access_entries, create_key
from trustcart.models import LightGBMPricing
from trustcart.review import REVIEW_LOG, make_review_token
from trustcart.workspace import Workspace

pytest_plugins = ["_gateway_fixtures"]

CTX = {"loyalty_tier": 2, "basket_size": 4, "stock_level": 0.5}


@pytest.fixture
def client(
    workspace: Workspace, consent: ConsentService, pricing_model: LightGBMPricing
) -> Iterator[TestClient]:
    gw = Gateway(
        workspace,
        consent=consent,
        price_guardrails=PriceGuardrails(group_key="customer_group"),
        max_staleness=0,
    )
    gw.register("price", pricing_model)
    app = create_app(workspace)
    app.state.consent = consent
    app.state.gateway = gw
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c
    gw.close()


def auth(workspace: Workspace, role: Role) -> dict[str, str]:
    secret = create_key(workspace.store, role=role, name=f"t-{role}")[0]
    return {"Authorization": f"Bearer {secret}"}


def _decide(client: TestClient, workspace: Workspace, consent: ConsentService, who: str) -> str:
    choose(consent, who, ["dynamic_pricing"], "granted")
    body = {
        "subject": who,
        "context": {**CTX, "customer_group": "g1"},
        "jurisdiction": "FR",
        "list_price": "59.90",
    }
    r = client.post("/v1/decisions/price", headers=auth(workspace, Role.SERVICE), json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _text(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def test_page_contest_queue_override_outcome(
    client: TestClient, workspace: Workspace, consent: ConsentService
) -> None:
    did = _decide(client, workspace, consent, "c-42")
    support, reviewer = auth(workspace, Role.SUPPORT), auth(workspace, Role.REVIEWER)
    e = client.get(f"/v1/decisions/{did}/explanation", headers=support).json()
    link = e["contest"]
    assert link["statutory"] is True and link["citation"] == "GDPR Art. 22(3)"
    assert link["url"].endswith(f"/privacy/review?token={link['token']}")
    # the shopper opens the link: decision, plain-language explanation, the contest form
    page = client.get("/privacy/review", params={"token": link["token"]})
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert "script-src" not in page.headers["content-security-policy"]
    assert "<script" not in page.text
    text = _text(page.text)
    assert "Your price:" in text and "GDPR Art. 22(3)" in text and "than list price" in text
    assert 'id="tc-contest"' in page.text
    r = client.post(
        "/privacy/review",
        data={"token": link["token"], "statement": "I was charged more", "contact": "x@y.example"},
    )
    assert r.status_code == 201 and "A person will answer by" in _text(r.text)
    # the queue shows it, the reviewer opens and overrides it
    listed = client.get("/v1/review/cases?view=open", headers=reviewer).json()
    assert [c["decision_id"] for c in listed] == [did] and listed[0]["channel"] == "web"
    case_id = listed[0]["id"]
    detail = client.get(f"/v1/review/cases/{case_id}", headers=reviewer).json()
    assert detail["statement"] == "I was charged more"
    assert detail["decision"]["inputs"]["loyalty_tier"] == 2
    assert detail["policy"]["model_version"] and detail["explanation"]["method"] == "tree-shap"
    r = client.post(f"/v1/review/cases/{case_id}/assign", headers=reviewer, json={})
    assert r.status_code == 200 and r.json()["status"] == "in_review"
    verdict = {"verdict": "override", "reasons": "Above the band", "changes": {"price": "50.00"}}
    r = client.post(f"/v1/review/cases/{case_id}/decision", headers=reviewer, json=verdict)
    assert r.status_code == 200 and r.json()["status"] == "overridden", r.text
    # double resolution: a clear 409
    r = client.post(f"/v1/review/cases/{case_id}/decision", headers=reviewer, json=verdict)
    assert r.status_code == 409 and r.json()["error"] == "conflict"
    assert "already resolved" in r.json()["message"]
    # the shopper sees the outcome on the page and through the shop's API
    page = _text(client.get("/privacy/review", params={"token": link["token"]}).text)
    assert "changed it: your price: 50.00 EUR" in page and "Why: Above the band" in page
    seen = client.get(f"/v1/decisions/{did}/review", headers=support).json()
    assert seen["case"]["changed"] is True and seen["case"]["reasons"] == "Above the band"
    # every step is in the chain, and the ledger route verifies it
    steps = [e.payload["step"] for e in workspace.store.log(REVIEW_LOG)]
    assert steps == ["contested", "assigned", "overridden", "notified"]
    dpo = auth(workspace, Role.DPO)
    assert client.get(f"/v1/ledgers/{REVIEW_LOG}/verify", headers=dpo).json()["ok"] is True
    # reads of cases are in the access log, with the reviewer's standing purpose
    purposes = {(a.route, a.purpose) for a in access_entries(workspace.store)}
    assert ("/v1/review/cases/{case_id}", "human_review") in purposes
    stats = client.get("/v1/review/stats?min_group_size=1", headers=reviewer).json()
    assert stats["groups"] == [
        {
            "group": "g1",
            "contested": 1,
            "resolved": 1,
            "overturned": 1,
            "rate": 1.0,
            "interval": stats["groups"][0]["interval"],
            "p_value": None,
            "p_adjusted": None,
            "flagged": False,
            "suppressed": False,
        }
    ]


def test_clear_errors(client: TestClient, workspace: Workspace, consent: ConsentService) -> None:
    did = _decide(client, workspace, consent, "c-7")
    service = auth(workspace, Role.SERVICE)
    r = client.post("/v1/decisions/nope/contest", headers=service, json={})
    assert r.status_code == 404 and "no decision" in r.json()["message"]
    r = client.post(f"/v1/decisions/{did}/contest", headers=service, json={"contact": "nope"})
    assert r.status_code == 422 and "e-mail" in r.json()["message"]
    r = client.post(f"/v1/decisions/{did}/contest", headers=service, json={"statement": "hi"})
    assert r.status_code == 201 and r.json()["has_statement"] is True
    r = client.post(f"/v1/decisions/{did}/contest", headers=service, json={})
    assert r.status_code == 409 and r.json()["details"]["case_id"]
    case_id = r.json()["details"]["case_id"]
    dpo = auth(workspace, Role.DPO)
    r = client.post(
        f"/v1/review/cases/{case_id}/decision",
        headers=dpo,
        json={"verdict": "override", "reasons": "x"},
    )
    assert r.status_code == 422 and "corrected outcome" in r.json()["message"]
    r = client.get("/v1/review/cases/rv_0000", headers=dpo)
    assert r.status_code == 404
    # pages: bad, forged, expired tokens and unknown decisions are friendly 4xx pages
    assert client.get("/privacy/review").status_code == 401
    r = client.get("/privacy/review", params={"token": "abc.def"})
    assert r.status_code == 401 and "does not work" in r.text
    key = workspace.settings.pseudonym_key()
    old, _ = make_review_token(key, did, ttl=60, now=1_000)
    r = client.get("/privacy/review", params={"token": old})
    assert r.status_code == 401 and "expired" in r.text
    ghost, _ = make_review_token(key, "dec_ghost")
    r = client.get("/privacy/review", params={"token": ghost})
    assert r.status_code == 404 and "Traceback" not in r.text
    fresh, _ = make_review_token(key, did)
    r = client.post("/privacy/review", data={"token": fresh, "statement": "again"})
    assert r.status_code == 409 and "already contested" in r.text
    r = client.post("/privacy/review", data={"token": "forged.sig", "statement": "x"})
    assert r.status_code == 401


def test_scopes(client: TestClient, workspace: Workspace, consent: ConsentService) -> None:
    did = _decide(client, workspace, consent, "c-8")
    for role, path, method, want in [
        (Role.ANALYST, "/v1/review/cases", "GET", 403),
        (Role.SUPPORT, "/v1/review/cases", "GET", 403),
        (Role.REVIEWER, f"/v1/decisions/{did}/contest", "POST", 403),
        (Role.ETHICS, f"/v1/decisions/{did}/review", "GET", 403),
        (Role.REVIEWER, "/v1/review/cases", "GET", 200),
        (Role.ANALYST, "/v1/review/stats", "GET", 200),
    ]:
        r = client.request(method, path, headers=auth(workspace, role), json={})
        assert r.status_code == want, (role, path, r.text)
    assert client.get("/v1/review/cases").status_code == 401


PASSWORD = "correct horse battery staple"


def _login(c: TestClient, username: str) -> None:
    page = c.get("/dashboard/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    r = c.post(
        "/dashboard/login",
        data={"csrf": csrf.group(1), "username": username, "password": PASSWORD},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text


def test_dashboard_queue_detail_and_override(
    client: TestClient, workspace: Workspace, consent: ConsentService
) -> None:
    from datetime import UTC, datetime

    from trustcart.governance import create_user
    from trustcart.review import ContestIn, ReviewDesk

    create_user(workspace.store, username="rita", role="reviewer", password=PASSWORD)
    create_user(workspace.store, username="ana", role="analyst", password=PASSWORD)
    late = _decide(client, workspace, consent, "c-old")
    fresh = _decide(client, workspace, consent, "c-new")
    gw = client.app.state.gateway  # type: ignore[attr-defined]
    old_desk = ReviewDesk(workspace, gateway=gw, clock=lambda: datetime(2024, 1, 5, tzinfo=UTC))
    overdue = old_desk.contest(late, ContestIn(statement="Too expensive"))
    service = auth(workspace, Role.SERVICE)
    r = client.post(f"/v1/decisions/{fresh}/contest", headers=service, json={"statement": "Why?"})
    case_id = r.json()["id"]
    _login(client, "rita")
    queue = client.get("/dashboard/review")
    assert queue.status_code == 200
    rows = re.findall(
        r"<tr( class=\"overdue\")?>\s*<th scope=\"row\"><a href=\"[^\"]+\">(rv_\w+)", queue.text
    )
    assert rows[0] == (' class="overdue"', overdue.id) and rows[1] == ("", case_id)
    assert "(overdue)" in queue.text and 'id="overturn"' in queue.text
    page = client.get(f"/dashboard/review/{case_id}")
    assert (
        page.status_code == 200 and "Why?" in page.text and "&#34;loyalty_tier&#34;: 2" in page.text
    )
    assert "GDPR Art. 22(3)" in page.text and "than list price" in page.text
    assert any(
        a.route == "/dashboard/review/{case_id}" and a.object == case_id and a.channel == "web"
        for a in access_entries(workspace.store)
    )
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    form = {"verdict": "override", "field": "price", "value": "41.00", "reasons": "Too high"}
    r = client.post(f"/dashboard/review/{case_id}/decide", data=form, follow_redirects=False)
    assert r.status_code == 403 and ReviewDesk(workspace, gateway=gw).get(case_id).open
    # more time first: once, through the form (CSRF), shown in the timeline, then gone
    assert 'id="extend-form"' in page.text
    before = ReviewDesk(workspace, gateway=gw).get(case_id).due_on
    r = client.post(f"/dashboard/review/{case_id}/extend", data={"reason": "x"})
    assert r.status_code == 403 and ReviewDesk(workspace, gateway=gw).get(case_id).due_on == before
    r = client.post(
        f"/dashboard/review/{case_id}/extend",
        data={"csrf": csrf.group(1), "reason": "Checking the price history"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    after = ReviewDesk(workspace, gateway=gw).get(case_id).due_on
    extended = client.get(f"/dashboard/review/{case_id}").text
    assert after > before and f"due {before.isoformat()} → {after.isoformat()}" in extended
    assert 'id="extend-form"' not in extended and after.isoformat() in extended
    r = client.post(
        f"/dashboard/review/{case_id}/extend", data={"csrf": csrf.group(1), "reason": "again"}
    )
    assert r.status_code == 409 and "already extended" in r.text
    bad = {**form, "csrf": csrf.group(1), "value": "-3"}
    r = client.post(f"/dashboard/review/{case_id}/decide", data=bad)
    assert r.status_code == 422 and "positive" in r.text
    r = client.post(
        f"/dashboard/review/{case_id}/decide",
        data={**form, "csrf": csrf.group(1)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    done = client.get(f"/dashboard/review/{case_id}").text
    assert "Overridden: your price: 41.00 EUR" in done and "Shopper notified" in done
    client.post("/dashboard/logout", data={"csrf": csrf.group(1)})
    client.cookies.clear()
    _login(client, "ana")
    assert client.get("/dashboard/review").status_code == 403


def test_extend_over_http(
    client: TestClient, workspace: Workspace, consent: ConsentService
) -> None:
    did = _decide(client, workspace, consent, "c-10")
    service, reviewer = auth(workspace, Role.SERVICE), auth(workspace, Role.REVIEWER)
    case = client.post(
        f"/v1/decisions/{did}/contest", headers=service, json={"contact": "x@y.example"}
    ).json()
    path = f"/v1/review/cases/{case['id']}/extend"
    assert client.post(path, headers=service, json={"reason": "busy"}).status_code == 403
    r = client.post(path, headers=reviewer, json={"reason": ""})
    assert r.status_code == 422 and "reason" in r.json()["message"]
    r = client.post(path, headers=reviewer, json={"reason": "Checking the price history."})
    assert r.status_code == 200, r.text
    extended = r.json()
    assert extended["due_on"] > case["due_on"] and extended["status"] == case["status"]
    r = client.post(path, headers=reviewer, json={"reason": "again"})
    assert r.status_code == 409 and "already extended" in r.json()["message"]
    steps = client.get(f"/v1/review/cases/{case['id']}", headers=reviewer).json()["steps"]
    assert [s["step"] for s in steps] == ["contested", "extended"]
    assert steps[1]["reviewer"].startswith("api:") and steps[1]["due_on"] == extended["due_on"]
    r = client.post("/v1/review/cases/rv_0000/extend", headers=reviewer, json={"reason": "x"})
    assert r.status_code == 404 and "no review case" in r.json()["message"]


def test_four_eyes_over_http_and_in_the_dashboard(
    client: TestClient, workspace: Workspace, consent: ConsentService
) -> None:
    from trustcart.governance import create_user
    from trustcart.review import ReviewDesk

    gw = client.app.state.gateway  # type: ignore[attr-defined]
    client.app.state.review = ReviewDesk(workspace, gateway=gw, four_eyes=True)  # type: ignore[attr-defined]
    service = auth(workspace, Role.SERVICE)
    ana, bob = (
        {"Authorization": f"Bearer {create_key(workspace.store, role=Role.REVIEWER, name=n)[0]}"}
        for n in ("ana", "bob")
    )
    did = _decide(client, workspace, consent, "c-11")
    case_id = client.post(f"/v1/decisions/{did}/contest", headers=service, json={}).json()["id"]
    verdict = {"verdict": "override", "reasons": "Too high", "changes": {"price": "41.00"}}
    r = client.post(f"/v1/review/cases/{case_id}/decision", headers=ana, json=verdict)
    assert r.status_code == 200 and r.json()["status"] == "proposed", r.text
    path = f"/v1/review/cases/{case_id}/confirmation"
    r = client.post(path, headers=ana, json={"confirm": True})
    assert r.status_code == 409 and "second reviewer" in r.json()["message"]
    r = client.post(path, headers=bob, json={"confirm": False, "reasons": "Check the band"})
    assert r.status_code == 200 and r.json()["status"] == "in_review"
    r = client.post(f"/v1/review/cases/{case_id}/decision", headers=ana, json=verdict)
    assert r.json()["status"] == "proposed"
    # the dashboard: a second reviewer sees the proposal and confirms it (CSRF)
    create_user(workspace.store, username="rita", role="reviewer", password=PASSWORD)
    _login(client, "rita")
    page = client.get(f"/dashboard/review/{case_id}")
    assert page.status_code == 200 and 'id="proposal"' in page.text and "41.00" in page.text
    assert 'id="decide-form"' not in page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    r = client.post(f"/dashboard/review/{case_id}/confirm", data={"csrf": csrf.group(1)},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    done = client.get(f"/dashboard/review/{case_id}").text
    assert "Overridden: your price: 41.00 EUR" in done and "confirmed by dashboard:rita" in done
    r = client.post(path, headers=bob, json={"confirm": True})
    assert r.status_code == 409 and "no proposed verdict" in r.json()["message"]
