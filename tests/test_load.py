"""A short run of the load script (``bench/load.py``) on SQLite and PostgreSQL.

The real server (``trustcart serve --workers 2``) takes decisions and consent events at a low
steady rate for a few seconds over loopback. Asserted: no error answer at all (every request
answered 201), every acknowledged decision and consent event is in the store, the hash chains
and their copies verify, no worker restarted, and the workers' memory grew by less than a
generous bound. Nothing here asserts a latency or a throughput (the machine is shared): the
figures are the 2-minute run's, recorded in docs/reliability.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from load import run

pytestmark = pytest.mark.slow

#: Two workers each hold the app, a LightGBM model and caches (~300 MiB RSS on this machine);
#: a few seconds of load may fill caches, but growth beyond this would be a leak.
MAX_GROWTH_MIB = 64


def test_short_steady_load(db_url: str, tmp_path: Path) -> None:
    report = run(
        seconds=10,
        decision_rate=15,
        consent_rate=5,
        warmup=2,
        database_url=None if db_url.startswith("sqlite") else db_url,
        workdir=tmp_path,
    )
    decisions, consent = report.streams["decisions"], report.streams["consent"]
    assert report.errors == 0, {k: s["status"] for k, s in report.streams.items()}
    assert decisions["sent"] >= 100 and consent["sent"] >= 30  # the schedule was kept
    assert decisions["status"] == {"201": decisions["sent"]}
    assert consent["status"] == {"201": consent["sent"]}
    assert report.acknowledged["decisions"] >= decisions["sent"]  # warm-up included
    assert report.missing == {"decisions": 0, "consent": 0}
    assert report.chains_ok == {"decision log": True, "consent ledger": True}
    assert report.worker_restarts == 0
    assert len(report.rss_start_kb) == 2 and len(report.rss_end_kb) == 2
    assert report.rss_growth_kb < MAX_GROWTH_MIB * 1024 * 2
    expected = "postgresql" if db_url.startswith("postgresql") else "sqlite"
    assert report.backend == expected
