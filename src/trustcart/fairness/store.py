"""Keeping audits as evidence: every audit run in a workspace is stored with its fingerprint.

Why a fingerprint: an audit is only evidence if one can tell what it looked at — the sha256 of
the file(s) audited, or for a live table its name and row count at the time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, Protocol

import orjson
from sqlalchemy import insert, select

from trustcart.clock import utcnow
from trustcart.errors import NotFound
from trustcart.ids import new_id
from trustcart.store import Store
from trustcart.store.tables import FairnessAudit, table_of


def _json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS, default=str).decode()


def source_sha256(fingerprint: dict[str, Any]) -> str | None:
    """One digest for the source: of the single file, or of the sorted per-file digests."""
    files = fingerprint.get("files")
    if not files:
        return None
    if len(files) == 1:
        return str(files[0]["sha256"])
    joined = "\n".join(sorted(f"{f['sha256']}  {f['path']}" for f in files))
    return hashlib.sha256(joined.encode()).hexdigest()


#: Kinds of stored audit that measure a disparity (``trustcart audit SOURCE``); proxy scans and
#: mitigations are stored too (kinds ``proxies`` and ``mitigation``) but are not disparity audits.
DISPARITY_KINDS: tuple[str, ...] = ("binary", "continuous", "ranking")


class StorableAudit(Protocol):
    """What can be kept as audit evidence: an audit, a proxy scan or a mitigation."""

    @property
    def kind(self) -> str: ...  # pragma: no cover

    @property
    def source(self) -> dict[str, Any]: ...  # pragma: no cover

    def to_dict(self) -> dict[str, Any]: ...  # pragma: no cover


def save_audit(store: Store, result: StorableAudit) -> str:
    """Store ``result`` (its JSON document has ``parameters``); returns the new id (``aud_…``)."""
    audit_id = new_id("aud_")
    doc = result.to_dict()
    fingerprint = result.source.get("fingerprint", {})
    with store.write() as conn:
        conn.execute(
            insert(table_of(FairnessAudit)).values(
                id=audit_id,
                created_at=utcnow(),
                kind=result.kind,
                source=str(result.source.get("description", "")),
                source_sha256=source_sha256(fingerprint),
                source_fingerprint=_json(fingerprint),
                parameters=_json(doc["parameters"]),
                result=_json(doc),
            )
        )
    return audit_id


def _row(a: FairnessAudit, *, full: bool) -> dict[str, Any]:
    d: dict[str, Any] = {
        "id": a.id,
        "created_at": a.created_at,
        "kind": a.kind,
        "source": a.source,
        "source_sha256": a.source_sha256,
        "source_fingerprint": orjson.loads(a.source_fingerprint),
        "parameters": orjson.loads(a.parameters),
    }
    if full:
        d["result"] = orjson.loads(a.result)
    return d


def list_audits(
    store: Store, limit: int = 50, *, kinds: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """The newest audits first (only of ``kinds`` when given), without their results."""
    query = select(FairnessAudit).order_by(FairnessAudit.created_at.desc())
    if kinds is not None:
        query = query.where(FairnessAudit.kind.in_(list(kinds)))
    with store.session() as s:
        rows = s.scalars(query.limit(limit))
        return [_row(a, full=False) for a in rows]


def get_audit(store: Store, audit_id: str) -> dict[str, Any]:
    """One stored audit with its full result."""
    with store.session() as s:
        a = s.get(FairnessAudit, audit_id)
        if a is None:
            raise NotFound(f"no audit with id {audit_id!r}")
        return _row(a, full=True)
