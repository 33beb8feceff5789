"""Findings: a disparity that is both statistically significant and material.

Why both: with millions of rows a 0.1-point gap is "significant" yet immaterial; with ten rows a
large gap may be noise. A finding is raised only when the Holm-corrected p-value is below
``alpha`` AND the gap crosses a materiality threshold. The four-fifths threshold for selection
rates comes from 29 CFR 1607.4(D); every other threshold is a TrustCart default, not law, and is
labelled as such in the finding.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

#: The four-fifths rule (US Uniform Guidelines on Employee Selection Procedures): a selection
#: rate below 80% of the highest group's is evidence of adverse impact — a rule of thumb, not
#: proof.
FOUR_FIFTHS_RULE = "29 CFR 1607.4(D)"
TRUSTCART_DEFAULT = "TrustCart default threshold (not law)"


@dataclass(frozen=True)
class Thresholds:
    """Significance level and materiality thresholds (all configurable).

    ``four_fifths`` is the documented legal rule of thumb (29 CFR 1607.4(D)). ``rate_gap``,
    ``mean_ratio``, ``smd`` and ``exposure_ratio`` are TrustCart defaults chosen to mirror it
    (a gap a person would notice), not legal thresholds.
    """

    alpha: float = 0.05
    four_fifths: float = 0.8
    rate_gap: float = 0.1
    mean_ratio: float = 0.8
    smd: float = 0.2
    exposure_ratio: float = 0.8

    def to_dict(self) -> dict[str, float]:
        """JSON-ready values (stored with the audit's parameters)."""
        return asdict(self)


@dataclass(frozen=True)
class Finding:
    """One material, significant disparity, with the rule (or default) it crosses and advice."""

    severity: str
    message: str
    rule: str
    metric: str
    group: dict[str, Any]
    reference_group: dict[str, Any]
    value: float
    threshold: float
    p_value: float
    p_value_holm: float
    advice: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``severity``, ``message``, ``rule`` first, as the CLI contract says)."""
        d = {
            "severity": self.severity,
            "message": self.message,
            "rule": self.rule,
            "metric": self.metric,
            "group": self.group,
            "reference_group": self.reference_group,
            "value": self.value,
            "threshold": self.threshold,
            "p_value": self.p_value,
            "p_value_holm": self.p_value_holm,
            "advice": self.advice,
        }
        d.update(self.extra)
        return d


def label(group: dict[str, Any]) -> str:
    """``gender=f, age=18-25`` — a group key as people read it."""
    return ", ".join(f"{k}={v}" for k, v in group.items())
