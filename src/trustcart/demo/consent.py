"""Demo step: StyleSense customers make consent choices through every mechanism.

Synthetic and seeded (the same run gives the same ledger), labelled as such. It shows what the
consent model does with each mechanism per jurisdiction: an implied banner counts in California
(opt-out model) and not in the EU (GDPR Art. 4(11)); a GPC signal opts a Californian out of
sharing and targeted offers; a withdrawal ends a permission at once.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from trustcart.consent import (
    ConsentEventIn,
    ConsentService,
    build_proof,
    consent_rates,
    datamap_notice,
    proof_html,
    register_notice,
)
from trustcart.workspace import Workspace

Echo = Callable[[str], None]
# Where StyleSense's (synthetic) customers live.
JURISDICTIONS = (("EU", 0.6), ("US-CA", 0.25), ("BR", 0.15))
OPTIONAL = ("personalization", "targeted_offers", "email_marketing", "dynamic_pricing", "analytics")


@dataclass
class ConsentDemo:
    """What the step recorded."""

    events: int
    customers: int
    proof: Path | None


def _customer_events(rng: random.Random, i: int, notice: str) -> list[ConsentEventIn]:
    subject = f"stylesense-customer-{i:05d}"
    j = rng.choices([c for c, _ in JURISDICTIONS], [w for _, w in JURISDICTIONS])[0]
    out = []
    # Sign-up: a consent checkbox for some optional purposes.
    chosen = [p for p in OPTIONAL if rng.random() < 0.55]
    if chosen:
        out.append(
            ConsentEventIn(
                subject=subject,
                purposes=chosen,
                decision="granted",
                mechanism="opt_in_checkbox",
                jurisdiction=j,
                notice_version=notice,
                channel="signup",
            )
        )
    refused = [p for p in OPTIONAL if p not in chosen]
    if refused:
        out.append(
            ConsentEventIn(
                subject=subject,
                purposes=refused,
                decision="denied",
                mechanism="opt_in_checkbox",
                jurisdiction=j,
                channel="signup",
            )
        )
    roll = rng.random()
    if roll < 0.15:  # later, "continue browsing" on a banner
        out.append(
            ConsentEventIn(
                subject=subject,
                purposes=["analytics"],
                decision="granted",
                mechanism="implied_banner",
                jurisdiction=j,
                notice_version=notice,
                channel="web",
            )
        )
    elif roll < 0.25 and chosen:  # changes their mind in the preference center
        out.append(
            ConsentEventIn(
                subject=subject,
                purposes=[chosen[0]],
                decision="withdrawn",
                mechanism="preference_center",
                jurisdiction=j,
                channel="web",
            )
        )
    elif roll < 0.32:  # a just-in-time notice next to the size-advice form
        out.append(
            ConsentEventIn(
                subject=subject,
                purposes=["personalization"],
                decision="granted",
                mechanism="just_in_time",
                jurisdiction=j,
                notice_version=notice,
                channel="web",
            )
        )
    elif roll < 0.40 and j == "US-CA":  # browser sends Global Privacy Control
        out.append(
            ConsentEventIn(
                subject=subject,
                purposes=["targeted_offers"],
                decision="denied",
                mechanism="gpc_signal",
                jurisdiction=j,
                channel="web",
            )
        )
    return out


def run_consent_step(
    ws: Workspace, reports: Path, echo: Echo, *, customers: int = 3000, seed: int = 20261125
) -> ConsentDemo:
    """Record the customers' choices (once per workspace) and summarise them."""
    svc = ConsentService(ws)
    notice = register_notice(ws.store, **datamap_notice(svc.datamap))
    svc.reload()
    already = len(ws.store.log("consent"))
    if already:
        echo(f"    consent ledger already holds {already:,} events (kept; the demo adds none)")
    else:
        rng = random.Random(seed)  # noqa: S311 - seeded synthetic data, not a secret
        batch: list[ConsentEventIn] = []
        for i in range(customers):
            batch += _customer_events(rng, i, notice.version)
        for start in range(0, len(batch), 1000):
            svc.record_many(batch[start : start + 1000])
        echo(
            f"    {customers:,} synthetic customers, {len(ws.store.log('consent')):,} consent "
            f"events (notice {notice.version[:16]})"
        )
    rates: dict[tuple[str, str], list[int]] = {}
    for row in consent_rates(ws.store):
        agg = rates.setdefault((row["jurisdiction"], row["mechanism"]), [0, 0, 0])
        agg[0] += row["events"]
        agg[1] += row["granted"]
        agg[2] += row["invalid"]
    echo("    jurisdiction  mechanism           events  granted  not valid")
    for (j, m), (n, g, bad) in sorted(rates.items()):
        echo(f"    {j:<13} {m:<18} {n:>7,}  {g:>7,}  {bad:>7,}")
    # One customer's story, as the gateway will ask it.
    subject = "stylesense-customer-00042"
    for purpose in ("personalization", "order_fulfilment"):
        p = svc.may_use(subject, purpose)
        echo(f"    may_use({subject}, {purpose}): {'yes' if p.allowed else 'no'} — {p.reason}")
    proof = reports / "consent-proof-00042.html"
    proof.write_text(proof_html(build_proof(svc, subject)))
    return ConsentDemo(len(ws.store.log("consent")), customers, proof)
