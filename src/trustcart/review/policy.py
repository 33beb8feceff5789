"""The legal frame of a contest: is review a statutory right there, and by when is it answered.

Reuses the rights policy's sources: the jurisdiction's ``automated_decision`` right and its
response period (``deadline`` in its rule file), plus ``review.yaml`` for the safeguards and for
whether that period is known to apply to a contest. Nothing here knows a law by heart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from trustcart.rules import Jurisdiction, RightKind, Rules, due_date


@dataclass(frozen=True)
class ReviewFrame:
    """What the law says about one contest, on the day it was received."""

    jurisdiction: str
    statutory: bool
    citation: str | None
    safeguards: tuple[str, ...]
    confidence: str
    due_on: date
    deadline: str
    deadline_citation: str
    deadline_confidence: str
    notes: str | None = None

    def to_dict(self) -> dict[str, object]:
        """JSON view."""
        return {
            "jurisdiction": self.jurisdiction,
            "statutory": self.statutory,
            "citation": self.citation,
            "safeguards": list(self.safeguards),
            "confidence": self.confidence,
            "due_on": self.due_on.isoformat(),
            "deadline": self.deadline,
            "deadline_citation": self.deadline_citation,
            "deadline_confidence": self.deadline_confidence,
            "notes": self.notes,
        }


def review_frame(rules: Rules, j: Jurisdiction, received: date) -> ReviewFrame:
    """The frame of a contest received on ``received`` under ``j``.

    Statutory when ``review.yaml`` has an entry for ``j`` in force on that day and ``j`` grants
    the ``automated_decision`` right; for a code not in the pack (the strictest default) when
    any encoded regime does, with every safeguard any of them grants and ``unconfirmed``.
    Otherwise the contest is still taken, with the jurisdiction's ordinary response period as a
    TrustCart service target, never presented as a legal deadline.
    """
    d = j.deadline
    due = due_date(received, d.response)
    entries = rules.review.entries if rules.review else ()
    right = next(
        (
            r
            for r in j.rights
            if r.kind == RightKind.AUTOMATED_DECISION and r.effective_from <= received
        ),
        None,
    )
    if j.is_fallback:
        live = [e for e in entries if e.effective_from <= received]
        if live and right is not None:
            return ReviewFrame(
                jurisdiction=j.code,
                statutory=True,
                citation="; ".join(f"{e.jurisdiction}: {e.citation}" for e in live),
                safeguards=tuple(dict.fromkeys(s for e in live for s in e.safeguards)),
                confidence="unconfirmed",
                due_on=due,
                deadline=str(d.response),
                deadline_citation=d.citation,
                deadline_confidence="unconfirmed",
                notes="strictest default: the place is not in the rule pack",
            )
    entry = rules.review.entry(j.code) if rules.review else None
    if entry is not None and right is not None and entry.effective_from <= received:
        return ReviewFrame(
            jurisdiction=j.code,
            statutory=True,
            citation=entry.citation,
            safeguards=entry.safeguards,
            confidence=entry.confidence,
            due_on=due,
            deadline=str(d.response),
            deadline_citation=d.citation,
            deadline_confidence=entry.deadline_confidence,
            notes=entry.notes,
        )
    return ReviewFrame(
        jurisdiction=j.code,
        statutory=False,
        citation=None,
        safeguards=("human_intervention", "point_of_view", "contest"),
        confidence="unconfirmed",
        due_on=due,
        deadline=str(d.response),
        deadline_citation=f"TrustCart service target ({d.citation} period)",
        deadline_confidence="unconfirmed",
        notes=(
            "the rule pack grants no right to contest automated decisions here; the shop "
            "reviews voluntarily within its ordinary response period"
        ),
    )
