"""Keyed pseudonyms: the one place TrustCart turns a personal identifier into a log key.

Why HMAC and not a plain hash: a customer id or email has little entropy, so ``sha256(email)``
is reversed by hashing a list of emails. An HMAC under a secret key kept outside the database
cannot be recomputed without the key; destroying or rotating the key severs the link.
Pseudonymised data is still personal data (GDPR Recital 26): whoever holds the key can re-link.

Rotation (see :mod:`trustcart.privacy.keyring`): new records are written under the *current*
key (:meth:`Pseudonymizer.pseudonym`); lookups by a person's identifier use
:meth:`Pseudonymizer.candidates` — the pseudonyms under every *live* key plus the recorded
links to pseudonyms under keys already destroyed — so records written before a rotation stay
findable until the old key's window ends, and for good for people seen during the window.
Pseudonyms do not carry their key version: the format (``p_`` + 32 hex) and every column that
holds one stay as they were, and lookups compute all live candidates anyway.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from trustcart.workspace import Workspace

PREFIX = "p_"


def is_pseudonym(value: str) -> bool:
    """Whether ``value`` already looks like a pseudonym (``p_`` + 32 characters)."""
    return value.startswith(PREFIX) and len(value) == len(PREFIX) + 32


def _hmac(key: bytes, identifier: str) -> str:
    return PREFIX + hmac.new(key, identifier.encode(), hashlib.sha256).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class RingState:
    """The live keys as a :class:`KeySource` sees them now.

    ``keys``: ``(key id, material)``, the current key first. ``deadline``: the earliest moment a
    live old key stops being live (the pseudonymizer reloads then even if nothing else moved).
    ``linked``: whether pseudonym links may exist (a rotation ever happened), i.e. whether a
    lookup must consult the link table at all.
    """

    keys: tuple[tuple[str, bytes], ...]
    signature: object
    deadline: datetime | None = None
    linked: bool = False


class KeySource(Protocol):
    """Where a rotating pseudonymizer reads its keys and keeps its links (the workspace)."""

    max_staleness: float

    def load(self) -> RingState:
        """The live keys now (cheap when nothing changed)."""
        ...

    def now(self) -> datetime:
        """The current time (injectable for tests)."""
        ...

    def link(self, current: str, older: Sequence[str]) -> tuple[str, ...]:
        """Record that ``current`` and ``older`` name one person; return every pseudonym now
        linked to ``current``."""
        ...

    def linked(self, pseudonym: str) -> tuple[str, ...]:
        """Pseudonyms linked to ``pseudonym`` in either direction."""
        ...


class Pseudonymizer:
    """Deterministic pseudonyms ``p_<32 hex>`` under a current key, with small memos for hot
    paths.

    ``Pseudonymizer(key)`` is a fixed single key (plus optional ``previous`` keys still to be
    resolved); :meth:`of` gives the workspace's rotating ring, which notices a rotation or a
    retirement made by any process within ``max_staleness`` seconds (one small query) and a
    window's end at once.

    The memo makes repeated lookups for the same person (a gateway deciding many times for one
    shopper) a dict hit instead of an HMAC; it is bounded so it cannot grow without limit.
    """

    def __init__(
        self, key: bytes, *, previous: Sequence[bytes] = (), memo_size: int = 100_000
    ) -> None:
        for k in (key, *previous):
            if len(k) < 16:
                raise ValueError("pseudonym key must be at least 16 bytes")
        self._key = key
        self._keys: tuple[bytes, ...] = (key, *previous)
        self._kids: tuple[str, ...] = tuple(f"k?{i}" for i in range(len(self._keys)))
        self._memo: dict[str, str] = {}
        self._cands: dict[str, tuple[str, ...]] = {}
        self._memo_size = memo_size
        self._source: KeySource | None = None
        self._signature: object = None
        self._linked = False
        self._recheck_at = math.inf

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def from_source(cls, source: KeySource, *, memo_size: int = 100_000) -> Pseudonymizer:
        """A pseudonymizer that follows ``source``'s key ring."""
        state = source.load()
        out = cls(state.keys[0][1], memo_size=memo_size)
        out._source = source
        out._apply(state)
        return out

    @classmethod
    def of(cls, ws: Workspace, *, max_staleness: float = 1.0) -> Pseudonymizer:
        """The workspace's pseudonymizer: its key ring (``k0`` is the workspace secret)."""
        from trustcart.privacy.keyring import WorkspaceKeys

        return cls.from_source(WorkspaceKeys(ws.settings, ws.store, max_staleness=max_staleness))

    # -- freshness ---------------------------------------------------------------------------
    def _apply(self, state: RingState) -> None:
        assert self._source is not None
        self._recheck_at = time.monotonic() + self._source.max_staleness
        if state.deadline is not None:
            left = (state.deadline - self._source.now()).total_seconds()
            self._recheck_at = min(self._recheck_at, time.monotonic() + max(left, 0.0))
        if state.signature == self._signature:
            return
        self._signature = state.signature
        self._key = state.keys[0][1]
        self._keys = tuple(k for _, k in state.keys)
        self._kids = tuple(kid for kid, _ in state.keys)
        self._linked = state.linked
        self._memo = {}
        self._cands = {}

    def refresh(self) -> None:
        """Re-read the key ring now (after a rotation in this process, or in tests)."""
        if self._source is not None:
            self._apply(self._source.load())

    @property
    def key_ids(self) -> tuple[str, ...]:
        """Ids of the live keys, current first (``k?N`` for keys given directly)."""
        if time.monotonic() >= self._recheck_at:
            self.refresh()
        return self._kids

    # -- pseudonyms --------------------------------------------------------------------------
    def pseudonym(self, identifier: str) -> str:
        """The pseudonym of ``identifier`` under the current key — what new records are
        written under (already-pseudonymous input is returned unchanged)."""
        if time.monotonic() >= self._recheck_at:
            self.refresh()
        hit = self._memo.get(identifier)
        if hit is not None:
            return hit
        if is_pseudonym(identifier):
            return identifier
        value = _hmac(self._key, identifier)
        if len(self._memo) >= self._memo_size:
            self._memo.clear()
        self._memo[identifier] = value
        return value

    def candidates(self, identifier: str) -> tuple[str, ...]:
        """Every pseudonym records of ``identifier`` may be stored under, current first.

        For a raw identifier: its pseudonym under each live key, plus pseudonyms linked to it
        (under keys already destroyed). While an old key is live, the first lookup also links
        the old pseudonym to the current one — the person was "seen during the window" — so
        their old records survive the old key's destruction. For a pseudonym (e.g. from a
        preference link): itself plus its links either way. Memoised; one tuple with a single
        element when the ring never rotated.
        """
        if time.monotonic() >= self._recheck_at:
            self.refresh()
        hit = self._cands.get(identifier)
        if hit is not None:
            return hit
        if is_pseudonym(identifier):
            found: tuple[str, ...] = (identifier,)
            if self._source is not None and self._linked:
                found += self._source.linked(identifier)
        else:
            found = tuple(_hmac(k, identifier) for k in self._keys)
            if self._source is not None and self._linked:
                found += self._source.link(found[0], found[1:])
        found = tuple(dict.fromkeys(found))
        if len(self._cands) >= self._memo_size:
            self._cands.clear()
        self._cands[identifier] = found
        return found

    def fingerprint(self, value: str) -> str:
        """A keyed hash of technical evidence (e.g. a user agent) that proves without revealing.

        Under the current key: once that key is destroyed the fingerprint proves nothing more
        about anyone, like the pseudonyms it sits next to."""
        if time.monotonic() >= self._recheck_at:
            self.refresh()
        return hmac.new(self._key, b"evidence:" + value.encode(), hashlib.sha256).hexdigest()[:16]


def truncate_ip(ip: str | None) -> str | None:
    """Keep only the network part of an address (IPv4 /24, IPv6 /48) as consent evidence."""
    if not ip:
        return None
    import ipaddress

    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return None
    prefix = 24 if addr.version == 4 else 48
    return str(ipaddress.ip_network(f"{addr}/{prefix}", strict=False))
