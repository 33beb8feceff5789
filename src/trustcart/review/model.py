"""A review case as stored and as shown, the statuses it moves through, and what a contest holds.

Why the view never carries the statement: lists (queue, CLI, API list) open nothing; only
:meth:`trustcart.review.ReviewDesk.detail` unseals the shopper's statement and the reviewer's
reasons, and the shells that call it write an access-log entry first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

MAX_STATEMENT = 5_000
MAX_REASONS = 5_000


class CaseStatus(StrEnum):
    """Where a case is. ``upheld`` and ``overridden`` are final; ``proposed`` waits for a second
    reviewer's confirmation (``review_four_eyes``)."""

    OPEN = "open"
    IN_REVIEW = "in_review"
    PROPOSED = "proposed"
    UPHELD = "upheld"
    OVERRIDDEN = "overridden"


FINAL = frozenset({CaseStatus.UPHELD, CaseStatus.OVERRIDDEN})
Verdict = Literal["uphold", "override"]


class ContestIn(BaseModel):
    """What a shopper (or the shop on their behalf) sends to contest a decision."""

    model_config = ConfigDict(extra="forbid")

    statement: Annotated[
        str, StringConstraints(strip_whitespace=True, max_length=MAX_STATEMENT)
    ] = Field(default="", description="The person's point of view, in their words (optional)")
    contact: str | None = Field(
        default=None,
        max_length=320,
        description="E-mail address for the outcome (optional; default: the shop's sender "
        "addresses the message to the decision id, which the shop maps to its customer)",
    )

    @field_validator("contact")
    @classmethod
    def _contact(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None
        v = v.strip()
        if "@" not in v or any(c.isspace() for c in v):
            raise ValueError("contact must be an e-mail address")
        return v


class VerdictIn(BaseModel):
    """A reviewer's decision on a case."""

    model_config = ConfigDict(extra="forbid")

    verdict: Verdict = Field(description="uphold (the decision stands) or override")
    reasons: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_REASONS)
    ] = Field(description="Why, in words the shopper will read")
    changes: dict[str, Any] | None = Field(
        default=None,
        max_length=20,
        description='Override only: the corrected output fields, e.g. {"price": "44.90"}',
    )


@dataclass(frozen=True)
class ReviewCase:
    """A case without its sealed parts (safe to list)."""

    id: str
    decision_id: str
    kind: str
    jurisdiction: str
    group: str | None
    channel: str
    status: CaseStatus
    statutory: bool
    citation: str | None
    created_at: datetime
    due_on: date
    assigned_to: str | None
    has_statement: bool
    changes: dict[str, Any] | None
    reviewer: str | None
    resolved_at: datetime | None
    notified_at: datetime | None

    @property
    def open(self) -> bool:
        """Still waiting for a human decision."""
        return self.status not in FINAL

    def days_left(self, today: date) -> int:
        """Days until the due date (negative once overdue)."""
        return (self.due_on - today).days

    def overdue(self, today: date) -> bool:
        """Open past its due date."""
        return self.open and today > self.due_on

    def to_dict(self) -> dict[str, Any]:
        """JSON view."""
        return {
            "id": self.id,
            "decision_id": self.decision_id,
            "kind": self.kind,
            "jurisdiction": self.jurisdiction,
            "group": self.group,
            "channel": self.channel,
            "status": self.status.value,
            "statutory": self.statutory,
            "citation": self.citation,
            "created_at": self.created_at.isoformat(),
            "due_on": self.due_on.isoformat(),
            "assigned_to": self.assigned_to,
            "has_statement": self.has_statement,
            "changes": self.changes,
            "reviewer": self.reviewer,
            "resolved_at": self.resolved_at.isoformat() if self.resolved_at else None,
            "notified_at": self.notified_at.isoformat() if self.notified_at else None,
        }
