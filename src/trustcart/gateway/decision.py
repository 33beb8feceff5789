"""The decision record: everything needed to show later what was decided, from what, and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class DroppedFeature:
    """A feature the model did not get, the stage that removed it and the evidence."""

    feature: str
    stage: str  # "protected" | "proxy" | "consent"
    reason: str
    citation: str | None = None
    evidence_event_ids: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly view."""
        return {
            "feature": self.feature,
            "stage": self.stage,
            "reason": self.reason,
            "citation": self.citation,
            "evidence_event_ids": list(self.evidence_event_ids),
        }


@dataclass(frozen=True, slots=True)
class Disclosure:
    """Something the shop must tell the person alongside the answer."""

    code: str
    text: str
    citation: str

    def to_dict(self) -> dict[str, str]:
        """JSON-friendly view."""
        return {"code": self.code, "text": self.text, "citation": self.citation}


#: The parts of a decision that are about the person: sealed with the subject's key in the log
#: (inputs are personal data; consent evidence ids and consent reasons — which quote the
#: consent event's mechanism and date — link back to the consent ledger, keyed by the global
#: pseudonym; which features were used or dropped mirrors the person's consent choices).
PERSONAL_FIELDS = (
    "inputs",
    "features_used",
    "features_dropped",
    "features_missing",
    "consent_evidence",
    "fallback_reason",
)


def personal_part(
    inputs: dict[str, Any],
    features_used: list[str],
    features_dropped: list[DroppedFeature],
    features_missing: list[str],
    consent_evidence: list[str],
    fallback_reason: str | None,
) -> dict[str, Any]:
    """The :data:`PERSONAL_FIELDS` of a decision as logged (before sealing)."""
    return {
        "inputs": inputs,
        "features_used": features_used,
        "features_dropped": [d.to_dict() for d in features_dropped],
        "features_missing": features_missing,
        "consent_evidence": consent_evidence,
        "fallback_reason": fallback_reason,
    }


@dataclass(frozen=True)
class Decision:
    """One gateway decision. ``subject`` is the subject's vault token (``s_…``), never the raw
    id: it is derived from a per-subject random key, so erasing the key (crypto-shredding)
    leaves it linked to nobody.

    ``inputs`` holds the values of the features actually used (dropped values are not kept):
    with ``model`` + ``model_version`` they reproduce the output and its explanation.
    ``latency_us`` covers gating, model call, guardrails and sealing, not the log commit.
    ``group`` is the fairness group the guardrails used (kept in clear for audits).
    ``sealed`` is the :data:`PERSONAL_FIELDS` encrypted with the subject's key: the log keeps
    that instead of the fields themselves.
    """

    id: str
    kind: str
    subject: str
    jurisdiction: str
    model: str
    model_version: str
    personalised: bool
    output: dict[str, Any]
    features_used: list[str]
    inputs: dict[str, Any]
    features_dropped: list[DroppedFeature]
    features_missing: list[str]
    consent_evidence: list[str]
    fallback_reason: str | None
    guardrails: list[dict[str, Any]]
    disclosures: list[Disclosure]
    rules_version: str
    latency_us: int
    group: str | None = None
    sealed: str | None = None
    seq: int = 0
    created_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def clear(self) -> dict[str, Any]:
        """The audit part, logged in clear: what was decided, by which model, where, for which
        fairness group — nothing that leads back to the person once their key is gone."""
        return {
            "id": self.id,
            "kind": self.kind,
            "subject": self.subject,
            "jurisdiction": self.jurisdiction,
            "model": self.model,
            "model_version": self.model_version,
            "personalised": self.personalised,
            "output": self.output,
            "group": self.group,
            "guardrails": self.guardrails,
            "disclosures": [d.to_dict() for d in self.disclosures],
            "rules_version": self.rules_version,
            "latency_us": self.latency_us,
            **self.extra,
        }

    def personal(self) -> dict[str, Any]:
        """The part about the person (:data:`PERSONAL_FIELDS`), sealed in the log."""
        return personal_part(
            self.inputs,
            self.features_used,
            self.features_dropped,
            self.features_missing,
            self.consent_evidence,
            self.fallback_reason,
        )

    def payload(self) -> dict[str, Any]:
        """The log payload (what the hash chain covers): the clear part plus ``sealed``."""
        if self.sealed is None:
            raise ValueError("decision is not sealed: the gateway seals before logging")
        return {**self.clear(), "sealed": self.sealed}

    def to_dict(self) -> dict[str, Any]:
        """The readable record — clear and personal parts, position and time (API, CLI)."""
        out = {**self.clear(), **self.personal(), "erased": False}
        out["seq"] = self.seq
        out["created_at"] = self.created_at.isoformat() if self.created_at else None
        return out
