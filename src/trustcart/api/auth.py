"""Authentication and per-route scopes for the HTTP API.

Each protected route is declared with :func:`requires`, which both enforces the scope and
records it in the OpenAPI operation as ``x-required-scope``: the authorization test enumerates
routes from that, so a new route cannot slip through without a scope.

A personal-data scope (``trustcart.governance.PERSONAL_DATA_SCOPES``) also writes the access-log
entry in the same dependency, before the route runs: a route cannot hold such a scope without
being logged, because the scope check and the log entry are one function.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Header, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from trustcart.api.schemas import ErrorBody
from trustcart.errors import PermissionDenied
from trustcart.governance import (
    PERSONAL_DATA_SCOPES,
    Principal,
    Scope,
    authenticate,
    cached_principal,
)
from trustcart.governance.access import PURPOSE_PATTERN, record_access, resolve_purpose
from trustcart.privacy import Pseudonymizer
from trustcart.workspace import Workspace

SCOPE_EXTRA = "x-required-scope"
ACCESS_LOG_EXTRA = "x-access-logged"
#: Path parameters that name a person: logged only as their keyed pseudonym.
SUBJECT_PARAMS = frozenset({"subject", "email", "customer_id", "identifier"})
_PLAIN_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,80}$")
_bearer = HTTPBearer(auto_error=False, description="API key from `trustcart keys create`")


def get_workspace(request: Request) -> Workspace:
    """The workspace the app serves."""
    ws: Workspace = request.app.state.workspace
    return ws


async def _principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    x_api_key: Annotated[str | None, Header(description="Alternative to Bearer")] = None,
) -> Principal:
    """The caller, from the key cache when it was verified recently (no database, no thread:
    a sync dependency would cost a threadpool round trip per request), else looked up in a
    worker thread."""
    secret = credentials.credentials if credentials else x_api_key
    principal = await principal_for(get_workspace(request), secret)
    request.state.principal = principal
    return principal


async def principal_for(ws: Workspace, secret: str | None) -> Principal:
    """The key's principal: from the verified-key cache (no database, no thread), else looked
    up in a worker thread. 401 for a missing, malformed, unknown or revoked key."""
    max_age = ws.settings.api_key_cache_seconds
    principal = cached_principal(ws.store, secret, max_age)
    if principal is None:
        principal = await run_in_threadpool(authenticate, ws.store, secret, max_age=max_age)
    return principal


def check_scope(principal: Principal, scope: Scope) -> None:
    """403 unless ``principal`` holds ``scope`` (shared with the decision fast path)."""
    if not principal.can(scope):
        raise PermissionDenied(
            f"role {principal.role.value!r} lacks scope {scope.value!r}",
            details={"required_scope": scope.value, "role": principal.role.value},
        )


def access_pseudonyms(request: Request) -> Pseudonymizer:
    """The pseudonymizer the access log keys people by (the workspace key, cached)."""
    found: Pseudonymizer | None = getattr(request.app.state, "access_pseudonyms", None)
    if found is None:
        found = Pseudonymizer.of(get_workspace(request))
        request.app.state.access_pseudonyms = found
    return found


def _objects(request: Request) -> tuple[str | None, str | None]:
    """``(object, subject pseudonym)`` from the path parameters: a person only by pseudonym,
    other values in clear when they look like ids, else by a keyed fingerprint."""
    obj: str | None = None
    subject: str | None = None
    for name, value in request.path_params.items():
        text = str(value)
        if name in SUBJECT_PARAMS:
            subject = access_pseudonyms(request).pseudonym(text)
        elif _PLAIN_ID.fullmatch(text):
            obj = text
        else:
            obj = "f_" + access_pseudonyms(request).fingerprint(text)
    return obj, subject


def _route_template(request: Request) -> str:
    route = request.scope.get("route")
    return str(getattr(route, "path", "<unmatched>"))


def require_scope(scope: Scope) -> Callable[..., Principal | Awaitable[Principal]]:
    """A dependency that yields the principal if it holds ``scope`` (else 401/403); for a
    personal-data scope it first writes the access-log entry (see the module docstring)."""
    if scope not in PERSONAL_DATA_SCOPES:

        async def dependency(principal: Annotated[Principal, Depends(_principal)]) -> Principal:
            check_scope(principal, scope)  # pure CPU: async so it does not hop to the threadpool
            return principal

        return dependency

    def logged(
        request: Request,
        principal: Annotated[Principal, Depends(_principal)],
        x_purpose: Annotated[
            str | None,
            Header(
                max_length=64,
                pattern=PURPOSE_PATTERN,
                description="Why you read this personal data (written to the access log)",
            ),
        ] = None,
        access_purpose: Annotated[
            str | None,
            Query(
                max_length=64,
                pattern=PURPOSE_PATTERN,
                description="Alternative to the X-Purpose header",
            ),
        ] = None,
    ) -> Principal:
        check_scope(principal, scope)
        ws = get_workspace(request)
        purpose = resolve_purpose(
            x_purpose or access_purpose,
            principal.role,
            required=ws.settings.access_purpose_required,
        )
        obj, subject = _objects(request)
        record_access(
            ws.store,
            principal,
            scope=scope,
            route=_route_template(request),
            method=request.method,
            purpose=purpose,
            object=obj,
            subject=subject,
        )
        return principal

    return logged


def requires(scope: Scope, responses: dict[int | str, Any] | None = None) -> dict[str, Any]:
    """Route kwargs protecting it with ``scope``: ``@router.get(..., **requires(S))``."""
    return {
        "dependencies": [Depends(require_scope(scope))],
        "openapi_extra": {
            SCOPE_EXTRA: scope.value,
            **({ACCESS_LOG_EXTRA: True} if scope in PERSONAL_DATA_SCOPES else {}),
        },
        "responses": {
            **(responses or {}),
            401: {"model": ErrorBody, "description": "Missing or unknown API key"},
            403: {"model": ErrorBody, "description": f"The key's role lacks scope {scope.value}"},
        },
    }
