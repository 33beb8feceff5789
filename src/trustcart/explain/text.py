"""Plain-language reasons from an attribution: "lower than list price mainly because: …".

Why words and not only numbers: GDPR Art. 15(1)(h) and, for significant decisions, CPRA ADMT
§7222 ask for the logic and outcome "in plain language"; Dun & Bradstreet C-203/22 asks for the
procedure and principles actually applied. The sentence names the main factors with their
signed share of the result, taken from the exact additive attribution.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trustcart.explain.attributions import Attribution


def _fmt_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _fmt_effect(effect: float, unit: str) -> str:
    sign = "+" if effect >= 0 else "−"
    if unit == "price_adjustment":
        return f"{sign}{abs(effect) * 100:.1f}%"
    return f"{sign}{abs(effect):.2f}"


def top_reasons(
    attribution: Attribution,
    *,
    labels: Mapping[str, str] | None = None,
    values: Mapping[str, Any] | None = None,
    k: int = 3,
    min_share: float = 0.0005,
) -> list[str]:
    """The ``k`` largest contributions as phrases: ``loyalty tier 3 (−4.1%)``."""
    labels = labels or {}
    values = values or {}
    out = []
    for name, effect in attribution.ranked()[:k]:
        if abs(effect) < min_share:
            continue
        label = labels.get(name, name.replace("_", " "))
        value = values.get(name)
        shown = f"{label} {_fmt_value(value)}" if value is not None else label
        out.append(f"{shown} ({_fmt_effect(effect, attribution.unit)})")
    return out


def price_sentence(
    attribution: Attribution,
    *,
    labels: Mapping[str, str] | None = None,
    values: Mapping[str, Any] | None = None,
    k: int = 3,
) -> str:
    """One sentence on a personalised price, e.g.
    ``lower than list price mainly because: loyalty tier gold (−4.1%), basket size (−1.2%)``."""
    out = attribution.output
    if abs(out) < 1e-9:
        return "the list price: the model's factors cancel out"
    direction = "lower" if out < 0 else "higher"
    same_way = Attribution(
        attribution.method,
        attribution.unit,
        attribution.bias,
        {n: v for n, v in attribution.contributions.items() if (v < 0) == (out < 0)},
        out,
    )
    reasons = top_reasons(same_way, labels=labels, values=values, k=k)
    if not reasons:
        return f"{direction} than list price by {abs(out) * 100:.1f}% for all customers alike"
    return f"{direction} than list price mainly because: {', '.join(reasons)}"


def score_sentence(
    attribution: Attribution,
    *,
    outcome: str,
    labels: Mapping[str, str] | None = None,
    values: Mapping[str, Any] | None = None,
    k: int = 3,
) -> str:
    """One sentence on a score-based outcome (an offer made or not)."""
    reasons = top_reasons(attribution, labels=labels, values=values, k=k)
    if not reasons:
        return f"{outcome}: no personal factor changed the typical result"
    return f"{outcome}, mainly because of: {', '.join(reasons)}"
