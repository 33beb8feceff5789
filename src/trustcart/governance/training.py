"""Training records: who completed which course, and until when it counts.

Why tied to API keys: the people whose training matters are those who can read personal data,
and in TrustCart that ability is an API key whose role holds a personal-data scope. A human's
key is named after the person (``trustcart keys create --role support --name
alice@shop.example``); training is recorded for the same name, and :func:`training_gaps` lists
every such person lacking a required course or holding an expired one (scanner TC-GOV-003).
Keys of the ``service`` role belong to machines and are not expected to train.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import select

from trustcart.clock import utcnow
from trustcart.errors import ValidationError
from trustcart.governance.keys import ADMIN_LOG
from trustcart.governance.roles import Role, personal_scopes
from trustcart.ids import new_id
from trustcart.store import Store
from trustcart.store.tables import ApiKey, TrainingRecord, table_of

_training = table_of(TrainingRecord)
_keys = table_of(ApiKey)
_COURSE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
#: Courses TrustCart knows by name (any other slug may be recorded too).
KNOWN_COURSES: dict[str, str] = {
    "privacy_law": "Data protection law for staff handling personal data",
    "ethical_ai": "Ethical and lawful AI (AI literacy)",
}


@dataclass(frozen=True, slots=True)
class Training:
    """One completed course."""

    id: str
    person: str
    course: str
    completed_on: date
    expires_on: date
    recorded_by: str
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """JSON view."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class TrainingGap:
    """A person with access to personal data lacking a valid required course."""

    person: str
    key_ids: list[str]
    roles: list[str]
    course: str
    status: Literal["missing", "expired"]
    expired_on: date | None

    def to_dict(self) -> dict[str, Any]:
        """JSON view."""
        return asdict(self)


def _training_row(row: Any) -> Training:
    return Training(
        row.id,
        row.person,
        row.course,
        row.completed_on,
        row.expires_on,
        row.recorded_by,
        row.created_at,
    )


def record_training(
    store: Store,
    person: str,
    course: str,
    completed_on: date,
    *,
    expires_on: date | None = None,
    validity_days: int = 365,
    actor: str = "cli",
) -> Training:
    """Record that ``person`` completed ``course`` (expiring after ``validity_days`` unless
    ``expires_on`` is given)."""
    who = person.strip()
    if not who or len(who) > 200:
        raise ValidationError("a training record names the person (1-200 characters)")
    if not _COURSE.fullmatch(course):
        raise ValidationError(
            f"course {course!r}: use lower-case letters, digits and '_' (e.g. privacy_law)"
        )
    today = utcnow().date()
    if completed_on > today:
        raise ValidationError("a course cannot be completed in the future")
    if validity_days < 1:
        raise ValidationError("validity_days must be at least 1")
    expires = expires_on or completed_on + timedelta(days=validity_days)
    if expires <= completed_on:
        raise ValidationError("expires_on must be after completed_on")
    rid = new_id("trn_")
    now = utcnow()
    with store.write() as conn:
        conn.execute(
            _training.insert().values(
                id=rid,
                person=who,
                course=course,
                completed_on=completed_on,
                expires_on=expires,
                recorded_by=actor,
                created_at=now,
            )
        )
        # The record id, not the person's name: the append-only log need not hold it.
        store.log(ADMIN_LOG).append(
            {"action": "training.recorded", "record_id": rid, "course": course, "actor": actor},
            conn=conn,
        )
    return Training(rid, who, course, completed_on, expires, actor, now)


def training_records(store: Store, person: str | None = None) -> list[Training]:
    """Records, oldest completion first (of one person when given)."""
    stmt = select(_training).order_by(_training.c.completed_on, _training.c.id)
    if person is not None:
        stmt = stmt.where(_training.c.person == person.strip())
    with store.read() as conn:
        return [_training_row(r) for r in conn.execute(stmt)]


def training_gaps(
    store: Store, *, required: list[str], on: date | None = None
) -> list[TrainingGap]:
    """People holding an active non-service key with personal-data scopes, per required course
    they have never completed or whose latest completion has expired by ``on``."""
    day = on or utcnow().date()
    with store.read() as conn:
        keys = conn.execute(
            select(_keys.c.id, _keys.c.name, _keys.c.role)
            .where(_keys.c.revoked_at.is_(None))
            .order_by(_keys.c.created_at)
        ).all()
    people: dict[str, tuple[list[str], list[str]]] = {}
    for k in keys:
        role = Role(k.role)
        if role is Role.SERVICE or not personal_scopes(role):
            continue
        ids, roles = people.setdefault(k.name.strip(), ([], []))
        ids.append(k.id)
        if role.value not in roles:
            roles.append(role.value)
    if not people:
        return []
    valid_until: dict[tuple[str, str], date] = {}
    for t in training_records(store):
        pair = (t.person, t.course)
        if pair not in valid_until or t.expires_on > valid_until[pair]:
            valid_until[pair] = t.expires_on
    gaps: list[TrainingGap] = []
    for person, (ids, roles) in sorted(people.items()):
        for course in required:
            until = valid_until.get((person, course))
            if until is None:
                gaps.append(TrainingGap(person, ids, roles, course, "missing", None))
            elif until <= day:
                gaps.append(TrainingGap(person, ids, roles, course, "expired", until))
    return gaps
