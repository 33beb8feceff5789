"""Signed, expiring links to a decision's review page (``/privacy/review?token=…``).

Why a token of its own: the page shows one decision's explanation (personal data: its inputs)
and lets the person contest it, so the link must name that decision only, expire, and be
unforgeable. It is an HMAC under the workspace key with its own label, so a preference-center
token (which names a person) can never be replayed here, nor this one there. The token carries
the decision id only: no identifier, no pseudonym.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from datetime import UTC, datetime

import orjson

from trustcart.errors import AuthenticationError, ValidationError

DEFAULT_TTL = 30 * 24 * 3600
MAX_TTL = 90 * 24 * 3600
_LABEL = b"review-token:"
_DECISION = re.compile(r"^[A-Za-z0-9_]{1,40}$")
_INVALID = "invalid review link: ask the shop for a new one"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(key: bytes, body: str) -> str:
    return _b64(hmac.new(key, _LABEL + body.encode(), hashlib.sha256).digest())


def make_review_token(
    key: bytes, decision_id: str, *, ttl: int = DEFAULT_TTL, now: float | None = None
) -> tuple[str, datetime]:
    """A token for ``decision_id`` valid for ``ttl`` seconds, and when it expires."""
    if not 60 <= ttl <= MAX_TTL:
        raise ValidationError("ttl must be between 60 seconds and 90 days")
    if not _DECISION.fullmatch(decision_id):
        raise ValidationError("decision id must be 1-40 letters, digits or '_'")
    exp = int(time.time() if now is None else now) + ttl
    body = _b64(orjson.dumps({"dec": decision_id, "exp": exp}))
    return f"{body}.{_sign(key, body)}", datetime.fromtimestamp(exp, UTC)


def read_review_token(key: bytes, token: str | None, *, now: float | None = None) -> str:
    """The decision a token names; ``AuthenticationError`` (401) if missing, forged, malformed
    or expired."""
    if not token:
        raise AuthenticationError("this page needs the link the shop gave you (it has no token)")
    body, _, sig = token.partition(".")
    if not body or not sig or not hmac.compare_digest(_sign(key, body), sig):
        raise AuthenticationError(_INVALID)
    try:
        claims = orjson.loads(_unb64(body))
        decision, exp = str(claims["dec"]), int(claims["exp"])
    except (ValueError, KeyError, TypeError):
        raise AuthenticationError(_INVALID) from None
    if exp < (time.time() if now is None else now):
        raise AuthenticationError("this review link has expired: ask the shop for a new one")
    if not _DECISION.fullmatch(decision):
        raise AuthenticationError(_INVALID)
    return decision
