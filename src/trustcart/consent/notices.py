"""Notice versions: the exact text a person saw when they chose.

A consent event always names the notice version shown (GDPR Art. 7(1): the controller must be
able to demonstrate *what* the person agreed to). A version is the sha256 of the text, so the
same text is the same version wherever it is registered. For each purpose a notice covers, the
hash of *that purpose's wording* is kept too: when a new notice changes how a purpose is
described, consents given under the old wording no longer cover it (re-consent), while
consents for purposes whose wording did not change carry over.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import select

from trustcart.clock import utcnow
from trustcart.errors import NotFound, ValidationError
from trustcart.store import Store
from trustcart.store.tables import ConsentNotice, table_of

if TYPE_CHECKING:
    from trustcart.catalog import DataMap

_notices = table_of(ConsentNotice)
NOTICE_KINDS = ("privacy_notice", "banner", "just_in_time", "preference_center", "custom")


@dataclass(frozen=True, slots=True)
class NoticeVersion:
    """One registered notice version."""

    version: str
    kind: str
    language: str
    title: str
    text: str
    purposes: dict[str, str]
    effective_at: datetime
    created_at: datetime

    def to_dict(self, *, with_text: bool = True) -> dict[str, Any]:
        """JSON view."""
        out: dict[str, Any] = {
            "version": self.version,
            "kind": self.kind,
            "language": self.language,
            "title": self.title,
            "purposes": self.purposes,
            "effective_at": self.effective_at,
            "created_at": self.created_at,
        }
        if with_text:
            out["text"] = self.text
        return out


def text_hash(text: str) -> str:
    """The version id of a text: sha256 hex of its UTF-8 bytes."""
    return hashlib.sha256(text.encode()).hexdigest()


def _row(r: Any) -> NoticeVersion:
    return NoticeVersion(
        r.version,
        r.kind,
        r.language,
        r.title,
        r.text,
        orjson.loads(r.purposes),
        r.effective_at,
        r.created_at,
    )


def register_notice(
    store: Store,
    *,
    text: str,
    purposes: Mapping[str, str],
    title: str = "Privacy notice",
    kind: str = "privacy_notice",
    language: str = "en",
    effective_at: datetime | None = None,
) -> NoticeVersion:
    """Store a notice version (idempotent: the same text returns the existing version)."""
    if kind not in NOTICE_KINDS:
        raise ValidationError(f"unknown notice kind {kind!r}; one of: {', '.join(NOTICE_KINDS)}")
    if not text.strip():
        raise ValidationError("a notice needs its text: store exactly what people are shown")
    if not purposes:
        raise ValidationError("a notice must name the purposes it asks about")
    version = text_hash(text)
    now = utcnow()
    effective = effective_at or now
    with store.write() as conn:
        existing = conn.execute(select(_notices).where(_notices.c.version == version)).first()
        if existing is not None:
            return _row(existing)
        values = {
            "version": version,
            "kind": kind,
            "language": language,
            "title": title,
            "text": text,
            "purposes": orjson.dumps(dict(purposes), option=orjson.OPT_SORT_KEYS).decode(),
            "effective_at": effective,
            "created_at": now,
        }
        conn.execute(_notices.insert().values(**values))
        store.log("admin").append(
            {
                "action": "notice.registered",
                "version": version,
                "kind": kind,
                "purposes": sorted(purposes),
            },
            conn=conn,
        )
    return NoticeVersion(version, kind, language, title, text, dict(purposes), effective, now)


def datamap_notice(dm: DataMap, jurisdiction: str | None = None) -> dict[str, Any]:
    """Arguments for :func:`register_notice` from the data map's layered privacy notice.

    Each purpose's wording hash covers its section of the detailed layer (what, why, legal
    basis, retention, recipients), so changing any of those asks for consent again.
    """
    from trustcart.catalog import render_notice

    n = render_notice(dm, jurisdiction=jurisdiction)
    purposes = {}
    for section in n.sections:
        if section.key.startswith("purpose:"):
            wording = "\n".join([section.title, *section.paragraphs, *section.items])
            purposes[section.key.split(":", 1)[1]] = text_hash(wording)
    return {
        "text": n.markdown(),
        "purposes": purposes,
        "title": "Privacy notice",
        "kind": "privacy_notice",
        "language": n.language,
    }


def get_notice(store: Store, version: str) -> NoticeVersion:
    """A notice by its version or a unique prefix of at least 16 hex characters."""
    if len(version) < 16:
        raise ValidationError("give at least the first 16 hex characters of the notice version")
    with store.read() as conn:
        rows = conn.execute(
            select(_notices).where(_notices.c.version.startswith(version.lower())).limit(2)
        ).all()
    if not rows:
        raise NotFound(
            f"no notice version {version!r}; register the text you show first "
            "(trustcart consent notice register / POST /v1/consent/notices)"
        )
    if len(rows) > 1:
        raise ValidationError(f"notice version prefix {version!r} is ambiguous; give more of it")
    return _row(rows[0])


def list_notices(store: Store) -> list[NoticeVersion]:
    """All notice versions, oldest first."""
    with store.read() as conn:
        rows = conn.execute(select(_notices).order_by(_notices.c.effective_at)).all()
    return [_row(r) for r in rows]


def current_wording(notices: list[NoticeVersion], purpose: str, at: datetime) -> str | None:
    """The wording hash of ``purpose`` in the newest notice in effect at ``at`` covering it."""
    best: NoticeVersion | None = None
    for n in notices:
        if (
            purpose in n.purposes
            and n.effective_at <= at
            and (best is None or n.effective_at >= best.effective_at)
        ):
            best = n
    return best.purposes[purpose] if best else None
