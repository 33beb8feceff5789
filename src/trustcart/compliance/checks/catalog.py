"""Catalog gaps: facts the data map must hold before anything else can be judged."""

from __future__ import annotations

from collections.abc import Iterator

from trustcart.compliance.registry import CheckContext, Issue, check

AREA = "catalog"


@check(
    "TC-CAT-001",
    area=AREA,
    title="Field without a specific data category",
    severity="medium",
    rule="TrustCart practice: every field lists the fideslang data categories it holds "
    "(sensitivity, consent gating and transfers are derived from them)",
    fix="Add the most specific fideslang data categories to the field's `data_categories` "
    "(e.g. user.contact.email rather than user).",
)
def field_without_categories(ctx: CheckContext) -> Iterator[Issue]:
    """A field with no data category, or only a bare top-level one (``user``), hides what it
    holds: its sensitivity cannot be derived and no gate can protect it."""
    for ds in ctx.datamap.datasets:
        for fld in ds.fields:
            cats = [c for c in fld.data_categories if c.strip()]
            if not cats:
                message = f"Field {ds.key}.{fld.name} lists no data category."
            elif all("." not in c for c in cats):
                message = (
                    f"Field {ds.key}.{fld.name} is only categorised as {', '.join(cats)}, "
                    "which says nothing about what it holds."
                )
            else:
                continue
            yield Issue(f"dataset:{ds.key}.field:{fld.name}", message)


def _retention_rule(ctx: CheckContext) -> str:
    cites: list[str] = []
    regimes = {ctx.jurisdiction(code).code for code in ctx.served}
    if "EU" in regimes:
        cites.append("GDPR Art. 5(1)(e) (storage limitation)")
    if "US-CA" in regimes:
        cites.append("CPRA §1798.100(a)(3) (retention period stated per category)")
    if not cites:
        return "TrustCart practice: every dataset states how long it keeps personal data"
    return "; ".join(cites)


@check(
    "TC-CAT-002",
    area=AREA,
    title="Dataset without a retention period",
    severity="medium",
    rule="GDPR Art. 5(1)(e) (storage limitation)",
    fix="Set `retention` on the dataset (ISO-8601 duration such as P2Y, or the criteria) and "
    "delete or anonymise data past it.",
)
def dataset_without_retention(ctx: CheckContext) -> Iterator[Issue]:
    """A dataset holding personal data must say how long it is kept."""
    rule = _retention_rule(ctx)
    for ds in ctx.datamap.datasets:
        if ds.retention is None and ctx.sensitivity.datasets.get(ds.key) != "anonymous":
            yield Issue(
                f"dataset:{ds.key}",
                f"Dataset {ds.key} ({ds.name}) holds personal data but states no retention period.",
                rule=rule,
            )


@check(
    "TC-CAT-003",
    area=AREA,
    title="Purpose without a legal basis for a served jurisdiction",
    severity="high",
    rule="TrustCart practice: every purpose declares its legal basis in every jurisdiction the "
    "organization serves (organization.jurisdictions)",
    fix="Add the jurisdiction to the purpose's `legal_basis` (consent, contract, "
    "legitimate_interests, …, or notice_opt_out / not_applicable for opt-out regimes).",
)
def purpose_without_legal_basis(ctx: CheckContext) -> Iterator[Issue]:
    """Every served jurisdiction needs a declared basis, or nobody can tell whether the purpose
    needs consent there (and the notice cannot state it)."""
    for p in ctx.datamap.purposes:
        for code in ctx.served:
            if code not in p.legal_basis:
                yield Issue(
                    f"purpose:{p.key}",
                    f"Purpose {p.key} ({p.name}) declares no legal basis for {code}, which the "
                    "organization serves.",
                    key=code,
                )


@check(
    "TC-CAT-004",
    area=AREA,
    title="System without security measures",
    severity="medium",
    rule="TrustCart practice: every system that processes personal data records its security "
    "measures",
    fix="List the system's `security_measures` (encryption at rest and in transit, access "
    "control, logging, backups, pseudonymisation…).",
)
def system_without_security(ctx: CheckContext) -> Iterator[Issue]:
    """A system with no recorded security measures cannot show the data is protected."""
    for s in ctx.datamap.systems:
        if not [m for m in s.security_measures if m.strip()]:
            yield Issue(
                f"system:{s.key}",
                f"System {s.key} ({s.name}) records no security measures.",
            )
