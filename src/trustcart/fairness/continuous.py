"""Continuous outcomes (price, discount, score): means, quantiles, effect sizes, KS.

Per group: ``mean`` with a t 95% CI, ``median``, ``p10``, ``p90`` (continuous quantiles with
linear interpolation — DuckDB ``quantile_cont`` / PostgreSQL ``percentile_cont``, the same as
``numpy.quantile(method="linear")``), ``sd``; each group vs the most favoured one (highest mean,
or lowest with ``favourable="lower"``, e.g. prices): Welch difference, CI and p-value.

Summary: ``mean_difference`` = max − min mean; ``mean_ratio`` = min / max mean (null unless all
means are positive); ``standardized_mean_difference`` = (max mean − min mean) / pooled SD, the
pooled SD being sqrt(Σ(n_g − 1)·s_g² / Σ(n_g − 1)) over the reported groups; ``ks_statistic`` =
the largest two-sample Kolmogorov–Smirnov distance between any two reported groups, computed
exactly in the engine (see :func:`ks_query`).
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import ibis

from trustcart.fairness import stats
from trustcart.fairness._spec import Spec
from trustcart.fairness.findings import TRUSTCART_DEFAULT, Finding, label
from trustcart.fairness.result import Cell

#: Above this many reported groups, KS is computed for the two extreme-mean groups only
#: (all pairs would need n·(n−1)/2 columns in one query).
KS_MAX_GROUPS = 12
#: Up to this many usable rows KS is exact (one row per distinct value in the engine); above,
#: values are binned into ``KS_BINS`` equal-width bins and an error bound is reported.
KS_EXACT_MAX_ROWS = 1_000_000
KS_BINS = 20_000


def _values(spec: Spec) -> Any:
    y = spec.col(spec.outcome).cast("float64")
    return spec.valid.ifelse(y, ibis.null("float64"))


def aggregates(spec: Spec) -> dict[str, Any]:
    """Per-group mean, SD and quantiles: one GROUP BY (quantiles are exact, engine-side)."""
    y = _values(spec)
    return {
        "mean": y.mean(),
        "sd": y.std(how="sample"),
        "median": y.quantile(0.5),
        "p10": y.quantile(0.1),
        "p90": y.quantile(0.9),
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
            "median": _f(a["median"]),
            "p10": _f(a["p10"]),
            "p90": _f(a["p90"]),
            "sd": sd,
            "min": _f(a["min"]),
            "max": _f(a["max"]),
        }
    metrics: dict[str, Any] = {}
    findings: list[Finding] = []
    if not cells:
        return metrics, findings
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
        ks, pair, err = ks_query(spec, cells)
        metrics["ks_statistic"] = ks
        metrics["ks_groups"] = pair
        metrics["ks_max_error"] = err
    return metrics, findings


def _cell_condition(spec: Spec, group: dict[str, Any]) -> Any:
    cond = None
    for col, value in group.items():
        c = spec.col(col)
        term = c.isnull() if value is None else (c == value)
        cond = term if cond is None else cond & term
    return cond


def ks_query(
    spec: Spec, cells: list[Cell]
) -> tuple[float | None, list[dict[str, Any]] | None, float]:
    """Largest two-sample KS distance between reported groups, exactly, in one query.

    How: GROUP BY the outcome value with one conditional count per group, cumulative sums over
    the ordered values give each group's ECDF at every distinct value, and the maximum of
    |F_a − F_b| over values is the KS statistic of a vs b (ties handled because equal values
    are one row). Only one row per pair comes back. With more than ``KS_MAX_GROUPS`` groups,
    only the two groups with extreme means are compared (documented approximation: the largest
    KS distance is usually, not always, between them).

    Above ``KS_EXACT_MAX_ROWS`` usable rows, grouping by every distinct value costs seconds
    and gigabytes, so values are binned into ``KS_BINS`` equal-width bins over [min, max]: the
    binned distance is a lower bound of the exact one and exceeds it by at most the largest
    probability mass of one group in one bin, returned as ``ks_max_error``.
    """
    chosen = cells
    if len(cells) > KS_MAX_GROUPS:
        by_mean = sorted(cells, key=lambda c: c.metrics["mean"])
        chosen = [by_mean[0], by_mean[-1]]
    y = spec.col(spec.outcome).cast("float64")
    conds = [_cell_condition(spec, c.group) for c in chosen]
    any_cell = conds[0]
    for cond in conds[1:]:
        any_cell = any_cell | cond
    t = spec.table.filter(spec.valid & any_cell)
    lo = min(float(c.metrics["min"]) for c in chosen)
    hi = max(float(c.metrics["max"]) for c in chosen)
    binned = sum(c.count for c in chosen) > KS_EXACT_MAX_ROWS and hi > lo
    if binned:
        width = (hi - lo) / KS_BINS
        y = ((y - lo) / width).floor().clip(upper=KS_BINS - 1).cast("int64")
    per_value = t.group_by(y=y).aggregate(
        **{f"c{i}": cond.ifelse(1, 0).sum() for i, cond in enumerate(conds)}
    )
    w = ibis.cumulative_window(order_by=per_value.y)
    ecdf = per_value.select(
        **{
            f"f{i}": per_value[f"c{i}"].sum().over(w).cast("float64") / c.count
            for i, c in enumerate(chosen)
        }
    )
    pairs = list(itertools.combinations(range(len(chosen)), 2))
    out = ecdf.aggregate(
        **{f"d{i}_{j}": (ecdf[f"f{i}"] - ecdf[f"f{j}"]).abs().max() for i, j in pairs}
    )
    row = out.to_pyarrow().to_pylist()[0]
    max_error = 0.0
    if binned:
        masses = per_value.aggregate(
            **{f"m{i}": per_value[f"c{i}"].max() for i in range(len(chosen))}
        )
        mrow = masses.to_pyarrow().to_pylist()[0]
        max_error = max(float(mrow[f"m{i}"] or 0) / c.count for i, c in enumerate(chosen))
    best: tuple[float, int, int] | None = None
    for i, j in pairs:
        d = row[f"d{i}_{j}"]
        if d is not None and (best is None or d > best[0]):
            best = (float(d), i, j)
    if best is None:
        return None, None, max_error
    return best[0], [chosen[best[1]].group, chosen[best[2]].group], max_error
