"""Contest and human review over HTTP (thin: parse, call :class:`trustcart.review.ReviewDesk`).

Scopes: ``review:contest`` files a shopper's contest and reads its outcome (the shop's backend
or support, on the person's behalf); ``review:read`` lists and opens cases (reviewers, the
DPO); ``review:write`` assigns and decides them. All three are personal-data scopes, written to
the access log. Overturn rates are aggregates (``fairness:read``). Shoppers use the page
``/privacy/review?token=…`` instead (the token from the decision's explanation).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from trustcart.api.auth import get_workspace, requires
from trustcart.api.schemas import ErrorBody
from trustcart.clock import utcnow
from trustcart.governance import Scope
from trustcart.review import ContestIn, ReviewDesk, VerdictIn, overturn_rates
from trustcart.review.model import MAX_REASONS

router = APIRouter(tags=["review"])
DecisionIdPath = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_]+$")]
CaseIdPath = Annotated[str, Path(min_length=4, max_length=40, pattern=r"^rv_[0-9A-Z]+$")]
_ERRORS: dict[int | str, Any] = {
    404: {"model": ErrorBody, "description": "No such decision or case"},
    409: {"model": ErrorBody, "description": "Already contested / already resolved"},
    410: {"model": ErrorBody, "description": "The person was erased"},
    422: {"model": ErrorBody, "description": "Invalid input; the message says what to fix"},
}


def get_desk(request: Request) -> ReviewDesk:
    """One desk per app, sharing the app's gateway."""
    desk: ReviewDesk | None = getattr(request.app.state, "review", None)
    if desk is None:
        from trustcart.api.routers.decisions import gateway_of

        desk = ReviewDesk(get_workspace(request), gateway=gateway_of(request.app))
        request.app.state.review = desk
    return desk


DeskDep = Annotated[ReviewDesk, Depends(get_desk)]


def page_url(request: Request) -> str:
    """The shopper page's address (for links in messages)."""
    return str(request.url_for("review_page"))


class AssignIn(BaseModel):
    """Who takes the case (default: the caller's key name)."""

    model_config = ConfigDict(extra="forbid")
    reviewer: str | None = Field(default=None, min_length=1, max_length=200)


class ExtendIn(BaseModel):
    """Why the review needs more time (sent to the shopper)."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=MAX_REASONS)


@router.post(
    "/v1/decisions/{decision_id}/contest",
    status_code=201,
    **requires(Scope.REVIEW_CONTEST, _ERRORS),
)
def post_contest(decision_id: DecisionIdPath, body: ContestIn, desk: DeskDep) -> dict[str, Any]:
    """Contest a decision on the person's behalf, with their point of view (optional): opens a
    review case due by the date the person's law sets (GDPR Art. 22(3), LGPD Art. 20, …)."""
    return desk.contest(decision_id, body, channel="api").to_dict()


@router.get("/v1/decisions/{decision_id}/review", **requires(Scope.REVIEW_CONTEST, _ERRORS))
def get_review(decision_id: DecisionIdPath, desk: DeskDep) -> dict[str, Any]:
    """What the person sees: the outcome and its explanation in plain words, the law, and the
    review case (its answer once decided)."""
    return desk.shopper_view(decision_id)


@router.get("/v1/review/cases", **requires(Scope.REVIEW_READ))
def list_cases(
    desk: DeskDep,
    status: Literal["open", "in_review", "upheld", "overridden"] | None = None,
    view: Annotated[Literal["all", "open", "overdue"], Query()] = "all",
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[dict[str, Any]]:
    """Cases without their sealed parts, most urgent first."""
    if view == "overdue":
        return [c.to_dict() for c in desk.overdue(utcnow().date())][:limit]
    return [c.to_dict() for c in desk.cases(status=status, open_only=view == "open", limit=limit)]


@router.get("/v1/review/cases/{case_id}", **requires(Scope.REVIEW_READ, _ERRORS))
def get_case(case_id: CaseIdPath, desk: DeskDep) -> dict[str, Any]:
    """One case opened: the decision with its inputs, the explanation, the policy (model
    version, guardrails), the person's statement and the timeline."""
    return desk.detail(case_id).to_dict()


@router.post("/v1/review/cases/{case_id}/assign", **requires(Scope.REVIEW_WRITE, _ERRORS))
def post_assign(
    case_id: CaseIdPath, body: AssignIn, desk: DeskDep, request: Request
) -> dict[str, Any]:
    """Take the case (status ``in_review``)."""
    principal = request.state.principal
    return desk.assign(case_id, body.reviewer or f"api:{principal.name}").to_dict()


@router.post("/v1/review/cases/{case_id}/decision", **requires(Scope.REVIEW_WRITE, _ERRORS))
def post_decision(
    case_id: CaseIdPath, body: VerdictIn, desk: DeskDep, request: Request
) -> dict[str, Any]:
    """Uphold or override (with the corrected outcome), with reasons; the person is told
    through the outbox. A second decision on a case is a 409."""
    principal = request.state.principal
    return desk.decide(
        case_id,
        body.verdict,
        body.reasons,
        reviewer=f"api:{principal.name}",
        changes=body.changes,
        page_url=page_url(request),
    ).to_dict()


class ConfirmationIn(BaseModel):
    """A second reviewer's answer to a proposed verdict (four-eyes review)."""

    model_config = ConfigDict(extra="forbid")
    confirm: bool = Field(description="true: the verdict becomes final; false: send it back")
    reasons: str | None = Field(
        default=None, min_length=1, max_length=MAX_REASONS, description="Required to send back"
    )


@router.post("/v1/review/cases/{case_id}/confirmation", **requires(Scope.REVIEW_WRITE, _ERRORS))
def post_confirmation(
    case_id: CaseIdPath, body: ConfirmationIn, desk: DeskDep, request: Request
) -> dict[str, Any]:
    """Four-eyes review (``review_four_eyes``): confirm another reviewer's proposed verdict
    (final; the person is told) or send it back with reasons (``in_review`` again). 409 when
    nothing is proposed or when the proposer answers their own proposal."""
    who = f"api:{request.state.principal.name}"
    if body.confirm:
        return desk.confirm(case_id, reviewer=who, page_url=page_url(request)).to_dict()
    return desk.send_back(case_id, body.reasons or "", reviewer=who).to_dict()


@router.post("/v1/review/cases/{case_id}/extend", **requires(Scope.REVIEW_WRITE, _ERRORS))
def post_extend(
    case_id: CaseIdPath, body: ExtendIn, desk: DeskDep, request: Request
) -> dict[str, Any]:
    """Extend the deadline once where the law allows (e.g. GDPR Art. 12(3): two more months,
    decided within the first); the person is told why and until when through the outbox.
    409 when the regime allows no extension, the period already ended, the case was extended
    before or is resolved."""
    principal = request.state.principal
    return desk.extend(case_id, body.reason, reviewer=f"api:{principal.name}").to_dict()


@router.get("/v1/review/stats", **requires(Scope.FAIRNESS_READ))
def get_stats(
    request: Request,
    by: Literal["group", "jurisdiction", "kind"] = "group",
    min_group_size: Annotated[int, Query(ge=0, le=10_000)] = 10,
) -> dict[str, Any]:
    """Overturn rate per group (a fairness signal): counts, Wilson interval, test against the
    rest; groups with fewer resolved cases than ``min_group_size`` are suppressed."""
    return overturn_rates(get_workspace(request).store, by, min_group_size=min_group_size).to_dict()
