"""The public whistleblower page: ``/concerns`` (raise) and ``/concerns/follow-up`` (replies).

Thin over :class:`trustcart.governance.ConcernBox`. No account and no API key; rate-limited
like the other public endpoints (by a keyed hash of the client address, held in memory only).
These handlers never read the client address, headers or cookies, so nothing identifying can
reach the box; the follow-up code travels in a POST body, never in a URL (no history, no
server logs, no referrer), and every page is ``no-store``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from trustcart.api.routers.concerns import get_box
from trustcart.errors import TrustCartError
from trustcart.governance.concerns import CATEGORIES, MAX_TEXT
from trustcart.web.rights_pages import _form
from trustcart.web.router import _PRIVATE, _render

router = APIRouter(prefix="/concerns", tags=["concerns (public)"], include_in_schema=False)


def _systems(request: Request) -> list[str]:
    from trustcart.gateway import list_models

    box = get_box(request)
    return sorted({m.name for m in list_models(box.store)})


def _organization(request: Request) -> str:
    from trustcart.catalog.repository import load_datamap

    dm = load_datamap(get_box(request).store)
    return dm.organization.controller.name if dm.organization else "this shop"


def _page(request: Request, *, stage: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    ctx.setdefault("values", {})
    ctx.setdefault("error", None)
    ctx.setdefault("thread", None)
    ctx.setdefault("token", None)
    return _render(
        request,
        "concerns.html.j2",
        status=status,
        headers=_PRIVATE,
        stage=stage,
        organization=_organization(request),
        systems=_systems(request) if stage == "ask" else [],
        categories=list(CATEGORIES.items()),
        max_text=MAX_TEXT,
        action_url=request.url_for("concern_submit").path,
        follow_url=request.url_for("concern_follow_up").path,
        **ctx,
    )


@router.get("", name="concern_page", response_class=HTMLResponse)
def concern_page(request: Request) -> HTMLResponse:
    """The form."""
    return _page(request, stage="ask")


@router.post("", name="concern_submit", response_class=HTMLResponse)
async def concern_submit(request: Request) -> HTMLResponse:
    """Seal and store the concern; show the follow-up code once."""
    values: dict[str, str] = {}
    try:
        values = await _form(request)
        raised = await run_in_threadpool(
            get_box(request).raise_concern,
            values.get("text", ""),
            system=values.get("system") or None,
            category=values.get("category") or "other",
        )
    except TrustCartError as exc:
        return _page(request, stage="ask", status=exc.status, values=values, error=exc.message)
    return _page(request, stage="raised", token=raised.token)


@router.get("/follow-up", name="concern_follow_up_page", response_class=HTMLResponse)
def follow_up_page(request: Request) -> HTMLResponse:
    """Ask for the follow-up code."""
    return _page(request, stage="follow")


@router.post("/follow-up", name="concern_follow_up", response_class=HTMLResponse)
async def follow_up(request: Request) -> HTMLResponse:
    """Show the thread for a code; add the reporter's message when one is sent."""
    box = get_box(request)
    token = ""
    try:
        values = await _form(request)
        token = values.get("token", "")
        text = values.get("text", "")
        if text:
            thread = await run_in_threadpool(box.reporter_message, token, text)
        else:
            thread = await run_in_threadpool(box.follow_up, token)
    except TrustCartError as exc:
        return _page(request, stage="follow", status=exc.status, error=exc.message)
    return _page(request, stage="follow", thread=thread, token=token)
