"""Binary outcomes (selected / offered / approved = 1): selection rates and error rates.

Definitions follow ``fairlearn.metrics``: ``selection_rate`` = mean of the 0/1 outcome;
``demographic_parity_difference`` = max − min selection rate across groups,
``demographic_parity_ratio`` = min / max; with a ground-truth label,
``true_positive_rate``/``false_positive_rate`` per group, ``equal_opportunity_difference`` =
max − min TPR and ``equalized_odds_difference`` = max(TPR difference, FPR difference).
One difference from fairlearn: a rate with no denominator (a group with no positive labels has
no TPR) is reported as null and left out of the summary, where fairlearn returns 0 with a
warning — 0 would read as "never selected".
"""

from __future__ import annotations

from typing import Any

import ibis

from trustcart.fairness import stats
from trustcart.fairness._spec import Spec
from trustcart.fairness.findings import FOUR_FIFTHS_RULE, TRUSTCART_DEFAULT, Finding, label
from trustcart.fairness.result import Cell


def _usable(spec: Spec, name: str) -> Any:
    """The column as float where the row is usable, NULL elsewhere (so SUM/COUNT skip it)."""
    col = spec.col(name)
    col = col.ifelse(1.0, 0.0) if col.type().is_boolean() else col.cast("float64")
    return spec.valid.ifelse(col, ibis.null("float64"))


def aggregates(spec: Spec) -> dict[str, Any]:
    """Per-group sums the engine computes: one scan, one GROUP BY, as few aggregates as possible.

    Why arithmetic rather than one CASE per count: each aggregate costs a pass over the
    column in the engine; with NULL standing for "not usable", COUNT/SUM of products give
    every confusion-matrix cell, and SUM(|y·(y−1)|) > 0 detects any value other than 0/1.
    This keeps a 10M-row audit close to a bare GROUP BY.
    """
    y = _usable(spec, spec.outcome)
    aggs: dict[str, Any] = {
        "count": y.count(),
        "positives": y.sum(),
        "invalid": (y * (y - 1.0)).abs().sum(),
    }
    if spec.label is not None:
        lab = _usable(spec, spec.label)
        aggs |= {
            "label_pos": lab.sum(),
            "true_pos": (y * lab).sum(),
            "invalid_label": (lab * (lab - 1.0)).abs().sum(),
        }
    return aggs


def _rate(num: int, den: int) -> float | None:
    return num / den if den else None


def _spread(values: list[float | None]) -> tuple[float | None, float | None]:
    """(max − min, min / max) over defined values; ratio null when max is 0."""
    vals = [x for x in values if x is not None]
    if not vals:
        return None, None
    hi, lo = max(vals), min(vals)
    return hi - lo, (lo / hi if hi > 0 else None)


def summarise(spec: Spec, cells: list[Cell]) -> tuple[dict[str, Any], list[Finding]]:
    """Fill each reported cell's metrics; return summary metrics and findings."""
    th = spec.thresholds
    for c in cells:
        a = c.aggregates
        pos = int(a["positives"] or 0)
        c.metrics = {
            "positives": pos,
            "selection_rate": pos / c.count,
            "selection_rate_ci": stats.wilson_interval(pos, c.count),
        }
        if spec.label is not None:
            lp, tp = int(a["label_pos"]), int(a["true_pos"])
            ln, fp = c.count - lp, pos - tp
            a["label_neg"], a["false_pos"] = ln, fp  # the tests below read them by name
            c.metrics |= {
                "true_positive_rate": _rate(tp, lp),
                "true_positive_rate_ci": stats.wilson_interval(tp, lp),
                "false_positive_rate": _rate(fp, ln),
                "false_positive_rate_ci": stats.wilson_interval(fp, ln),
                "label_positives": lp,
                "label_negatives": ln,
            }
    metrics: dict[str, Any] = {}
    findings: list[Finding] = []
    if not cells:
        return metrics, findings

    ref = max(cells, key=lambda c: c.metrics["selection_rate"])
    ref_rate = ref.metrics["selection_rate"]
    dpd, dpr = _spread([c.metrics["selection_rate"] for c in cells])
    metrics |= {
        "reference_group": ref.group,
        "demographic_parity_difference": dpd,
        "demographic_parity_ratio": dpr,
    }
    # Selection rates vs the most favoured group: z-test, Holm across the comparisons.
    others = [c for c in cells if c is not ref]
    tests = [
        stats.two_proportion_ztest(
            c.metrics["positives"], c.count, ref.metrics["positives"], ref.count
        )
        for c in others
    ]
    holm = stats.holm([t.p_value if t else 1.0 for t in tests])
    for c in cells:
        c.metrics["disparate_impact_ratio"] = (
            c.metrics["selection_rate"] / ref_rate if ref_rate > 0 else None
        )
    for c, t, ph in zip(others, tests, holm, strict=True):
        if t is None:
            continue
        c.metrics |= {
            "selection_rate_difference": t.difference,
            "selection_rate_difference_ci": t.ci,
            "p_value": t.p_value,
            "p_value_holm": ph,
        }
        di = c.metrics["disparate_impact_ratio"]
        if di is not None and di < th.four_fifths and ph < th.alpha:
            findings.append(
                Finding(
                    severity="high",
                    message=(
                        f"selection rate of {label(c.group)} is {di:.0%} of that of "
                        f"{label(ref.group)} ({c.metrics['selection_rate']:.3f} vs "
                        f"{ref_rate:.3f}), below four-fifths (Holm-adjusted p={ph:.2g})"
                    ),
                    rule=FOUR_FIFTHS_RULE,
                    metric="disparate_impact_ratio",
                    group=c.group,
                    reference_group=ref.group,
                    value=di,
                    threshold=th.four_fifths,
                    p_value=t.p_value,
                    p_value_holm=ph,
                    advice=(
                        "evidence of adverse impact (a rule of thumb, not proof): check which "
                        "features drive the gap and whether it is justified; consider mitigation"
                    ),
                )
            )
    rates = [r for r in (c.metrics["selection_rate"] for c in cells)]
    metrics["disparate_impact_ratio"] = min(rates) / ref_rate if ref_rate > 0 else None

    if spec.label is not None:
        tpr_d, _ = _spread([c.metrics["true_positive_rate"] for c in cells])
        fpr_d, _ = _spread([c.metrics["false_positive_rate"] for c in cells])
        defined = [x for x in (tpr_d, fpr_d) if x is not None]
        metrics |= {
            "true_positive_rate_difference": tpr_d,
            "false_positive_rate_difference": fpr_d,
            "equal_opportunity_difference": tpr_d,
            "equalized_odds_difference": max(defined) if defined else None,
        }
        findings += _error_rate_findings(spec, cells)
    return metrics, findings


def _error_rate_findings(spec: Spec, cells: list[Cell]) -> list[Finding]:
    """TPR and FPR of each group vs the group with the highest rate; Holm over all tests."""
    th = spec.thresholds
    pending: list[tuple[str, Cell, Cell, stats.TestResult]] = []
    for metric, num, den in (
        ("true_positive_rate", "true_pos", "label_pos"),
        ("false_positive_rate", "false_pos", "label_neg"),
    ):
        defined = [c for c in cells if c.metrics[metric] is not None]
        if len(defined) < 2:
            continue
        ref = max(defined, key=lambda c: c.metrics[metric])
        for c in defined:
            if c is ref:
                continue
            t = stats.two_proportion_ztest(
                int(c.aggregates[num]),
                int(c.aggregates[den]),
                int(ref.aggregates[num]),
                int(ref.aggregates[den]),
            )
            if t is not None:
                pending.append((metric, c, ref, t))
    adjusted = stats.holm([t.p_value for *_, t in pending])
    findings = []
    for (metric, c, ref, t), ph in zip(pending, adjusted, strict=True):
        c.metrics[f"{metric}_p_value_holm"] = ph
        gap = -t.difference
        if gap > th.rate_gap and ph < th.alpha:
            findings.append(
                Finding(
                    severity="medium",
                    message=(
                        f"{metric.replace('_', ' ')} of {label(c.group)} is {gap:.3f} below "
                        f"that of {label(ref.group)} (Holm-adjusted p={ph:.2g}); "
                        f"equalized odds gap above {th.rate_gap}"
                    ),
                    rule=f"{TRUSTCART_DEFAULT}: equalized odds gap > {th.rate_gap}",
                    metric=f"{metric}_difference",
                    group=c.group,
                    reference_group=ref.group,
                    value=gap,
                    threshold=th.rate_gap,
                    p_value=t.p_value,
                    p_value_holm=ph,
                    advice="error rates differ by group: check label quality and the model's "
                    "calibration per group; consider a post-processing threshold per group",
                )
            )
    return findings
