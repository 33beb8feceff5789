"""Access reviews: every API key is re-approved or revoked on a schedule, by a named reviewer.

Why per key: a key is the grant (it carries one role, hence its scopes), and it is what the
access log records. A review is an append-only row (who, when, approved or revoked, a note)
plus an ``admin`` log entry; revoking in a review revokes the key in the same transaction.

What is "due": a key never reviewed is due ``review_days`` after its creation; an approved key
``review_days`` after that approval. What is "unused": a key holding personal-data scopes that
has not used them (no access-log entry) for ``unused_days`` — least privilege says narrow or
revoke it. Both feed the scanner (TC-GOV-001, TC-GOV-002).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import select

from trustcart.clock import utcnow
from trustcart.errors import Conflict, NotFound, PermissionDenied, ValidationError
from trustcart.governance.access import last_access
from trustcart.governance.keys import ADMIN_LOG, revoke_in
from trustcart.governance.roles import Role, personal_scopes
from trustcart.ids import new_id
from trustcart.store import Store
from trustcart.store.tables import AccessReview, ApiKey, table_of

if TYPE_CHECKING:
    from trustcart.config import Settings

ReviewDecision = Literal["approved", "revoked"]
_reviews = table_of(AccessReview)
_keys = table_of(ApiKey)


@dataclass(frozen=True, slots=True)
class AccessPolicy:
    """How often keys are reviewed and when an unused grant is flagged (days)."""

    review_days: int = 90
    unused_days: int = 90

    @classmethod
    def of(cls, settings: Settings | None) -> AccessPolicy:
        """The workspace's policy (defaults without settings)."""
        if settings is None:
            return cls()
        return cls(settings.access_review_days, settings.unused_grant_days)


@dataclass(frozen=True, slots=True)
class ReviewRecord:
    """One recorded review."""

    id: str
    key_id: str
    decision: str
    reviewer: str
    note: str | None
    reviewed_on: date
    next_due: date | None
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """JSON view."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class GrantStatus:
    """An active key as an access review sees it."""

    key_id: str
    name: str
    role: str
    created_at: datetime
    personal_scopes: list[str]
    last_review: ReviewRecord | None
    due_on: date
    overdue: bool
    last_access: datetime | None
    unused: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON view."""
        d = asdict(self)
        d["last_review"] = self.last_review.to_dict() if self.last_review else None
        return d


def _record(row: Any) -> ReviewRecord:
    return ReviewRecord(
        row.id,
        row.key_id,
        row.decision,
        row.reviewer,
        row.note,
        row.reviewed_on,
        row.next_due,
        row.created_at,
    )


def review_access(
    store: Store,
    key_id: str,
    *,
    decision: str,
    reviewer: str,
    note: str | None = None,
    on: date | None = None,
    review_days: int = 90,
    actor: str = "cli",
) -> ReviewRecord:
    """Record that ``reviewer`` re-approved or revoked key ``key_id`` (revoking it at once).

    A key cannot review itself (``actor`` is the reviewing key's id when called over the API).
    """
    if decision not in ("approved", "revoked"):
        raise ValidationError(f"decision must be 'approved' or 'revoked', got {decision!r}")
    who = reviewer.strip()
    if not who or len(who) > 200:
        raise ValidationError("a review names its reviewer (1-200 characters)")
    if actor == key_id:
        raise PermissionDenied("a key cannot review its own access; ask another reviewer")
    if review_days < 1:
        raise ValidationError("review_days must be at least 1")
    day = on or utcnow().date()
    if day > utcnow().date():
        raise ValidationError("a review cannot be dated in the future")
    text = (note or "").strip() or None
    next_due = day + timedelta(days=review_days) if decision == "approved" else None
    rid = new_id("arv_")
    with store.write() as conn:
        key = conn.execute(select(_keys).where(_keys.c.id == key_id)).first()
        if key is None:
            raise NotFound(f"no API key {key_id!r} (see `trustcart keys list`)")
        if key.revoked_at is not None:
            raise Conflict(f"API key {key_id!r} is already revoked; there is nothing to review")
        now = utcnow()
        conn.execute(
            _reviews.insert().values(
                id=rid,
                key_id=key_id,
                decision=decision,
                reviewer=who,
                note=text,
                reviewed_on=day,
                next_due=next_due,
                created_at=now,
            )
        )
        if decision == "revoked":
            revoke_in(store, conn, key_id, actor=actor)
        store.log(ADMIN_LOG).append(
            {
                "action": "access.reviewed",
                "review_id": rid,
                "key_id": key_id,
                "decision": decision,
                "actor": actor,
            },
            conn=conn,
        )
    return ReviewRecord(rid, key_id, decision, who, text, day, next_due, now)


def access_reviews(store: Store, key_id: str | None = None) -> list[ReviewRecord]:
    """Recorded reviews, oldest first (of one key when ``key_id`` is given)."""
    stmt = select(_reviews).order_by(_reviews.c.created_at, _reviews.c.id)
    if key_id is not None:
        stmt = stmt.where(_reviews.c.key_id == key_id)
    with store.read() as conn:
        return [_record(r) for r in conn.execute(stmt)]


def grant_status(
    store: Store, *, policy: AccessPolicy | None = None, on: date | None = None
) -> list[GrantStatus]:
    """Every active key with its review due date and last use of personal data, most overdue
    first."""
    pol = policy or AccessPolicy()
    day = on or utcnow().date()
    latest: dict[str, ReviewRecord] = {}
    for r in access_reviews(store):
        latest[r.key_id] = r  # oldest first, so the newest wins
    used = last_access(store)
    with store.read() as conn:
        keys = conn.execute(
            select(_keys).where(_keys.c.revoked_at.is_(None)).order_by(_keys.c.created_at)
        ).all()
    out: list[GrantStatus] = []
    for k in keys:
        review = latest.get(k.id)
        due = (
            review.next_due
            if review is not None and review.next_due is not None
            else k.created_at.date() + timedelta(days=pol.review_days)
        )
        scopes = [s.value for s in personal_scopes(Role(k.role))]
        last = used.get(k.id)
        since = max(last, k.created_at) if last is not None else k.created_at
        unused = bool(scopes) and (day - since.date()).days >= pol.unused_days
        out.append(
            GrantStatus(
                k.id, k.name, k.role, k.created_at, scopes, review, due, due < day, last, unused
            )
        )
    out.sort(key=lambda g: (g.due_on, g.key_id))
    return out
