"""Vendor registry: no valid security certification (expired or none recorded)."""

from __future__ import annotations

from collections.abc import Iterator

from trustcart.compliance.registry import CheckContext, Issue, check


@check(
    "TC-VEN-004",
    area="vendors",
    title="Vendor certification expired or missing",
    severity="medium",
    rule="TrustCart practice: processors show current security certifications (e.g. ISO/IEC "
    "27001, SOC 2) as part of due diligence",
    fix="Obtain the renewed certificate (or another assurance, e.g. an audit) and record it with "
    "its expiry under `certifications`.",
)
def vendor_certification(ctx: CheckContext) -> Iterator[Issue]:
    """Each expired certification of a registry vendor; a vendor with none valid at all is
    reported once."""
    for v in ctx.registry.vendors:
        expired = [c for c in v.certifications if not c.valid_on(ctx.today)]
        for c in expired:
            yield Issue(
                f"vendor:{v.key}",
                f"{v.name}'s {c.name} certification expired on {c.expires}.",
                key=f"expired/{c.name}",
            )
        if not v.certifications:
            yield Issue(
                f"vendor:{v.key}",
                f"{v.name} has no security certification recorded.",
                severity="low",
                key="none",
            )
