"""Findings and scan results: what the scanner reports, and the score and gate derived from it.

Why a stable id: CI systems (GitHub code scanning, ticket trackers) match a finding across runs by
its id; it is a hash of the check id and the object the finding is about (plus, where one object
can break a check several ways, a discriminator such as the jurisdiction), so re-running a scan on
an unchanged workspace yields the same ids, and fixing one problem does not renumber the others.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Severity = Literal["low", "medium", "high"]
SEVERITIES: tuple[Severity, ...] = ("low", "medium", "high")
"""Ascending order: ``SEVERITIES.index`` compares severities."""

#: Points the score loses per finding (see :func:`score_of`).
SCORE_WEIGHTS: dict[Severity, int] = {"high": 20, "medium": 5, "low": 1}


def severity_rank(severity: Severity) -> int:
    """0 for low, 1 for medium, 2 for high."""
    return SEVERITIES.index(severity)


def finding_id(check: str, obj: str, key: str = "") -> str:
    """``<check>-<12 hex>``: sha256 of the check id, the object and an optional discriminator."""
    digest = hashlib.sha256(f"{check}\x1f{obj}\x1f{key}".encode()).hexdigest()
    return f"{check}-{digest[:12]}"


@dataclass(frozen=True, slots=True)
class Finding:
    """One compliance problem: what, about which object, which rule it breaks, how to fix it.

    ``object`` names a data-map or workspace object as ``kind:key`` (``system:esp``,
    ``dataset:orders.field:email``, ``model:pricing@3``); ``rule`` is a legal citation from the
    rule pack, or starts with "TrustCart practice:" when the check is a best practice, not law.
    """

    id: str
    check: str
    severity: Severity
    area: str
    object: str
    rule: str
    message: str
    fix: str

    def to_dict(self) -> dict[str, str]:
        """JSON view (stable key order)."""
        return {
            "id": self.id,
            "check": self.check,
            "severity": self.severity,
            "area": self.area,
            "object": self.object,
            "rule": self.rule,
            "message": self.message,
            "fix": self.fix,
        }


def sort_key(f: Finding) -> tuple[int, str, str, str, str]:
    """Most severe first, then by area, check, object and id (deterministic order)."""
    return (-severity_rank(f.severity), f.area, f.check, f.object, f.id)


def score_of(findings: list[Finding]) -> int:
    """``max(0, 100 - 20·high - 5·medium - 1·low)``.

    A simple, documented number for dashboards and trends, not a legal measure: one high finding
    costs as much as four medium ones; five highs reach 0.
    """
    return max(0, 100 - sum(SCORE_WEIGHTS[f.severity] for f in findings))


@dataclass(frozen=True)
class ScanResult:
    """Everything one scan found, sorted most severe first."""

    findings: list[Finding]
    checks: list[str]
    areas: list[str]
    rules_version: str
    generated_at: datetime
    counts: dict[Severity, int] = field(default_factory=dict)
    score: int = 100

    @classmethod
    def build(
        cls,
        findings: list[Finding],
        *,
        checks: list[str],
        areas: list[str],
        rules_version: str,
        generated_at: datetime,
    ) -> ScanResult:
        """Sort ``findings``, count them per severity and score them."""
        ordered = sorted(findings, key=sort_key)
        counts: dict[Severity, int] = {s: 0 for s in reversed(SEVERITIES)}
        for f in ordered:
            counts[f.severity] += 1
        return cls(ordered, checks, areas, rules_version, generated_at, counts, score_of(ordered))

    def at_or_above(self, threshold: Severity) -> list[Finding]:
        """Findings whose severity is ``threshold`` or higher."""
        rank = severity_rank(threshold)
        return [f for f in self.findings if severity_rank(f.severity) >= rank]

    def fails(self, threshold: Severity | Literal["never"]) -> bool:
        """The CI gate: True when any finding is at or above ``threshold`` (never for "never")."""
        return threshold != "never" and bool(self.at_or_above(threshold))

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of ``trustcart scan --format json``."""
        return {
            "tool": "trustcart-scan",
            "generated_at": self.generated_at.isoformat(),
            "rules_version": self.rules_version,
            "areas": list(self.areas),
            "checks": list(self.checks),
            "score": self.score,
            "counts": dict(self.counts),
            "findings": [f.to_dict() for f in self.findings],
        }
