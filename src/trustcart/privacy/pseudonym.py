"""Keyed pseudonyms: the one place TrustCart turns a personal identifier into a log key.

Why HMAC and not a plain hash: a customer id or email has little entropy, so ``sha256(email)``
is reversed by hashing a list of emails. An HMAC under a secret key kept outside the database
cannot be recomputed without the key; destroying or rotating the key severs the link.
Pseudonymised data is still personal data (GDPR Recital 26): whoever holds the key can re-link.
"""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "p_"


class Pseudonymizer:
    """Deterministic pseudonyms ``p_<32 hex>`` under one key, with a small memo for hot paths.

    The memo makes repeated lookups for the same person (a gateway deciding many times for one
    shopper) a dict hit instead of an HMAC; it is bounded so it cannot grow without limit.
    """

    def __init__(self, key: bytes, *, memo_size: int = 100_000) -> None:
        if len(key) < 16:
            raise ValueError("pseudonym key must be at least 16 bytes")
        self._key = key
        self._memo: dict[str, str] = {}
        self._memo_size = memo_size

    def pseudonym(self, identifier: str) -> str:
        """The pseudonym of ``identifier`` (already-pseudonymous input is returned unchanged)."""
        hit = self._memo.get(identifier)
        if hit is not None:
            return hit
        if identifier.startswith(PREFIX) and len(identifier) == len(PREFIX) + 32:
            return identifier
        digest = hmac.new(self._key, identifier.encode(), hashlib.sha256).hexdigest()[:32]
        value = PREFIX + digest
        if len(self._memo) >= self._memo_size:
            self._memo.clear()
        self._memo[identifier] = value
        return value

    def fingerprint(self, value: str) -> str:
        """A keyed hash of technical evidence (e.g. a user agent) that proves without revealing."""
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
