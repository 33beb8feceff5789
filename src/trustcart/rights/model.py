"""A rights request as submitted and as stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from trustcart.rights.kinds import FINAL, RequestStatus, RequestType

IdentityKind = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")
]
IdentityValue = Annotated[
    str, StringConstraints(min_length=1, max_length=320, strip_whitespace=True)
]


class RequestIn(BaseModel):
    """A request as the person (or the shop on their behalf) submits it."""

    model_config = ConfigDict(extra="forbid")

    type: RequestType = Field(description="What the person asks for")
    identifiers: dict[IdentityKind, IdentityValue] = Field(
        min_length=1,
        max_length=10,
        description="How the person is known, e.g. {email: ..., customer_id: ...}",
    )
    jurisdiction: str | None = Field(
        default=None, max_length=16, description="Whose law applies (default: the workspace's)"
    )
    contact: str | None = Field(
        default=None,
        max_length=320,
        description="Where to send the one-time code and the answer (default: identifiers.email)",
    )
    details: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            'Type-specific: rectification {"changes": {field: new value}}; explanation '
            '{"decision_id": ...} (optional)'
        ),
    )
    channel: str = Field(default="api", min_length=1, max_length=64)

    @field_validator("contact")
    @classmethod
    def _contact(cls, v: str | None) -> str | None:
        if v is not None and "@" not in v:
            raise ValueError("contact must be an e-mail address")
        return v


@dataclass(frozen=True)
class RightsRequest:
    """A request as stored (identifiers are never part of this view)."""

    id: str
    type: RequestType
    jurisdiction: str
    status: RequestStatus
    statutory: bool
    citation: str | None
    channel: str
    needs_verification: bool
    received_at: datetime
    due_on: date
    acknowledge_by: date | None
    extended: bool
    details: dict[str, Any]
    result: dict[str, Any] | None
    reason: str | None
    completed_at: datetime | None

    @property
    def open(self) -> bool:
        """Not completed or denied yet."""
        return self.status not in FINAL

    def days_left(self, today: date) -> int:
        """Days until the due date (negative when overdue)."""
        return (self.due_on - today).days

    def to_dict(self, today: date | None = None) -> dict[str, Any]:
        """JSON-friendly view."""
        out: dict[str, Any] = {
            "id": self.id,
            "type": str(self.type),
            "jurisdiction": self.jurisdiction,
            "status": str(self.status),
            "statutory": self.statutory,
            "citation": self.citation,
            "channel": self.channel,
            "needs_verification": self.needs_verification,
            "received_at": self.received_at.isoformat(),
            "due_on": self.due_on.isoformat(),
            "acknowledge_by": self.acknowledge_by.isoformat() if self.acknowledge_by else None,
            "extended": self.extended,
            "details": self.details,
            "result": self.result,
            "reason": self.reason,
            "completed_at": self.completed_at.isoformat() if self.completed_at else None,
        }
        if today is not None:
            out["days_left"] = self.days_left(today)
            out["overdue"] = self.open and self.days_left(today) < 0
        return out


def parse_request(**fields: Any) -> RequestIn:
    """A :class:`RequestIn` from loose input, with one readable error listing what to fix."""
    from pydantic import ValidationError as PydanticError

    from trustcart.errors import ValidationError

    try:
        return RequestIn(**fields)
    except PydanticError as exc:
        problems = [
            f"{'.'.join(str(p) for p in e['loc']) or 'request'}: {e['msg']}" for e in exc.errors()
        ]
        raise ValidationError(
            "invalid rights request: " + "; ".join(problems), details={"problems": problems}
        ) from None
