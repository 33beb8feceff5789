"""Map every error to a JSON body ``{error, message, details}``: 4xx for the caller's mistakes,
and a bare 500 with no traceback for our own."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from trustcart.errors import TrustCartError

log = logging.getLogger("trustcart.api")


def _loc(parts: tuple[object, ...] | list[object]) -> str:
    return ".".join(str(p) for p in parts)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(TrustCartError)
    async def _domain(_: Request, exc: TrustCartError) -> JSONResponse:
        return JSONResponse(exc.to_dict(), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"loc": _loc(list(e.get("loc", ()))), "message": e.get("msg", ""), "type": e["type"]}
            for e in exc.errors()
        ]
        summary = "; ".join(f"{d['loc']}: {d['message']}" for d in details[:5])
        return JSONResponse(
            {"error": "validation_error", "message": summary, "details": details},
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(
            {"error": code, "message": str(exc.detail), "details": None},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(
            {
                "error": "internal_error",
                "message": "internal error; see server log",
                "details": None,
            },
            status_code=500,
        )
