"""Rankings (search results, recommendations): who gets seen, and how prominently.

Each row is one impression of an item at a 1-based ``position``. Exposure of an impression is
the DCG-style position discount 1 / log2(1 + position) (1.0 at the top, 0.63 at 2, 0.5 at 3).
Per group: ``impressions``, ``share_of_impressions``, ``exposure`` (sum), ``share_of_exposure``,
``mean_exposure`` (per impression) with a t 95% CI. Summary: ``exposure_ratio`` = min / max mean
exposure, ``exposure_difference`` = max − min. Findings: Welch test of each group's mean
exposure vs the most exposed group, Holm-corrected, material below ``exposure_ratio`` (0.8, a
TrustCart default mirroring four-fifths, not law).
"""

from __future__ import annotations

import math
from typing import Any

import ibis

from trustcart.fairness import stats
from trustcart.fairness._spec import Spec
from trustcart.fairness.findings import TRUSTCART_DEFAULT, Finding, label
from trustcart.fairness.result import Cell


def position_column(spec: Spec) -> str:
    """The position column: ``--position``, else the outcome column itself."""
    return spec.position or spec.outcome


def aggregates(spec: Spec) -> dict[str, Any]:
    """Per-group impression counts and exposure sums (and squares, for the variance)."""
    pos = spec.col(position_column(spec)).cast("float64")
    v = spec.valid
    e = v.ifelse(1.0 / (pos + 1.0).log2(), ibis.null("float64"))
    aggs: dict[str, Any] = {
        "exposure": e.sum(),
        "exposure_sq": (e * e).sum(),
        "invalid": (v & (pos < 1)).sum(),
    }
    if spec.position is not None and spec.position != spec.outcome:
        y = spec.col(spec.outcome).cast("float64")
        aggs["mean_outcome"] = v.ifelse(y, ibis.null("float64")).mean()
    return aggs


def summarise(spec: Spec, cells: list[Cell]) -> tuple[dict[str, Any], list[Finding]]:
    """Fill each reported cell's metrics; return summary metrics and findings."""
    th = spec.thresholds
    total_n = sum(c.count for c in cells)
    total_e = sum(float(c.aggregates["exposure"] or 0.0) for c in cells)
    for c in cells:
        a = c.aggregates
        e, e2, n = float(a["exposure"]), float(a["exposure_sq"]), c.count
        mean = e / n
        sd = math.sqrt(max(0.0, (e2 - n * mean * mean) / (n - 1))) if n > 1 else None
        c.metrics = {
            "impressions": n,
            "share_of_impressions": n / total_n if total_n else None,
            "exposure": e,
            "share_of_exposure": e / total_e if total_e else None,
            "mean_exposure": mean,
            "mean_exposure_ci": stats.t_interval(mean, sd, n) if sd is not None else None,
            "sd_exposure": sd,
        }
        if "mean_outcome" in a:
            c.metrics["mean_outcome"] = (
                None if a["mean_outcome"] is None else float(a["mean_outcome"])
            )
    metrics: dict[str, Any] = {}
    findings: list[Finding] = []
    if not cells:
        return metrics, findings
    ref = max(cells, key=lambda c: c.metrics["mean_exposure"])
    means = [c.metrics["mean_exposure"] for c in cells]
    hi, lo = max(means), min(means)
    metrics |= {
        "reference_group": ref.group,
        "exposure_ratio": lo / hi if hi > 0 else None,
        "exposure_difference": hi - lo,
    }
    others = [c for c in cells if c is not ref]
    rm = ref.metrics
    tests = [
        stats.welch_test(
            c.metrics["mean_exposure"],
            c.metrics["sd_exposure"] or 0.0,
            c.count,
            rm["mean_exposure"],
            rm["sd_exposure"] or 0.0,
            ref.count,
        )
        for c in others
    ]
    holm = stats.holm([t.p_value if t else 1.0 for t in tests])
    for c, t, ph in zip(others, tests, holm, strict=True):
        ratio = c.metrics["mean_exposure"] / rm["mean_exposure"]
        c.metrics["exposure_ratio"] = ratio
        if t is None:
            continue
        c.metrics |= {"p_value": t.p_value, "p_value_holm": ph}
        if ratio < th.exposure_ratio and ph < th.alpha:
            findings.append(
                Finding(
                    severity="medium",
                    message=(
                        f"mean exposure of {label(c.group)} is {ratio:.0%} of that of "
                        f"{label(ref.group)} (Holm-adjusted p={ph:.2g})"
                    ),
                    rule=f"{TRUSTCART_DEFAULT}: exposure_ratio < {th.exposure_ratio}",
                    metric="exposure_ratio",
                    group=c.group,
                    reference_group=ref.group,
                    value=ratio,
                    threshold=th.exposure_ratio,
                    p_value=t.p_value,
                    p_value_holm=ph,
                    advice="items of this group are ranked lower: check ranking features "
                    "for proxies of the group; consider exposure-aware re-ranking",
                )
            )
    return metrics, findings
