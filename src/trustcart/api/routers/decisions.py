"""Decisions over HTTP: take a gated decision, read it back, explain it, list a person's.

Thin: parse, call :class:`trustcart.gateway.Gateway`, render. The app's gateway serves the
models trained in the workspace (``trustcart models train``; ``serve_models`` setting); a
process may register more (``gateway_of(app).register(...)``). A kind with no model answers
409 saying how to register one.
"""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from trustcart.api.auth import requires
from trustcart.api.routers.consent import get_consent
from trustcart.api.schemas import ErrorBody
from trustcart.gateway import DecisionKind, DecisionRequest, Gateway
from trustcart.governance import Scope
from trustcart.models import serve_registered

router = APIRouter(tags=["decisions"])
# POST /v1/decisions/{kind} and GET /v1/decisions/{id} share one path template, ``{ref}``, so
# OpenAPI lists one resource with both methods (matching the ``Allow`` header).
_lock = threading.Lock()
_Id = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_]+$")]
_Subject = Annotated[str, Path(min_length=1, max_length=320)]
_ERRORS: dict[int | str, Any] = {
    404: {"model": ErrorBody, "description": "No such decision"},
    409: {"model": ErrorBody, "description": "No model registered / model not loaded"},
    410: {"model": ErrorBody, "description": "The person was erased: no explanation remains"},
    422: {"model": ErrorBody, "description": "Invalid input; the message says what to fix"},
}


def gateway_of(app: FastAPI) -> Gateway:
    """The app's one gateway (created on first use, sharing the app's consent service)."""
    gw: Gateway | None = getattr(app.state, "gateway", None)
    if gw is None:
        with _lock:
            gw = getattr(app.state, "gateway", None)
            if gw is None:
                consent = getattr(app.state, "consent", None)
                if consent is None:
                    from trustcart.consent import ConsentService

                    consent = ConsentService(app.state.workspace)
                    app.state.consent = consent
                gw = Gateway(app.state.workspace, consent=consent)
                # the models trained in the workspace (trustcart models train), as configured
                serve_registered(gw, app.state.workspace)
                app.state.gateway = gw
    return gw


def _gateway(request: Request) -> Gateway:
    get_consent(request)  # one ConsentService per app, shared with the consent routes
    return gateway_of(request.app)


async def get_gateway(request: Request) -> Gateway:
    """Dependency: the app's gateway. Async so the usual case (already built) costs no
    threadpool round trip; the first call builds it (loads models) in a worker thread."""
    gw: Gateway | None = getattr(request.app.state, "gateway", None)
    if gw is not None:
        return gw
    return await run_in_threadpool(_gateway, request)


GatewayDep = Annotated[Gateway, Depends(get_gateway)]


class DecisionIn(BaseModel):
    """A decision request. ``context`` holds feature values by the model's feature names."""

    model_config = ConfigDict(extra="forbid")

    subject: str = Field(min_length=1, max_length=320, description="The shop's id for the person")
    context: dict[str, Any] = Field(default_factory=dict, max_length=200)
    candidates: list[Annotated[str, Field(min_length=1, max_length=200)]] | None = Field(
        default=None, max_length=5000, description="Item ids (required for rank)"
    )
    jurisdiction: str | None = Field(default=None, max_length=16)
    list_price: Decimal | None = Field(default=None, description="Required for price, e.g. 49.90")
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    limit: int | None = Field(default=None, ge=1, le=5000)

    def request(self, kind: str) -> DecisionRequest:
        """The gateway's request for a decision of ``kind`` (shared by both POST routes and
        the fast path, so they cannot drift apart)."""
        return DecisionRequest(
            kind,
            self.subject,
            self.context,
            self.candidates,
            self.jurisdiction,
            self.list_price,
            self.currency,
            self.limit,
        )


class DecisionBatchItem(DecisionIn):
    """One decision of a batch: its kind plus the fields of a single decision."""

    kind: str = Field(max_length=32, description="recommend, rank, price, offer or credit")


class DecisionBatchIn(BaseModel):
    """Several decisions answered together, e.g. the prices of a listing page."""

    model_config = ConfigDict(extra="forbid")

    decisions: list[DecisionBatchItem] = Field(min_length=1, max_length=500)


@router.post(
    "/v1/decisions",
    status_code=201,
    response_model=dict[str, Any],
    **requires(Scope.DECISIONS_WRITE, _ERRORS),
)
def post_decisions(body: DecisionBatchIn, gw: GatewayDep) -> dict[str, Any]:
    """Take up to 500 decisions in one request, logged in one transaction (all or nothing):
    a refused item fails the batch before anything is logged, and the error names it."""
    taken = gw.decide_many([d.request(d.kind) for d in body.decisions])
    return {"decisions": [d.to_dict() for d in taken]}


@router.post(
    "/v1/decisions/{ref}",
    status_code=201,
    response_model=dict[str, Any],
    **requires(
        Scope.DECISIONS_WRITE,
        {
            **_ERRORS,
            413: {"model": ErrorBody, "description": "Body over 4 MiB (payload_too_large)"},
        },
    ),
)
async def post_decision(
    kind: Annotated[
        str, Path(alias="ref", max_length=32, description="kind: " + ", ".join(DecisionKind))
    ],
    body: DecisionIn,
    gw: GatewayDep,
) -> Response:
    """Take a decision through the gateway; answers once it is durably logged. A body over
    4 MiB is refused (413)."""
    # Usually served by trustcart.api.fastpath (same checks and answers, without the
    # framework's routing cost); this function answers when that handler steps aside
    # (dependency overrides, OpenTelemetry configured) and documents the operation.
    d = await gw.decide_async(body.request(kind))
    # the record is plain JSON types (money as strings): encoded directly, the same bytes
    # FastAPI's response_model path produces at a fraction of its cost on this hot route
    return Response(_json(d.to_dict()), status_code=201, media_type="application/json")


def _json(value: Any) -> bytes:
    return orjson.dumps(value, default=str)


@router.get(
    "/v1/decisions/{ref}",
    response_model=dict[str, Any],
    **requires(Scope.DECISIONS_READ, _ERRORS),
)
def get_decision(
    decision_id: Annotated[
        str,
        Path(
            alias="ref",
            min_length=1,
            max_length=40,
            pattern=r"^[A-Za-z0-9_]+$",
            description="decision id",
        ),
    ],
    gw: GatewayDep,
) -> dict[str, Any]:
    """A decision as recorded in the hash-chained log."""
    return gw.get(decision_id)


@router.get(
    "/v1/decisions/{decision_id}/explanation",
    response_model=dict[str, Any],
    **requires(Scope.DECISIONS_READ, _ERRORS),
)
def get_explanation(decision_id: _Id, gw: GatewayDep, request: Request) -> dict[str, Any]:
    """Why: exact attributions and plain-language reasons (computed once, then cached), and
    ``contest``: a signed, expiring link to the page where the person sees the decision and may
    contest it for human review (GDPR Art. 22(3)); hand ``contest.url`` to them."""
    from trustcart.api.routers.review import get_desk, page_url

    out = dict(gw.explanation(decision_id))
    link = get_desk(request).contest_link(decision_id)
    out["contest"] = link.to_dict(url=f"{page_url(request)}?token={link.token}")
    return out


@router.get(
    "/v1/subjects/{subject}/decisions",
    response_model=list[dict[str, Any]],
    **requires(Scope.DECISIONS_READ, _ERRORS),
)
def get_subject_decisions(
    subject: _Subject,
    gw: GatewayDep,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[dict[str, Any]]:
    """A person's decisions, newest first (for access requests, GDPR Art. 15(1)(h))."""
    return gw.for_subject(subject, limit=limit)


@router.get(
    "/v1/subjects/{subject}/explanations",
    response_model=list[dict[str, Any]],
    **requires(Scope.DECISIONS_READ, _ERRORS),
)
def get_subject_explanations(
    subject: _Subject,
    gw: GatewayDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """A person's decisions with why each was taken (items: the reason of each item shown),
    newest first — for access requests (GDPR Art. 15(1)(h))."""
    return gw.explanations_for(subject, limit=limit)
