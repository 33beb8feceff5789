"""Governance over HTTP: the access log, access reviews, training records, ethics reviews.

Scopes: ``access:read`` (the DPO) reads the access log, key review status and training; reading
the access log is itself logged, as it names who looked at whom. ``access:admin`` records
reviews and training. ``ethics:read`` lists ethics reviews; ``ethics:review`` (the ethics
committee only) records them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from trustcart.api.auth import access_pseudonyms, get_workspace, requires
from trustcart.governance import (
    AccessPolicy,
    Scope,
    access_entries,
    access_reviews,
    ethics_reviews,
    grant_status,
    record_training,
    review_access,
    review_model,
    training_gaps,
    training_records,
    verify_access_log,
)
from trustcart.workspace import Workspace

router = APIRouter(prefix="/v1", tags=["governance"])
WorkspaceDep = Annotated[Workspace, Depends(get_workspace)]
_Slug = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]


def _actor(request: Request) -> str:
    return str(request.state.principal.key_id)


@router.get("/access/log", **requires(Scope.ACCESS_READ))
def get_access_log(
    request: Request,
    ws: WorkspaceDep,
    key_id: Annotated[str | None, Query(max_length=40)] = None,
    subject: Annotated[
        str | None,
        Query(max_length=320, description="A person's id or pseudonym: who read their data"),
    ] = None,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[dict[str, Any]]:
    """Reads of personal data, newest first (by key, by person, since a time)."""
    found = access_pseudonyms(request).candidates(subject) if subject else None
    return [
        e.to_dict()
        for e in access_entries(ws.store, key_id=key_id, subject=found, since=since, limit=limit)
    ]


@router.get("/access/verify", **requires(Scope.ACCESS_READ))
def get_access_verify(ws: WorkspaceDep) -> dict[str, Any]:
    """Recompute the access log's chain and compare its table copy with it."""
    return verify_access_log(ws.store).to_dict()


@router.get("/access/grants", **requires(Scope.ACCESS_READ))
def get_grants(ws: WorkspaceDep, on: date | None = None) -> list[dict[str, Any]]:
    """Every active key: review due date, overdue, last read of personal data, unused."""
    policy = AccessPolicy.of(ws.settings)
    return [g.to_dict() for g in grant_status(ws.store, policy=policy, on=on)]


@router.get("/access/reviews", **requires(Scope.ACCESS_READ))
def get_reviews(
    ws: WorkspaceDep, key_id: Annotated[str | None, Query(max_length=40)] = None
) -> list[dict[str, Any]]:
    """Recorded access reviews, oldest first."""
    return [r.to_dict() for r in access_reviews(ws.store, key_id)]


class ReviewIn(BaseModel):
    """An access review of one key."""

    model_config = ConfigDict(extra="forbid")
    key_id: str = Field(min_length=1, max_length=40)
    decision: Literal["approved", "revoked"]
    reviewer: str = Field(min_length=1, max_length=200)
    note: str | None = Field(default=None, max_length=2000)


@router.post("/access/reviews", status_code=201, **requires(Scope.ACCESS_ADMIN))
def post_review(body: ReviewIn, ws: WorkspaceDep, request: Request) -> dict[str, Any]:
    """Re-approve a key until its next review, or revoke it now."""
    return review_access(
        ws.store,
        body.key_id,
        decision=body.decision,
        reviewer=body.reviewer,
        note=body.note,
        review_days=ws.settings.access_review_days,
        actor=_actor(request),
    ).to_dict()


class TrainingIn(BaseModel):
    """A completed course."""

    model_config = ConfigDict(extra="forbid")
    person: str = Field(min_length=1, max_length=200, description="As the person's key is named")
    course: _Slug
    completed_on: date
    expires_on: date | None = None


@router.get("/training", **requires(Scope.ACCESS_READ))
def get_training(
    ws: WorkspaceDep, person: Annotated[str | None, Query(max_length=200)] = None
) -> list[dict[str, Any]]:
    """Training records, oldest completion first."""
    return [t.to_dict() for t in training_records(ws.store, person)]


@router.get("/training/gaps", **requires(Scope.ACCESS_READ))
def get_training_gaps(ws: WorkspaceDep, on: date | None = None) -> list[dict[str, Any]]:
    """People with personal-data access lacking a required course, or holding an expired one."""
    gaps = training_gaps(ws.store, required=ws.settings.training_required, on=on)
    return [g.to_dict() for g in gaps]


@router.post("/training", status_code=201, **requires(Scope.ACCESS_ADMIN))
def post_training(body: TrainingIn, ws: WorkspaceDep, request: Request) -> dict[str, Any]:
    """Record a completed course (expiring after training_validity_days unless given)."""
    return record_training(
        ws.store,
        body.person,
        body.course,
        body.completed_on,
        expires_on=body.expires_on,
        validity_days=ws.settings.training_validity_days,
        actor=_actor(request),
    ).to_dict()


class EthicsReviewIn(BaseModel):
    """The committee's decision on a model version."""

    model_config = ConfigDict(extra="forbid")
    model: str = Field(min_length=1, max_length=200)
    version: str = Field(min_length=1, max_length=64)
    decision: Literal["approved", "approved_with_conditions", "rejected"]
    reviewer: str = Field(min_length=1, max_length=200)
    reasons: str = Field(default="", max_length=10_000)
    conditions: list[Annotated[str, Field(min_length=1, max_length=2000)]] = Field(
        default_factory=list, max_length=50
    )
    aia: str | None = Field(default=None, max_length=200)


@router.get("/ethics/reviews", **requires(Scope.ETHICS_READ))
def get_ethics_reviews(
    ws: WorkspaceDep,
    model: Annotated[str | None, Query(max_length=200)] = None,
    version: Annotated[str | None, Query(max_length=64)] = None,
) -> list[dict[str, Any]]:
    """Ethics reviews, oldest first; the newest for a model version is the one that counts."""
    return [r.to_dict() for r in ethics_reviews(ws.store, model=model, version=version)]


@router.post("/ethics/reviews", status_code=201, **requires(Scope.ETHICS_REVIEW))
def post_ethics_review(body: EthicsReviewIn, ws: WorkspaceDep, request: Request) -> dict[str, Any]:
    """Approve, approve with conditions, or reject (with reasons) a model version."""
    review = review_model(
        ws.store,
        body.model,
        body.version,
        decision=body.decision,
        reviewer=body.reviewer,
        reasons=body.reasons,
        conditions=body.conditions,
        aia=body.aia,
        actor=_actor(request),
    )
    return review.to_dict()
