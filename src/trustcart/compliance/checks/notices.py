"""Notices: consent must be informed, so every consent-based purpose needs a registered notice."""

from __future__ import annotations

from collections.abc import Iterator

from trustcart.catalog import LegalBasis
from trustcart.compliance.registry import CheckContext, Issue, check


@check(
    "TC-NOT-001",
    area="notices",
    title="Consent-based purpose with no registered notice",
    severity="medium",
    rule="GDPR Art. 4(11) (consent must be informed); Art. 7(1) (the controller must "
    "demonstrate consent: the notice version shown is part of the record)",
    fix="Register the notice text people see for this purpose (`trustcart consent notice "
    "register`, or `register_notice(store, **datamap_notice(datamap))`).",
)
def consent_purpose_without_notice(ctx: CheckContext) -> Iterator[Issue]:
    """A purpose that relies on consent in some jurisdiction, while no registered notice version
    names it: no consent for it can be informed or proven."""
    if ctx.store is None:
        return
    from trustcart.consent import list_notices

    covered = {key for n in list_notices(ctx.store) for key in n.purposes}
    for p in ctx.datamap.purposes:
        codes = sorted(c for c, b in p.legal_basis.items() if b == LegalBasis.CONSENT)
        if codes and p.key not in covered:
            yield Issue(
                f"purpose:{p.key}",
                f"Purpose {p.key} relies on consent in {', '.join(codes)}, but no registered "
                "notice covers it.",
            )
