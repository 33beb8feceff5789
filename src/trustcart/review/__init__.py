"""Contest and human review of automated decisions (GDPR Art. 22(3), UK Arts. 22A-22D, LGPD
Art. 20, Quebec s.12.1).

A shopper contests a logged gateway decision (from its explanation, by a signed link) and may
add their point of view; a reviewer upholds or overrides it with reasons; every step is
hash-chained evidence and the outcome reaches the shopper through the outbox. Overturn rates by
group are a fairness signal::

    desk = ReviewDesk(workspace)
    link = desk.contest_link(decision_id)               # token for /privacy/review?token=…
    case = desk.contest(decision_id, ContestIn(statement="I was charged more than my friend"))
    desk.assign(case.id, "r.moreau")
    desk.decide(case.id, "override", "Price above the guardrail band", reviewer="r.moreau",
                changes={"price": "44.90"})
    overturn_rates(workspace.store, "group").to_dict()
"""

from __future__ import annotations

from trustcart.review.desk import (
    REVIEW_LOG,
    CaseDetail,
    ContestLink,
    ReviewDesk,
    describe_output,
    verify_review,
    verify_review_cases,
)
from trustcart.review.model import (
    FINAL,
    MAX_REASONS,
    MAX_STATEMENT,
    CaseStatus,
    ContestIn,
    ReviewCase,
    Verdict,
    VerdictIn,
)
from trustcart.review.policy import ReviewFrame, review_frame
from trustcart.review.stats import GROUP_BYS, GroupBy, GroupRate, OverturnReport, overturn_rates
from trustcart.review.tokens import DEFAULT_TTL, make_review_token, read_review_token

__all__ = [
    "DEFAULT_TTL",
    "FINAL",
    "GROUP_BYS",
    "MAX_REASONS",
    "MAX_STATEMENT",
    "REVIEW_LOG",
    "CaseDetail",
    "CaseStatus",
    "ContestIn",
    "ContestLink",
    "GroupBy",
    "GroupRate",
    "OverturnReport",
    "ReviewCase",
    "ReviewDesk",
    "ReviewFrame",
    "Verdict",
    "VerdictIn",
    "describe_output",
    "make_review_token",
    "overturn_rates",
    "read_review_token",
    "review_frame",
    "verify_review",
    "verify_review_cases",
]
