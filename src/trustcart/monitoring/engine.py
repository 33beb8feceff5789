"""One monitoring pass: evaluate due windows, store them, detect drift, raise and send alerts.

How a pass works, per monitor (docs/monitoring.md states it as the contract):

1. The due windows are the complete grid windows after the newest stored one
   (:func:`trustcart.monitoring.windows.due_windows`).
2. The source is opened once for the span those windows and their previous windows cover —
   the workspace decision log restricted to that span, or any audit source
   (:func:`trustcart.fairness.open_source`: Parquet/CSV with DuckDB, a PostgreSQL table, …)
   filtered on ``time_column`` — and each window is one :func:`trustcart.fairness.audit`
   of the rows in ``[start, end)``: the GROUP BY runs in the data's engine.
3. Each window's result, its metric values per group and its breaches are written in one
   transaction; ``(monitor, window_end)`` is unique, so a window is stored once even when
   runs overlap, and running again is a no-op (idempotent per window).
4. Alerts are de-duplicated per monitor: the first window with any breach *raises* an alert;
   windows that stay in breach add nothing; ``clear_after`` clean windows in a row record a
   recovery (``resolved``). Each event is appended to the hash-chained ``monitor_alerts`` log
   in the same transaction as its window, then sent to the outbox and the webhook.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import ibis
import orjson
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from trustcart.clock import utcnow
from trustcart.errors import ConfigError, ValidationError
from trustcart.fairness.decision_source import is_decisions, open_decisions
from trustcart.fairness.engine import audit
from trustcart.fairness.findings import Thresholds
from trustcart.fairness.sources import Source, open_source
from trustcart.ids import new_id
from trustcart.monitoring.config import AlertsConfig, MonitorsFile, MonitorSpec, load_monitors
from trustcart.monitoring.delivery import post_signed
from trustcart.monitoring.drift import Breach, breaches_of, rule_values
from trustcart.monitoring.windows import Window, due_windows, floor_to_step
from trustcart.rights.outbox import OutboxSender
from trustcart.store import Store
from trustcart.store.tables import MonitorAlert, MonitorResult, MonitorValue, table_of
from trustcart.workspace import Workspace

ALERT_LOG = "monitor_alerts"
_results = table_of(MonitorResult)
_values = table_of(MonitorValue)
_alerts = table_of(MonitorAlert)
_log = logging.getLogger("trustcart.monitoring")


def _json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS, default=str).decode()


@dataclass
class WindowOutcome:
    """What a pass did with one window."""

    monitor: str
    window: Window
    status: str  # ok | breach | empty | skipped (another run stored it first)
    rows: int
    breaches: list[Breach] = field(default_factory=list)
    alert: str | None = None  # id of the alert event this window raised or resolved
    event: str | None = None  # raised | resolved

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (CLI ``--format json``)."""
        return {
            "monitor": self.monitor,
            "window": self.window.to_dict(),
            "status": self.status,
            "rows": self.rows,
            "breaches": [b.to_dict() for b in self.breaches],
            "alert": self.alert,
            "event": self.event,
        }


@dataclass
class RunReport:
    """Every window a pass evaluated and every delivery it attempted."""

    windows: list[WindowOutcome] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)

    @property
    def alerts(self) -> list[WindowOutcome]:
        """Windows that raised or resolved an alert."""
        return [w for w in self.windows if w.event]

    @property
    def failed_deliveries(self) -> list[dict[str, Any]]:
        """Deliveries that did not succeed (the CLI exits 1 when there are some)."""
        return [d for d in self.deliveries if d["webhook"] == "failed"]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "windows": [w.to_dict() for w in self.windows],
            "deliveries": self.deliveries,
        }


# --- reading the source -------------------------------------------------------------------------


def _open(store: Store, spec: MonitorSpec, since: datetime, until: datetime) -> Source:
    if is_decisions(spec.source):
        return open_decisions(store, spec.source, since=since, until=until)
    return open_source(spec.source, table=spec.table)


def _check_columns(spec: MonitorSpec, src: Source) -> None:
    names = list(src.table.columns)
    wanted = [("time_column", spec.time_column), ("outcome", spec.outcome)]
    wanted += [("groups", g) for g in spec.groups]
    wanted += [(k, v) for k, v in (("label", spec.label), ("position", spec.position)) if v]
    for key, col in wanted:
        if col not in names:
            raise ConfigError(
                f"monitor {spec.name!r}: {key} names column {col!r}, which {src.description} "
                f"does not have; available columns: {', '.join(names)}",
                details={"monitor": spec.name, "key": key, "column": col, "available": names},
            )
    dtype = src.table[spec.time_column].type()
    if not (dtype.is_timestamp() or dtype.is_date()):
        raise ConfigError(
            f"monitor {spec.name!r}: time_column {spec.time_column!r} is {dtype}, not a "
            "timestamp or date",
            details={"monitor": spec.name, "key": "time_column"},
        )


def _time_literal(src: Source, column: str, t: datetime) -> Any:
    """``t`` typed like the column: aware for timestamptz, naive UTC for a naive timestamp."""
    dtype = src.table[column].type()
    if dtype.is_timestamp() and getattr(dtype, "timezone", None):
        return ibis.literal(t, type=dtype)
    return ibis.literal(t.replace(tzinfo=None), type="timestamp")


def _slice(src: Source, spec: MonitorSpec, w: Window) -> Source:
    col = src.table[spec.time_column]
    if src.table[spec.time_column].type().is_date():
        col = col.cast("timestamp")
        lo = ibis.literal(w.start.replace(tzinfo=None), type="timestamp")
        hi = ibis.literal(w.end.replace(tzinfo=None), type="timestamp")
    else:
        lo = _time_literal(src, spec.time_column, w.start)
        hi = _time_literal(src, spec.time_column, w.end)
    table = src.table.filter((col >= lo) & (col < hi))
    return Source(
        table,
        f"{src.description} [{w.start.isoformat()}, {w.end.isoformat()})",
        src.backend,
        src.fingerprint,
    )


def evaluate_window(src: Source, spec: MonitorSpec, w: Window) -> dict[str, Any] | None:
    """The audit document of one window, or ``None`` when the window holds no usable row."""
    part = _slice(src, spec, w)
    try:
        result = audit(
            part,
            spec.groups,
            spec.outcome,
            spec.kind,
            label=spec.label,
            position=spec.position,
            min_group_size=spec.min_group_size,
            favourable=spec.favourable,
            thresholds=Thresholds(alpha=spec.alpha),
        )
    except ValidationError as exc:
        if "is empty" in exc.message or "no usable row" in exc.message:
            return None
        raise ValidationError(
            f"monitor {spec.name!r}, window {w.start.isoformat()} – {w.end.isoformat()}: "
            f"{exc.message}",
            details=exc.details,
        ) from None
    doc = result.to_dict()
    doc.pop("elapsed_seconds", None)
    return doc


# --- state in the store -------------------------------------------------------------------------


def last_window_end(store: Store, monitor: str) -> datetime | None:
    """The newest stored window end of ``monitor``."""
    with store.read() as conn:
        return conn.execute(
            select(_results.c.window_end)
            .where(_results.c.monitor == monitor)
            .order_by(_results.c.window_end.desc())
            .limit(1)
        ).scalar_one_or_none()


def _stored_doc(store: Store, spec: MonitorSpec, end: datetime) -> dict[str, Any] | None:
    with store.read() as conn:
        row = conn.execute(
            select(_results.c.result, _results.c.config_hash, _results.c.status).where(
                (_results.c.monitor == spec.name) & (_results.c.window_end == end)
            )
        ).first()
    if row is None or row.config_hash != spec.config_hash() or row.status == "empty":
        return None
    doc = orjson.loads(row.result)
    return doc if isinstance(doc, dict) and doc else None


def _open_alert(conn: Any, monitor: str) -> Any:
    """The monitor's newest alert event, if it is an open (``raised``) one."""
    row = conn.execute(
        select(_alerts.c.id, _alerts.c.event, _alerts.c.window_end)
        .where(_alerts.c.monitor == monitor)
        .order_by(_alerts.c.window_end.desc(), _alerts.c.created_at.desc())
        .limit(1)
    ).first()
    return row if row is not None and row.event == "raised" else None


def _clean_run(conn: Any, spec: MonitorSpec, since: datetime) -> bool:
    """Whether the last ``clear_after`` evaluated windows after ``since`` were all clean."""
    n = spec.windows_to_clear
    statuses = list(
        conn.execute(
            select(_results.c.status)
            .where(
                (_results.c.monitor == spec.name)
                & (_results.c.window_end > since)
                & (_results.c.status != "empty")
            )
            .order_by(_results.c.window_end.desc())
            .limit(n)
        ).scalars()
    )
    return len(statuses) == n and all(s == "ok" for s in statuses)


def _message(spec: MonitorSpec, event: str, w: Window, breaches: list[Breach]) -> str:
    span = f"{w.start:%Y-%m-%d %H:%M} – {w.end:%Y-%m-%d %H:%M} UTC"
    if event == "resolved":
        return (
            f"monitor {spec.name}: recovered — {spec.windows_to_clear} window(s) in a row "
            f"without a breach (last: {span})"
        )
    lines = "; ".join(b.sentence() for b in breaches)
    return f"monitor {spec.name}: drift in the window {span}: {lines}"


def _store_window(
    store: Store,
    spec: MonitorSpec,
    w: Window,
    doc: dict[str, Any] | None,
    breaches: list[Breach],
    alerts: AlertsConfig,
) -> WindowOutcome:
    """Write one window (and the alert event it causes) in one transaction."""
    now = utcnow()
    status = "empty" if doc is None else ("breach" if breaches else "ok")
    rows = int(doc["rows"]) if doc else 0
    outcome = WindowOutcome(spec.name, w, status, rows, breaches)
    result_id = new_id("mon_")
    try:
        with store.write() as conn:
            conn.execute(
                insert(_results).values(
                    id=result_id,
                    monitor=spec.name,
                    window_start=w.start,
                    window_end=w.end,
                    status=status,
                    rows=rows,
                    config_hash=spec.config_hash(),
                    breaches=_json([b.to_dict() for b in breaches]),
                    result=_json(doc or {}),
                    created_at=now,
                )
            )
            values = []
            for rule in spec.metrics if doc else []:
                for v in rule_values(spec, rule, doc or {}):
                    values.append(
                        {
                            "result_id": result_id,
                            "monitor": spec.name,
                            "window_end": w.end,
                            "metric": rule.metric
                            + ("" if spec.scope_of(rule) == "group" else ":summary"),
                            "group_label": v["group"][:300],
                            "value": v["value"],
                            "ci_low": v["ci_low"],
                            "ci_high": v["ci_high"],
                            "count": v["count"],
                        }
                    )
            if values:
                conn.execute(insert(_values), values)
            open_alert = _open_alert(conn, spec.name)
            event = None
            if breaches and open_alert is None:
                event = "raised"
            elif (
                status == "ok"
                and open_alert is not None
                and _clean_run(conn, spec, open_alert.window_end)
            ):
                event = "resolved"
            if event is not None:
                outcome.alert, outcome.event = _raise(conn, store, spec, w, event, breaches, alerts)
    except IntegrityError:
        # Another run stored this window first (unique monitor + window_end): nothing to do.
        return WindowOutcome(spec.name, w, "skipped", rows)
    return outcome


def _raise(
    conn: Any,
    store: Store,
    spec: MonitorSpec,
    w: Window,
    event: str,
    breaches: list[Breach],
    alerts: AlertsConfig,
) -> tuple[str, str]:
    alert_id = new_id("mal_")
    message = _message(spec, event, w, breaches)
    notify = event == "raised" or alerts.notify_recoveries
    payload = {
        "alert": alert_id,
        "event": event,
        "monitor": spec.name,
        "window": w.to_dict(),
        "breaches": [b.to_dict() for b in breaches],
        "message": message,
        "config_hash": spec.config_hash(),
    }
    record = store.log(ALERT_LOG).append(payload, conn=conn)
    conn.execute(
        insert(_alerts).values(
            id=alert_id,
            monitor=spec.name,
            event=event,
            window_start=w.start,
            window_end=w.end,
            message=message,
            breaches=_json(payload["breaches"]),
            log_seq=record.seq,
            outbox_status="pending" if notify and alerts.outbox else "skipped",
            webhook_status="pending" if notify and alerts.webhook else "skipped",
            webhook_attempts=0,
            webhook_error=None,
            created_at=record.created_at,
        )
    )
    return alert_id, event


# --- delivering ---------------------------------------------------------------------------------


def _alert_payload(row: Any) -> dict[str, Any]:
    return {
        "type": "trustcart.monitor.alert",
        "alert": row.id,
        "event": row.event,
        "monitor": row.monitor,
        "window": {"start": row.window_start.isoformat(), "end": row.window_end.isoformat()},
        "breaches": orjson.loads(row.breaches),
        "message": row.message,
        "created_at": row.created_at.isoformat(),
        "log": {"name": ALERT_LOG, "seq": row.log_seq},
        "dashboard_path": f"/dashboard/monitoring/{row.monitor}",
    }


def deliver_pending(store: Store, alerts: AlertsConfig) -> list[dict[str, Any]]:
    """Send every alert whose outbox message or webhook call is pending (or failed before).

    Why after the commit and not inside it: a slow webhook must not hold the write lock, and
    an alert must exist as evidence even if every receiver is down; a crash between the two
    leaves the delivery ``pending`` and the next run sends it.
    """
    with store.read() as conn:
        rows = list(
            conn.execute(
                select(_alerts)
                .where(
                    (_alerts.c.outbox_status == "pending")
                    | (_alerts.c.webhook_status.in_(("pending", "failed")))
                )
                .order_by(_alerts.c.created_at)
            )
        )
    done = []
    for row in rows:
        payload = _alert_payload(row)
        outbox, webhook = row.outbox_status, row.webhook_status
        changes: dict[str, Any] = {}
        if outbox == "pending":
            subject = f"[TrustCart monitor] {row.monitor}: {row.event}"
            OutboxSender(store).send(row.id, alerts.recipient, subject, row.message)
            changes["outbox_status"] = outbox = "sent"
        if webhook in ("pending", "failed"):
            if alerts.webhook is None:
                changes["webhook_status"] = webhook = "skipped"
            else:
                result = post_signed(alerts.webhook, payload, delivery_id=row.id)
                webhook = result.status
                changes |= {
                    "webhook_status": result.status,
                    "webhook_attempts": row.webhook_attempts + result.attempts,
                    "webhook_error": (result.error or "")[:300] or None,
                }
        with store.write() as conn:
            conn.execute(update(_alerts).where(_alerts.c.id == row.id).values(**changes))
        done.append(
            {
                "alert": row.id,
                "monitor": row.monitor,
                "event": row.event,
                "outbox": outbox,
                "webhook": webhook,
                "error": changes.get("webhook_error"),
            }
        )
    return done


# --- the pass -----------------------------------------------------------------------------------


def run_monitor(
    store: Store,
    spec: MonitorSpec,
    alerts: AlertsConfig,
    *,
    now: datetime | None = None,
) -> list[WindowOutcome]:
    """Evaluate and store the due windows of one monitor (deliveries: :func:`deliver_pending`)."""
    now = now or utcnow()
    after = last_window_end(store, spec.name)
    lower = max(now - spec.backfill, after) if after else now - spec.backfill
    # read from the start of the previous window (the change rule reads it) of the earliest
    # window that can be due: its end is the first grid point after ``lower``
    span_start = floor_to_step(lower, spec.step) + spec.step - 2 * spec.window
    src = _open(store, spec, span_start, now)
    _check_columns(spec, src)
    first_data = None
    if after is None:
        first = src.table[spec.time_column].min().execute()
        if first is None:
            return []
        first_data = _aware(first)
    windows = due_windows(
        window=spec.window,
        step=spec.step,
        now=now,
        grace=spec.grace,
        backfill=spec.backfill,
        after=after,
        first_data=first_data,
    )
    docs: dict[datetime, dict[str, Any] | None] = {}
    out = []
    for w in windows:
        doc = evaluate_window(src, spec, w)
        docs[w.end] = doc
        prev_end = w.previous.end
        if prev_end in docs:
            previous = docs[prev_end]
        else:
            previous = _stored_doc(store, spec, prev_end)
            if previous is None:
                previous = evaluate_window(src, spec, w.previous)
            docs[prev_end] = previous
        breaches = breaches_of(spec, doc, previous) if doc else []
        outcome = _store_window(store, spec, w, doc, breaches, alerts)
        out.append(outcome)
        if outcome.event:
            _log.info("monitor %s: alert %s %s", spec.name, outcome.alert, outcome.event)
    return out


def _aware(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    ts = getattr(value, "to_pydatetime", None)
    if ts is not None:
        return _aware(ts())
    raise ValidationError(f"cannot read a time from {type(value).__name__}")


def run_monitors(
    ws: Workspace,
    *,
    names: list[str] | None = None,
    now: datetime | None = None,
    config: MonitorsFile | None = None,
) -> RunReport:
    """One pass over the workspace's monitors (all, or ``names``): windows, alerts, deliveries.

    Safe to run from cron at any frequency: stored windows are skipped, so a pass does work
    only when a window has completed since the last one.
    """
    config = config or load_monitors(ws.settings, required=True)
    specs = [config.get(n) for n in names] if names else list(config.monitors)
    if not specs:
        raise ConfigError("no monitor is declared: add one to the monitors file first")
    report = RunReport()
    for spec in specs:
        report.windows += run_monitor(ws.store, spec, config.alerts, now=now)
    report.deliveries = deliver_pending(ws.store, config.alerts)
    return report
