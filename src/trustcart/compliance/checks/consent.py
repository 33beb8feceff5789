"""Consent ledger: grants recorded through a mechanism that is not valid consent where used."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from trustcart.catalog import LegalBasis
from trustcart.compliance.registry import CheckContext, Issue, check
from trustcart.errors import RulesError
from trustcart.rules import Mechanism, PurposeType


@check(
    "TC-CON-001",
    area="consent",
    title="Consent grants through a mechanism that is not valid consent",
    severity="high",
    rule="Rule pack: consent_mechanisms of the jurisdiction",
    fix="Stop collecting consent through this mechanism for the purpose; ask the affected people "
    "again through a valid one (opt-in checkbox, preference center, just-in-time prompt) and "
    "treat the purpose as not consented until they answer.",
)
def invalid_mechanism_grants(ctx: CheckContext) -> Iterator[Issue]:
    """A purpose relies on consent in a jurisdiction, and the ledger holds grants for it there
    through a mechanism whose grant the rule pack rates ``invalid`` (e.g. an implied banner in
    the EU, GDPR Art. 4(11)). Counted from ``consent_events`` in the database."""
    if ctx.store is None:
        return
    from trustcart.consent import consent_rates

    granted: dict[tuple[str, str, str], int] = defaultdict(int)
    for row in consent_rates(ctx.store):
        if row["granted"]:
            code = ctx.jurisdiction(str(row["jurisdiction"])).code
            granted[(str(row["purpose"]), code, str(row["mechanism"]))] += int(row["granted"])
    for p in ctx.datamap.purposes:
        try:
            pt = ctx.rules.purpose_type_of(p.data_use)
        except RulesError:
            pt = PurposeType.SENSITIVE_DATA  # unmapped use: judge it by the strictest rule
        for code, basis in sorted(p.legal_basis.items()):
            if basis != LegalBasis.CONSENT:
                continue
            j = ctx.jurisdiction(code)
            for (purpose, jcode, mechanism), count in sorted(granted.items()):
                if purpose != p.key or jcode != j.code:
                    continue
                try:
                    rule = j.mechanism_rule(Mechanism(mechanism), pt)
                except ValueError:
                    continue
                if rule.grant != "invalid":
                    continue
                yield Issue(
                    f"purpose:{p.key}",
                    f"Purpose {p.key} relies on consent in {code}, but {count} grant(s) were "
                    f"recorded there through '{mechanism}', which is not valid consent for "
                    f"{pt.value} in {j.code}.",
                    rule=f"{rule.citation} ({j.code}, mechanism {mechanism}, "
                    f"purpose type {pt.value})",
                    key=f"{code}/{mechanism}",
                )
