"""Ethics reviews of model versions, their link to AIAs, and the gateway refusing (409) to serve
an unapproved version when the workspace requires approval. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from trustcart.api.app import create_app
from trustcart.assessments import load_records, load_records_file, save_records
from trustcart.catalog import load_manifest
from trustcart.catalog.repository import save_datamap
from trustcart.cli import app as cli
from trustcart.compliance import scan
from trustcart.consent import ConsentService
from trustcart.errors import ValidationError
from trustcart.gateway import Gateway, list_models
from trustcart.governance import (
    EthicsApprovalRequired,
    create_key,
    ethics_reviews,
    latest_review,
    review_model,
)
from trustcart.models import PopularityRecommender
from trustcart.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]


def _model(name: str, version: str) -> PopularityRecommender:
    """A model with no personal features, so the gateway's gating has nothing to say."""
    return PopularityRecommender({"a": 3, "b": 1}, name=name, version=version)


@pytest.fixture
def strict(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    """The same workspace, reopened with require_ethics_approval = true."""
    save_datamap(workspace.store, load_manifest(ROOT / "examples" / "shop.yaml"))
    monkeypatch.setenv("TRUSTCART_REQUIRE_ETHICS_APPROVAL", "true")
    ws = Workspace.open(workspace.root)
    try:
        yield ws
    finally:
        ws.close()


def test_decisions_need_reasons_or_conditions(workspace: Workspace) -> None:
    with pytest.raises(ValidationError, match="reasons"):
        review_model(workspace.store, "pricing", "4", decision="rejected", reviewer="EC")
    with pytest.raises(ValidationError, match="condition"):
        review_model(
            workspace.store, "pricing", "4", decision="approved_with_conditions", reviewer="EC"
        )
    with pytest.raises(ValidationError, match="only for"):
        review_model(
            workspace.store, "pricing", "4", decision="approved", reviewer="EC", conditions=["x"]
        )
    with pytest.raises(ValidationError, match="decision"):
        review_model(workspace.store, "pricing", "4", decision="fine", reviewer="EC")
    r = review_model(
        workspace.store,
        "pricing",
        "4",
        decision="rejected",
        reviewer="EC",
        reasons="Uses the shopper's postcode band, a proxy for ethnicity.",
    )
    assert not r.approves
    r2 = review_model(
        workspace.store,
        "pricing",
        "4",
        decision="approved_with_conditions",
        reviewer="EC",
        conditions=["Re-audit monthly", "  "],
    )
    assert r2.conditions == ["Re-audit monthly"] and r2.approves
    assert latest_review(workspace.store, "pricing", "4") == r2  # the newest counts
    assert latest_review(workspace.store, "pricing", "5") is None
    assert [x.decision for x in ethics_reviews(workspace.store, model="pricing")] == [
        "rejected",
        "approved_with_conditions",
    ]
    logged = [
        e.payload for e in workspace.store.log("admin") if e.payload["action"] == "ethics.reviewed"
    ]
    assert [p["review_id"] for p in logged] == [r.id, r2.id]


def test_review_links_and_updates_the_aia(workspace: Workspace) -> None:
    save_records(workspace.store, load_records_file(ROOT / "examples" / "records.yaml"))
    before = load_records(workspace.store).aia("aia-pricing")
    assert before is not None
    r = review_model(
        workspace.store,
        "pricing",
        "7",
        decision="rejected",
        reviewer="StyleSense ethics committee",
        reasons="Gap between neighbourhoods above the bound.",
        aia="aia-pricing",
    )
    after = load_records(workspace.store).aia("aia-pricing")
    assert after is not None and after.approval is not None
    assert after.approval.decision == "rejected" and not after.approved
    assert r.aia == "aia-pricing" and r.aia_sha256 == before.content_hash()
    with pytest.raises(ValidationError, match="assesses recommender"):
        review_model(
            workspace.store, "pricing", "7", decision="approved", reviewer="EC",
            aia="aia-recommender",
        )  # fmt: skip
    with pytest.raises(ValidationError, match="no AIA"):
        review_model(workspace.store, "pricing", "7", decision="approved", reviewer="EC", aia="x")


def test_gateway_refuses_unapproved_versions_when_required(strict: Workspace) -> None:
    consent = ConsentService(strict, max_staleness=0)
    gw = Gateway(strict, consent=consent, commit="sync", max_staleness=0)
    try:
        with pytest.raises(EthicsApprovalRequired) as exc:
            gw.register("recommend", _model("ranker", "1"))
        assert exc.value.status == 409 and exc.value.code == "ethics_approval_required"
        assert exc.value.details["decision"] is None
        assert "trustcart ethics review ranker 1" in exc.value.message
        assert list_models(strict.store) == []  # nothing was registered
        review_model(strict.store, "ranker", "1", decision="rejected", reviewer="EC",
                     reasons="No contestation channel.")  # fmt: skip
        with pytest.raises(EthicsApprovalRequired, match="No contestation channel"):
            gw.register("recommend", _model("ranker", "1"))
        review_model(strict.store, "ranker", "1", decision="approved", reviewer="EC")
        gw.register("recommend", _model("ranker", "1"))
        assert [(m.name, m.version) for m in list_models(strict.store)] == [("ranker", "1")]
        # Approval is per version: version 2 is refused until it is reviewed.
        with pytest.raises(EthicsApprovalRequired):
            gw.register("recommend", _model("ranker", "2"))
    finally:
        gw.close()


def test_without_the_setting_the_gateway_serves_and_the_scanner_flags(
    workspace: Workspace,
) -> None:
    save_datamap(workspace.store, load_manifest(ROOT / "examples" / "shop.yaml"))
    gw = Gateway(workspace, commit="sync", max_staleness=0)
    try:
        gw.register("recommend", _model("ranker", "1"))
        gw.register("recommend", _model("ranker", "2"))
    finally:
        gw.close()
    flagged = [f for f in scan(workspace, areas=["governance"]).findings if f.check == "TC-GOV-004"]
    assert [(f.object, f.severity) for f in flagged] == [("model:ranker@2", "medium")]
    review_model(workspace.store, "ranker", "2", decision="rejected", reviewer="EC", reasons="no")
    flagged = [f for f in scan(workspace, areas=["governance"]).findings if f.check == "TC-GOV-004"]
    assert [(f.object, f.severity) for f in flagged] == [("model:ranker@2", "high")]
    review_model(workspace.store, "ranker", "2", decision="approved", reviewer="EC")
    assert not [
        f for f in scan(workspace, areas=["governance"]).findings if f.check == "TC-GOV-004"
    ]


def test_ethics_reviews_over_the_api_and_cli(workspace: Workspace) -> None:
    ethics = {"Authorization": f"Bearer {create_key(workspace.store, role='ethics', name='ec')[0]}"}
    dpo = {"Authorization": f"Bearer {create_key(workspace.store, role='dpo', name='d')[0]}"}
    body = {"model": "pricing", "version": "3", "decision": "approved_with_conditions",
            "reviewer": "EC", "conditions": ["Keep the ±10% bound"]}  # fmt: skip
    with TestClient(create_app(workspace), raise_server_exceptions=False) as c:
        assert c.post("/v1/ethics/reviews", headers=dpo, json=body).status_code == 403
        r = c.post("/v1/ethics/reviews", headers=ethics, json=body)
        assert r.status_code == 201 and r.json()["conditions"] == ["Keep the ±10% bound"]
        r = c.post("/v1/ethics/reviews", headers=ethics, json={**body, "conditions": []})
        assert r.status_code == 422 and "condition" in r.json()["message"]
        listed = c.get("/v1/ethics/reviews", headers=dpo, params={"model": "pricing"}).json()
        assert [x["decision"] for x in listed] == ["approved_with_conditions"]
    runner = CliRunner()
    w = ["-w", str(workspace.root)]
    res = runner.invoke(cli, [*w, "ethics", "status", "pricing", "4"])
    assert res.exit_code == 1 and "no ethics review" in res.stdout
    res = runner.invoke(cli, [*w, "ethics", "review", "pricing", "4", "--decision", "rejected",
                              "--reviewer", "EC"])  # fmt: skip
    assert res.exit_code == 2 and "reasons" in res.output
    res = runner.invoke(cli, [*w, "ethics", "review", "pricing", "4", "--decision", "approved",
                              "--reviewer", "EC"])  # fmt: skip
    assert res.exit_code == 0, res.output
    res = runner.invoke(cli, [*w, "ethics", "status", "pricing", "4"])
    assert res.exit_code == 0 and "approved by EC" in res.stdout
