"""International transfers (GDPR Chapter V): every third-country transfer needs a basis."""

from __future__ import annotations

from collections.abc import Iterator

from trustcart.catalog.countries import country_name
from trustcart.compliance.registry import CheckContext, Issue, check

CHAPTER_V = (
    "GDPR Chapter V (Art. 45 adequacy decision, Art. 46 appropriate safeguards such as SCCs "
    "(Decision 2021/914) or BCRs (Art. 47), or an Art. 49 derogation)"
)


@check(
    "TC-TRF-001",
    area="transfers",
    title="Third-country transfer with no recorded safeguard",
    severity="medium",
    rule=CHAPTER_V,
    fix="Record the transfer's basis in `transfer_safeguard` (on the vendor, recipient or flow): "
    "the Art. 45 adequacy decision covering the destination (for the US, only organisations "
    "certified under the EU-US Data Privacy Framework), or Art. 46 SCCs (Decision 2021/914, "
    "with a transfer impact assessment per Schrems II C-311/18) or BCRs; stop the transfer if "
    "none applies.",
)
def transfer_without_safeguard(ctx: CheckContext) -> Iterator[Issue]:
    """Personal data leaving the EEA with no safeguard recorded. Medium, not high: the rule pack
    has no adequacy list yet, so the scanner cannot tell whether an Art. 45 decision already
    covers the destination; the finding asks for the basis to be recorded."""
    transfers = [t for t in ctx.datamap.transfers() if t.third_country and not t.safeguard]
    reported_systems = {t.key for t in transfers if t.kind in ("system", "vendor")}
    flows_into: dict[str, list[str]] = {}
    for t in transfers:
        if t.kind == "flow":
            flow = next((f for f in ctx.datamap.flows if f.key == t.key), None)
            if flow is not None and flow.target in reported_systems:
                flows_into.setdefault(flow.target, []).append(t.key)
    for t in transfers:
        if t.kind == "flow" and any(t.key in keys for keys in flows_into.values()):
            continue  # reported with the system it flows into
        kind = "system" if t.kind in ("system", "vendor") else t.kind
        where = f"{country_name(t.country)} ({t.country})"
        via = f" (via {t.kind} {t.key})" if t.kind == "vendor" else ""
        also = flows_into.get(t.key, [])
        extra = f" Flows into it: {', '.join(sorted(also))}." if also else ""
        yield Issue(
            f"{kind}:{t.key}",
            f"Personal data reaches {t.destination} in {where}{via}, outside the EEA, with no "
            f"recorded transfer safeguard.{extra}",
            key=t.kind,
        )
