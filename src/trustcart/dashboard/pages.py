"""The dashboard's routes: thin shells that call domain APIs and render templates.

Each page declares the scope it needs (``need(Scope.…)``); each form posts the session's CSRF
token (``posted(Scope.…)``). What a number means and how it is computed lives in the domain
packages and in :mod:`trustcart.dashboard.overview`, never here.
"""

from __future__ import annotations

import secrets
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from trustcart.api.auth import get_workspace
from trustcart.api.routers.decisions import gateway_of
from trustcart.api.routers.rights import get_rights
from trustcart.dashboard import charts
from trustcart.dashboard.links import DATAMAP_KINDS, object_path
from trustcart.dashboard.overview import SECTIONS, build_overview, findings_by_area
from trustcart.dashboard.web import (
    HEADERS,
    LOGIN_COOKIE,
    PREFIX,
    SESSION_COOKIE,
    PageError,
    PageRoute,
    Posted,
    Viewer,
    clear_cookie,
    cookie_name,
    need,
    posted,
    pseudonym_key,
    read_form,
    render,
    safe_next,
    set_cookie,
    url,
    viewer,
)
from trustcart.errors import AuthenticationError, NotFound, TrustCartError
from trustcart.governance import (
    MAX_AGE,
    AccessPolicy,
    Scope,
    authenticate_password,
    csrf_ok,
    csrf_token,
    disable_user,
    end_session,
    ethics_reviews,
    grant_status,
    list_keys,
    list_users,
    record_training,
    review_access,
    review_model,
    revoke_key,
    start_session,
    training_gaps,
    training_records,
)
from trustcart.store import Store

router = APIRouter(prefix=PREFIX, route_class=PageRoute, include_in_schema=False)

STATIC = Path(__file__).resolve().parent / "static"
_STATIC_TYPES = {
    "dashboard.css": "text/css; charset=utf-8",
    "dashboard.js": "text/javascript; charset=utf-8",
}
_SEVERITIES = ("high", "medium", "low")
_SECTION_SCOPES = {
    "compliance": Scope.COMPLIANCE_READ,
    "consent": Scope.CONSENT_STATS,
    "rights": Scope.RIGHTS_READ,
    "fairness": Scope.FAIRNESS_READ,
}


def _actor(v: Viewer) -> str:
    return f"dashboard:{v.principal.name}"


# --- static, login, logout ----------------------------------------------------------------------


@router.get("/static/{name}", name="dashboard_static")
def static_file(name: str) -> Response:
    """The dashboard's own CSS and JS (a fixed list: no path from the URL reaches the disk)."""
    if name not in _STATIC_TYPES:
        raise NotFound(f"no static file {name!r}")
    return FileResponse(
        STATIC / name,
        media_type=_STATIC_TYPES[name],
        headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
    )


@router.get("/login", name="dashboard_login")
def login_page(
    request: Request,
    next: Annotated[str | None, Query(max_length=500)] = None,
    expired: Annotated[str | None, Query(max_length=1)] = None,
) -> Response:
    """The login form. A random nonce in a cookie and an HMAC of it in the form protect the
    login itself against cross-site request forgery (there is no session yet)."""
    nonce = secrets.token_urlsafe(24)
    response = render(
        request,
        "login.html.j2",
        next_path=safe_next(next),
        login_csrf=csrf_token(pseudonym_key(request), nonce),
        error="Your session ended; please log in again." if expired else None,
        username="",
    )
    set_cookie(response, request, LOGIN_COOKIE, nonce, max_age=3600)
    return response


@router.post("/login", name="dashboard_login_submit")
async def login_submit(request: Request) -> Response:
    """Check the password; on success start a session and go where the user was heading."""
    form = await read_form(request)
    nonce = request.cookies.get(cookie_name(request, LOGIN_COOKIE))
    if not csrf_ok(pseudonym_key(request), nonce, form.get("csrf")):
        raise PageError(
            403,
            "Form rejected",
            "The login form was missing its security token (CSRF) or it expired, so nothing "
            "was done. Open the login page again.",
        )
    store = get_workspace(request).store
    next_path = safe_next(form.get("next"))
    try:
        user = await run_in_threadpool(
            authenticate_password, store, form.get("username", ""), form.get("password", "")
        )
        token = await run_in_threadpool(start_session, store, user)
    except AuthenticationError as exc:
        new_nonce = secrets.token_urlsafe(24)
        page = render(
            request,
            "login.html.j2",
            status=401,
            next_path=next_path,
            login_csrf=csrf_token(pseudonym_key(request), new_nonce),
            error=exc.message,
            username=form.get("username", "")[:64],
        )
        set_cookie(page, request, LOGIN_COOKIE, new_nonce, max_age=3600)
        return page
    response = RedirectResponse(next_path, status_code=303, headers=HEADERS)
    set_cookie(response, request, SESSION_COOKIE, token, max_age=int(MAX_AGE.total_seconds()))
    clear_cookie(response, request, LOGIN_COOKIE)
    return response


@router.post("/logout", name="dashboard_logout")
def logout(request: Request, p: Annotated[Posted, Depends(posted(None))]) -> Response:
    """End the session at once (the cookie is worthless afterwards, even if kept)."""
    end_session(get_workspace(request).store, p.viewer.token)
    response = RedirectResponse(url(request, "/login"), status_code=303, headers=HEADERS)
    clear_cookie(response, request, SESSION_COOKIE)
    return response


# --- overview -----------------------------------------------------------------------------------


def _score_chart(ov: Any) -> Any:
    points = [(s.created_at.strftime("%d %b %H:%M"), float(s.score)) for s in ov.trend]
    if ov.scan is not None:
        points.append(("now", float(ov.scan.score)))
    return charts.line_chart(
        "score-trend",
        [p[0] for p in points],
        [charts.Series("compliance score", [p[1] for p in points])],
        title="Compliance score over recorded scans (0–100)",
        y_max=100,
        height=220,
    )


def _consent_charts(trends: list[Any]) -> list[tuple[Any, Any]]:
    out = []
    for t in trends:
        chart = charts.line_chart(
            f"consent-{t.jurisdiction}",
            t.days,
            [charts.Series(p, v) for p, v in t.series.items()],
            title=f"Grant rate per purpose per day in {t.jurisdiction}",
            y_max=1.0,
            percent=True,
        )
        out.append((t, chart))
    return out


def _audit_chart(audit: dict[str, Any], chart_id: str = "audit") -> Any:
    """Headline metric per reported group with its 95% CI, from a stored audit document."""
    from trustcart.fairness.findings import label
    from trustcart.fairness.report import headline_metric

    doc = audit["result"]
    head = headline_metric(doc["kind"])
    if head is None:
        return None
    metric, ci_key = head
    bars = []
    for g in doc.get("groups", []):
        if g.get("suppressed") or g.get(metric) is None:
            continue
        ci = g.get(ci_key) or [None, None]
        bars.append(charts.Bar(label(g["group"]), float(g[metric]), ci[0], ci[1]))
    outcome = doc.get("parameters", {}).get("outcome", "")
    groups = " × ".join(doc.get("parameters", {}).get("groups", []))
    return charts.bar_chart(
        chart_id,
        bars,
        title=f"{metric.replace('_', ' ')} of {outcome} by {groups} (95% CI)",
        x_label=f"{metric.replace('_', ' ')} (whiskers: 95% confidence interval)",
    )


@router.get("/", name="dashboard_overview")
def overview(request: Request, v: Annotated[Viewer, Depends(viewer)]) -> Response:
    """The posture at a glance; each card only for a role that may see it."""
    sections = [s for s in SECTIONS if v.can(_SECTION_SCOPES[s])]
    rights = get_rights(request) if "rights" in sections else None
    ov = build_overview(get_workspace(request), rights=rights, sections=sections)
    return render(
        request,
        "overview.html.j2",
        ov=ov,
        sections=sections,
        score_chart=_score_chart(ov) if ov.scan is not None else None,
        consent_charts=_consent_charts(ov.consent_trends),
        audit_chart=_audit_chart(ov.latest_audit) if ov.latest_audit else None,
        object_path=object_path,
    )


# --- findings -----------------------------------------------------------------------------------


@router.get("/findings", name="dashboard_findings")
def findings(
    request: Request,
    v: Annotated[Viewer, Depends(need(Scope.COMPLIANCE_READ))],
    severity: Annotated[Literal["", "high", "medium", "low"], Query()] = "",
    area: Annotated[str, Query(max_length=40, pattern=r"^[a-z_]*$")] = "",
    recorded: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    """Every open finding of a live scan, filtered by severity and area."""
    from trustcart.compliance import scan

    result = scan(get_workspace(request))
    shown = [
        f
        for f in result.findings
        if (not severity or f.severity == severity) and (not area or f.area == area)
    ]
    return render(
        request,
        "findings.html.j2",
        result=result,
        shown=shown,
        by_area=findings_by_area(result),
        areas=sorted({f.area for f in result.findings} | set(result.areas)),
        severity=severity,
        area=area,
        recorded=recorded,
        object_path=object_path,
    )


@router.get("/findings/{finding_id}", name="dashboard_finding")
def finding(
    request: Request,
    finding_id: str,
    v: Annotated[Viewer, Depends(need(Scope.COMPLIANCE_READ))],
) -> Response:
    """One finding: the object it is about (linked), the rule it breaks and the fix."""
    from trustcart.compliance import scan

    result = scan(get_workspace(request))
    match = next((f for f in result.findings if f.id == finding_id), None)
    if match is None:
        raise NotFound(
            f"no open finding {finding_id!r}: it may have been fixed since (run the scan again "
            "from the findings page)"
        )
    return render(request, "finding.html.j2", f=match, object_path=object_path(match.object))


@router.post("/findings/record", name="dashboard_record_scan")
def record(
    request: Request, p: Annotated[Posted, Depends(posted(Scope.COMPLIANCE_READ))]
) -> Response:
    """Record a scan now: a new point of the score trend."""
    from trustcart.compliance import record_scan, scan

    snap = record_scan(
        get_workspace(request).store, scan(get_workspace(request)), actor=_actor(p.viewer)
    )
    return RedirectResponse(
        url(request, f"/findings?recorded={snap.id}"), status_code=303, headers=HEADERS
    )


# --- data map -----------------------------------------------------------------------------------


@lru_cache(maxsize=4)
def _graph(store: Store, admin_head: tuple[int, str]) -> str:
    """The flows diagram, drawn once per data-map version (the admin log head moves on every
    load; drawing takes about half a second)."""
    from trustcart.catalog import render_graph
    from trustcart.catalog.repository import load_datamap

    return render_graph(load_datamap(store), "svg")


@router.get("/datamap", name="dashboard_datamap")
def datamap(request: Request, v: Annotated[Viewer, Depends(need(Scope.CATALOG_READ))]) -> Response:
    """Systems, datasets, purposes, recipients and the flows diagram."""
    from trustcart.catalog.repository import load_datamap

    dm = load_datamap(get_workspace(request).store)
    return render(request, "datamap.html.j2", dm=dm, summary=dm.summary().rows())


@router.get("/datamap/graph.svg", name="dashboard_datamap_graph")
def datamap_graph(
    request: Request, v: Annotated[Viewer, Depends(need(Scope.CATALOG_READ))]
) -> Response:
    """The data-flow diagram as an SVG document (an image of the page, so its inline styles
    stay inside the image and the page's CSP can forbid them)."""
    ws = get_workspace(request)
    head = ws.store.log("admin").head()
    svg = _graph(ws.store, head)
    return Response(
        svg,
        media_type="image/svg+xml",
        headers={
            "Cache-Control": "no-store",
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get("/datamap/{kind}/{key}", name="dashboard_datamap_object")
def datamap_object(
    request: Request,
    kind: str,
    key: str,
    v: Annotated[Viewer, Depends(need(Scope.CATALOG_READ))],
) -> Response:
    """One data-map object, the flows touching it and the open findings about it."""
    from trustcart.catalog.repository import load_datamap

    if kind not in DATAMAP_KINDS:
        raise NotFound(f"no data-map kind {kind!r}; kinds: {', '.join(DATAMAP_KINDS)}")
    dm = load_datamap(get_workspace(request).store)
    section = getattr(dm, kind + "s")
    obj = next((o for o in section if o.key == key), None)
    if obj is None:
        raise NotFound(f"no {kind} {key!r} in the data map")
    about: list[Any] = []
    if v.can(Scope.COMPLIANCE_READ):
        from trustcart.compliance import scan

        prefix = f"{kind}:{key}"
        about = [
            f
            for f in scan(get_workspace(request)).findings
            if f.object == prefix or f.object.startswith(prefix + ".")
        ]
    flows = [f for f in dm.flows if _touches(f, kind, key)]
    datasets = dm.datasets_of(key) if kind == "system" else []
    return render(
        request,
        "datamap_object.html.j2",
        kind=kind,
        obj=obj,
        body=obj.model_dump(mode="json", by_alias=True, exclude_none=True),
        flows=flows,
        datasets=datasets,
        findings=about,
    )


def _touches(flow: Any, kind: str, key: str) -> bool:
    if kind in ("system", "recipient"):
        return key in (flow.source, flow.target)
    if kind == "purpose":
        return bool(flow.purpose == key)
    return bool(kind == "flow" and flow.key == key)


# --- consent ------------------------------------------------------------------------------------


def _consent_page(request: Request, **extra: Any) -> Response:
    from trustcart.consent import consent_rates, list_notices
    from trustcart.dashboard.overview import consent_trends, rate_rows

    ws = get_workspace(request)
    rates = consent_rates(ws.store)
    rows = rate_rows(rates)
    return render(
        request,
        "consent.html.j2",
        notices=sorted(list_notices(ws.store), key=lambda n: n.effective_at, reverse=True),
        rates=rows,
        events=sum(r.events for r in rows),
        consent_charts=_consent_charts(consent_trends(rates)),
        logs=[(n, *ws.store.log(n).head()) for n in ws.store.log_names()],
        **extra,
    )


@router.get("/consent", name="dashboard_consent")
def consent(request: Request, v: Annotated[Viewer, Depends(need(Scope.CONSENT_STATS))]) -> Response:
    """Notices and their versions, grant rates per purpose and jurisdiction, the ledgers."""
    return _consent_page(request, checks=None)


@router.post("/consent/verify", name="dashboard_verify")
def verify(request: Request, p: Annotated[Posted, Depends(posted(Scope.LEDGER_READ))]) -> Response:
    """Recompute every hash chain and compare the copy tables (as `trustcart ledger verify`)."""
    from trustcart.evidence import verify_evidence

    if not p.viewer.can(Scope.CONSENT_STATS):
        raise PageError(403, "Not for your role", "The consent page needs consent:stats.")
    checks = verify_evidence(get_workspace(request).store)
    return _consent_page(request, checks=checks)


# --- decisions ----------------------------------------------------------------------------------


@router.get("/decisions", name="dashboard_decisions")
def decisions(
    request: Request,
    v: Annotated[Viewer, Depends(need(Scope.DECISIONS_READ))],
    id: Annotated[str, Query(max_length=40, pattern=r"^[A-Za-z0-9_]*$")] = "",
    model: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """Search a decision by id: the logged record and its explanation; the models served."""
    from trustcart.gateway import list_models

    record: dict[str, Any] | None = None
    explanation: dict[str, Any] | None = None
    problem: str | None = None
    status = 200
    if id:
        gw = gateway_of(request.app)
        try:
            record = gw.get(id)
        except TrustCartError as exc:
            problem, status = exc.message, exc.status
        if record is not None:
            try:
                explanation = gw.explanation(id)
            except TrustCartError as exc:
                problem = f"No explanation: {exc.message}"
    return render(
        request,
        "decisions.html.j2",
        status=status,
        query=id,
        record=record,
        fields=_decision_fields(record) if record else [],
        explanation=explanation,
        problem=problem,
        models=list_models(get_workspace(request).store),
        model=model,
    )


def _decision_fields(record: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    for k, val in record.items():
        text = val if isinstance(val, str) else orjson.dumps(val, default=str).decode()
        out.append((k, text))
    return out


# --- fairness -----------------------------------------------------------------------------------


@router.get("/fairness", name="dashboard_fairness")
def fairness(
    request: Request, v: Annotated[Viewer, Depends(need(Scope.FAIRNESS_READ))]
) -> Response:
    """Stored audits, newest first: disparity audits, proxy scans, mitigations."""
    from trustcart.fairness.store import list_audits

    return render(
        request, "fairness.html.j2", audits=list_audits(get_workspace(request).store, limit=200)
    )


@router.get("/fairness/{audit_id}", name="dashboard_audit")
def audit(
    request: Request,
    audit_id: str,
    v: Annotated[Viewer, Depends(need(Scope.FAIRNESS_READ))],
) -> Response:
    """One stored audit: findings, the per-group chart with CIs (or before/after bars for a
    mitigation), the groups table and the fingerprint of what was audited."""
    from trustcart.fairness.findings import label
    from trustcart.fairness.store import get_audit

    a = get_audit(get_workspace(request).store, audit_id)
    doc = a["result"]
    chart = None
    if doc.get("kind") == "mitigation":
        m = doc.get("metric", "")
        rows = [
            (
                label(g["group"]),
                float(g.get("before", {}).get(m) or 0.0),
                float(g.get("after", {}).get(m) or 0.0),
            )
            for g in doc.get("groups", [])
        ]
        chart = charts.paired_bars(
            "mitigation", rows, title=f"{m.replace('_', ' ')} per group before and after"
        )
    else:
        chart = _audit_chart(a)
    from trustcart.fairness.report import distribution_chart

    return render(
        request,
        "audit.html.j2",
        a=a,
        doc=doc,
        chart=chart,
        distribution=distribution_chart(doc),
        label=label,
        fingerprint=orjson.dumps(a["source_fingerprint"], option=orjson.OPT_INDENT_2).decode(),
    )


# --- rights -------------------------------------------------------------------------------------

_VIEWS = ("open", "overdue", "due_soon", "all")


@router.get("/rights", name="dashboard_rights")
def rights_queue(
    request: Request,
    v: Annotated[Viewer, Depends(need(Scope.RIGHTS_READ))],
    view: Annotated[Literal["open", "overdue", "due_soon", "all"], Query()] = "open",
) -> Response:
    """The queue, most urgent first."""
    from trustcart.clock import utcnow

    svc = get_rights(request)
    today = utcnow().date()
    if view == "overdue":
        reqs = svc.overdue(today)
    elif view == "due_soon":
        reqs = svc.due_soon(7, today)
    else:
        reqs = svc.requests(open_only=view == "open", limit=1000)
    return render(request, "rights.html.j2", reqs=reqs, view=view, views=_VIEWS, today=today)


def _rights_detail(
    request: Request, request_id: str, *, status: int = 200, error: str | None = None
) -> Response:
    from trustcart.clock import utcnow

    svc = get_rights(request)
    req = svc.get(request_id)
    return render(
        request,
        "rights_detail.html.j2",
        status=status,
        req=req,
        steps=svc.steps(request_id),
        tasks=svc.tasks(request_id),
        messages=svc.outbox.messages(request_id),
        today=utcnow().date(),
        error=error,
    )


@router.get("/rights/{request_id}", name="dashboard_rights_detail")
def rights_detail(
    request: Request,
    request_id: str,
    v: Annotated[Viewer, Depends(need(Scope.RIGHTS_READ))],
) -> Response:
    """One request: its deadline, timeline (the rights log), connector tasks and actions."""
    return _rights_detail(request, request_id)


@router.post("/rights/{request_id}/{action}", name="dashboard_rights_action")
def rights_action(
    request: Request,
    request_id: str,
    action: Literal["extend", "deny", "run", "verify"],
    p: Annotated[Posted, Depends(posted(Scope.RIGHTS_ADMIN))],
) -> Response:
    """DPO actions, each one call of :class:`RightsService`; a refused action shows why."""
    svc = get_rights(request)
    try:
        if action == "extend":
            svc.extend(request_id, p.form.get("reason", ""))
        elif action == "deny":
            svc.deny(request_id, p.form.get("reason", ""))
        elif action == "run":
            svc.run(request_id)
        else:
            method = p.form.get("method", "") or "checked by the DPO"
            svc.mark_verified(request_id, method=f"{method} ({_actor(p.viewer)})")
    except NotFound:
        raise
    except TrustCartError as exc:
        return _rights_detail(request, request_id, status=exc.status, error=exc.message)
    return RedirectResponse(
        url(request, f"/rights/{request_id}?done={action}"), status_code=303, headers=HEADERS
    )


# --- governance ---------------------------------------------------------------------------------


@router.get("/governance", name="dashboard_governance")
def governance(
    request: Request, v: Annotated[Viewer, Depends(need(Scope.ACCESS_READ))]
) -> Response:
    """Access review: every active grant with its review due date and last use of personal
    data (re-approve or revoke), training gaps and records, users and keys, admin actions."""
    ws = get_workspace(request)
    store = ws.store
    admin = store.log("admin")
    head = admin.head()[0]
    recent = list(admin.entries(max(1, head - 24))) if head else []
    can_admin_keys = v.can(Scope.KEYS_ADMIN)
    return render(
        request,
        "governance.html.j2",
        grants=grant_status(store, policy=AccessPolicy.of(ws.settings)),
        gaps=training_gaps(store, required=ws.settings.training_required),
        trainings=list(reversed(training_records(store)))[:50],
        courses=ws.settings.training_required,
        can_review=v.can(Scope.ACCESS_ADMIN),
        users=list_users(store) if can_admin_keys else None,
        keys=list_keys(store) if can_admin_keys else None,
        recent=list(reversed(recent)) if can_admin_keys else [],
    )


@router.post("/governance/access/{key_id}/review", name="dashboard_review_access")
def review_grant(
    request: Request, key_id: str, p: Annotated[Posted, Depends(posted(Scope.ACCESS_ADMIN))]
) -> Response:
    """An access-review decision on one key: re-approve until the next review, or revoke."""
    decision = p.form.get("decision", "")
    if decision not in ("approved", "revoked"):
        raise PageError(400, "Form rejected", "Choose 're-approve' or 'revoke'.")
    ws = get_workspace(request)
    review_access(
        ws.store,
        key_id,
        decision=decision,
        reviewer=p.viewer.principal.name,
        note=p.form.get("note") or None,
        review_days=ws.settings.access_review_days,
        actor=_actor(p.viewer),
    )
    return RedirectResponse(url(request, "/governance"), status_code=303, headers=HEADERS)


@router.post("/governance/training", name="dashboard_record_training")
def record_course(
    request: Request, p: Annotated[Posted, Depends(posted(Scope.ACCESS_ADMIN))]
) -> Response:
    """Record a completed course (it expires after the workspace's validity period)."""
    ws = get_workspace(request)
    try:
        completed = date.fromisoformat(p.form.get("completed_on", ""))
    except ValueError:
        raise PageError(400, "Form rejected", "Give the completion date as YYYY-MM-DD.") from None
    record_training(
        ws.store,
        p.form.get("person", ""),
        p.form.get("course", ""),
        completed,
        validity_days=ws.settings.training_validity_days,
        actor=_actor(p.viewer),
    )
    return RedirectResponse(url(request, "/governance"), status_code=303, headers=HEADERS)


@router.get("/governance/ethics", name="dashboard_ethics")
def ethics(request: Request, v: Annotated[Viewer, Depends(need(Scope.ETHICS_READ))]) -> Response:
    """The ethics committee's decisions on model versions, newest first; the committee records
    a decision here (the gateway refuses an unapproved version when the workspace requires
    approval)."""
    ws = get_workspace(request)
    return render(
        request,
        "ethics.html.j2",
        reviews=list(reversed(ethics_reviews(ws.store))),
        can_decide=v.can(Scope.ETHICS_REVIEW),
        required=ws.settings.require_ethics_approval,
    )


@router.post("/governance/ethics", name="dashboard_ethics_review")
def ethics_decide(
    request: Request, p: Annotated[Posted, Depends(posted(Scope.ETHICS_REVIEW))]
) -> Response:
    """Record the committee's decision on a model version (conditions one per line)."""
    conditions = [c for c in p.form.get("conditions", "").splitlines() if c.strip()]
    review_model(
        get_workspace(request).store,
        p.form.get("model", ""),
        p.form.get("version", ""),
        decision=p.form.get("decision", ""),
        reviewer=p.viewer.principal.name,
        reasons=p.form.get("reasons", ""),
        conditions=conditions,
        aia=p.form.get("aia") or None,
        actor=_actor(p.viewer),
    )
    return RedirectResponse(url(request, "/governance/ethics"), status_code=303, headers=HEADERS)


@router.post("/governance/keys/{key_id}/revoke", name="dashboard_revoke_key")
def revoke(
    request: Request, key_id: str, p: Annotated[Posted, Depends(posted(Scope.KEYS_ADMIN))]
) -> Response:
    """Revoke an API key at once (an access-review decision)."""
    revoke_key(get_workspace(request).store, key_id, actor=_actor(p.viewer))
    return RedirectResponse(url(request, "/governance"), status_code=303, headers=HEADERS)


@router.post("/governance/users/{username}/disable", name="dashboard_disable_user")
def disable(
    request: Request, username: str, p: Annotated[Posted, Depends(posted(Scope.KEYS_ADMIN))]
) -> Response:
    """Disable a dashboard user at once (their sessions end)."""
    if username == p.viewer.principal.name:
        raise PageError(409, "Not possible", "You cannot disable your own account here.")
    disable_user(get_workspace(request).store, username, actor=_actor(p.viewer))
    return RedirectResponse(url(request, "/governance"), status_code=303, headers=HEADERS)


@router.get("/governance/concerns", name="dashboard_concerns")
def concerns(
    request: Request, v: Annotated[Viewer, Depends(need(Scope.CONCERNS_READ))]
) -> Response:
    """Concerns raised through the whistleblower channel (``/concerns``): the list only.

    Why no text here: listing opens nothing (``ConcernBox.summaries`` never decrypts), so the
    page itself reads no report; reading and answering one is done with `trustcart concerns`
    or the API, where every read is written to the access log.
    """
    from trustcart.governance.concerns import ConcernBox

    items = ConcernBox.of(get_workspace(request)).summaries()
    return render(request, "concerns.html.j2", concerns=items)


@router.get("/governance/concerns/{concern_id}", name="dashboard_concern")
def concern(
    request: Request,
    concern_id: str,
    v: Annotated[Viewer, Depends(need(Scope.CONCERNS_READ))],
) -> Response:
    """One concern, opened: its messages, a reply form and the close button. Opening it is
    written to the access log (by the scope guard) before anything is decrypted."""
    from trustcart.governance.concerns import ConcernBox

    thread = ConcernBox.of(get_workspace(request)).read(concern_id)
    return render(request, "concern.html.j2", thread=thread, can_answer=v.can(Scope.CONCERNS_WRITE))


@router.post("/governance/concerns/{concern_id}/{action}", name="dashboard_concern_action")
def concern_action(
    request: Request,
    concern_id: str,
    action: Literal["reply", "close"],
    p: Annotated[Posted, Depends(posted(Scope.CONCERNS_WRITE))],
) -> Response:
    """Answer the reporter (they read it with their follow-up code) or close the concern."""
    from trustcart.governance.concerns import ConcernBox

    box = ConcernBox.of(get_workspace(request))
    if action == "reply":
        box.reply(concern_id, p.form.get("text", ""), actor=_actor(p.viewer))
    else:
        box.close(concern_id, actor=_actor(p.viewer))
    target = url(request, f"/governance/concerns/{concern_id}")
    return RedirectResponse(target, status_code=303, headers=HEADERS)
