"""The access log: who read which personal data, for what purpose, and when.

Why written *before* the data is read, in the caller's request: an entry that could be lost
after the answer went out would make the log a best effort; here the entry commits first, and
if it cannot be written the request fails, so no personal data leaves through the API without
its entry. The price is one small write per read of personal data (not per request: catalog,
rules and statistics reads are not personal and are not logged here).

Why a table *and* a hash-chained log: the ``access`` log is the evidence (editing or deleting an
entry breaks its chain); the ``access_log`` table, written in the same transaction, answers
questions fast ("when did key X last read personal data?", "who looked at this person?").
:func:`verify_access_log` checks both and that they agree.

What an entry holds: the key id and role (the principal), the scope that authorised it, the
*route template* (``/v1/consent/subjects/{subject}``, never the filled-in path), the kind of
object, the purpose, and the object read: a TrustCart id in clear, a person only by their
keyed pseudonym (the same one the consent ledger uses, so a DPO can answer "who accessed my
data?" without any raw identifier being stored here).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from trustcart.errors import PermissionDenied, ValidationError
from trustcart.governance.keys import Principal
from trustcart.governance.roles import PERSONAL_DATA_SCOPES, Role, Scope
from trustcart.store import CopyCheck, Store, VerifyResult, verify_copy_table
from trustcart.store.tables import AccessEntry as AccessRow
from trustcart.store.tables import table_of

ACCESS_LOG = "access"
_rows = table_of(AccessRow)
PURPOSE_PATTERN = r"^[a-z][a-z0-9_.\-]{0,63}$"
_PURPOSE = re.compile(PURPOSE_PATTERN)
#: What a read is for when the caller states no purpose: the role's standing purpose.
ROLE_PURPOSES: dict[Role, str] = {
    Role.DPO: "privacy_compliance",
    Role.ANALYST: "analytics",
    Role.ENGINEER: "engineering",
    Role.SUPPORT: "customer_support",
    Role.SERVICE: "service_operation",
    Role.ETHICS: "ethics_oversight",
    Role.REVIEWER: "human_review",
}
_FIELDS = (
    "key_id",
    "role",
    "scope",
    "channel",
    "method",
    "route",
    "kind",
    "purpose",
    "object",
    "subject",
)


@dataclass(frozen=True, slots=True)
class AccessEntry:
    """One logged read of personal data."""

    seq: int
    at: datetime
    key_id: str
    role: str
    scope: str
    channel: str
    method: str
    route: str
    kind: str
    purpose: str
    object: str | None
    subject: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON view."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class AccessLogCheck:
    """The access log's hash chain and its table copy, checked together."""

    chain: VerifyResult
    copy: CopyCheck

    @property
    def ok(self) -> bool:
        """Both intact and in agreement."""
        return self.chain.ok and self.copy.ok

    def to_dict(self) -> dict[str, Any]:
        """JSON view."""
        return {
            "ok": self.ok,
            "chain": self.chain.to_dict(),
            "copy": {
                "ok": self.copy.ok,
                "checked": self.copy.checked,
                "first_bad": self.copy.first_bad,
                "reason": self.copy.reason,
            },
        }


def resolve_purpose(stated: str | None, role: Role, *, required: bool) -> str:
    """The purpose to log: the stated one (validated), else the role's standing purpose, or an
    error when the workspace requires every read to state one."""
    if stated is None or not stated.strip():
        if required:
            raise ValidationError(
                "state why you read this personal data: send an 'X-Purpose' header (or the "
                "'access_purpose' query parameter), e.g. 'X-Purpose: customer_support'",
                details={"required": "X-Purpose"},
            )
        return ROLE_PURPOSES[role]
    purpose = stated.strip()
    if not _PURPOSE.fullmatch(purpose):
        raise ValidationError(
            f"invalid purpose {purpose[:64]!r}: use 1-64 lower-case letters, digits, '_', '.' "
            "or '-', starting with a letter (e.g. customer_support)"
        )
    return purpose


def record_access(
    store: Store,
    principal: Principal,
    *,
    scope: Scope,
    route: str,
    purpose: str,
    method: str = "GET",
    channel: str = "api",
    object: str | None = None,
    subject: str | None = None,
) -> AccessEntry:
    """Append one entry (hash-chained log + table, one transaction) and return it.

    ``subject`` must already be a pseudonym; ``scope`` must be a personal-data scope the
    principal holds (anything else is a programming error surfaced as ``PermissionDenied``).
    """
    if scope not in PERSONAL_DATA_SCOPES:
        raise ValidationError(f"{scope.value} is not a personal-data scope; nothing to log")
    if not principal.can(scope):
        raise PermissionDenied(
            f"role {principal.role.value!r} lacks scope {scope.value!r}",
            details={"required_scope": scope.value, "role": principal.role.value},
        )
    if not _PURPOSE.fullmatch(purpose):
        raise ValidationError(f"invalid purpose {purpose[:64]!r}")
    payload: dict[str, Any] = {
        "key_id": principal.key_id,
        "role": principal.role.value,
        "scope": scope.value,
        "channel": channel,
        "method": method.upper()[:8],
        "route": route[:200],
        "kind": PERSONAL_DATA_SCOPES[scope],
        "purpose": purpose,
        "object": object[:80] if object else None,
        "subject": subject,
    }
    with store.write() as conn:
        rec = store.log(ACCESS_LOG).append(payload, conn=conn)
        conn.execute(_rows.insert().values(seq=rec.seq, at=rec.created_at, **payload))
    return AccessEntry(seq=rec.seq, at=rec.created_at, **payload)


def _entry(row: Any) -> AccessEntry:
    return AccessEntry(
        row.seq,
        row.at,
        row.key_id,
        row.role,
        row.scope,
        row.channel,
        row.method,
        row.route,
        row.kind,
        row.purpose,
        row.object,
        row.subject,
    )


def access_entries(
    store: Store,
    *,
    key_id: str | None = None,
    subject: str | Sequence[str] | None = None,
    since: datetime | None = None,
    limit: int = 1000,
) -> list[AccessEntry]:
    """Entries, newest first, filtered by key, by subject pseudonym(s) and by time.

    ``subject`` may be all of a person's pseudonyms (``Pseudonymizer.candidates``), so reads
    logged before a key rotation are found too."""
    if limit < 1:
        raise ValidationError("limit must be at least 1")
    stmt = select(_rows).order_by(_rows.c.seq.desc()).limit(limit)
    if key_id is not None:
        stmt = stmt.where(_rows.c.key_id == key_id)
    if subject is not None:
        found = [subject] if isinstance(subject, str) else list(subject)
        stmt = stmt.where(_rows.c.subject.in_(found))
    if since is not None:
        stmt = stmt.where(_rows.c.at >= since)
    with store.read() as conn:
        return [_entry(r) for r in conn.execute(stmt)]


def last_access(store: Store) -> dict[str, datetime]:
    """When each key last read personal data (keys that never did are absent)."""
    with store.read() as conn:
        rows = conn.execute(
            select(_rows.c.key_id, func.max(_rows.c.at).label("at")).group_by(_rows.c.key_id)
        ).all()
    return {r.key_id: r.at for r in rows}  # max() keeps the column's UTC type


def verify_access_log(store: Store) -> AccessLogCheck:
    """Recompute the ``access`` chain and compare every table row with its log entry."""
    chain = store.log(ACCESS_LOG).verify()
    copy, _ = verify_copy_table(store, ACCESS_LOG, _rows, _FIELDS)
    return AccessLogCheck(chain, copy)
