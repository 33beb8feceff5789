"""Consent ledger and may_use on SQLite and PostgreSQL: every rule of the consent model."""

from __future__ import annotations

import multiprocessing
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from trustcart.catalog import load_manifest, parse_manifest
from trustcart.catalog.repository import save_datamap
from trustcart.clock import utcnow
from trustcart.consent import (
    CONSENT_LOG,
    ConsentEventIn,
    ConsentService,
    Decision,
    build_proof,
    consent_rates,
    datamap_notice,
    proof_html,
    register_notice,
)
from trustcart.errors import ValidationError
from trustcart.workspace import Workspace

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "shop.yaml"
PURCHASES = "user.behavior.purchase_history"


@pytest.fixture
def svc(workspace: Workspace) -> ConsentService:
    save_datamap(workspace.store, load_manifest(EXAMPLE))
    service = ConsentService(workspace, max_staleness=0)
    register_notice(workspace.store, **datamap_notice(service.datamap))
    service.reload()
    return service


def notice_of(svc: ConsentService) -> str:
    return svc._notices[-1].version


def grant(
    svc: ConsentService,
    subject: str,
    purposes: list[str],
    mechanism: str = "opt_in_checkbox",
    jurisdiction: str = "EU",
    **kw: object,
) -> object:
    return svc.record(
        ConsentEventIn(
            subject=subject,
            purposes=purposes,
            decision="granted",
            mechanism=mechanism,
            jurisdiction=jurisdiction,
            notice_version=notice_of(svc),
            **kw,
        )
    )


def test_eu_opt_in_grant_then_withdrawal(svc: ConsentService) -> None:
    assert not svc.may_use("c-1", "personalization", [PURCHASES], "EU")
    result = grant(svc, "c-1", ["personalization"])
    [event] = result.events
    assert event.valid and "GDPR" in event.validity
    p = svc.may_use("c-1", "personalization", [PURCHASES], "EU")
    assert p.allowed and p.legal_basis == "consent" and p.evidence_event_ids == (event.id,)
    svc.record(
        ConsentEventIn(
            subject="c-1",
            purposes=["personalization"],
            decision="withdrawn",
            mechanism="preference_center",
            jurisdiction="EU",
        )
    )
    p = svc.may_use("c-1", "personalization", [PURCHASES], "EU")
    assert not p.allowed and "withdrawn" in p.reason
    # A member state resolves to the EU rules.
    assert not svc.may_use("c-1", "personalization", [PURCHASES], "FR").allowed


def test_implied_banner_is_not_consent_under_gdpr(svc: ConsentService) -> None:
    result = grant(svc, "c-2", ["personalization"], mechanism="implied_banner")
    assert not result.events[0].valid
    assert "4(11)" in result.events[0].validity
    assert result.warnings
    p = svc.may_use("c-2", "personalization", [PURCHASES], "EU")
    assert not p.allowed and "not valid consent" in p.reason
    # The same banner under California's opt-out model needs no consent at all.
    assert svc.may_use("c-2", "personalization", [PURCHASES], "US-CA").allowed


def test_grant_needs_notice_and_known_purpose(svc: ConsentService) -> None:
    with pytest.raises(ValidationError, match="notice version"):
        svc.record(
            ConsentEventIn(
                subject="c",
                purposes=["personalization"],
                decision="granted",
                mechanism="opt_in_checkbox",
            )
        )
    with pytest.raises(ValidationError, match="unknown purpose 'telepathy'") as info:
        grant(svc, "c", ["telepathy"])
    assert "personalization" in info.value.details["valid_purposes"]
    # A fideslang data use names its purpose when unambiguous.
    [event] = grant(svc, "c", ["personalize.profiling"]).events
    assert event.purpose == "personalization"


def test_contract_basis_ignores_refusal_but_legitimate_interest_honours_objection(
    svc: ConsentService,
) -> None:
    for purpose in ("order_fulfilment", "fraud_detection"):
        svc.record(
            ConsentEventIn(
                subject="c-3",
                purposes=[purpose],
                decision="denied",
                mechanism="preference_center",
                jurisdiction="EU",
            )
        )
    assert svc.may_use("c-3", "order_fulfilment", [], "EU").allowed
    objection = svc.may_use("c-3", "fraud_detection", [], "EU")
    assert not objection.allowed and objection.legal_basis == "legitimate_interests"


def test_purpose_limitation_blocks_undeclared_categories(svc: ConsentService) -> None:
    grant(svc, "c-4", ["personalization"])
    p = svc.may_use("c-4", "personalization", ["user.financial.bank_account"], "EU")
    assert not p.allowed and "not declared" in p.reason


def test_gpc_header_opts_out_in_california_only(svc: ConsentService) -> None:
    result = svc.record(
        ConsentEventIn(
            subject="c-5",
            purposes=["analytics"],
            decision="denied",
            mechanism="api",
            jurisdiction="US-CA",
        ),
        gpc=True,
    )
    assert "targeted_offers" in result.gpc_applied
    gpc_events = [e for e in result.events if e.mechanism == "gpc_signal"]
    assert {e.purpose for e in gpc_events} == set(result.gpc_applied)
    assert all(e.decision is Decision.DENIED and "7025" in e.validity for e in gpc_events)
    assert not svc.may_use("c-5", "targeted_offers", [PURCHASES], "US-CA").allowed
    assert svc.may_use("c-6", "targeted_offers", [PURCHASES], "US-CA").allowed
    eu = svc.record(
        ConsentEventIn(
            subject="c-7",
            purposes=["analytics"],
            decision="denied",
            mechanism="api",
            jurisdiction="EU",
        ),
        gpc=True,
    )
    assert eu.gpc_applied == [] and any("GPC" in w for w in eu.warnings)


def test_reconsent_when_purpose_wording_changes(svc: ConsentService, workspace: Workspace) -> None:
    grant(svc, "c-8", ["personalization", "analytics"])
    assert svc.may_use("c-8", "personalization", [PURCHASES], "EU").allowed
    changed = EXAMPLE.read_text().replace(
        "based on what you browse and buy.", "based on what you browse, buy and return."
    )
    save_datamap(workspace.store, parse_manifest(changed))
    svc.reload()
    register_notice(
        workspace.store, **datamap_notice(svc.datamap), effective_at=utcnow() + timedelta(seconds=1)
    )
    svc.reload()
    later = utcnow() + timedelta(seconds=2)
    p = svc.may_use("c-8", "personalization", [PURCHASES], "EU", at=later)
    assert not p.allowed and "re-consent" in p.reason
    # Analytics wording did not change: its consent carries over.
    assert svc.may_use("c-8", "analytics", [], "EU", at=later).allowed


def test_time_travel_and_expiry(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUSTCART_CONSENT_MAX_AGE_DAYS", '{"EU": 30}')
    ws = Workspace.open(workspace.root)
    save_datamap(ws.store, load_manifest(EXAMPLE))
    svc = ConsentService(ws, max_staleness=0)
    register_notice(ws.store, **datamap_notice(svc.datamap))
    svc.reload()
    before = utcnow()
    grant(svc, "c-9", ["personalization"])
    assert not svc.may_use("c-9", "personalization", [], "EU", at=before).allowed
    assert svc.may_use("c-9", "personalization", [], "EU").allowed
    old = svc.may_use("c-9", "personalization", [], "EU", at=utcnow() + timedelta(days=31))
    assert not old.allowed and "30 days" in old.reason
    ws.close()


def _withdraw_in_other_process(root: str, db_url: str | None, subject: str) -> None:
    import os

    if db_url:
        os.environ["TRUSTCART_DATABASE_URL"] = db_url
    with Workspace.open(root) as ws:
        ConsentService(ws).record(
            ConsentEventIn(
                subject=subject,
                purposes=["personalization"],
                decision="withdrawn",
                mechanism="preference_center",
                jurisdiction="EU",
            )
        )


def test_other_process_writes_are_seen(
    svc: ConsentService, workspace: Workspace, db_url: str
) -> None:
    grant(svc, "c-10", ["personalization"])
    assert svc.may_use("c-10", "personalization", [], "EU").allowed
    ctx = multiprocessing.get_context("spawn")
    proc = ctx.Process(
        target=_withdraw_in_other_process,
        args=(str(workspace.root), None if db_url.startswith("sqlite") else db_url, "c-10"),
    )
    proc.start()
    proc.join(60)
    assert proc.exitcode == 0
    assert not svc.may_use("c-10", "personalization", [], "EU").allowed


def test_durable_projection_and_no_raw_identifiers(
    svc: ConsentService, workspace: Workspace
) -> None:
    grant(
        svc,
        "alice@example.com",
        ["personalization", "email_marketing"],
        evidence={"ip": "203.0.113.77", "user_agent": "Mozilla/5.0 Test"},
    )
    fresh = ConsentService(workspace)  # as after a restart: state comes from the database
    assert set(fresh.state("alice@example.com")) == {"personalization", "email_marketing"}
    with workspace.store.read() as conn:
        dump = " ".join(
            str(row)
            for t in ("consent_events", "consent_state", "log_entries")
            for row in conn.execute(text(f"SELECT * FROM {t}"))
        )
    assert "alice@example.com" not in dump
    assert "203.0.113.77" not in dump and "203.0.113.0/24" in dump
    assert "Mozilla" not in dump
    assert workspace.store.log(CONSENT_LOG).verify().ok


def test_proof_contains_events_notice_text_and_chain(svc: ConsentService) -> None:
    grant(svc, "c-11", ["personalization"])
    svc.record(
        ConsentEventIn(
            subject="c-11",
            purposes=["personalization"],
            decision="withdrawn",
            mechanism="preference_center",
            jurisdiction="EU",
        )
    )
    proof = build_proof(svc, "c-11")
    assert [e["decision"] for e in proof["events"]] == ["granted", "withdrawn"]
    [(version, notice)] = proof["notices"].items()
    assert "Personalised recommendations" in notice["text"]
    assert proof["ledger_verification"]["ok"]
    assert proof["events"][1]["ledger"]["prev_hash"] == proof["events"][0]["ledger"]["hash"]
    html = proof_html(proof)
    assert version in html and "chain intact" in html and "<script" not in html


def test_rates_match_an_independent_count(svc: ConsentService) -> None:
    for i in range(12):
        decision = "granted" if i % 3 else "denied"
        svc.record(
            ConsentEventIn(
                subject=f"s{i}",
                purposes=["personalization", "analytics"],
                decision=decision,
                mechanism="opt_in_checkbox" if i % 2 else "preference_center",
                jurisdiction="EU" if i < 8 else "BR",
                notice_version=notice_of(svc),
            )
        )
    rows = consent_rates(svc.store)
    events = [e for i in range(12) for e in svc.events(f"s{i}")]
    expected = Counter((e.purpose, e.jurisdiction, e.mechanism, e.decision.value) for e in events)
    got = Counter()
    for r in rows:
        for d in ("granted", "denied", "withdrawn"):
            if r[d]:
                got[(r["purpose"], r["jurisdiction"], r["mechanism"], d)] += r[d]
        assert r["grant_rate"] == round(r["granted"] / r["events"], 4)
    assert got == expected


def _add_purpose_in_other_process(root: str, db_url: str | None) -> None:
    import os

    if db_url:
        os.environ["TRUSTCART_DATABASE_URL"] = db_url
    extra = """
purposes:
  - key: size_advice
    name: Size advice
    description: Suggesting your size from your fit profile.
    data_use: personalize.profiling
    legal_basis: {EU: consent}
"""
    with Workspace.open(root) as ws:
        from trustcart.catalog.repository import load_datamap

        save_datamap(ws.store, parse_manifest(extra, context=load_datamap(ws.store)))


def test_other_process_data_map_changes_are_seen(
    svc: ConsentService, workspace: Workspace, db_url: str
) -> None:
    with pytest.raises(ValidationError, match="size_advice"):
        svc.may_use("c-12", "size_advice", [], "EU")
    ctx = multiprocessing.get_context("spawn")
    proc = ctx.Process(
        target=_add_purpose_in_other_process,
        args=(str(workspace.root), None if db_url.startswith("sqlite") else db_url),
    )
    proc.start()
    proc.join(60)
    assert proc.exitcode == 0
    p = svc.may_use("c-12", "size_advice", [], "EU")  # max_staleness=0: polled at once
    assert not p.allowed and "no consent recorded" in p.reason


def test_gpc_mechanism_records_each_covered_purpose_once(svc: ConsentService) -> None:
    result = svc.record(
        ConsentEventIn(
            subject="c-13",
            purposes=["targeted_offers", "analytics"],
            decision="denied",
            mechanism="gpc_signal",
            jurisdiction="US-CA",
        )
    )
    purposes = [e.purpose for e in result.events]
    assert len(purposes) == len(set(purposes))
    assert set(result.gpc_applied) <= set(purposes)
    assert "targeted_offers" in result.gpc_applied


@pytest.mark.parametrize(
    ("statement", "reason"),
    [
        ("UPDATE consent_events SET decision = 'granted' WHERE seq = 2", "decision differs"),
        ("DELETE FROM consent_events WHERE seq = 2", "deleted"),
        (
            "UPDATE consent_state SET decision = 'granted' WHERE decision = 'withdrawn'",
            "consent_state",
        ),
    ],
)
def test_edits_to_consent_tables_are_detected(
    svc: ConsentService, workspace: Workspace, statement: str, reason: str
) -> None:
    from trustcart.consent import verify_consent_copies

    grant(svc, "c-14", ["personalization"])
    svc.record(
        ConsentEventIn(
            subject="c-14",
            purposes=["personalization"],
            decision="withdrawn",
            mechanism="preference_center",
            jurisdiction="EU",
        )
    )
    assert verify_consent_copies(workspace.store).ok
    with workspace.store.write() as conn:
        conn.execute(text(statement))
    check = verify_consent_copies(workspace.store)
    assert not check.ok and reason in (check.reason or "")
    assert workspace.store.log(CONSENT_LOG).verify().ok  # the chain itself is untouched
