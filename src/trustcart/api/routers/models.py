"""The model registry and human-oversight decisions over HTTP (read only).

``GET /v1/models`` is ``trustcart models list --format json``: each registered version with its
features (and the purpose each serves), the sha256 of its training data, its artefact, the
fairness audit that cleared it and the decision kind it serves. It is the provenance an auditor
asks for (EU AI Act Art. 11 technical documentation), so it needs ``compliance:read`` like the
scanner whose ``models`` checks read the same registry.

``GET /v1/oversight`` is ``trustcart oversight list --format json``: who approved (or rejected)
which model version to serve, citing which AIA and its AI Act screening. It needs
``ethics:read``, like the ethics committee's reviews it sits beside (``GET /v1/ethics/reviews``):
both are decisions of named staff on model versions. Neither holds a shopper's data (the
reviewers named are staff accounts), so neither is written to the access log.

Approving a version stays a dashboard/CLI action: oversight must be given by a dashboard
account (a person with an oversight role), which an API key is not.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from trustcart.api.auth import get_workspace, requires
from trustcart.gateway import DecisionKind
from trustcart.governance import Scope
from trustcart.workspace import Workspace

router = APIRouter(prefix="/v1", tags=["models"])
WorkspaceDep = Annotated[Workspace, Depends(get_workspace)]


@router.get("/models", **requires(Scope.COMPLIANCE_READ))
def get_models(
    ws: WorkspaceDep,
    kind: Annotated[DecisionKind | None, Query(description="Only this decision kind")] = None,
) -> list[dict[str, Any]]:
    """Registered model versions, oldest first: ``name``, ``version``, ``kind``, ``features``
    (name, purpose, data-map refs), ``training_sha256``, ``artefact`` and ``artefact_sha256``,
    ``training`` (how it was trained), ``created_at``, ``audit`` (the latest fairness audit of
    its training data), ``cleared_by`` (that audit's id when it found no high disparity) and
    ``serving`` (the decision kind it serves now, or null)."""
    from trustcart.gateway import clearance, list_models
    from trustcart.models import serving_plan

    records = list_models(ws.store, kind=kind.value if kind else None)
    plan = serving_plan(ws)
    serving = {c.record.ref: k for k, c in plan.items() if c.record is not None}
    return [r.summary(clearance(ws.store, r), serving.get(r.ref)) for r in records]


@router.get("/oversight", **requires(Scope.ETHICS_READ))
def get_oversight(
    ws: WorkspaceDep,
    model: Annotated[str | None, Query(max_length=200, description="Only this model")] = None,
    version: Annotated[str | None, Query(max_length=64, description="Only this version")] = None,
) -> list[dict[str, Any]]:
    """Human-oversight decisions, oldest first (the newest for a version counts): ``id``,
    ``model``, ``version``, ``decision`` (approved/rejected), ``reviewer`` and ``role`` (the
    staff account), ``notes``, ``aia`` and ``aia_sha256`` (the assessment cited, as approved),
    ``screening`` (its AI Act tier and use cases) and ``created_at``."""
    from trustcart.governance import oversight_records

    rows = oversight_records(ws.store, model=model, version=version)
    return [{**r.to_dict(), "created_at": r.created_at.isoformat()} for r in rows]
