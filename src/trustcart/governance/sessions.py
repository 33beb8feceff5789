"""Login sessions of the dashboard, server-side, and the CSRF tokens bound to them.

Why server-side (a random token in the cookie, its SHA-256 in the database) rather than a
signed cookie: logging out, disabling a user or resetting a password must end a session at
once, which a self-contained cookie cannot do. A session ends after :data:`IDLE_TIMEOUT`
without a request or :data:`MAX_AGE` after login, whichever comes first.

Why CSRF tokens on top of ``SameSite=Strict`` cookies: SameSite is a browser's promise, and
the forms change evidence (extend a legal deadline, carry out an erasure); the synchronizer
token is an HMAC of the session token under the workspace key, so it needs no storage and is
useless in another session.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from trustcart.clock import utcnow
from trustcart.errors import AuthenticationError
from trustcart.governance.keys import Principal
from trustcart.governance.users import LOGIN_LOG, UserInfo, get_user, principal_of
from trustcart.store import Store
from trustcart.store.tables import DashboardSession, table_of

_sessions = table_of(DashboardSession)

IDLE_TIMEOUT = timedelta(minutes=30)
MAX_AGE = timedelta(hours=12)
#: ``last_seen_at`` is written at most this often (not on every page view).
_TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """A live session: who, and since when."""

    user: UserInfo
    principal: Principal
    created_at: datetime
    expires_at: datetime


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(store: Store, user: UserInfo) -> str:
    """A new session for ``user``; returns the token for the cookie (shown nowhere else)."""
    if not user.active:
        raise AuthenticationError("this account is disabled")
    token = secrets.token_urlsafe(32)
    now = utcnow()
    with store.write() as conn:
        # Housekeeping: sessions dead for a day are of no use even as evidence (logins are
        # in the login log).
        conn.execute(delete(_sessions).where(_sessions.c.expires_at < now - timedelta(days=1)))
        conn.execute(
            _sessions.insert().values(
                token_hash=_digest(token),
                user_id=user.id,
                created_at=now,
                last_seen_at=now,
                expires_at=min(now + IDLE_TIMEOUT, now + MAX_AGE),
            )
        )
    return token


def session_of(store: Store, token: str | None) -> SessionInfo:
    """The live session behind ``token`` (sliding its idle expiry), or
    ``AuthenticationError`` when it is missing, unknown, ended or expired."""
    if not token or len(token) > 200:
        raise AuthenticationError("please log in")
    digest = _digest(token)
    now = utcnow()
    with store.read() as conn:
        row = conn.execute(select(_sessions).where(_sessions.c.token_hash == digest)).first()
    if row is None or row.revoked_at is not None:
        raise AuthenticationError("please log in")
    if row.expires_at <= now:
        raise AuthenticationError("your session expired; please log in again")
    user = get_user(store, row.user_id)
    if not user.active:
        raise AuthenticationError("this account is disabled")
    expires = row.expires_at
    if now - row.last_seen_at >= _TOUCH_EVERY:
        expires = min(now + IDLE_TIMEOUT, row.created_at + MAX_AGE)
        with store.write() as conn:
            conn.execute(
                update(_sessions)
                .where(_sessions.c.token_hash == digest)
                .values(last_seen_at=now, expires_at=expires)
            )
    return SessionInfo(user, principal_of(user), row.created_at, expires)


def end_session(store: Store, token: str | None) -> None:
    """Log out: the token stops working at once (no error if it already did)."""
    if not token:
        return
    digest = _digest(token)
    with store.write() as conn:
        row = conn.execute(
            select(_sessions.c.user_id).where(
                _sessions.c.token_hash == digest, _sessions.c.revoked_at.is_(None)
            )
        ).first()
        if row is None:
            return
        conn.execute(
            update(_sessions).where(_sessions.c.token_hash == digest).values(revoked_at=utcnow())
        )
        store.log(LOGIN_LOG).append({"action": "logout", "user_id": row.user_id}, conn=conn)


def csrf_token(key: bytes, session_token: str) -> str:
    """The CSRF token of a session: an HMAC of its token (stable for the session's life)."""
    return hmac.new(key, b"csrf:" + session_token.encode(), hashlib.sha256).hexdigest()


def csrf_ok(key: bytes, session_token: str | None, sent: str | None) -> bool:
    """Whether ``sent`` is the CSRF token of ``session_token`` (constant-time)."""
    if not session_token or not sent:
        return False
    return hmac.compare_digest(csrf_token(key, session_token), sent)
