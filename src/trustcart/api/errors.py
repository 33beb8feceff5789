"""Map every error to a JSON body ``{error, message, details}``: 4xx for the caller's mistakes,
and a bare 500 with no traceback for our own."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from trustcart.api.hardening import HardeningMiddleware, security_headers
from trustcart.errors import TrustCartError

log = logging.getLogger("trustcart.api")


def _loc(parts: tuple[object, ...] | list[object]) -> str:
    return ".".join(str(p) for p in parts)


def _allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Methods the OpenAPI document declares for the route template matching ``path``."""
    patterns: list[tuple[re.Pattern[str], list[str]]] | None = getattr(
        app.state, "_allow_patterns", None
    )
    if patterns is None:
        patterns = []
        for template, operations in app.openapi().get("paths", {}).items():
            regex = re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(template))
            patterns.append((re.compile(f"^{regex}$"), sorted(m.upper() for m in operations)))
        app.state._allow_patterns = patterns
    allowed: set[str] = set()
    for pattern, methods in patterns:
        if pattern.match(path):  # several templates can match (/x/{id} and /x/{kind})
            if "[^/]+" not in pattern.pattern:
                return methods  # an exact, parameter-free route is the one meant
            allowed.update(methods)
    return sorted(allowed)


def validation_body(errors: Sequence[Any]) -> dict[str, Any]:
    """The 422 body for pydantic/FastAPI errors: each error's location, message and type, and
    a one-line summary of the first five (shared by the decision fast path, so both answer
    the same bytes)."""
    details = [
        {"loc": _loc(list(e.get("loc", ()))), "message": e.get("msg", ""), "type": e["type"]}
        for e in errors
    ]
    summary = "; ".join(f"{d['loc']}: {d['message']}" for d in details[:5])
    return {"error": "validation_error", "message": summary, "details": details}


def unexpected_error(method: str, route: str, path: str) -> JSONResponse:
    """The bare 500 for our own bug: logged with the route template (a raw path may carry a
    subject id), no traceback in the body, security headers set (see ``_unexpected``)."""
    log.exception("unhandled error on %s %s", method, route)
    return JSONResponse(
        {
            "error": "internal_error",
            "message": "internal error; see server log",
            "details": None,
        },
        status_code=500,
        headers=security_headers(path),
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(TrustCartError)
    async def _domain(_: Request, exc: TrustCartError) -> JSONResponse:
        return JSONResponse(exc.to_dict(), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(validation_body(exc.errors()), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        headers = dict(getattr(exc, "headers", None) or {})
        message = str(exc.detail)
        if exc.status_code == 405:
            # Starlette lists only the first matching route's methods; list every one.
            allowed = _allowed_methods(app, request.url.path)
            if allowed:
                headers["Allow"] = ", ".join(allowed)
                message = f"method {request.method} not allowed here; use {', '.join(allowed)}"
        return JSONResponse(
            {"error": code, "message": message, "details": None},
            status_code=exc.status_code,
            headers=headers or None,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # The route template, not the raw path: a path may carry a subject id (personal data).
        route = getattr(request.scope.get("route"), "path", "<unmatched>")
        # Starlette's ServerErrorMiddleware sends this response past the hardening middleware
        # (it wraps every user middleware), so the security headers are set on it.
        return unexpected_error(request.method, route, HardeningMiddleware.path_of(request.scope))
