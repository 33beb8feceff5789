"""Governance: principals, roles, scopes and API keys (later: access reviews, ethics, training)."""

from trustcart.governance.keys import (
    KeyInfo,
    Principal,
    authenticate,
    create_key,
    list_keys,
    revoke_key,
)
from trustcart.governance.roles import ROLE_SCOPES, Role, Scope, parse_role, scopes_for

__all__ = [
    "ROLE_SCOPES",
    "KeyInfo",
    "Principal",
    "Role",
    "Scope",
    "authenticate",
    "create_key",
    "list_keys",
    "parse_role",
    "revoke_key",
    "scopes_for",
]
