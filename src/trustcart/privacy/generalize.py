"""Anonymization by generalization and suppression: strict multidimensional Mondrian.

Why Mondrian (LeFevre, DeWitt & Ramakrishnan 2006): it adapts the coarseness to the data — dense
regions keep narrow ranges, sparse ones get wide ones — instead of one generalization level for
the whole column, and it runs in O(n log n). The algorithm:

1. Start with one partition holding every row.
2. Order the QIs by the partition's normalized width (distinct-rank range / domain size). On the
   widest QI whose cut is *allowable*, split at the median, strictly (``≤ median`` left,
   ``> median`` right; if every value is ≤ the median, ``< median`` left). A cut is allowable
   when both halves hold ≥ k rows and, if ``l`` is asked, ≥ l distinct non-NULL values of
   every sensitive attribute.
3. Repeat on each half; a partition with no allowable cut becomes an equivalence class.
4. Each class releases, per QI, the lowest node of that QI's hierarchy that covers its values
   (``123**``, ``20-34``, ``2024-03``, a category's ancestor).

Suppression (``max_suppression``, a share of the rows): before cutting a partition, a tail of
fewer than k rows at either end of a QI that is *isolated* — separated from the rest by a gap
larger than half the partition's extent on that QI (in value for numbers and dates, in
hierarchy order for codes and categories) — is removed while the budget lasts, partitions being
visited breadth-first so that the budget goes to the outliers of the largest regions first.
Outliers are what stretch ranges; dropping a few of them buys narrower labels for everyone else.

Utility loss, reported two ways:

* **NCP** (normalized certainty penalty, Xu et al. 2006): per released value, the share of the
  QI's domain its label covers (0 exact … 1 ``*``); averaged over rows × QIs, a suppressed row
  counting 1 per QI. ``ncp_released`` is the same average over released rows only.
* **Discernibility metric** (Bayardo & Agrawal 2005): ``Σ |E|²`` over released classes plus
  ``n`` per suppressed row — how many rows each row is indistinguishable from.

Monotonicity in k is not a theorem for greedy Mondrian (a smaller k may choose another QI at
some node), but it holds in practice and the tests check it on a fixed dataset.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import ibis
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from trustcart.errors import ValidationError
from trustcart.privacy.anonymity import (
    AnonymityReport,
    SourceLike,
    measure,
    open_table,
    require_columns,
)
from trustcart.privacy.hierarchies import (
    CategoricalHierarchy,
    DateHierarchy,
    Fitted,
    Hierarchy,
    IntervalHierarchy,
    hierarchy_from_name,
)

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class AnonymizationResult:
    """The anonymized rows and what it cost: achieved k/l/t, suppression, utility loss."""

    table: pa.Table
    target_k: int
    target_l: int | None
    rows_in: int
    suppressed: int
    max_suppressed: int
    ncp: float
    ncp_released: float
    discernibility: int
    achieved: AnonymityReport
    hierarchies: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (without the rows)."""
        return {
            "target": {"k": self.target_k, "l": self.target_l},
            "rows_in": self.rows_in,
            "rows_out": self.table.num_rows,
            "suppressed": self.suppressed,
            "suppression_budget": self.max_suppressed,
            "hierarchies": self.hierarchies,
            "utility_loss": {
                "ncp": round(self.ncp, 6),
                "ncp_released": round(self.ncp_released, 6),
                "discernibility": self.discernibility,
            },
            "achieved": self.achieved.to_dict(),
        }


def default_hierarchy(dtype: pa.DataType) -> Hierarchy:
    """Exact ranges for numbers, day→month→year for dates, value sets for anything else."""
    if pa.types.is_integer(dtype) or pa.types.is_floating(dtype) or pa.types.is_decimal(dtype):
        return IntervalHierarchy()
    if pa.types.is_date(dtype) or pa.types.is_timestamp(dtype):
        return DateHierarchy()
    return CategoricalHierarchy()


def _ranks(codes: npt.NDArray[np.float64]) -> IntArray:
    """Dense ranks 1..d of the codes, 0 for NULL (NULLs sort before every value)."""
    out = np.zeros(codes.size, dtype=np.int64)
    present = ~np.isnan(codes)
    if present.any():
        _, inverse = np.unique(codes[present], return_inverse=True)
        out[present] = inverse + 1
    return out


def _sensitive_codes(column: pa.ChunkedArray) -> IntArray:
    values = column.to_pylist()
    index: dict[Any, int] = {}
    return np.array(
        [-1 if v is None else index.setdefault(v, len(index)) for v in values], dtype=np.int64
    )


class _Mondrian:
    """The partitioning state: rank matrix, sensitive codes, targets and suppression budget."""

    def __init__(
        self,
        ranks: IntArray,
        codes: npt.NDArray[np.float64],
        sens: IntArray,
        k: int,
        l_div: int | None,
        budget: int,
    ) -> None:
        self.ranks = ranks
        self.codes = codes
        self.sens = sens
        self.k = k
        self.l = l_div
        self.budget = budget
        self.suppressed: list[IntArray] = []
        self.extent = np.maximum(ranks.max(axis=0) - ranks.min(axis=0), 1).astype(np.float64)

    def diverse(self, rows: IntArray) -> bool:
        if self.l is None:
            return True
        for j in range(self.sens.shape[1]):
            s = self.sens[rows, j]
            if np.unique(s[s >= 0]).size < self.l:
                return False
        return True

    def allowed(self, rows: IntArray) -> bool:
        return rows.size >= self.k and self.diverse(rows)

    def trim(self, rows: IntArray) -> IntArray:
        """Drop isolated tails of < k rows while the budget lasts (see module docstring)."""
        changed = True
        while changed and self.budget > 0:
            changed = False
            for d in range(self.codes.shape[1]):
                r = self.codes[rows, d]
                if np.isnan(r).any():
                    continue  # NULLs have no distance to anything: no outlier test
                order = np.argsort(r, kind="stable")
                sr = r[order]
                spread = sr[-1] - sr[0]
                if spread == 0:
                    continue
                limit = min(self.k - 1, rows.size - self.k, self.budget)
                if limit <= 0:
                    return rows
                gaps_lo = sr[1 : limit + 1] - sr[:limit]
                gaps_hi = sr[::-1][:limit] - sr[::-1][1 : limit + 1]
                for gaps, from_top in ((gaps_lo, False), (gaps_hi, True)):
                    hit = np.flatnonzero(2 * gaps > spread)
                    if hit.size == 0:
                        continue
                    m = int(hit[0]) + 1
                    cut = order[-m:] if from_top else order[:m]
                    keep = np.ones(rows.size, dtype=bool)
                    keep[cut] = False
                    if not self.diverse(rows[keep]):
                        continue
                    self.suppressed.append(rows[~keep])
                    self.budget -= m
                    rows = rows[keep]
                    changed = True
                    break
                if changed:
                    break
        return rows

    def cut(self, rows: IntArray) -> tuple[IntArray, IntArray] | None:
        sub = self.ranks[rows]
        width = (sub.max(axis=0) - sub.min(axis=0)) / self.extent
        for d in np.argsort(-width, kind="stable"):
            if width[d] == 0:
                break
            r = sub[:, d]
            median = np.partition(r, (r.size - 1) // 2)[(r.size - 1) // 2]
            left = r <= median
            if left.all():
                left = r < median
            lhs, rhs = rows[left], rows[~left]
            if self.allowed(lhs) and self.allowed(rhs):
                return lhs, rhs
        return None

    def run(self) -> list[IntArray]:
        # Breadth-first, so the suppression budget goes to outliers of large partitions first.
        leaves: list[IntArray] = []
        queue = deque([np.arange(self.ranks.shape[0], dtype=np.int64)])
        while queue:
            rows = self.trim(queue.popleft())
            halves = self.cut(rows)
            if halves is None:
                leaves.append(rows)
            else:
                queue.extend(halves)
        return leaves


def mondrian(
    source: SourceLike,
    quasi_identifiers: Sequence[str],
    k: int,
    *,
    l_diversity: int | None = None,
    sensitive: Sequence[str] = (),
    hierarchies: Mapping[str, Hierarchy | str] | None = None,
    max_suppression: float = 0.0,
    table: str | None = None,
) -> AnonymizationResult:
    """Generalize ``quasi_identifiers`` of ``source`` until every class has ≥ ``k`` rows
    (and ≥ ``l_diversity`` distinct values of each ``sensitive`` column).

    ``hierarchies`` maps a QI to a :class:`Hierarchy` or a name (``zip``, ``age``, ``date``,
    ``interval``, ``categorical``); the others get :func:`default_hierarchy`.
    ``max_suppression`` is the share of rows (0–1) that may be dropped as outliers.
    """
    t, _ = open_table(source, table=table)
    qis, sens = list(quasi_identifiers), list(sensitive)
    if not qis:
        raise ValidationError("give at least one quasi-identifier column (--qi COL)")
    require_columns(t, qis, "quasi-identifier")
    require_columns(t, sens, "sensitive")
    chosen = dict(hierarchies or {})
    require_columns(t, list(chosen), "hierarchy")
    if k < 1:
        raise ValidationError(f"k must be at least 1 (got {k})")
    if l_diversity is not None:
        if l_diversity < 1:
            raise ValidationError(f"l must be at least 1 (got {l_diversity})")
        if not sens:
            raise ValidationError("l-diversity needs the sensitive column(s): give --sensitive COL")
    if not 0.0 <= max_suppression < 1.0:
        raise ValidationError(
            f"the suppression budget is a share in [0, 1) (got {max_suppression})"
        )
    data = t.to_pyarrow()
    n = data.num_rows
    if k > n:
        raise ValidationError(
            f"k={k} is larger than the number of rows ({n}): no grouping can put {k} rows in "
            f"every class; choose k ≤ {n}"
        )
    fitted: dict[str, Fitted] = {}
    names: dict[str, str] = {}
    for q in qis:
        spec = chosen.get(q)
        h = (
            default_hierarchy(data.schema.field(q).type)
            if spec is None
            else hierarchy_from_name(spec)
            if isinstance(spec, str)
            else spec
        )
        fitted[q] = h.fit(_pylist(data[q]))
        names[q] = h.name
    codes = np.column_stack([fitted[q].codes for q in qis])
    ranks = np.column_stack([_ranks(fitted[q].codes) for q in qis])
    sens_codes = (
        np.column_stack([_sensitive_codes(data[s]) for s in sens])
        if sens
        else np.zeros((n, 0), dtype=np.int64)
    )
    budget = int(max_suppression * n)
    engine = _Mondrian(ranks, codes, sens_codes, k, l_diversity, budget)
    if not engine.diverse(np.arange(n, dtype=np.int64)):
        raise ValidationError(
            f"l={l_diversity} is not reachable: the whole table has fewer than {l_diversity} "
            f"distinct values in a sensitive column ({', '.join(sens)})"
        )
    leaves = engine.run()
    labels = {q: np.empty(n, dtype=object) for q in qis}
    penalty = np.zeros(n)
    for rows in leaves:
        for q in qis:
            label, ncp = fitted[q].label(fitted[q].codes[rows])
            labels[q][rows] = label
            penalty[rows] += ncp
    kept = np.sort(np.concatenate(leaves))
    out = data.take(pa.array(kept))
    for q in qis:
        out = out.set_column(
            out.schema.get_field_index(q), q, pa.array(labels[q][kept], type=pa.string())
        )
    suppressed = n - kept.size
    achieved = measure(ibis.memtable(out), qis, sens)
    d = len(qis)
    return AnonymizationResult(
        table=out,
        target_k=k,
        target_l=l_diversity,
        rows_in=n,
        suppressed=suppressed,
        max_suppressed=budget,
        ncp=float((penalty[kept].sum() + suppressed * d) / (n * d)),
        ncp_released=float(penalty[kept].sum() / (kept.size * d)),
        discernibility=sum(size * size * c for size, c in achieved.class_sizes.items())
        + suppressed * n,
        achieved=achieved,
        hierarchies=names,
    )


def _pylist(column: pa.ChunkedArray) -> list[Any]:
    values: list[Any] = column.to_pylist()
    if pa.types.is_timestamp(column.type):
        return [
            None if v is None else v.date() if isinstance(v, dt.datetime) else v for v in values
        ]
    return values
