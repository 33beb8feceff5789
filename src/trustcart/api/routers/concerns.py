"""Concerns raised through the whistleblower channel, for the ethics committee only.

Scopes ``concerns:read`` and ``concerns:write`` belong to the ``ethics`` role alone; every call
is written to the access log. Reporters use the public page ``/concerns`` (no key) instead.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from trustcart.api.auth import get_workspace, requires
from trustcart.governance import ConcernBox, Scope
from trustcart.governance.concerns import MAX_TEXT

router = APIRouter(prefix="/v1/concerns", tags=["concerns"])
ConcernId = Annotated[str, Path(min_length=3, max_length=40, pattern=r"^c_[0-9a-f]+$")]


def get_box(request: Request) -> ConcernBox:
    """One box per app (its key is derived once)."""
    box: ConcernBox | None = getattr(request.app.state, "concerns", None)
    if box is None:
        box = ConcernBox.of(get_workspace(request))
        request.app.state.concerns = box
    return box


BoxDep = Annotated[ConcernBox, Depends(get_box)]


class ReplyIn(BaseModel):
    """The committee's answer (the reporter reads it with their follow-up code)."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=MAX_TEXT)


@router.get("", **requires(Scope.CONCERNS_READ))
def list_concerns(
    box: BoxDep, status: Literal["open", "answered", "closed"] | None = None
) -> list[dict[str, Any]]:
    """Concerns without their text, those awaiting a reply first."""
    return [c.to_dict() for c in box.summaries(status=status)]


@router.get("/{concern_id}", **requires(Scope.CONCERNS_READ))
def get_concern(concern_id: ConcernId, box: BoxDep) -> dict[str, Any]:
    """One concern with its messages, opened."""
    return box.read(concern_id).to_dict()


@router.post("/{concern_id}/replies", status_code=201, **requires(Scope.CONCERNS_WRITE))
def post_reply(
    concern_id: ConcernId, body: ReplyIn, box: BoxDep, request: Request
) -> dict[str, Any]:
    """Answer the reporter."""
    return box.reply(concern_id, body.text, actor=request.state.principal.key_id).to_dict()


@router.post("/{concern_id}/close", **requires(Scope.CONCERNS_WRITE))
def post_close(concern_id: ConcernId, box: BoxDep, request: Request) -> dict[str, Any]:
    """Close the concern (the reporter can still read it)."""
    return box.close(concern_id, actor=request.state.principal.key_id).to_dict()
