"""Hash-chained log vs a plain audit table: what does tamper evidence cost?

Peer: the table a shop would otherwise write (same payload, same database, one INSERT per event,
no chain). Prints appends/s (one event per transaction, and batches of 100) and verify rows/s,
on SQLite (WAL) and PostgreSQL (set TRUSTCART_BENCH_PG_URL or the local `test` database).

A second table, when VERIFY_N is given, times ``verify`` over a log of VERIFY_N events (appended
in batches of 1,000), the scale at which an auditor re-checks a year of consent evidence.

    .venv/bin/python bench/ledger.py [N] [VERIFY_N]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import uuid

from sqlalchemy import Column, Integer, MetaData, String, Table, Text, create_engine, text

from trustcart.store import Store, canonical_json

N = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
VERIFY_N = int(sys.argv[2]) if len(sys.argv) > 2 else 0
PG = os.environ.get("TRUSTCART_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PAYLOAD = {
    "subject": "p_3f9a1c0d7e2b4a55",
    "purpose": "personalize.profiling",
    "granted": True,
    "mechanism": "preference_center",
    "notice": "sha256:" + "ab" * 32,
    "jurisdiction": "EU",
    "categories": ["user.behavior.purchase_history", "user.behavior.browsing_history"],
}


def rate(n: int, seconds: float) -> float:
    return n / seconds if seconds else float("inf")


def bench_chain(store: Store) -> tuple[float, float, float]:
    log = store.log("bench")
    t = time.perf_counter()
    for i in range(N):
        log.append({**PAYLOAD, "i": i})
    single = rate(N, time.perf_counter() - t)
    t = time.perf_counter()
    for start in range(0, N, 100):
        log.append_many([{**PAYLOAD, "i": i} for i in range(start, start + 100)])
    batched = rate(N, time.perf_counter() - t)
    t = time.perf_counter()
    result = log.verify()
    assert result.ok
    verify = rate(result.checked, time.perf_counter() - t)
    return single, batched, verify


def bench_verify(store: Store, n: int) -> tuple[float, float, float]:
    """Append ``n`` events in batches of 1,000, then verify the whole chain once."""
    log = store.log("bench_verify")
    t = time.perf_counter()
    for start in range(0, n, 1000):
        log.append_many([{**PAYLOAD, "i": i} for i in range(start, min(start + 1000, n))])
    append = rate(n, time.perf_counter() - t)
    t = time.perf_counter()
    result = log.verify()
    seconds = time.perf_counter() - t
    assert result.ok
    assert result.checked == n
    return append, seconds, rate(n, seconds)


def bench_plain(store: Store) -> tuple[float, float]:
    table = Table(
        "bench_plain",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("payload", Text),
        Column("note", String(10)),
    )
    table.create(store.engine)
    t = time.perf_counter()
    for i in range(N):
        with store.write() as conn:
            conn.execute(table.insert().values(payload=canonical_json({**PAYLOAD, "i": i})))
    single = rate(N, time.perf_counter() - t)
    t = time.perf_counter()
    for start in range(0, N, 100):
        with store.write() as conn:
            conn.execute(
                table.insert(),
                [
                    {"payload": canonical_json({**PAYLOAD, "i": i})}
                    for i in range(start, start + 100)
                ],
            )
    batched = rate(N, time.perf_counter() - t)
    return single, batched


def main() -> None:
    rows = []
    big: list[tuple[str, float, float, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        backends = [("sqlite", f"sqlite:///{tmp}/bench.db")]
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(PG)
        try:
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            backends.append(("postgresql", f"{PG}?options=-csearch_path%3D{schema}"))
        except Exception as exc:
            print(f"(PostgreSQL unavailable: {exc.__class__.__name__}; SQLite only)")
        for name, url in backends:
            store = Store.open(url)
            c_single, c_batch, verify = bench_chain(store)
            p_single, p_batch = bench_plain(store)
            rows.append((name, c_single, p_single, c_batch, p_batch, verify))
            if VERIFY_N:
                big.append((name, *bench_verify(store, VERIFY_N)))
            store.close()
        if len(backends) > 1:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    print(f"\nHash-chained log vs plain audit table, N={N} events of ~300 bytes")
    head = (
        "backend",
        "chain 1/tx",
        "plain 1/tx",
        "ratio",
        "chain 100/tx",
        "plain 100/tx",
        "ratio",
        "verify rows/s",
    )
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for name, cs, ps, cb, pb, v in rows:
        print(
            f"| {name} | {cs:,.0f}/s | {ps:,.0f}/s | {cs / ps:.2f}x | {cb:,.0f}/s | {pb:,.0f}/s "
            f"| {cb / pb:.2f}x | {v:,.0f} |"
        )
    if big:
        print(f"\nVerify at scale: one log of {VERIFY_N:,} events, appended 1,000 per transaction")
        print("| backend | append events/s | verify s | verify rows/s |")
        print("|---|---|---|---|")
        for name, append, seconds, per_s in big:
            print(f"| {name} | {append:,.0f}/s | {seconds:.1f} | {per_s:,.0f} |")


if __name__ == "__main__":
    main()
