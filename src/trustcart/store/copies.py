"""Check a queryable copy table against the hash-chained log it was written from.

Consent events and decisions are written twice in one transaction: to a hash-chained log (the
evidence) and to a plain table (for SQL queries and fast start-up). The chain protects only the
log, so an edit to the copy — flipping a refusal to a grant, changing a price — would go
unnoticed by ``verify()`` alone. This check compares every copy row with the log entry of the
same position and names the first one that differs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Table, select

from trustcart.store.store import Store
from trustcart.store.tables import LogEntry, table_of

_entries = table_of(LogEntry)


@dataclass(frozen=True, slots=True)
class CopyCheck:
    """Result of comparing a copy table with its log: ``first_bad`` is a log position."""

    ok: bool
    checked: int
    first_bad: int | None = None
    reason: str | None = None


def verify_copy_table(
    store: Store,
    log: str,
    table: Table,
    fields: Sequence[str],
    *,
    decoders: Mapping[str, Callable[[Any], Any]] | None = None,
) -> tuple[CopyCheck, list[tuple[int, dict[str, Any]]]]:
    """Every row of ``table`` (keyed by ``seq``) equals its ``log`` entry's payload on ``fields``;
    no log entry lacks its row and no row lacks its entry.

    ``decoders`` turn a stored column back into the payload's form before comparing (e.g. a
    JSON text column). Also returns ``(seq, payload)`` in log order, for callers that check
    more (e.g. a projection of the newest event per key).
    """
    decode = dict(decoders or {})
    name = table.name
    with store.read(snapshot=True) as conn:
        log_rows = conn.execute(
            select(_entries.c.seq, _entries.c.payload)
            .where(_entries.c.log == log)
            .order_by(_entries.c.seq)
        ).all()
        copies = {r.seq: r for r in conn.execute(select(table))}
    payloads = []
    for entry in log_rows:
        payload = orjson.loads(entry.payload)
        payloads.append((entry.seq, payload))
        row = copies.pop(entry.seq, None)
        if row is None:
            return CopyCheck(
                False, entry.seq - 1, entry.seq, f"log entry has no row in {name} (deleted)"
            ), payloads
        for field in fields:
            value = getattr(row, field)
            if field in decode:
                value = decode[field](value)
            if value != payload.get(field):
                return CopyCheck(
                    False, entry.seq - 1, entry.seq, f"{name}.{field} differs from the log (edited)"
                ), payloads
    if copies:
        return CopyCheck(
            False, len(log_rows), min(copies), f"{name} has a row with no log entry (inserted)"
        ), payloads
    return CopyCheck(True, len(log_rows)), payloads
