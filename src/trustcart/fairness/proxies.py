"""Proxy detection: which features stand in for a protected attribute.

A model that never sees ethnicity can still price by it through the postcode. For each
candidate feature this module measures its association with the protected attribute from one
contingency table (feature level × attribute value) counted in the data's own engine — only the
table comes back to Python, never the rows:

- ``cramers_v`` = sqrt(χ² / (n · min(r − 1, k − 1))), as ``scipy.stats.contingency.association``
  (χ² without continuity correction);
- ``mutual_information`` in nats, as ``sklearn.metrics.mutual_info_score``, and
  ``uncertainty_coefficient`` = MI / H(attribute): the share of the attribute's entropy that
  the feature explains (Theil's U, 0–1);
- ``auc``: how well the feature alone predicts the attribute — each level scored by the
  attribute's share in it, ROC AUC of that score (one-vs-rest macro average for more than two
  values, as ``sklearn.metrics.roc_auc_score(multi_class="ovr")``).

Numeric features with more distinct values than ``bins`` are cut at their quantiles (exact,
engine-side) into at most ``bins`` bins, which also catches non-monotone links. NULL is a level
of its own (missingness can be a proxy). Levels with fewer than ``min_level_size`` rows are
pooled into one level before scoring: in-sample AUC and V of a feature with thousands of tiny
levels (a customer id) are close to perfect by construction, and pooling keeps that from
passing for a proxy. A feature is a proxy when its χ² test is significant after Holm
correction across features AND its V or AUC crosses a threshold (TrustCart defaults following
statistical convention, not law: V ≥ 0.3, Cohen's "medium" association; AUC ≥ 0.7,
Hosmer–Lemeshow's "acceptable discrimination").
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import ibis.expr.types as ir
import numpy as np

from trustcart.errors import ValidationError
from trustcart.fairness import stats
from trustcart.fairness.findings import TRUSTCART_DEFAULT, Finding
from trustcart.fairness.result import jsonable
from trustcart.fairness.sources import Source, open_source
from trustcart.store import Store

DEFAULT_V_THRESHOLD = 0.3
DEFAULT_AUC_THRESHOLD = 0.7
DEFAULT_BINS = 10
DEFAULT_MIN_LEVEL_SIZE = 10
#: A categorical feature with more distinct values is identifier-like: skipped, with a note.
DEFAULT_MAX_LEVELS = 10_000
_OTHER = "(other)"


@dataclass
class ProxyScore:
    """One candidate feature's association with the protected attribute."""

    feature: str
    treatment: str  # "categorical" | "binned"
    levels: int
    rows: int
    cramers_v: float | None
    mutual_information: float
    uncertainty_coefficient: float | None
    auc: float | None
    chi2: float
    dof: int
    p_value: float
    p_value_holm: float = 1.0
    proxy: bool = False
    pooled_levels: int = 0
    bin_edges: list[float] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return jsonable(dict(self.__dict__))  # type: ignore[no-any-return]


@dataclass
class ProxyReport:
    """What :func:`detect_proxies` returns; ``kind`` is ``"proxies"`` when stored."""

    protected: str
    rows: int
    classes: int
    features: list[ProxyScore]
    findings: list[Finding]
    parameters: dict[str, Any]
    source: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    elapsed_seconds: float = 0.0
    kind: str = "proxies"

    @property
    def proxies(self) -> list[ProxyScore]:
        """Features found to be proxies, strongest association first."""
        return [s for s in self.features if s.proxy]

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of ``trustcart audit proxies --format json``."""
        return {
            "kind": self.kind,
            "protected": self.protected,
            "rows": self.rows,
            "classes": self.classes,
            "features": [s.to_dict() for s in self.features],
            "proxies": [s.feature for s in self.proxies],
            "findings": [jsonable(f.to_dict()) for f in self.findings],
            "parameters": jsonable(self.parameters),
            "source": jsonable(self.source),
            "notes": list(self.notes),
            "elapsed_seconds": round(self.elapsed_seconds, 4),
        }


# -- association measures on a contingency table (levels × attribute values) --------------------


def cramers_v(table: np.ndarray) -> tuple[float | None, float, int, float]:
    """(Cramér's V, χ², degrees of freedom, p-value) of a table without empty rows/columns."""
    n = float(table.sum())
    r, k = table.shape
    if n == 0 or r < 2 or k < 2:
        return None, 0.0, 0, 1.0
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n
    chi2 = float(((table - expected) ** 2 / expected).sum())
    dof = (r - 1) * (k - 1)
    v = math.sqrt(chi2 / (n * min(r - 1, k - 1)))
    from scipy import stats as _st  # lazily: scipy.stats costs 1-2 s to import

    return min(v, 1.0), chi2, dof, float(_st.chi2.sf(chi2, dof))


def mutual_information(table: np.ndarray) -> tuple[float, float | None]:
    """(mutual information in nats, uncertainty coefficient MI / H(column variable))."""
    n = float(table.sum())
    if n == 0:
        return 0.0, None
    p = table / n
    pr = p.sum(axis=1, keepdims=True)
    pc = p.sum(axis=0, keepdims=True)
    nz = p > 0
    mi = float((p[nz] * np.log(p[nz] / (pr @ pc)[nz])).sum())
    pcs = pc[pc > 0]
    h = float(-(pcs * np.log(pcs)).sum())
    mi = max(mi, 0.0)
    return mi, (min(mi / h, 1.0) if h > 0 else None)


def _binary_auc(pos: np.ndarray, neg: np.ndarray, score: np.ndarray) -> float | None:
    """ROC AUC when every row of level i has score[i]; ties count one half (Mann–Whitney)."""
    p_tot, n_tot = pos.sum(), neg.sum()
    if p_tot == 0 or n_tot == 0:
        return None
    order = np.argsort(score, kind="stable")
    s, pp, nn = score[order], pos[order], neg[order]
    # merge levels with equal scores: they are ties
    uniq, idx = np.unique(s, return_inverse=True)
    pp_u = np.bincount(idx, weights=pp, minlength=len(uniq))
    nn_u = np.bincount(idx, weights=nn, minlength=len(uniq))
    neg_below = np.concatenate(([0.0], np.cumsum(nn_u)[:-1]))
    wins = float((pp_u * neg_below).sum() + 0.5 * (pp_u * nn_u).sum())
    return wins / float(p_tot * n_tot)


def feature_auc(table: np.ndarray) -> float | None:
    """How well the level predicts the column variable: AUC of P(value | level).

    Two values: the AUC of scoring each row by its level's share of the second value
    (``roc_auc_score(y, score)``). More: one-vs-rest per value, macro average.
    """
    rows = table.sum(axis=1)
    keep = rows > 0
    table, rows = table[keep], rows[keep]
    k = table.shape[1]
    if k < 2 or table.shape[0] == 0:
        return None
    share = table / rows[:, None]
    classes = [1] if k == 2 else list(range(k))
    aucs = []
    for c in classes:
        a = _binary_auc(table[:, c], rows - table[:, c], share[:, c])
        if a is not None:
            aucs.append(a)
    return float(np.mean(aucs)) if aucs else None


# -- the engine side -----------------------------------------------------------------------------


def _is_numeric(col: Any) -> bool:
    dtype = col.type()
    return bool(dtype.is_numeric() and not dtype.is_boolean())


def _edges(t: ir.Table, names: list[str], bins: int) -> dict[str, list[float]]:
    """Interior quantile cut points of each numeric feature, one exact query for all."""
    if not names:
        return {}
    qs = [i / bins for i in range(1, bins)]
    aggs = {
        f"_q{j}_{i}": t[name].cast("float64").quantile(q)
        for j, name in enumerate(names)
        for i, q in enumerate(qs)
    }
    row = t.aggregate(**aggs).to_pyarrow().to_pylist()[0]
    out = {}
    for j, name in enumerate(names):
        vals = [row[f"_q{j}_{i}"] for i in range(len(qs))]
        out[name] = sorted({float(v) for v in vals if v is not None and math.isfinite(v)})
    return out


def _contingency(t: ir.Table, key: Any, protected: str) -> tuple[list[Any], list[Any], np.ndarray]:
    """(levels, attribute values, counts) from one GROUP BY in the engine."""
    q = t.group_by([key.name("_tc_level"), t[protected].name("_tc_attr")]).aggregate(
        _tc_n=t.count()
    )
    recs = q.to_pyarrow().to_pylist()
    levels = sorted({r["_tc_level"] for r in recs}, key=lambda v: (v is None, str(v)))
    values = sorted({r["_tc_attr"] for r in recs}, key=str)
    li = {v: i for i, v in enumerate(levels)}
    vi = {v: i for i, v in enumerate(values)}
    table = np.zeros((len(levels), len(values)))
    for r in recs:
        table[li[r["_tc_level"]], vi[r["_tc_attr"]]] += r["_tc_n"]
    return levels, values, table


def pool_rare(table: np.ndarray, min_size: int) -> tuple[np.ndarray, int]:
    """Merge the rows (levels) with fewer than ``min_size`` counts into one; (table, merged)."""
    if min_size <= 1:
        return table, 0
    sizes = table.sum(axis=1)
    rare = sizes < min_size
    merged = int(rare.sum())
    if merged <= 1:
        return table, 0
    return np.vstack([table[~rare], table[rare].sum(axis=0, keepdims=True)]), merged


def score_table(feature: str, treatment: str, table: np.ndarray, min_level_size: int) -> ProxyScore:
    """Every association measure of one feature's contingency table."""
    table, merged = pool_rare(table, min_level_size)
    v, chi2, dof, p = cramers_v(table)
    mi, u = mutual_information(table)
    return ProxyScore(
        feature=feature,
        treatment=treatment,
        levels=int(table.shape[0]),
        rows=int(table.sum()),
        cramers_v=v,
        mutual_information=mi,
        uncertainty_coefficient=u,
        auc=feature_auc(table),
        chi2=chi2,
        dof=dof,
        p_value=p,
        pooled_levels=merged,
    )


def detect_proxies(
    source: str | os.PathLike[str] | ir.Table | Source,
    protected: str,
    features: Sequence[str] | None = None,
    *,
    table: str | None = None,
    v_threshold: float = DEFAULT_V_THRESHOLD,
    auc_threshold: float = DEFAULT_AUC_THRESHOLD,
    alpha: float = 0.05,
    bins: int = DEFAULT_BINS,
    min_level_size: int = DEFAULT_MIN_LEVEL_SIZE,
    max_levels: int = DEFAULT_MAX_LEVELS,
) -> ProxyReport:
    """Score each candidate feature (default: every other column) against ``protected``.

    Rows with a NULL protected attribute are left out (counted in the notes). Returns the
    scores, strongest first, with the proxies flagged and one finding per proxy.
    """
    started = time.perf_counter()
    src = source if isinstance(source, Source) else open_source(source, table=table)
    t = src.table
    names = list(t.columns)
    if protected not in names:
        raise ValidationError(
            f"unknown column {protected!r} (--protected); available columns: {', '.join(names)}",
            details={"column": protected, "option": "--protected", "available": names},
        )
    feats = list(features) if features else [c for c in names if c != protected]
    for f in feats:
        if f not in names:
            raise ValidationError(
                f"unknown column {f!r} (--feature); available columns: {', '.join(names)}",
                details={"column": f, "option": "--feature", "available": names},
            )
    if protected in feats:
        raise ValidationError(f"{protected!r} is the protected attribute, not a candidate feature")
    if len(set(feats)) != len(feats):
        raise ValidationError(f"a feature is named twice: {', '.join(feats)}")
    if not feats:
        raise ValidationError("no candidate feature: the source has only the protected column")
    if bins < 2:
        raise ValidationError(f"--bins must be 2 or more, not {bins}")
    for name, value in (("--threshold", v_threshold), ("--auc-threshold", auc_threshold)):
        if not 0 <= value <= 1:
            raise ValidationError(f"{name} must be between 0 and 1, not {value}")

    total = int(t.count().execute())
    known = t.filter(t[protected].notnull())
    counts = (
        known.aggregate(
            _tc_rows=known.count(),
            _tc_classes=known[protected].nunique(),
            **{f"_n{i}": known[f].nunique() for i, f in enumerate(feats)},
        )
        .to_pyarrow()
        .to_pylist()[0]
    )
    rows = int(counts["_tc_rows"])
    if rows == 0:
        raise ValidationError(
            f"no row of {src.description} has a value in {protected!r}: nothing to compare with"
        )
    classes = int(counts["_tc_classes"])
    notes = []
    if total - rows:
        notes.append(f"{total - rows} row(s) with NULL {protected} left out")
    if classes < 2:
        notes.append(f"{protected} has a single value: no feature can be associated with it")
    distinct = {f: int(counts[f"_n{i}"]) for i, f in enumerate(feats)}
    binned = [f for f in feats if _is_numeric(known[f]) and distinct[f] > bins]
    edges = _edges(known, binned, bins)
    scores: list[ProxyScore] = []
    for f in feats:
        col = known[f]
        if f in edges:
            key = col.cast("float64").bucket(edges[f], include_under=True, include_over=True)
            treatment = "binned"
        elif distinct[f] > max_levels:
            notes.append(
                f"{f}: {distinct[f]} distinct values (identifier-like, above --max-levels "
                f"{max_levels}): not scored"
            )
            continue
        else:
            key, treatment = col, "categorical"
        _, _, tab = _contingency(known, key, protected)
        s = score_table(f, treatment, tab, min_level_size)
        if f in edges:
            s.bin_edges = edges[f]
        scores.append(s)
    holm = stats.holm([s.p_value for s in scores])
    findings = []
    for s, ph in zip(scores, holm, strict=True):
        s.p_value_holm = ph
        strong_v = s.cramers_v is not None and s.cramers_v >= v_threshold
        strong_auc = s.auc is not None and s.auc >= auc_threshold
        s.proxy = ph < alpha and (strong_v or strong_auc)
        if s.proxy:
            findings.append(_finding(s, protected, v_threshold, auc_threshold))
    scores.sort(key=lambda s: (not s.proxy, -(s.cramers_v or 0.0), s.feature))
    findings.sort(key=lambda f: -f.value)
    return ProxyReport(
        protected=protected,
        rows=rows,
        classes=classes,
        features=scores,
        findings=findings,
        parameters={
            "protected": protected,
            "features": feats,
            "table": table,
            "v_threshold": v_threshold,
            "auc_threshold": auc_threshold,
            "alpha": alpha,
            "bins": bins,
            "min_level_size": min_level_size,
            "max_levels": max_levels,
        },
        source=src.to_dict(),
        notes=notes,
        elapsed_seconds=time.perf_counter() - started,
    )


def describe(s: ProxyScore, protected: str) -> str:
    """One line a person reads: the feature and its numbers."""
    v = "–" if s.cramers_v is None else f"{s.cramers_v:.2f}"
    auc = "–" if s.auc is None else f"{s.auc:.2f}"
    return (
        f"{s.feature} is a proxy of {protected}: Cramér's V {v}, AUC {auc}, "
        f"MI {s.mutual_information:.3f} nats (Holm-adjusted p={s.p_value_holm:.2g})"
    )


def _finding(s: ProxyScore, protected: str, v_th: float, auc_th: float) -> Finding:
    return Finding(
        severity="medium",
        message=describe(s, protected),
        rule=f"{TRUSTCART_DEFAULT}: Cramér's V >= {v_th} or AUC >= {auc_th}",
        metric="cramers_v",
        group={"feature": s.feature},
        reference_group={"protected": protected},
        value=float(s.cramers_v or 0.0),
        threshold=v_th,
        p_value=s.p_value,
        p_value_holm=s.p_value_holm,
        advice=(
            "a model using this feature can discriminate by the protected attribute without "
            "seeing it: block it in the gateway (`trustcart audit proxies … --register`) or "
            "justify its use and audit the outcomes by the protected attribute"
        ),
        extra={"auc": s.auc, "mutual_information": s.mutual_information},
    )


def register_proxies(store: Store, report: ProxyReport, audit_id: str) -> list[str]:
    """Write every proxy of ``report`` into the gateway's blocklist, citing ``audit_id``."""
    from trustcart.gateway.proxies import register_proxy

    done = []
    for s in report.proxies:
        register_proxy(
            store, s.feature, describe(s, report.protected), f"fairness audit {audit_id}"
        )
        done.append(s.feature)
    return done


__all__ = [
    "DEFAULT_AUC_THRESHOLD",
    "DEFAULT_BINS",
    "DEFAULT_MIN_LEVEL_SIZE",
    "DEFAULT_V_THRESHOLD",
    "ProxyReport",
    "ProxyScore",
    "cramers_v",
    "detect_proxies",
    "feature_auc",
    "mutual_information",
    "register_proxies",
]
