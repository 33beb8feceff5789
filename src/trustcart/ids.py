"""Sortable identifiers, generated in one place.

IDs are ULIDs (48-bit millisecond timestamp + 80 random bits, Crockford base32, 26 chars):
they sort by creation time, which keeps B-tree inserts local and makes logs readable.

Monotonic within a process (the ULID spec's monotonic mode): an id made in the same
millisecond as the previous one takes the previous random part plus one, so ids made one after
the other always sort in the order they were made — a list ordered by (time, id) shows two
records of the same millisecond in the order they were written, not at random. An id is
therefore guessable from its neighbour: ids name things, they never grant access (secrets,
session tokens, follow-up codes and one-time codes come from :mod:`secrets`).
"""

from __future__ import annotations

import os
import threading
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_RANDOM_BITS = 80
_lock = threading.Lock()
_last = 0  # the previous id's 128-bit value


def _next_value() -> int:
    global _last
    fresh = (time.time_ns() // 1_000_000) << _RANDOM_BITS | int.from_bytes(os.urandom(10), "big")
    with _lock:
        if (
            fresh >> _RANDOM_BITS <= _last >> _RANDOM_BITS
        ):  # same millisecond (or clock stepped back)
            fresh = _last + 1  # an overflowing random part carries into the next millisecond
        _last = fresh
    return fresh


def new_id(prefix: str = "") -> str:
    """Return a new ULID string, optionally prefixed (e.g. ``"key_"``)."""
    value = _next_value()
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return prefix + "".join(reversed(chars))
