"""Dashboard user accounts: a username, a governance role and an Argon2id password hash.

Why Argon2id (argon2-cffi, its default parameters: 3 passes over 64 MiB): people choose
passwords a fast hash cannot protect once a database copy leaks; a memory-hard hash makes each
guess expensive. API keys (``governance.keys``) are random 256-bit tokens and use SHA-256.

Why a lockout: an online guesser gets :data:`MAX_FAILED_LOGINS` tries per
:data:`LOCKOUT` for one account (the HTTP layer also rate-limits the login form per client).
An unknown username costs the same hash as a known one, so timing does not reveal accounts.
Creating, disabling and re-keying accounts are admin actions appended to the ``admin`` log;
logins (successful or not) go to the ``access`` log.
"""

from __future__ import annotations

import contextlib
import functools
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select, update

from trustcart.clock import utcnow
from trustcart.errors import AuthenticationError, Conflict, NotFound, ValidationError
from trustcart.governance.keys import ADMIN_LOG, Principal
from trustcart.governance.roles import Role, parse_role, scopes_for
from trustcart.ids import new_id
from trustcart.store import Store
from trustcart.store.tables import DashboardSession, DashboardUser, table_of

_users = table_of(DashboardUser)
_sessions = table_of(DashboardSession)

#: Log of logins and logouts (who, when; never a password).
#: Logins, failed logins, lockouts and logouts of dashboard users (not the personal-data
#: access log of the API, which is ``trustcart.governance.access.ACCESS_LOG``).
LOGIN_LOG = "logins"
MIN_PASSWORD = 12
MAX_PASSWORD = 1024
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the username is unknown, so both paths cost one Argon2 hash.

    Made on first use, not at import: an Argon2 hash takes ~0.5 s of CPU, which every CLI
    command and server worker paid at start-up when it was a module constant."""
    return _hasher.hash("trustcart-no-such-user")


@dataclass(frozen=True, slots=True)
class UserInfo:
    """What is shown about an account (never its hash)."""

    id: str
    username: str
    role: str
    created_at: datetime
    last_login_at: datetime | None
    disabled_at: datetime | None

    @property
    def active(self) -> bool:
        """Not disabled."""
        return self.disabled_at is None


def _info(r: DashboardUser) -> UserInfo:
    return UserInfo(r.id, r.username, r.role, r.created_at, r.last_login_at, r.disabled_at)


def principal_of(user: UserInfo) -> Principal:
    """The governance principal of an account: its role's scopes, like an API key's."""
    role = Role(user.role)
    return Principal(user.id, user.username, role, scopes_for(role))


def check_username(username: str) -> str:
    """The normalised (lower-case) username, or a ``ValidationError`` saying what is allowed."""
    name = username.strip().lower()
    if not USERNAME.fullmatch(name):
        raise ValidationError(
            "a username is 2-64 characters: lower-case letters, digits and . _ @ - "
            "(starting with a letter or digit)"
        )
    return name


def check_password(password: str, username: str = "") -> None:
    """A password TrustCart accepts: long enough, not the username (no composition rules,
    which push people to predictable patterns; length is what resists guessing)."""
    if len(password) < MIN_PASSWORD:
        raise ValidationError(f"the password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise ValidationError(f"the password may have at most {MAX_PASSWORD} characters")
    if username and password.strip().lower() == username.lower():
        raise ValidationError("the password must not be the username")


def create_user(
    store: Store, *, username: str, role: str | Role, password: str, actor: str = "cli"
) -> UserInfo:
    """Create an account with ``role``; ``Conflict`` if the username is taken."""
    name = check_username(username)
    parsed = parse_role(str(role))
    check_password(password, name)
    digest = _hasher.hash(password)
    now = utcnow()
    user_id = new_id("usr_")
    with store.write() as conn:
        taken = conn.execute(select(_users.c.id).where(_users.c.username == name)).first()
        if taken is not None:
            raise Conflict(f"a user named {name!r} already exists")
        conn.execute(
            _users.insert().values(
                id=user_id,
                username=name,
                role=parsed.value,
                password_hash=digest,
                failed_logins=0,
                created_at=now,
            )
        )
        store.log(ADMIN_LOG).append(
            {"action": "user.created", "user_id": user_id, "role": parsed.value, "actor": actor},
            conn=conn,
        )
    return UserInfo(user_id, name, parsed.value, now, None, None)


def list_users(store: Store) -> list[UserInfo]:
    """Every account, oldest first."""
    with store.session() as s:
        rows = s.scalars(select(DashboardUser).order_by(DashboardUser.created_at)).all()
        return [_info(r) for r in rows]


def get_user(store: Store, user_id: str) -> UserInfo:
    """One account by id."""
    with store.session() as s:
        row = s.get(DashboardUser, user_id)
        if row is None:
            raise NotFound(f"no dashboard user {user_id!r}")
        return _info(row)


def _by_name(store: Store, username: str) -> DashboardUser:
    name = username.strip().lower()
    with store.session() as s:
        row = s.scalars(select(DashboardUser).where(DashboardUser.username == name)).first()
        if row is None:
            raise NotFound(f"no dashboard user {name!r} (see `trustcart users list`)")
        s.expunge(row)
        return row


def set_password(store: Store, username: str, password: str, *, actor: str = "cli") -> UserInfo:
    """Replace an account's password; its open sessions end (a reset must lock out whoever
    had the old one) and a lockout is lifted."""
    row = _by_name(store, username)
    check_password(password, row.username)
    digest = _hasher.hash(password)
    now = utcnow()
    with store.write() as conn:
        conn.execute(
            update(_users)
            .where(_users.c.id == row.id)
            .values(password_hash=digest, failed_logins=0, locked_until=None)
        )
        conn.execute(
            update(_sessions)
            .where(_sessions.c.user_id == row.id, _sessions.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        store.log(ADMIN_LOG).append(
            {"action": "user.password_changed", "user_id": row.id, "actor": actor}, conn=conn
        )
    return get_user(store, row.id)


def disable_user(store: Store, username: str, *, actor: str = "cli") -> UserInfo:
    """Disable an account at once: its sessions end and it can no longer log in."""
    row = _by_name(store, username)
    if row.disabled_at is not None:
        raise Conflict(f"user {row.username!r} is already disabled")
    now = utcnow()
    with store.write() as conn:
        conn.execute(update(_users).where(_users.c.id == row.id).values(disabled_at=now))
        conn.execute(
            update(_sessions)
            .where(_sessions.c.user_id == row.id, _sessions.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        store.log(ADMIN_LOG).append(
            {"action": "user.disabled", "user_id": row.id, "actor": actor}, conn=conn
        )
    return get_user(store, row.id)


def _failed(message: str = "wrong username or password") -> AuthenticationError:
    return AuthenticationError(message)


def authenticate_password(store: Store, username: str, password: str) -> UserInfo:
    """The account if ``password`` is right; ``AuthenticationError`` otherwise.

    The message never says whether the username exists. After :data:`MAX_FAILED_LOGINS`
    wrong passwords the account is locked for :data:`LOCKOUT`, even for the right password.
    """
    name = username.strip().lower()
    now = utcnow()
    with store.session() as s:
        row = s.scalars(select(DashboardUser).where(DashboardUser.username == name)).first()
        if row is not None:
            s.expunge(row)
    if row is None or len(password) > MAX_PASSWORD:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_dummy_hash(), password[:MAX_PASSWORD] or "-")
        store.log(LOGIN_LOG).append({"action": "login.failed", "user_id": None})
        raise _failed()
    if row.locked_until is not None and row.locked_until > now:
        store.log(LOGIN_LOG).append({"action": "login.locked", "user_id": row.id})
        raise _failed(
            f"too many wrong passwords: this account is locked until {row.locked_until:%H:%M} "
            "UTC (ask an administrator to reset the password to unlock it now)"
        )
    try:
        _hasher.verify(row.password_hash, password)
        ok = row.disabled_at is None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    with store.write() as conn:
        if ok:
            values: dict[str, object] = {"failed_logins": 0, "locked_until": None}
            values["last_login_at"] = now
            if _hasher.check_needs_rehash(row.password_hash):
                values["password_hash"] = _hasher.hash(password)
            conn.execute(update(_users).where(_users.c.id == row.id).values(**values))
            store.log(LOGIN_LOG).append({"action": "login", "user_id": row.id}, conn=conn)
        else:
            failed = row.failed_logins + 1
            conn.execute(
                update(_users)
                .where(_users.c.id == row.id)
                .values(
                    failed_logins=0 if failed >= MAX_FAILED_LOGINS else failed,
                    locked_until=now + LOCKOUT if failed >= MAX_FAILED_LOGINS else None,
                )
            )
            store.log(LOGIN_LOG).append({"action": "login.failed", "user_id": row.id}, conn=conn)
    if not ok:
        raise _failed()
    return get_user(store, row.id)
