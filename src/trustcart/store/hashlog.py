"""A generic hash-chained, append-only log: the evidence primitive of TrustCart.

Consent events, decisions, rights-request steps and admin actions are appended here. Each row
stores ``hash = sha256(log, seq, created_at, prev_hash, payload)``; ``prev_hash`` is the previous
row's hash, so editing, deleting, inserting or reordering any row breaks the chain at that row.
A separate *head* row (last seq and hash) serialises appends and witnesses truncation: deleting
the newest rows leaves the head pointing past the end.

What it does not protect against: someone who can rewrite the whole table *and* the head can
forge a consistent chain. Anchoring the head hash outside the database closes that gap
(see docs/threat-model.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Connection, bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from trustcart.clock import iso, utcnow
from trustcart.errors import LedgerError, NotFound
from trustcart.store.tables import LogEntry, LogHead, table_of

if TYPE_CHECKING:
    from trustcart.store.store import Store

GENESIS = "0" * 64
_entries = table_of(LogEntry)
_heads = table_of(LogHead)
# The append path's statements, built once: constructing a SQLAlchemy expression costs more
# CPU than executing the cached compiled form, and appends are the hottest writes (every
# decision). Parameters are bound per call.
_HEAD_FOR_UPDATE = (
    select(_heads.c.seq, _heads.c.hash).where(_heads.c.log == bindparam("log")).with_for_update()
)
_INSERT_ENTRIES = insert(_entries)
_MOVE_HEAD = (
    update(_heads)
    .where(_heads.c.log == bindparam("head_log"))
    .values(seq=bindparam("head_seq"), hash=bindparam("head_hash"), updated_at=bindparam("at"))
)


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def canonical_json(payload: Mapping[str, Any]) -> str:
    """Deterministic JSON text (sorted keys, no whitespace): the bytes the hash covers."""
    try:
        return orjson.dumps(payload, default=_default, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError as exc:
        raise LedgerError(f"log payload is not JSON-serialisable: {exc}") from None


def link_hash(
    log: str, seq: int, created_at: datetime | str, prev_hash: str, payload_text: str
) -> str:
    """The hash of one row, binding it to its log, position, time and predecessor.

    ``created_at`` may be given as its canonical ISO text (see ``trustcart.clock.iso``) so a
    batch formats its shared timestamp once.
    """
    stamp = created_at if isinstance(created_at, str) else iso(created_at)
    h = hashlib.sha256(f"{log}\n{seq}\n{stamp}\n{prev_hash}\n".encode())
    h.update(payload_text.encode())
    return h.hexdigest()


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One appended entry as read back or just written."""

    log: str
    seq: int
    created_at: datetime
    payload: dict[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """Outcome of ``verify()``: ``first_bad`` is the 1-based position of the first broken row."""

    log: str
    ok: bool
    checked: int
    first_bad: int | None = None
    reason: str | None = None
    head_seq: int = 0
    head_hash: str = GENESIS

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly view (CLI ``--format json`` and the API)."""
        return {
            "log": self.log,
            "ok": self.ok,
            "checked": self.checked,
            "first_bad": self.first_bad,
            "reason": self.reason,
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
        }


class HashChainLog:
    """Append to, read and verify one named log in a store."""

    def __init__(self, store: Store, name: str) -> None:
        if not name or len(name) > 64 or not name.replace("_", "").replace("-", "").isalnum():
            raise LedgerError(f"invalid log name {name!r}: use 1-64 letters, digits, '-' or '_'")
        self.store = store
        self.name = name

    # -- writing -----------------------------------------------------------------------------
    def append(self, payload: Mapping[str, Any], *, conn: Connection | None = None) -> LogRecord:
        """Append one entry; returns it once committed (or written in ``conn``'s transaction)."""
        return self.append_many([payload], conn=conn)[0]

    def append_many(
        self, payloads: Iterable[Mapping[str, Any]], *, conn: Connection | None = None
    ) -> list[LogRecord]:
        """Append several entries in one transaction (one lock, one commit).

        Pass ``conn`` (from ``store.write()``) to make the append atomic with other writes,
        e.g. a consent event and the projection of current consent state.
        """
        if conn is None:
            with self.store.write() as own:
                return self._append(own, payloads)
        return self._append(conn, payloads)

    def _lock_head(self, conn: Connection) -> tuple[int, str]:
        row = conn.execute(_HEAD_FOR_UPDATE, {"log": self.name}).first()
        if row is not None:
            return int(row.seq), str(row.hash)
        values = {"log": self.name, "seq": 0, "hash": GENESIS, "updated_at": utcnow()}
        if conn.dialect.name == "postgresql":
            conn.execute(pg_insert(_heads).values(values).on_conflict_do_nothing())
            row = conn.execute(_HEAD_FOR_UPDATE, {"log": self.name}).one()
            return int(row.seq), str(row.hash)
        conn.execute(insert(_heads).values(values))  # SQLite: BEGIN IMMEDIATE holds the lock
        return 0, GENESIS

    def _append(self, conn: Connection, payloads: Iterable[Mapping[str, Any]]) -> list[LogRecord]:
        seq, prev = self._lock_head(conn)
        records: list[LogRecord] = []
        rows: list[dict[str, Any]] = []
        now = utcnow()
        stamp = iso(now)
        for payload in payloads:
            text = canonical_json(payload)
            seq += 1
            digest = link_hash(self.name, seq, stamp, prev, text)
            rows.append(
                {
                    "log": self.name,
                    "seq": seq,
                    "created_at": now,
                    "payload": text,
                    "prev_hash": prev,
                    "hash": digest,
                }
            )
            records.append(LogRecord(self.name, seq, now, orjson.loads(text), prev, digest))
            prev = digest
        if not rows:
            return []
        conn.execute(_INSERT_ENTRIES, rows)
        conn.execute(
            _MOVE_HEAD, {"head_log": self.name, "head_seq": seq, "head_hash": prev, "at": now}
        )
        return records

    # -- reading -----------------------------------------------------------------------------
    def head(self) -> tuple[int, str]:
        """``(seq, hash)`` of the newest entry; ``(0, GENESIS)`` for an empty log."""
        with self.store.read() as conn:
            row = conn.execute(
                select(_heads.c.seq, _heads.c.hash).where(_heads.c.log == self.name)
            ).first()
        return (int(row.seq), str(row.hash)) if row else (0, GENESIS)

    def __len__(self) -> int:
        with self.store.read() as conn:
            n = conn.execute(
                select(func.count()).select_from(_entries).where(_entries.c.log == self.name)
            ).scalar_one()
        return int(n)

    def entries(self, start: int = 1, *, batch: int = 5000) -> Iterator[LogRecord]:
        """Iterate entries from position ``start`` in order, streaming in batches."""
        next_seq = start
        while True:
            with self.store.read() as conn:
                rows = conn.execute(
                    select(_entries)
                    .where(_entries.c.log == self.name, _entries.c.seq >= next_seq)
                    .order_by(_entries.c.seq)
                    .limit(batch)
                ).all()
            for row in rows:
                yield LogRecord(
                    row.log,
                    row.seq,
                    row.created_at,
                    orjson.loads(row.payload),
                    row.prev_hash,
                    row.hash,
                )
            if len(rows) < batch:
                return
            next_seq = rows[-1].seq + 1

    def __iter__(self) -> Iterator[LogRecord]:
        return self.entries()

    def get(self, seq: int) -> LogRecord:
        """The entry at position ``seq``."""
        for record in self.entries(seq, batch=1):
            if record.seq == seq:
                return record
            break
        raise NotFound(f"log {self.name!r} has no entry at position {seq}")

    # -- verifying ---------------------------------------------------------------------------
    def _check_row(self, row: Any, expected: int, prev: str) -> str | None:
        """Why ``row`` breaks the chain at position ``expected``, or None when it is sound."""
        if row.seq != expected:
            if row.seq > expected:
                return f"entries {expected}..{row.seq - 1} are missing (deleted)"
            return f"position {row.seq} appears out of order or twice"
        if row.prev_hash != prev:
            return "prev_hash does not match the previous entry (inserted, deleted or reordered)"
        if link_hash(self.name, row.seq, row.created_at, prev, row.payload) != row.hash:
            return "content does not match its hash (edited)"
        return None

    def verify(self, *, batch: int = 5000) -> VerifyResult:
        """Recompute the chain; report the first position where it breaks.

        Checks, in order, for every row: its position follows the previous one (a gap means a
        deletion, a repeat or jump a reordering), its ``prev_hash`` links to the previous row,
        and its hash matches its content. Finally the head must point at the last row
        (otherwise rows were removed from the end).
        """
        expected, prev, checked = 1, GENESIS, 0
        last_seq = 0
        with self.store.read(snapshot=True) as conn:
            head = conn.execute(
                select(_heads.c.seq, _heads.c.hash).where(_heads.c.log == self.name)
            ).first()
            head_seq, head_hash = (int(head.seq), str(head.hash)) if head else (0, GENESIS)
            result = conn.execution_options(yield_per=batch).execute(
                select(
                    _entries.c.seq,
                    _entries.c.created_at,
                    _entries.c.payload,
                    _entries.c.prev_hash,
                    _entries.c.hash,
                )
                .where(_entries.c.log == self.name)
                .order_by(_entries.c.seq, _entries.c.id)
            )
            for row in result:
                problem = self._check_row(row, expected, prev)
                if problem is not None:
                    return VerifyResult(
                        self.name, False, checked, expected, problem, head_seq, head_hash
                    )
                prev = row.hash
                last_seq = row.seq
                checked += 1
                expected += 1
        if head_seq != last_seq:
            if head_seq > last_seq:
                reason = (
                    f"log ends at position {last_seq} but its head records {head_seq}: "
                    "entries were removed from the end"
                )
                return VerifyResult(
                    self.name, False, checked, last_seq + 1, reason, head_seq, head_hash
                )
            reason = f"head records position {head_seq} but the log continues to {last_seq}"
            return VerifyResult(
                self.name, False, checked, head_seq + 1, reason, head_seq, head_hash
            )
        if head_hash != prev:
            return VerifyResult(
                self.name,
                False,
                checked,
                last_seq,
                "head hash does not match the last entry",
                head_seq,
                head_hash,
            )
        return VerifyResult(self.name, True, checked, None, None, head_seq, head_hash)
