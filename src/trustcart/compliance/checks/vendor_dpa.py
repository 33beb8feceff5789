"""Vendor registry: the data processing agreement is missing, unsigned or expired."""

from __future__ import annotations

from collections.abc import Iterator

from trustcart.compliance.registry import CheckContext, Issue, check


@check(
    "TC-VEN-002",
    area="vendors",
    title="Vendor without a DPA in force",
    severity="high",
    rule="GDPR Art. 28(3) (processing by a processor governed by a contract)",
    fix="Sign (or renew) the data processing agreement and record it under `dpa` "
    "(status: signed, signed_on, expires); until then stop sending the vendor personal data.",
)
def vendor_dpa_not_in_force(ctx: CheckContext) -> Iterator[Issue]:
    """A registry vendor whose DPA is missing, still a draft, or expired on the scan day."""
    for v in ctx.registry.vendors:
        dpa = v.dpa
        if dpa.in_force(ctx.today):
            continue
        if dpa.status == "signed":
            why = f"its DPA expired on {dpa.expires}"
        elif dpa.status == "draft":
            why = "its DPA is still a draft"
        else:
            why = "no DPA is recorded"
        yield Issue(f"vendor:{v.key}", f"Vendor {v.name} ({v.country}): {why}.", key=dpa.status)


@check(
    "TC-VEN-003",
    area="vendors",
    title="DPA lacks clauses of the configured checklist",
    severity="medium",
    rule="GDPR Art. 28(3) clause checklist (items configurable)",
    fix="Negotiate the missing clauses into the DPA, then mark them `true` under `dpa.clauses`.",
)
def vendor_dpa_missing_clauses(ctx: CheckContext) -> Iterator[Issue]:
    """A signed DPA not recorded as containing every item of the organisation's DPA checklist
    (``dpa_checklist`` in the records manifest; no items configured means nothing to check)."""
    checklist = ctx.registry.dpa_checklist
    if not checklist:
        return
    for v in ctx.registry.vendors:
        if v.dpa.status != "signed":
            continue  # TC-VEN-002 reports it
        missing = v.missing_clauses(checklist)
        if missing:
            cites = sorted({i.citation for i in missing})
            yield Issue(
                f"vendor:{v.key}",
                f"The DPA with {v.name} lacks {len(missing)} checklist clause(s): "
                + "; ".join(f"{i.label} ({i.key})" for i in missing)
                + ".",
                rule="; ".join(cites),
            )
