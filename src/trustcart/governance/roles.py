"""Roles and the scopes they grant.

Why scopes and not role checks in routes: each route declares the one scope it needs (e.g.
``catalog:write``); which roles hold it is data here, so adding a role never touches a route,
and the authorization test can enumerate routes and scopes mechanically.
"""

from __future__ import annotations

from enum import StrEnum

from trustcart.errors import ValidationError


class Scope(StrEnum):
    """A permission a route requires."""

    CATALOG_READ = "catalog:read"
    CATALOG_WRITE = "catalog:write"
    RULES_READ = "rules:read"
    LEDGER_READ = "ledger:read"
    KEYS_ADMIN = "keys:admin"
    CONSENT_READ = "consent:read"
    CONSENT_WRITE = "consent:write"
    CONSENT_STATS = "consent:stats"
    DECISIONS_WRITE = "decisions:write"
    DECISIONS_READ = "decisions:read"
    RIGHTS_READ = "rights:read"
    RIGHTS_WRITE = "rights:write"
    RIGHTS_ADMIN = "rights:admin"
    COMPLIANCE_READ = "compliance:read"
    FAIRNESS_READ = "fairness:read"
    ASSESSMENTS_SIGN = "assessments:sign"
    ACCESS_READ = "access:read"
    ACCESS_ADMIN = "access:admin"
    ETHICS_READ = "ethics:read"
    ETHICS_REVIEW = "ethics:review"
    CONCERNS_READ = "concerns:read"
    CONCERNS_WRITE = "concerns:write"
    REVIEW_CONTEST = "review:contest"
    REVIEW_READ = "review:read"
    REVIEW_WRITE = "review:write"


class Role(StrEnum):
    """Who a principal is, organisationally (see docs/security.md)."""

    DPO = "dpo"
    ANALYST = "analyst"
    ENGINEER = "engineer"
    SUPPORT = "support"
    SERVICE = "service"
    ETHICS = "ethics"
    REVIEWER = "reviewer"


#: Scopes only the ethics committee holds: reading and answering concerns raised through the
#: whistleblower channel, and deciding ethics reviews. Not even the DPO holds them, so a report
#: about the privacy team reaches someone outside it.
ETHICS_ONLY: frozenset[Scope] = frozenset(
    {Scope.ETHICS_REVIEW, Scope.CONCERNS_READ, Scope.CONCERNS_WRITE}
)

#: Scopes whose routes read personal data, with the kind of object they read. Every request
#: authorised by one of them is written to the access log before the route runs
#: (``trustcart.governance.access``); the API test enumerates them.
PERSONAL_DATA_SCOPES: dict[Scope, str] = {
    Scope.CONSENT_READ: "consent",
    Scope.DECISIONS_READ: "decision",
    Scope.RIGHTS_READ: "rights_request",
    Scope.RIGHTS_WRITE: "rights_request",
    Scope.RIGHTS_ADMIN: "rights_request",
    Scope.ACCESS_READ: "access_log",
    Scope.CONCERNS_READ: "concern",
    Scope.CONCERNS_WRITE: "concern",
    Scope.REVIEW_CONTEST: "review_case",
    Scope.REVIEW_READ: "review_case",
    Scope.REVIEW_WRITE: "review_case",
}


ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.DPO: frozenset(Scope) - ETHICS_ONLY,
    # Analysts see aggregates, never one person's consent record.
    Role.ANALYST: frozenset(
        {
            Scope.CATALOG_READ,
            Scope.RULES_READ,
            Scope.LEDGER_READ,
            Scope.CONSENT_STATS,
            Scope.COMPLIANCE_READ,
            Scope.FAIRNESS_READ,
        }
    ),
    Role.ENGINEER: frozenset(
        {
            Scope.CATALOG_READ,
            Scope.CATALOG_WRITE,
            Scope.RULES_READ,
            Scope.LEDGER_READ,
            Scope.CONSENT_STATS,
            Scope.COMPLIANCE_READ,
            Scope.FAIRNESS_READ,
            Scope.ETHICS_READ,
        }
    ),
    # Support answers a customer's questions about their own choices.
    # Support also takes rights requests for a customer and follows them up.
    # It never sees fairness audits (group-level findings about customers) or concerns
    # raised about AI systems (whose reporters must stay protected).
    Role.SUPPORT: frozenset(
        {
            Scope.CATALOG_READ,
            Scope.RULES_READ,
            Scope.CONSENT_READ,
            Scope.DECISIONS_READ,
            Scope.RIGHTS_READ,
            Scope.RIGHTS_WRITE,
            Scope.REVIEW_CONTEST,
        }
    ),
    # The shop's backend records choices and asks "may I?"; it also files a shopper's contest
    # of a decision (GDPR Art. 22(3)) and shows them the outcome.
    Role.SERVICE: frozenset(
        {
            Scope.RULES_READ,
            Scope.CONSENT_READ,
            Scope.CONSENT_WRITE,
            Scope.DECISIONS_WRITE,
            Scope.DECISIONS_READ,
            Scope.RIGHTS_WRITE,
            Scope.REVIEW_CONTEST,
        }
    ),
    # The ethics committee reviews models and answers concerns; it sees aggregates, never one
    # customer's records.
    Role.ETHICS: frozenset(
        {
            Scope.CATALOG_READ,
            Scope.RULES_READ,
            Scope.LEDGER_READ,
            Scope.CONSENT_STATS,
            Scope.COMPLIANCE_READ,
            Scope.FAIRNESS_READ,
            Scope.ETHICS_READ,
            *ETHICS_ONLY,
        }
    ),
    # A human reviewer of contested automated decisions (GDPR Art. 22(3), UK Art. 22C, LGPD
    # Art. 20): reads a case (the decision, its inputs, explanation, policy and the shopper's
    # statement), upholds or overrides it; sees overturn rates (fairness:read) but no other
    # person's consent, rights requests or decisions outside a case.
    Role.REVIEWER: frozenset(
        {
            Scope.CATALOG_READ,
            Scope.RULES_READ,
            Scope.FAIRNESS_READ,
            Scope.REVIEW_READ,
            Scope.REVIEW_WRITE,
        }
    ),
}


def parse_role(value: str) -> Role:
    """A role from its name, with an error that lists the valid ones."""
    try:
        return Role(value.lower())
    except ValueError:
        raise ValidationError(
            f"unknown role {value!r}; choose one of: {', '.join(r.value for r in Role)}"
        ) from None


def scopes_for(role: Role) -> frozenset[Scope]:
    """The scopes a role grants."""
    return ROLE_SCOPES[role]


def personal_scopes(role: Role) -> list[Scope]:
    """The personal-data scopes ``role`` holds, in declaration order."""
    return [s for s in PERSONAL_DATA_SCOPES if s in ROLE_SCOPES[role]]
