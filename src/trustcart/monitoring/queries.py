"""Reading monitoring evidence back: results, metric time series, alerts, a monitor's status.

Everything here is aggregates (per-group counts, rates, means) and never a row of the source:
the API serves it under ``fairness:read``, like stored audits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import func, select

from trustcart.monitoring.config import MonitorsFile, MonitorSpec
from trustcart.store import Store
from trustcart.store.tables import MonitorAlert, MonitorResult, MonitorValue, table_of

_results = table_of(MonitorResult)
_values = table_of(MonitorValue)
_alerts = table_of(MonitorAlert)


def list_results(
    store: Store,
    monitor: str,
    *,
    since: datetime | None = None,
    limit: int = 100,
    full: bool = False,
) -> list[dict[str, Any]]:
    """Stored windows of ``monitor``, newest first (``full`` adds the audit document)."""
    q = select(_results).where(_results.c.monitor == monitor)
    if since is not None:
        q = q.where(_results.c.window_end > since)
    q = q.order_by(_results.c.window_end.desc()).limit(limit)
    with store.read() as conn:
        rows = list(conn.execute(q))
    out = []
    for r in rows:
        d: dict[str, Any] = {
            "id": r.id,
            "monitor": r.monitor,
            "window": {"start": r.window_start.isoformat(), "end": r.window_end.isoformat()},
            "status": r.status,
            "rows": r.rows,
            "breaches": orjson.loads(r.breaches),
            "config_hash": r.config_hash,
            "created_at": r.created_at.isoformat(),
        }
        with store.read() as conn:
            d["values"] = [
                {
                    "metric": v.metric,
                    "group": v.group_label,
                    "value": v.value,
                    "ci": [v.ci_low, v.ci_high] if v.ci_low is not None else None,
                    "count": v._mapping["count"],
                }
                for v in conn.execute(
                    select(_values)
                    .where(_values.c.result_id == r.id)
                    .order_by(_values.c.metric, _values.c.group_label)
                )
            ]
        if full:
            d["result"] = orjson.loads(r.result)
        out.append(d)
    return out


@dataclass(frozen=True)
class SeriesPoint:
    """One value of a metric for one group at one window end."""

    window_end: datetime
    group: str
    value: float | None
    ci_low: float | None
    ci_high: float | None
    count: int | None


def series(
    store: Store, monitor: str, metric: str, *, since: datetime | None = None
) -> list[SeriesPoint]:
    """A metric's values over windows, oldest first (``metric:summary`` for a summary rule)."""
    q = select(_values).where((_values.c.monitor == monitor) & (_values.c.metric == metric))
    if since is not None:
        q = q.where(_values.c.window_end > since)
    with store.read() as conn:
        return [
            SeriesPoint(
                r.window_end, r.group_label, r.value, r.ci_low, r.ci_high, r._mapping["count"]
            )
            for r in conn.execute(q.order_by(_values.c.window_end, _values.c.group_label))
        ]


def list_alerts(
    store: Store, monitor: str | None = None, *, limit: int = 100
) -> list[dict[str, Any]]:
    """Alert events, newest first, with their delivery state."""
    q = select(_alerts)
    if monitor is not None:
        q = q.where(_alerts.c.monitor == monitor)
    q = q.order_by(_alerts.c.created_at.desc(), _alerts.c.id.desc()).limit(limit)
    with store.read() as conn:
        return [
            {
                "id": r.id,
                "monitor": r.monitor,
                "event": r.event,
                "window": {"start": r.window_start.isoformat(), "end": r.window_end.isoformat()},
                "message": r.message,
                "breaches": orjson.loads(r.breaches),
                "log_seq": r.log_seq,
                "outbox": r.outbox_status,
                "webhook": r.webhook_status,
                "webhook_attempts": r.webhook_attempts,
                "webhook_error": r.webhook_error,
                "created_at": r.created_at.isoformat(),
            }
            for r in conn.execute(q)
        ]


def monitor_status(store: Store, spec: MonitorSpec) -> dict[str, Any]:
    """A declared monitor with its newest window and whether an alert is open."""
    with store.read() as conn:
        last = conn.execute(
            select(_results.c.window_end, _results.c.status)
            .where(_results.c.monitor == spec.name)
            .order_by(_results.c.window_end.desc())
            .limit(1)
        ).first()
        windows = conn.execute(
            select(func.count()).select_from(_results).where(_results.c.monitor == spec.name)
        ).scalar_one()
        alert = conn.execute(
            select(_alerts.c.id, _alerts.c.event, _alerts.c.created_at)
            .where(_alerts.c.monitor == spec.name)
            .order_by(_alerts.c.window_end.desc(), _alerts.c.created_at.desc())
            .limit(1)
        ).first()
    return {
        **spec.describe(),
        "windows_stored": int(windows),
        "last_window_end": last.window_end.isoformat() if last else None,
        "last_status": last.status if last else None,
        "alerting": bool(alert is not None and alert.event == "raised"),
        "open_alert": alert.id if alert is not None and alert.event == "raised" else None,
    }


def statuses(store: Store, config: MonitorsFile) -> list[dict[str, Any]]:
    """:func:`monitor_status` of every declared monitor."""
    return [monitor_status(store, m) for m in config.monitors]
