"""Verify every piece of evidence a workspace keeps: each hash chain and each copy table.

Why one function: ``trustcart ledger verify``, the dashboard and the demo must agree on what
"the ledgers are intact" means — every hash-chained log recomputes, and each queryable copy
(``consent_events``/``consent_state``, ``decisions``) equals the log it was written from.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from trustcart.errors import NotFound
from trustcart.store import CopyCheck, Store


@dataclass(frozen=True, slots=True)
class EvidenceCheck:
    """The outcome for one log or one copy table."""

    name: str
    ok: bool
    checked: int
    first_bad: int | None = None
    reason: str | None = None
    head_seq: int | None = None  # for a log: its head, which a later verify can compare
    head_hash: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON view (``head_seq``/``head_hash`` only for a log)."""
        out: dict[str, Any] = {
            "log": self.name,
            "ok": self.ok,
            "checked": self.checked,
            "first_bad": self.first_bad,
            "reason": self.reason,
        }
        if self.head_seq is not None:
            out["head_seq"] = self.head_seq
            out["head_hash"] = self.head_hash
        return out


def copy_checks() -> dict[str, Callable[[Store], CopyCheck]]:
    """Logs that have a queryable copy table, and the check comparing it with the log."""
    from trustcart.consent import verify_consent_copies
    from trustcart.gateway.log import verify_decision_copies
    from trustcart.review.desk import REVIEW_LOG, verify_review_cases

    return {
        "consent": verify_consent_copies,
        "decisions": verify_decision_copies,
        REVIEW_LOG: verify_review_cases,
    }


def verify_evidence(store: Store, names: Sequence[str] | None = None) -> list[EvidenceCheck]:
    """Verify the logs ``names`` (default: all) and their copy tables; ``NotFound`` names an
    unknown log."""
    known = store.log_names()
    wanted = list(names or known)
    missing = sorted(set(wanted) - set(known))
    if missing:
        raise NotFound(f"no log named {', '.join(missing)}; existing: {', '.join(known) or 'none'}")
    out = []
    for name in wanted:
        r = store.log(name).verify()
        out.append(
            EvidenceCheck(r.log, r.ok, r.checked, r.first_bad, r.reason, r.head_seq, r.head_hash)
        )
    for name, check in copy_checks().items():
        if name in wanted:
            c = check(store)
            out.append(
                EvidenceCheck(f"{name} (table vs log)", c.ok, c.checked, c.first_bad, c.reason)
            )
    return out
