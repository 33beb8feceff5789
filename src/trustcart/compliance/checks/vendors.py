"""Vendors: processors running systems on the shop's behalf."""

from __future__ import annotations

from collections.abc import Iterator

from trustcart.compliance.registry import CheckContext, Issue, check


@check(
    "TC-VEN-001",
    area="vendors",
    title="Vendor without a signed DPA",
    severity="high",
    rule="TrustCart practice: a signed data processing agreement with every vendor that runs a "
    "system holding personal data (the processor contract clauses are not yet in the rule pack)",
    fix="Sign a data processing agreement with the vendor, then set `vendor.dpa_signed: true`; "
    "until then stop sending it personal data.",
)
def vendor_without_dpa(ctx: CheckContext) -> Iterator[Issue]:
    """A vendor-run system whose vendor has no signed DPA."""
    for s in ctx.datamap.systems:
        if s.vendor is not None and not s.vendor.dpa_signed:
            yield Issue(
                f"system:{s.key}",
                f"System {s.key} ({s.name}) is run by {s.vendor.name} ({s.vendor.country}) "
                "with no signed data processing agreement.",
            )
