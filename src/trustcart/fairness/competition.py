"""Competition signals from the decision log: price dispersion and information asymmetry.

Why: personalised pricing can harm competition and consumers without any protected group being
involved — the same product, at the same time, offered at many prices, with most shoppers never
learning that a better price was on offer to others. Two indicators make that visible:

* **Price dispersion** per *cell* (same product, same currency, same time window): the spread
  ``(max - min) / list price`` and the coefficient of variation ``std / mean`` of the prices
  the gateway answered.
* **Information asymmetry**: the share of decisions in a cell whose price was worse (higher)
  than the best price someone else was offered in the same cell, and the mean excess paid over
  that best price (as a fraction of the list price). Also per fairness group, to see who bears
  it.

What "same product" means here: price decisions do not log a product id, so a product is
identified by its list price and currency (the catalogue price point the personalised price
adjusts). Two products with the same list price in the same window share a cell, which can
only *understate* dispersion between them if their personalised prices differ for product
reasons; pass ``product_key`` when the source has a product column.

The unit is a decision (a price shown), not a distinct customer: audits never read the subject
key, so one shopper asking twice counts twice. Aggregation runs in the engine (DuckDB or
PostgreSQL through Ibis); only per-cell and per-group aggregates reach Python.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import pandas as pd

from trustcart.errors import ValidationError
from trustcart.fairness.sources import Source

Window = Literal["hour", "day", "week", "month"]
_UNITS: dict[str, str] = {"hour": "h", "day": "D", "week": "W", "month": "M"}


@dataclass(frozen=True, slots=True)
class PriceCell:
    """One product price point in one time window."""

    window_start: str
    currency: str
    list_price: float
    decisions: int
    personalised: int
    best_price: float
    worst_price: float
    mean_price: float
    cv: float
    spread: float
    worse_than_best: int
    share_worse: float
    mean_excess: float


@dataclass(frozen=True, slots=True)
class GroupAsymmetry:
    """How often a fairness group was shown a worse price than the cell's best."""

    group: str | None
    decisions: int
    worse_than_best: int
    share_worse: float
    mean_excess: float


@dataclass(frozen=True)
class CompetitionReport:
    """Signals over every cell with at least ``min_decisions`` decisions."""

    window: str
    min_decisions: int
    decisions: int
    cells: int
    share_worse: float | None
    mean_excess: float | None
    max_spread: float | None
    mean_cv: float | None
    top_cells: list[PriceCell] = field(default_factory=list)
    by_group: list[GroupAsymmetry] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON view."""
        d = asdict(self)
        d["top_cells"] = [asdict(c) for c in self.top_cells]
        d["by_group"] = [asdict(g) for g in self.by_group]
        return d


def _label(start: Any, window: str) -> str:
    """The window's start as a day (``2026-11-02``), or a minute for hourly windows."""
    ts = pd.Timestamp(start)
    return str(ts.isoformat(timespec="minutes") if window == "hour" else ts.date().isoformat())


def competition_signals(
    source: Source | ir.Table,
    *,
    window: Window = "day",
    min_decisions: int = 2,
    tolerance: float = 0.005,
    product_key: str | None = None,
    top: int = 20,
) -> CompetitionReport:
    """Dispersion and asymmetry of price decisions per product price point and time window.

    ``tolerance`` (currency units, default half a cent) is how much higher a price must be to
    count as worse; ``top`` cells with the widest spread are returned in detail.
    """
    if window not in _UNITS:
        raise ValidationError(f"window must be one of {', '.join(_UNITS)}; got {window!r}")
    if min_decisions < 2:
        raise ValidationError("min_decisions must be at least 2 (dispersion needs two prices)")
    t = source.table if isinstance(source, Source) else source
    if product_key is not None and product_key not in t.columns:
        raise ValidationError(f"the source has no column {product_key!r}")
    t = t.filter((t.kind == "price") & t.price.notnull() & t.list_price.notnull())
    t = t.mutate(window_start=t.created_at.truncate(_UNITS[window]))
    keys = ["window_start", "currency", "list_price", *([product_key] if product_key else [])]
    w = ibis.window(group_by=[t[k] for k in keys])
    t = t.mutate(best=t.price.min().over(w), cell_n=t.price.count().over(w))
    t = t.filter(t.cell_n >= min_decisions)
    t = t.mutate(
        worse=ibis.ifelse(t.price > t.best + tolerance, 1, 0),
        excess=(t.price - t.best) / t.list_price,
        pers=ibis.ifelse(t.personalised, 1, 0),
    )
    cells = (
        t.group_by(keys)
        .aggregate(
            decisions=t.price.count(),
            personalised=t.pers.sum(),
            best_price=t.price.min(),
            worst_price=t.price.max(),
            mean_price=t.price.mean(),
            std=t.price.std(how="pop"),
            worse_than_best=t.worse.sum(),
            mean_excess=t.excess.mean(),
        )
        .to_pandas()
    )
    groups = (
        t.group_by("fairness_group")
        .aggregate(decisions=t.price.count(), worse=t.worse.sum(), mean_excess=t.excess.mean())
        .order_by("fairness_group")
        .to_pandas()
    )
    if cells.empty:
        return CompetitionReport(window, min_decisions, 0, 0, None, None, None, None)
    cells["spread"] = (cells["worst_price"] - cells["best_price"]) / cells["list_price"]
    cells["cv"] = cells["std"] / cells["mean_price"]
    n = int(cells["decisions"].sum())
    worse = int(cells["worse_than_best"].sum())
    excess = float((cells["mean_excess"] * cells["decisions"]).sum() / n)
    detail = cells.sort_values(
        ["spread", "decisions", "window_start"], ascending=[False, False, True]
    ).head(top)
    top_cells = [
        PriceCell(
            _label(r.window_start, window),
            str(r.currency),
            float(r.list_price),
            int(r.decisions),
            int(r.personalised),
            float(r.best_price),
            float(r.worst_price),
            float(r.mean_price),
            float(r.cv),
            float(r.spread),
            int(r.worse_than_best),
            int(r.worse_than_best) / int(r.decisions),
            float(r.mean_excess),
        )
        for r in detail.itertuples()
    ]
    by_group = [
        GroupAsymmetry(
            None if pd.isna(g.fairness_group) else str(g.fairness_group),
            int(g.decisions),
            int(g.worse),
            int(g.worse) / int(g.decisions),
            float(g.mean_excess),
        )
        for g in groups.itertuples()
    ]
    return CompetitionReport(
        window=window,
        min_decisions=min_decisions,
        decisions=n,
        cells=len(cells),
        share_worse=worse / n,
        mean_excess=excess,
        max_spread=float(cells["spread"].max()),
        mean_cv=float((cells["cv"] * cells["decisions"]).sum() / n),
        top_cells=top_cells,
        by_group=by_group,
    )
