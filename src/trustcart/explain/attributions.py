"""Feature attributions that add up exactly to the model output.

Why exactness matters: an explanation given to a person (GDPR Art. 15(1)(h) "meaningful
information about the logic involved") must describe the computation actually performed. Both
methods here are additive: ``bias + sum(contributions) == output`` (tested), so the reasons we
state account for the whole answer rather than approximating it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True, slots=True)
class Attribution:
    """An additive explanation: ``bias + sum(contributions.values()) == output``.

    ``method`` names how it was computed (``linear-exact``, ``tree-shap``); ``unit`` says what
    the output measures (e.g. ``price_adjustment`` as a fraction of list price, ``log_odds``).
    """

    method: str
    unit: str
    bias: float
    contributions: dict[str, float]
    output: float

    def total(self) -> float:
        """``bias`` plus every contribution (equals ``output`` up to rounding)."""
        return self.bias + math.fsum(self.contributions.values())

    def ranked(self) -> list[tuple[str, float]]:
        """Contributions by decreasing magnitude."""
        return sorted(self.contributions.items(), key=lambda kv: -abs(kv[1]))

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly view."""
        return {
            "method": self.method,
            "unit": self.unit,
            "bias": self.bias,
            "contributions": dict(self.contributions),
            "output": self.output,
        }


def linear_attributions(
    names: Sequence[str],
    coef: Sequence[float],
    intercept: float,
    x: Sequence[float],
    baseline: Sequence[float],
    *,
    unit: str = "score",
) -> Attribution:
    """Exact attributions of ``f(x) = intercept + coef·x``: ``coef_i·(x_i − baseline_i)``.

    The bias is ``f(baseline)``, the output for an average input, so each contribution reads
    "how far this feature moved the answer away from the typical one".
    """
    if not len(names) == len(coef) == len(x) == len(baseline):
        raise ValueError("names, coef, x and baseline must have the same length")
    contributions = {
        n: float(c) * (float(v) - float(b))
        for n, c, v, b in zip(names, coef, x, baseline, strict=True)
    }
    bias = float(intercept) + math.fsum(
        float(c) * float(b) for c, b in zip(coef, baseline, strict=True)
    )
    output = float(intercept) + math.fsum(float(c) * float(v) for c, v in zip(coef, x, strict=True))
    return Attribution("linear-exact", unit, bias, contributions, output)


def tree_attributions(
    booster: Any, names: Sequence[str], row: Sequence[float], *, unit: str = "score"
) -> Attribution:
    """Exact TreeSHAP of one row from a LightGBM booster (``pred_contrib=True``).

    LightGBM returns one column per feature plus a last column holding the expected value
    (bias); they sum to the raw prediction.
    """
    x = np.asarray([row], dtype=np.float64)
    contrib = booster.predict(x, pred_contrib=True)[0]
    raw = float(booster.predict(x, raw_score=True)[0])
    contributions = {n: float(v) for n, v in zip(names, contrib[:-1], strict=True)}
    return Attribution("tree-shap", unit, float(contrib[-1]), contributions, raw)


def values_in_order(features: Mapping[str, Any], names: Sequence[str]) -> list[float]:
    """Feature values as floats in model order; a missing value becomes NaN."""
    out = []
    for n in names:
        v = features.get(n)
        out.append(float("nan") if v is None else float(v))
    return out
