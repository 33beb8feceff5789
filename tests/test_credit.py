"""Checkout financing (``credit``): ECOA / Reg B refusal, adverse-action reasons, human
oversight, vulnerable-segment blocking, approval-rate audits, HTTP. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from _credit_fixtures import (
    CREDIT_COLUMNS,
    PURPOSE,
    approve,
    credit_frame,
    financing_consent,
    load_aia,
)
from trustcart.api.app import create_app
from trustcart.cli import app as cli
from trustcart.compliance import scan
from trustcart.consent import ConsentService
from trustcart.errors import Conflict, ValidationError
from trustcart.gateway import (
    CreditModelRefused,
    FeatureSpec,
    Gateway,
    OfferGuardrail,
    OfferRules,
    default_reasons,
    register_proxy,
)
from trustcart.governance import HumanOversightRequired, approve_model, create_key
from trustcart.governance.users import create_user
from trustcart.models import LogisticCredit, TrainedModel, serve_registered, train_model
from trustcart.workspace import Workspace

FEATURES = [f"{c}=financing_history.{c}" for c in CREDIT_COLUMNS]
POOR = {
    "orders_last_year": 0,
    "account_age_months": 2,
    "late_payments": 4,
    "returns_ratio": 0.9,
    "open_financing": 3,
}
GOOD = {
    "orders_last_year": 12,
    "account_age_months": 50,
    "late_payments": 0,
    "returns_ratio": 0.1,
    "open_financing": 0,
}


@pytest.fixture
def svc(workspace: Workspace) -> ConsentService:
    return financing_consent(workspace)


@pytest.fixture
def trained(workspace: Workspace, svc: ConsentService, tmp_path: Path) -> TrainedModel:
    _, path = credit_frame(tmp_path)
    return train_model(
        workspace, "credit", path, target="repaid", features=FEATURES, purpose=PURPOSE,
        consent=svc,
    )  # fmt: skip


@pytest.fixture
def gw(workspace: Workspace, svc: ConsentService, trained: TrainedModel) -> Iterator[Gateway]:
    approve(workspace, trained.record.name, trained.record.version)
    g = Gateway(workspace, consent=svc, commit="sync", max_staleness=0)
    g.register("credit", trained.model)
    try:
        yield g
    finally:
        g.close()


def _declared(model: LogisticCredit, extra: FeatureSpec) -> LogisticCredit:
    """The trained model declaring one more feature (coefficient 0): the gateway must judge the
    declaration, whatever the weight."""
    return LogisticCredit(
        [*model.coef, 0.0], model.intercept, [*model.baseline, 0.0],
        [*model.features, extra], name="credit-x", version="x1",
    )  # fmt: skip


# -- ECOA / Reg B: a credit model given a protected attribute refuses to serve -------------------
def test_credit_model_declaring_a_protected_attribute_refuses_to_serve(
    workspace: Workspace, svc: ConsentService, trained: TrainedModel
) -> None:
    model = trained.model
    assert isinstance(model, LogisticCredit)
    g = Gateway(workspace, consent=svc, commit="sync", max_staleness=0)
    try:
        age = FeatureSpec("age_band", PURPOSE, ("user.demographic.age_range",))
        with pytest.raises(CreditModelRefused) as exc:
            g.register("credit", _declared(model, age), serve=False)
        assert exc.value.status == 409 and exc.value.code == "credit_model_refused"
        assert "refuses to serve" in exc.value.message
        assert exc.value.details["features"][0]["characteristic"] == "age"
        assert "12 CFR 1002.4" in exc.value.details["features"][0]["citation"]
        # named outright, whatever category it claims (public-assistance income, ECOA (a)(2))
        benefits = FeatureSpec("benefits_income", PURPOSE, ("user.behavior.purchase_history",))
        with pytest.raises(CreditModelRefused, match="public assistance"):
            g.register("credit", _declared(model, benefits), serve=False)
        # the same declaration for an *offer* model is dropped, not refused (other kinds)
        g.register("offer", _declared(model, age), serve=False)
    finally:
        g.close()
    # and the training command refuses it before a model learns from it
    df, path = credit_frame(Path(workspace.root))
    df["marital_status"] = 1.0
    df.to_parquet(path)
    with pytest.raises(CreditModelRefused, match="marital status"):
        train_model(
            workspace, "credit", path, target="repaid",
            features=[*FEATURES, "marital_status=user.behavior.purchase_history"],
            purpose=PURPOSE, consent=svc,
        )  # fmt: skip


def test_a_proxy_registered_later_makes_the_credit_model_refuse_each_decision(
    gw: Gateway,
) -> None:
    before = gw.store.log("decisions").head()
    register_proxy(gw.store, "returns_ratio", "correlates with age band (audit)", "audit aud_1")
    with pytest.raises(CreditModelRefused) as exc:
        gw.decide("credit", "c-1", GOOD)
    assert [f["feature"] for f in exc.value.details["features"]] == ["returns_ratio"]
    assert (
        gw.store.log("decisions").head() == before
    )  # refused: nothing logged, nothing silently dropped


# -- adverse action -------------------------------------------------------------------------------
def test_adverse_action_reasons_are_the_largest_negative_attributions(
    gw: Gateway, trained: TrainedModel, workspace: Workspace
) -> None:
    model = trained.model
    assert isinstance(model, LogisticCredit)
    d = gw.decide("credit", "c-poor", POOR, list_price="120")
    assert d.output["status"] == "declined" and d.output["approved"] is False
    # independent computation: coef · (x − training mean), most negative first, top 4
    x = np.array([POOR[n] for n in model.names], dtype=float)
    effects = np.array(model.coef) * (x - np.array(model.baseline))
    order = [model.names[i] for i in np.argsort(effects) if effects[i] < 0][:4]
    reasons = d.output["adverse_action"]
    assert [r["feature"] for r in reasons] == order
    assert [r["effect"] for r in reasons] == pytest.approx(sorted(e for e in effects if e < 0)[:4])
    table = default_reasons()
    assert [r["text"] for r in reasons] == [table[f] for f in order]
    # the shopper sees the same statements in the explanation
    exp = gw.explanation(d.id)
    assert exp["adverse_action"] == reasons
    assert exp["text"].startswith("financing declined; principal reasons: " + table[order[0]])
    # over HTTP too: stored in the decision's output
    assert gw.get(d.id)["output"]["adverse_action"] == reasons
    # an approved request states no reasons
    ok = gw.decide("credit", "c-good", GOOD, list_price="50")
    assert ok.output["status"] == "approved" and ok.output["adverse_action"] == []
    assert gw.explanation(ok.id)["text"].startswith("financing approved up to")


def test_reason_statements_are_overridable_in_the_workspace(
    workspace: Workspace, svc: ConsentService, trained: TrainedModel
) -> None:
    (workspace.root / "guardrails.yaml").write_text(
        "credit:\n  max_reasons: 2\n  reasons:\n    late_payments: Recent late payments\n"
    )
    approve(workspace, trained.record.name, trained.record.version)
    with Gateway(workspace, consent=svc, commit="sync", max_staleness=0) as g:
        g.register("credit", trained.model)
        d = g.decide("credit", "c-poor", POOR)
    reasons = d.output["adverse_action"]
    assert len(reasons) == 2
    assert reasons[0] == {**reasons[0], "feature": "late_payments", "text": "Recent late payments"}


# -- human oversight ------------------------------------------------------------------------------
def test_human_oversight_gate_blocks_an_unapproved_version_and_allows_it_after_approval(
    workspace: Workspace, svc: ConsentService, trained: TrainedModel
) -> None:
    name, version = trained.record.name, trained.record.version
    g = Gateway(workspace, consent=svc, commit="sync", max_staleness=0)
    try:
        assert serve_registered(g, workspace) == {}
        with pytest.raises(Conflict) as exc:  # serving left the kind unavailable, saying why
            g.decide("credit", "c-1", GOOD)
        assert exc.value.status == 409 and "no human-oversight approval" in exc.value.message
        with pytest.raises(HumanOversightRequired):  # registering it directly: the gate itself
            g.register("credit", trained.model)
        # an analyst is not an oversight role; an AIA without creditworthiness is refused
        create_user(workspace.store, username="ana", role="analyst", password="x" * 16)
        with pytest.raises(ValidationError, match="role 'analyst'"):
            approve_model(workspace.store, name, version, reviewer="ana")
        create_user(workspace.store, username="lena", role="dpo", password="y" * 16)
        with pytest.raises(ValidationError, match="no algorithmic impact assessment"):
            approve_model(workspace.store, name, version, reviewer="lena")
        load_aia(workspace, name, use_cases="personalised_pricing")
        with pytest.raises(ValidationError, match="creditworthiness"):
            approve_model(workspace.store, name, version, reviewer="lena")
        load_aia(workspace, name)
        rec = approve_model(workspace.store, name, version, reviewer="lena")
        assert rec.role == "dpo" and rec.screening["tier"] == "high"
        assert any(u["citation"] == "EU AI Act Annex III 5(b)" for u in rec.screening["use_cases"])
        assert serve_registered(g, workspace) == {"credit": trained.record.ref}
        assert g.decide("credit", "c-1", GOOD).output["status"] == "approved"
        # a later rejection stops the version at the next registration
        approve_model(workspace.store, name, version, reviewer="lena", decision="rejected",
                      notes="limits too generous")  # fmt: skip
        with pytest.raises(HumanOversightRequired, match="limits too generous"):
            g.register("credit", trained.model)
    finally:
        g.close()
    logged = [e.payload["action"] for e in workspace.store.log("admin")]
    assert logged.count("oversight.decided") == 2
    # the setting switches the gate off (configurable, default on)
    assert workspace.settings.human_oversight_kinds == ["credit"]


# -- vulnerable segments --------------------------------------------------------------------------
def test_vulnerable_segment_credit_is_blocked_recorded_and_reported(
    gw: Gateway, workspace: Workspace
) -> None:
    d = gw.decide("credit", "c-young", {**GOOD, "is_minor": True}, list_price="50")
    assert d.output["status"] == "blocked" and d.output["approved"] is None
    assert d.output["blocked"]["segment"] == "minors"
    assert "Art. 5(1)(b)" in d.output["blocked"]["citation"]
    [action] = d.guardrails
    assert action["guardrail"] == "vulnerable_segment" and "Art. 5(1)(b)" in action["reason"]
    assert d.inputs == {} and d.output["score"] is None  # the model never saw them
    assert "no financing offered" in gw.explanation(d.id)["text"]
    gw.decide("credit", "c-2", {**GOOD, "financial_distress": "yes"})
    gw.decide("credit", "c-3", {**GOOD, "is_minor": False})  # not blocked
    found = [
        (f.object, f.message) for f in scan(workspace, areas=["gateway"]).findings
        if f.check == "TC-GW-003"
    ]  # fmt: skip
    assert [o for o, _ in found] == ["segment:financial_distress", "segment:minors"]
    assert found[1][1].startswith("1 credit decision(s)")
    with pytest.raises(ValidationError, match="is a flag"):
        gw.decide("credit", "c-4", {**GOOD, "is_minor": "maybe"})


def test_vulnerable_segment_high_pressure_offer_is_blocked(
    workspace: Workspace, svc: ConsentService, trained: TrainedModel
) -> None:
    rules = OfferRules(offer="last-chance-bnpl", threshold=0.0, high_pressure=True)
    with Gateway(workspace, consent=svc, commit="sync", max_staleness=0, offer_rules=rules) as g:
        g.register("offer", trained.model)  # any score model: threshold 0 offers to everyone
        blocked = g.decide("offer", "c-1", {**GOOD, "financial_distress": True})
        made = g.decide("offer", "c-2", {**GOOD, "financial_distress": False})
    assert blocked.output["offer"] is None and blocked.output["blocked"]["segment"] == (
        "financial_distress"
    )
    assert blocked.guardrails[0]["guardrail"] == "vulnerable_segment"
    assert made.output["offer"] == "last-chance-bnpl"
    # the same person gets an ordinary (not high-pressure) offer
    with Gateway(workspace, consent=svc, commit="sync", max_staleness=0,
                 offer_rules=OfferRules(threshold=0.0)) as g:  # fmt: skip
        g.register("offer", trained.model)
        assert g.decide("offer", "c-1", {**GOOD, "financial_distress": True}).output["offer"]


def test_audience_exclusion_is_overridden_beyond_the_configured_disparity(
    workspace: Workspace, svc: ConsentService, trained: TrainedModel
) -> None:
    rules = OfferRules(threshold=0.0, audience_key="in_audience")
    guard = OfferGuardrail(group_key="age_band", min_rate_ratio=0.8, min_decisions=5)
    with Gateway(workspace, consent=svc, commit="sync", max_staleness=0, offer_rules=rules,
                 offer_guardrail=guard) as g:  # fmt: skip
        g.register("offer", trained.model)
        for i in range(6):  # group A: always in the audience -> offer
            g.decide("offer", f"a{i}", {**GOOD, "in_audience": True, "age_band": "A"})
        outs = [
            g.decide("offer", f"b{i}", {**GOOD, "in_audience": False, "age_band": "B"})
            for i in range(8)
        ]
    # the first 5 exclusions stand (too few decisions to judge), then B's rate 0 < 0.8 × 1
    assert [o.output["offer"] is not None for o in outs] == [False] * 5 + [True] * 3
    assert outs[5].output["answered_by"] == "audience"
    assert "audience's exclusion was overridden" in outs[5].guardrails[0]["reason"]
    assert "29 CFR 1607.4(D)" in outs[5].guardrails[0]["reason"]


def test_offer_disparity_counts_are_shared_by_every_process(
    workspace: Workspace, svc: ConsentService, trained: TrainedModel
) -> None:
    """Two API workers (two gateways on one store) judge the same rates: B's exclusions logged
    by one are counted by the other; a restarted process starts from the log."""
    from sqlalchemy import text

    rules = OfferRules(threshold=0.0, audience_key="in_audience")

    def worker() -> Gateway:
        guard = OfferGuardrail(group_key="age_band", min_rate_ratio=0.8, min_decisions=5)
        g = Gateway(workspace, consent=svc, commit="sync", max_staleness=0, offer_rules=rules,
                    offer_guardrail=guard)  # fmt: skip
        g.register("offer", trained.model)
        return g

    with worker() as one, worker() as two:
        for i in range(6):  # group A, always in the audience: offered (worker one)
            one.decide("offer", f"a{i}", {**GOOD, "in_audience": True, "age_band": "A"})
        excluded = [  # group B excluded five times (worker two, which took no A decision)
            two.decide("offer", f"b{i}", {**GOOD, "in_audience": False, "age_band": "B"})
            for i in range(5)
        ]
        assert [o.output["offer"] for o in excluded] == [None] * 5
        # worker one never saw B itself, yet knows B is at 0/5 against A's 6/6
        nxt = one.decide("offer", "b5", {**GOOD, "in_audience": False, "age_band": "B"})
        assert nxt.output["offer"] is not None
        assert nxt.guardrails[0]["guardrail"] == "offer_disparity"
    with worker() as restarted:  # a new process: the counts come from the log
        d = restarted.decide("offer", "b6", {**GOOD, "in_audience": False, "age_band": "B"})
        assert d.output["offer"] is not None
        # independent count over the decisions table
        with workspace.store.read() as conn:
            rows = conn.execute(
                text("SELECT \"group\", output FROM decisions WHERE kind = 'offer'")
            ).all()
        expected: dict[str, list[int]] = {}
        for group, output in rows:
            out = json.loads(output)
            if out["answered_by"] in ("model", "audience"):
                e = expected.setdefault(group, [0, 0])
                e[0] += 1
                e[1] += out["offer"] is not None
        assert expected == {"A": [6, 6], "B": [7, 2]}
        # every decision but the one just taken is in the log-derived counts
        restarted.reload()
        assert restarted.offer_guardrail.counts() == {"A": (6, 6), "B": (7, 2)}


# -- audit of approval rates and limits by group -------------------------------------------------
def test_credit_approval_rates_and_limits_audit_by_group(
    workspace: Workspace, svc: ConsentService, trained: TrainedModel, tmp_path: Path
) -> None:
    (workspace.root / "guardrails.yaml").write_text("credit:\n  group_key: age_band\n")
    approve(workspace, trained.record.name, trained.record.version)
    df = pd.read_parquet(tmp_path / "financing.parquet").head(120)
    taken = []
    with Gateway(workspace, consent=svc, commit="sync", max_staleness=0) as g:
        g.register("credit", trained.model)
        for i, row in enumerate(df.itertuples()):
            ctx: dict[str, Any] = {c: float(getattr(row, c)) for c in CREDIT_COLUMNS}
            d = g.decide("credit", f"s{i}", {**ctx, "age_band": row.age_band}, list_price="150")
            taken.append((row.age_band, d.output["approved"], float(d.output["limit"])))
        g.decide("credit", "minor", {**GOOD, "is_minor": True, "age_band": "18-29"})
    expected = pd.DataFrame(taken, columns=["g", "approved", "limit"]).groupby("g")
    w = ["-w", str(workspace.root)]
    res = CliRunner().invoke(
        cli, [*w, "audit", "decisions:credit", "--kind", "binary", "--outcome", "approved",
              "--group", "fairness_group", "--min-group-size", "1", "--format", "json"],
    )  # fmt: skip
    assert res.exit_code in (0, 1), res.output
    out = json.loads(res.stdout)
    rates = {c["group"]["fairness_group"]: c["selection_rate"] for c in out["groups"]}
    assert rates == pytest.approx(expected["approved"].mean().astype(float).to_dict())
    # the blocked minor has no approval outcome (NULL), not a decline: excluded, not counted
    assert out["excluded"] == 1 and out["rows"] == len(taken) + 1
    res = CliRunner().invoke(
        cli, [*w, "audit", "decisions:credit", "--kind", "continuous", "--outcome",
              "credit_limit", "--group", "fairness_group", "--min-group-size", "1",
              "--format", "json"],
    )  # fmt: skip
    means = {c["group"]["fairness_group"]: c["mean"] for c in json.loads(res.stdout)["groups"]}
    assert means == pytest.approx(expected["limit"].mean().to_dict())


# -- HTTP -----------------------------------------------------------------------------------------
def test_http_credit_decisions_and_4xx_on_bad_input(
    workspace: Workspace, svc: ConsentService, trained: TrainedModel
) -> None:
    headers = {
        "Authorization": f"Bearer {create_key(workspace.store, role='service', name='s')[0]}"
    }
    with TestClient(create_app(workspace), raise_server_exceptions=False) as c:
        r = c.post("/v1/decisions/credit", headers=headers, json={"subject": "c", "context": GOOD})
        assert r.status_code == 409 and "human-oversight approval" in r.json()["message"]
    approve(workspace, trained.record.name, trained.record.version)
    app = create_app(workspace)
    with TestClient(app, raise_server_exceptions=False) as c:
        post = lambda body: c.post("/v1/decisions/credit", headers=headers, json=body)  # noqa: E731
        r = post({"subject": "c-1", "context": POOR, "list_price": "99.90"})
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["output"]["status"] == "declined" and body["output"]["adverse_action"]
        bad = [
            {"subject": "c", "context": {**GOOD, "age": 42}},  # undeclared (protected) input
            {"subject": "c", "context": {**GOOD, "is_minor": "perhaps"}},
            {"subject": "c", "context": {**GOOD, "late_payments": "many"}},
            {"subject": "c", "context": GOOD, "list_price": "-5"},
            {"subject": "c", "context": GOOD, "currency": "euro"},
            {"context": GOOD},
        ]
        for b in bad:
            r = post(b)
            assert r.status_code == 422, (b, r.text)
            assert set(r.json()) >= {"error", "message"}
        minor = post({"subject": "c-2", "context": {**GOOD, "is_minor": 1}})
        assert minor.status_code == 201 and minor.json()["output"]["status"] == "blocked"
        assert (
            c.post("/v1/decisions/credit", json={"subject": "c", "context": GOOD}).status_code
            == 401
        )


def test_oversight_cli(workspace: Workspace, trained: TrainedModel) -> None:
    name, version = trained.record.name, trained.record.version
    w = ["-w", str(workspace.root)]
    runner = CliRunner()
    res = runner.invoke(cli, [*w, "oversight", "status", name, version])
    assert res.exit_code == 1 and "no oversight decision" in res.stdout
    create_user(workspace.store, username="lena", role="dpo", password="y" * 16)
    load_aia(workspace, name)
    res = runner.invoke(cli, [*w, "oversight", "approve", name, version, "--reviewer", "nobody"])
    assert res.exit_code == 2 and "no active dashboard account" in " ".join(res.output.split())
    res = runner.invoke(cli, [*w, "oversight", "approve", name, version, "--reviewer", "lena"])
    assert res.exit_code == 0, res.output
    assert "AI Act tier high" in " ".join(res.output.split())  # rich wraps long lines
    res = runner.invoke(cli, [*w, "oversight", "status", name, version])
    assert res.exit_code == 0 and "approved by lena (dpo)" in " ".join(res.stdout.split())
    res = runner.invoke(cli, [*w, "oversight", "list", "--format", "json"])
    assert [r["decision"] for r in json.loads(res.stdout)] == ["approved"]
