"""Credit decisions: what the adverse-action reasons and the vulnerable-segment check cost.

``Gateway.prepare`` (everything but the log commit) per decision, median over N, for: an
approved credit request, a declined one (the reasons are computed at decision time from the
exact logistic attribution and mapped to statements), a blocked one (vulnerable segment: no
model call), and an offer decision with the same logistic arithmetic as the peer.

    .venv/bin/python bench/credit.py [N]
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from _credit_fixtures import (  # noqa: E402
    CREDIT_COLUMNS,
    PURPOSE,
    approve,
    credit_frame,
    financing_consent,
)
from trustcart.config import init_workspace  # noqa: E402
from trustcart.gateway import DecisionRequest, Gateway  # noqa: E402
from trustcart.models import train_model  # noqa: E402
from trustcart.workspace import Workspace  # noqa: E402

GOOD = {"orders_last_year": 12, "account_age_months": 50, "late_payments": 0,
        "returns_ratio": 0.1, "open_financing": 0}  # fmt: skip
POOR = {"orders_last_year": 0, "account_age_months": 2, "late_payments": 4,
        "returns_ratio": 0.9, "open_financing": 3}  # fmt: skip


def _median_us(gw: Gateway, kind: str, ctx: dict[str, Any], n: int) -> float:
    times = []
    for i in range(n):
        req = DecisionRequest(kind, f"s{i % 50}", ctx, list_price="120")
        t0 = time.perf_counter_ns()
        gw.prepare(req)
        times.append((time.perf_counter_ns() - t0) / 1000)
    return statistics.median(times)


def main(n: int) -> None:
    root = init_workspace(Path(tempfile.mkdtemp()) / "ws")
    ws = Workspace.open(root)
    svc = financing_consent(ws)
    _, path = credit_frame(root)
    features = [f"{c}=financing_history.{c}" for c in CREDIT_COLUMNS]
    trained = train_model(
        ws, "credit", path, target="repaid", features=features, purpose=PURPOSE, consent=svc
    )
    approve(ws, trained.record.name, trained.record.version)
    with Gateway(ws, consent=svc, commit="sync") as gw:
        gw.register("credit", trained.model)
        gw.register("offer", trained.model, serve=True, version="as-offer")
        rows = [
            ("credit approved", _median_us(gw, "credit", GOOD, n)),
            ("credit declined + 4 reasons", _median_us(gw, "credit", POOR, n)),
            ("credit blocked (is_minor)", _median_us(gw, "credit", {**GOOD, "is_minor": True}, n)),
            ("offer, same logistic model (peer)", _median_us(gw, "offer", GOOD, n)),
        ]
    ws.close()
    peer = rows[-1][1]
    print(f"{'prepare() per decision, median over ' + str(n):<40} {'µs':>8} {'× offer':>8}")
    for name, us in rows:
        print(f"{name:<40} {us:8.1f} {us / peer:8.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
