"""Time in one place: timezone-aware UTC, truncated to microseconds.

Why: every record carries ``created_at`` and hash-chained rows hash its ISO text, so the value
written must read back identically from SQLite and PostgreSQL (both keep microseconds).
"""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def iso(value: datetime) -> str:
    """Canonical ISO-8601 text of an aware datetime, in UTC with microseconds."""
    if value.tzinfo is None:
        raise ValueError("naive datetime: TrustCart stores only timezone-aware UTC times")
    return value.astimezone(UTC).isoformat(timespec="microseconds")
