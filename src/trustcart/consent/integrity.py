"""Cross-check the queryable consent tables against the hash-chained ledger.

``consent_events`` and ``consent_state`` are copies made for speed (SQL statistics, startup of
the in-memory index). The chain protects only the ``consent`` log, so an edit to a copy — e.g.
flipping a refusal to a grant in ``consent_events`` — would go unnoticed by the chain alone.
This check (on top of :func:`trustcart.store.copies.verify_copy_table`) also checks the state
projection, so ``trustcart ledger verify`` covers the whole consent store.
"""

from __future__ import annotations

from sqlalchemy import select

from trustcart.consent.index import CONSENT_LOG
from trustcart.store import Store
from trustcart.store.copies import CopyCheck, verify_copy_table
from trustcart.store.tables import ConsentEvent, ConsentState, table_of

_events = table_of(ConsentEvent)
_state = table_of(ConsentState)
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


def verify_consent_copies(store: Store) -> CopyCheck:
    """Every ``consent_events`` row equals its ledger payload; ``consent_state`` holds each
    subject and purpose's newest event; no ledger entry lacks its row."""
    check, payloads = verify_copy_table(store, CONSENT_LOG, _events, _FIELDS)
    if not check.ok:
        return check
    with store.read(snapshot=True) as conn:
        state = {(r.subject, r.purpose): r for r in conn.execute(select(_state))}
    latest: dict[tuple[str, str], tuple[int, str]] = {}
    for seq, payload in payloads:
        latest[(payload["subject"], payload["purpose"])] = (seq, payload["decision"])
    for key, (seq, decision) in latest.items():
        s = state.get(key)
        if s is None or s.seq != seq or s.decision != decision:
            return CopyCheck(
                False,
                check.checked,
                seq,
                "consent_state does not match the newest ledger event for "
                "its subject and purpose (edited)",
            )
    if len(state) != len(latest):
        return CopyCheck(
            False, check.checked, None, "consent_state has rows no ledger event explains (inserted)"
        )
    return check
