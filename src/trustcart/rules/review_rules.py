"""Human-review rules as data: who may contest an automated decision, and by when it is answered.

Why a file of its own: the safeguards of GDPR Art. 22(3), UK Arts. 22A-22D, LGPD Art. 20 and
Quebec s.12.1 differ in what they grant (human intervention, point of view, contest, mere
review) and in how sure the reference is that the ordinary response period applies; both are
facts with citations, so they are data. The response period itself is the jurisdiction's own
(``deadline`` in its file), not repeated here.
"""

from __future__ import annotations

from datetime import date
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from trustcart.rules.entries import Citation, JurisdictionCode, Text
from trustcart.rules.kinds import Confidence

Safeguard = Literal["inform", "point_of_view", "human_intervention", "contest", "review"]
"""What a regime grants around an automated decision: being told of it, putting one's point of
view (representations, observations), a human's intervention, contesting it, a review."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ReviewEntry(_Frozen):
    """One regime's safeguards against solely automated decisions."""

    jurisdiction: JurisdictionCode
    citation: Citation
    effective_from: date
    confidence: Confidence
    safeguards: tuple[Safeguard, ...] = Field(min_length=1)
    deadline_confidence: Confidence
    notes: Text | None = None


class ReviewRules(_Frozen):
    """``review.yaml``."""

    law_note: Text
    entries: tuple[ReviewEntry, ...]

    @model_validator(mode="after")
    def _unique(self) -> Self:
        codes = [e.jurisdiction for e in self.entries]
        if len(codes) != len(set(codes)):
            raise ValueError("a jurisdiction has more than one review entry")
        return self

    def entry(self, code: str) -> ReviewEntry | None:
        """The entry of jurisdiction ``code`` (exact code, as resolved), if it has one."""
        return next((e for e in self.entries if e.jurisdiction == code), None)
