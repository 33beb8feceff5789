"""Sortable identifiers, generated in one place.

IDs are ULIDs (48-bit millisecond timestamp + 80 random bits, Crockford base32, 26 chars):
they sort by creation time, which keeps B-tree inserts local and makes logs readable.
"""

from __future__ import annotations

import os
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_id(prefix: str = "") -> str:
    """Return a new ULID string, optionally prefixed (e.g. ``"key_"``)."""
    value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return prefix + "".join(reversed(chars))
