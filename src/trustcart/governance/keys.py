"""API keys: created with a role, stored only as a SHA-256, shown once, revocable.

Why SHA-256 and not a slow password hash: keys are 256-bit random tokens, so brute force is not
the threat a slow hash defends against, and every API call must check one cheaply.
Key creation and revocation are admin actions appended to the ``admin`` hash-chained log.

Why a cache of verified keys: the database lookup was the largest fixed cost of an API call
after the HTTP stack (~0.3 ms of a decision's ~1 ms budget). ``authenticate(..., max_age=S)``
reuses a key verified less than ``S`` seconds ago. Revocation stays prompt: the process that
revokes a key forgets it at once (and refuses to cache it again for a while, so a lookup racing
the revoking transaction cannot bring it back); any other process stops accepting it within
``S`` seconds (the ``api_key_cache_seconds`` setting, default 1 s; 0 checks every call).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select, update

from trustcart.clock import utcnow
from trustcart.errors import AuthenticationError, NotFound, ValidationError
from trustcart.governance.roles import Role, Scope, parse_role, scopes_for
from trustcart.ids import new_id
from trustcart.store import Store
from trustcart.store.tables import ApiKey, table_of

_keys = table_of(ApiKey)

KEY_PREFIX = "tc_"
ADMIN_LOG = "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller."""

    key_id: str
    name: str
    role: Role
    scopes: frozenset[Scope]

    def can(self, scope: Scope) -> bool:
        """Whether this principal holds ``scope``."""
        return scope in self.scopes


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """What is stored about a key (never the secret)."""

    id: str
    name: str
    role: str
    created_at: datetime
    revoked_at: datetime | None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


#: Seconds a revoked key is never cached again in the revoking process: longer than any write
#: transaction (busy timeout 30 s), so a lookup that read the row before the revocation
#: committed cannot re-cache it.
DISTRUST_SECONDS = 60.0


class KeyCache:
    """Keys verified recently, by the SHA-256 of their secret (bounded, thread-safe).

    Only successful lookups are cached: unknown and revoked keys always reach the database.
    """

    def __init__(self, *, max_keys: int = 4096, clock: Callable[[], float] = time.monotonic):
        self.max_keys = max_keys
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        self._distrusted: dict[str, float] = {}  # key id -> when it was forgotten

    def __len__(self) -> int:
        return len(self._entries)

    def now(self) -> float:
        """The cache's clock (monotonic seconds)."""
        return self._clock()

    def get(self, digest: str, max_age: float) -> Principal | None:
        """The principal verified under ``digest`` less than ``max_age`` seconds ago."""
        hit = self._entries.get(digest)
        if hit is None:
            return None
        principal, checked = hit
        if self._clock() - checked >= max_age:
            with self._lock:
                self._entries.pop(digest, None)
            return None
        return principal

    def put(self, digest: str, principal: Principal, checked: float) -> None:
        """Remember a key verified at ``checked`` (the clock value before the lookup)."""
        with self._lock:
            gone = self._distrusted.get(principal.key_id)
            if gone is not None:
                if self._clock() - gone < DISTRUST_SECONDS:
                    return
                del self._distrusted[principal.key_id]
            self._entries[digest] = (principal, checked)
            self._entries.move_to_end(digest)
            while len(self._entries) > self.max_keys:
                self._entries.popitem(last=False)

    def forget(self, key_id: str) -> None:
        """Drop ``key_id`` now and refuse to cache it for ``DISTRUST_SECONDS``."""
        with self._lock:
            self._distrusted[key_id] = self._clock()
            for digest in [d for d, (p, _) in self._entries.items() if p.key_id == key_id]:
                del self._entries[digest]

    def clear(self) -> None:
        """Forget every cached key."""
        with self._lock:
            self._entries.clear()


_caches: weakref.WeakKeyDictionary[Store, KeyCache] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def key_cache(store: Store) -> KeyCache:
    """The verified-key cache of ``store`` (one per store object, i.e. per process)."""
    found = _caches.get(store)
    if found is None:
        with _caches_lock:
            found = _caches.setdefault(store, KeyCache())
    return found


def create_key(store: Store, *, role: str, name: str, actor: str = "cli") -> tuple[str, KeyInfo]:
    """Create a key; returns ``(secret, info)``. The secret cannot be recovered later."""
    parsed = parse_role(role)
    if not name.strip():
        raise ValidationError("a key needs a name (who or what uses it)")
    key_id = new_id("key_")
    secret = f"{KEY_PREFIX}{secrets.token_urlsafe(32)}"
    now = utcnow()
    with store.write() as conn:
        conn.execute(
            _keys.insert().values(
                id=key_id, name=name, role=parsed.value, key_hash=_digest(secret), created_at=now
            )
        )
        store.log(ADMIN_LOG).append(
            {"action": "api_key.created", "key_id": key_id, "role": parsed.value, "actor": actor},
            conn=conn,
        )
    return secret, KeyInfo(key_id, name, parsed.value, now, None)


def list_keys(store: Store) -> list[KeyInfo]:
    """All keys, newest last."""
    with store.session() as s:
        rows = s.scalars(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)).all()
    return [KeyInfo(r.id, r.name, r.role, r.created_at, r.revoked_at) for r in rows]


def revoke_key(store: Store, key_id: str, *, actor: str = "cli") -> None:
    """Revoke a key at once; later calls with it are refused."""
    with store.write() as conn:
        revoke_in(store, conn, key_id, actor=actor)


def revoke_in(store: Store, conn: Connection, key_id: str, *, actor: str) -> None:
    """Revoke ``key_id`` inside the caller's write transaction (e.g. an access review's)."""
    done = conn.execute(
        update(_keys)
        .where(_keys.c.id == key_id, _keys.c.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    ).rowcount
    if not done:
        raise NotFound(f"no active API key {key_id!r} (see `trustcart keys list`)")
    key_cache(store).forget(key_id)
    store.log(ADMIN_LOG).append(
        {"action": "api_key.revoked", "key_id": key_id, "actor": actor}, conn=conn
    )


def cached_principal(store: Store, secret: str | None, max_age: float) -> Principal | None:
    """The principal behind ``secret`` if it was verified less than ``max_age`` seconds ago in
    this process, else None (then call :func:`authenticate`). Never touches the database, so
    an event loop may call it; a missing or malformed secret raises at once."""
    digest = _digest(_checked_secret(secret))
    return key_cache(store).get(digest, max_age) if max_age > 0 else None


def _checked_secret(secret: str | None) -> str:
    if not secret:
        raise AuthenticationError(
            "missing API key: send 'Authorization: Bearer <key>' (create one with "
            "`trustcart keys create --role ROLE`)"
        )
    if not secret.startswith(KEY_PREFIX):
        raise AuthenticationError("malformed API key: TrustCart keys start with 'tc_'")
    return secret


def authenticate(store: Store, secret: str | None, *, max_age: float = 0.0) -> Principal:
    """The principal behind ``secret``, or ``AuthenticationError``.

    With ``max_age > 0`` a key verified in this process less than ``max_age`` seconds ago is
    accepted without a lookup (see the module docstring for what that means for revocation).
    """
    digest = _digest(_checked_secret(secret))
    cache = key_cache(store)
    if max_age > 0:
        hit = cache.get(digest, max_age)
        if hit is not None:
            return hit
    checked = cache.now()
    with store.read() as conn:
        row = conn.execute(
            select(_keys.c.id, _keys.c.name, _keys.c.role, _keys.c.key_hash, _keys.c.revoked_at)
            .where(_keys.c.key_hash == digest)
            .limit(1)
        ).first()
    if row is None or not hmac.compare_digest(row.key_hash, digest):
        raise AuthenticationError("unknown API key")
    if row.revoked_at is not None:
        cache.forget(row.id)
        raise AuthenticationError("this API key was revoked")
    role = Role(row.role)
    principal = Principal(row.id, row.name, role, scopes_for(role))
    if max_age > 0:
        cache.put(digest, principal, checked)
    return principal
