"""Vulnerable-segment protection: no credit and no high-pressure offer for people in a
configured vulnerable segment (EU AI Act Reg. 2024/1689 Art. 5(1)(b), exploiting
vulnerabilities due to age or a social or economic situation).

Why a context flag and not a model feature: whether a person is a minor or in financial
distress must *stop* the decision, not feed it. The shop sends the flag with the request (like
the fairness group); the gateway reads it, never passes it to the model, and when it is set
for a protected target the model is not called: the decision is logged as blocked, with the
segment and its citation, and the guardrail action says why. Decisions blocked this way are
counted by the compliance scanner (TC-GW-003) and by audits of the decision log
(``blocked_segment`` column).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml

from trustcart.errors import ValidationError

#: What a segment can be protected from.
Target = Literal["credit", "high_pressure_offer"]
TARGETS: tuple[str, ...] = ("credit", "high_pressure_offer")
_TRUE = frozenset({"1", "true", "yes", "y", "on"})
_FALSE = frozenset({"0", "false", "no", "n", "off", ""})


@dataclass(frozen=True, slots=True)
class VulnerableSegment:
    """A segment, the context key that flags a person as in it, and what it is shielded from."""

    key: str
    label: str
    context_key: str
    applies_to: tuple[str, ...]
    citation: str

    def to_dict(self) -> dict[str, Any]:
        """JSON view (decision output, docs)."""
        return {
            "segment": self.key,
            "label": self.label,
            "citation": self.citation,
        }


def flag(name: str, value: Any) -> bool:
    """A context flag as a bool: true/false, 1/0 or yes/no (else a 422 naming the key)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ValidationError(
        f"context value {name!r} is a flag: send true or false (or 1/0, yes/no)",
        details={"feature": name},
    )


@dataclass(frozen=True)
class VulnerableSegments:
    """The configured segments (see ``vulnerable.yaml`` for the shipped defaults)."""

    segments: tuple[VulnerableSegment, ...] = ()

    def __post_init__(self) -> None:
        keys = [s.key for s in self.segments]
        if len(set(keys)) != len(keys):
            raise ValueError("a vulnerable segment key is used twice")
        for s in self.segments:
            bad = [t for t in s.applies_to if t not in TARGETS]
            if bad:
                raise ValueError(
                    f"segment {s.key!r}: unknown target(s) {bad}; use {', '.join(TARGETS)}"
                )

    @property
    def context_keys(self) -> frozenset[str]:
        """Context keys the gateway reads for segments (never passed to a model)."""
        return frozenset(s.context_key for s in self.segments)

    def hit(self, target: str, context: Mapping[str, Any]) -> VulnerableSegment | None:
        """The first segment shielding ``target`` whose flag is set in ``context``."""
        for s in self.segments:
            if target in s.applies_to and s.context_key in context:
                value = context[s.context_key]
                if value is not None and flag(s.context_key, value):
                    return s
        return None


def segments_from(items: Sequence[Mapping[str, Any]]) -> VulnerableSegments:
    """Segments from YAML/TOML-like mappings (``key``, ``label``, ``context_key``,
    ``applies_to``, ``citation``)."""
    out = []
    for item in items:
        try:
            out.append(
                VulnerableSegment(
                    str(item["key"]),
                    str(item.get("label") or item["key"]),
                    str(item["context_key"]),
                    tuple(str(t) for t in item.get("applies_to") or TARGETS),
                    str(item.get("citation") or "EU AI Act Art. 5(1)(b)"),
                )
            )
        except KeyError as exc:
            raise ValidationError(
                f"a vulnerable segment needs {exc.args[0]!r} (key, context_key; optional "
                "label, applies_to, citation)"
            ) from None
    try:
        return VulnerableSegments(tuple(out))
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


@cache
def default_segments() -> VulnerableSegments:
    """The segments shipped in ``vulnerable.yaml`` (minors, financial distress)."""
    text = resources.files("trustcart.gateway").joinpath("vulnerable.yaml").read_text()
    return segments_from(yaml.safe_load(text)["segments"])
