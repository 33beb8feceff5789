"""Demo step: the StyleSense case — personalised prices, a disparity found, its proxy blocked.

The story of the seed: a pricing model learned from history that shoppers in some postcodes
(mostly minority neighbourhoods) paid more. Here a LightGBM pricing model is trained on such
synthetic history, serves prices through the gateway to shoppers who consented to dynamic
pricing, and the decision log is audited by neighbourhood (the gateway's fairness group, held
for auditing only and never given to the model). The proxy scan finds that ``postcode_band``
stands in for the neighbourhood; registering it in the gateway's blocklist removes it from every
later decision, and the same audit on the new decisions shows the gap closed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from trustcart.workspace import Workspace

if TYPE_CHECKING:
    from trustcart.gateway import DecisionModel

Echo = Callable[[str], None]
NEIGHBOURHOODS = ("north", "centre", "south")  # "south": the historically overcharged area


def _tolerance() -> Any:
    from trustcart.fairness import Thresholds

    # The shop's own tolerance for price gaps between neighbourhoods (3%): a business policy,
    # not a legal threshold; the library default (0.8) mirrors the four-fifths rule for rates.
    return Thresholds(mean_ratio=0.97)


TOLERANCE = _tolerance()


@dataclass
class FairnessDemo:
    """Mean price / list price per neighbourhood before and after the proxy is blocked."""

    before: dict[str, float] = field(default_factory=dict)
    after: dict[str, float] = field(default_factory=dict)
    ratio_before: float = 0.0
    ratio_after: float = 0.0
    proxies: list[str] = field(default_factory=list)
    findings_before: int = 0
    findings_after: int = 0
    audit_ids: list[str] = field(default_factory=list)


def history(n: int, seed: int) -> pd.DataFrame:
    """Synthetic pricing history: the south paid ~6% more, which postcodes reveal."""
    rng = np.random.default_rng(seed)
    area = rng.choice(len(NEIGHBOURHOODS), n, p=[0.45, 0.35, 0.20])
    band = np.clip(area * 2 + rng.integers(0, 2, n), 0, 5)  # postcodes cluster by area
    df = pd.DataFrame(
        {
            "loyalty_tier": rng.integers(0, 4, n).astype(float),
            "basket_size": rng.integers(1, 10, n).astype(float),
            "stock_level": rng.random(n),
            "postcode_band": band.astype(float),
            "neighbourhood": [NEIGHBOURHOODS[a] for a in area],
        }
    )
    df["adjustment"] = (
        -0.015 * df["loyalty_tier"]
        - 0.003 * df["basket_size"]
        + 0.04 * (0.5 - df["stock_level"])
        + 0.06 * (area == 2)
        + rng.normal(0, 0.005, n)
    )
    return df


def run_fairness_step(
    ws: Workspace, reports: Path, echo: Echo, *, shoppers: int = 600, seed: int = 11
) -> FairnessDemo:
    """Train, decide, audit, find the proxy, block it, decide again, audit again."""
    from trustcart.consent import ConsentEventIn, ConsentService, list_notices
    from trustcart.fairness import audit, detect_proxies, open_decisions, register_proxies
    from trustcart.fairness.store import save_audit
    from trustcart.gateway import DecisionRequest, FeatureSpec, Gateway, PriceGuardrails
    from trustcart.models import train_pricing

    out = FairnessDemo()
    features = [
        FeatureSpec("loyalty_tier", "dynamic_pricing", field="price_quotes.segment"),
        FeatureSpec("basket_size", "dynamic_pricing", ("user.behavior.purchase_history",)),
        FeatureSpec("stock_level", None, ("system.operations",)),
        FeatureSpec("postcode_band", "dynamic_pricing", ("user.contact.address.postal_code",)),
    ]
    past = history(4000, seed)
    data = ws.root / "shop-data"
    data.mkdir(exist_ok=True)
    past.to_parquet(data / "pricing_history.parquet", index=False)
    model = train_pricing(past, features, target="adjustment", rounds=60, name="pricing")
    echo(f"    pricing model {model.name} v{model.version} trained on {len(past):,} past quotes")

    consent = ConsentService(ws, max_staleness=0)
    notice = list_notices(ws.store)[-1].version
    now = history(shoppers, seed + 1)
    ids = [f"stylesense-shopper-{i:05d}" for i in range(shoppers)]
    consent.record_many(
        [
            ConsentEventIn(
                subject=s,
                purposes=["dynamic_pricing"],
                decision="granted",
                mechanism="opt_in_checkbox",
                jurisdiction="EU",
                notice_version=notice,
                channel="demo",
            )
            for s in ids
        ]
    )
    gw = Gateway(
        ws,
        consent=consent,
        price_guardrails=PriceGuardrails(group_key="neighbourhood"),
        max_staleness=0,
    )
    gw.register("price", cast("DecisionModel", model))

    def decide_and_audit(label: str, names: list[str]) -> tuple[dict[str, float], float, int]:
        # the shop sends what the served model declares, plus the fairness group (guardrails
        # and audits only; never given to the model)
        reqs = [
            DecisionRequest(
                "price",
                s,
                {
                    **{k: row[k] for k in names},
                    "neighbourhood": row["neighbourhood"],
                },
                jurisdiction="EU",
                list_price="50.00",
            )
            for s, (_, row) in zip(ids, now.iterrows(), strict=True)
        ]
        gw.decide_many(reqs)
        src = open_decisions(ws.store, "decisions:price")
        # only this round's decisions: the newest `shoppers` rows
        t = src.table
        t = t.order_by(t.created_at.desc()).limit(shoppers)
        r = audit(
            t,
            ["fairness_group"],
            "price_ratio",
            "continuous",
            min_group_size=20,
            favourable="lower",
            thresholds=TOLERANCE,
        )
        out.audit_ids.append(save_audit(ws.store, r))
        means = {c.group["fairness_group"]: float(c.metrics["mean"]) for c in r.groups}
        ratio = min(means.values()) / max(means.values())
        echo(
            f"    {label}: mean price / list price by neighbourhood "
            + ", ".join(f"{k} {v:.3f}" for k, v in sorted(means.items()))
            + f"; min/max {ratio:.3f}; {len(r.findings)} finding(s)"
        )
        for f in r.findings[:2]:
            echo(f"      {f.severity.upper()}: {f.message}")
        return means, ratio, len(r.findings)

    out.before, out.ratio_before, out.findings_before = decide_and_audit(
        "before", [f.name for f in features]
    )
    report = detect_proxies(
        data / "pricing_history.parquet",
        "neighbourhood",
        ["postcode_band", "loyalty_tier", "basket_size", "stock_level"],
    )
    scan_id = save_audit(ws.store, report)
    out.proxies = register_proxies(ws.store, report, scan_id)
    strongest = report.proxies[0] if report.proxies else None
    echo(
        f"    proxy scan: {', '.join(out.proxies) or 'none'} stands in for the neighbourhood"
        + (f" (Cramér's V {strongest.cramers_v:.2f})" if strongest and strongest.cramers_v else "")
        + " → registered in the gateway blocklist"
    )
    gw.reload()
    # the gateway now drops postcode_band from every decision; the model is also retrained
    # without it, so the version it serves no longer depends on the proxy at all
    kept = [f for f in features if f.name not in out.proxies]
    model = train_pricing(past, kept, target="adjustment", rounds=60, name="pricing")
    gw.register("price", cast("DecisionModel", model))
    echo(f"    retrained {model.name} v{model.version} without it")
    out.after, out.ratio_after, out.findings_after = decide_and_audit(
        "after ", [f.name for f in kept]
    )
    gw.close()
    return out
