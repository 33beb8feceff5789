"""Human review: contested decisions past their due date, and groups overturned more often."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select

from trustcart.compliance.registry import CheckContext, Issue, check
from trustcart.store.tables import ReviewCaseRow, table_of

_cases = table_of(ReviewCaseRow)
_FINAL = ("upheld", "overridden")


@check(
    "TC-REV-001",
    area="review",
    title="Contested automated decision not reviewed by its due date",
    severity="high",
    rule="Human review of solely automated decisions (GDPR Art. 22(3) with Art. 12(3); UK GDPR "
    "Arts. 22A-22D; LGPD Art. 20; Quebec P-39.1 s.12.1); each case names its citation",
    fix="Open the case in the dashboard (Human review) or run `trustcart review show ID`, then "
    "uphold or override it with reasons (`trustcart review decide ID --verdict …`).",
)
def overdue_reviews(ctx: CheckContext) -> Iterator[Issue]:
    """An open review case whose due date has passed (statutory: high; voluntary: low)."""
    if ctx.store is None:
        return
    today = ctx.today
    with ctx.store.read() as conn:
        rows = conn.execute(
            select(
                _cases.c.id,
                _cases.c.decision_id,
                _cases.c.jurisdiction,
                _cases.c.statutory,
                _cases.c.citation,
                _cases.c.due_on,
            )
            .where(_cases.c.status.not_in(_FINAL), _cases.c.due_on < today)
            .order_by(_cases.c.due_on)
        ).all()
    for r in rows:
        late = (today - r.due_on).days
        if r.statutory:
            j = ctx.jurisdiction(r.jurisdiction)
            yield Issue(
                f"review_case:{r.id}",
                f"Review of decision {r.decision_id} ({r.jurisdiction}, {r.citation}) was due on "
                f"{r.due_on.isoformat()} ({late} days ago; {j.deadline.citation}).",
            )
        else:
            yield Issue(
                f"review_case:{r.id}",
                f"Voluntary review of decision {r.decision_id} ({r.jurisdiction}) is past the "
                f"shop's service target of {r.due_on.isoformat()} ({late} days ago).",
                severity="low",
                rule="TrustCart practice: no statutory right to contest here; the ordinary "
                "response period is the service target",
            )


@check(
    "TC-REV-002",
    area="review",
    title="A group's decisions are overturned on review more often than others'",
    severity="medium",
    rule="TrustCart practice: a human-review overturn rate that differs by group is evidence the "
    "model errs more for that group (fairness signal; two-proportion test, Holm-adjusted)",
    fix="Audit the model for that group (`trustcart audit decisions --group …`), check its "
    "features for proxies, and review its guardrails; `trustcart review stats` shows the rates.",
)
def overturn_disparity(ctx: CheckContext) -> Iterator[Issue]:
    """A fairness group whose overturn rate differs significantly from the rest."""
    if ctx.store is None:
        return
    from trustcart.review.stats import overturn_rates

    report = overturn_rates(ctx.store, "group")
    for g in report.groups:
        if g.flagged and g.rate is not None and report.rate is not None:
            yield Issue(
                f"review_group:{g.group}",
                f"Group {g.group!r}: {g.overturned} of {g.resolved} reviewed decisions overturned "
                f"({g.rate:.0%}) against {report.rate:.0%} overall (Holm-adjusted p = "
                f"{g.p_adjusted:.3g}).",
            )
