"""Demo step: StyleSense customers make consent choices through every mechanism.

Synthetic and seeded (the same run gives the same ledger), labelled as such. It shows what the
consent model does with each mechanism per jurisdiction: an implied banner counts in California
(opt-out model) and not in the EU (GDPR Art. 4(11)); a GPC signal opts a Californian out of
sharing and targeted offers; a withdrawal ends a permission at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trustcart.consent import (
    ConsentEventIn,
    ConsentService,
    build_proof,
    consent_rates,
    datamap_notice,
    proof_html,
    register_notice,
)
from trustcart.demo.stores import customer_id
from trustcart.workspace import Workspace

Echo = Callable[[str], None]
_BATCH = 5000
_PROGRESS_EVERY = 5.0  # seconds between progress lines
OPTIONAL = ("personalization", "targeted_offers", "email_marketing", "dynamic_pricing", "analytics")


@dataclass
class ConsentDemo:
    """What the step recorded."""

    events: int
    customers: int
    proof: Path | None


def _events(
    rng: np.random.Generator, jurisdictions: Sequence[str], notice: str
) -> list[ConsentEventIn]:
    """Each customer's choices, the random draws made for all customers at once."""
    n = len(jurisdictions)
    chosen = rng.random((n, len(OPTIONAL))) < 0.55
    roll = rng.random(n)
    out: list[ConsentEventIn] = []
    for i in range(n):
        subject = customer_id(i + 1)
        j = jurisdictions[i]
        picked = [p for p, c in zip(OPTIONAL, chosen[i], strict=True) if c]
        refused = [p for p, c in zip(OPTIONAL, chosen[i], strict=True) if not c]
        # Sign-up: a consent checkbox for some optional purposes.
        if picked:
            out.append(
                ConsentEventIn(
                    subject=subject,
                    purposes=picked,
                    decision="granted",
                    mechanism="opt_in_checkbox",
                    jurisdiction=j,
                    notice_version=notice,
                    channel="signup",
                )
            )
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
        r = roll[i]
        if r < 0.15:  # later, "continue browsing" on a banner
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
        elif r < 0.25 and picked:  # changes their mind in the preference center
            out.append(
                ConsentEventIn(
                    subject=subject,
                    purposes=[picked[0]],
                    decision="withdrawn",
                    mechanism="preference_center",
                    jurisdiction=j,
                    channel="web",
                )
            )
        elif r < 0.32:  # a just-in-time notice next to the size-advice form
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
        elif r < 0.40 and j == "US-CA":  # browser sends Global Privacy Control
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
    ws: Workspace, reports: Path, echo: Echo, jurisdictions: Sequence[str], *, seed: int
) -> ConsentDemo:
    """Record the choices of the customers (``jurisdictions[i]`` is where customer ``i + 1``
    lives) once per workspace, in batches with a progress line, and summarise them."""
    customers = len(jurisdictions)
    svc = ConsentService(ws)
    notice = register_notice(ws.store, **datamap_notice(svc.datamap))
    svc.reload()
    already = len(ws.store.log("consent"))
    if already:
        echo(f"    consent ledger already holds {already:,} events (kept; the demo adds none)")
    else:
        batch = _events(np.random.default_rng(seed), jurisdictions, notice.version)
        started = last = time.perf_counter()
        for start in range(0, len(batch), _BATCH):
            svc.record_many(batch[start : start + _BATCH])
            done = min(start + _BATCH, len(batch))
            if time.perf_counter() - last > _PROGRESS_EVERY or done == len(batch):
                last = time.perf_counter()
                echo(
                    f"    … {done:,}/{len(batch):,} consent choices recorded "
                    f"({done / max(last - started, 1e-9):,.0f}/s)"
                )
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
