"""API key administration (scope ``keys:admin``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, Field

from trustcart.api.auth import get_workspace, requires
from trustcart.governance import Role, Scope, create_key, list_keys, revoke_key
from trustcart.workspace import Workspace

router = APIRouter(prefix="/v1/keys", tags=["keys"])
WorkspaceDep = Annotated[Workspace, Depends(get_workspace)]


class KeyOut(BaseModel):
    """A key as stored (never its secret)."""

    id: str
    name: str
    role: str
    created_at: datetime
    revoked_at: datetime | None


class KeyCreate(BaseModel):
    """Request to create a key."""

    name: str = Field(min_length=1, max_length=200, description="Who or what uses the key")
    role: Role


class KeyCreated(KeyOut):
    """A new key: ``secret`` is shown only in this response."""

    secret: str


@router.get("", response_model=list[KeyOut], **requires(Scope.KEYS_ADMIN))
def get_keys(ws: WorkspaceDep) -> list[KeyOut]:
    """All API keys (without secrets)."""
    return [KeyOut.model_validate(k, from_attributes=True) for k in list_keys(ws.store)]


@router.post("", response_model=KeyCreated, status_code=201, **requires(Scope.KEYS_ADMIN))
def post_key(body: KeyCreate, ws: WorkspaceDep, request: Request) -> KeyCreated:
    """Create a key with a role; store the returned secret now, it is not shown again."""
    actor = request.state.principal.key_id
    secret, info = create_key(ws.store, role=body.role.value, name=body.name, actor=actor)
    return KeyCreated(
        **KeyOut.model_validate(info, from_attributes=True).model_dump(), secret=secret
    )


@router.delete("/{key_id}", status_code=204, **requires(Scope.KEYS_ADMIN))
def delete_key(
    key_id: Annotated[str, Path(max_length=40)], ws: WorkspaceDep, request: Request
) -> None:
    """Revoke a key immediately."""
    revoke_key(ws.store, key_id, actor=request.state.principal.key_id)
