"""Authentication and per-route scopes for the HTTP API.

Each protected route is declared with :func:`requires`, which both enforces the scope and
records it in the OpenAPI operation as ``x-required-scope``: the authorization test enumerates
routes from that, so a new route cannot slip through without a scope.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from trustcart.api.schemas import ErrorBody
from trustcart.errors import PermissionDenied
from trustcart.governance import Principal, Scope, authenticate
from trustcart.workspace import Workspace

SCOPE_EXTRA = "x-required-scope"
_bearer = HTTPBearer(auto_error=False, description="API key from `trustcart keys create`")


def get_workspace(request: Request) -> Workspace:
    """The workspace the app serves."""
    ws: Workspace = request.app.state.workspace
    return ws


def _principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    x_api_key: Annotated[str | None, Header(description="Alternative to Bearer")] = None,
) -> Principal:
    secret = credentials.credentials if credentials else x_api_key
    principal = authenticate(get_workspace(request).store, secret)
    request.state.principal = principal
    return principal


def require_scope(scope: Scope) -> Callable[..., Principal]:
    """A dependency that yields the principal if it holds ``scope`` (else 401/403)."""

    def dependency(principal: Annotated[Principal, Depends(_principal)]) -> Principal:
        if not principal.can(scope):
            raise PermissionDenied(
                f"role {principal.role.value!r} lacks scope {scope.value!r}",
                details={"required_scope": scope.value, "role": principal.role.value},
            )
        return principal

    return dependency


def requires(scope: Scope, responses: dict[int | str, Any] | None = None) -> dict[str, Any]:
    """Route kwargs protecting it with ``scope``: ``@router.get(..., **requires(S))``."""
    return {
        "dependencies": [Depends(require_scope(scope))],
        "openapi_extra": {SCOPE_EXTRA: scope.value},
        "responses": {
            **(responses or {}),
            401: {"model": ErrorBody, "description": "Missing or unknown API key"},
            403: {"model": ErrorBody, "description": f"The key's role lacks scope {scope.value}"},
        },
    }
