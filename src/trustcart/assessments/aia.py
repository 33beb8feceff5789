"""Algorithmic impact assessment (AIA) per model, with EU AI Act screening from rules data.

Why the screening reads dates at call time: the Annex III date may move (a proposed "Digital
Omnibus" would postpone it; unconfirmed), so the rule pack holds the dates with their
alternatives and a caller can override any of them (``dates={"annex_iii": date(2027, 12, 2)}``);
the result says which obligations apply on the day and which dates are unconfirmed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from trustcart.assessments.dpia import content_sha256
from trustcart.catalog.primitives import Key
from trustcart.errors import ValidationError
from trustcart.rules.assessment_rules import AiTier

if TYPE_CHECKING:
    from trustcart.rules import Rules
    from trustcart.store import Store

Decision = Literal["approved", "approved_with_conditions", "rejected"]
APPROVAL_FIELDS = ("approval",)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Approval(_Model):
    """A reviewer's decision on the AIA, with conditions, bound to the content it reviewed."""

    by: str
    role: Literal["ethics_committee"] = "ethics_committee"
    decided_on: date
    decision: Decision
    conditions: list[str] = Field(default_factory=list)
    content_sha256: str | None = None


class AiaRecord(_Model):
    """The assessment of one model (``model`` is the gateway model name)."""

    key: Key
    model: str
    version: str | None = None
    purpose: str | None = None
    description: str
    data: list[str] = Field(default_factory=list)
    explanation_method: str
    human_oversight: str
    contestation_channel: str
    use_cases: list[str] = Field(min_length=1)
    profiling: bool = False
    fairness_audit: str | None = None
    approval: Approval | None = None

    def content_hash(self) -> str:
        """What an approval binds to: the record without its approval."""
        return content_sha256(self.model_dump(mode="json"), exclude=APPROVAL_FIELDS)

    @property
    def approved(self) -> bool:
        """Approved (with or without conditions) and unchanged since."""
        a = self.approval
        return (
            a is not None
            and a.decision != "rejected"
            and a.content_sha256 in (None, self.content_hash())
        )


@dataclass(frozen=True)
class UseCaseResult:
    """A use case of the model and what it means under the AI Act on the day."""

    key: str
    label: str
    tier: AiTier
    citation: str
    confidence: str
    applies_from: date | None
    applies_from_confidence: str | None
    in_force: bool
    notes: str | None = None


@dataclass(frozen=True)
class AiActScreening:
    """The tier of a model and the obligations behind it."""

    tier: AiTier
    use_cases: list[UseCaseResult]
    profiling_always_high: bool
    on: date
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON view."""
        return {
            "tier": self.tier,
            "on": self.on.isoformat(),
            "profiling_always_high": self.profiling_always_high,
            "use_cases": [
                {
                    **u.__dict__,
                    "applies_from": u.applies_from.isoformat() if u.applies_from else None,
                }
                for u in self.use_cases
            ],
            "notes": self.notes,
        }


def unknown_use_cases(rules: Rules, keys: list[str]) -> list[str]:
    """Use-case keys the rule pack does not define."""
    ai = rules.require_ai_act()
    return [k for k in keys if ai.use_case(k) is None]


def screen_ai_act(
    rules: Rules,
    use_cases: list[str],
    *,
    profiling: bool = False,
    on: date,
    dates: Mapping[str, date] | None = None,
) -> AiActScreening:
    """Tier of a model with these use cases on the day ``on``; ``dates`` overrides milestones."""
    ai = rules.require_ai_act()
    unknown = unknown_use_cases(rules, use_cases)
    if unknown:
        known = ", ".join(u.key for u in ai.use_cases)
        raise ValidationError(
            f"unknown AI Act use case(s): {', '.join(unknown)}; known: {known}",
            details={"unknown": unknown},
        )
    bad_dates = [k for k in (dates or {}) if k not in ai.dates]
    if bad_dates:
        raise ValidationError(
            f"unknown AI Act date(s): {', '.join(bad_dates)}; known: {', '.join(ai.dates)}"
        )
    results: list[UseCaseResult] = []
    for key in use_cases:
        u = ai.use_case(key)
        assert u is not None
        when: date | None = None
        when_conf: str | None = None
        if u.applies_from is not None:
            milestone = ai.dates[u.applies_from]
            override = (dates or {}).get(u.applies_from)
            when = override or milestone.date
            when_conf = "overridden" if override else milestone.confidence
        results.append(
            UseCaseResult(
                u.key, u.label, u.tier, u.citation, u.confidence, when, when_conf,
                when is None or when <= on, u.notes,
            )
        )  # fmt: skip
    order = list(ai.tiers)
    tier: AiTier = min((r.tier for r in results), key=order.index, default="minimal")
    notes: list[str] = []
    always_high = False
    if tier == "high" and profiling:
        always_high = True
        notes.append(f"{ai.profiling_rule.citation}: {ai.profiling_rule.notes}")
    for r in results:
        if not r.in_force and r.applies_from is not None:
            notes.append(
                f"{r.citation} applies from {r.applies_from} ({r.applies_from_confidence})"
            )
    annex = ai.dates.get("annex_iii")
    if tier == "high" and annex is not None:
        for alt in annex.alternatives:
            notes.append(f"Annex III date may move to {alt.date}: {alt.label} ({alt.confidence})")
    return AiActScreening(tier, results, always_high, on, notes)


def latest_audit_for(store: Store, record: AiaRecord) -> dict[str, Any] | None:
    """The fairness audit to attach: the one the AIA names, else the newest stored one."""
    from trustcart.fairness.store import get_audit, list_audits

    if record.fairness_audit:
        return get_audit(store, record.fairness_audit)
    latest = list_audits(store, limit=1)
    return get_audit(store, str(latest[0]["id"])) if latest else None


def audit_summary(audit: dict[str, Any]) -> dict[str, Any]:
    """Id, date, source and finding counts by severity of a stored audit."""
    counts = {"high": 0, "medium": 0, "low": 0}
    for f in audit.get("result", {}).get("findings", []):
        sev = str(f.get("severity"))
        if sev in counts:
            counts[sev] += 1
    created = audit["created_at"]
    return {
        "id": audit["id"],
        "created_at": created.isoformat() if isinstance(created, date) else str(created),
        "kind": audit["kind"],
        "source": audit["source"],
        "findings": counts,
    }


def aia_document(
    record: AiaRecord, screening: AiActScreening, audit: dict[str, Any] | None
) -> dict[str, Any]:
    """An AIA with its AI Act screening and the fairness audit attached, as
    ``trustcart aia show --format json`` and ``GET /v1/aia/{key}`` answer it."""
    return {
        "aia": record.model_dump(mode="json"),
        "approved": record.approved,
        "ai_act": screening.to_dict(),
        "fairness_audit": audit_summary(audit) if audit else None,
    }
