"""Localisation regimes of served jurisdictions: China PIPL, Russia 152-FZ, India DPDP."""

from __future__ import annotations

from collections.abc import Iterator

from trustcart.compliance.registry import CheckContext, Issue, check
from trustcart.transfers import localisation_flags


@check(
    "TC-TRF-004",
    area="transfers",
    title="Served jurisdiction with a data localisation rule",
    severity="medium",
    rule="PIPL Arts. 38-40; 152-FZ Art. 18(5); DPDP Act 2023 s.16",
    fix="Apply the regime's rule to data of people there (see the finding).",
)
def localisation(ctx: CheckContext) -> Iterator[Issue]:
    """The organisation serves CN, RU or IN and its systems may break that regime's rule:
    Russian data first collected outside Russia (high), Chinese data held outside China without
    an Art. 38 route (medium), data hosted in a destination India has notified (high)."""
    for flag in localisation_flags(ctx.datamap, ctx.rules):
        unconfirmed = " (rule-pack entry unconfirmed)" if flag.confidence == "unconfirmed" else ""
        yield Issue(
            flag.object,
            flag.message + unconfirmed,
            rule=flag.citation,
            fix=flag.fix,
            severity=flag.severity,
            key=f"{flag.jurisdiction}/{flag.object}",
        )
