"""Data-subject rights at scale: erase one subject and build one access package, 1M subjects.

The example shop's stores (``trustcart.demo.stores``) with N customers (default 1,000,000):
SQLite tables customers (N), orders (2N), fit_profiles (N), price_quotes (N) with indexes on
the identity columns, a Parquet event export of 3N rows in 256 files (one contiguous customer
range per file), a newsletter CSV of N/3 rows. Timed per store and end to end:

- erase one subject in each store (the connector's own work), then the whole
  ``RightsService.run`` of a verified erasure (identity linking, every store, the verification
  scan over every store, the certificate and log writes). Targets: < 50 ms excluding webhooks;
- the whole ``run`` of an access request (search every store, package as JSON + CSV zip + HTML).
  Target: < 1 s.

Peer: what a shop would otherwise run by hand — pandas reading the CSV and Parquet export to
filter the person out and write them back (the SQL part is the same DELETE either way).

    .venv/bin/python bench/rights.py [N]
"""

from __future__ import annotations

import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from trustcart.catalog import DataMap, load_manifest
from trustcart.catalog.repository import save_datamap
from trustcart.config import init_workspace
from trustcart.demo.stores import build_shop_stores, customer_id, email
from trustcart.rights import RequestIn, RightsService
from trustcart.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]
N = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
FILES = 256
REPEAT = 5


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="tc-bench-rights-"))
    ws = Workspace.open(init_workspace(tmp / "ws"))
    t0 = time.perf_counter()
    os.environ["SHOP_DB_URL"] = f"sqlite:///{ws.root / 'shop-data' / 'shop.db'}"
    build_shop_stores(ws.root, customers=N, seed=1, event_files=FILES)
    print(f"stores for {N:,} customers built in {time.perf_counter() - t0:.0f} s")
    # the target excludes webhooks: the analytics vendor's connector is left out
    raw = load_manifest(ROOT / "examples" / "shop.yaml").model_dump(
        by_alias=True, exclude_none=True
    )
    for d in raw["datasets"]:
        if d.get("connector", {}).get("type") == "webhook":
            del d["connector"]
    save_datamap(ws.store, DataMap.model_validate(raw))
    svc = RightsService(ws)
    connectors, _ = svc.connectors()

    def verified(kind: str, i: int) -> str:
        req, _ = svc.submit(RequestIn(type=kind, identifiers={"email": email(i)}))
        code = re.search(r"\b(\d{6})\b", svc.outbox.messages(req.id)[0].body)
        assert code
        svc.verify(req.id, code.group(1))
        return req.id

    # 1. each store's own erase, for REPEAT different subjects (median)
    per_store: dict[str, list[float]] = {}
    for k in range(REPEAT):
        i = 1 + (k + 1) * (N // (REPEAT + 2))
        ids = {"customer_id": frozenset({customer_id(i)}), "email": frozenset({email(i)})}
        for c in connectors:
            if c.kind == "trustcart":
                continue
            t = time.perf_counter()
            c.erase(ids)
            per_store.setdefault(c.key, []).append(time.perf_counter() - t)
    # 2. the whole erasure request (linking, every store, scan, certificate, log)
    runs = []
    for k in range(REPEAT):
        rid = verified("erasure", 3 + (k + 1) * (N // (REPEAT + 3)) // 3 * 3)
        t = time.perf_counter()
        req = svc.run(rid)
        runs.append(time.perf_counter() - t)
        assert req.status == "completed", req.result
    # 3. the whole access request
    access = []
    for k in range(REPEAT):
        rid = verified("access", 6 + k * 3)
        t = time.perf_counter()
        svc.run(rid)
        access.append(time.perf_counter() - t)

    # peer: pandas rewrites of the file stores for one subject
    csv = ws.root / "shop-data" / "newsletter.csv"
    part = sorted((ws.root / "shop-data" / "browsing").glob("*.parquet"))[FILES // 2]
    t = time.perf_counter()
    df = pd.read_csv(csv, dtype=str)
    df[df["email"] != email(300)].to_csv(csv, index=False)
    pandas_csv = time.perf_counter() - t
    t = time.perf_counter()
    events = pd.concat(pd.read_parquet(p) for p in part.parent.glob("*.parquet"))
    events[events["customer_id"] != customer_id(N // 2)]
    pandas_events = time.perf_counter() - t

    ms = {k: statistics.median(v) * 1000 for k, v in per_store.items()}
    print(f"\nerase one subject, per store (median of {REPEAT}), N = {N:,}")
    print(f"{'store':<22}{'ms':>10}")
    for k, v in ms.items():
        print(f"{k:<22}{v:>10.1f}")
    print(f"{'sum of stores':<22}{sum(ms.values()):>10.1f}   target < 50 ms")
    print(
        f"{'erasure request run':<22}{statistics.median(runs) * 1000:>10.1f}   "
        "(+ identity linking, verification scan of every store, certificate)"
    )
    print(f"{'access request run':<22}{statistics.median(access) * 1000:>10.1f}   target < 1000 ms")
    print("\npeer: pandas, the same file stores by hand")
    print(
        f"{'newsletter CSV':<22}{pandas_csv * 1000:>10.1f}   "
        f"ratio {pandas_csv * 1000 / ms['newsletter_audience']:.1f}x"
    )
    print(
        f"{'event export (read all)':<22}{pandas_events * 1000:>10.1f}   "
        f"ratio {pandas_events * 1000 / ms['browsing_events']:.1f}x"
    )
    ws.close()


if __name__ == "__main__":
    main()
