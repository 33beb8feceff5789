"""``POST /v1/decisions/{kind}`` as a plain ASGI handler: the hot route without FastAPI's
routing and dependency machinery.

Why: a single decision is TrustCart's busiest request (a shop calls it on every product page
view). Profiling ``trustcart serve`` under load showed that about half of the CPU of such a
request went to the web framework — route matching over ~150 routes, solving the dependency
graph (key, scope, gateway), the exception/exit-stack/telemetry middleware — rather than to
the decision itself. This handler does the same steps directly:

1. read the body (at most :data:`MAX_BODY` bytes, else 413);
2. decode it as JSON when the ``Content-Type`` says JSON, exactly as FastAPI does (an
   invalid document is a 422 before anything else);
3. authenticate the API key (``Authorization: Bearer`` or ``X-API-Key``; the same key cache)
   and check the scope ``decisions:write`` (401/403);
4. validate the path and the body with the route's own pydantic model (422 with the same
   ``loc``/``message``/``type`` details);
5. decide through the app's :class:`~trustcart.gateway.Gateway` (answers once durably logged);
6. answer 201 with the decision's JSON.

Every answer goes through the same access-log and security-header middleware as any other
route, errors use the same bodies (``trustcart.api.errors``), and the FastAPI route stays
registered: it documents the operation in OpenAPI and answers whenever this handler steps
aside — when FastAPI's OpenTelemetry support is configured (so spans are not lost) or when the
app has dependency overrides (tests, embedding). ``tests/test_decision_fastpath.py`` sends the
same requests (valid and invalid) to both and requires identical status, headers and bytes.
"""

from __future__ import annotations

import email.message
import json
import math
import time
from typing import TYPE_CHECKING, Annotated, Any

import orjson
from fastapi.routing import APIRoute
from pydantic import Field, TypeAdapter
from pydantic import ValidationError as PydanticValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from trustcart.api.auth import check_scope, principal_for
from trustcart.api.errors import unexpected_error, validation_body
from trustcart.api.hardening import HardeningMiddleware
from trustcart.api.logging import AccessLogMiddleware
from trustcart.errors import TrustCartError
from trustcart.gateway import Gateway
from trustcart.governance import Principal
from trustcart.governance import Scope as ApiScope

if TYPE_CHECKING:
    from fastapi import FastAPI

#: The route template this handler answers (and the access log names).
TEMPLATE = "/v1/decisions/{ref}"
_PREFIX = "/v1/decisions/"
#: Largest request body taken (4 MiB: 5,000 candidate ids of 200 characters fit four times).
MAX_BODY = 4 * 1024 * 1024
#: How long a "telemetry is (not) configured" answer is reused, in seconds.
TELEMETRY_RECHECK = 1.0
_KIND: TypeAdapter[str] = TypeAdapter(Annotated[str, Field(max_length=32)])


class _Invalid(Exception):
    """Validation errors to answer as 422 (FastAPI's error dicts)."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("invalid request")
        self.errors = errors


class _Disconnected(Exception):
    """The client went away before sending its whole body: nobody to answer."""


class _BadBody(Exception):
    """A body FastAPI could not parse at all (not even as JSON text): its 400."""


class _TooLarge(Exception):
    """The body exceeds :data:`MAX_BODY`."""


_MISSING = object()


def _errors_at(exc: PydanticValidationError, *prefix: str) -> list[dict[str, Any]]:
    return [{**e, "loc": (*prefix, *e["loc"])} for e in exc.errors()]


def _json_media(content_type: str | None) -> bool:
    """Whether FastAPI would decode a body with this ``Content-Type`` as JSON (strict mode:
    ``application/json`` or ``application/*+json``, parameters allowed)."""
    if not content_type:
        return False
    if content_type.startswith("application/json"):  # the usual case, without email.message
        rest = content_type[16:]
        if not rest or rest[0] in "; ":
            return True
    message = email.message.Message()
    message["content-type"] = content_type
    if message.get_content_maintype() != "application":
        return False
    subtype = message.get_content_subtype()
    return subtype == "json" or subtype.endswith("+json")


class DecisionFastPath:
    """The ASGI app answering ``POST /v1/decisions/{kind}`` for a TrustCart FastAPI app."""

    def __init__(self, app: FastAPI) -> None:
        from trustcart.api.routers.decisions import DecisionIn, router

        self.app = app
        # the route as declared (app.routes holds included routers, not their routes)
        found = [
            r
            for r in router.routes
            if isinstance(r, APIRoute) and r.path == TEMPLATE and "POST" in (r.methods or ())
        ]
        if len(found) != 1:
            raise RuntimeError(f"expected one POST {TEMPLATE} route, found {len(found)}")
        self.route = found[0]
        self._model = DecisionIn
        limiter = getattr(app.state, "rate_limiter", None)
        self._stack = AccessLogMiddleware(HardeningMiddleware(self._handle, limiter=limiter))
        self._telemetry_at = -math.inf
        self._telemetry = False

    def handles(self, scope: Scope) -> bool:
        """Whether ``scope`` is a ``POST /v1/decisions/{kind}`` this handler should answer."""
        if scope["type"] != "http" or scope.get("method") != "POST":
            return False
        path = HardeningMiddleware.path_of(scope)
        n = len(_PREFIX)
        if not path.startswith(_PREFIX) or len(path) == n or "/" in path[n:]:
            return False
        return not self.app.dependency_overrides and not self._telemetry_enabled()

    def _telemetry_enabled(self) -> bool:
        """FastAPI's own OpenTelemetry support, when configured, must see this route too (the
        check reads OpenTelemetry's global providers, so its answer is reused for a second)."""
        now = time.monotonic()
        if now - self._telemetry_at >= TELEMETRY_RECHECK:
            native = getattr(self.app, "_native_telemetry", None)
            self._telemetry = bool(native is not None and native.enabled())
            self._telemetry_at = now
        return self._telemetry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = self.app
        scope["route"] = self.route  # the access log names the route template
        await self._stack(scope, receive, send)

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            body = await self._decide(scope, receive)
        except _Disconnected:
            return
        except TrustCartError as exc:
            await JSONResponse(exc.to_dict(), status_code=exc.status)(scope, receive, send)
        except _Invalid as exc:
            await JSONResponse(validation_body(exc.errors), status_code=422)(scope, receive, send)
        except _BadBody:
            payload: dict[str, Any] = {
                "error": "http_error",
                "message": "There was an error parsing the body",
                "details": None,
            }
            await JSONResponse(payload, status_code=400)(scope, receive, send)
        except _TooLarge:
            payload = {
                "error": "payload_too_large",
                "message": f"request body larger than {MAX_BODY:,} bytes; send fewer "
                "candidates or a smaller context",
                "details": {"max_bytes": MAX_BODY},
            }
            await JSONResponse(payload, status_code=413)(scope, receive, send)
        except Exception:  # our bug: a bare 500, logged with the route template only
            response = unexpected_error("POST", TEMPLATE, HardeningMiddleware.path_of(scope))
            await response(scope, receive, send)
        else:
            await send(
                {
                    "type": "http.response.start",
                    "status": 201,
                    "headers": [
                        (b"content-length", str(len(body)).encode()),
                        (b"content-type", b"application/json"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})

    async def _decide(self, scope: Scope, receive: Receive) -> bytes:
        authorization = api_key = content_type = None
        declared = None
        for name, value in scope["headers"]:
            if name == b"authorization" and authorization is None:
                authorization = value.decode("latin-1")
            elif name == b"x-api-key" and api_key is None:
                api_key = value.decode("latin-1")
            elif name == b"content-type" and content_type is None:
                content_type = value.decode("latin-1")
            elif name == b"content-length" and declared is None:
                declared = value
        if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
            raise _TooLarge
        raw = await _read_body(receive)
        data: Any = _MISSING
        if raw:
            if _json_media(content_type):
                try:
                    data = json.loads(raw)  # FastAPI's decoder: same numbers, NaN, errors
                except json.JSONDecodeError as e:  # FastAPI answers this before anything else
                    raise _Invalid(
                        [
                            {
                                "type": "json_invalid",
                                "loc": ("body", e.pos),
                                "msg": "JSON decode error",
                                "input": {},
                                "ctx": {"error": e.msg},
                            }
                        ]
                    ) from None
                except Exception:  # e.g. bytes that are not UTF-8: FastAPI's 400, same words
                    raise _BadBody from None
            else:
                data = raw
        principal = await self._principal(authorization, api_key)
        scope.setdefault("state", {})["principal"] = principal
        check_scope(principal, ApiScope.DECISIONS_WRITE)
        gw: Gateway | None = getattr(self.app.state, "gateway", None)
        if gw is None:
            from trustcart.api.routers.decisions import gateway_of

            gw = await run_in_threadpool(gateway_of, self.app)
        kind = HardeningMiddleware.path_of(scope)[len(_PREFIX) :]
        errors: list[dict[str, Any]] = []
        try:
            _KIND.validate_python(kind)
        except PydanticValidationError as exc:
            errors += _errors_at(exc, "path", "ref")
        if data is _MISSING:
            errors.append({"type": "missing", "loc": ("body",), "msg": "Field required"})
        else:
            try:
                body = self._model.model_validate(data, from_attributes=True)
            except PydanticValidationError as exc:
                errors += _errors_at(exc, "body")
        if errors:
            raise _Invalid(errors)
        d = await gw.decide_async(body.request(kind))
        return orjson.dumps(d.to_dict(), default=str)

    async def _principal(self, authorization: str | None, api_key: str | None) -> Principal:
        """The caller, as the routes' ``_principal`` dependency finds it (Bearer first, then
        ``X-API-Key``; the key cache, else a lookup in a worker thread)."""
        secret = api_key
        if authorization:
            scheme, _, credentials = authorization.partition(" ")
            credentials = credentials.strip()
            if scheme and credentials and scheme.lower() == "bearer":
                secret = credentials
        return await principal_for(self.app.state.workspace, secret)


async def _read_body(receive: Receive) -> bytes:
    """The whole request body, at most :data:`MAX_BODY` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise _TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


__all__ = ["MAX_BODY", "TEMPLATE", "DecisionFastPath"]
