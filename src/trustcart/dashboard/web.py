"""Plumbing of the dashboard pages: session cookies, CSRF, scopes, rendering, HTML errors.

Cookies are ``HttpOnly`` and ``SameSite=Strict`` always, and ``Secure`` with the ``__Host-``
name prefix when the request came over HTTPS (behind a proxy, run uvicorn with
``--proxy-headers`` so the scheme is known). Every page is ``no-store`` and carries the same
strict ``Content-Security-Policy`` as the shoppers' privacy pages: no inline script or style,
nothing loaded from another origin.

Every POST goes through :func:`posted`, which checks the session's CSRF token before the
route runs; a form without it is refused with 403 and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from trustcart.api.auth import _objects, _route_template, get_workspace
from trustcart.errors import AuthenticationError, TrustCartError
from trustcart.governance import (
    PERSONAL_DATA_SCOPES,
    ROLE_PURPOSES,
    Principal,
    Scope,
    SessionInfo,
    csrf_ok,
    csrf_token,
    record_access,
    session_of,
)
from trustcart.templating import jinja_env
from trustcart.web.router import CSP

PREFIX = "/dashboard"
SESSION_COOKIE = "tc_dash"
LOGIN_COOKIE = "tc_dash_login"
HEADERS = {
    "Content-Security-Policy": CSP,
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
MAX_FORM = 16_384

#: Navigation: (path below the prefix, label, scope needed to see it or None).
NAV: tuple[tuple[str, str, Scope | None], ...] = (
    ("/", "Overview", None),
    ("/findings", "Findings", Scope.COMPLIANCE_READ),
    ("/datamap", "Data map", Scope.CATALOG_READ),
    ("/consent", "Consent", Scope.CONSENT_STATS),
    ("/decisions", "Decisions", Scope.DECISIONS_READ),
    ("/fairness", "Fairness audits", Scope.FAIRNESS_READ),
    ("/monitoring", "Monitoring", Scope.FAIRNESS_READ),
    ("/rights", "Rights requests", Scope.RIGHTS_READ),
    ("/review", "Human review", Scope.REVIEW_READ),
    ("/vendors", "Vendors", Scope.COMPLIANCE_READ),
    ("/assessments", "Assessments", Scope.COMPLIANCE_READ),
    ("/transfers", "Transfers", Scope.COMPLIANCE_READ),
    ("/governance", "Governance", Scope.ACCESS_READ),
    ("/governance/ethics", "Ethics reviews", Scope.ETHICS_READ),
    ("/governance/concerns", "Concerns", Scope.CONCERNS_READ),
)


class LoginRequired(Exception):
    """No valid session: the page redirects to the login form (then back)."""

    def __init__(self, next_path: str, message: str = "") -> None:
        super().__init__(message)
        self.next_path = next_path
        self.message = message


class PageError(Exception):
    """An error shown as an HTML page with a status (403 scope or CSRF, 404, ...)."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message


@dataclass
class Viewer:
    """The logged-in person of a request, their session token and its CSRF token."""

    session: SessionInfo
    token: str
    csrf: str

    @property
    def principal(self) -> Principal:
        """The governance principal (role and scopes)."""
        return self.session.principal

    def can(self, scope: Scope) -> bool:
        """Whether the viewer's role grants ``scope``."""
        return self.principal.can(scope)


@dataclass
class Posted:
    """A POSTed form whose CSRF token was checked, and who sent it."""

    viewer: Viewer
    form: dict[str, str] = field(default_factory=dict)


def is_https(request: Request) -> bool:
    """Whether the browser reached us over HTTPS (as uvicorn reports the scheme)."""
    return request.url.scheme == "https"


def cookie_name(request: Request, base: str) -> str:
    """``__Host-`` names over HTTPS: the browser then insists on Secure, Path=/, no Domain."""
    return f"__Host-{base}" if is_https(request) else base


def set_cookie(response: Response, request: Request, base: str, value: str, max_age: int) -> None:
    """Set one of the dashboard's cookies with the flags the security model relies on."""
    response.set_cookie(
        cookie_name(request, base),
        value,
        max_age=max_age,
        path="/",
        secure=is_https(request),
        httponly=True,
        samesite="strict",
    )


def clear_cookie(response: Response, request: Request, base: str) -> None:
    """Expire a cookie (same flags, so the browser matches it)."""
    response.delete_cookie(
        cookie_name(request, base),
        path="/",
        secure=is_https(request),
        httponly=True,
        samesite="strict",
    )


def url(request: Request, path: str = "/") -> str:
    """An absolute path under the dashboard prefix (respecting a proxy's root path)."""
    root = str(request.scope.get("root_path", ""))
    return f"{root}{PREFIX}{path if path.startswith('/') else '/' + path}"


def safe_next(value: str | None) -> str:
    """A post-login target: only a dashboard path (never another site: no open redirect)."""
    if value and value.startswith(PREFIX) and not value.startswith("//") and "\\" not in value:
        return value
    return PREFIX + "/"


def pseudonym_key(request: Request) -> bytes:
    """The workspace key the CSRF tokens are HMACs under."""
    return get_workspace(request).settings.pseudonym_key()


def viewer(request: Request) -> Viewer:
    """Dependency: the logged-in viewer, or a redirect to the login page."""
    store = get_workspace(request).store
    token = request.cookies.get(cookie_name(request, SESSION_COOKIE))
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    try:
        info = session_of(store, token)
    except AuthenticationError as exc:
        raise LoginRequired(target, exc.message if token else "") from None
    assert token is not None
    v = Viewer(info, token, csrf_token(pseudonym_key(request), token))
    request.state.viewer = v
    return v


def _log_read(request: Request, v: Viewer, scope: Scope) -> None:
    """Write the access-log entry of a page that reads personal data (channel ``web``).

    Why here: the API logs every personal-data request in its scope dependency; the dashboard
    reaches the same data through its own routes, so its scope guard does the same — one
    place, so no page can forget it (``test_dashboard.py`` enumerates the pages).
    """
    if scope not in PERSONAL_DATA_SCOPES:
        return
    obj, subject = _objects(request)
    if obj is None and request.query_params.get("id"):
        obj = str(request.query_params["id"])[:128]
    record_access(
        get_workspace(request).store,
        v.principal,
        scope=scope,
        route=_route_template(request),
        method=request.method,
        purpose=ROLE_PURPOSES[v.principal.role],
        channel="web",
        object=obj,
        subject=subject,
    )


def _allowed(v: Viewer, scope: Scope) -> Viewer:
    if not v.can(scope):
        raise PageError(
            403,
            "Not for your role",
            f"Your role ({v.principal.role.value}) does not include {scope.value}, which "
            "this page needs. Ask your data protection officer if you need it.",
        )
    return v


def need(scope: Scope) -> Callable[..., Viewer]:
    """Dependency: the viewer, if their role grants ``scope`` (else a 403 page); a page that
    needs a personal-data scope is written to the access log before it runs."""

    def dependency(request: Request, v: Viewer = Depends(viewer)) -> Viewer:  # noqa: B008
        _allowed(v, scope)
        _log_read(request, v, scope)
        return v

    return dependency


async def read_form(request: Request) -> dict[str, str]:
    """A small url-encoded form (parsed by hand: no multipart dependency)."""
    body = await request.body()
    if len(body) > MAX_FORM:
        raise PageError(413, "Form too large", "The form is larger than the dashboard accepts.")
    try:
        parsed = parse_qs(body.decode("utf-8", "replace"), max_num_fields=50)
    except ValueError:
        raise PageError(400, "Form rejected", "The form has too many fields.") from None
    return {k: v[0].strip() for k, v in parsed.items() if v}


def posted(scope: Scope | None) -> Callable[..., Coroutine[Any, Any, Posted]]:
    """Dependency for POST routes: the viewer (holding ``scope``) and the form, after the
    CSRF check — a form without the session's token is refused before anything happens."""

    async def dependency(request: Request, v: Viewer = Depends(viewer)) -> Posted:  # noqa: B008
        if scope is not None:
            _allowed(v, scope)
        form = await read_form(request)
        if not csrf_ok(pseudonym_key(request), v.token, form.get("csrf")):
            raise PageError(
                403,
                "Form rejected",
                "This form was missing its security token (CSRF) or the token belongs to "
                "another session, so nothing was changed. Reload the page and try again.",
            )
        if scope is not None:  # logged once the form is known to come from the session
            _log_read(request, v, scope)
        return Posted(v, form)

    return dependency


def nav(request: Request, v: Viewer | None) -> list[dict[str, Any]]:
    """The navigation links the viewer may follow, with the current one marked."""
    if v is None:
        return []
    here = request.url.path
    items = []
    for path, label, scope in NAV:
        if scope is not None and not v.can(scope):
            continue
        href = url(request, path)
        current = here == href if path == "/" else here == href or here.startswith(href + "/")
        items.append({"href": href, "label": label, "current": current})
    # only the most specific match is "current" (/governance vs /governance/concerns)
    marked = [i for i in items if i["current"]]
    for i in marked[:-1]:
        i["current"] = False
    return items


def fmt(value: Any) -> str:
    """A value as a person reads it: floats to 4 significant digits, pairs as a range."""
    if isinstance(value, bool) or value is None:
        return "–" if value is None else str(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | tuple):
        return " – ".join(fmt(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={fmt(v)}" for k, v in value.items())
    return str(value)


def render(
    request: Request,
    template: str,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """Render a dashboard template with the layout's context (viewer, nav, CSRF token)."""
    v: Viewer | None = getattr(request.state, "viewer", None)
    html = (
        jinja_env("trustcart.dashboard")
        .get_template(template)
        .render(
            request_path=request.url.path,
            url=lambda p="/": url(request, p),
            static=lambda name: url(request, f"/static/{name}"),
            viewer=v,
            nav=nav(request, v),
            csrf=v.csrf if v else "",
            Scope=Scope,
            fmt=fmt,
            **context,
        )
    )
    return HTMLResponse(html, status_code=status, headers={**HEADERS, **(headers or {})})


_TITLES = {
    400: "Bad request",
    401: "Please log in",
    403: "Not allowed",
    404: "Not found",
    409: "Not possible now",
    410: "Gone",
    422: "Please check the input",
    429: "Too many attempts",
}


def error_page(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    """A friendly HTML error (never JSON, never a traceback)."""
    return render(request, "error.html.j2", status=status, title=title, message=message)


class PageRoute(APIRoute):
    """Routes whose errors become HTML pages or a redirect to the login form.

    Wrapping the route handler (not an app-wide exception handler) keeps the HTTP API's JSON
    errors untouched and catches errors raised by dependencies too.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except LoginRequired as exc:
                target = url(request, "/login") + "?next=" + quote(exc.next_path, safe="/")
                if exc.message:
                    target += "&expired=1"
                return RedirectResponse(target, status_code=303, headers=HEADERS)
            except PageError as exc:
                return error_page(request, exc.status, exc.title, exc.message)
            except TrustCartError as exc:
                title = _TITLES.get(exc.status, "Something went wrong")
                return error_page(request, exc.status, title, exc.message)
            except RequestValidationError as exc:
                problems = "; ".join(
                    f"{'.'.join(str(p) for p in e.get('loc', ())[1:])}: {e.get('msg', '')}"
                    for e in exc.errors()[:5]
                )
                return error_page(request, 422, _TITLES[422], problems)
            except StarletteHTTPException as exc:
                return error_page(
                    request, exc.status_code, _TITLES.get(exc.status_code, "Error"), str(exc.detail)
                )

        return handler
