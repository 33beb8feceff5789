"""Governance: access reviews overdue, unused personal-data grants, training gaps, model
versions served without an ethics approval."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from trustcart.compliance.registry import CheckContext, Issue, check

_PRACTICE_TRAINING = (
    "TrustCart practice: everyone who can read personal data is trained in data protection "
    "law, and the training is kept current"
)
#: Courses whose gap breaks a cited rule (rules-reference §3), not only a practice.
_COURSE_RULES = {
    "ethical_ai": "EU AI Act (Reg. 2024/1689) Art. 4: AI literacy of staff dealing with AI "
    "systems (applies from 2025-02-02)",
}


@check(
    "TC-GOV-001",
    area="governance",
    title="API key past its access review",
    severity="medium",
    rule="TrustCart practice: every API key is re-approved or revoked by a named reviewer at "
    "least every access_review_days days",
    fix="Review the key: `trustcart access review KEY --decision approved|revoked --reviewer "
    "NAME` (see `trustcart access grants`).",
)
def review_overdue(ctx: CheckContext) -> Iterator[Issue]:
    """An active key whose review is due before the scan day: never reviewed since it was
    created ``access_review_days`` ago, or last approved longer ago than that. Low when the key
    holds no personal-data scope."""
    if ctx.store is None:
        return
    from trustcart.governance import AccessPolicy, grant_status

    for g in grant_status(ctx.store, policy=AccessPolicy.of(ctx.settings), on=ctx.today):
        if not g.overdue:
            continue
        last = (
            f"last {g.last_review.decision} by {g.last_review.reviewer} on "
            f"{g.last_review.reviewed_on}"
            if g.last_review
            else "never reviewed"
        )
        yield Issue(
            f"api_key:{g.key_id}",
            f"Key {g.key_id} ({g.name}, role {g.role}) was due for review on {g.due_on} "
            f"({(ctx.today - g.due_on).days} days ago; {last}).",
            severity=None if g.personal_scopes else "low",
        )


@check(
    "TC-GOV-002",
    area="governance",
    title="Personal-data grant unused",
    severity="medium",
    rule="TrustCart practice: least privilege - a key that has not read personal data for "
    "unused_grant_days days does not keep personal-data scopes",
    fix="Revoke the key (`trustcart access review KEY --decision revoked …`), or re-issue it "
    "with a role without personal-data scopes (e.g. analyst).",
)
def unused_grant(ctx: CheckContext) -> Iterator[Issue]:
    """An active key holding personal-data scopes with no access-log entry for
    ``unused_grant_days`` days (counting from its creation when it never read any)."""
    if ctx.store is None:
        return
    from trustcart.governance import AccessPolicy, grant_status

    policy = AccessPolicy.of(ctx.settings)
    for g in grant_status(ctx.store, policy=policy, on=ctx.today):
        if not g.unused:
            continue
        since = (
            f"last read personal data on {g.last_access.date()}"
            if g.last_access
            else f"never read personal data since its creation on {g.created_at.date()}"
        )
        yield Issue(
            f"api_key:{g.key_id}",
            f"Key {g.key_id} ({g.name}, role {g.role}) holds {', '.join(g.personal_scopes)} but "
            f"{since} (threshold {policy.unused_days} days).",
        )


@check(
    "TC-GOV-003",
    area="governance",
    title="Person with access to personal data lacks required training",
    severity="medium",
    rule=_PRACTICE_TRAINING,
    fix="Have the person complete the course, then record it: `trustcart training record "
    "PERSON COURSE --completed YYYY-MM-DD`; or revoke their key.",
)
def training_missing(ctx: CheckContext) -> Iterator[Issue]:
    """A person named by an active non-service key with personal-data scopes has never
    completed a course of ``training_required``, or their latest completion has expired."""
    if ctx.store is None:
        return
    from trustcart.governance import training_gaps

    required = ctx.settings.training_required if ctx.settings else ["privacy_law", "ethical_ai"]
    for g in training_gaps(ctx.store, required=required, on=ctx.today):
        what = "has never completed" if g.status == "missing" else f"let expire on {g.expired_on}"
        rule = _COURSE_RULES.get(g.course)
        yield Issue(
            f"person:{g.person}",
            f"{g.person} ({', '.join(g.roles)}; keys {', '.join(g.key_ids)}) {what} the "
            f"required course {g.course}.",
            rule=f"{rule}; {_PRACTICE_TRAINING}" if rule else None,
            key=g.course,
        )


@check(
    "TC-GOV-004",
    area="governance",
    title="Served model version without an ethics approval",
    severity="medium",
    rule="TrustCart practice: the ethics committee approves each model version before it is "
    "served (require_ethics_approval makes the gateway enforce it)",
    fix="Have the ethics committee review it: `trustcart ethics review MODEL VERSION --decision "
    "approved|approved_with_conditions|rejected --reviewer NAME`; stop serving a rejected one.",
)
def model_without_ethics_approval(ctx: CheckContext) -> Iterator[Issue]:
    """The newest registered version of a model (the one served) has no ethics review, or its
    newest review rejects it (high)."""
    if ctx.store is None:
        return
    from trustcart.gateway import list_models
    from trustcart.governance import ethics_reviews

    latest: dict[str, Any] = {}
    for m in list_models(ctx.store):  # oldest first: the newest version wins
        latest[m.name] = m
    newest_review = {(r.model, r.version): r for r in ethics_reviews(ctx.store)}
    for m in latest.values():
        r = newest_review.get((m.name, m.version))
        if r is not None and r.approves:
            continue
        if r is None:
            yield Issue(
                f"model:{m.name}@{m.version}",
                f"Model {m.name} version {m.version} is served without an ethics review.",
            )
        else:
            yield Issue(
                f"model:{m.name}@{m.version}",
                f"Model {m.name} version {m.version} is served although {r.reviewer} rejected "
                f"it: {r.reasons}",
                severity="high",
            )
