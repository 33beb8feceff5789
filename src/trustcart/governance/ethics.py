"""Ethics reviews: the committee approves, approves with conditions, or rejects a model version.

Why per *version*: a retrained model is a different model (other data, other behaviour); an
approval of version 3 says nothing about version 4. Reviews are append-only rows (the newest
for a model version counts) and each is recorded in the ``admin`` hash-chained log.

Link to the AIA: a review may name the model's algorithmic impact assessment
(``trustcart.assessments``); the AIA must be about the same model (and version, when it names
one), its content hash is stored with the review, and the same decision is recorded on the AIA
record, so the AIA scanner checks (TC-AIA-002) see it too.

Enforcement: with ``require_ethics_approval = true`` in the workspace, the gateway calls
:func:`ensure_ethics_approval` when a model version is registered to be served, and refuses
(``EthicsApprovalRequired``, HTTP 409) unless the newest review approves it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, get_args

import orjson
from sqlalchemy import select

from trustcart.clock import utcnow
from trustcart.errors import Conflict, ValidationError
from trustcart.governance.keys import ADMIN_LOG
from trustcart.ids import new_id
from trustcart.store import Store
from trustcart.store.tables import EthicsReviewRow, table_of

if TYPE_CHECKING:
    from trustcart.workspace import Workspace

EthicsDecision = Literal["approved", "approved_with_conditions", "rejected"]
DECISIONS: tuple[str, ...] = get_args(EthicsDecision)
_reviews = table_of(EthicsReviewRow)


class EthicsApprovalRequired(Conflict):
    """The workspace requires an ethics approval the model version does not have."""

    code = "ethics_approval_required"


@dataclass(frozen=True, slots=True)
class EthicsReview:
    """One decision of the ethics committee on a model version."""

    id: str
    model: str
    version: str
    decision: str
    conditions: list[str]
    reasons: str
    reviewer: str
    aia: str | None
    aia_sha256: str | None
    created_at: datetime

    @property
    def approves(self) -> bool:
        """Approved, with or without conditions."""
        return self.decision in ("approved", "approved_with_conditions")

    def to_dict(self) -> dict[str, Any]:
        """JSON view."""
        return asdict(self)


def _review(row: Any) -> EthicsReview:
    return EthicsReview(
        row.id,
        row.model,
        row.version,
        row.decision,
        list(orjson.loads(row.conditions)),
        row.reasons,
        row.reviewer,
        row.aia,
        row.aia_sha256,
        row.created_at,
    )


def _validate(
    model: str, version: str, decision: str, reviewer: str, reasons: str, conditions: list[str]
) -> None:
    if not model.strip() or len(model) > 200 or not version.strip() or len(version) > 64:
        raise ValidationError("name the model (1-200 characters) and its version (1-64)")
    if decision not in DECISIONS:
        raise ValidationError(f"decision must be one of {', '.join(DECISIONS)}; got {decision!r}")
    if not reviewer.strip() or len(reviewer) > 200:
        raise ValidationError("a review names its reviewer (1-200 characters)")
    if decision == "rejected" and not reasons:
        raise ValidationError("a rejection gives its reasons (--reasons)")
    if decision == "approved_with_conditions" and not conditions:
        raise ValidationError("'approved_with_conditions' needs at least one condition")
    if decision != "approved_with_conditions" and conditions:
        raise ValidationError("conditions are only for 'approved_with_conditions'")


def review_model(
    store: Store,
    model: str,
    version: str,
    *,
    decision: str,
    reviewer: str,
    reasons: str = "",
    conditions: list[str] | None = None,
    aia: str | None = None,
    actor: str = "cli",
) -> EthicsReview:
    """Record the committee's decision on ``model`` ``version`` (and on its AIA when named).

    A rejection needs reasons; an approval with conditions needs at least one condition.
    """
    conds = [c.strip() for c in conditions or [] if c.strip()]
    why = reasons.strip()
    _validate(model, version, decision, reviewer, why, conds)
    aia_sha: str | None = None
    if aia is not None:
        aia_sha = _review_aia(store, aia, model, version, decision, reviewer, conds, actor)
    rid = new_id("eth_")
    now = utcnow()
    with store.write() as conn:
        conn.execute(
            _reviews.insert().values(
                id=rid,
                model=model,
                version=version,
                decision=decision,
                conditions=orjson.dumps(conds).decode(),
                reasons=why,
                reviewer=reviewer.strip(),
                aia=aia,
                aia_sha256=aia_sha,
                created_at=now,
            )
        )
        store.log(ADMIN_LOG).append(
            {
                "action": "ethics.reviewed",
                "review_id": rid,
                "model": model,
                "version": version,
                "decision": decision,
                "aia": aia,
                "aia_sha256": aia_sha,
                "actor": actor,
            },
            conn=conn,
        )
    return EthicsReview(
        rid, model, version, decision, conds, why, reviewer.strip(), aia, aia_sha, now
    )


def _review_aia(
    store: Store,
    key: str,
    model: str,
    version: str,
    decision: str,
    reviewer: str,
    conditions: list[str],
    actor: str,
) -> str:
    """Check the AIA matches the model version, record the decision on it, return its hash."""
    from trustcart.assessments import approve_aia, load_records

    record = load_records(store).aia(key)
    if record is None:
        raise ValidationError(
            f"no AIA {key!r}: load it first (`trustcart records load`), or omit --aia"
        )
    if record.model != model or (record.version is not None and record.version != version):
        names = record.model + (f" version {record.version}" if record.version else "")
        raise ValidationError(f"AIA {key!r} assesses {names}, not {model} version {version}")
    approve_aia(
        store,
        key,
        by=reviewer.strip(),
        decision=decision,  # type: ignore[arg-type]  # validated against the same literals
        conditions=conditions,
        actor=actor,
    )
    return record.content_hash()


def ethics_reviews(
    store: Store, *, model: str | None = None, version: str | None = None
) -> list[EthicsReview]:
    """Reviews, oldest first, optionally of one model (and version)."""
    stmt = select(_reviews).order_by(_reviews.c.created_at, _reviews.c.id)
    if model is not None:
        stmt = stmt.where(_reviews.c.model == model)
    if version is not None:
        stmt = stmt.where(_reviews.c.version == version)
    with store.read() as conn:
        return [_review(r) for r in conn.execute(stmt)]


def latest_review(store: Store, model: str, version: str) -> EthicsReview | None:
    """The review that counts for a model version (the newest), if any."""
    found = ethics_reviews(store, model=model, version=version)
    return found[-1] if found else None


def ensure_ethics_approval(ws: Workspace, model: str, version: str) -> EthicsReview | None:
    """Refuse (``EthicsApprovalRequired``) to serve a model version without an approval, when
    the workspace requires one; returns the approving review (``None`` when not required)."""
    if not ws.settings.require_ethics_approval:
        return None
    review = latest_review(ws.store, model, version)
    if review is not None and review.approves:
        return review
    if review is None:
        why = "has no ethics review"
    else:
        why = f"was rejected by {review.reviewer}: {review.reasons}"
    raise EthicsApprovalRequired(
        f"model {model!r} version {version!r} {why}; this workspace requires an ethics "
        "approval before a model version is served (require_ethics_approval). Ask the ethics "
        f"committee: `trustcart ethics review {model} {version} --decision approved "
        "--reviewer NAME`",
        details={
            "model": model,
            "version": version,
            "decision": review.decision if review else None,
            "review_id": review.id if review else None,
        },
    )
