"""What every metric module receives: the table, the column expressions and the options."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import ibis.expr.types as ir

from trustcart.errors import ValidationError
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


def check_columns(table: ir.Table, wanted: Sequence[tuple[str, str]]) -> None:
    """Every named column exists, or a clear error naming it and the available ones."""
    names = list(table.columns)
    for option, col in wanted:
        if col not in names:
            raise ValidationError(
                f"unknown column {col!r} ({option}); available columns: {', '.join(names)}",
                details={"column": col, "option": option, "available": names},
            )


def check_numeric(table: ir.Table, option: str, col: str, kind: str) -> None:
    """The column holds numbers (or booleans), or a clear error (an empty source says so)."""
    dtype = table[col].type()
    if not (dtype.is_numeric() or dtype.is_boolean()):
        # An empty CSV has no values to infer types from: say it is empty, not "string".
        if int(table.count().execute()) == 0:
            raise ValidationError("the source is empty: there are no rows to audit")
        raise ValidationError(
            f"column {col!r} ({option}) is {dtype}, but a {kind} audit needs numbers"
            + (" (0/1) or booleans" if kind == "binary" else "")
        )
