"""Dashboard pages for human review: the queue (due dates, overdue first, overturn rates by
group) and one case (decision, inputs, explanation, policy, statement; uphold/override form).

Thin over :class:`trustcart.review.ReviewDesk` (shared with the API). Opening a case unseals the
shopper's statement and the decision's inputs, so the page writes an access-log entry first,
as the API route does; the queue opens nothing.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from fastapi import Depends, Query, Request
from fastapi.responses import RedirectResponse, Response

from trustcart.api.auth import get_workspace
from trustcart.api.routers.review import get_desk, page_url
from trustcart.dashboard.pages import router
from trustcart.dashboard.web import HEADERS, Posted, Viewer, need, posted, render, url
from trustcart.errors import NotFound, TrustCartError, ValidationError
from trustcart.governance import Scope

_VIEWS = ("open", "overdue", "all")


def _actor(v: Viewer) -> str:
    return f"dashboard:{v.principal.name}"


@router.get("/review", name="dashboard_review")
def review_queue(
    request: Request,
    v: Annotated[Viewer, Depends(need(Scope.REVIEW_READ))],
    view: Annotated[Literal["open", "overdue", "all"], Query()] = "open",
    by: Annotated[Literal["group", "jurisdiction", "kind"], Query()] = "group",
) -> Response:
    """Contested decisions, earliest due first; overturn rate by group below."""
    from trustcart.clock import utcnow
    from trustcart.review import overturn_rates

    desk = get_desk(request)
    today = utcnow().date()
    cases = desk.overdue(today) if view == "overdue" else desk.cases(open_only=view == "open")
    stats = overturn_rates(get_workspace(request).store, by)
    return render(
        request,
        "review.html.j2",
        cases=cases,
        view=view,
        views=_VIEWS,
        today=today,
        stats=stats,
        by=by,
    )


def _detail(
    request: Request, v: Viewer, case_id: str, *, status: int = 200, error: str | None = None
) -> Response:
    from trustcart.clock import utcnow

    desk = get_desk(request)
    desk.get(case_id)  # 404 before anything is opened (the scope guard logged the read)
    d = desk.detail(case_id)
    return render(
        request,
        "review_detail.html.j2",
        status=status,
        d=d,
        c=d.case,
        today=utcnow().date(),
        inputs=orjson.dumps(d.decision.get("inputs"), option=orjson.OPT_INDENT_2).decode(),
        output=orjson.dumps(d.decision.get("output"), option=orjson.OPT_INDENT_2).decode(),
        error=error,
        fields=sorted(d.decision.get("output", {})),
    )


@router.get("/review/{case_id}", name="dashboard_review_case")
def review_case(
    request: Request, case_id: str, v: Annotated[Viewer, Depends(need(Scope.REVIEW_READ))]
) -> Response:
    """One case, opened for its reviewer."""
    return _detail(request, v, case_id)


@router.post("/review/{case_id}/{action}", name="dashboard_review_action")
def review_action(
    request: Request,
    case_id: str,
    action: Literal["assign", "decide", "extend", "confirm", "send_back"],
    p: Annotated[Posted, Depends(posted(Scope.REVIEW_WRITE))],
) -> Response:
    """Take the case, extend its deadline, uphold/override it with reasons (the shopper is
    told at once), or — with four-eyes review — confirm or send back a colleague's verdict."""
    desk = get_desk(request)
    try:
        if action == "assign":
            desk.assign(case_id, _actor(p.viewer))
        elif action == "extend":
            desk.extend(case_id, p.form.get("reason", ""), reviewer=_actor(p.viewer))
        elif action == "confirm":
            desk.confirm(case_id, reviewer=_actor(p.viewer), page_url=page_url(request))
        elif action == "send_back":
            desk.send_back(case_id, p.form.get("reasons", ""), reviewer=_actor(p.viewer))
        else:
            verdict = p.form.get("verdict", "")
            changes: dict[str, Any] | None = None
            if verdict == "override":
                name, value = p.form.get("field", ""), p.form.get("value", "")
                if not name:
                    raise ValidationError("choose the output field the override corrects")
                changes = {name: None if value == "" else value}
            desk.decide(
                case_id,
                verdict,
                p.form.get("reasons", ""),
                reviewer=_actor(p.viewer),
                changes=changes,
                page_url=page_url(request),
            )
    except NotFound:
        raise
    except TrustCartError as exc:
        return _detail(request, p.viewer, case_id, status=exc.status, error=exc.message)
    return RedirectResponse(
        url(request, f"/review/{case_id}?done={action}"), status_code=303, headers=HEADERS
    )
