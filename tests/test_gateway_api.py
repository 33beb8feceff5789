"""The decisions HTTP API: decide, read, explain, list a person's; 4xx errors that say what
to fix."""

# ruff: noqa: E402  (helpers are imported after register_assert_rewrite, as pytest requires)
from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.register_assert_rewrite("_gateway_fixtures")
from fastapi.testclient import TestClient

from _gateway_fixtures import choose
from trustcart.api.app import create_app
from trustcart.consent import ConsentService
from trustcart.gateway import Gateway
from trustcart.governance import Role, create_key
from trustcart.workspace import Workspace

pytest_plugins = ["_gateway_fixtures"]

CTX = {"loyalty_tier": 2, "basket_size": 4, "stock_level": 0.5}


@pytest.fixture
def client(workspace: Workspace, consent: ConsentService, gateway: Gateway) -> Iterator[TestClient]:
    app = create_app(workspace)
    app.state.consent = consent
    app.state.gateway = gateway
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def auth(workspace: Workspace, role: Role) -> dict[str, str]:
    secret = create_key(workspace.store, role=role, name=f"t-{role}")[0]
    return {"Authorization": f"Bearer {secret}"}


def test_decide_read_explain_list(
    client: TestClient, workspace: Workspace, consent: ConsentService
) -> None:
    service, support = auth(workspace, Role.SERVICE), auth(workspace, Role.SUPPORT)
    choose(consent, "c-42", ["dynamic_pricing"], "granted")
    body = {"subject": "c-42", "context": CTX, "jurisdiction": "FR", "list_price": "59.90"}
    r = client.post("/v1/decisions/price", headers=service, json=body)
    assert r.status_code == 201, r.text
    d = r.json()
    assert d["jurisdiction"] == "EU" and d["personalised"] is True
    assert d["disclosures"][0]["code"] == "eu_personalised_price"
    assert d["subject"].startswith("s_") and "c-42" not in r.text
    got = client.get(f"/v1/decisions/{d['id']}", headers=support)
    assert got.status_code == 200 and got.json()["output"] == d["output"]
    e = client.get(f"/v1/decisions/{d['id']}/explanation", headers=support).json()
    assert e["method"] == "tree-shap" and "than list price" in e["text"]
    listed = client.get("/v1/subjects/c-42/decisions", headers=support).json()
    assert [x["id"] for x in listed] == [d["id"]]
    r = client.post("/v1/decisions/price", headers=support, json=body)
    assert r.status_code == 403 and r.json()["details"]["required_scope"] == "decisions:write"


@pytest.mark.parametrize(
    ("path", "body", "status", "needle"),
    [
        ("/v1/decisions/buy", {"subject": "s"}, 422, "unknown decision kind 'buy'"),
        ("/v1/decisions/rank", {"subject": "s", "candidates": ["a"]}, 409, "no model registered"),
        ("/v1/decisions/price", {"subject": "s"}, 422, "needs list_price"),
        (
            "/v1/decisions/price",
            {"subject": "s", "list_price": "5", "context": {"shoe": 1}},
            422,
            "unknown feature(s) 'shoe'",
        ),
        ("/v1/decisions/price", {"subject": "s", "list_price": "-5"}, 422, "positive"),
        ("/v1/decisions/price", {"list_price": "5"}, 422, "body.subject"),
        (
            "/v1/decisions/price",
            {"subject": "s", "list_price": "5", "jurisdiction": "Mars"},
            422,
            "unknown jurisdiction",
        ),
    ],
)
def test_bad_input_is_4xx_with_a_message(
    client: TestClient,
    workspace: Workspace,
    path: str,
    body: dict[str, object],
    status: int,
    needle: str,
) -> None:
    r = client.post(path, headers=auth(workspace, Role.SERVICE), json=body)
    assert r.status_code == status, r.text
    assert needle in r.json()["message"]


def test_unknown_decision_is_404(client: TestClient, workspace: Workspace) -> None:
    h = auth(workspace, Role.SUPPORT)
    for path in ("/v1/decisions/dec_NOPE", "/v1/decisions/dec_NOPE/explanation"):
        r = client.get(path, headers=h)
        assert r.status_code == 404 and "no decision with id" in r.json()["message"]


def test_erased_subject_explanation_is_410_not_500(
    client: TestClient, workspace: Workspace, consent: ConsentService, gateway: Gateway
) -> None:
    service, support = auth(workspace, Role.SERVICE), auth(workspace, Role.SUPPORT)
    choose(consent, "c-43", ["dynamic_pricing"], "granted")
    body = {"subject": "c-43", "context": CTX, "jurisdiction": "EU", "list_price": "20"}
    d = client.post("/v1/decisions/price", headers=service, json=body).json()
    assert d["inputs"] == CTX and d["erased"] is False and "sealed" not in d
    report = gateway.shred_subject("c-43")
    assert report.unlinkable == {"decisions": 1}
    r = client.get(f"/v1/decisions/{d['id']}/explanation", headers=support)
    assert r.status_code == 410 and r.json()["error"] == "subject_erased"
    assert "erased" in r.json()["message"]
    got = client.get(f"/v1/decisions/{d['id']}", headers=support).json()
    assert got["erased"] is True and got["output"] == d["output"] and "inputs" not in got
    assert client.get("/v1/subjects/c-43/decisions", headers=support).json() == []


def test_access_log_names_route_status_and_key_not_the_person(
    client: TestClient,
    workspace: Workspace,
    consent: ConsentService,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import json
    import logging

    choose(consent, "c-77", ["dynamic_pricing"], "granted")
    body = {"subject": "c-77", "context": CTX, "jurisdiction": "EU", "list_price": "9.90"}
    with caplog.at_level(logging.INFO, logger="trustcart.access"):
        assert (
            client.post(
                "/v1/decisions/price", headers=auth(workspace, Role.SERVICE), json=body
            ).status_code
            == 201
        )
        assert client.get("/v1/subjects/c-77/decisions").status_code == 401
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "trustcart.access"]
    assert [(x["method"], x["route"], x["status"]) for x in lines] == [
        ("POST", "/v1/decisions/{ref}", 201),
        ("GET", "/v1/subjects/{subject}/decisions", 401),
    ]
    assert lines[0]["key_id"] and lines[1]["key_id"] is None
    assert "c-77" not in caplog.text


def test_batch_of_decisions_is_logged_all_or_nothing(
    client: TestClient, workspace: Workspace, consent: ConsentService, gateway: Gateway
) -> None:
    service = auth(workspace, Role.SERVICE)
    choose(consent, "c-80", ["dynamic_pricing", "targeted_offers"], "granted")
    page = [
        {"kind": "price", "subject": "c-80", "context": CTX, "list_price": p}
        for p in ("19.90", "49.90", "120.00")
    ]
    page.append({"kind": "offer", "subject": "c-80", "context": {"orders_last_year": 4}})
    r = client.post("/v1/decisions", headers=service, json={"decisions": page})
    assert r.status_code == 201, r.text
    taken = r.json()["decisions"]
    assert [d["kind"] for d in taken] == ["price", "price", "price", "offer"]
    assert [d["output"]["list_price"] for d in taken[:3]] == ["19.90", "49.90", "120.00"]
    seqs = [d["seq"] for d in taken]
    assert seqs == list(range(seqs[0], seqs[0] + 4))  # one transaction, in order
    assert {x["id"] for x in gateway.for_subject("c-80")} == {d["id"] for d in taken}

    bad = [page[0], {**page[1], "list_price": "-1"}, page[2]]
    r = client.post("/v1/decisions", headers=service, json={"decisions": bad})
    assert r.status_code == 422 and r.json()["message"].startswith("decision 1: list_price")
    assert r.json()["details"]["index"] == 1
    assert len(gateway.for_subject("c-80")) == 4  # nothing of the refused batch was logged
    r = client.post("/v1/decisions", headers=service, json={"decisions": []})
    assert r.status_code == 422
    support = auth(workspace, Role.SUPPORT)
    assert (
        client.post("/v1/decisions", headers=support, json={"decisions": page}).status_code == 403
    )
