"""DPIA missing where the screening says one is required (GDPR Art. 35)."""

from __future__ import annotations

from collections.abc import Iterator

from trustcart.assessments import Screening, screen_datamap
from trustcart.compliance.registry import CheckContext, Issue, check


def screenings(ctx: CheckContext) -> list[Screening]:
    """Every purpose screened once per scan, with the assessor's answers."""
    return ctx.memo(
        "dpia_screenings",
        lambda: screen_datamap(ctx.datamap, ctx.rules, ctx.registry.screenings),
    )


@check(
    "TC-DPIA-001",
    area="dpia",
    title="DPIA required but missing",
    severity="high",
    rule="GDPR Art. 35(1), 35(3); WP248 rev.01 (two or more criteria)",
    fix="Carry out a DPIA for the purpose before processing (description, necessity and "
    "proportionality, risks and measures, DPO opinion, sign-off) and load it as a `dpias` record "
    "listing the purpose; or record assessor answers under `screenings` if a criterion is not met.",
)
def dpia_missing(ctx: CheckContext) -> Iterator[Issue]:
    """A purpose whose screening meets two or more WP248 criteria, or an Art. 35(3) case, and
    that no DPIA record covers."""
    covered = {p for d in ctx.registry.dpias for p in d.purposes}
    for s in screenings(ctx):
        if not s.required or s.purpose in covered:
            continue
        met = ", ".join(f"{c.number} {c.label}" for c in s.met)
        mandatory = "".join(f" Mandatory: {m.citation} ({m.label})." for m in s.mandatory)
        rule = "; ".join([m.citation for m in s.mandatory] + [s.threshold_citation])
        yield Issue(
            f"purpose:{s.purpose}",
            f"Purpose {s.purpose} meets {s.count} of {len(s.criteria)} WP248 criteria "
            f"({met}) and has no DPIA.{mandatory}",
            rule=f"GDPR Art. 35; {rule}",
        )
