"""Per-subject keys: crypto-shredding for logs that must stay append-only.

Why: the decision log is hash-chained evidence — a row cannot be edited or deleted without
``verify`` failing — yet an erasure (GDPR Art. 17) must sever those rows from the person. So
each subject gets a random 32-byte key, kept in one small mutable table (``subject_keys``).
Log rows are keyed by a *token* derived from that key, and their personal parts are sealed
with it (AES-GCM). Destroying the key — one ``DELETE`` — leaves rows that nobody can read or
link back, while their clear audit columns (kind, output, group, …) still add up.

Why not the global pseudonym: it is a deterministic HMAC of the subject id under a key that
must live on (the consent ledger keeps its proof under it, GDPR Art. 7(1)), so whoever holds
that key can recompute it from the id forever. A token from a random key that no longer
exists cannot be recomputed by anyone.

Freshness across processes: each process memoises keys for the hot path (a dictionary hit, no
query). A shred appends an entry to the ``subject_keys`` hash-chained log; every process checks
that log's head at most every ``max_staleness`` seconds (and on :meth:`SubjectKeys.refresh`)
and forgets all memoised keys when it moved. The entry names nobody — no token, no pseudonym —
so it adds no link of its own.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Literal, NamedTuple, overload

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from trustcart.clock import utcnow
from trustcart.errors import LedgerError
from trustcart.privacy.pseudonym import Pseudonymizer
from trustcart.store import Store
from trustcart.store.tables import SubjectKey, table_of

KEY_LOG = "subject_keys"
TOKEN_PREFIX = "s_"  # noqa: S105 (a prefix, not a secret)
_SEAL_PREFIX = "v1."
_NONCE = 12
_keys = table_of(SubjectKey)


class ShredEffect(NamedTuple):
    """What a shred hook did in the shred's transaction, per table."""

    unlinkable: Mapping[str, int]
    deleted: Mapping[str, int] = MappingProxyType({})


#: Called inside the shred transaction with the destroyed token, so dependent stores change
#: atomically with the key (e.g. cached explanations that quote personal values are deleted).
ShredHook = Callable[[Connection, str], ShredEffect]


@dataclass(frozen=True, slots=True)
class ShredReport:
    """Outcome of :meth:`SubjectKeys.shred`.

    ``unlinkable``: rows kept (evidence, audits) but keyed by the destroyed token and sealed
    with the destroyed key, per table. ``deleted``: derived rows removed because they could hold
    personal values in clear. Deliberately no token or pseudonym: the report is meant to be
    written into the rights request's log, and a token there would re-link the person.
    """

    key_existed: bool
    unlinkable: Mapping[str, int] = field(default_factory=dict)
    deleted: Mapping[str, int] = field(default_factory=dict)
    at: datetime = field(default_factory=utcnow)

    @property
    def rows_unlinkable(self) -> int:
        """Rows made unlinkable, all tables together."""
        return sum(self.unlinkable.values())

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly view (erasure certificates, rights-request log)."""
        return {
            "key_existed": self.key_existed,
            "unlinkable": dict(self.unlinkable),
            "deleted": dict(self.deleted),
            "rows_unlinkable": self.rows_unlinkable,
            "at": self.at.isoformat(),
        }


class _Key:
    __slots__ = ("aead", "token")

    def __init__(self, token: str, raw: bytes) -> None:
        self.token = token
        self.aead = AESGCM(raw)


def derive_token(key: bytes) -> str:
    """The log key of a subject: a keyed hash of nothing but their random key.

    It cannot be computed from the subject id, the global pseudonym or the global secret key;
    once ``key`` is destroyed, nothing maps the token back to anyone.
    """
    return TOKEN_PREFIX + hmac.new(key, b"subject", hashlib.sha256).hexdigest()[:32]


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


@dataclass(eq=False)
class _Creation:
    """One thread waiting for a subject's key to be created (see ``SubjectKeys._create``)."""

    lookup: str
    done: bool = False
    key: _Key | None = None
    error: BaseException | None = None


class SubjectKeys:
    """The per-subject key vault of one store. Create one per process (the gateway does).

    ``hooks`` run inside every shred's transaction (see :data:`ShredHook`); the gateway's
    vault (``trustcart.gateway.subject_keys``) counts decision rows and deletes their cached
    explanations there.
    """

    def __init__(
        self,
        store: Store,
        pseudonyms: Pseudonymizer,
        *,
        hooks: Sequence[ShredHook] = (),
        max_staleness: float = 1.0,
        memo_size: int = 100_000,
    ) -> None:
        self.store = store
        self.pseudonyms = pseudonyms
        self.hooks = tuple(hooks)
        self.max_staleness = max_staleness
        self._log = store.log(KEY_LOG)
        self._memo_size = memo_size
        self._by_lookup: dict[str, _Key] = {}
        self._by_token: dict[str, _Key] = {}
        self._lock = threading.Lock()
        self._generation = 0
        self._head = self._log.head()[0]
        self._checked = time.monotonic()
        self._create_cv = threading.Condition()
        self._create_queue: list[_Creation] = []
        self._creating = False
        self.creates = 0  # key-creating transactions (for benchmarks and tests)

    # -- freshness ---------------------------------------------------------------------------
    def refresh(self) -> None:
        """Learn about shreds made by any process now (reads one row). Reading paths call this
        first so another process's erasure is seen at once, not after ``max_staleness``."""
        self._sync(force=True)

    def cached(self, subject: str) -> bool:
        """Whether :meth:`token_and_seal` for ``subject`` will touch no database: the vault
        was checked for shreds within ``max_staleness`` and the key is in memory. The HTTP
        gateway then seals on the event loop instead of hopping to a worker thread."""
        if time.monotonic() - self._checked >= self.max_staleness:
            return False
        return self.pseudonyms.pseudonym(subject) in self._by_lookup

    def _sync(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._checked < self.max_staleness:
            return
        self._checked = now
        head = self._log.head()[0]
        if head != self._head:
            self._forget(head)

    def _forget(self, head: int) -> None:
        with self._lock:
            self._by_lookup.clear()
            self._by_token.clear()
            self._generation += 1
            self._head = head

    def _remember(self, lookup: str, key: _Key, generation: int) -> None:
        with self._lock:
            if generation != self._generation:
                return  # a shred was learnt meanwhile: this key may be the destroyed one
            if len(self._by_lookup) >= self._memo_size:
                self._by_lookup.clear()
                self._by_token.clear()
            self._by_lookup[lookup] = key
            self._by_token[key.token] = key

    # -- keys --------------------------------------------------------------------------------
    def _key(self, subject: str, *, create: bool) -> _Key | None:
        self._sync()
        lookup = self.pseudonyms.pseudonym(subject)
        hit = self._by_lookup.get(lookup)
        if hit is not None:
            return hit
        generation = self._generation
        found = self.pseudonyms.candidates(subject)  # every live key's pseudonym, and links
        with self.store.read() as conn:
            rows = conn.execute(
                select(_keys.c.lookup, _keys.c.token, _keys.c.key).where(_keys.c.lookup.in_(found))
            ).all()
        # The key under the newest pseudonym wins (a subject keeps one token across rotations:
        # the first one found under any live key or link).
        row = min(rows, key=lambda r: found.index(r.lookup), default=None)
        if row is not None:
            key = _Key(row.token, bytes(row.key))
        elif create:
            key = self._create(lookup)
        else:
            return None
        self._remember(lookup, key, generation)
        return key

    def _create(self, lookup: str) -> _Key:
        """A new random key, committed before it is used: a row must never be acknowledged
        under a key the database does not hold. Concurrent creators agree on the winner.

        Group commit: threads creating keys at the same time (first-time visitors arriving
        together) share one transaction. The first to arrive writes everything queued so far
        while later arrivals queue for the next write; each returns once its key is committed.
        """
        waiter = _Creation(lookup)
        with self._create_cv:
            self._create_queue.append(waiter)
            while not waiter.done and self._creating:
                self._create_cv.wait()
            if not waiter.done:  # lead the next write with everything queued meanwhile
                self._creating = True
                batch, self._create_queue = self._create_queue, []
        if not waiter.done:
            error: BaseException | None = None
            found: dict[str, _Key] = {}
            try:
                found = self._create_now([w.lookup for w in batch])
            except BaseException as exc:  # every waiter of this write must learn about it
                error = exc
            with self._create_cv:
                for w in batch:
                    w.key, w.error, w.done = found.get(w.lookup), error, True
                self._creating = False
                self._create_cv.notify_all()
        if waiter.error is not None:
            raise waiter.error
        assert waiter.key is not None
        return waiter.key

    def _create_now(self, lookups: list[str]) -> dict[str, _Key]:
        """Insert a key for each lookup that has none (a concurrent creator in another process
        may win: its key is used), in one transaction; every lookup's committed key."""
        wanted = list(dict.fromkeys(lookups))
        now = utcnow()
        rows = []
        for lookup in wanted:
            raw = os.urandom(32)
            rows.append(
                {"lookup": lookup, "token": derive_token(raw), "key": raw, "created_at": now}
            )
        with self.store.write() as conn:
            insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
            conn.execute(insert(_keys).on_conflict_do_nothing(), rows)
            found = {
                r.lookup: _Key(r.token, bytes(r.key))
                for r in conn.execute(
                    select(_keys.c.lookup, _keys.c.token, _keys.c.key).where(
                        _keys.c.lookup.in_(wanted)
                    )
                )
            }
        self.creates += 1
        return found

    def ensure_many(self, subjects: Sequence[str], *, chunk: int = 5000) -> int:
        """Create the keys of every subject that has none, a chunk per transaction; returns
        how many were created.

        Why: :meth:`_create` commits each new key before its first use (a row must never be
        acknowledged under a key the database does not hold), one transaction per subject —
        right for live traffic, but a batch of first-time subjects (``Gateway.decide_many``
        over an import or the demo's day of traffic) then spends most of its time committing.
        Here keys are committed a chunk at a time, still before any row uses them.
        """
        self._sync()
        generation = self._generation
        wanted: dict[str, None] = {}
        for s in subjects:
            lookup = self.pseudonyms.pseudonym(s)
            if lookup not in self._by_lookup:
                wanted[lookup] = None
        created = 0
        todo = list(wanted)
        for start in range(0, len(todo), chunk):
            part = todo[start : start + chunk]
            with self.store.write() as conn:
                have = {
                    r.lookup: _Key(r.token, bytes(r.key))
                    for r in conn.execute(
                        select(_keys.c.lookup, _keys.c.token, _keys.c.key).where(
                            _keys.c.lookup.in_(part)
                        )
                    )
                }
                rows = []
                for lookup in part:
                    if lookup in have:
                        continue
                    raw = os.urandom(32)
                    rows.append(
                        {
                            "lookup": lookup,
                            "token": derive_token(raw),
                            "key": raw,
                            "created_at": utcnow(),
                        }
                    )
                if rows:
                    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
                    conn.execute(insert(_keys).on_conflict_do_nothing(), rows)
                    created += len(rows)
                    # concurrent creators agree on the winner: read back what is stored
                    have |= {
                        r.lookup: _Key(r.token, bytes(r.key))
                        for r in conn.execute(
                            select(_keys.c.lookup, _keys.c.token, _keys.c.key).where(
                                _keys.c.lookup.in_([r["lookup"] for r in rows])
                            )
                        )
                    }
            for lookup, key in have.items():
                self._remember(lookup, key, generation)
        return created

    def _key_of_token(self, token: str) -> _Key | None:
        self._sync()
        hit = self._by_token.get(token)
        if hit is not None:
            return hit
        generation = self._generation
        with self.store.read() as conn:
            row = conn.execute(
                select(_keys.c.lookup, _keys.c.key).where(_keys.c.token == token)
            ).first()
        if row is None:
            return None
        key = _Key(token, bytes(row.key))
        self._remember(row.lookup, key, generation)
        return key

    @overload
    def token(self, subject: str, *, create: Literal[True] = True) -> str: ...
    @overload
    def token(self, subject: str, *, create: bool) -> str | None: ...
    def token(self, subject: str, *, create: bool = True) -> str | None:
        """The subject's log key (``s_…``), by their id or global pseudonym.

        With ``create`` (default) a first use creates the key and commits it before returning;
        without, a subject with no key (never seen, or erased) gives None.
        """
        key = self._key(subject, create=create)
        return None if key is None else key.token

    def exists(self, token: str) -> bool:
        """Whether ``token``'s key still exists (False once shredded)."""
        return self._key_of_token(token) is not None

    # -- sealing -----------------------------------------------------------------------------
    def seal(self, subject: str, obj: Any) -> str:
        """``obj`` (JSON-able) encrypted with the subject's key (created on first use).

        AES-GCM with a random nonce, the token as associated data: a sealed value moved to
        another subject's row does not open.
        """
        key = self._key(subject, create=True)
        assert key is not None
        return _seal(key, obj)

    def token_and_seal(self, subject: str, obj: Any) -> tuple[str, str]:
        """:meth:`token` and :meth:`seal` with one key lookup (the gateway's hot path)."""
        key = self._key(subject, create=True)
        assert key is not None
        return key.token, _seal(key, obj)

    def seal_for_token(self, token: str, obj: Any) -> str | None:
        """``obj`` sealed with the key behind ``token`` (None once that key is shredded).

        For records that follow a logged one and must share its fate: a shopper's statement
        contesting a decision is sealed under the decision's token, so erasing the person makes
        both unreadable together.
        """
        key = self._key_of_token(token)
        return None if key is None else _seal(key, obj)

    def unseal(self, token: str, sealed: str) -> Any | None:
        """The value sealed under ``token``'s key, or None once that key is shredded.

        Tampering (a changed or moved ciphertext) is a ``LedgerError``, not None.
        """
        key = self._key_of_token(token)
        if key is None:
            return None
        if not sealed.startswith(_SEAL_PREFIX):
            raise LedgerError("sealed value has an unknown format (expected 'v1.')")
        try:
            raw = base64.b64decode(sealed[len(_SEAL_PREFIX) :], validate=True)
            plain = key.aead.decrypt(raw[:_NONCE], raw[_NONCE:], token.encode())
        except (ValueError, InvalidTag):
            raise LedgerError(
                "sealed value does not open with its subject's key: it was edited or moved "
                "from another row"
            ) from None
        return orjson.loads(plain)

    # -- shredding ---------------------------------------------------------------------------
    def shred(self, subject: str) -> ShredReport:
        """Destroy the subject's key (by id or global pseudonym); every process forgets it.

        Rows keyed by the old token stay (the hash chain is untouched) but can no longer be
        read or linked to the person; the hooks run in the same transaction. A subject who comes
        back later gets a new key and a new, unrelated token. Idempotent: a second call reports
        ``key_existed=False``.
        """
        found = self.pseudonyms.candidates(subject)  # old and new keys' pseudonyms alike
        unlinkable: dict[str, int] = {}
        deleted: dict[str, int] = {}
        with self.store.write() as conn:
            tokens = (
                conn.execute(
                    select(_keys.c.token).where(_keys.c.lookup.in_(found)).with_for_update()
                )
                .scalars()
                .all()
            )
            if tokens:
                conn.execute(delete(_keys).where(_keys.c.lookup.in_(found)))
                for token in sorted(tokens):
                    for hook in self.hooks:
                        effect = hook(conn, token)
                        for name, n in effect.unlinkable.items():
                            unlinkable[name] = unlinkable.get(name, 0) + n
                        for name, n in effect.deleted.items():
                            deleted[name] = deleted.get(name, 0) + n
                self._log.append({"event": "subject_key_destroyed"}, conn=conn)
        self._sync(force=True)
        return ShredReport(bool(tokens), unlinkable, deleted)


def _seal(key: _Key, obj: Any) -> str:
    nonce = os.urandom(_NONCE)
    try:
        plain = orjson.dumps(obj, default=_default)
    except TypeError as exc:
        raise LedgerError(f"value to seal is not JSON-serialisable: {exc}") from None
    box = key.aead.encrypt(nonce, plain, key.token.encode())
    return _SEAL_PREFIX + binascii.b2a_base64(nonce + box, newline=False).decode()
