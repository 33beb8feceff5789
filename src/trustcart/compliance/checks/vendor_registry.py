"""Vendor registry and data map agree: every vendor-run system is registered, and back."""

from __future__ import annotations

from collections.abc import Iterator

from trustcart.compliance.registry import CheckContext, Issue, check


@check(
    "TC-VEN-006",
    area="vendors",
    title="Vendor registry and data map disagree",
    severity="low",
    rule="TrustCart practice: every vendor-run system of the data map has a vendor record, and "
    "every record names systems that exist",
    fix="Add a vendor record listing the system under `systems` (or fix the key).",
)
def registry_matches_datamap(ctx: CheckContext) -> Iterator[Issue]:
    """Only once a registry exists: a vendor-run system no record lists, or a record naming a
    system or recipient the data map does not have."""
    vendors = ctx.registry.vendors
    if not vendors:
        return
    listed = {s for v in vendors for s in v.systems}
    for s in ctx.datamap.systems:
        if s.vendor is not None and s.key not in listed:
            yield Issue(
                f"system:{s.key}",
                f"System {s.key} is run by {s.vendor.name} but no vendor record lists it.",
                key="unregistered",
            )
    for v in vendors:
        for key in v.systems:
            if ctx.datamap.system(key) is None:
                yield Issue(
                    f"vendor:{v.key}",
                    f"Vendor record {v.key} names system {key!r}, which is not in the data map.",
                    key=f"system/{key}",
                )
        for key in v.recipients:
            if ctx.datamap.recipient(key) is None:
                yield Issue(
                    f"vendor:{v.key}",
                    f"Vendor record {v.key} names recipient {key!r}, which is not in the data map.",
                    key=f"recipient/{key}",
                )
