"""The public rights-request form: ``/privacy/request`` (ask), then the one-time code (verify).

Thin over :class:`trustcart.rights.RightsService`. No API key: anyone may ask, and nothing is
disclosed or changed until the person proves control of the e-mail address with the code
(opt-outs, which only reduce processing, are applied at once). Rate-limited like the other
public endpoints; pages are ``no-store`` because they carry a request id.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from fastapi import Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from trustcart.errors import TrustCartError, ValidationError
from trustcart.rights import RequestStatus, RequestType, RightsService, parse_request
from trustcart.web.router import _MAX_FORM, _PRIVATE, _render, router

#: What the form offers, in the person's words.
LABELS: dict[RequestType, str] = {
    RequestType.ACCESS: "Send me a copy of the data you hold about me",
    RequestType.PORTABILITY: "Give me my data in a machine-readable file",
    RequestType.RECTIFICATION: "Correct data about me",
    RequestType.ERASURE: "Delete my data",
    RequestType.RESTRICTION: "Restrict the use of my data",
    RequestType.OBJECTION: "Stop using my data for profiling and marketing",
    RequestType.OPT_OUT_SALE_SHARING: "Do not sell or share my personal information",
    RequestType.OPT_OUT_TARGETED_ADS: "Stop targeted advertising",
    RequestType.OPT_OUT_PROFILING: "Stop profiling me (personalised prices and recommendations)",
    RequestType.LIMIT_SENSITIVE: "Limit the use of my sensitive personal information",
    RequestType.EXPLANATION: "Explain automated decisions about me",
}


def _service(request: Request) -> RightsService:
    from trustcart.api.routers.rights import get_rights

    return get_rights(request)


async def _form(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > _MAX_FORM:
        raise ValidationError("the form is too large")
    try:
        parsed = parse_qs(body.decode("utf-8", "replace"), max_num_fields=50)
    except ValueError:
        raise ValidationError("the form has too many fields") from None
    return {k: v[0].strip() for k, v in parsed.items() if v}


def _page(request: Request, svc: RightsService, *, status: int = 200, **ctx: Any) -> HTMLResponse:
    dm = svc.datamap()
    fields = sorted({f.name for ds in dm.datasets for f in ds.fields if not f.identifying})
    ctx.setdefault("values", {})
    ctx.setdefault("error", None)
    return _render(
        request,
        "request.html.j2",
        status=status,
        headers=_PRIVATE,
        organization=dm.organization.controller.name if dm.organization else "this shop",
        types=[(t.value, label) for t, label in LABELS.items()],
        jurisdictions=sorted(svc.rules.jurisdictions),
        default_jurisdiction=svc.settings.default_jurisdiction,
        fields=fields,
        action_url=request.url_for("rights_request_submit").path,
        verify_url=request.url_for("rights_request_verify").path,
        **ctx,
    )


@router.get(
    "/request", name="rights_request_page", response_class=HTMLResponse, include_in_schema=False
)
def request_page(request: Request) -> HTMLResponse:
    """The form."""
    return _page(request, _service(request), stage="ask")


@router.post(
    "/request", name="rights_request_submit", response_class=HTMLResponse, include_in_schema=False
)
async def request_submit(request: Request) -> HTMLResponse:
    """Record the request; ask for the code, or confirm an opt-out applied at once."""
    svc = _service(request)
    values: dict[str, str] = {}
    try:
        values = await _form(request)
        identifiers = {"email": values.get("email", "")}
        if values.get("customer_id"):
            identifiers[svc.settings.subject_identity] = values["customer_id"]
        details: dict[str, Any] = {}
        if values.get("field"):
            details["changes"] = {values["field"]: values.get("value", "")}
        req_in = parse_request(
            type=values.get("type", ""),
            identifiers={k: v for k, v in identifiers.items() if v},
            jurisdiction=values.get("jurisdiction") or None,
            details=details,
            channel="web_form",
        )
        req, _new = await run_in_threadpool(svc.submit, req_in)
    except TrustCartError as exc:
        return _page(request, svc, status=exc.status, stage="ask", values=values, error=exc.message)
    stage = "verify" if req.status is RequestStatus.RECEIVED else "done"
    return _page(request, svc, stage=stage, req=req, label=LABELS[req.type])


@router.post(
    "/request/verify",
    name="rights_request_verify",
    response_class=HTMLResponse,
    include_in_schema=False,
)
async def request_verify(request: Request) -> HTMLResponse:
    """Check the code; the privacy team then carries the request out by its due date."""
    svc = _service(request)
    values: dict[str, str] = {}
    try:
        values = await _form(request)
        rid = values.get("request_id", "")
        req = await run_in_threadpool(svc.verify, rid, values.get("code", ""))
    except TrustCartError as exc:
        req_id = values.get("request_id", "")
        try:
            req = svc.get(req_id)
        except TrustCartError:
            return _page(request, svc, status=exc.status, stage="ask", error=exc.message)
        return _page(
            request,
            svc,
            status=exc.status,
            stage="verify",
            req=req,
            label=LABELS[req.type],
            error=exc.message,
        )
    return _page(request, svc, stage="done", req=req, label=LABELS[req.type])
