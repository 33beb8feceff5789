"""Access reviews and training records, and the scanner checks built on them (TC-GOV-001..003).
Due dates are checked against hand-computed dates; runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from trustcart.api.app import create_app
from trustcart.catalog import DataMap
from trustcart.cli import app as cli
from trustcart.clock import utcnow
from trustcart.compliance import scan
from trustcart.compliance.registry import CheckContext
from trustcart.compliance.scanner import run_checks
from trustcart.errors import (
    AuthenticationError,
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from trustcart.governance import (
    AccessPolicy,
    Role,
    Scope,
    access_reviews,
    authenticate,
    create_key,
    grant_status,
    record_access,
    record_training,
    review_access,
    training_gaps,
)
from trustcart.rules import load_rules
from trustcart.workspace import Workspace


def _findings(ws: Workspace, on_days: int = 0, **settings: object) -> list[tuple[str, str, str]]:
    ctx = CheckContext(
        datamap=DataMap(),
        rules=load_rules(),
        store=ws.store,
        on=utcnow().date() + timedelta(days=on_days),
        settings=ws.settings.model_copy(update=settings),
    )
    result = run_checks(ctx, areas=["governance"])
    return [(f.check, f.object, f.severity) for f in result.findings]


def test_review_due_dates_and_overdue(workspace: Workspace) -> None:
    today = utcnow().date()
    _, support = create_key(workspace.store, role="support", name="sam@shop.example")
    _, analyst = create_key(workspace.store, role="analyst", name="ana@shop.example")
    status = {g.key_id: g for g in grant_status(workspace.store, policy=AccessPolicy(30, 90))}
    assert status[support.id].due_on == today + timedelta(days=30)
    # support files contests for customers (review:contest) besides its consent/rights reads
    assert status[support.id].personal_scopes == ["consent:read", "decisions:read",
                                                  "rights:read", "rights:write",
                                                  "review:contest"]  # fmt: skip
    assert status[analyst.id].personal_scopes == [] and not status[support.id].overdue
    later = today + timedelta(days=31)
    status = {
        g.key_id: g for g in grant_status(workspace.store, policy=AccessPolicy(30, 90), on=later)
    }
    assert status[support.id].overdue and status[analyst.id].overdue
    # Re-approval moves the due date to the review day + the interval it was approved for.
    review_access(workspace.store, support.id, decision="approved", reviewer="DPO", review_days=60)
    status = {
        g.key_id: g for g in grant_status(workspace.store, policy=AccessPolicy(30, 90), on=later)
    }
    assert status[support.id].due_on == today + timedelta(days=60)
    assert not status[support.id].overdue and status[support.id].last_review is not None
    assert status[support.id].last_review.reviewer == "DPO"
    # The scanner says the same (analyst: low, since it holds no personal-data scope).
    found = _findings(workspace, on_days=31, access_review_days=30)
    assert ("TC-GOV-001", f"api_key:{analyst.id}", "low") in found
    assert not any(f[0] == "TC-GOV-001" and support.id in f[1] for f in found)
    assert not [f for f in _findings(workspace, on_days=29, access_review_days=30)
                if f[0] == "TC-GOV-001"]  # fmt: skip


def test_revoking_in_a_review_revokes_the_key(workspace: Workspace) -> None:
    secret, key = create_key(workspace.store, role="support", name="leaver@shop.example")
    _, dpo = create_key(workspace.store, role="dpo", name="dpo@shop.example")
    with pytest.raises(PermissionDenied):
        review_access(workspace.store, key.id, decision="approved", reviewer="x", actor=key.id)
    r = review_access(
        workspace.store, key.id, decision="revoked", reviewer="DPO", note="left", actor=dpo.id
    )
    assert r.next_due is None and r.note == "left"
    with pytest.raises(AuthenticationError, match="revoked"):
        authenticate(workspace.store, secret)
    with pytest.raises(Conflict):
        review_access(workspace.store, key.id, decision="approved", reviewer="DPO")
    with pytest.raises(NotFound):
        review_access(workspace.store, "key_nope", decision="approved", reviewer="DPO")
    with pytest.raises(ValidationError):
        review_access(workspace.store, dpo.id, decision="maybe", reviewer="DPO")
    actions = [e.payload for e in workspace.store.log("admin")]
    assert {"action": "access.reviewed", "decision": "revoked", "key_id": key.id,
            "review_id": r.id, "actor": dpo.id} in actions  # fmt: skip
    assert [a["action"] for a in actions][-2:] == ["api_key.revoked", "access.reviewed"]
    assert [x.decision for x in access_reviews(workspace.store, key.id)] == ["revoked"]


def test_unused_personal_data_grant(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    _, idle = create_key(workspace.store, role="support", name="idle@shop.example")
    busy_secret, busy = create_key(workspace.store, role="support", name="busy@shop.example")
    _, analyst = create_key(workspace.store, role="analyst", name="reports")
    # The busy key reads personal data 50 days from now (the log's clock is moved forward).
    import trustcart.store.hashlog as hashlog

    later = utcnow() + timedelta(days=50)
    monkeypatch.setattr(hashlog, "utcnow", lambda: later)
    record_access(
        workspace.store,
        authenticate(workspace.store, busy_secret),
        scope=Scope.CONSENT_READ,
        route="/v1/consent/subjects/{subject}",
        purpose="customer_support",
    )
    monkeypatch.undo()

    def unused(on_days: int) -> set[str]:
        found = _findings(workspace, on_days, unused_grant_days=90, access_review_days=3650)
        return {obj for check, obj, _ in found if check == "TC-GOV-002"}

    # 89 days after creation nothing is flagged; at 90 the idle key is (never used since
    # creation), the busy one not (last read 40 days before); at 140 both are.
    assert unused(89) == set()
    assert unused(90) == {f"api_key:{idle.id}"}
    assert unused(139) == {f"api_key:{idle.id}"}
    assert unused(140) == {f"api_key:{idle.id}", f"api_key:{busy.id}"}
    assert f"api_key:{analyst.id}" not in unused(1000)  # holds no personal-data scope


def test_training_gaps_missing_expired_and_who_needs_it(workspace: Workspace) -> None:
    today = utcnow().date()
    create_key(workspace.store, role="support", name="sam@shop.example")
    create_key(workspace.store, role="dpo", name="dana@shop.example")
    create_key(workspace.store, role="service", name="recommender")  # a machine
    create_key(workspace.store, role="analyst", name="ana@shop.example")  # no personal data
    record_training(workspace.store, "sam@shop.example", "privacy_law", today - timedelta(days=10))
    record_training(
        workspace.store,
        "sam@shop.example",
        "ethical_ai",
        today - timedelta(days=400),
        validity_days=365,
    )
    record_training(workspace.store, "dana@shop.example", "privacy_law", today, validity_days=30)
    required = ["privacy_law", "ethical_ai"]
    gaps = {(g.person, g.course): g for g in training_gaps(workspace.store, required=required)}
    assert set(gaps) == {("sam@shop.example", "ethical_ai"), ("dana@shop.example", "ethical_ai")}
    assert gaps[("sam@shop.example", "ethical_ai")].status == "expired"
    assert gaps[("sam@shop.example", "ethical_ai")].expired_on == today - timedelta(days=35)
    assert gaps[("dana@shop.example", "ethical_ai")].status == "missing"
    # Dana's privacy_law course expires in 30 days: on that day it no longer counts.
    later = training_gaps(workspace.store, required=required, on=today + timedelta(days=30))
    assert ("dana@shop.example", "privacy_law", "expired") in {
        (g.person, g.course, g.status) for g in later
    }
    # A renewal clears the gap.
    record_training(workspace.store, "sam@shop.example", "ethical_ai", today)
    assert ("sam@shop.example", "ethical_ai") not in {
        (g.person, g.course) for g in training_gaps(workspace.store, required=required)
    }
    result = scan(workspace, areas=["governance"])
    gov3 = [f for f in result.findings if f.check == "TC-GOV-003"]
    assert [(f.object, f.rule.startswith("EU AI Act (Reg. 2024/1689) Art. 4")) for f in gov3] == [
        ("person:dana@shop.example", True)
    ]
    with pytest.raises(ValidationError):
        record_training(workspace.store, "x", "Privacy Law", today)
    with pytest.raises(ValidationError):
        record_training(workspace.store, "x", "privacy_law", today + timedelta(days=1))
    with pytest.raises(ValidationError):
        record_training(workspace.store, "x", "privacy_law", today, expires_on=today)


def test_reviews_and_training_over_the_api_and_cli(workspace: Workspace) -> None:
    dpo_secret, dpo = create_key(workspace.store, role="dpo", name="dpo@shop.example")
    _, agent = create_key(workspace.store, role="support", name="sam@shop.example")
    auth = {"Authorization": f"Bearer {dpo_secret}"}
    with TestClient(create_app(workspace), raise_server_exceptions=False) as c:
        r = c.post(
            "/v1/access/reviews",
            headers=auth,
            json={"key_id": agent.id, "decision": "approved", "reviewer": "Dana (DPO)"},
        )
        assert r.status_code == 201, r.text
        assert r.json()["next_due"] == str(utcnow().date() + timedelta(days=90))
        r = c.post(
            "/v1/access/reviews",
            headers=auth,
            json={"key_id": dpo.id, "decision": "approved", "reviewer": "me"},
        )
        assert r.status_code == 403  # a key does not approve itself
        grants = {g["key_id"]: g for g in c.get("/v1/access/grants", headers=auth).json()}
        assert grants[agent.id]["last_review"]["reviewer"] == "Dana (DPO)"
        r = c.post(
            "/v1/training",
            headers=auth,
            json={"person": "sam@shop.example", "course": "privacy_law",
                  "completed_on": str(utcnow().date())},
        )  # fmt: skip
        assert r.status_code == 201, r.text
        gaps = c.get("/v1/training/gaps", headers=auth).json()
        assert {(g["person"], g["course"]) for g in gaps} == {
            ("sam@shop.example", "ethical_ai"),
            ("dpo@shop.example", "privacy_law"),
            ("dpo@shop.example", "ethical_ai"),
        }
        support = create_key(workspace.store, role=Role.SUPPORT.value, name="x")[0]
        r = c.post("/v1/training", headers={"Authorization": f"Bearer {support}"}, json={})
        assert r.status_code == 403
    runner = CliRunner()
    w = ["-w", str(workspace.root)]
    res = runner.invoke(cli, [*w, "training", "gaps"])
    assert res.exit_code == 1 and "ethical_ai" in res.stdout
    res = runner.invoke(
        cli, [*w, "access", "review", agent.id, "--decision", "revoked", "--reviewer", "DPO"]
    )
    assert res.exit_code == 0 and "revoked" in res.output
    res = runner.invoke(cli, [*w, "access", "grants", "-f", "json"])
    assert res.exit_code == 0 and agent.id not in res.stdout
    res = runner.invoke(
        cli, [*w, "training", "record", "x", "Bad Course", "--completed", "2026-01-01"]
    )
    assert res.exit_code == 2 and "course" in res.output
