"""Exact per-group quantiles and two-sample KS distances from histograms, in bounded memory.

Why not the engine's exact quantile (DuckDB ``quantile_cont``, PostgreSQL ``percentile_cont``,
Spark ``percentile``): it keeps every value of every group in memory and sorts it — at 10M rows
seconds and hundreds of MiB, and on Spark a count per distinct value in the executors. Yet an
audit needs only a handful of order statistics per group, and a histogram says where they are:

1. one GROUP BY (group, bin) over ``BINS`` equal-width bins on [min, max] returns each bin's
   row count, smallest and largest value (a few thousand rows per group);
2. cumulative counts give the bin holding each wanted rank; a rank that is its bin's first or
   last, or a bin holding one distinct value, is read off directly;
3. one more query returns the distinct values, with counts, of just the bins still needed, and
   the order statistic is exact. A bin too big to fetch (more than ``FETCH_MAX`` rows: heavily
   concentrated data, e.g. one huge outlier) gets its own histogram, and so on.

Quantiles use linear interpolation between order statistics, i.e. ``numpy.quantile(method=
"linear")`` / ``quantile_cont``: the value at (n − 1)·q.

KS between groups a and b (:func:`ks_statistic`): at the top of every bin the binned ECDFs are
the exact ECDFs, so their largest gap is a lower bound of the KS distance; inside a bin the gap
is at most max(|Fa_end − Fb_start|, |Fa_start − Fb_end|) and can only beat the lower bound in a
bin where both groups have values (elsewhere one ECDF is flat and the gap is largest at the bin
ends). Those bins' values are fetched and the gap evaluated exactly at every value. If that
would exceed ``FETCH_MAX`` rows, the bins not evaluated leave a reported ``max_error``.

Bins are always recomputed in the engine by one expression, never compared with Python floats
(SQL literals need not round-trip a double exactly), so a bin is the same rows in every query.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import ibis
import numpy as np
import pyarrow as pa

from trustcart.errors import ValidationError
from trustcart.fairness._spec import Spec
from trustcart.fairness.result import Cell

#: Per-group quantiles computed for continuous audits (name → q).
QUANTILES: dict[str, float] = {"p10": 0.1, "p25": 0.25, "median": 0.5, "p75": 0.75, "p90": 0.9}
#: Equal-width bins of the first histogram (fewer when there are many groups, see HIST_MAX_ROWS).
BINS = 8192
#: Upper bound on (groups × bins) of the first histogram: the rows it may return.
HIST_MAX_ROWS = 400_000
#: Most (value, count) rows one refinement query may bring back.
FETCH_MAX = 500_000
#: Rows of KS bins fetched per refinement round, and the most rounds (each is one query).
KS_ROUND_ROWS = 100_000
KS_ROUNDS = 1
#: Nested histograms tried on a bin too big to fetch before ordering its rows in the engine.
MAX_DEPTH = 6


@dataclass(frozen=True)
class _Grid:
    """``bins`` equal-width bins starting at ``lo``; values outside land in the end bins."""

    lo: float
    width: float
    bins: int

    def expr(self, y: Any) -> Any:
        # GREATEST/LEAST, not .clip(): clip's NULL handling repeats the expression four times
        # in the SQL, and y is never NULL here (rows are filtered on the audit's validity).
        x = (y - self.lo) / self.width
        return ibis.greatest(ibis.least(x, self.bins - 1), 0).floor().cast("int64")


@dataclass
class _Hist:
    """One group's occupied bins in value order: bin id, rows, smallest and largest value."""

    k: np.ndarray
    n: np.ndarray
    vmin: np.ndarray
    vmax: np.ndarray
    cum: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.cum = np.cumsum(self.n)


@dataclass
class _Pending:
    """An order statistic still to find: rank ``rank`` (0-based) among the rows of ``path``."""

    cell: int
    path: tuple[tuple[_Grid, int], ...]
    rank: int
    n: int
    lo: float  # smallest and largest value in the bin
    hi: float


def _values(spec: Spec) -> Any:
    return spec.col(spec.outcome).cast("float64")


def _cell_condition(spec: Spec, group: dict[str, Any]) -> Any:
    cond = None
    for col, value in group.items():
        c = spec.col(col)
        term = c.isnull() if value is None else (c == value)
        cond = term if cond is None else cond & term
    return cond


def _cell_index(tbl: pa.Table, groups: Sequence[str], cells: Sequence[Cell]) -> np.ndarray:
    """For each returned row, the index of its cell in ``cells`` (−1 for cells not asked)."""
    lookup = {tuple(_key(c.group[g]) for g in groups): i for i, c in enumerate(cells)}
    keys = zip(*(map(_key, tbl[g].to_pylist()) for g in groups), strict=True)
    return np.fromiter((lookup.get(k, -1) for k in keys), dtype=np.int64, count=tbl.num_rows)


_NAN = object()


def _key(value: Any) -> Any:
    """A group value usable as a dict key: every NaN is one key (NaN != NaN, and two NaN
    objects do not even match by identity), so a NaN group finds its cell."""
    return _NAN if isinstance(value, float) and math.isnan(value) else value


def _histograms(spec: Spec, cells: Sequence[Cell], grid: _Grid, extra: Any = None) -> list[_Hist]:
    """Per cell, the occupied bins of ``grid`` (one GROUP BY (group columns, bin))."""
    y = _values(spec)
    t = spec.table
    cond = spec.valid if extra is None else spec.valid & extra
    groups = list(spec.groups)
    q = (
        t.filter(cond)
        .group_by([*groups, grid.expr(y).name("_tc_bin")])
        .aggregate(_tc_n=y.count(), _tc_min=y.min(), _tc_max=y.max())
    )
    tbl = q.to_pyarrow()
    owner = _cell_index(tbl, groups, cells)
    k = tbl["_tc_bin"].to_numpy(zero_copy_only=False)
    n = tbl["_tc_n"].to_numpy(zero_copy_only=False).astype(np.int64)
    vmin = tbl["_tc_min"].to_numpy(zero_copy_only=False).astype(np.float64)
    vmax = tbl["_tc_max"].to_numpy(zero_copy_only=False).astype(np.float64)
    out = []
    for i in range(len(cells)):
        sel = np.flatnonzero(owner == i)
        order = sel[np.argsort(k[sel], kind="stable")]
        out.append(_Hist(k[order], n[order], vmin[order], vmax[order]))
    return out


def _ranks(count: int, q: float) -> tuple[int, float]:
    """numpy's linear method: position (n − 1)·q, split into floor and fraction."""
    h = (count - 1) * q
    lo = math.floor(h)
    return lo, h - lo


def _interpolate(a: float, b: float, frac: float) -> float:
    """numpy's ``_lerp`` (same rounding: computed from the nearer end)."""
    diff = b - a
    return b - diff * (1 - frac) if frac >= 0.5 else a + diff * frac


def _locate(h: _Hist, rank: int) -> tuple[int, float | None, int]:
    """(bin position in ``h``, the value if the bin alone tells it, rank within the bin)."""
    pos = int(np.searchsorted(h.cum, rank, side="right"))
    before = int(h.cum[pos - 1]) if pos else 0
    r = rank - before
    n = int(h.n[pos])
    lo, hi = float(h.vmin[pos]), float(h.vmax[pos])
    if r == 0 or lo == hi:
        return pos, lo, r
    if r == n - 1:
        return pos, hi, r
    return pos, None, r


def _order_stat(values: np.ndarray, counts: np.ndarray, rank: int) -> float:
    """The ``rank``-th smallest (0-based) of sorted distinct ``values`` with ``counts``."""
    return float(values[int(np.searchsorted(np.cumsum(counts), rank, side="right"))])


def _path_condition(spec: Spec, path: Sequence[tuple[_Grid, int]]) -> Any:
    y = _values(spec)
    cond = None
    for grid, k in path:
        term = grid.expr(y) == k
        cond = term if cond is None else cond & term
    return cond


def _fetch_bins(
    spec: Spec, cells: Sequence[Cell], grid: _Grid, bins: Sequence[int]
) -> dict[tuple[int, int], tuple[np.ndarray, np.ndarray]]:
    """Distinct values and counts of ``bins`` of ``grid``, per (cell index, bin)."""
    if not bins:
        return {}
    y = _values(spec)
    t = spec.table
    b = grid.expr(y)
    groups = list(spec.groups)
    q = (
        t.filter(spec.valid & b.isin(sorted(set(bins))))
        .group_by([*groups, b.name("_tc_bin"), y.name("_tc_y")])
        .aggregate(_tc_n=y.count())
    )
    tbl = q.to_pyarrow()
    owner = _cell_index(tbl, groups, cells)
    k = tbl["_tc_bin"].to_numpy(zero_copy_only=False)
    v = tbl["_tc_y"].to_numpy(zero_copy_only=False).astype(np.float64)
    n = tbl["_tc_n"].to_numpy(zero_copy_only=False).astype(np.int64)
    out: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
    order = np.lexsort((v, k, owner))
    owner, k, v, n = owner[order], k[order], v[order], n[order]
    keys = np.stack([owner, k], axis=1) if len(k) else np.empty((0, 2), dtype=np.int64)
    if len(keys):
        starts = np.flatnonzero(np.r_[True, np.any(keys[1:] != keys[:-1], axis=1)])
        ends = np.r_[starts[1:], len(keys)]
        for s, e in zip(starts, ends, strict=True):
            if owner[s] >= 0:
                out[(int(owner[s]), int(k[s]))] = (v[s:e], n[s:e])
    return out


def _resolve_deep(spec: Spec, cells: Sequence[Cell], p: _Pending, depth: int = 0) -> float:
    """A rank inside a bin too big to fetch: histogram that bin again (rare: skewed data)."""
    y = _values(spec)
    where = _cell_condition(spec, cells[p.cell].group) & _path_condition(spec, p.path)
    t = spec.table
    if p.n <= FETCH_MAX or depth >= MAX_DEPTH:
        if p.n > FETCH_MAX:
            # Last resort, still exact: let the engine order the bin's rows.
            row = (
                t.filter(spec.valid & where)
                .select(_tc_y=y)
                .order_by("_tc_y")
                .limit(1, offset=p.rank)
                .to_pyarrow()
            )
            return float(row["_tc_y"][0].as_py())
        tbl = (
            t.filter(spec.valid & where)
            .group_by(y.name("_tc_y"))
            .aggregate(_tc_n=y.count())
            .order_by("_tc_y")
            .to_pyarrow()
        )
        values = tbl["_tc_y"].to_numpy(zero_copy_only=False).astype(np.float64)
        counts = tbl["_tc_n"].to_numpy(zero_copy_only=False).astype(np.int64)
        return _order_stat(values, counts, p.rank)
    grid = _Grid(p.lo, (p.hi - p.lo) / BINS, BINS)
    (h,) = _histograms(spec, [cells[p.cell]], grid, extra=_path_condition(spec, p.path))
    pos, value, r = _locate(h, p.rank)
    if value is not None:
        return value
    child = _Pending(
        p.cell,
        (*p.path, (grid, int(h.k[pos]))),
        r,
        int(h.n[pos]),
        float(h.vmin[pos]),
        float(h.vmax[pos]),
    )
    return _resolve_deep(spec, cells, child, depth + 1)


_Dense = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _dense(h: _Hist, bins: int) -> _Dense:
    """Rows, cumulative rows, smallest and largest value for every bin (NaN where empty)."""
    n = np.zeros(bins, dtype=np.int64)
    vmin = np.full(bins, np.nan)
    vmax = np.full(bins, np.nan)
    n[h.k], vmin[h.k], vmax[h.k] = h.n, h.vmin, h.vmax
    return n, np.cumsum(n), vmin, vmax


def _ks_bounds(
    da: _Dense, count_a: int, db: _Dense, count_b: int
) -> tuple[float, list[tuple[float, int]]]:
    """Exact largest gap at bin tops, and the bins whose inside could hold a larger one."""
    na, cuma, amin, amax = da
    nb, cumb, bmin, bmax = db
    fa, fb = cuma / count_a, cumb / count_b
    lower = float(np.max(np.abs(fa - fb)))
    sa, sb = (cuma - na) / count_a, (cumb - nb) / count_b
    upper = np.maximum(np.abs(fa - sb), np.abs(sa - fb))
    # Both groups at one single value: the ECDFs jump together, the bin ends say it all.
    one_value = (amin == amax) & (bmin == bmax) & (amin == bmin)
    inside = np.flatnonzero((na > 0) & (nb > 0) & ~one_value & (upper > lower))
    return lower, [(float(upper[k]), int(k)) for k in inside]


def _ks_in_bin(
    a: tuple[np.ndarray, np.ndarray],
    below_a: int,
    count_a: int,
    b: tuple[np.ndarray, np.ndarray],
    below_b: int,
    count_b: int,
) -> float:
    """Largest ECDF gap at the values of one bin, given each group's rows below the bin."""
    (va, ca), (vb, cb) = a, b
    points = np.union1d(va, vb)
    # Integer counts up to each value, divided once, as scipy's ECDF does.
    at_a = below_a + np.cumsum(np.bincount(np.searchsorted(points, va), ca, len(points)))
    at_b = below_b + np.cumsum(np.bincount(np.searchsorted(points, vb), cb, len(points)))
    return float(np.max(np.abs(at_a.astype(np.int64) / count_a - at_b.astype(np.int64) / count_b)))


@dataclass
class KS:
    """Largest two-sample KS distance among the compared groups, and its pair."""

    statistic: float | None
    pair: tuple[int, int] | None
    max_error: float


def describe(
    spec: Spec, cells: Sequence[Cell], ks_cells: Sequence[int]
) -> tuple[list[dict[str, float]], KS]:
    """Exact ``QUANTILES`` of every cell and the KS statistic among ``ks_cells`` (indices).

    Each cell's ``metrics`` must hold ``min`` and ``max`` (from the audit's first GROUP BY)
    and its ``count`` the usable rows.
    """
    quantiles: list[dict[str, float]] = [{} for _ in cells]
    if not cells:
        return quantiles, KS(None, None, 0.0)
    lo = min(float(c.metrics["min"]) for c in cells)
    hi = max(float(c.metrics["max"]) for c in cells)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValidationError(
            f"column {spec.outcome!r} holds infinite values: a continuous audit needs finite "
            "numbers (clean or filter them first)"
        )
    if lo == hi:
        for i in range(len(cells)):
            quantiles[i] = dict.fromkeys(QUANTILES, lo)
        pair = (ks_cells[0], ks_cells[1]) if len(ks_cells) >= 2 else None
        return quantiles, KS(0.0 if pair else None, pair, 0.0)
    bins = max(64, min(BINS, HIST_MAX_ROWS // len(cells)))
    grid = _Grid(lo, (hi - lo) / bins, bins)
    hists = _histograms(spec, cells, grid)

    # Quantile ranks: known from the histogram, or pending on one bin's values.
    known: dict[tuple[int, int], float] = {}
    pending: dict[tuple[int, int], _Pending] = {}
    for i, c in enumerate(cells):
        for q in QUANTILES.values():
            base, frac = _ranks(c.count, q)
            for rank in (base, base + 1) if frac > 0 else (base,):
                if (i, rank) in known or (i, rank) in pending:
                    continue
                pos, value, r = _locate(hists[i], rank)
                if value is not None:
                    known[(i, rank)] = value
                else:
                    h = hists[i]
                    pending[(i, rank)] = _Pending(
                        i,
                        ((grid, int(h.k[pos])),),
                        r,
                        int(h.n[pos]),
                        float(h.vmin[pos]),
                        float(h.vmax[pos]),
                    )

    # KS: exact at every bin top; bins where the gap could be larger inside are candidates.
    dense = {i: _dense(hists[i], bins) for i in ks_cells}
    pairs = [(a, b) for x, a in enumerate(ks_cells) for b in ks_cells[x + 1 :]]
    best: dict[tuple[int, int], float] = {}
    candidates: list[tuple[float, tuple[int, int], int]] = []
    for a, b in pairs:
        best[(a, b)], found = _ks_bounds(dense[a], cells[a].count, dense[b], cells[b].count)
        candidates += [(upper, (a, b), k) for upper, k in found]
    candidates.sort(reverse=True)

    # The first refinement query fetches every bin a quantile needs (within FETCH_MAX rows)
    # and the most promising KS bins; later rounds only KS bins that can still beat the best.
    rows_in_bin: dict[int, int] = {}
    for h in hists:
        for kb, nb in zip(h.k.tolist(), h.n.tolist(), strict=True):
            rows_in_bin[kb] = rows_in_bin.get(kb, 0) + nb
    ask: set[int] = set()
    budget = FETCH_MAX
    deep: list[tuple[tuple[int, int], _Pending]] = []
    for key, p in sorted(pending.items(), key=lambda kv: kv[1].n):
        kb = p.path[0][1]
        if kb in ask:
            continue
        if rows_in_bin[kb] <= budget:
            ask.add(kb)
            budget -= rows_in_bin[kb]
        else:
            deep.append((key, p))
    deep_keys = {key for key, _ in deep}
    fetched: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
    have: set[int] = set()
    empty = (np.empty(0), np.empty(0, dtype=np.int64))
    todo = candidates
    for _round in range(KS_ROUNDS):
        floor = max(best.values(), default=0.0)
        rows = 0
        for upper, _pair, kb in todo:
            if upper <= floor:
                break  # sorted: no later bin can beat the best either
            if kb in ask or kb in have:
                continue
            if rows + rows_in_bin[kb] > min(KS_ROUND_ROWS, FETCH_MAX):
                break
            ask.add(kb)
            rows += rows_in_bin[kb]
        if not ask:
            break
        fetched |= _fetch_bins(spec, cells, grid, sorted(ask))
        have |= ask
        ask = set()
        rest = []
        for upper, (a, b), kb in todo:
            if kb not in have:
                rest.append((upper, (a, b), kb))
                continue
            gap = _ks_in_bin(
                fetched.get((a, kb), empty),
                int(dense[a][1][kb] - dense[a][0][kb]),
                cells[a].count,
                fetched.get((b, kb), empty),
                int(dense[b][1][kb] - dense[b][0][kb]),
                cells[b].count,
            )
            best[(a, b)] = max(best[(a, b)], gap)
        todo = rest

    for key, p in pending.items():
        if key in deep_keys:
            continue
        values, counts = fetched[(p.cell, p.path[0][1])]
        if int(counts.sum()) != p.n:  # the same bin expression must select the same rows
            raise RuntimeError("histogram and refinement disagree on a bin's rows")
        known[key] = _order_stat(values, counts, p.rank)
    for key, p in deep:
        known[key] = _resolve_deep(spec, cells, p)
    for i, c in enumerate(cells):
        for name, q in QUANTILES.items():
            base, frac = _ranks(c.count, q)
            first = known[(i, base)]
            quantiles[i][name] = (
                _interpolate(first, known[(i, base + 1)], frac) if frac > 0 else first
            )

    if not pairs:
        return quantiles, KS(None, None, 0.0)
    top = max(pairs, key=lambda pair: best[pair])
    statistic = best[top]
    error = max((upper - statistic for upper, _pair, _kb in todo), default=0.0)
    return quantiles, KS(statistic, top, max(0.0, error))
