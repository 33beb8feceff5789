"""DPIA records that are not finished: no DPO opinion, not (or no longer) signed off."""

from __future__ import annotations

from collections.abc import Iterator

from trustcart.compliance.registry import CheckContext, Issue, check


@check(
    "TC-DPIA-002",
    area="dpia",
    title="DPIA without DPO opinion or valid sign-off",
    severity="medium",
    rule="GDPR Art. 35(2) (advice of the DPO); TrustCart practice: a DPIA is signed off by the "
    "person accountable",
    fix="Record the DPO's opinion and sign the DPIA off: `trustcart dpia sign-off KEY --by NAME "
    "--role ROLE [--opinion TEXT]`.",
)
def dpia_unfinished(ctx: CheckContext) -> Iterator[Issue]:
    """A DPIA with no DPO opinion, no sign-off, or changed since it was signed off."""
    for d in ctx.registry.dpias:
        if d.dpo_opinion is None:
            yield Issue(f"dpia:{d.key}", f"DPIA {d.key} has no DPO opinion.", key="opinion")
        if d.sign_off is None:
            yield Issue(f"dpia:{d.key}", f"DPIA {d.key} is not signed off.", key="sign_off")
        elif not d.signed_off:
            yield Issue(
                f"dpia:{d.key}",
                f"DPIA {d.key} changed after {d.sign_off.by} signed it off on "
                f"{d.sign_off.signed_on}.",
                key="sign_off",
            )
        if d.review_by is not None and d.review_by < ctx.today:
            yield Issue(
                f"dpia:{d.key}",
                f"DPIA {d.key} was due for review on {d.review_by}.",
                severity="low",
                fix="Review the DPIA against the processing as it is now and set a new "
                "`review_by`.",
                key="review",
            )


@check(
    "TC-DPIA-003",
    area="dpia",
    title="High residual risk without prior consultation",
    severity="high",
    rule="GDPR Art. 36",
    fix="Consult the supervisory authority before processing (it answers within 8 weeks, "
    "extendable by 6) and record it under `prior_consultation`; or add measures that lower the "
    "residual risk.",
)
def prior_consultation(ctx: CheckContext) -> Iterator[Issue]:
    """A DPIA whose highest residual risk is high (score 9-16) with no prior consultation."""
    for d in ctx.registry.dpias:
        if d.prior_consultation_required and d.prior_consultation is None:
            yield Issue(
                f"dpia:{d.key}",
                f"DPIA {d.key}: residual risk is high (score {d.residual_score}) and the "
                "supervisory authority has not been consulted.",
            )
