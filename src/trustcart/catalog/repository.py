"""Persisting the data map in the workspace store.

Each object (system, dataset, purpose, …) is one row keyed by ``(kind, key)`` holding canonical
JSON, so loading a manifest is an idempotent upsert: teams can each load the part of the map they
own, re-loading an unchanged file changes nothing, and every change that does happen is recorded
in the ``admin`` hash-chained log with the objects it touched.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Connection, delete, select, update

from trustcart.catalog.model import OBJECT_KINDS, DataMap
from trustcart.clock import utcnow
from trustcart.errors import NotFound, ValidationError
from trustcart.store import Store, canonical_json
from trustcart.store.tables import CatalogObject, table_of

ADMIN_LOG = "admin"
_objects = table_of(CatalogObject)


@dataclass(frozen=True)
class LoadResult:
    """What an upsert changed."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0

    @property
    def changed(self) -> bool:
        """Whether anything was written."""
        return bool(self.created or self.updated)

    def to_dict(self) -> dict[str, Any]:
        """JSON view for the CLI and API."""
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged}


def _rows(conn: Connection) -> list[tuple[str, str, dict[str, Any], str]]:
    result = conn.execute(
        select(_objects.c.kind, _objects.c.key, _objects.c.body, _objects.c.body_hash).order_by(
            _objects.c.position
        )
    )
    return [(r.kind, r.key, orjson.loads(r.body), r.body_hash) for r in result]


def _datamap(rows: list[tuple[str, str, dict[str, Any], str]]) -> DataMap:
    if not rows:
        return DataMap()
    return DataMap.from_objects((kind, key, body) for kind, key, body, _ in rows)


def load_datamap(store: Store) -> DataMap:
    """The workspace's data map (empty when nothing was loaded yet)."""
    with store.read() as conn:
        return _datamap(_rows(conn))


def save_datamap(store: Store, incoming: DataMap, *, actor: str = "cli") -> LoadResult:
    """Upsert ``incoming`` into the stored map, atomically.

    The merged map is validated as a whole before anything is written, so a manifest that would
    leave a dangling reference (e.g. a dataset naming a system nobody loaded) is refused with the
    same located errors as a bad file.
    """
    with store.write() as conn:
        rows = _rows(conn)
        merged = _datamap(rows).merge(incoming)
        stored = {(kind, key): digest for kind, key, _body, digest in rows}
        created: list[str] = []
        updated: list[str] = []
        unchanged = 0
        now = utcnow()
        for position, (kind, key, body) in enumerate(merged.objects()):
            text = canonical_json(body)
            digest = hashlib.sha256(text.encode()).hexdigest()
            ident = f"{kind}:{key}"
            old = stored.get((kind, key))
            if old is None:
                conn.execute(
                    _objects.insert().values(
                        kind=kind,
                        key=key,
                        position=position,
                        body=text,
                        body_hash=digest,
                        created_at=now,
                        updated_at=now,
                    )
                )
                created.append(ident)
                continue
            values: dict[str, Any] = {"position": position}
            if old != digest:
                values |= {"body": text, "body_hash": digest, "updated_at": now}
                updated.append(ident)
            else:
                unchanged += 1
            conn.execute(
                update(_objects)
                .where(_objects.c.kind == kind, _objects.c.key == key)
                .values(**values)
            )
        result = LoadResult(created, updated, unchanged)
        if result.changed:
            store.log(ADMIN_LOG).append(
                {"action": "catalog.loaded", "actor": actor, **result.to_dict()}, conn=conn
            )
    return result


def remove_object(store: Store, kind: str, key: str, *, actor: str = "cli") -> None:
    """Delete one object; refused (with the references named) if others still point at it."""
    if kind not in OBJECT_KINDS:
        raise ValidationError(f"unknown object kind {kind!r}; one of: {', '.join(OBJECT_KINDS)}")
    with store.write() as conn:
        rows = _rows(conn)
        remaining = [r for r in rows if (r[0], r[1]) != (kind, key)]
        if len(remaining) == len(rows):
            raise NotFound(f"no {kind} {key!r} in the data map")
        try:
            _datamap(remaining)
        except ValidationError as exc:
            raise ValidationError(
                f"cannot remove {kind} {key!r}: other objects still refer to it. {exc.message}",
                details=exc.details,
            ) from None
        conn.execute(delete(_objects).where(_objects.c.kind == kind, _objects.c.key == key))
        store.log(ADMIN_LOG).append(
            {"action": "catalog.removed", "actor": actor, "object": f"{kind}:{key}"}, conn=conn
        )
