"""One error hierarchy for the whole of TrustCart.

Why one hierarchy: the HTTP API maps every ``TrustCartError`` to a 4xx JSON body
``{"error": code, "message": ..., "details": ...}`` and the CLI prints ``message`` and exits 2,
so domain code raises these and never has to know which shell called it.
"""

from __future__ import annotations

from typing import Any


class TrustCartError(Exception):
    """Base class: a problem the caller can fix, described in words they can act on."""

    code: str = "trustcart_error"
    status: int = 400

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        """The JSON body the API answers with."""
        return {"error": self.code, "message": self.message, "details": self.details}


class ConfigError(TrustCartError):
    """``trustcart.toml`` or a ``TRUSTCART_*`` variable is missing, unknown or invalid."""

    code = "config_error"


class WorkspaceNotFound(ConfigError):
    """No ``trustcart.toml`` where one was expected."""

    code = "workspace_not_found"


class ValidationError(TrustCartError):
    """Input (a manifest, a request body) does not match what is allowed."""

    code = "validation_error"
    status = 422


class NotFound(TrustCartError):
    """The named object does not exist."""

    code = "not_found"
    status = 404


class Conflict(TrustCartError):
    """The request conflicts with the current state (e.g. a duplicate key)."""

    code = "conflict"
    status = 409


class AuthenticationError(TrustCartError):
    """No credentials, or credentials that match no active principal."""

    code = "unauthenticated"
    status = 401


class PermissionDenied(TrustCartError):
    """The principal is known but lacks the scope the operation needs."""

    code = "forbidden"
    status = 403


class LedgerError(TrustCartError):
    """A hash-chained log could not be appended to or read."""

    code = "ledger_error"
    status = 409


class RulesError(TrustCartError):
    """The rules data (legal facts) is malformed or a lookup cannot be answered."""

    code = "rules_error"
    status = 422


class VerificationFailed(TrustCartError):
    """A one-time code is wrong or expired, or the request is not waiting for one."""

    code = "verification_failed"
    status = 422


class TooManyAttempts(TrustCartError):
    """Too many wrong codes (or codes sent): the caller must wait or ask for a new code."""

    code = "too_many_attempts"
    status = 429


class ConnectorError(TrustCartError):
    """A registered store could not be read or changed; nothing was lost, retry when it is up."""

    code = "connector_error"
    status = 409


class SubjectErased(TrustCartError):
    """The record belongs to a person whose data was erased by crypto-shredding: its personal
    part can no longer be opened by anyone (410 Gone, not a server error)."""

    code = "subject_erased"
    status = 410


class ScanError(TrustCartError):
    """A site scan could not run: no browser, or the site could not be loaded."""

    code = "scan_error"
    status = 422
