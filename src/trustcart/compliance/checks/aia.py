"""Algorithmic impact assessments: every model has one, approved; no prohibited practice."""

from __future__ import annotations

from collections.abc import Iterator

from trustcart.assessments import screen_ai_act
from trustcart.compliance.registry import CheckContext, Issue, check


@check(
    "TC-AIA-001",
    area="aia",
    title="Registered model without an algorithmic impact assessment",
    severity="medium",
    rule="TrustCart practice: every model the gateway serves has an algorithmic impact "
    "assessment with its EU AI Act screening (Reg. 2024/1689)",
    fix="Write an `aias` record for the model (purpose, data, explanation method, human "
    "oversight, contestation channel, AI Act use cases) and load it.",
)
def model_without_aia(ctx: CheckContext) -> Iterator[Issue]:
    """A model registered with the gateway that no AIA names."""
    if ctx.store is None:
        return
    from trustcart.gateway import list_models

    assessed = {a.model for a in ctx.registry.aias}
    for m in list_models(ctx.store):
        if m.name not in assessed:
            yield Issue(
                f"model:{m.name}@{m.version}",
                f"Model {m.name} version {m.version} ({m.kind}) has no algorithmic impact "
                "assessment.",
                key=m.name,
            )


@check(
    "TC-AIA-002",
    area="aia",
    title="AIA not approved, or a prohibited AI practice",
    severity="medium",
    rule="TrustCart practice: an ethics committee approves each AIA (with conditions where "
    "needed) before the model is used",
    fix="Have the ethics committee review it: `trustcart aia approve KEY --by NAME --decision "
    "approved|approved_with_conditions|rejected [--condition TEXT]`.",
)
def aia_not_approved(ctx: CheckContext) -> Iterator[Issue]:
    """An AIA not approved (or rejected, or changed since approval): high when its AI Act tier is
    high-risk; a use case in the prohibited tier is always high."""
    for a in ctx.registry.aias:
        screening = screen_ai_act(ctx.rules, a.use_cases, profiling=a.profiling, on=ctx.today)
        if screening.tier == "prohibited":
            hits = [u for u in screening.use_cases if u.tier == "prohibited"]
            yield Issue(
                f"aia:{a.key}",
                f"Model {a.model} is assessed as using a prohibited AI practice: "
                + "; ".join(f"{u.label} ({u.citation})" for u in hits)
                + ".",
                rule="; ".join(u.citation for u in hits),
                fix="Stop using the model for this practice.",
                severity="high",
                key="prohibited",
            )
        if a.approved:
            continue
        if a.approval is None:
            why = "has not been reviewed"
        elif a.approval.decision == "rejected":
            why = f"was rejected by {a.approval.by} on {a.approval.decided_on}"
        else:
            why = f"changed after {a.approval.by} approved it on {a.approval.decided_on}"
        high = screening.tier == "high"
        yield Issue(
            f"aia:{a.key}",
            f"The AIA of model {a.model} (AI Act tier: {screening.tier}) {why}.",
            severity="high" if high else None,
            rule=(
                "; ".join(u.citation for u in screening.use_cases if u.tier == "high")
                if high
                else None
            ),
            key="approval",
        )


@check(
    "TC-AIA-003",
    area="aia",
    title="Credit model not screened as high-risk in its AIA",
    severity="high",
    rule="EU AI Act Annex III 5(b)",
    fix="List the use case `creditworthiness` in the model's AIA (it makes the model high-risk: "
    "risk management, human oversight, logging), reload the records, and have a person approve "
    "the version: `trustcart oversight approve MODEL VERSION --reviewer USERNAME`.",
)
def credit_model_not_high_risk(ctx: CheckContext) -> Iterator[Issue]:
    """A model registered for ``credit`` decisions whose AIA (if any) does not declare the
    ``creditworthiness`` use case: its high-risk screening is missing."""
    if ctx.store is None:
        return
    from trustcart.gateway import list_models

    screened = {a.model for a in ctx.registry.aias if "creditworthiness" in a.use_cases}
    seen: set[str] = set()
    for m in list_models(ctx.store, kind="credit"):
        if m.name in screened or m.name in seen:
            continue
        seen.add(m.name)
        yield Issue(
            f"model:{m.name}",
            f"Credit model {m.name} has no AIA screening it as creditworthiness scoring "
            "(high-risk).",
            key=m.name,
        )
