"""API keys: created with a role, stored only as a SHA-256, shown once, revocable.

Why SHA-256 and not a slow password hash: keys are 256-bit random tokens, so brute force is not
the threat a slow hash defends against, and every API call must check one cheaply.
Key creation and revocation are admin actions appended to the ``admin`` hash-chained log.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
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
    store.log(ADMIN_LOG).append(
        {"action": "api_key.revoked", "key_id": key_id, "actor": actor}, conn=conn
    )


def authenticate(store: Store, secret: str | None) -> Principal:
    """The principal behind ``secret``, or ``AuthenticationError``."""
    if not secret:
        raise AuthenticationError(
            "missing API key: send 'Authorization: Bearer <key>' (create one with "
            "`trustcart keys create --role ROLE`)"
        )
    if not secret.startswith(KEY_PREFIX):
        raise AuthenticationError("malformed API key: TrustCart keys start with 'tc_'")
    digest = _digest(secret)
    with store.session() as s:
        row = s.scalars(select(ApiKey).where(ApiKey.key_hash == digest)).first()
    if row is None or not hmac.compare_digest(row.key_hash, digest):
        raise AuthenticationError("unknown API key")
    if row.revoked_at is not None:
        raise AuthenticationError("this API key was revoked")
    role = Role(row.role)
    return Principal(row.id, row.name, role, scopes_for(role))
