"""The pseudonym key ring: versions, rotation with a resolvability window, retirement.

Why rotate: a pseudonym key that lives forever links everything a person ever did, and one
leak re-identifies all of it. Rotation bounds both: records written under a key become
unlinkable once that key is destroyed, except for people seen while it was still live.

How it works:

- **Versions.** ``k0`` is the workspace secret (``secret.key`` / ``TRUSTCART_SECRET_KEY``), the
  key every pseudonym was made with before rotation existed. ``k1``, ``k2``… are random keys in
  0600 files under ``WORKSPACE/keys/`` or, in environment mode, in
  ``TRUSTCART_SECRET_KEYS='k1:SECRET,k2:SECRET'``. The database holds only metadata
  (``pseudonym_keys``: id, created_at, retire_after, retired_at, a check value that detects a
  wrong key) — never key material.
- **Rotation** (:func:`rotate_key`) makes a new current key and gives the previous one a
  ``retire_after`` = now + window. Until then it is *live*: lookups compute a person's pseudonym
  under every live key (:meth:`~trustcart.privacy.Pseudonymizer.candidates`), so consent, the
  decision log, rights requests, the access log and crypto-shredding find records under either.
- **Links.** The first lookup of a person during the window records ``new -> old`` in
  ``pseudonym_links`` (flattened across rotations), so their history stays findable after the old
  key is gone. Hash-chained rows are never rewritten.
- **Retirement** (:func:`retire_keys`): once the window ends the key is no longer used by any
  process (they check the deadline), and ``retire-keys`` destroys it (deletes the file; for an
  environment key, tells you to remove it). Records under it of people *not* seen during the
  window can then be linked to nobody: effectively anonymised.
- Every rotation and retirement is an entry of the hash-chained ``admin`` log.

``k0`` caveat: the workspace secret also signs preference links and dashboard forms and seals
whistleblower reports, so retiring ``k0`` stops TrustCart from resolving ``k0`` pseudonyms but
cannot destroy the secret; whoever holds it could still recompute them (docs/privacy.md).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from trustcart.clock import utcnow
from trustcart.config import Settings
from trustcart.errors import ConfigError, Conflict, ValidationError
from trustcart.privacy.pseudonym import RingState
from trustcart.store import Store
from trustcart.store.tables import PseudonymKey, PseudonymLink, table_of

ADMIN_LOG = "admin"
KEY_DIR = "keys"
LEGACY_KID = "k0"
MAX_WINDOW = timedelta(days=366)
DEFAULT_WINDOW = "30d"
_KID = re.compile(r"^k([1-9][0-9]{0,5})$")
_WINDOW = re.compile(r"^\s*(\d{1,6})\s*([dhm]?)\s*$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes", "": "days"}
_keys = table_of(PseudonymKey)
_links = table_of(PseudonymLink)


def parse_window(text: str | timedelta) -> timedelta:
    """``30d`` / ``12h`` / ``90m`` (a bare number is days) -> timedelta, ``0`` allowed (the old
    key stops resolving at once: what you want after a key leak). ``ValidationError`` else."""
    if isinstance(text, timedelta):
        value = text
    else:
        m = _WINDOW.match(str(text))
        if m is None:
            raise ValidationError(
                f"rotation window {text!r}: use a whole number of days, hours or minutes such "
                "as 30d, 12h or 90m (0 retires the old key at once)"
            )
        value = timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})
    if value < timedelta(0) or value > MAX_WINDOW:
        raise ValidationError(
            f"rotation window must be between 0 and {MAX_WINDOW.days} days (got {value}): a "
            "longer window keeps the old key alive and defeats the rotation"
        )
    return value


def key_check(material: bytes) -> str:
    """A check value that tells whether the right key was supplied (reveals nothing of it)."""
    return hmac.new(material, b"trustcart:pseudonym-key-check", hashlib.sha256).hexdigest()[:32]


def key_file(settings: Settings, kid: str) -> Path:
    """Where a file-backed key version lives."""
    return settings.workspace / KEY_DIR / f"pseudonym-{kid}.key"


def env_keys(settings: Settings) -> dict[str, bytes]:
    """``TRUSTCART_SECRET_KEYS`` parsed: ``{kid: material}`` (``ConfigError`` if malformed)."""
    if settings.secret_keys is None:
        return {}
    out: dict[str, bytes] = {}
    for part in settings.secret_keys.get_secret_value().split(","):
        part = part.strip()
        if not part:
            continue
        kid, sep, secret = part.partition(":")
        kid = kid.strip()
        if not sep or not _KID.match(kid):
            raise ConfigError(
                "TRUSTCART_SECRET_KEYS must be 'k1:SECRET,k2:SECRET' (key ids k1, k2, …; k0 is "
                f"TRUSTCART_SECRET_KEY); got an entry named {kid[:8]!r}"
            )
        if len(secret.strip()) < 32:
            raise ConfigError(f"TRUSTCART_SECRET_KEYS: key {kid} is too short (need >= 32 chars)")
        if kid in out:
            raise ConfigError(f"TRUSTCART_SECRET_KEYS: key {kid} is given twice")
        out[kid] = secret.strip().encode()
    return out


def _env_mode(settings: Settings) -> bool:
    return settings.secret_keys is not None or settings.secret_key is not None


def _number(kid: str) -> int:
    m = _KID.match(kid)
    return int(m.group(1)) if m else 0


def _material(settings: Settings, kid: str, source: str) -> bytes:
    """A key version's material: env entry, else its file; ``k0`` is the workspace secret."""
    if kid == LEGACY_KID:
        return settings.pseudonym_key()
    env = env_keys(settings)
    if kid in env:
        return env[kid]
    path = key_file(settings, kid)
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        where = "TRUSTCART_SECRET_KEYS" if source == "env" else str(path)
        raise ConfigError(
            f"pseudonym key {kid} is live but missing from {where}: restore it from your "
            "backup (records under it cannot be found without it)"
        ) from None
    if len(text) < 32:
        raise ConfigError(f"pseudonym key file {path} is too short (need >= 32 characters)")
    return text.encode()


@dataclass(frozen=True, slots=True)
class KeyVersion:
    """One version of the ring (metadata; ``live`` at the time it was read)."""

    kid: str
    source: str
    created_at: datetime | None
    retire_after: datetime | None
    retired_at: datetime | None
    current: bool
    live: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly view (CLI)."""
        return {
            "kid": self.kid,
            "source": self.source,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "retire_after": self.retire_after.isoformat() if self.retire_after else None,
            "retired_at": self.retired_at.isoformat() if self.retired_at else None,
            "current": self.current,
            "live": self.live,
        }


def _legacy_created(settings: Settings) -> datetime | None:
    """When ``k0`` was made, as far as we can tell: the key file's mtime (unknown from env)."""
    if settings.secret_key is not None:
        return None
    path = settings.workspace / settings.secret_key_file
    try:
        from datetime import UTC

        return datetime.fromtimestamp(path.stat().st_mtime, UTC)
    except OSError:
        return None


def key_versions(
    settings: Settings, store: Store, *, now: datetime | None = None
) -> list[KeyVersion]:
    """The ring, oldest first. A workspace that never rotated has one implicit ``k0``."""
    at = now or utcnow()
    with store.read() as conn:
        rows = conn.execute(select(_keys)).all()
    if not rows:
        return [KeyVersion(LEGACY_KID, "workspace_secret", _legacy_created(settings), None, None,
                           True, True)]  # fmt: skip
    rows = sorted(rows, key=lambda r: _number(r.kid))
    current = max(
        (r for r in rows if r.retire_after is None and r.retired_at is None),
        key=lambda r: _number(r.kid),
        default=None,
    )
    out = []
    for r in rows:
        live = r.retired_at is None and (r.retire_after is None or r.retire_after > at)
        out.append(
            KeyVersion(
                r.kid,
                r.source,
                r.created_at,
                r.retire_after,
                r.retired_at,
                current is not None and r.kid == current.kid,
                live,
            )
        )
    return out


class WorkspaceKeys:
    """The :class:`~trustcart.privacy.pseudonym.KeySource` of a workspace: metadata from the
    store, material from files / the environment (read once per version and checked)."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        max_staleness: float = 1.0,
        clock: Any = utcnow,
    ) -> None:
        self.settings = settings
        self.store = store
        self.max_staleness = max_staleness
        self._clock = clock
        self._material: dict[tuple[str, str], bytes] = {}

    def now(self) -> datetime:
        """The source's clock (tests move it past a window's end)."""
        value: datetime = self._clock()
        return value

    def load(self) -> RingState:
        """Live keys, current first; checks each key against its registered check value."""
        versions = key_versions(self.settings, self.store, now=self.now())
        live = [v for v in versions if v.live]
        current = [v for v in live if v.current]
        if not current:
            raise ConfigError(
                "the pseudonym key ring has no current key; run `trustcart privacy rotate-key`"
            )
        ordered = current + sorted(
            (v for v in live if not v.current), key=lambda v: -_number(v.kid)
        )
        rotated = len(versions) > 1 or versions[0].retire_after is not None
        checks: dict[str, str] = {}
        if rotated:
            with self.store.read() as conn:
                checks = {r.kid: r.check for r in conn.execute(select(_keys.c.kid, _keys.c.check))}
        keys = []
        for v in ordered:
            material = self._material.get((v.kid, v.source))
            if material is None:
                material = _material(self.settings, v.kid, v.source)
                expected = checks.get(v.kid)
                if expected is not None and not hmac.compare_digest(key_check(material), expected):
                    raise ConfigError(
                        f"pseudonym key {v.kid} does not match the key registered for it (wrong "
                        f"{'TRUSTCART_SECRET_KEYS entry' if v.source == 'env' else 'key file'}?): "
                        "restore the original; a different key would find nobody's records"
                    )
                self._material[(v.kid, v.source)] = material
            keys.append((v.kid, material))
        deadlines = [v.retire_after for v in live if v.retire_after is not None]
        return RingState(
            keys=tuple(keys),
            signature=tuple((v.kid, v.live, v.current) for v in versions),
            deadline=min(deadlines) if deadlines else None,
            linked=rotated,
        )

    # -- links -------------------------------------------------------------------------------
    def linked(self, pseudonym: str) -> tuple[str, ...]:
        """Pseudonyms linked to ``pseudonym`` (newer -> older and older -> newer)."""
        with self.store.read() as conn:
            fwd = conn.execute(select(_links.c.linked).where(_links.c.pseudonym == pseudonym))
            out = list(fwd.scalars())
            back = conn.execute(select(_links.c.pseudonym).where(_links.c.linked == pseudonym))
            out += list(back.scalars())
        return tuple(dict.fromkeys(out))

    def link(self, current: str, older: Sequence[str]) -> tuple[str, ...]:
        """Link ``current`` to ``older`` (and to everything they link to), idempotently; one
        read when the links already exist (every later process), one write the first time."""
        with self.store.read() as conn:
            have = set(
                conn.execute(select(_links.c.linked).where(_links.c.pseudonym == current)).scalars()
            )
        missing = [o for o in older if o not in have and o != current]
        if missing:
            now = utcnow()
            with self.store.write() as conn:
                deeper = conn.execute(
                    select(_links.c.linked).where(_links.c.pseudonym.in_(missing))
                ).scalars()
                new = [x for x in dict.fromkeys([*missing, *deeper]) if x not in have]
                insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
                conn.execute(
                    insert(_links).on_conflict_do_nothing(),
                    [{"pseudonym": current, "linked": x, "created_at": now} for x in new],
                )
            have.update(new)
        return tuple(sorted(have))


# -- rotation and retirement ---------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Rotation:
    """What :func:`rotate_key` did."""

    kid: str
    previous: str
    retire_after: datetime
    source: str
    path: Path | None
    retired: tuple[Retirement, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly view (CLI)."""
        return {
            "kid": self.kid,
            "previous": self.previous,
            "previous_retire_after": self.retire_after.isoformat(),
            "source": self.source,
            "path": str(self.path) if self.path else None,
            "retired": [r.to_dict() for r in self.retired],
        }


@dataclass(frozen=True, slots=True)
class Retirement:
    """A key destroyed by :func:`retire_keys` (``action`` says what happened to its material)."""

    kid: str
    action: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly view (CLI)."""
        return {"kid": self.kid, "action": self.action}


def _write_key_file(path: Path) -> None:
    path.parent.mkdir(mode=0o700, exist_ok=True)
    os.chmod(path.parent, 0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_urlsafe(48) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def rotate_key(
    settings: Settings,
    store: Store,
    *,
    window: str | timedelta = DEFAULT_WINDOW,
    actor: str = "cli",
    now: datetime | None = None,
) -> Rotation:
    """Make a new current pseudonym key; the previous one stays live for ``window``.

    File mode: a new random key is written to ``keys/pseudonym-kN.key`` (0600) before the
    metadata is committed (and removed if the commit fails). Environment mode
    (``TRUSTCART_SECRET_KEY``/``TRUSTCART_SECRET_KEYS``): the new key must already be in
    ``TRUSTCART_SECRET_KEYS`` — TrustCart cannot write your secret store — and the newest entry
    not yet registered becomes current. Keys whose window has ended are retired first.
    """
    span = parse_window(window)
    at = now or utcnow()
    retired = tuple(retire_keys(settings, store, actor=actor, now=at))
    versions = key_versions(settings, store, now=at)
    current = next((v for v in versions if v.current), None)
    if current is None:  # pragma: no cover - every rotation leaves a current key
        raise ConfigError("the pseudonym key ring has no current key")
    top = max(_number(v.kid) for v in versions)
    path: Path | None = None
    if _env_mode(settings):
        fresh = sorted((k for k in env_keys(settings) if _number(k) > top), key=_number)
        if not fresh:
            raise ConfigError(
                "the pseudonym key comes from the environment: add the new key to "
                f"TRUSTCART_SECRET_KEYS first (e.g. 'k{top + 1}:<48 random characters>', "
                "keeping the live ones), restart with it, then run rotate-key again",
                details={"next_kid": f"k{top + 1}"},
            )
        kid, source = fresh[-1], "env"
        material = env_keys(settings)[kid]
    else:
        kid, source = f"k{top + 1}", "file"
        path = key_file(settings, kid)
        if path.exists():
            raise Conflict(
                f"{path} already exists but is not registered: move it away (it may be a "
                "backup) and rotate again"
            )
        _write_key_file(path)
        material = path.read_text().strip().encode()
    retire_after = at + span
    try:
        with store.write() as conn:
            if conn.execute(select(_keys.c.kid).where(_keys.c.kid == LEGACY_KID)).first() is None:
                conn.execute(
                    _keys.insert().values(
                        kid=LEGACY_KID,
                        source="workspace_secret",
                        check=key_check(settings.pseudonym_key()),
                        created_at=_legacy_created(settings),
                        retire_after=None,
                        retired_at=None,
                    )
                )
            conn.execute(
                update(_keys)
                .where(_keys.c.retire_after.is_(None), _keys.c.retired_at.is_(None))
                .values(retire_after=retire_after)
            )
            conn.execute(
                _keys.insert().values(
                    kid=kid,
                    source=source,
                    check=key_check(material),
                    created_at=at,
                    retire_after=None,
                    retired_at=None,
                )
            )
            store.log(ADMIN_LOG).append(
                {
                    "action": "pseudonym_key.rotated",
                    "kid": kid,
                    "previous": current.kid,
                    "previous_retire_after": retire_after.isoformat(),
                    "source": source,
                    "actor": actor,
                },
                conn=conn,
            )
    except IntegrityError:
        if path is not None:
            path.unlink(missing_ok=True)
        raise Conflict(
            "another rotation ran at the same time; see `trustcart privacy key-status`"
        ) from None
    except BaseException:
        if path is not None:
            path.unlink(missing_ok=True)
        raise
    return Rotation(kid, current.kid, retire_after, source, path, retired)


def retire_keys(
    settings: Settings, store: Store, *, actor: str = "cli", now: datetime | None = None
) -> list[Retirement]:
    """Destroy every key whose window has ended (idempotent).

    The metadata is marked retired first (so no process uses the key again even if the next
    step fails), then the key file is deleted; an environment key must be removed by you (the
    return value says so); ``k0`` is the workspace secret and is kept for its other uses.
    """
    at = now or utcnow()
    with store.write() as conn:
        due = conn.execute(
            select(_keys.c.kid, _keys.c.source)
            .where(_keys.c.retired_at.is_(None), _keys.c.retire_after.is_not(None))
            .where(_keys.c.retire_after <= at)
            .with_for_update()
        ).all()
        out = []
        for kid, source in sorted(due, key=lambda r: _number(r.kid)):
            if kid == LEGACY_KID:
                action = (
                    "no longer resolved; k0 is the workspace secret, kept because it also signs "
                    "preference links and seals concerns"
                )
            elif source == "env" or kid in env_keys(settings):
                action = f"no longer used; remove {kid} from TRUSTCART_SECRET_KEYS"
            else:
                action = "key file deleted"
            conn.execute(update(_keys).where(_keys.c.kid == kid).values(retired_at=at))
            store.log(ADMIN_LOG).append(
                {"action": "pseudonym_key.retired", "kid": kid, "material": action, "actor": actor},
                conn=conn,
            )
            out.append(Retirement(kid, action))
    for r in out:
        if r.action == "key file deleted":
            key_file(settings, r.kid).unlink(missing_ok=True)
    return out


def stale_material(settings: Settings, store: Store, *, now: datetime | None = None) -> list[str]:
    """Key material that should be gone or guarded: problems as sentences (scanner)."""
    problems = []
    env = env_keys(settings) if settings.secret_keys is not None else {}
    for v in key_versions(settings, store, now=now):
        if v.kid == LEGACY_KID:
            continue
        path = key_file(settings, v.kid)
        dead = not v.live
        if dead and path.exists():
            problems.append(f"{v.kid}: window ended but {path.name} still exists")
        if dead and v.kid in env:
            problems.append(f"{v.kid}: window ended but it is still in TRUSTCART_SECRET_KEYS")
        if not dead and path.exists() and path.stat().st_mode & 0o077:
            problems.append(f"{v.kid}: {path.name} is readable by others (mode should be 0600)")
    return problems


__all__ = [
    "DEFAULT_WINDOW",
    "KeyVersion",
    "Retirement",
    "Rotation",
    "WorkspaceKeys",
    "env_keys",
    "key_check",
    "key_file",
    "key_versions",
    "parse_window",
    "retire_keys",
    "rotate_key",
    "stale_material",
]
