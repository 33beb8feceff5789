"""Drift rules: a metric crossing its threshold, or a significant change since the last window.

Both rules read only a window's audit document (per-group aggregates), so they run the same
whatever engine computed it. The change rule compares a window with the *previous disjoint*
window (see :mod:`trustcart.monitoring.windows`) group by group, with the audit's own tests from
:mod:`trustcart.fairness.stats`: the pooled two-proportion z-test for a binary monitor's
selection rate, Welch's t-test for a continuous mean or a ranking's mean exposure; p-values are
Holm-adjusted across the groups compared in that window. A change is a breach only when it is
both significant (adjusted p < ``alpha``) and material (``|difference| ≥ min_change``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from trustcart.fairness import stats
from trustcart.fairness.findings import label
from trustcart.monitoring.config import CHANGE_METRICS, MetricRule, MonitorSpec


@dataclass(frozen=True)
class Breach:
    """One rule broken in one window (for one group, or the summary ``*``)."""

    rule: str  # threshold | change
    metric: str
    group: str
    value: float
    bound: str  # e.g. "min 0.8", or "previous 0.51"
    difference: float | None = None
    p_value_holm: float | None = None

    @property
    def key(self) -> str:
        """What is breached, independent of the values (``threshold:metric:group``)."""
        return f"{self.rule}:{self.metric}:{self.group}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (stored with the result and the alert)."""
        return {
            "rule": self.rule,
            "metric": self.metric,
            "group": self.group,
            "value": self.value,
            "bound": self.bound,
            "difference": self.difference,
            "p_value_holm": self.p_value_holm,
        }

    def sentence(self) -> str:
        """The breach as a person reads it."""
        who = "summary" if self.group == "*" else self.group
        if self.rule == "change":
            return (
                f"{self.metric} of {who} changed by {self.difference:+.3g} to {self.value:.3g} "
                f"against the previous window ({self.bound}; Holm-adjusted "
                f"p={self.p_value_holm:.2g})"
            )
        return f"{self.metric} of {who} is {self.value:.3g}, beyond {self.bound}"


def _number(x: Any) -> float | None:
    if isinstance(x, bool) or x is None:
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def rule_values(spec: MonitorSpec, rule: MetricRule, doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The rule's values in one audit document: one per reported group, or the summary.

    Each: ``group`` (label, ``*`` for the summary), ``value``, ``ci_low``/``ci_high`` when the
    audit gives an interval, ``count`` (usable rows of the group), ``p_value_holm`` (the
    audit's test of the group against the reference group, when there is one).
    """
    if spec.scope_of(rule) == "summary":
        return [
            {
                "group": "*",
                "value": _number(doc.get("metrics", {}).get(rule.metric)),
                "ci_low": None,
                "ci_high": None,
                "count": doc.get("rows"),
                "p_value_holm": None,
            }
        ]
    out = []
    for g in doc.get("groups", []):
        if g.get("suppressed"):
            continue
        ci = g.get(f"{rule.metric}_ci")
        out.append(
            {
                "group": label(g["group"]),
                "value": _number(g.get(rule.metric)),
                "ci_low": _number(ci[0]) if ci else None,
                "ci_high": _number(ci[1]) if ci else None,
                "count": g.get("count"),
                "p_value_holm": _number(g.get("p_value_holm")),
            }
        )
    return out


def threshold_breaches(spec: MonitorSpec, rule: MetricRule, doc: dict[str, Any]) -> list[Breach]:
    """Values below ``min`` or above ``max`` (significant ones only, if the rule says so)."""
    out = []
    for v in rule_values(spec, rule, doc):
        value = v["value"]
        if value is None:
            continue
        if rule.require_significance and spec.scope_of(rule) == "group":
            p = v["p_value_holm"]
            if p is None or p >= spec.alpha:
                continue
        if rule.min is not None and value < rule.min:
            out.append(Breach("threshold", rule.metric, v["group"], value, f"min {rule.min:g}"))
        elif rule.max is not None and value > rule.max:
            out.append(Breach("threshold", rule.metric, v["group"], value, f"max {rule.max:g}"))
    return out


def _test(kind: str, cur: dict[str, Any], prev: dict[str, Any]) -> stats.TestResult | None:
    n_c, n_p = int(cur.get("count") or 0), int(prev.get("count") or 0)
    if kind == "binary":
        return stats.two_proportion_ztest(
            int(cur.get("positives") or 0), n_c, int(prev.get("positives") or 0), n_p
        )
    mean_key, sd_key = ("mean", "sd") if kind == "continuous" else ("mean_exposure", "sd_exposure")
    m_c, m_p = _number(cur.get(mean_key)), _number(prev.get(mean_key))
    if m_c is None or m_p is None:
        return None
    return stats.welch_test(
        m_c, _number(cur.get(sd_key)) or 0.0, n_c, m_p, _number(prev.get(sd_key)) or 0.0, n_p
    )


def change_breaches(
    spec: MonitorSpec, rule: MetricRule, doc: dict[str, Any], previous: dict[str, Any] | None
) -> list[Breach]:
    """Groups whose rate (or mean) changed significantly and materially since ``previous``."""
    if rule.change is None or previous is None:
        return []
    metric = CHANGE_METRICS[spec.kind]
    before = {label(g["group"]): g for g in previous.get("groups", []) if not g.get("suppressed")}
    pending: list[tuple[str, float, float, stats.TestResult]] = []
    for g in doc.get("groups", []):
        if g.get("suppressed"):
            continue
        name = label(g["group"])
        prev = before.get(name)
        value, old = _number(g.get(metric)), _number(prev.get(metric)) if prev else None
        if prev is None or value is None or old is None:
            continue
        t = _test(spec.kind, g, prev)
        if t is not None:
            pending.append((name, value, old, t))
    adjusted = stats.holm([t.p_value for *_, t in pending])
    out = []
    for (name, value, old, t), ph in zip(pending, adjusted, strict=True):
        if ph < rule.change.alpha and abs(t.difference) >= rule.change.min_change:
            out.append(
                Breach(
                    "change",
                    metric,
                    name,
                    value,
                    f"previous {old:.3g}",
                    difference=t.difference,
                    p_value_holm=ph,
                )
            )
    return out


def breaches_of(
    spec: MonitorSpec, doc: dict[str, Any], previous: dict[str, Any] | None
) -> list[Breach]:
    """Every breach of every rule of ``spec`` in one window."""
    out: list[Breach] = []
    for rule in spec.metrics:
        if rule.min is not None or rule.max is not None:
            out += threshold_breaches(spec, rule, doc)
        out += change_breaches(spec, rule, doc, previous)
    return out
