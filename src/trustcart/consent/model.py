"""The consent vocabulary: decisions, mechanisms, events as recorded, permissions as answered."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from trustcart.rules.kinds import Mechanism

__all__ = [
    "ConsentEventIn",
    "Decision",
    "Evidence",
    "Mechanism",
    "Permission",
    "RecordedEvent",
    "StateEntry",
]


class Decision(StrEnum):
    """What the person chose.

    ``denied`` is a refusal (or a GPC / "Do Not Sell" opt-out); ``withdrawn`` takes back an
    earlier grant (GDPR Art. 7(3)). Both end any permission resting on consent.
    """

    GRANTED = "granted"
    DENIED = "denied"
    WITHDRAWN = "withdrawn"


Key = Annotated[
    str, StringConstraints(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.:\-]+$")
]


class Evidence(BaseModel):
    """Minimal technical evidence of how a choice was made (GDPR Art. 7(1) proof).

    Only what proves the choice without identifying more than needed: the IP is truncated and the
    user agent kept as a keyed hash by the time it is stored.
    """

    model_config = ConfigDict(extra="forbid")

    ip: str | None = Field(default=None, max_length=64, description="Client IP (stored truncated)")
    user_agent: str | None = Field(default=None, max_length=1000, description="Stored as a hash")
    page: str | None = Field(default=None, max_length=500, description="Where the choice was made")
    element: str | None = Field(default=None, max_length=200, description="UI element used")


class ConsentEventIn(BaseModel):
    """One consent choice as submitted (API body, CLI, pages)."""

    model_config = ConfigDict(extra="forbid")

    subject: str = Field(min_length=1, max_length=320, description="The shop's id for the person")
    purposes: list[Key] = Field(
        min_length=1, max_length=50, description="Data-map purpose keys or fideslang data uses"
    )
    decision: Decision
    mechanism: Mechanism
    jurisdiction: str | None = Field(
        default=None, max_length=16, description="Default: the workspace's default jurisdiction"
    )
    notice_version: str | None = Field(
        default=None,
        min_length=16,
        max_length=64,
        description="sha256 (or its first 16+ hex) of the notice shown; required for grants",
    )
    channel: str = Field(default="api", min_length=1, max_length=64)
    tcf_string: str | None = Field(default=None, max_length=10_000)
    evidence: Evidence = Field(default_factory=Evidence)


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """A consent event as stored (one per purpose of a submission)."""

    id: str
    seq: int
    subject: str
    purpose: str
    data_use: str
    decision: Decision
    mechanism: str
    jurisdiction: str
    notice_version: str | None
    channel: str
    valid: bool
    validity: str
    created_at: datetime

    @classmethod
    def from_row(cls, r: Any) -> RecordedEvent:
        """From a ``consent_events`` row."""
        return cls(
            r.id,
            r.seq,
            r.subject,
            r.purpose,
            r.data_use,
            Decision(r.decision),
            r.mechanism,
            r.jurisdiction,
            r.notice_version,
            r.channel,
            r.valid,
            r.validity,
            r.created_at,
        )

    def state(self) -> StateEntry:
        """This event as the latest choice for its subject and purpose."""
        return StateEntry(
            self.id,
            self.seq,
            self.decision,
            self.mechanism,
            self.jurisdiction,
            self.notice_version,
            self.valid,
            self.created_at,
        )


@dataclass(frozen=True, slots=True)
class StateEntry:
    """The latest decision of one subject for one purpose (the projection's row)."""

    event_id: str
    seq: int
    decision: Decision
    mechanism: str
    jurisdiction: str
    notice_version: str | None
    valid: bool
    at: datetime


@dataclass(frozen=True, slots=True)
class Permission:
    """The answer to "may I use these data for this purpose for this person, now?"."""

    allowed: bool
    reason: str
    legal_basis: str
    evidence_event_ids: tuple[str, ...] = field(default=())
    citation: str | None = None
    purpose: str | None = None
    jurisdiction: str | None = None

    def __bool__(self) -> bool:
        return self.allowed
