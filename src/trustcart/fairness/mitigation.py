"""Mitigation with its cost stated: reweighing, fair offer classifiers, price adjustment.

Every method returns a :class:`MitigationResult`: per group the headline metric *before* and
*after*, the summary disparity before/after, and the ``tradeoff`` — what the mitigation costs
(effective sample size, accuracy, revenue). A mitigation that hides its cost is not a decision
anyone can sign off; so the cost is part of the result, the JSON and the report.

- :func:`reweigh` — pre-processing, Kamiran & Calders (2012): weight each (group, label) cell
  by P(group)·P(label) / P(group, label), so that label and group are independent in the
  weighted training data. Counts come from one GROUP BY in the engine.
- :func:`adjust_prices` — post-processing for prices: the smallest per-group scaling of prices
  that brings the group mean-price ratio (min / max) within tolerance, with revenue before and
  after.
- :func:`trustcart.fairness.reductions.fair_classifier` — in-processing through fairlearn's
  ``ExponentiatedGradient`` (separate module: it needs fairlearn and the training rows).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from trustcart.errors import ValidationError
from trustcart.fairness._spec import check_columns, check_numeric, not_missing
from trustcart.fairness.findings import label as group_label
from trustcart.fairness.result import jsonable
from trustcart.fairness.sources import Source, open_source

#: Default tolerance of price adjustment: group mean prices within 5% (min / max ≥ 0.95).
#: A TrustCart default, not law.
DEFAULT_PRICE_TOLERANCE = 0.05
PRICE_MODES: tuple[str, ...] = ("lower", "band")


@dataclass
class GroupChange:
    """One group's numbers before and after a mitigation."""

    group: dict[str, Any]
    count: int
    before: dict[str, Any]
    after: dict[str, Any]
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return jsonable(  # type: ignore[no-any-return]
            {
                "group": self.group,
                "count": self.count,
                "before": self.before,
                "after": self.after,
                **self.detail,
            }
        )


@dataclass
class MitigationResult:
    """What a mitigation returns; stored as an audit of kind ``mitigation``."""

    method: str
    stage: str  # "pre-processing" | "in-processing" | "post-processing"
    metric: str  # the per-group headline metric compared before / after
    groups: list[GroupChange]
    before: dict[str, Any]
    after: dict[str, Any]
    tradeoff: dict[str, Any]
    parameters: dict[str, Any]
    source: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    elapsed_seconds: float = 0.0
    model: Any = None  # the fitted mitigated model (in-processing), not serialised
    kind: str = "mitigation"

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of ``trustcart audit mitigate … --format json``."""
        return {
            "kind": self.kind,
            "method": self.method,
            "stage": self.stage,
            "metric": self.metric,
            "groups": [g.to_dict() for g in self.groups],
            "before": jsonable(self.before),
            "after": jsonable(self.after),
            "tradeoff": jsonable(self.tradeoff),
            "parameters": jsonable(self.parameters),
            "source": jsonable(self.source),
            "notes": list(self.notes),
            "elapsed_seconds": round(self.elapsed_seconds, 4),
        }


def _open(source: str | os.PathLike[str] | ir.Table | Source, table: str | None) -> Source:
    return source if isinstance(source, Source) else open_source(source, table=table)


def _check_writable(source: Source, write: str | os.PathLike[str] | None, what: str) -> None:
    """``--write`` produces one local Parquet file through DuckDB: not from a Spark source.

    Why not: Spark writes a folder of part files on the cluster's file system, and pulling a
    cluster-sized table through the driver into one file defeats the point of Spark. The
    numbers to apply are in the result (per group), for a join in Spark.
    """
    if write is not None and source.backend == "pyspark":
        raise ValidationError(
            f"--write is DuckDB/PostgreSQL-only: writing the {what} of a Spark source to one "
            "local Parquet file is not supported. Run without --write: the result lists the "
            "per-group numbers (JSON 'groups'), to join to the table in Spark"
        )


def _spread(values: Sequence[float]) -> tuple[float, float | None]:
    hi, lo = max(values), min(values)
    return hi - lo, (lo / hi if hi > 0 else None)


def _cell_key(groups: Sequence[str], record: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(record[g] for g in groups)


def write_with(
    source: Source, keys: Sequence[str], mapping: list[dict[str, Any]], path: str | os.PathLike[str]
) -> Path:
    """Write the source joined (left) with ``mapping`` on ``keys`` to a Parquet file.

    The join and the write run in the source's engine (rows stream to the file in batches);
    NULL keys match NULL keys, as they formed a group of their own.
    """
    out = Path(path)
    if out.suffix not in (".parquet", ".pq"):
        raise ValidationError(f"--write {out}: give a .parquet path")
    t = source.table
    m = ibis.memtable(pa.Table.from_pylist(mapping))
    preds = [t[k].identical_to(m[k]) for k in keys]
    joined = t.left_join(m, preds).select(
        *[t[c] for c in t.columns], *[m[c] for c in m.columns if c not in keys]
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    joined.to_parquet(out)
    return out


# -- pre-processing: reweighing ------------------------------------------------------------------


def reweigh(
    source: str | os.PathLike[str] | ir.Table | Source,
    groups: Sequence[str],
    label: str,
    *,
    table: str | None = None,
    write: str | os.PathLike[str] | None = None,
    weight_column: str = "weight",
) -> MitigationResult:
    """Kamiran–Calders reweighing of training data: w(g, y) = n_g · n_y / (n · n_gy).

    After weighting, every group has the same weighted rate of the favourable label (the
    overall rate), so a model trained with these ``sample_weight`` s sees no association
    between group and label. The cost: the weights inflate the variance of anything estimated
    from the data — reported as Kish's effective sample size (Σw)² / Σw². Rows with a NULL or
    NaN label are left out (and get no weight when written).
    """
    started = time.perf_counter()
    src = _open(source, table)
    _check_writable(src, write, "weights (weight_positive / weight_negative)")
    groups = list(groups)
    if not groups:
        raise ValidationError("name at least one group column (--group COL)")
    check_columns(src.table, [("--group", g) for g in groups] + [("--label", label)])
    check_numeric(src.table, "--label", label, "binary")
    if label in groups:
        raise ValidationError(f"column {label!r} is both a group and the label")
    if weight_column in src.table.columns:
        raise ValidationError(f"the source already has a column {weight_column!r}")
    t = src.table
    y = t[label]
    y = y.ifelse(1, 0) if y.type().is_boolean() else y.cast("float64")
    kept = t.filter(not_missing(t[label]))
    yk = kept[label]
    yk = yk.ifelse(1.0, 0.0) if yk.type().is_boolean() else yk.cast("float64")
    recs = (
        kept.group_by([*groups, yk.name("_tc_y")])
        .aggregate(_tc_n=kept.count())
        .to_pyarrow()
        .to_pylist()
    )
    total_rows = int(t.count().execute())
    if not recs:
        raise ValidationError(f"no row of {src.description} has a label in {label!r}")
    bad = sorted({r["_tc_y"] for r in recs} - {0.0, 1.0})
    if bad:
        raise ValidationError(f"column {label!r} has values other than 0/1: {bad[:5]}")
    n = sum(r["_tc_n"] for r in recs)
    n_y = {v: sum(r["_tc_n"] for r in recs if r["_tc_y"] == v) for v in (0.0, 1.0)}
    n_g: dict[tuple[Any, ...], int] = {}
    n_gy: dict[tuple[Any, ...], dict[float, int]] = {}
    for r in recs:
        k = _cell_key(groups, r)
        n_g[k] = n_g.get(k, 0) + r["_tc_n"]
        n_gy.setdefault(k, {})[r["_tc_y"]] = r["_tc_n"]
    mapping: list[dict[str, Any]] = []
    changes: list[GroupChange] = []
    sum_w = sum_w2 = 0.0
    for k in sorted(n_g, key=lambda k: tuple((v is None, str(v)) for v in k)):
        cells = n_gy[k]
        weights = {v: n_g[k] * n_y[v] / (n * cells[v]) for v in cells}
        for v, w in weights.items():
            row = dict(zip(groups, k, strict=True))
            row["_tc_y"] = v
            row[weight_column] = w
            mapping.append(row)
            sum_w += w * cells[v]
            sum_w2 += w * w * cells[v]
        pos = cells.get(1.0, 0)
        weighted_pos = weights.get(1.0, 0.0) * pos
        weighted_all = sum(weights[v] * cells[v] for v in cells)
        changes.append(
            GroupChange(
                group=dict(zip(groups, k, strict=True)),
                count=n_g[k],
                before={"selection_rate": pos / n_g[k]},
                after={"selection_rate": weighted_pos / weighted_all},
                detail={
                    "weight_positive": weights.get(1.0),
                    "weight_negative": weights.get(0.0),
                },
            )
        )
    before = [c.before["selection_rate"] for c in changes]
    after = [c.after["selection_rate"] for c in changes]
    dpd_b, dpr_b = _spread(before)
    dpd_a, dpr_a = _spread(after)
    notes = []
    if total_rows - n:
        notes.append(f"{total_rows - n} row(s) with a NULL/NaN label left out (no weight)")
    ess = sum_w * sum_w / sum_w2 if sum_w2 else 0.0
    params: dict[str, Any] = {
        "groups": groups,
        "label": label,
        "table": table,
        "weight_column": weight_column,
    }
    if write is not None:
        # the join key is the label as 0.0/1.0, matched against the same expression
        keyed = src.table.mutate(_tc_y=y)
        tmp = src.with_table(keyed)
        out = write_with(tmp, [*groups, "_tc_y"], mapping, write)
        _drop_column(out, "_tc_y")
        params["write"] = str(out)
        notes.append(f"weighted data written to {out} (column {weight_column!r})")
    return MitigationResult(
        method="reweighing",
        stage="pre-processing",
        metric="selection_rate",
        groups=changes,
        before={"demographic_parity_difference": dpd_b, "demographic_parity_ratio": dpr_b},
        after={"demographic_parity_difference": dpd_a, "demographic_parity_ratio": dpr_a},
        tradeoff={
            "rows": n,
            "effective_sample_size": ess,
            "effective_sample_share": ess / n if n else None,
            "overall_rate": n_y[1.0] / n,
            "statement": (
                f"label rates equalised at {n_y[1.0] / n:.3f} in the weighted data; the "
                f"weights cost {1 - ess / n:.1%} of the effective sample size "
                f"({ess:.0f} of {n} rows). Model accuracy is measured when a model is trained "
                "with these weights."
            ),
        },
        parameters=params,
        source=src.to_dict(),
        notes=notes,
        elapsed_seconds=time.perf_counter() - started,
    )


def _drop_column(path: Path, column: str) -> None:
    """Rewrite a Parquet file without ``column`` (DuckDB streams it; no full load)."""
    con = ibis.duckdb.connect()
    t = con.read_parquet(str(path))
    tmp = path.with_name(path.name + ".tmp")
    t.drop(column).to_parquet(tmp)
    tmp.replace(path)


# -- post-processing: prices ---------------------------------------------------------------------


def _band_distance(means: list[float], counts: list[int], low: float, c: float) -> float:
    return sum(n * max(low - m, 0.0, m - c * low) for m, n in zip(means, counts, strict=True))


def price_targets(
    means: Sequence[float], counts: Sequence[int], min_ratio: float, mode: str
) -> list[float]:
    """New group means with min / max ≥ ``min_ratio``, moving them as little as possible.

    ``lower``: only the groups above min-mean / ``min_ratio`` come down to it — no price rises,
    and each group moves as little as any no-rise solution allows. ``band``: choose the band
    [L, L / min_ratio] minimising Σ n_g·|Δ mean_g| (the total revenue moved); the objective is
    convex and piecewise linear in L, so its minimum is at a breakpoint m_g or m_g·min_ratio.
    The cheapest groups may then pay more.
    """
    if not 0 < min_ratio <= 1:
        raise ValidationError(f"the target ratio must be in (0, 1], not {min_ratio}")
    ms = [float(m) for m in means]
    if mode == "lower":
        cap = min(ms) / min_ratio
        return [min(m, cap) for m in ms]
    if mode != "band":
        raise ValidationError(f"unknown mode {mode!r}; use one of: {', '.join(PRICE_MODES)}")
    c = 1 / min_ratio
    candidates = sorted({*ms, *(m * min_ratio for m in ms)})
    cs = [int(n) for n in counts]
    low = min(candidates, key=lambda L: (_band_distance(ms, cs, L, c), -L))
    return [min(max(m, low), c * low) for m in ms]


def adjust_prices(
    source: str | os.PathLike[str] | ir.Table | Source,
    groups: Sequence[str],
    price: str,
    *,
    list_price: str | None = None,
    tolerance: float = DEFAULT_PRICE_TOLERANCE,
    mode: str = "lower",
    table: str | None = None,
    write: str | os.PathLike[str] | None = None,
) -> MitigationResult:
    """The smallest per-group price scaling that brings mean-price ratio within tolerance.

    The compared metric is each group's mean ``price`` — or, with ``list_price``, its mean
    ``price / list_price`` (so a group buying dearer items is not read as overcharged). Each
    group's prices are scaled by one factor f_g (keeping their structure within the group), so
    the group's metric scales by f_g too. Revenue before/after is Σ price and Σ f_g·price: it
    assumes the same purchases at the new prices (no demand response) — an upper bound of the
    loss for ``lower`` if cheaper prices sell more.
    """
    started = time.perf_counter()
    src = _open(source, table)
    _check_writable(src, write, "adjusted prices (factor)")
    groups = list(groups)
    if not groups:
        raise ValidationError("name at least one group column (--group COL)")
    if not 0 <= tolerance < 1:
        raise ValidationError(f"--tolerance must be in [0, 1), not {tolerance}")
    wanted = [("--group", g) for g in groups] + [("--price", price)]
    wanted += [("--list-price", list_price)] if list_price else []
    check_columns(src.table, wanted)
    check_numeric(src.table, "--price", price, "continuous")
    if list_price:
        check_numeric(src.table, "--list-price", list_price, "continuous")
    t = src.table
    valid = not_missing(t[price])
    if list_price:
        valid = valid & not_missing(t[list_price]) & (t[list_price] > 0)
    kept = t.filter(valid)
    p = kept[price].cast("float64")
    metric_col = p / kept[list_price].cast("float64") if list_price else p
    recs = (
        kept.group_by(groups)
        .aggregate(_tc_n=kept.count(), _tc_revenue=p.sum(), _tc_metric=metric_col.mean())
        .to_pyarrow()
        .to_pylist()
    )
    total_rows = int(t.count().execute())
    if not recs:
        raise ValidationError(f"no usable row in {src.description} (prices NULL/NaN or empty)")
    recs.sort(key=lambda r: tuple((r[g] is None, str(r[g])) for g in groups))
    means = [float(r["_tc_metric"]) for r in recs]
    if min(means) <= 0:
        raise ValidationError(
            "a group's mean price is zero or negative: a price ratio is not defined"
        )
    counts = [int(r["_tc_n"]) for r in recs]
    targets = price_targets(means, counts, 1 - tolerance, mode)
    changes = []
    mapping = []
    rev_b = rev_a = 0.0
    for r, m, target in zip(recs, means, targets, strict=True):
        f = target / m
        key = {g: r[g] for g in groups}
        rb = float(r["_tc_revenue"])
        rev_b += rb
        rev_a += f * rb
        changes.append(
            GroupChange(
                group=key,
                count=int(r["_tc_n"]),
                before={"mean": m, "revenue": rb},
                after={"mean": target, "revenue": f * rb},
                detail={"factor": f, "change_percent": (f - 1) * 100},
            )
        )
        mapping.append({**key, "_tc_factor": f})
    ratio_b, ratio_a = min(means) / max(means), min(targets) / max(targets)
    what = "mean price / list price" if list_price else "mean price"
    notes = []
    if total_rows - sum(counts):
        notes.append(
            f"{total_rows - sum(counts)} row(s) with NULL/NaN (or non-positive list) "
            "prices left out"
        )
    if ratio_b >= 1 - tolerance:
        notes.append("already within tolerance: no adjustment needed")
    params: dict[str, Any] = {
        "groups": groups,
        "price": price,
        "list_price": list_price,
        "tolerance": tolerance,
        "mode": mode,
        "table": table,
    }
    if write is not None:
        out = write_with(src, groups, mapping, write)
        _add_adjusted(out, price)
        params["write"] = str(out)
        notes.append(f"adjusted prices written to {out} (columns 'adjusted_{price}', 'factor')")
    worst = min(changes, key=lambda c: c.detail["factor"])
    return MitigationResult(
        method="price_adjustment",
        stage="post-processing",
        metric="mean",
        groups=changes,
        before={"mean_ratio": ratio_b, "mean_difference": max(means) - min(means)},
        after={"mean_ratio": ratio_a, "mean_difference": max(targets) - min(targets)},
        tradeoff={
            "revenue_before": rev_b,
            "revenue_after": rev_a,
            "revenue_change": rev_a - rev_b,
            "revenue_change_percent": (rev_a / rev_b - 1) * 100 if rev_b else None,
            "statement": (
                f"{what}, lowest / highest group: {ratio_b:.3f} → {ratio_a:.3f} (target ≥ "
                f"{1 - tolerance:.3f}); "
                f"revenue {rev_b:,.2f} → {rev_a:,.2f} ({(rev_a / rev_b - 1) * 100:+.2f}%), "
                f"assuming the same purchases; largest cut {group_label(worst.group)} "
                f"{worst.detail['change_percent']:+.2f}%"
            ),
        },
        parameters=params,
        source=src.to_dict(),
        notes=notes,
        elapsed_seconds=time.perf_counter() - started,
    )


def _add_adjusted(path: Path, price: str) -> None:
    """Rename the joined factor column and add ``adjusted_<price>`` (DuckDB, streamed)."""
    con = ibis.duckdb.connect()
    t = con.read_parquet(str(path))
    t = t.rename(factor="_tc_factor")
    # Not rounded to currency units: rounding is the shop's (it may move a ratio by a hair).
    t = t.mutate(**{f"adjusted_{price}": t[price].cast("float64") * t.factor})
    tmp = path.with_name(path.name + ".tmp")
    t.to_parquet(tmp)
    tmp.replace(path)
