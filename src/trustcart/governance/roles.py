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
    CONCERNS_READ = "concerns:read"
    ASSESSMENTS_SIGN = "assessments:sign"


class Role(StrEnum):
    """Who a principal is, organisationally (see docs/security.md)."""

    DPO = "dpo"
    ANALYST = "analyst"
    ENGINEER = "engineer"
    SUPPORT = "support"
    SERVICE = "service"


ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.DPO: frozenset(Scope),
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
        }
    ),
    # The shop's backend records choices and asks "may I?".
    Role.SERVICE: frozenset(
        {
            Scope.RULES_READ,
            Scope.CONSENT_READ,
            Scope.CONSENT_WRITE,
            Scope.DECISIONS_WRITE,
            Scope.DECISIONS_READ,
            Scope.RIGHTS_WRITE,
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
