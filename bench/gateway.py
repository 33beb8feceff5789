"""Decision gateway: governance overhead per decision and decisions/s with durable logging.

Governance overhead = ``Gateway.prepare`` (jurisdiction, per-feature consent check, protected/
proxy gates, guardrails, disclosure, record building) minus the model call inside it, measured
per decision against the bare model call (LightGBM one-row predict). Target: ≤ 0.3 ms median.
Throughput: ``decide`` (returns after the commit) with synchronous commits, with group commit
from 1 and from 8 threads, and ``decide_many`` in batches of 100; SQLite (WAL, NORMAL).
Crypto-shredding: the per-decision cost of keying by the vault token and sealing the personal
part (memoised key + AES-GCM), a new subject's first key (one extra commit), and an erasure.

    .venv/bin/python bench/gateway.py [N]
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import orjson

os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from _gateway_fixtures import PRICE_FEATURES, training_frame  # noqa: E402
from trustcart.catalog import load_manifest  # noqa: E402
from trustcart.catalog.repository import save_datamap  # noqa: E402
from trustcart.config import init_workspace  # noqa: E402
from trustcart.consent import (  # noqa: E402
    ConsentEventIn,
    ConsentService,
    datamap_notice,
    register_notice,
)
from trustcart.gateway import DecisionRequest, Gateway  # noqa: E402
from trustcart.models import train_pricing  # noqa: E402
from trustcart.workspace import Workspace  # noqa: E402

SUBJECTS = 1000
CTX = {"loyalty_tier": 2, "basket_size": 4, "stock_level": 0.4, "gender": 1, "postcode_band": 3}


class Timed:
    """Wraps a model and records the duration of each predict (to subtract it)."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.name, self.version, self.features = model.name, model.version, model.features
        self.training_sha256 = model.training_sha256
        self.last = 0

    def predict(self, features: Any, candidates: Any = None) -> Any:
        t = time.perf_counter_ns()
        out = self.model.predict(features)
        self.last = time.perf_counter_ns() - t
        return out


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def setup(root: Path) -> tuple[Workspace, ConsentService]:
    ws = Workspace.open(init_workspace(root / "ws"))
    save_datamap(ws.store, load_manifest(ROOT / "examples" / "shop.yaml"))
    svc = ConsentService(ws)
    notice = register_notice(ws.store, **datamap_notice(svc.datamap))
    svc.reload()
    svc.record_many(
        [
            ConsentEventIn(
                subject=f"c-{i}",
                purposes=["dynamic_pricing"],
                decision="granted",
                mechanism="opt_in_checkbox",
                jurisdiction="EU",
                notice_version=notice.version,
            )
            for i in range(SUBJECTS)
        ]
    )
    return ws, svc


def main(n: int) -> None:
    rows: list[tuple[str, str]] = []
    model = train_pricing(training_frame(2000), PRICE_FEATURES, rounds=50)
    with tempfile.TemporaryDirectory() as tmp:
        ws, svc = setup(Path(tmp))
        timed = Timed(model)
        gw = Gateway(ws, consent=svc, commit="sync")
        gw.register("price", timed)
        # warm caches (policies, pseudonyms, gates)
        for i in range(SUBJECTS):
            gw.prepare(DecisionRequest("price", f"c-{i}", CTX, None, "EU", "49.90"))
        bare, over, total = [], [], []
        for i in range(n):
            t = time.perf_counter_ns()
            model.predict(CTX)
            bare.append((time.perf_counter_ns() - t) / 1000)
            t = time.perf_counter_ns()
            gw.prepare(DecisionRequest("price", f"c-{i % SUBJECTS}", CTX, None, "EU", "49.90"))
            el = time.perf_counter_ns() - t
            total.append(el / 1000)
            over.append((el - timed.last) / 1000)
        rows += [
            (
                "bare model call (LightGBM predict, 1 row) median / p99 µs",
                f"{statistics.median(bare):.1f} / {pct(bare, 0.99):.1f}",
            ),
            (
                "governance overhead (prepare − model) median / p99 µs",
                f"{statistics.median(over):.1f} / {pct(over, 0.99):.1f}",
            ),
            (
                "prepare incl. model median / p99 µs",
                f"{statistics.median(total):.1f} / {pct(total, 0.99):.1f}",
            ),
        ]

        def rate(label: str, g: Gateway, threads: int, count: int) -> None:
            per = count // threads

            def work(k: int) -> None:
                for i in range(per):
                    g.decide(
                        "price",
                        f"c-{(k * per + i) % SUBJECTS}",
                        CTX,
                        None,
                        "EU",
                        list_price="49.90",
                    )

            before = g.log.batches
            ts = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
            t0 = time.perf_counter()
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            el = time.perf_counter() - t0
            commits = g.log.batches - before
            rows.append(
                (label, f"{per * threads / el:,.0f} /s ({per * threads / commits:.1f} per commit)")
            )

        rate("decide, sync commit, 1 thread", gw, 1, n)
        gw.close()
        gg = Gateway(ws, consent=svc, commit="group")
        gg.register("price", model)
        rate("decide, group commit, 1 thread", gg, 1, n)
        rate("decide, group commit, 8 threads", gg, 8, n)
        gg.close()
        gm = Gateway(ws, consent=svc, commit="group", max_wait_ms=2)
        gm.register("price", model)
        rate("decide, group commit (2 ms window), 8 threads", gm, 8, n)
        reqs = [
            DecisionRequest("price", f"c-{i % SUBJECTS}", CTX, None, "EU", "49.90")
            for i in range(n)
        ]
        t0 = time.perf_counter()
        for k in range(0, n, 100):
            gm.decide_many(reqs[k : k + 100])
        rows.append(("decide_many, batches of 100", f"{n / (time.perf_counter() - t0):,.0f} /s"))
        ids = [r["id"] for r in gm.for_subject("c-1", limit=50)]
        t0 = time.perf_counter()
        for i in ids:
            gm.explanation(i)
        first = (time.perf_counter() - t0) / len(ids) * 1000
        t0 = time.perf_counter()
        for i in ids:
            gm.explanation(i)
        cached = (time.perf_counter() - t0) / len(ids) * 1000
        rows.append(("explanation first request / cached, ms", f"{first:.2f} / {cached:.2f}"))
        personal = gm.prepare(DecisionRequest("price", "c-1", CTX, None, "EU", "49.90")).personal()
        seal = []
        for i in range(n):
            t = time.perf_counter_ns()
            gm.keys.token(f"c-{i % SUBJECTS}")
            gm.keys.seal(f"c-{i % SUBJECTS}", personal)
            seal.append((time.perf_counter_ns() - t) / 1000)
        rows.append(
            (
                "crypto-shredding per decision: token + seal (memoised key, AES-GCM) median µs",
                f"{statistics.median(seal):.1f} ({len(orjson.dumps(personal))}-byte personal part)",
            )
        )
        erase, first = [], []
        for i in range(20):
            t = time.perf_counter()
            report = gm.shred_subject(f"c-{i}")
            erase.append((time.perf_counter() - t) * 1000)
            assert report.key_existed
            assert report.rows_unlinkable > 0
            t = time.perf_counter()
            gm.decide("price", f"c-{i}", CTX, None, "EU", list_price="49.90")
            first.append((time.perf_counter() - t) * 1000)
        per = report.unlinkable["decisions"]
        rows.append(
            (
                f"erase one subject (key + hook, ~{per} decisions) median ms",
                f"{statistics.median(erase):.2f}",
            )
        )
        rows.append(
            (
                "first decision of a (returning) subject: key created + committed, median ms",
                f"{statistics.median(first):.2f}",
            )
        )
        chain, copies = gm.log.verify()
        t0 = time.perf_counter()
        rows.append(
            (
                "log verified (chain + copies)",
                f"{chain.ok and copies.ok}, {chain.checked:,} entries",
            )
        )
        gm.close()
        ws.close()
    print(f"\n### Decision gateway, N={n} (SQLite WAL, synchronous=NORMAL)\n")
    print("| measure | value |\n| --- | --- |")
    for k, v in rows:
        print(f"| {k} | {v} |")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000)
