"""Small validated value types shared by the manifest model: keys, countries, durations.

Why separate: each is a rule about a single value (a country code exists, a duration parses) that
must give the same error wherever the value appears, with the likely intended value attached so
the loader can print "did you mean …".
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator
from pydantic_core import PydanticCustomError

from trustcart.catalog.countries import closest_countries, is_country

_KEY_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_JURISDICTION_RE = re.compile(r"^(?P<country>[A-Z]{2})(?:-(?P<sub>[A-Z0-9]{1,3}))?$")
_DURATION_RE = re.compile(
    r"^P(?!$)(?:(?P<Y>\d+)Y)?(?:(?P<M>\d+)M)?(?:(?P<W>\d+)W)?(?:(?P<D>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+)S)?)?$"
)
#: Jurisdiction codes that are not ISO countries but are served as one regime.
SUPRANATIONAL = frozenset({"EU", "EEA"})


def _key(value: str) -> str:
    if not _KEY_RE.match(value):
        raise PydanticCustomError(
            "invalid_key",
            "invalid key '{value}': use letters, digits, '_', '-' and '.' (no spaces)",
            {"value": value, "allowed": [re.sub(r"[^A-Za-z0-9_.\-]+", "_", value).strip("_")]},
        )
    return value


def _country(value: str) -> str:
    if not is_country(value):
        raise PydanticCustomError(
            "unknown_country",
            "unknown country code '{value}': use an ISO 3166-1 alpha-2 code such as 'DE' or 'US'",
            {"value": value, "allowed": closest_countries(value)},
        )
    return value


def _jurisdiction(value: str) -> str:
    if value in SUPRANATIONAL:
        return value
    match = _JURISDICTION_RE.match(value)
    if not match or not is_country(match["country"]):
        upper = value.upper()
        allowed = [upper] if upper != value and (_jurisdiction_ok(upper)) else []
        raise PydanticCustomError(
            "unknown_jurisdiction",
            "invalid jurisdiction code '{value}': use 'EU', an ISO country code ('BR') or "
            "country-subdivision ('US-CA')",
            {"value": value, "allowed": allowed or closest_countries(value)},
        )
    return value


def _jurisdiction_ok(value: str) -> bool:
    match = _JURISDICTION_RE.match(value)
    return value in SUPRANATIONAL or bool(match and is_country(match["country"]))


def _email(value: str) -> str:
    if not _EMAIL_RE.match(value):
        raise PydanticCustomError(
            "invalid_email", "invalid e-mail address '{value}'", {"value": value}
        )
    return value


def _duration_in(value: Any) -> Any:
    """Accept a whole number of days (``30``) as shorthand for ``P30D``."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if value < 0:
            raise PydanticCustomError("invalid_duration", "retention cannot be negative")
        return f"P{value}D"
    if isinstance(value, str) and value.strip().isdigit():
        return f"P{int(value)}D"
    return value


def _duration(value: str) -> str:
    if not _DURATION_RE.match(value):
        raise PydanticCustomError(
            "invalid_duration",
            "invalid retention '{value}': use an ISO-8601 duration such as 'P2Y', 'P6M', 'P30D' "
            "or a number of days",
            {"value": value, "allowed": ["P1Y", "P6M", "P30D"]},
        )
    return value


def duration_ok(value: str) -> bool:
    """Whether ``value`` is an ISO-8601 duration TrustCart understands (``P13M``, ``PT30M``)."""
    return bool(_DURATION_RE.match(value))


_DOMAIN_RE = re.compile(
    r"^(\*\.)?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"
)


def _domain(value: str) -> str:
    """A host name or IP address, lower case, optionally ``*.`` for every subdomain."""
    host = value.strip().lower().rstrip(".")
    if not host or len(host) > 253 or "://" in host or "/" in host or not _DOMAIN_RE.match(host):
        raise PydanticCustomError(
            "invalid_domain",
            "invalid domain '{value}': give a host name such as 'cdn.metricly.example', "
            "'*.metricly.example' (every subdomain) or an IP address, without scheme or path",
            {"value": value},
        )
    return host


Key = Annotated[str, AfterValidator(_key)]
Domain = Annotated[str, AfterValidator(_domain)]
CountryCode = Annotated[str, AfterValidator(_country)]
JurisdictionCode = Annotated[str, AfterValidator(_jurisdiction)]
Email = Annotated[str, AfterValidator(_email)]
Duration = Annotated[str, BeforeValidator(_duration_in), AfterValidator(_duration)]


class LegalBasis(StrEnum):
    """Lawful basis of a purpose in one jurisdiction.

    The first six are GDPR Art. 6(1)(a)-(f) (also used for LGPD-style regimes that list bases).
    ``notice_opt_out`` is for opt-out regimes (e.g. California): processing on notice at
    collection with a right to opt out. ``not_applicable`` says the regime needs no basis for this
    purpose. Whether a basis fits a regime is judged by the compliance checks, not here.
    """

    CONSENT = "consent"
    CONTRACT = "contract"
    LEGAL_OBLIGATION = "legal_obligation"
    VITAL_INTERESTS = "vital_interests"
    PUBLIC_TASK = "public_task"
    LEGITIMATE_INTERESTS = "legitimate_interests"
    NOTICE_OPT_OUT = "notice_opt_out"
    NOT_APPLICABLE = "not_applicable"

    @property
    def label(self) -> str:
        """Plain words for documents."""
        return _BASIS_LABEL[self]


_BASIS_LABEL = {
    LegalBasis.CONSENT: "consent",
    LegalBasis.CONTRACT: "performance of a contract",
    LegalBasis.LEGAL_OBLIGATION: "compliance with a legal obligation",
    LegalBasis.VITAL_INTERESTS: "protection of vital interests",
    LegalBasis.PUBLIC_TASK: "a task in the public interest",
    LegalBasis.LEGITIMATE_INTERESTS: "legitimate interests",
    LegalBasis.NOTICE_OPT_OUT: "notice at collection, with a right to opt out",
    LegalBasis.NOT_APPLICABLE: "no legal basis required",
}


class RecipientType(StrEnum):
    """Role of a recipient of personal data."""

    PROCESSOR = "processor"
    CONTROLLER = "controller"
    PUBLIC_AUTHORITY = "public_authority"


def describe_duration(value: str | None) -> str:
    """``"P1Y6M"`` → ``"1 year 6 months"``; ``None`` → ``"not recorded"``."""
    if not value:
        return "not recorded"
    match = _DURATION_RE.match(value)
    if not match:
        return value
    units = [
        ("Y", "year"),
        ("M", "month"),
        ("W", "week"),
        ("D", "day"),
        ("h", "hour"),
        ("m", "minute"),
        ("s", "second"),
    ]
    parts = []
    for group, word in units:
        amount = match[group]
        if amount is not None:
            n = int(amount)
            parts.append(f"{n} {word}{'' if n == 1 else 's'}")
    return " ".join(parts)
