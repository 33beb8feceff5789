"""What every metric module receives: the table, the column expressions and the options."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ibis.expr.types as ir

from trustcart.fairness.findings import Thresholds


@dataclass(frozen=True)
class Spec:
    """A validated audit request, expressed over one Ibis table."""

    table: ir.Table
    groups: tuple[str, ...]
    outcome: str
    valid: ir.BooleanValue  # row counts towards the metrics (no NULL/NaN where it matters)
    label: str | None
    position: str | None
    thresholds: Thresholds
    favourable: str  # "higher" | "lower" (continuous outcomes)

    def col(self, name: str) -> Any:
        """A column of the audited table."""
        return self.table[name]


def not_missing(col: Any) -> Any:
    """NOT NULL, and not NaN for floating columns (NaN is not NULL in SQL engines)."""
    cond = col.notnull()
    if col.type().is_floating():
        cond = cond & ~col.isnan()
    return cond
