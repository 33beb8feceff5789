"""Retention: delete or anonymise rows kept longer than the data map allows.

Why from the data map: GDPR Art. 5(1)(e) (storage limitation) and CPRA §1798.100(a)(3) (the
retention period stated per category at collection) both make the declared period a promise;
the same ``retention`` that the privacy notice prints is the one enforced here, counted from
the connector's ``timestamp`` column, with the dataset's erase strategy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from trustcart.catalog import DataMap
from trustcart.errors import ConnectorError
from trustcart.rights.connectors import Change, connector_for
from trustcart.rules import add_months

_ISO = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?$")


def cutoff_for(retention: str, now: datetime) -> datetime | None:
    """``now`` minus an ISO-8601 period (calendar months/years; None if not a date period)."""
    m = _ISO.match(retention)
    if not m:
        return None
    years, months, weeks, days = (int(g) if g else 0 for g in m.groups())
    back = add_months(now.date(), -(12 * years + months)) - timedelta(weeks=weeks, days=days)
    return datetime.combine(back, now.timetz())


@dataclass
class RetentionReport:
    """What a retention run found and did, per dataset."""

    dry_run: bool
    ran_at: str
    changes: list[dict[str, Any]] = field(default_factory=list)
    no_retention: list[str] = field(default_factory=list)
    no_connector: list[str] = field(default_factory=list)

    @property
    def rows_found(self) -> int:
        """Rows past retention over all datasets."""
        return sum(c["rows_found"] for c in self.changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly view."""
        return {
            "dry_run": self.dry_run,
            "ran_at": self.ran_at,
            "rows_found": self.rows_found,
            "rows_changed": sum(c["rows_changed"] for c in self.changes),
            "changes": self.changes,
            "no_retention": self.no_retention,
            "no_connector": self.no_connector,
        }


def run_retention(
    dm: DataMap,
    *,
    root: Path,
    now: datetime,
    dry_run: bool = False,
    datasets: list[str] | None = None,
) -> RetentionReport:
    """Apply every dataset's retention (only ``datasets`` when given)."""
    report = RetentionReport(dry_run=dry_run, ran_at=now.isoformat())
    for ds in dm.datasets:
        if datasets and ds.key not in datasets:
            continue
        if not ds.retention:
            report.no_retention.append(ds.key)
            continue
        conn = connector_for(ds, root=root)
        if conn is None:
            report.no_connector.append(ds.key)
            continue
        cutoff = cutoff_for(ds.retention, now)
        if cutoff is None:
            change = Change(
                ds.key,
                "retention",
                conn.kind,
                status="skipped",
                note=f"retention {ds.retention} is not a calendar period",
            )
        else:
            try:
                change = conn.expire(cutoff, dry_run=dry_run)
            except ConnectorError as exc:
                change = Change(ds.key, "retention", conn.kind, status="failed", note=exc.message)
            change.note = (change.note + "; " if change.note else "") + (
                f"rows older than {cutoff.date().isoformat()} ({ds.retention})"
            )
        report.changes.append(change.to_dict())
    return report
