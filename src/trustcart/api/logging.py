"""Request logging without personal data.

Uvicorn's access log prints the client IP and the raw path (which may carry a subject id), both
personal data; TrustCart turns it off and logs the *route template*, status, duration and the
API key id (which identifies a system or staff key, not a data subject) as one JSON line.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

import orjson
from fastapi import FastAPI, Request, Response

log = logging.getLogger("trustcart.access")


def install_access_log(app: FastAPI) -> None:
    """Add the middleware to ``app``."""

    @app.middleware("http")
    async def _access(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        start = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        principal = getattr(request.state, "principal", None)
        if log.isEnabledFor(logging.INFO):
            log.info(
                orjson.dumps(
                    {
                        "event": "request",
                        "method": request.method,
                        "route": getattr(route, "path", "<unmatched>"),
                        "status": response.status_code,
                        "ms": round((time.perf_counter() - start) * 1000, 2),
                        "key_id": getattr(principal, "key_id", None),
                    }
                ).decode()
            )
        return response
