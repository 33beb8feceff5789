"""How identifiable a table still is: k-anonymity, l-diversity and t-closeness.

Why measure in the engine: a k-anonymity check is a GROUP BY over the quasi-identifiers (QIs),
so it runs where the data lives (DuckDB over Parquet/CSV, or a database through Ibis) and only
the histogram of equivalence-class sizes reaches Python. For each sensitive attribute the engine
also aggregates one row per (class, value) with its count; the per-class arithmetic of
l-diversity and t-closeness (entropy, cumulative distributions) then runs vectorised in numpy
on that aggregate, never on the raw rows and never in a Python loop per class.

Definitions implemented (Machanavajjhala et al. 2007; Li, Li & Venkatasubramanian 2007):

* **Equivalence class**: the rows sharing one combination of QI values. NULL is a value of its
  own (SQL GROUP BY semantics): all rows with a missing QI and equal other QIs form one class.
* **k-anonymity**: ``k`` = the size of the smallest equivalence class.
* **Distinct l-diversity**: ``l`` = the smallest number of distinct non-NULL sensitive values in
  any class. NULL does not count as a value (a missing diagnosis does not hide a present one);
  a class whose sensitive values are all NULL has ``l = 0``.
* **Entropy l-diversity**: ``l = exp(min over classes of H)``, ``H = -Σ p·ln p`` over the class's
  non-NULL sensitive values (a float; ``0`` when some class has no non-NULL value).
* **t-closeness**: ``t`` = the largest Earth Mover's Distance between a class's distribution of
  the sensitive attribute and the whole table's (non-NULL values; all-NULL classes are skipped).
  Categorical attributes use the *equal-distance* EMD, which is half the L1 distance
  ``½ Σ_v |q_v − p_v|``. Numeric attributes use the *ordered-distance* EMD over the ``m`` sorted
  distinct values of the table: ``1/(m−1) · Σ_i |Σ_{j≤i} (q_j − p_j)|`` (``0`` when ``m = 1``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

import ibis
import ibis.expr.types as ir
import numpy as np
import numpy.typing as npt

from trustcart.errors import ValidationError
from trustcart.fairness.sources import open_source

SourceLike: TypeAlias = "str | os.PathLike[str] | ir.Table"
_N = "__tc_n"
_CLS = "__tc_cls"
_VAL = "__tc_val"


def open_table(source: SourceLike, *, table: str | None = None) -> tuple[ir.Table, str]:
    """The Ibis table behind ``source`` (file, folder, glob, database URL + table, or table).

    Reuses the fairness audits' opener so both tools accept exactly the same sources.
    """
    opened = open_source(source, table=table)
    return opened.table, opened.description


def require_columns(t: ir.Table, columns: Sequence[str], role: str) -> None:
    """Raise a :class:`ValidationError` naming the unknown columns and the available ones."""
    available = list(t.columns)
    unknown = [c for c in columns if c not in available]
    if unknown:
        raise ValidationError(
            f"unknown {role} column(s) {', '.join(repr(c) for c in unknown)}; "
            f"available columns: {', '.join(available)}",
            details={"unknown": unknown, "available": available},
        )


def class_size_histogram(t: ir.Table, quasi_identifiers: Sequence[str]) -> dict[int, int]:
    """``{class size: number of classes}``, from two GROUP BYs in the engine.

    The histogram is tiny (one entry per distinct class size) yet holds everything k-anonymity
    and prosecutor risk need: the minimum size, the number of classes and of rows.
    """
    qis = list(quasi_identifiers)
    if not qis:
        raise ValidationError("give at least one quasi-identifier column (--qi COL)")
    require_columns(t, qis, "quasi-identifier")
    sizes = t.group_by(qis).aggregate(**{_N: t.count()})
    hist = sizes.group_by(_N).aggregate(classes=sizes.count()).to_pyarrow()
    return {
        int(n): int(c)
        for n, c in zip(hist[_N].to_pylist(), hist["classes"].to_pylist(), strict=True)
    }


@dataclass(frozen=True)
class SensitiveStats:
    """Diversity and closeness of one sensitive attribute over the equivalence classes."""

    column: str
    kind: Literal["categorical", "numeric"]
    distinct_values: int
    l_distinct: int
    l_entropy: float
    t_closeness: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "column": self.column,
            "kind": self.kind,
            "emd": "ordered-distance" if self.kind == "numeric" else "equal-distance",
            "distinct_values": self.distinct_values,
            "l_distinct": self.l_distinct,
            "l_entropy": round(self.l_entropy, 6),
            "t_closeness": round(self.t_closeness, 6),
        }


@dataclass(frozen=True)
class AnonymityReport:
    """k, l and t of one table for one choice of quasi-identifiers and sensitive attributes."""

    source: str
    rows: int
    quasi_identifiers: tuple[str, ...]
    classes: int
    k: int
    class_sizes: dict[int, int]
    sensitive: tuple[SensitiveStats, ...] = field(default_factory=tuple)

    @property
    def l_distinct(self) -> int | None:
        """The distinct l over all sensitive attributes (the weakest one), or None."""
        return min((s.l_distinct for s in self.sensitive), default=None)

    @property
    def l_entropy(self) -> float | None:
        """The entropy l over all sensitive attributes (the weakest one), or None."""
        return min((s.l_entropy for s in self.sensitive), default=None)

    @property
    def t_closeness(self) -> float | None:
        """The t over all sensitive attributes (the farthest one), or None."""
        return max((s.t_closeness for s in self.sensitive), default=None)

    @property
    def singletons(self) -> int:
        """Rows that are unique on the quasi-identifiers (class size 1)."""
        return self.class_sizes.get(1, 0)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (what ``trustcart privacy check --format json`` prints)."""
        return {
            "source": self.source,
            "rows": self.rows,
            "quasi_identifiers": list(self.quasi_identifiers),
            "classes": self.classes,
            "k": self.k,
            "singletons": self.singletons,
            "class_sizes": {str(n): c for n, c in sorted(self.class_sizes.items())},
            "l_distinct": self.l_distinct,
            "l_entropy": None if self.l_entropy is None else round(self.l_entropy, 6),
            "t_closeness": None if self.t_closeness is None else round(self.t_closeness, 6),
            "sensitive": [s.to_dict() for s in self.sensitive],
        }


def measure(
    source: SourceLike,
    quasi_identifiers: Sequence[str],
    sensitive: Sequence[str] = (),
    *,
    table: str | None = None,
) -> AnonymityReport:
    """k-anonymity, and for each sensitive column l-diversity and t-closeness, of ``source``."""
    t, description = open_table(source, table=table)
    qis = list(quasi_identifiers)
    sens = list(sensitive)
    require_columns(t, qis, "quasi-identifier")
    require_columns(t, sens, "sensitive")
    overlap = sorted(set(qis) & set(sens))
    if overlap:
        raise ValidationError(
            f"column(s) {', '.join(overlap)} given both as quasi-identifier and as sensitive; "
            "an attribute is one or the other"
        )
    hist = class_size_histogram(t, qis)
    rows = sum(n * c for n, c in hist.items())
    if rows == 0:
        raise ValidationError(f"{description} has no rows: nothing to measure")
    classes = sum(hist.values())
    stats = tuple(sensitive_stats(t, qis, s, classes=classes) for s in sens)
    return AnonymityReport(
        source=description,
        rows=rows,
        quasi_identifiers=tuple(qis),
        classes=classes,
        k=min(hist),
        class_sizes=dict(sorted(hist.items())),
        sensitive=stats,
    )


def _is_numeric(t: ir.Table, column: str) -> bool:
    dtype = t[column].type()
    return bool(dtype.is_numeric() and not dtype.is_boolean())


def sensitive_stats(
    t: ir.Table, quasi_identifiers: Sequence[str], column: str, *, classes: int
) -> SensitiveStats:
    """l and t of one sensitive column, given the number of equivalence classes.

    The engine returns one row per (class, non-NULL value): a dense class id, a dense value
    rank (sorted, so the ordered EMD can follow the value order) and the count.
    """
    qis = list(quasi_identifiers)
    kind: Literal["categorical", "numeric"] = "numeric" if _is_numeric(t, column) else "categorical"
    present = t.filter(t[column].notnull())
    agg = present.group_by([*qis, column]).aggregate(**{_N: present.count()})
    agg = agg.mutate(
        **{
            _CLS: ibis.dense_rank().over(order_by=[agg[q] for q in qis]),
            _VAL: ibis.dense_rank().over(order_by=agg[column]),
        }
    )
    arrow = agg.select(_CLS, _VAL, _N).to_pyarrow()
    cls_raw = np.asarray(arrow[_CLS].to_numpy(), dtype=np.int64)
    val = np.asarray(arrow[_VAL].to_numpy(), dtype=np.int64)
    cnt = np.asarray(arrow[_N].to_numpy(), dtype=np.float64)
    if cnt.size == 0:  # every sensitive value is NULL
        return SensitiveStats(column, kind, 0, 0, 0.0, 0.0)
    order = np.lexsort((val, cls_raw))
    cls_raw, val, cnt = cls_raw[order], val[order], cnt[order]
    _, cls = np.unique(cls_raw, return_inverse=True)
    _, val = np.unique(val, return_inverse=True)
    n_cls = int(cls.max()) + 1
    m = int(val.max()) + 1
    totals = np.bincount(cls, weights=cnt, minlength=n_cls)
    distinct = np.bincount(cls, minlength=n_cls)
    all_null_classes = classes - n_cls
    l_distinct = 0 if all_null_classes else int(distinct.min())
    entropy = np.log(totals) - np.bincount(cls, weights=cnt * np.log(cnt), minlength=n_cls) / totals
    l_entropy = 0.0 if all_null_classes else float(math.exp(float(entropy.min())))
    p = np.bincount(val, weights=cnt, minlength=m) / cnt.sum()
    q = cnt / totals[cls]
    if kind == "categorical":
        emd = equal_distance_emd(cls, val, q, p, n_cls)
    else:
        emd = ordered_distance_emd(cls, val, q, p, n_cls)
    return SensitiveStats(column, kind, m, l_distinct, l_entropy, float(emd.max()))


FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def equal_distance_emd(
    cls: IntArray, val: IntArray, q: FloatArray, p: FloatArray, n_cls: int
) -> FloatArray:
    """Per class ``½ Σ_v |q_v − p_v|``, summing only over values present in the class.

    A value absent from the class contributes ``p_v``, so the absent ones together add
    ``1 − Σ_{v present} p_v`` and never need a row of their own.
    """
    present_l1 = np.bincount(cls, weights=np.abs(q - p[val]), minlength=n_cls)
    present_p = np.bincount(cls, weights=p[val], minlength=n_cls)
    result: FloatArray = np.asarray(0.5 * (present_l1 + 1.0 - present_p), dtype=np.float64)
    return result


def ordered_distance_emd(
    cls: IntArray, val: IntArray, q: FloatArray, p: FloatArray, n_cls: int
) -> FloatArray:
    """Per class ``1/(m−1) Σ_i |Q_i − P_i|`` with cumulative distributions Q (class), P (table).

    Rows must be sorted by (class, value). Between two values present in a class, ``Q`` is
    constant while ``P`` rises, so each stretch is summed in O(log m) with prefix sums of ``P``
    and a binary search for where ``P`` crosses ``Q`` — no class × value grid is materialised.
    """
    m = p.size
    if m <= 1:
        return np.zeros(n_cls)
    big_p = np.cumsum(p)
    prefix = np.concatenate(([0.0], np.cumsum(big_p)))  # prefix[i] = Σ_{j<i} P_j
    big_q = _group_cumsum(cls, q)
    lo = val
    nxt = np.empty_like(val)
    nxt[:-1] = val[1:]
    nxt[-1] = m
    last_in_class = np.ones(cls.size, dtype=bool)
    last_in_class[:-1] = cls[1:] != cls[:-1]
    hi = np.where(last_in_class, m, nxt)
    cross = np.clip(np.searchsorted(big_p, big_q, side="right"), lo, hi)
    below = big_q * (cross - lo) - (prefix[cross] - prefix[lo])
    above = (prefix[hi] - prefix[cross]) - big_q * (hi - cross)
    seg = np.bincount(cls, weights=below + above, minlength=n_cls)
    first_in_class = np.ones(cls.size, dtype=bool)
    first_in_class[1:] = cls[1:] != cls[:-1]
    lead = np.zeros(n_cls)
    lead[cls[first_in_class]] = prefix[val[first_in_class]]  # Q = 0 before the first value
    result: FloatArray = (seg + lead) / (m - 1)
    return result


def _group_cumsum(groups: IntArray, values: FloatArray) -> FloatArray:
    """Cumulative sum of ``values`` restarting at each new group (rows sorted by group)."""
    total = np.cumsum(values)
    starts = np.ones(groups.size, dtype=bool)
    starts[1:] = groups[1:] != groups[:-1]
    offset = np.where(starts, total - values, 0.0)
    offset = np.maximum.accumulate(np.where(starts, offset, -np.inf))
    result: FloatArray = total - offset
    return result
