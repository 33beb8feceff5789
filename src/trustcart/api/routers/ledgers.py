"""Hash-chained logs: list them and verify their integrity."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel

from trustcart.api.auth import get_workspace, requires
from trustcart.errors import NotFound
from trustcart.governance import Scope
from trustcart.workspace import Workspace

router = APIRouter(prefix="/v1/ledgers", tags=["ledgers"])
WorkspaceDep = Annotated[Workspace, Depends(get_workspace)]


class LedgerInfo(BaseModel):
    """A log's name and head."""

    name: str
    head_seq: int
    head_hash: str


class Verification(BaseModel):
    """Result of recomputing a log's hash chain."""

    log: str
    ok: bool
    checked: int
    first_bad: int | None
    reason: str | None
    head_seq: int
    head_hash: str


@router.get("", response_model=list[LedgerInfo], **requires(Scope.LEDGER_READ))
def list_ledgers(ws: WorkspaceDep) -> list[LedgerInfo]:
    """Every log in the workspace with its newest position and hash."""
    out = []
    for name in ws.store.log_names():
        seq, digest = ws.store.log(name).head()
        out.append(LedgerInfo(name=name, head_seq=seq, head_hash=digest))
    return out


@router.get("/{name}/verify", response_model=Verification, **requires(Scope.LEDGER_READ))
def verify_ledger(
    ws: WorkspaceDep,
    name: Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")],
) -> Verification:
    """Recompute the chain of log ``name``; ``first_bad`` is the first broken position."""
    if name not in ws.store.log_names():
        raise NotFound(f"no log named {name!r}; see GET /v1/ledgers")
    return Verification(**ws.store.log(name).verify().to_dict())
