"""Protected attributes: data categories no model behind the gateway may receive.

Two sources, both data with citations (principle "facts are data"): the jurisdiction's sensitive
categories from the rule pack (e.g. GDPR Art. 9(1) special categories) and the protected
characteristics of anti-discrimination law in ``protected.yaml`` (rules-reference §7).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

from trustcart.rules import Jurisdiction


@dataclass(frozen=True, slots=True)
class ProtectedHit:
    """Why a feature is blocked: which category, what it is, and the law that says so."""

    category: str
    label: str
    citation: str


def _within(category: str, parent: str) -> bool:
    return category == parent or category.startswith(parent + ".")


@cache
def protected_characteristics() -> tuple[ProtectedHit, ...]:
    """The §7 protected characteristics shipped with the gateway."""
    text = resources.files("trustcart.gateway").joinpath("protected.yaml").read_text()
    data = yaml.safe_load(text)
    return tuple(
        ProtectedHit(str(c["data_category"]), str(c["label"]), str(c["citation"]))
        for c in data["characteristics"]
    )


def protected_hit(j: Jurisdiction, categories: Sequence[str]) -> ProtectedHit | None:
    """The first reason one of ``categories`` is protected in ``j``, or None."""
    for category in categories:
        for s in j.sensitive_categories:
            if _within(category, s.data_category):
                return ProtectedHit(category, f"sensitive data: {s.label}", s.citation)
        for p in protected_characteristics():
            if _within(category, p.category):
                return ProtectedHit(category, f"protected characteristic: {p.label}", p.citation)
    return None
