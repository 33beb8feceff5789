"""Cross-check the queryable consent tables against the hash-chained ledger.

``consent_events`` and ``consent_state`` are copies made for speed (SQL statistics, startup of
the in-memory index). The chain protects only the ``consent`` log, so an edit to a copy — e.g.
flipping a refusal to a grant in ``consent_events`` — would go unnoticed by the chain alone.
This check compares every copy with the ledger entry it came from and names the first event
that differs, so ``trustcart ledger verify`` covers the whole consent store.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson
from sqlalchemy import select

from trustcart.consent.index import CONSENT_LOG
from trustcart.store import Store
from trustcart.store.tables import ConsentEvent, ConsentState, LogEntry, table_of

_events = table_of(ConsentEvent)
_state = table_of(ConsentState)
_entries = table_of(LogEntry)
_FIELDS = (
    "id",
    "subject",
    "purpose",
    "data_use",
    "decision",
    "mechanism",
    "jurisdiction",
    "notice_version",
    "channel",
    "valid",
    "validity",
)


@dataclass(frozen=True, slots=True)
class CopyCheck:
    """Result of comparing the consent tables with the ledger."""

    ok: bool
    checked: int
    first_bad: int | None = None
    reason: str | None = None


def verify_consent_copies(store: Store) -> CopyCheck:
    """Every ``consent_events`` row equals its ledger payload; ``consent_state`` holds each
    subject and purpose's newest event; no ledger entry lacks its row."""
    with store.read(snapshot=True) as conn:
        log_rows = conn.execute(
            select(_entries.c.seq, _entries.c.payload)
            .where(_entries.c.log == CONSENT_LOG)
            .order_by(_entries.c.seq)
        ).all()
        copies = {r.seq: r for r in conn.execute(select(_events))}
        state = {(r.subject, r.purpose): r for r in conn.execute(select(_state))}
    latest: dict[tuple[str, str], tuple[int, str]] = {}
    for entry in log_rows:
        payload = orjson.loads(entry.payload)
        row = copies.pop(entry.seq, None)
        if row is None:
            return CopyCheck(
                False,
                entry.seq - 1,
                entry.seq,
                "ledger event has no row in consent_events (deleted)",
            )
        for name in _FIELDS:
            if getattr(row, name) != payload.get(name):
                return CopyCheck(
                    False,
                    entry.seq - 1,
                    entry.seq,
                    f"consent_events.{name} differs from the ledger (edited)",
                )
        latest[(payload["subject"], payload["purpose"])] = (entry.seq, payload["decision"])
    if copies:
        seq = min(copies)
        return CopyCheck(
            False, len(log_rows), seq, "consent_events has a row with no ledger entry (inserted)"
        )
    for key, (seq, decision) in latest.items():
        s = state.get(key)
        if s is None or s.seq != seq or s.decision != decision:
            return CopyCheck(
                False,
                len(log_rows),
                seq,
                "consent_state does not match the newest ledger event for "
                "its subject and purpose (edited)",
            )
    if len(state) != len(latest):
        return CopyCheck(
            False, len(log_rows), None, "consent_state has rows no ledger event explains (inserted)"
        )
    return CopyCheck(True, len(log_rows))
