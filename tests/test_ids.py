"""Identifiers sort in the order they were made, even within one millisecond (monotonic
ULIDs): a history ordered by (time, id) shows same-millisecond records in writing order."""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime

import pytest

import trustcart.ids as ids
from trustcart.ids import new_id

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _decode(ulid: str) -> int:
    value = 0
    for c in ulid:
        value = value * 32 + _ALPHABET.index(c)
    return value


def test_ids_made_one_after_another_sort_in_that_order() -> None:
    made = [new_id("x_") for _ in range(20_000)]  # many share a millisecond
    assert made == sorted(made) and len(set(made)) == len(made)
    values = [_decode(m[2:]) for m in made]
    same_ms = [b - a for a, b in itertools.pairwise(values) if a >> 80 == b >> 80]
    assert same_ms and all(step == 1 for step in same_ms)  # +1 within a millisecond
    # the timestamp is the real one
    ms = values[-1] >> 80
    now = datetime.now(UTC).timestamp() * 1000
    assert abs(now - ms) < 60_000


def test_a_clock_stepping_back_does_not_break_the_order(monkeypatch: pytest.MonkeyPatch) -> None:
    first = new_id()
    monkeypatch.setattr(ids.time, "time_ns", lambda: 0)  # 1970: far behind the last id
    second = new_id()
    assert second > first and _decode(second) == _decode(first) + 1


def test_threads_get_unique_increasing_ids() -> None:
    out: dict[int, list[str]] = {}

    def make(k: int) -> None:
        out[k] = [new_id() for _ in range(3000)]

    threads = [threading.Thread(target=make, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [i for seq in out.values() for i in seq]
    assert len(set(every)) == len(every) == 18_000
    assert all(seq == sorted(seq) for seq in out.values())
