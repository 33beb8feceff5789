"""Data-subject requests over HTTP (thin: parse, call :class:`trustcart.rights.RightsService`).

Scopes: ``rights:write`` submits and verifies (the shop's backend or support, on the person's
behalf); ``rights:read`` follows requests up; ``rights:admin`` (the DPO) carries them out,
extends, denies and downloads access packages, which hold the person's data.
Vendors report on pending tasks at ``/hooks/rights/tasks/{id}``, authenticated by the
connector's HMAC signature instead of an API key.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from trustcart.api.auth import get_workspace, requires
from trustcart.api.schemas import ErrorBody
from trustcart.errors import AuthenticationError, NotFound, ValidationError
from trustcart.governance import Scope
from trustcart.rights import RequestIn, RequestStatus, RightsService, verify_signature

router = APIRouter(prefix="/v1/rights", tags=["rights"])
hooks = APIRouter(prefix="/hooks/rights", tags=["rights"])
RequestIdPath = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^rr_[0-9A-Z]+$")]
_429: dict[int | str, Any] = {
    429: {"model": ErrorBody, "description": "Too many wrong codes or codes sent"}
}


def get_rights(request: Request) -> RightsService:
    """One RightsService per app, sharing the app's consent service and gateway."""
    svc: RightsService | None = getattr(request.app.state, "rights", None)
    if svc is None:
        from trustcart.api.routers.decisions import gateway_of

        gw = gateway_of(request.app)
        svc = RightsService(
            get_workspace(request),
            consent=gw.consent,
            gateway=gw,
            callback_base=str(request.base_url).rstrip("/"),
        )
        request.app.state.rights = svc
    return svc


RightsDep = Annotated[RightsService, Depends(get_rights)]


class RequestOut(BaseModel):
    """A request as stored; identifiers are never returned."""

    id: str
    type: str
    jurisdiction: str
    status: str
    statutory: bool
    citation: str | None
    channel: str
    needs_verification: bool
    received_at: datetime
    due_on: str
    acknowledge_by: str | None
    extended: bool
    details: dict[str, Any]
    result: dict[str, Any] | None
    reason: str | None
    completed_at: datetime | None
    days_left: int
    overdue: bool
    steps: list[dict[str, Any]] | None = None


class CodeIn(BaseModel):
    """The one-time code the person received."""

    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=6, max_length=6, pattern=r"^[0-9]{6}$")


class ReasonIn(BaseModel):
    """Why (sent to the person)."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=3, max_length=2000)


def _out(req: Any, steps: list[dict[str, Any]] | None = None) -> RequestOut:
    d = req.to_dict(datetime.now(UTC).date())
    return RequestOut(**d, steps=steps)


@router.post(
    "/requests", response_model=RequestOut, status_code=201, **requires(Scope.RIGHTS_WRITE)
)
def submit(body: RequestIn, svc: RightsDep, response: Response) -> RequestOut:
    """Record a request (201), or return the open identical one (200). Requests that disclose
    or change data wait for identity verification: a one-time code goes to the contact."""
    req, new = svc.submit(body)
    if not new:
        response.status_code = 200
    return _out(req)


@router.get("/requests", response_model=list[RequestOut], **requires(Scope.RIGHTS_READ))
def list_requests(
    svc: RightsDep,
    status: Annotated[list[RequestStatus] | None, Query()] = None,
    open_only: Annotated[bool, Query(alias="open")] = False,
    overdue: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[RequestOut]:
    """Requests, most urgent first (``overdue=true``: open and past their due date)."""
    if overdue:
        return [_out(r) for r in svc.overdue()[:limit]]
    return [_out(r) for r in svc.requests(status=status, open_only=open_only, limit=limit)]


@router.get("/requests/{request_id}", response_model=RequestOut, **requires(Scope.RIGHTS_READ))
def get_request(request_id: RequestIdPath, svc: RightsDep, steps: bool = False) -> RequestOut:
    """One request, optionally with its logged steps."""
    req = svc.get(request_id)
    return _out(req, svc.steps(request_id) if steps else None)


@router.post(
    "/requests/{request_id}/verify", response_model=RequestOut, **requires(Scope.RIGHTS_WRITE, _429)
)
def verify(request_id: RequestIdPath, body: CodeIn, svc: RightsDep) -> RequestOut:
    """Check the one-time code (attempts are limited)."""
    return _out(svc.verify(request_id, body.code))


@router.post("/requests/{request_id}/code", status_code=204, **requires(Scope.RIGHTS_WRITE, _429))
def send_code(request_id: RequestIdPath, svc: RightsDep) -> Response:
    """Send a fresh one-time code (limited per request)."""
    svc.send_code(request_id)
    return Response(status_code=204)


@router.post(
    "/requests/{request_id}/run", response_model=RequestOut, **requires(Scope.RIGHTS_ADMIN)
)
def run(request_id: RequestIdPath, svc: RightsDep) -> RequestOut:
    """Carry the request out over every store (safe to repeat)."""
    return _out(svc.run(request_id))


@router.post(
    "/requests/{request_id}/extend", response_model=RequestOut, **requires(Scope.RIGHTS_ADMIN)
)
def extend(request_id: RequestIdPath, body: ReasonIn, svc: RightsDep) -> RequestOut:
    """Extend the period where the law allows (the person is told)."""
    return _out(svc.extend(request_id, body.reason))


@router.post(
    "/requests/{request_id}/deny", response_model=RequestOut, **requires(Scope.RIGHTS_ADMIN)
)
def deny(request_id: RequestIdPath, body: ReasonIn, svc: RightsDep) -> RequestOut:
    """Refuse, with the reason and the person's next steps under their law."""
    return _out(svc.deny(request_id, body.reason))


@router.get(
    "/requests/{request_id}/package",
    **requires(Scope.RIGHTS_ADMIN, {200: {"content": {"application/zip": {}, "text/html": {}}}}),
)
def package(
    request_id: RequestIdPath,
    svc: RightsDep,
    format: Annotated[Literal["zip", "html"], Query()] = "zip",
) -> Response:
    """The access package: a zip (JSON + CSV + HTML) or the readable HTML page."""
    zip_bytes, html = svc.package(request_id)
    headers = {"Cache-Control": "no-store"}
    if format == "html":
        return HTMLResponse(html, headers=headers)
    headers["Content-Disposition"] = f'attachment; filename="{request_id}.zip"'
    return Response(zip_bytes, media_type="application/zip", headers=headers)


@router.get("/outbox", **requires(Scope.RIGHTS_ADMIN))
def outbox(
    svc: RightsDep,
    request: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """Messages written by the default sender (codes, notices, answers), newest first."""
    return [m.__dict__ for m in svc.outbox.messages(request, limit=limit)]


@router.get("/tasks", **requires(Scope.RIGHTS_READ))
def tasks(svc: RightsDep, pending: bool = False) -> list[dict[str, Any]]:
    """Per-store tasks; vendors that have not answered show as pending."""
    return svc.tasks(pending_only=pending)


@hooks.post(
    "/tasks/{task_id}",
    responses={401: {"model": ErrorBody, "description": "Bad or stale signature"}},
)
async def task_callback(
    task_id: Annotated[str, Path(min_length=1, max_length=40, pattern=r"^task_[0-9a-f]+$")],
    request: Request,
    svc: RightsDep,
    x_trustcart_timestamp: Annotated[str, Header(max_length=20)],
    x_trustcart_signature: Annotated[str, Header(max_length=100)],
) -> dict[str, Any]:
    """A vendor's result for a pending task, signed with the connector's secret."""
    import os

    body = await request.body()
    task = next((t for t in svc.tasks() if t["id"] == task_id), None)
    if task is None:
        raise NotFound(f"no task {task_id!r}")
    ds = next((d for d in svc.datamap().datasets if d.key == task["dataset"]), None)
    secret_env = ds.connector.secret_env if ds and ds.connector else None
    secret = os.environ.get(secret_env or "", "")
    if not secret or not verify_signature(
        secret.encode(), x_trustcart_timestamp, body, x_trustcart_signature
    ):
        raise AuthenticationError("bad or stale signature for this task")
    try:
        answer = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ValidationError("the body must be JSON: {status, rows_found, rows_changed}") from None
    if not isinstance(answer, dict):
        raise ValidationError("the body must be a JSON object")
    return svc.task_result(task_id, answer)
