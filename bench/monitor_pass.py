"""One monitoring pass over a large decision log: TrustCart vs pandas on the same windows.

Plants N offer decisions (default 1,000,000) evenly over 60 days in a fresh SQLite workspace
(written straight into the ``decisions`` copy table — the monitor reads only that table; going
through the hash chain would time the ledger, see bench/ledger.py), declares a 7-day / 1-day
monitor (disparate-impact threshold + change detection on the selection rate, 3 groups), and
times:

- **backfill**: the first ``trustcart monitor run`` — every complete window (54), each a full
  audit (Wilson CIs, z-tests, Holm) plus the change test, stored with its values;
- **incremental**: one more day of decisions, then the next pass (1 window: what an hourly or
  daily cron job does);
- **pandas**: ``read_sql`` of the same rows (JSON field extracted by SQLite) and a ``groupby``
  per window of the same counts and rates — no CIs, tests or storage (a lower bound of the work).

    .venv/bin/python bench/monitor_pass.py [N] [--postgres URL]

With ``--postgres`` the workspace lives in PostgreSQL, whose windows are aggregated in the
database (pandas then reads from PostgreSQL).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import yaml
from sqlalchemy import insert, text

START = datetime(2026, 6, 1, tzinfo=UTC)
DAYS = 60
GROUPS = np.array(["EU", "US-CA", "BR"])
MONITOR = {
    "name": "offers",
    "source": "decisions:offer",
    "groups": ["jurisdiction"],
    "outcome": "offered",
    "kind": "binary",
    "window": "7d",
    "step": "1d",
    "backfill": "90d",
    "metrics": [
        {"metric": "disparate_impact_ratio", "min": 0.8},
        {"metric": "selection_rate", "change": {"alpha": 0.001, "min_change": 0.05}},
    ],
}


def plant(ws: object, n: int, first_day: int, days: int, seed: int) -> None:
    """``n`` offer decisions spread uniformly over ``days`` days from ``first_day``."""
    from trustcart.ids import new_id
    from trustcart.store.tables import DecisionRow, table_of

    rng = np.random.default_rng(seed)
    rows_t = table_of(DecisionRow)
    store = ws.store  # type: ignore[attr-defined]
    with store.read() as conn:
        seq0 = conn.execute(text("SELECT COALESCE(MAX(seq), 0) FROM decisions")).scalar_one()
    batch = 50_000
    for lo in range(0, n, batch):
        m = min(batch, n - lo)
        offs = rng.uniform(first_day * 86400, (first_day + days) * 86400, m)
        g = rng.integers(0, 3, m)
        made = rng.random(m) < np.where(g == 2, 0.42, 0.5)
        values = [
            {
                "id": new_id("dec_"),
                "seq": int(seq0 + lo + i + 1),
                "subject": f"ps_{i % 1000:04d}",
                "kind": "offer",
                "model": "offer-ref",
                "model_version": "1",
                "jurisdiction": str(GROUPS[g[i]]),
                "personalised": True,
                "group": None,
                "output": orjson.dumps(
                    {"offer": "WELCOME10" if made[i] else None, "score": 0.5}
                ).decode(),
                "latency_us": 100,
                "created_at": START + timedelta(seconds=float(offs[i])),
            }
            for i in range(m)
        ]
        with store.write() as conn:
            conn.execute(insert(rows_t), values)


def pandas_pass(ws: object, now: datetime, windows: int) -> float:
    """The peer: read the rows the pass needs, then per-window group rates with pandas."""
    store = ws.store  # type: ignore[attr-defined]
    first_end = now.replace(hour=0, minute=0, second=0, microsecond=0)
    since = first_end - timedelta(days=windows - 1 + 7 + 7)
    t0 = time.perf_counter()
    extract = (
        "output::json->>'offer'"
        if store.dialect == "postgresql"
        else "json_extract(output, '$.offer')"
    )
    with store.engine.connect() as conn:
        frame = pd.read_sql(
            text(
                f"SELECT created_at, jurisdiction, {extract} AS offer FROM decisions "
                "WHERE kind = 'offer' AND created_at >= :since"
            ),
            conn,
            params={
                "since": since if store.dialect == "postgresql" else since.replace(tzinfo=None)
            },
        )
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    frame["offered"] = frame["offer"].notna().astype("int8")
    for k in range(windows):
        end = first_end - timedelta(days=windows - 1 - k)
        part = frame[(frame.created_at >= end - timedelta(days=7)) & (frame.created_at < end)]
        rates = part.groupby("jurisdiction").offered.agg(["count", "mean"])
        _ = rates["mean"] / rates["mean"].max()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("n", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--postgres", default=None, help="PostgreSQL URL for the workspace")
    args = parser.parse_args()

    from trustcart.config import init_workspace
    from trustcart.monitoring import run_monitors
    from trustcart.workspace import Workspace

    tmp = Path(tempfile.mkdtemp(prefix="tc-bench-monitor-"))
    root = init_workspace(tmp / "ws")
    if args.postgres:
        import os

        os.environ["TRUSTCART_DATABASE_URL"] = args.postgres
    with Workspace.open(root) as ws:
        per_day = args.n // DAYS
        t0 = time.perf_counter()
        plant(ws, per_day * DAYS, 0, DAYS, seed=1)
        planted = time.perf_counter() - t0
        (root / "monitors.yaml").write_text(yaml.safe_dump({"monitors": [MONITOR]}))
        now = START + timedelta(days=DAYS, minutes=10)

        t0 = time.perf_counter()
        first = run_monitors(ws, now=now)
        backfill = time.perf_counter() - t0
        peer_backfill = pandas_pass(ws, now, len(first.windows))

        plant(ws, per_day, DAYS, 1, seed=2)
        later = now + timedelta(days=1)
        t0 = time.perf_counter()
        second = run_monitors(ws, now=later)
        incremental = time.perf_counter() - t0
        peer_incremental = pandas_pass(ws, later, len(second.windows))

        backend = ws.store.dialect
    print(
        f"{per_day * DAYS:,} decisions over {DAYS} days in {backend} (planted in {planted:.1f} s); "
        "monitor 7d window / 1d step, 3 groups, threshold + change rules"
    )
    print("| pass | windows | TrustCart (s) | per window (ms) | pandas (s) | TrustCart / pandas |")
    print("|---|---|---|---|---|---|")
    for name, runs, ours, peer in (
        ("backfill (first run)", len(first.windows), backfill, peer_backfill),
        ("incremental (next day)", len(second.windows), incremental, peer_incremental),
    ):
        print(
            f"| {name} | {runs} | {ours:.2f} | {1000 * ours / max(runs, 1):.0f} | "
            f"{peer:.2f} | {ours / peer:.2f}x |"
        )


if __name__ == "__main__":
    main()
