"""End-user privacy pages: preference center, full notice, embed script and its JSON endpoints.

Why these routes have no API key and live outside ``/v1``: they serve shoppers, not the shop's
back end. Each touches only the caller's own consent, named by a signed expiring token (which
carries a pseudonym, never an identifier) or by a random visitor id the embed script keeps in
the browser. Everything they record goes through :meth:`ConsentService.record`, so the ledger,
validity rules and GPC handling are the library's, not the page's.

Security choices: HTML is rendered by autoescaping Jinja templates; every HTML page carries a
``Content-Security-Policy`` with ``default-src 'self'`` and the pages use no inline script,
style or event handler; pages holding a token are ``no-store`` and send no referrer, so the
token does not leak into caches or other sites' logs. The JSON endpoints allow any origin (the
embed script runs on the shop's site) without credentials: the token or visitor id in the
request is the only authority, and it only reaches its own consent.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from jinja2 import Environment
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints, model_validator
from starlette.concurrency import run_in_threadpool

from trustcart.api.routers.consent import get_consent
from trustcart.api.schemas import ErrorBody
from trustcart.clock import utcnow
from trustcart.consent import ConsentService, Evidence, Mechanism, RecordedEvent, signals
from trustcart.consent.gpp import GppConfig, GppOptions, gpp_config
from trustcart.errors import AuthenticationError, NotFound, TrustCartError, ValidationError
from trustcart.rules import Jurisdiction
from trustcart.templating import jinja_env
from trustcart.web import view

router = APIRouter(prefix="/privacy", tags=["privacy pages"])
#: The shopper endpoints answer 401 for a forged or expired preference token.
_SHOPPER_AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Invalid or expired preference token"}
}
ConsentDep = Annotated[ConsentService, Depends(get_consent)]

STATIC = Path(__file__).resolve().parent / "static"
_STATIC_TYPES = {
    "embed.js": "text/javascript; charset=utf-8",
    "gpp.js": "text/javascript; charset=utf-8",
    "preferences.js": "text/javascript; charset=utf-8",
    "embed.css": "text/css; charset=utf-8",
    "privacy.css": "text/css; charset=utf-8",
}
CSP = (
    "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; "
    "object-src 'none'"
)
_SECURITY = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff"}
_PRIVATE = {**_SECURITY, "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
_CORS = {"Access-Control-Allow-Origin": "*", "Vary": "Origin"}
_MAX_FORM = 16_384

Code = Annotated[str, StringConstraints(min_length=2, max_length=16, pattern=r"^[A-Za-z-]+$")]
Key = Annotated[
    str, StringConstraints(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.:\-]+$")
]
TokenQ = Annotated[str | None, Query(max_length=1000)]
VisitorQ = Annotated[str | None, Query(max_length=64)]
JurisdictionQ = Annotated[Code | None, Query()]
SecGpc = Annotated[str | None, Header(alias="Sec-GPC", max_length=8)]


def _env() -> Environment:
    """Autoescaping environment over ``trustcart/web/templates`` (built once per process)."""
    return jinja_env("trustcart.web")


def _static_url(request: Request, name: str) -> str:
    return str(request.scope.get("root_path", "")) + f"/privacy/static/{name}"


def _render(
    request: Request,
    template: str,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    html = (
        _env()
        .get_template(template)
        .render(static=lambda name: _static_url(request, name), root=root, **context)
    )
    return HTMLResponse(html, status_code=status, headers=headers or _SECURITY)


def _error_page(request: Request, exc: TrustCartError) -> HTMLResponse:
    """A friendly HTML error for shoppers (never JSON, never a traceback)."""
    if isinstance(exc, AuthenticationError):
        title = "This privacy link does not work"
        advice = (
            "Links to your privacy settings are personal and expire after a while. Open your "
            "account on the shop's site and follow its “privacy settings” link again to get a "
            "fresh one."
        )
    else:
        title = "We could not show this page"
        advice = "Please try again later, or contact the shop's privacy team."
    return _render(
        request,
        "error.html.j2",
        status=exc.status,
        headers=_PRIVATE,
        title=title,
        message=exc.message,
        advice=advice,
    )


def _gpc_header(value: str | None) -> bool:
    return (value or "").strip() == "1"


def _evidence(request: Request, page: str | None, element: str | None) -> Evidence:
    """Technical proof of the choice; the service truncates the IP and hashes the agent."""
    return Evidence(
        ip=request.client.host if request.client else None,
        user_agent=(request.headers.get("user-agent") or "")[:1000] or None,
        page=view.clean_page(page),
        element=element,
    )


# --- pages ------------------------------------------------------------------------------------


@router.get(
    "/preferences", name="preferences_page", response_class=HTMLResponse, include_in_schema=False
)
def preferences_page(
    request: Request,
    svc: ConsentDep,
    token: TokenQ = None,
    jurisdiction: JurisdictionQ = None,
    saved: Annotated[Literal["1"] | None, Query()] = None,
    sec_gpc: SecGpc = None,
) -> HTMLResponse:
    """The preference center: every purpose in plain words, its state, a switch, one-click
    "Withdraw all". A missing, forged or expired token gets a friendly 401 page."""
    try:
        subject = view.subject_from_token(svc, token)
        j = svc.jurisdiction(jurisdiction)
        notice = view.current_notice(svc)
        views = view.purposes(svc, j)
        state = view.states(svc, subject, j, views)
    except TrustCartError as exc:
        return _error_page(request, exc)
    org = svc.datamap.organization
    return _render(
        request,
        "preferences.html.j2",
        headers=_PRIVATE,
        organization=org.name if org else "This shop",
        purposes=views,
        state=state,
        token=token,
        jurisdiction=j,
        notice=notice,
        notice_url=request.url_for("privacy_notice").path,
        api_url=request.url_for("privacy_choices").path,
        action_url=request.url_for("preferences_submit").path,
        saved=saved == "1",
        gpc=_gpc_header(sec_gpc),
        gpc_purposes=[v.name for v in views if v.gpc_opts_out and v.toggleable]
        if j.gpc_rule().honoured
        else [],
    )


@router.post(
    "/preferences", name="preferences_submit", response_model=None, include_in_schema=False
)
async def preferences_submit(request: Request, svc: ConsentDep, sec_gpc: SecGpc = None) -> Response:
    """The preference form without JavaScript: record, then show the page again (303).

    Parsed by hand (a few url-encoded fields) so the pages need no multipart dependency.
    """
    body = await request.body()
    if len(body) > _MAX_FORM:
        return _error_page(request, ValidationError("the form is too large"))
    try:
        form = parse_qs(body.decode("utf-8", "replace"), max_num_fields=200)
    except ValueError:
        return _error_page(request, ValidationError("the form has too many fields"))

    def one(name: str) -> str | None:
        values = form.get(name)
        return values[0] if values else None

    token = one("token")
    code = one("jurisdiction")
    withdraw = one("action") == "withdraw_all"
    checked = set(form.get("purpose", []))

    def record() -> None:
        subject = view.subject_from_token(svc, token)
        j = svc.jurisdiction(code)
        notice = view.current_notice(svc)
        views = [v for v in view.purposes(svc, j) if v.toggleable]
        choices = {v.key: (not withdraw and v.key in checked) for v in views}
        view.record_choices(
            svc,
            subject,
            j,
            mechanism=Mechanism.PREFERENCE_CENTER,
            choices=choices,
            notice_version=one("notice_version") or notice.version,  # the version shown
            evidence=_evidence(
                request, request.url.path, "form:" + ("withdraw_all" if withdraw else "save")
            ),
            gpc=_gpc_header(sec_gpc),
        )

    try:
        await run_in_threadpool(record)
    except TrustCartError as exc:
        return _error_page(request, exc)
    params = {"token": token or "", "saved": "1"}
    if code:
        params["jurisdiction"] = code
    query = urlencode(params)
    url = request.url_for("preferences_page").path + "?" + query
    return RedirectResponse(url, status_code=303, headers=_PRIVATE)


@router.get("/notice", name="privacy_notice", response_class=HTMLResponse, include_in_schema=False)
def notice_page(request: Request, svc: ConsentDep) -> HTMLResponse:
    """The current full privacy notice, exactly as registered (its version is what consent
    events name)."""
    try:
        notice = view.current_notice(svc)
    except TrustCartError as exc:
        return _error_page(request, exc)
    return _render(request, "notice.html.j2", notice=notice, blocks=view.notice_blocks(notice.text))


@router.get(
    "/example", name="privacy_example", response_class=HTMLResponse, include_in_schema=False
)
def example_page(
    request: Request,
    jurisdiction: Annotated[Code, Query()] = "EU",
    token: TokenQ = None,
) -> HTMLResponse:
    """A tiny shop page using the embed script (banner, a just-in-time widget, a settings
    link): the browser tests drive it and the docs point to it."""
    return _render(
        request,
        "example.html.j2",
        jurisdiction=jurisdiction.upper(),
        token=token,
        embed_url=request.url_for("privacy_embed").path,
        notice_url=request.url_for("privacy_notice").path,
    )


@router.get("/embed.js", name="privacy_embed", response_class=FileResponse, include_in_schema=False)
def embed_js() -> FileResponse:
    """The one script a shop includes (banner, just-in-time notices, GPC)."""
    return _static_file("embed.js", cache="public, max-age=300")


@router.get(
    "/static/{name}", name="privacy_static", response_class=FileResponse, include_in_schema=False
)
def static_file(name: str) -> Response:
    """The pages' own CSS and JS (a fixed list: no path from the URL reaches the disk)."""
    if name not in _STATIC_TYPES:
        raise NotFound(f"no static file {name!r}")
    return _static_file(name, cache="public, max-age=300")


def _static_file(name: str, *, cache: str) -> FileResponse:
    return FileResponse(
        STATIC / name,
        media_type=_STATIC_TYPES[name],
        headers={**_CORS, "Cache-Control": cache, "X-Content-Type-Options": "nosniff"},
    )


# --- JSON for the embed script and the preference center --------------------------------------


class PurposeOut(BaseModel):
    """One purpose for the banner: plain words, model, what the banner may do."""

    key: str
    name: str
    short: str
    data_use: str
    purpose_type: str
    model: Literal["opt_in", "opt_out", "not_required"]
    toggleable: bool
    implied_banner: str
    implied_banner_valid: bool
    gpc_opts_out: bool


class JurisdictionOut(BaseModel):
    """The rule set applied."""

    code: str
    name: str
    regime: str
    fallback_reason: str | None


class GpcOut(BaseModel):
    """What a Global Privacy Control signal does here."""

    honoured: bool
    opts_out_of: list[str]
    citation: str


class NoticeRef(BaseModel):
    """The notice the choices refer to."""

    version: str
    title: str
    url: str


class TcfConfigOut(BaseModel):
    """How the embed's ``__tcfapi`` answers in this jurisdiction."""

    gdpr_applies: bool
    publisher_cc: str | None
    policy_version: int


class ConfigOut(BaseModel):
    """Everything the embed script needs to ask correctly in one jurisdiction."""

    jurisdiction: JurisdictionOut
    notice: NoticeRef
    gpc: GpcOut
    purposes: list[PurposeOut]
    consent_mode: dict[str, list[str]] = Field(
        description="Google Consent Mode v2 type -> purposes that must all be on to grant it"
    )
    tcf: TcfConfigOut
    gpp: GppConfig | None = Field(
        default=None,
        description=(
            "IAB GPP sections for this jurisdiction (US-CA, US-VA, US-CO); null elsewhere. The "
            'embed uses it only when its script tag says data-gpp="on".'
        ),
    )


class PurposeStateOut(BaseModel):
    """A person's state for one purpose."""

    on: bool
    decision: str | None
    mechanism: str | None
    valid: bool | None
    at: datetime | None
    text: str


class TcfStateOut(BaseModel):
    """The person's choices as a TCF v2.2 string (purpose consents only; no vendors)."""

    tc_string: str
    purpose_consents: list[int]


class StateOut(BaseModel):
    """A person's state per purpose in one jurisdiction."""

    jurisdiction: str
    purposes: dict[str, PurposeStateOut]
    consent_mode: dict[str, Literal["granted", "denied"]]
    tcf: TcfStateOut | None = Field(
        default=None, description="Only where the GDPR applies (EU, UK)"
    )


class ChoicesIn(BaseModel):
    """On/off choices from the banner, a just-in-time widget or the preference center."""

    model_config = ConfigDict(extra="forbid")

    token: str | None = Field(default=None, min_length=1, max_length=1000)
    visitor_id: str | None = Field(default=None, min_length=1, max_length=64)
    jurisdiction: Code | None = None
    mechanism: Literal[
        "preference_center", "opt_in_checkbox", "implied_banner", "just_in_time", "gpc_signal"
    ]
    choices: dict[Key, StrictBool] = Field(default_factory=dict, max_length=50)
    notice_version: str | None = Field(
        default=None, min_length=16, max_length=64, pattern=r"^[0-9a-fA-F]+$"
    )
    page: str | None = Field(default=None, max_length=2000)
    element: str | None = Field(default=None, max_length=200)
    gpc: StrictBool = False

    @model_validator(mode="after")
    def _one_identity(self) -> ChoicesIn:
        if (self.token is None) == (self.visitor_id is None):
            raise ValueError("give exactly one of token and visitor_id")
        return self


class EventRef(BaseModel):
    """One recorded ledger event."""

    id: str
    purpose: str
    decision: str
    mechanism: str
    valid: bool
    validity: str


class ChoicesOut(BaseModel):
    """What was recorded, what was already so, what a banner may not override, and the state."""

    recorded: list[EventRef]
    unchanged: list[str]
    skipped: dict[str, str]
    gpc_applied: list[str]
    warnings: list[str]
    state: dict[str, PurposeStateOut]
    signals: StateOut


def _state_out(states: dict[str, view.PurposeState]) -> dict[str, PurposeStateOut]:
    return {k: PurposeStateOut(**s.to_dict()) for k, s in states.items()}


def _event_ref(e: RecordedEvent) -> EventRef:
    return EventRef(
        id=e.id,
        purpose=e.purpose,
        decision=e.decision.value,
        mechanism=e.mechanism,
        valid=e.valid,
        validity=e.validity,
    )


def _json_headers(response: Response, *, private: bool = False) -> None:
    response.headers.update({**_CORS, **(_PRIVATE if private else _SECURITY)})


@router.get("/api/config", name="privacy_config", response_model=ConfigOut)
def get_config(
    request: Request, response: Response, svc: ConsentDep, jurisdiction: JurisdictionQ = None
) -> ConfigOut:
    """Purposes, consent models and GPC rule for a jurisdiction, and the notice version.

    No identity needed: it is the same for every visitor and holds no personal data.
    """
    j: Jurisdiction = svc.jurisdiction(jurisdiction)
    notice = view.current_notice(svc)
    gpc = j.gpc_rule()
    _json_headers(response)
    response.headers["Cache-Control"] = "public, max-age=60"
    return ConfigOut(
        jurisdiction=JurisdictionOut(
            code=j.code, name=j.name, regime=j.regime, fallback_reason=j.fallback_reason
        ),
        notice=NoticeRef(
            version=notice.version,
            title=notice.title,
            url=str(request.url_for("privacy_notice")),
        ),
        gpc=GpcOut(
            honoured=gpc.honoured,
            opts_out_of=[pt.value for pt in gpc.opts_out_of],
            citation=gpc.citation,
        ),
        purposes=[
            PurposeOut(
                key=v.key,
                name=v.name,
                short=v.short,
                data_use=v.data_use,
                purpose_type=v.purpose_type,
                model=v.model,
                toggleable=v.toggleable,
                implied_banner=v.implied_banner,
                implied_banner_valid=v.implied_banner_valid,
                gpc_opts_out=v.gpc_opts_out,
            )
            for v in view.purposes(svc, j)
        ],
        consent_mode=signals.consent_mode_map(svc.datamap),
        tcf=TcfConfigOut(
            gdpr_applies=signals.gdpr_applies(j),
            publisher_cc=_publisher_cc(svc),
            policy_version=signals.TCF_POLICY_VERSION,
        ),
        # notice_given: current_notice() above returned the registered notice the banner links
        gpp=gpp_config(svc.datamap, svc.rules, j, notice_given=True, options=_gpp_options(svc)),
    )


def _gpp_options(svc: ConsentService) -> GppOptions:
    """The shop's GPP approach and MSPA status from its settings (``gpp_*``)."""
    s = svc.ws.settings
    return GppOptions.model_validate(
        {
            "approach": s.gpp_us_approach,
            "mspa_covered_transaction": s.gpp_mspa_covered_transaction,
            "mspa_opt_out_option_mode": s.gpp_mspa_opt_out_option_mode,
            "mspa_service_provider_mode": s.gpp_mspa_service_provider_mode,
        }
    )


def _publisher_cc(svc: ConsentService) -> str | None:
    org = svc.datamap.organization
    return org.establishment_country if org else None


def _state_out_full(
    svc: ConsentService, j: Jurisdiction, states: dict[str, view.PurposeState]
) -> StateOut:
    """The state plus the signals derived from it (Consent Mode, TCF string)."""
    on = {k: s.on for k, s in states.items()}
    tcf = None
    cc = _publisher_cc(svc)
    if signals.gdpr_applies(j) and cc:
        consents = signals.tcf_purpose_consents(svc.datamap, on)
        dated = [s.at for s in states.values() if s.at is not None]
        tcf = TcfStateOut(
            tc_string=signals.encode_tc_string(
                consents, updated=max(dated) if dated else utcnow(), publisher_cc=cc
            ),
            purpose_consents=sorted(consents),
        )
    return StateOut(
        jurisdiction=j.code,
        purposes=_state_out(states),
        consent_mode=signals.consent_mode_state(signals.consent_mode_map(svc.datamap), on),
        tcf=tcf,
    )


@router.get(
    "/api/state", name="privacy_state", response_model=StateOut, responses=_SHOPPER_AUTH_ERRORS
)
def get_state(
    response: Response,
    svc: ConsentDep,
    token: TokenQ = None,
    visitor_id: VisitorQ = None,
    jurisdiction: JurisdictionQ = None,
) -> StateOut:
    """The caller's own state per purpose (token or visitor id)."""
    subject = view.subject_of(svc, token, visitor_id)
    j = svc.jurisdiction(jurisdiction)
    states = view.states(svc, subject, j, view.purposes(svc, j))
    _json_headers(response, private=True)
    return _state_out_full(svc, j, states)


@router.post(
    "/api/choices",
    name="privacy_choices",
    response_model=ChoicesOut,
    status_code=201,
    responses=_SHOPPER_AUTH_ERRORS,
)
def post_choices(
    body: ChoicesIn,
    request: Request,
    response: Response,
    svc: ConsentDep,
    sec_gpc: SecGpc = None,
) -> ChoicesOut:
    """Record the caller's choices (one ``record`` call per decision group).

    ``gpc`` in the body (the embed script read ``navigator.globalPrivacyControl``; scripts cannot
    set the header) or a real ``Sec-GPC: 1`` header applies the signal where the rule pack makes
    it an opt-out.
    """
    subject = view.subject_of(svc, body.token, body.visitor_id)
    j = svc.jurisdiction(body.jurisdiction)
    result = view.record_choices(
        svc,
        subject,
        j,
        mechanism=Mechanism(body.mechanism),
        choices=dict(body.choices),
        notice_version=body.notice_version,
        evidence=_evidence(request, body.page, body.element),
        gpc=body.gpc or _gpc_header(sec_gpc),
    )
    states = view.states(svc, subject, j, view.purposes(svc, j))
    _json_headers(response, private=True)
    return ChoicesOut(
        recorded=[_event_ref(e) for e in result.recorded],
        unchanged=result.unchanged,
        skipped=result.skipped,
        gpc_applied=result.gpc_applied,
        warnings=result.warnings,
        state=_state_out(states),
        signals=_state_out_full(svc, j, states),
    )


@router.options("/api/{rest:path}", include_in_schema=False)
def preflight(rest: str) -> Response:
    """CORS preflight for the embed script's JSON POST from the shop's origin."""
    return Response(
        status_code=204,
        headers={
            **_CORS,
            "Access-Control-Allow-Methods": "GET, POST",
            "Access-Control-Allow-Headers": "Content-Type",
            "Access-Control-Max-Age": "600",
        },
    )
