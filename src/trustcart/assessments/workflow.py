"""Sign-offs and approvals: each appends a version bound to the content it accepts.

Why bind to a content hash: a DPIA signed off and then edited must not keep looking signed; the
scanner reports it as changed since sign-off until someone signs again.
"""

from __future__ import annotations

from datetime import date

from trustcart.assessments.aia import AiaRecord, Approval, Decision
from trustcart.assessments.dpia import DpiaRecord, Opinion, SignOff
from trustcart.assessments.records import update_record
from trustcart.clock import utcnow
from trustcart.errors import ValidationError
from trustcart.store import Store


def sign_off_dpia(
    store: Store,
    key: str,
    *,
    by: str,
    role: str,
    on: date | None = None,
    dpo_opinion: str | None = None,
    actor: str = "cli",
) -> DpiaRecord:
    """Record the DPO's opinion (optional) and the sign-off of DPIA ``key``."""
    if not by.strip() or not role.strip():
        raise ValidationError("a sign-off names who signs (--by) and in which role (--role)")
    day = on or utcnow().date()

    def change(d: DpiaRecord) -> DpiaRecord:
        if dpo_opinion is not None:
            d = d.model_copy(update={"dpo_opinion": Opinion(by=by, given_on=day, text=dpo_opinion)})
        signed = SignOff(by=by, role=role, signed_on=day, content_sha256=d.content_hash())
        return d.model_copy(update={"sign_off": signed})

    return update_record(
        store, "dpia", key, DpiaRecord, change, actor=actor, action="dpia.signed_off"
    )


def approve_aia(
    store: Store,
    key: str,
    *,
    by: str,
    decision: Decision,
    conditions: list[str] | None = None,
    on: date | None = None,
    actor: str = "cli",
) -> AiaRecord:
    """Record the ethics committee's decision on AIA ``key`` (conditions when approving with
    conditions)."""
    conds = [c.strip() for c in conditions or [] if c.strip()]
    if decision == "approved_with_conditions" and not conds:
        raise ValidationError("'approved_with_conditions' needs at least one --condition")
    if decision != "approved_with_conditions" and conds:
        raise ValidationError("conditions are only for 'approved_with_conditions'")
    day = on or utcnow().date()

    def change(a: AiaRecord) -> AiaRecord:
        approval = Approval(
            by=by,
            decided_on=day,
            decision=decision,
            conditions=conds,
            content_sha256=a.content_hash(),
        )
        return a.model_copy(update={"approval": approval})

    return update_record(store, "aia", key, AiaRecord, change, actor=actor, action="aia.reviewed")
