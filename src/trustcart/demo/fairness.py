"""Demo step: a fairness audit of the shop's targeted offers, stored as evidence.

The offers log is synthetic (seeded): one row per customer shown the loyalty-offer model's
answer, with an age band and a planted gap (customers aged 65+ get fewer offers), so the
stored audit has a real finding for the dashboard and the compliance scan to show.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from trustcart.workspace import Workspace

Echo = Callable[[str], None]

#: Offer rate per age band in the synthetic log (65+ gets about 60% of the others' rate).
OFFER_RATES = {"18-34": 0.32, "35-49": 0.30, "50-64": 0.28, "65+": 0.18}


def offers_log(path: Path, *, customers: int, seed: int) -> Path:
    """Write the synthetic offers log (Parquet) and return its path."""
    rng = random.Random(seed)  # noqa: S311 - reproducible synthetic data, not a secret
    bands = list(OFFER_RATES)
    band = [rng.choice(bands) for _ in range(customers)]
    offered = [int(rng.random() < OFFER_RATES[b]) for b in band]
    region = [rng.choice(["north", "south", "east", "west"]) for _ in range(customers)]
    table = pa.table({"age_band": band, "region": region, "offered": offered})
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return path


def run_fairness_step(
    ws: Workspace, reports: Path, echo: Echo, *, customers: int = 3000, seed: int = 20261125
) -> str:
    """Audit the offer rate by age band, store it, write its HTML report; returns its id."""
    from trustcart.fairness import audit
    from trustcart.fairness.report import to_html
    from trustcart.fairness.store import save_audit

    path = offers_log(ws.root / "shop-data" / "offers.parquet", customers=customers, seed=seed)
    result = audit(path, ["age_band"], "offered", "binary")
    audit_id = save_audit(ws.store, result)
    (reports / "fairness-offers.html").write_text(to_html(result))
    rates = ", ".join(
        f"{c.group['age_band']} {float(c.metrics['selection_rate']):.0%}" for c in result.reported
    )
    echo(f"    offer rate by age band: {rates}")
    echo(f"    {len(result.findings)} finding(s); stored as {audit_id}")
    return audit_id
