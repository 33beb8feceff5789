"""IAB TCF v2 consent strings: decode them safely and map their purposes to fideslang data uses.

Why a wrapper around ``iab_tcf``: the library trusts its input. Past the end of the data its bit
reader returns zeros (and ``True`` for single-bit flags), Python's base64 decoder drops characters
outside the alphabet, and errors surface as bare ``Exception``. A consent string arrives from a
browser, so every one of those would turn garbage into a "consent". :func:`decode_tcf` checks the
alphabet, the version, that every field was actually present, and the ranges the spec allows, and
raises :class:`~trustcart.errors.ValidationError` for anything else.

Why map to data uses: TrustCart's consent model is keyed on fideslang data uses and purpose
types, not on TCF purpose numbers; ``tcf_purposes.yaml`` is the one place that translation lives.

What a TCF string does *not* prove: how consent was obtained. Whether a grant through the
``tcf_string`` mechanism counts is a rule-pack question (``Jurisdiction.mechanism_rule``).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib.resources import files
from typing import Any

import iab_tcf  # type: ignore[import-untyped]  # no stubs; results are checked in _checked()
import pydantic
import yaml
from pydantic import BaseModel, ConfigDict, Field

from trustcart.errors import RulesError, ValidationError
from trustcart.rules.entries import DataUseKey, Text

PURPOSES_FILE = "tcf_purposes.yaml"
MAX_LENGTH = 20_000
"""Longest string accepted. Real strings are a few hundred to a few thousand characters; the
cap keeps a hostile header from costing more than a bounded decode."""

_SEGMENTS = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*")
_LETTERS = frozenset(range(ord("A"), ord("Z") + 1))
_CLOCK_SKEW = timedelta(days=1)


@dataclass(frozen=True)
class TcfConsent:
    """The core segment of a TCF v2 string, as plain immutable values.

    Sets hold the ids whose bit is 1 (purposes 1-24, special features 1-12, vendor ids).
    ``created``/``last_updated`` are timezone-aware UTC (the string stores deciseconds since the
    epoch; the library keeps whole seconds). ``publisher_cc`` and ``tcf_policy_version`` are
    always set for v2 strings; they are optional so a record built from other sources can omit
    them.
    """

    version: int
    cmp_id: int
    cmp_version: int
    created: datetime
    last_updated: datetime
    consent_language: str
    publisher_cc: str | None
    tcf_policy_version: int | None
    purposes_consent: frozenset[int]
    purposes_legitimate_interest: frozenset[int]
    special_features: frozenset[int]
    vendors_consent: frozenset[int]
    vendors_legitimate_interest: frozenset[int]


class TcfPurpose(BaseModel):
    """One TCF purpose: its id, official name, and the fideslang data uses it covers."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: int = Field(ge=1, le=24)
    name: Text
    data_uses: tuple[DataUseKey, ...] = Field(min_length=1)
    notes: Text | None = None


class _PurposesFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    source: Text
    tcf_policy_version: Text
    purposes: tuple[TcfPurpose, ...]


def _invalid(reason: str, **details: Any) -> ValidationError:
    return ValidationError(f"invalid TCF consent string: {reason}", details=details or None)


def decode_tcf(s: str) -> TcfConsent:
    """Decode a TCF v2 consent string (core segment plus any optional segments).

    Raises :class:`ValidationError` ("invalid TCF consent string: …") for anything that is not a
    complete, well-formed v2 string: wrong type, empty, too long, characters outside base64url,
    TCF v1, fields cut off, vendor ranges outside the spec, letters outside A-Z, timestamps in
    the future or ``last_updated`` before ``created``. Never lets a library exception escape.
    """
    if not isinstance(s, str):
        raise _invalid(f"expected a string, got {type(s).__name__}")
    s = s.strip()
    if not s:
        raise _invalid("empty")
    if len(s) > MAX_LENGTH:
        raise _invalid(f"longer than {MAX_LENGTH} characters", length=len(s))
    if _SEGMENTS.fullmatch(s) is None:
        raise _invalid("only base64url characters (A-Z a-z 0-9 - _) and '.' separators allowed")
    core, *optional = s.split(".")
    raws = [_b64(segment, i) for i, segment in enumerate([core, *optional])]
    version = raws[0][0] >> 2 if raws[0] else 0
    if version != 2:
        raise _invalid(f"version {version} is not supported (TCF v2 only)", version=version)
    _walk_core(_Bits(raws[0], "core segment"))
    for i, raw in enumerate(raws[1:], start=1):
        _walk_optional(_Bits(raw, f"segment {i}"))
    try:
        # Only the core goes to the library: TrustCart uses nothing from the optional segments,
        # and the library expands their vendor ranges in quadratic time.
        decoded = iab_tcf.decode(core)
    except Exception as exc:  # the library raises bare exceptions
        raise _invalid(f"cannot decode ({type(exc).__name__}: {exc})") from exc
    return _checked(decoded)


def _b64(segment: str, index: int) -> bytes:
    if len(segment) % 4 == 1:
        raise _invalid(f"segment {index} length is not valid base64", segment=index)
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as exc:
        raise _invalid(f"segment {index} is not base64url", segment=index) from exc


class _Bits:
    """A bounds-checked bit reader used to prove a string is complete *before* the library reads
    it: the library pads short input silently and loops on counts read from that padding (4095
    publisher restrictions x 4095 entries from a 20-character string)."""

    def __init__(self, raw: bytes, what: str) -> None:
        self.bits = format(int.from_bytes(raw, "big"), f"0{8 * len(raw)}b") if raw else ""
        self.pos = 0
        self.what = what

    def take(self, n: int) -> int:
        if self.pos + n > len(self.bits):
            raise _invalid(
                f"{self.what} is truncated",
                bits_needed=self.pos + n,
                bits_present=len(self.bits),
            )
        value = int(self.bits[self.pos : self.pos + n] or "0", 2)
        self.pos += n
        return value


_CORE_FIXED_BITS = 213
"""Bits before the vendor-consent section: version 6, created 36, last updated 36, CMP id 12,
CMP version 12, consent screen 6, language 12, vendor list version 12, policy version 6,
service-specific 1, non-standard texts 1, special features 12, purpose consents 24, purpose
legitimate interests 24, purpose one treatment 1, publisher country 12."""


def _walk_vendors(b: _Bits, what: str) -> None:
    max_id = b.take(16)
    if not b.take(1):  # bit field
        b.take(max_id)
        return
    for _ in range(b.take(12)):
        is_range = b.take(1)
        start = b.take(16)
        end = b.take(16) if is_range else start
        if not 1 <= start <= end <= max_id:
            raise _invalid(
                f"{what}: range {start}-{end} is outside 1-{max_id}", start=start, end=end
            )


def _walk_core(b: _Bits) -> None:
    b.take(_CORE_FIXED_BITS)
    _walk_vendors(b, "vendor consents")
    _walk_vendors(b, "vendor legitimate interests")
    for _ in range(b.take(12)):  # publisher restrictions
        b.take(6 + 2)  # purpose id, restriction type
        for _ in range(b.take(12)):
            if b.take(1):
                b.take(32)
            else:
                b.take(16)


def _walk_optional(b: _Bits) -> None:
    kind = b.take(3)
    if kind in (1, 2):  # disclosed vendors, allowed vendors
        _walk_vendors(b, f"{b.what} vendors")
    elif kind == 3:  # publisher purposes
        b.take(24 + 24)
        b.take(2 * b.take(6))
    else:
        raise _invalid(f"{b.what} has unknown segment type {kind}", segment_type=kind)


def _checked(c: Any) -> TcfConsent:
    """Turn the library's object into a :class:`TcfConsent`, rejecting what the spec forbids."""
    try:
        language = _letters(c.consent_language, "consent_language")
        publisher_cc = _letters(c.publisher_cc, "publisher_cc")
        created = _utc(c.created, "created")
        last_updated = _utc(c.last_updated, "last_updated")
        if last_updated < created:
            raise _invalid("last_updated is before created")
        return TcfConsent(
            version=int(c.version),
            cmp_id=int(c.cmp_id),
            cmp_version=int(c.cmp_version),
            created=created,
            last_updated=last_updated,
            consent_language=language,
            publisher_cc=publisher_cc,
            tcf_policy_version=int(c.tcf_policy_version),
            purposes_consent=_bits(c.purposes_consent),
            purposes_legitimate_interest=_bits(c.purposes_legitimate_interests),
            special_features=_bits(c.special_features_optin),
            vendors_consent=_vendors(
                c.is_consent_range_encoding,
                getattr(c, "consented_vendors_range", None),
                getattr(c, "consented_vendors", None),
            ),
            vendors_legitimate_interest=_vendors(
                c.is_interests_range_encoding,
                getattr(c, "interests_vendors_range", None),
                getattr(c, "interests_vendors", None),
            ),
        )
    except ValidationError:
        raise
    except Exception as exc:
        raise _invalid(f"unexpected content ({type(exc).__name__})") from exc


def _letters(value: bytes, field: str) -> str:
    if len(value) != 2 or any(b not in _LETTERS for b in value):
        raise _invalid(f"{field} must be two letters A-Z", field=field)
    return value.decode("ascii")


def _utc(value: datetime, field: str) -> datetime:
    aware = value.replace(tzinfo=UTC)
    if aware > datetime.now(UTC) + _CLOCK_SKEW:
        raise _invalid(f"{field} is in the future ({aware:%Y-%m-%d})", field=field)
    return aware


def _bits(field: dict[int, bool]) -> frozenset[int]:
    return frozenset(i for i, on in field.items() if on)


def _vendors(
    is_range: bool,
    ranges: list[tuple[int, int]] | None,
    bitfield: dict[int, bool] | None,
) -> frozenset[int]:
    """Vendor ids from a bit field or from ranges (already checked against the max id).

    Ranges are merged before expansion so overlapping ones cannot multiply the work: the result
    never holds more than the 65,535 ids a 16-bit max id allows.
    """
    if not is_range:
        return _bits(bitfield or {})
    ids: list[int] = []
    last = 0
    for start, end in sorted(ranges or []):
        start = max(start, last + 1)
        if start <= end:
            ids.extend(range(start, end + 1))
            last = end
    return frozenset(ids)


@cache
def tcf_purposes() -> tuple[TcfPurpose, ...]:
    """The TCF v2.2 purposes of ``tcf_purposes.yaml``, validated (fideslang data uses exist,
    ids unique). Raises :class:`RulesError` naming the file and path when malformed."""
    resource = files("trustcart.consent") / PURPOSES_FILE
    try:
        data = yaml.safe_load(resource.read_text(encoding="utf-8"))
        parsed = _PurposesFile.model_validate(data)
    except yaml.YAMLError as exc:
        raise RulesError(
            f"{PURPOSES_FILE}: invalid YAML: {exc}", details={"file": PURPOSES_FILE}
        ) from exc
    except pydantic.ValidationError as exc:
        problems = [
            {
                "file": PURPOSES_FILE,
                "path": "".join(
                    f"[{p}]" if isinstance(p, int) else f".{p}" for p in e["loc"]
                ).lstrip("."),
                "message": e["msg"],
            }
            for e in exc.errors()
        ]
        summary = "; ".join(f"{p['path']}: {p['message']}" for p in problems[:5])
        raise RulesError(f"{PURPOSES_FILE}: {summary}", details=problems) from exc
    ids = [p.id for p in parsed.purposes]
    if len(set(ids)) != len(ids):
        raise RulesError(f"{PURPOSES_FILE}: a purpose id is listed twice", details={"ids": ids})
    return parsed.purposes


def tcf_purposes_to_data_uses(c: TcfConsent) -> dict[str, bool]:
    """fideslang data use -> whether the string grants *consent* for it.

    Every data use in ``tcf_purposes.yaml`` appears, ``False`` when not consented, so a caller
    never mistakes "not mentioned" for "granted". A use mapped from several purposes is granted
    only if all of them are. Legitimate-interest bits are ignored: they are not consent.
    Purpose ids the file does not know (12-24 are reserved) are ignored.
    """
    out: dict[str, bool] = {}
    for purpose in tcf_purposes():
        granted = purpose.id in c.purposes_consent
        for use in purpose.data_uses:
            out[use] = out.get(use, True) and granted
    return out
