"""Consent rates per day × purpose × jurisdiction × mechanism, computed in the database."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Date, case, cast, func, select

from trustcart.store import Store
from trustcart.store.tables import ConsentEvent, table_of

_events = table_of(ConsentEvent)


def _day(dialect: str) -> ColumnElement[Any]:
    if dialect == "sqlite":
        return func.date(_events.c.created_at)
    return cast(func.date_trunc("day", _events.c.created_at), Date)


def consent_rates(
    store: Store, *, since: datetime | None = None, until: datetime | None = None
) -> list[dict[str, Any]]:
    """One row per (day, purpose, jurisdiction, mechanism) with counts and the grant rate.

    The aggregation is a single GROUP BY in the database, so it costs the same whether the
    ledger holds a thousand events or ten million.
    """
    day = _day(store.dialect).label("day")
    granted = func.sum(case((_events.c.decision == "granted", 1), else_=0)).label("granted")
    denied = func.sum(case((_events.c.decision == "denied", 1), else_=0)).label("denied")
    withdrawn = func.sum(case((_events.c.decision == "withdrawn", 1), else_=0)).label("withdrawn")
    invalid = func.sum(case((_events.c.valid.is_(False), 1), else_=0)).label("invalid")
    stmt = select(
        day,
        _events.c.purpose,
        _events.c.jurisdiction,
        _events.c.mechanism,
        func.count().label("events"),
        granted,
        denied,
        withdrawn,
        invalid,
    )
    if since is not None:
        stmt = stmt.where(_events.c.created_at >= since)
    if until is not None:
        stmt = stmt.where(_events.c.created_at < until)
    stmt = stmt.group_by(
        day, _events.c.purpose, _events.c.jurisdiction, _events.c.mechanism
    ).order_by(day, _events.c.purpose, _events.c.jurisdiction, _events.c.mechanism)
    with store.read() as conn:
        rows = conn.execute(stmt).all()
    return [
        {
            "day": str(r.day),
            "purpose": r.purpose,
            "jurisdiction": r.jurisdiction,
            "mechanism": r.mechanism,
            "events": int(r.events),
            "granted": int(r.granted),
            "denied": int(r.denied),
            "withdrawn": int(r.withdrawn),
            "invalid": int(r.invalid),
            "grant_rate": round(int(r.granted) / int(r.events), 4) if r.events else 0.0,
        }
        for r in rows
    ]
