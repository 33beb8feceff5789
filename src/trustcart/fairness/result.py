"""The outcome of an audit: per-group rows, summary metrics, findings — and its JSON form."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from trustcart.fairness.findings import Finding


def jsonable(value: Any) -> Any:
    """Plain JSON values: NaN/inf become null, tuples lists, dates ISO text."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalar
        return jsonable(value.item())
    return str(value)


@dataclass
class Cell:
    """One (intersectional) group as the engine returned it: key, counts and raw aggregates."""

    group: dict[str, Any]
    rows: int
    count: int
    aggregates: dict[str, Any]
    suppressed: bool = False
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def excluded(self) -> int:
        """Rows of this group whose outcome (or label/position) was NULL or NaN."""
        return self.rows - self.count

    def to_dict(self) -> dict[str, Any]:
        """The JSON ``groups[]`` entry; a suppressed cell hides its count and metrics."""
        if self.suppressed:
            return {"group": jsonable(self.group), "count": None, "suppressed": True}
        d: dict[str, Any] = {
            "group": jsonable(self.group),
            "count": self.count,
            "excluded": self.excluded,
        }
        d.update(jsonable(self.metrics))
        return d


@dataclass
class AuditResult:
    """What :func:`trustcart.fairness.audit` returns."""

    kind: str
    rows: int
    excluded: int
    groups: list[Cell]
    metrics: dict[str, Any]
    findings: list[Finding]
    parameters: dict[str, Any]
    source: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    elapsed_seconds: float = 0.0

    @property
    def reported(self) -> list[Cell]:
        """Groups large enough to report (not suppressed)."""
        return [c for c in self.groups if not c.suppressed]

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of the CLI contract (plus ``parameters``, ``source``, ``notes``)."""
        return {
            "kind": self.kind,
            "rows": self.rows,
            "excluded": self.excluded,
            "groups": [c.to_dict() for c in self.groups],
            "metrics": jsonable(self.metrics),
            "findings": [jsonable(f.to_dict()) for f in self.findings],
            "parameters": jsonable(self.parameters),
            "source": jsonable(self.source),
            "notes": list(self.notes),
            "elapsed_seconds": round(self.elapsed_seconds, 4),
        }
