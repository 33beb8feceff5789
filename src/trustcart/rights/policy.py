"""The legal frame of one request: is it a statutory right there, and by when must we answer.

Everything comes from the rule pack (rights with their effective dates, response deadlines,
extensions, acknowledgement periods, refusal notices); nothing here knows a law by heart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from trustcart.errors import Conflict
from trustcart.rights.kinds import NEEDS_VERIFICATION, RIGHTS_FOR, RequestType
from trustcart.rules import Jurisdiction, Right, due_date


@dataclass(frozen=True)
class Assessment:
    """What the law says about one request, on the day it was received."""

    jurisdiction: str
    statutory: bool
    right: Right | None
    due_on: date
    acknowledge_by: date | None
    deadline_citation: str
    deadline_confidence: str
    needs_verification: bool

    @property
    def citation(self) -> str | None:
        """The right's citation (None when the law grants no such right there)."""
        return self.right.citation if self.right else None


def assess(kind: RequestType, j: Jurisdiction, received: date) -> Assessment:
    """The frame of a ``kind`` request received on ``received`` under ``j``.

    A request the jurisdiction grants no right for is still accepted (a shop may honour it
    voluntarily, and refusing to even log it would lose the request); it is marked
    ``statutory=False`` and given the jurisdiction's ordinary response period as a service
    target, never presented as a legal deadline.
    """
    right = next(
        (
            r
            for want in RIGHTS_FOR[kind]
            for r in j.rights
            if r.kind == want and r.effective_from <= received
        ),
        None,
    )
    d = j.deadline
    return Assessment(
        jurisdiction=j.code,
        statutory=right is not None,
        right=right,
        due_on=due_date(received, d.response),
        acknowledge_by=due_date(received, d.acknowledge) if d.acknowledge else None,
        deadline_citation=d.citation,
        deadline_confidence=d.confidence,
        needs_verification=kind in NEEDS_VERIFICATION,
    )


def extended_due(j: Jurisdiction, received: date, due_on: date, today: date) -> date:
    """The new due date when the shop extends the period, or a conflict saying why it can't.

    The extension runs from the end of the first period and is capped by ``max_total`` from
    receipt (the earlier of the two, so the date can never be late). It must be decided and
    told to the person within the first period (GDPR Art. 12(3); CCPA regs §7021(b)).
    """
    d = j.deadline
    if d.extension is None:
        raise Conflict(
            f"{j.code} ({d.citation}) allows no extension of the {d.response.amount} "
            f"{d.response.unit.replace('_', ' ')} response period"
        )
    if today > due_on:
        raise Conflict(
            f"the response period ended on {due_on.isoformat()}: an extension must be decided "
            f"and told to the person within it ({d.citation})"
        )
    new = due_date(due_on, d.extension)
    if d.max_total is not None:
        new = min(new, due_date(received, d.max_total))
    return new
