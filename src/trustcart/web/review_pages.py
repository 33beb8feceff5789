"""The shopper's review page: ``/privacy/review?token=…`` (see, contest, later the outcome).

Thin over :class:`trustcart.review.ReviewDesk`. No API key and no account: the signed, expiring
token from the decision's explanation (``contest.url``) names one decision and is the only
authority; it travels in the URL like the preference link, so every page is ``no-store`` with
no referrer, and the form posts it back in its body. No JavaScript: a plain form, readable
with the page's strict Content-Security-Policy. Rate-limited like the other public pages.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from trustcart.errors import TrustCartError
from trustcart.review import MAX_STATEMENT, ContestIn
from trustcart.web.rights_pages import _form
from trustcart.web.router import _PRIVATE, _error_page, _render, router

_SAFEGUARDS = {
    "inform": "be told that a decision about you was automated",
    "point_of_view": "give your point of view",
    "human_intervention": "have a person look at the decision",
    "contest": "contest the decision",
    "review": "ask for the decision to be reviewed",
}


def _desk(request: Request) -> Any:
    from trustcart.api.routers.review import get_desk

    return get_desk(request)


def _page(request: Request, token: str, *, status: int = 200, **ctx: Any) -> HTMLResponse:
    desk = _desk(request)
    decision_id = desk.decision_of(token)
    view = desk.shopper_view(decision_id)
    ctx.setdefault("error", None)
    ctx.setdefault("values", {})
    ctx.setdefault("done", False)
    return _render(
        request,
        "review.html.j2",
        status=status,
        headers=_PRIVATE,
        view=view,
        safeguards=[_SAFEGUARDS.get(s, s) for s in view["frame"]["safeguards"]],
        token=token,
        max_statement=MAX_STATEMENT,
        action_url=request.url_for("review_submit").path,
        **ctx,
    )


@router.get("/review", name="review_page", response_class=HTMLResponse, include_in_schema=False)
def review_page(
    request: Request, token: Annotated[str | None, Query(max_length=1000)] = None
) -> HTMLResponse:
    """The decision, its explanation in plain words, the contest form or the case's outcome."""
    try:
        return _page(request, token or "")
    except TrustCartError as exc:
        return _error_page(request, exc)


@router.post("/review", name="review_submit", response_class=HTMLResponse, include_in_schema=False)
async def review_submit(request: Request) -> HTMLResponse:
    """Contest the decision with the person's statement; then show the case."""
    values: dict[str, str] = {}
    token = ""
    try:
        values = await _form(request)
        token = values.get("token", "")
        desk = _desk(request)
        decision_id = desk.decision_of(token)
        contest = ContestIn(
            statement=values.get("statement", ""), contact=values.get("contact") or None
        )
        await run_in_threadpool(desk.contest, decision_id, contest, channel="web")
    except TrustCartError as exc:
        try:
            return _page(request, token, status=exc.status, error=exc.message, values=values)
        except TrustCartError as inner:
            return _error_page(request, inner)
    except ValueError as exc:  # pydantic: a contact that is not an e-mail address
        from trustcart.errors import ValidationError

        err = ValidationError(str(exc).splitlines()[-1] if str(exc) else "invalid form")
        try:
            return _page(request, token, status=422, error=_clean(err.message), values=values)
        except TrustCartError as inner:
            return _error_page(request, inner)
    return _page(request, token, status=201, done=True)


def _clean(message: str) -> str:
    """A pydantic message without its URL and type tags."""
    return message.split(" [type=")[0].removeprefix("Value error, ")
