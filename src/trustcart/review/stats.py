"""Overturn rate by group: how often a human reverses the automated decision, per group.

Why it is a fairness signal in its own right: when reviewers override the model's decisions for
one group (a neighbourhood band, a jurisdiction) much more often than for others, the model is
wrong more often for that group, whatever its selection rates say. Counted in the database (a
GROUP BY over the case table, never rows pulled into Python); each rate comes with its Wilson
interval and a two-proportion test against everyone else (Holm-adjusted across groups), and
groups with fewer resolved cases than ``min_group_size`` are suppressed like audit cells are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import Integer, case, func, select

from trustcart.errors import ValidationError
from trustcart.fairness import DEFAULT_MIN_GROUP_SIZE
from trustcart.fairness.stats import holm, two_proportion_ztest, wilson_interval
from trustcart.store import Store
from trustcart.store.tables import ReviewCaseRow, table_of

_cases = table_of(ReviewCaseRow)
GroupBy = Literal["group", "jurisdiction", "kind"]
GROUP_BYS: tuple[GroupBy, ...] = ("group", "jurisdiction", "kind")
#: Holm-adjusted p below this flags a group whose overturn rate differs from the rest.
ALPHA = 0.05


@dataclass(frozen=True)
class GroupRate:
    """One group's contests and how their reviews ended (counts hidden when suppressed)."""

    group: str | None
    contested: int
    resolved: int
    overturned: int
    rate: float | None
    interval: tuple[float, float] | None = None
    p_value: float | None = None
    p_adjusted: float | None = None
    flagged: bool = False
    suppressed: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON view; a suppressed group shows neither its counts nor its rate."""
        if self.suppressed:
            return {"group": self.group, "suppressed": True}
        return {
            "group": self.group,
            "contested": self.contested,
            "resolved": self.resolved,
            "overturned": self.overturned,
            "rate": self.rate,
            "interval": list(self.interval) if self.interval else None,
            "p_value": self.p_value,
            "p_adjusted": self.p_adjusted,
            "flagged": self.flagged,
            "suppressed": False,
        }


@dataclass(frozen=True)
class OverturnReport:
    """Overturn rates per group, and overall."""

    by: GroupBy
    min_group_size: int
    contested: int
    resolved: int
    overturned: int
    groups: list[GroupRate] = field(default_factory=list)

    @property
    def rate(self) -> float | None:
        """Overall share of resolved cases whose decision was overridden."""
        return self.overturned / self.resolved if self.resolved else None

    @property
    def suppressed(self) -> int:
        """Groups hidden by the small-cell rule."""
        return sum(1 for g in self.groups if g.suppressed)

    def to_dict(self) -> dict[str, Any]:
        """JSON view."""
        return {
            "by": self.by,
            "min_group_size": self.min_group_size,
            "contested": self.contested,
            "resolved": self.resolved,
            "overturned": self.overturned,
            "rate": self.rate,
            "suppressed": self.suppressed,
            "groups": [g.to_dict() for g in self.groups],
        }


def overturn_rates(
    store: Store, by: GroupBy | str = "group", *, min_group_size: int = DEFAULT_MIN_GROUP_SIZE
) -> OverturnReport:
    """Contested, resolved and overturned cases per ``by`` (the decision's fairness group, its
    jurisdiction or its kind), with intervals and tests for the groups large enough to show."""
    if by not in GROUP_BYS:
        raise ValidationError(f"unknown grouping {by!r}; choose one of: {', '.join(GROUP_BYS)}")
    if min_group_size < 0:
        raise ValidationError("min_group_size must be 0 or more")
    col = _cases.c[by]
    resolved = func.sum(case((_cases.c.status.in_(("upheld", "overridden")), 1), else_=0))
    overturned = func.sum(case((_cases.c.status == "overridden", 1), else_=0))
    q = (
        select(
            col.label("g"),
            func.count().label("contested"),
            func.coalesce(resolved, 0).cast(Integer).label("resolved"),
            func.coalesce(overturned, 0).cast(Integer).label("overturned"),
        )
        .group_by(col)
        .order_by(col)
    )
    with store.read() as conn:
        rows = [
            (r.g, int(r.contested), int(r.resolved), int(r.overturned)) for r in conn.execute(q)
        ]
    total_c = sum(r[1] for r in rows)
    total_n = sum(r[2] for r in rows)
    total_x = sum(r[3] for r in rows)
    shown = [r for r in rows if r[2] >= max(1, min_group_size)]
    tests = [
        two_proportion_ztest(x, n, total_x - x, total_n - n) if total_n - n > 0 else None
        for _, _, n, x in shown
    ]
    ps = [t.p_value for t in tests if t is not None]
    adjusted = iter(holm(ps)) if ps else iter(())
    groups: list[GroupRate] = []
    by_key = {r[0]: (r, t) for r, t in zip(shown, tests, strict=True)}
    for g, contested, n, x in rows:
        if g not in by_key:
            groups.append(GroupRate(g, 0, 0, 0, None, suppressed=True))
            continue
        _, t = by_key[g]
        p_adj = next(adjusted) if t is not None else None
        groups.append(
            GroupRate(
                group=g,
                contested=contested,
                resolved=n,
                overturned=x,
                rate=x / n if n else None,
                interval=wilson_interval(x, n),
                p_value=t.p_value if t is not None else None,
                p_adjusted=p_adj,
                flagged=p_adj is not None and p_adj < ALPHA,
            )
        )
    return OverturnReport(by, min_group_size, total_c, total_n, total_x, groups)
