"""Algorithmic impact assessments: EU AI Act screening from the rule pack (tiers, dates that can
be overridden, unconfirmed ones marked), reviewer approval with conditions bound to content, the
latest fairness audit attached, and the AIA checks."""

from __future__ import annotations

from datetime import date

import pytest

from trustcart.assessments import AiaRecord, Records, screen_ai_act
from trustcart.compliance import scan_datamap
from trustcart.errors import ValidationError
from trustcart.rules import load_rules

RULES = load_rules()


def test_creditworthiness_is_high_risk_from_the_annex_iii_date() -> None:
    before = screen_ai_act(RULES, ["creditworthiness"], on=date(2026, 8, 1))
    after = screen_ai_act(RULES, ["creditworthiness"], on=date(2026, 8, 2))
    assert before.tier == after.tier == "high"
    (u,) = after.use_cases
    assert (u.citation, u.applies_from, u.in_force) == (
        "EU AI Act Annex III 5(b)",
        date(2026, 8, 2),
        True,
    )
    assert not before.use_cases[0].in_force
    assert any("applies from 2026-08-02" in n for n in before.notes)
    # the proposed postponement is shown, marked unconfirmed
    assert any("2027-12-02" in n and "unconfirmed" in n for n in after.notes)


def test_annex_iii_date_is_configurable() -> None:
    moved = screen_ai_act(
        RULES, ["creditworthiness"], on=date(2026, 9, 1), dates={"annex_iii": date(2027, 12, 2)}
    )
    (u,) = moved.use_cases
    assert (u.applies_from, u.applies_from_confidence, u.in_force) == (
        date(2027, 12, 2),
        "overridden",
        False,
    )
    with pytest.raises(ValidationError, match="unknown AI Act date"):
        screen_ai_act(
            RULES, ["creditworthiness"], on=date(2026, 9, 1), dates={"nope": date.today()}
        )


def test_profiling_annex_iii_system_is_always_high() -> None:
    s = screen_ai_act(RULES, ["creditworthiness"], profiling=True, on=date(2026, 9, 1))
    assert s.profiling_always_high and any("Art. 6(3)" in n for n in s.notes)
    assert not screen_ai_act(
        RULES, ["recommender"], profiling=True, on=date(2026, 9, 1)
    ).profiling_always_high


@pytest.mark.parametrize(
    ("use_cases", "tier"),
    [
        (["recommender"], "minimal"),
        (["personalised_pricing"], "minimal"),
        (["art50_transparency", "recommender"], "limited"),
        (["recommender", "creditworthiness"], "high"),
        (["creditworthiness", "manipulative_techniques"], "prohibited"),
        (["exploits_vulnerabilities"], "prohibited"),
    ],
)
def test_most_severe_tier_wins(use_cases: list[str], tier: str) -> None:
    assert screen_ai_act(RULES, use_cases, on=date(2026, 9, 1)).tier == tier


def test_unconfirmed_use_cases_are_marked() -> None:
    s = screen_ai_act(RULES, ["art50_transparency", "recommender"], on=date(2026, 9, 1))
    assert {u.key: u.confidence for u in s.use_cases} == {
        "art50_transparency": "unconfirmed",
        "recommender": "confirmed",
    }


def test_unknown_use_case() -> None:
    with pytest.raises(ValidationError, match="unknown AI Act use case"):
        screen_ai_act(RULES, ["chatbot"], on=date(2026, 9, 1))


def aia(**update: object) -> AiaRecord:
    base: dict[str, object] = {
        "key": "a1",
        "model": "pricing",
        "description": "prices",
        "explanation_method": "TreeSHAP",
        "human_oversight": "analyst",
        "contestation_channel": "support",
        "use_cases": ["personalised_pricing"],
    }
    return AiaRecord.model_validate({**base, **update})


def aia_findings(*records: AiaRecord) -> set[tuple[str, str, str]]:
    from _paths import SHOP
    from trustcart.catalog import load_manifest

    result = scan_datamap(
        load_manifest(SHOP),
        records=Records(aias=list(records)),
        on=date(2026, 12, 1),
        areas=["aia"],
    )
    return {(f.check, f.object, f.severity) for f in result.findings}


def test_aia_checks_without_store() -> None:
    assert aia_findings(aia()) == {("TC-AIA-002", "aia:a1", "medium")}
    approved = aia(approval={"by": "Ethics", "decided_on": "2026-10-01", "decision": "approved"})
    assert aia_findings(approved) == set()
    rejected = aia(approval={"by": "Ethics", "decided_on": "2026-10-01", "decision": "rejected"})
    assert aia_findings(rejected) == {("TC-AIA-002", "aia:a1", "medium")}
    credit = aia(use_cases=["creditworthiness"])
    assert aia_findings(credit) == {("TC-AIA-002", "aia:a1", "high")}
    banned = aia(
        use_cases=["manipulative_techniques"],
        approval={"by": "Ethics", "decided_on": "2026-10-01", "decision": "approved"},
    )
    assert aia_findings(banned) == {("TC-AIA-002", "aia:a1", "high")}


def test_approval_binds_to_content() -> None:
    a = aia()
    approved = AiaRecord.model_validate(
        {
            **a.model_dump(),
            "approval": {
                "by": "E",
                "decided_on": "2026-10-01",
                "decision": "approved",
                "content_sha256": a.content_hash(),
            },
        }
    )
    assert approved.approved
    changed = AiaRecord.model_validate({**approved.model_dump(), "human_oversight": "none"})
    assert not changed.approved
