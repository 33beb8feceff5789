"""Continuous outcomes (price, discount, score): means, quantiles, effect sizes, KS.

Per group: ``mean`` with a t 95% CI, ``p10``, ``p25``, ``median``, ``p75``, ``p90`` (exact
continuous quantiles with linear interpolation — the same as ``numpy.quantile(method=
"linear")``, DuckDB ``quantile_cont`` and PostgreSQL ``percentile_cont``, found from histograms
in the engine: :mod:`trustcart.fairness.distribution`), ``sd``, ``min``, ``max``; each group
vs the most favoured one (highest mean, or lowest with ``favourable="lower"``, e.g. prices):
Welch difference, CI and p-value.

Summary: ``mean_difference`` = max − min mean; ``mean_ratio`` = min / max mean (null unless all
means are positive); ``standardized_mean_difference`` = (max mean − min mean) / pooled SD, the
pooled SD being sqrt(Σ(n_g − 1)·s_g² / Σ(n_g − 1)) over the reported groups; ``ks_statistic`` =
the largest two-sample Kolmogorov–Smirnov distance between any two reported groups (exact,
from the same histograms; ``ks_max_error`` > 0 only if the bins to refine exceeded
``distribution.FETCH_MAX`` rows).
"""

from __future__ import annotations

import math
from typing import Any

import ibis

from trustcart.fairness import distribution, stats
from trustcart.fairness._spec import Spec
from trustcart.fairness.findings import TRUSTCART_DEFAULT, Finding, label
from trustcart.fairness.result import Cell

#: Above this many reported groups, KS is computed for the two extreme-mean groups only
#: (all pairs grow as n·(n−1)/2).
KS_MAX_GROUPS = 12


def _values(spec: Spec) -> Any:
    y = spec.col(spec.outcome).cast("float64")
    return spec.valid.ifelse(y, ibis.null("float64"))


def aggregates(spec: Spec) -> dict[str, Any]:
    """Per-group mean, SD, min and max: one GROUP BY, no per-row state.

    Quantiles and KS come after, from histograms over [min, max] (:mod:`distribution`):
    exact like the engine's own quantile, without holding every value in memory.
    """
    y = _values(spec)
    return {
        "mean": y.mean(),
        "sd": y.std(how="sample"),
        "min": y.min(),
        "max": y.max(),
    }


def _f(x: Any) -> float | None:
    return None if x is None else float(x)


def summarise(spec: Spec, cells: list[Cell]) -> tuple[dict[str, Any], list[Finding]]:
    """Fill each reported cell's metrics; return summary metrics and findings."""
    th = spec.thresholds
    for c in cells:
        a = c.aggregates
        mean, sd = float(a["mean"]), _f(a["sd"])
        c.metrics = {
            "mean": mean,
            "mean_ci": stats.t_interval(mean, sd, c.count) if sd is not None else None,
            "sd": sd,
            "min": _f(a["min"]),
            "max": _f(a["max"]),
        }
    metrics: dict[str, Any] = {}
    findings: list[Finding] = []
    if not cells:
        return metrics, findings
    ks_cells = list(range(len(cells)))
    if len(cells) > KS_MAX_GROUPS:
        by_mean = sorted(ks_cells, key=lambda i: cells[i].metrics["mean"])
        ks_cells = [by_mean[0], by_mean[-1]]
    quantiles, ks = distribution.describe(spec, cells, ks_cells)
    for c, q in zip(cells, quantiles, strict=True):
        c.metrics |= q
    pick = max if spec.favourable == "higher" else min
    ref = pick(cells, key=lambda c: c.metrics["mean"])
    means = [c.metrics["mean"] for c in cells]
    hi, lo = max(means), min(means)
    dof = sum(c.count - 1 for c in cells if c.metrics["sd"] is not None)
    pooled = (
        math.sqrt(
            sum((c.count - 1) * c.metrics["sd"] ** 2 for c in cells if c.metrics["sd"] is not None)
            / dof
        )
        if dof > 0
        else None
    )
    metrics |= {
        "reference_group": ref.group,
        "favourable": spec.favourable,
        "mean_difference": hi - lo,
        "mean_ratio": lo / hi if lo > 0 else None,
        "pooled_sd": pooled,
        "standardized_mean_difference": (hi - lo) / pooled if pooled else None,
    }
    others = [c for c in cells if c is not ref]
    tests = [
        stats.welch_test(
            c.metrics["mean"],
            c.metrics["sd"] or 0.0,
            c.count,
            ref.metrics["mean"],
            ref.metrics["sd"] or 0.0,
            ref.count,
        )
        for c in others
    ]
    holm = stats.holm([t.p_value if t else 1.0 for t in tests])
    rm = ref.metrics["mean"]
    for c, t, ph in zip(others, tests, holm, strict=True):
        m = c.metrics["mean"]
        ratio = min(m, rm) / max(m, rm) if min(m, rm) > 0 else None
        smd = abs(m - rm) / pooled if pooled else None
        c.metrics |= {"mean_ratio": ratio, "standardized_mean_difference": smd}
        if t is None:
            continue
        c.metrics |= {
            "mean_difference": t.difference,
            "mean_difference_ci": t.ci,
            "p_value": t.p_value,
            "p_value_holm": ph,
        }
        if ratio is not None:
            material, metric, value, threshold = (
                ratio < th.mean_ratio,
                "mean_ratio",
                ratio,
                th.mean_ratio,
            )
        else:
            material, metric, value, threshold = (
                (smd or 0.0) >= th.smd,
                "standardized_mean_difference",
                smd or 0.0,
                th.smd,
            )
        if material and ph < th.alpha:
            findings.append(
                Finding(
                    severity="medium",
                    message=(
                        f"mean {spec.outcome} of {label(c.group)} is {m:.4g} vs {rm:.4g} for "
                        f"{label(ref.group)} ({metric} {value:.3g}, Holm-adjusted p={ph:.2g})"
                    ),
                    rule=f"{TRUSTCART_DEFAULT}: {metric} "
                    + ("<" if metric == "mean_ratio" else ">=")
                    + f" {threshold}",
                    metric=metric,
                    group=c.group,
                    reference_group=ref.group,
                    value=value,
                    threshold=threshold,
                    p_value=t.p_value,
                    p_value_holm=ph,
                    advice="outcomes differ materially by group: check which features drive "
                    "the gap and whether it is justified (e.g. cost-based pricing)",
                )
            )
    if len(cells) >= 2:
        pair = [cells[i].group for i in ks.pair] if ks.pair else None
        metrics |= {"ks_statistic": ks.statistic, "ks_groups": pair, "ks_max_error": ks.max_error}
    return metrics, findings
