"""Consent over HTTP: events, GPC header, check, state, proof, notices, stats, clear 422s."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from trustcart.api.app import create_app
from trustcart.catalog import load_manifest
from trustcart.catalog.repository import save_datamap
from trustcart.governance import create_key
from trustcart.workspace import Workspace

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "shop.yaml"


@pytest.fixture
def api(workspace: Workspace) -> Iterator[tuple[TestClient, dict[str, dict[str, str]]]]:
    save_datamap(workspace.store, load_manifest(EXAMPLE))
    keys = {
        role: {"Authorization": f"Bearer {create_key(workspace.store, role=role, name=role)[0]}"}
        for role in ("service", "support", "analyst", "dpo")
    }
    with TestClient(create_app(workspace), raise_server_exceptions=False) as client:
        yield client, keys


def test_record_check_state_proof(api: tuple[TestClient, dict[str, dict[str, str]]]) -> None:
    client, keys = api
    svc = keys["service"]
    notice = client.post("/v1/consent/notices/from-datamap", headers=keys["dpo"])
    assert notice.status_code == 201, notice.text
    version = notice.json()["version"]
    body = {
        "subject": "cust-1",
        "purposes": ["personalization", "targeted_offers"],
        "decision": "granted",
        "mechanism": "opt_in_checkbox",
        "jurisdiction": "EU",
        "notice_version": version[:16],
        "channel": "signup",
        "evidence": {"ip": "198.51.100.9", "user_agent": "UA"},
    }
    r = client.post("/v1/consent/events", headers=svc, json=body)
    assert r.status_code == 201, r.text
    events = r.json()["events"]
    assert [e["purpose"] for e in events] == ["personalization", "targeted_offers"]
    assert all(e["valid"] and e["notice_version"] == version for e in events)
    check = {
        "subject": "cust-1",
        "purpose": "personalization",
        "data_categories": ["user.behavior.purchase_history"],
        "jurisdiction": "EU",
    }
    p = client.post("/v1/consent/check", headers=svc, json=check).json()
    assert p["allowed"] and p["evidence_event_ids"] == [events[0]["id"]]
    state = client.get("/v1/consent/subjects/cust-1", headers=keys["support"]).json()["purposes"]
    assert state["personalization"]["decision"] == "granted"
    proof = client.get("/v1/consent/subjects/cust-1/proof", headers=keys["support"]).json()
    assert len(proof["events"]) == 2 and version in proof["notices"]
    html = client.get(
        "/v1/consent/subjects/cust-1/proof", params={"format": "html"}, headers=keys["support"]
    )
    assert html.headers["content-type"].startswith("text/html") and "Proof of consent" in html.text
    # Analysts get aggregates only.
    assert client.get("/v1/consent/subjects/cust-1", headers=keys["analyst"]).status_code == 403
    stats = client.get("/v1/consent/stats", headers=keys["analyst"]).json()
    assert sum(row["granted"] for row in stats) == 2


def test_sec_gpc_header_in_california(api: tuple[TestClient, dict[str, dict[str, str]]]) -> None:
    client, keys = api
    body = {
        "subject": "cust-2",
        "purposes": ["analytics"],
        "decision": "denied",
        "mechanism": "api",
        "jurisdiction": "US-CA",
    }
    r = client.post("/v1/consent/events", headers={**keys["service"], "Sec-GPC": "1"}, json=body)
    assert r.status_code == 201
    out = r.json()
    assert "targeted_offers" in out["gpc_applied"]
    check = {"subject": "cust-2", "purpose": "targeted_offers", "jurisdiction": "US-CA"}
    p = client.post("/v1/consent/check", headers=keys["service"], json=check).json()
    assert not p["allowed"] and "gpc_signal" in p["reason"]


@pytest.mark.parametrize(
    ("change", "expect"),
    [
        ({"purposes": ["telepathy"]}, "unknown purpose 'telepathy'"),
        ({"jurisdiction": "<x>"}, "jurisdiction"),
        ({"mechanism": "carrier_pigeon"}, "mechanism"),
        ({"decision": "maybe"}, "decision"),
        ({"notice_version": None}, "notice version"),
        ({"notice_version": "ab" * 8}, "no notice version"),
        ({"extra": 1}, "extra"),
    ],
)
def test_bad_events_get_clear_422(
    api: tuple[TestClient, dict[str, dict[str, str]]], change: dict[str, object], expect: str
) -> None:
    client, keys = api
    body = {
        "subject": "c",
        "purposes": ["personalization"],
        "decision": "granted",
        "mechanism": "opt_in_checkbox",
        "jurisdiction": "EU",
        "notice_version": "ab" * 8,
    }
    body.update(change)
    r = client.post("/v1/consent/events", headers=keys["service"], json=body)
    assert r.status_code in (404, 422), r.text
    assert expect in r.text
    assert "Traceback" not in r.text
