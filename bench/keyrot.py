"""Pseudonym key rotation: what a second live key costs the hot paths.

Measures, before and after `rotate_key` (SQLite workspace):
- ``candidates()`` for a subject not in the memo (the first lookup of a person in a process):
  1 key = one HMAC; 2 live keys = two HMACs + the link read (+ the link write the very first
  time anyone sees that person during the window);
- ``candidates()`` / ``pseudonym()`` memo hits;
- ``ConsentService.may_use`` warm (answer cache hit) and cold (first check of each subject).
Peer: a bare ``hmac.new(...).hexdigest()`` (the cost floor of one pseudonym).

    .venv/bin/python bench/keyrot.py [SUBJECTS]
"""

from __future__ import annotations

import hashlib
import hmac
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from trustcart.catalog import load_manifest
from trustcart.catalog.repository import save_datamap
from trustcart.consent import ConsentEventIn, ConsentService, datamap_notice, register_notice
from trustcart.privacy import Pseudonymizer, rotate_key
from trustcart.workspace import Workspace

SUBJECTS = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "shop.yaml"


def per_call_us(fn: Callable[[int], object], n: int) -> float:
    t = time.perf_counter()
    for i in range(n):
        fn(i)
    return (time.perf_counter() - t) / n * 1e6


def main() -> None:
    rows: list[tuple[str, float, float]] = []
    with tempfile.TemporaryDirectory() as tmp, Workspace.create(Path(tmp) / "ws") as ws:
        save_datamap(ws.store, load_manifest(EXAMPLE))
        svc = ConsentService(ws)
        notice = register_notice(ws.store, **datamap_notice(svc.datamap)).version
        svc.reload()
        for start in range(0, SUBJECTS, 500):
            svc.record_many(
                [
                    ConsentEventIn(
                        subject=f"c-{i}",
                        purposes=["personalization"],
                        decision="granted",
                        mechanism="opt_in_checkbox",
                        jurisdiction="EU",
                        notice_version=notice,
                    )
                    for i in range(start, min(start + 500, SUBJECTS))
                ]
            )
        key = ws.settings.pseudonym_key()
        floor = per_call_us(
            lambda i: hmac.new(key, f"c-{i}".encode(), hashlib.sha256).hexdigest(), SUBJECTS
        )

        def measure() -> dict[str, float]:
            p = Pseudonymizer.of(ws)
            out = {
                "candidates, first lookup": per_call_us(lambda i: p.candidates(f"c-{i}"), SUBJECTS)
            }
            out["candidates, memo hit"] = per_call_us(lambda i: p.candidates(f"c-{i}"), SUBJECTS)
            out["pseudonym, first call (HMAC)"] = per_call_us(
                lambda i: p.pseudonym(f"c-{i}"), SUBJECTS
            )
            out["pseudonym, memo hit"] = per_call_us(lambda i: p.pseudonym(f"c-{i}"), SUBJECTS)
            fresh = ConsentService(ws)
            out["may_use, cold subject"] = per_call_us(
                lambda i: fresh.may_use(f"c-{i}", "personalization", jurisdiction="EU"), SUBJECTS
            )
            out["may_use, warm"] = per_call_us(
                lambda i: fresh.may_use(f"c-{i}", "personalization", jurisdiction="EU"), SUBJECTS
            )
            return out

        one = measure()
        rotate_key(ws.settings, ws.store, window="30d")
        first_sight = Pseudonymizer.of(ws)  # links every subject: the first sighting anywhere
        link_write = per_call_us(lambda i: first_sight.candidates(f"c-{i}"), SUBJECTS)
        two = measure()  # a new process: links exist, read only
        check = ConsentService(ws)
        assert all(check.may_use(f"c-{i}", "personalization", jurisdiction="EU") for i in range(50))
        for name in one:
            rows.append((name, one[name], two[name]))
        rows.append(("candidates, first sighting (writes link)", one["candidates, first lookup"],
                     link_write))  # fmt: skip
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"### Pseudonym key rotation, {SUBJECTS} subjects (SQLite), microseconds per call")
    print(f"(load average at the end: {load})")
    print()
    print("| operation | 1 live key | 2 live keys | ratio |")
    print("|---|---:|---:|---:|")
    print(f"| peer: bare HMAC-SHA256 hexdigest | {floor:.2f} | | |")
    for name, a, b in rows:
        print(f"| {name} | {a:.2f} | {b:.2f} | {b / a:.2f}x |")


if __name__ == "__main__":
    main()
