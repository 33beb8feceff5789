"""Consent signals for the ad ecosystem: Google Consent Mode v2 and an IAB TCF v2.2 string.

Why here and not in the embed script: which Consent Mode type or TCF purpose a data-map purpose
stands for is a mapping over fideslang data uses, and the TC string is a bit format that must
decode exactly. Both are computed once, in Python, where a test can compare them with an
independent decoder (``iab_tcf``); the embed script only passes the answers on.

What the TC string is and is not. TrustCart is not a CMP registered with IAB Europe: it has no
CMP id (``cmp_id`` is 0) and it never shows the Global Vendor List, so the string carries the
person's *purpose* consents only — no vendor consent and no legitimate-interest claim. A TCF
vendor reading it therefore finds no consent for itself (the safe direction); a shop that needs
vendors to act on TCF consent needs a registered CMP. See docs/shop-pages.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Literal

from trustcart.catalog import DataMap
from trustcart.consent.tcf import tcf_purposes
from trustcart.errors import ValidationError
from trustcart.rules import Jurisdiction

__all__ = [
    "CONSENT_MODE_TYPES",
    "GDPR_JURISDICTIONS",
    "TCF_POLICY_VERSION",
    "consent_mode_map",
    "consent_mode_state",
    "encode_tc_string",
    "gdpr_applies",
    "tcf_purpose_consents",
]

#: The four Consent Mode v2 types TrustCart sets, each from the data uses that stand for it.
#: A type is granted only when every data-map purpose mapped to it is allowed (and at least one
#: is): one refused purpose is enough to deny the storage or use it would need.
_CONSENT_MODE_USES: dict[str, tuple[str, ...]] = {
    "ad_storage": ("marketing.advertising",),
    "ad_user_data": ("marketing.advertising",),
    "ad_personalization": (
        "marketing.advertising.first_party.targeted",
        "marketing.advertising.third_party.targeted",
        "marketing.advertising.profiling",
    ),
    "analytics_storage": ("analytics",),
}
CONSENT_MODE_TYPES: tuple[str, ...] = tuple(_CONSENT_MODE_USES)

#: Jurisdictions of the rule pack where the GDPR (or the UK GDPR) applies: ``gdprApplies``.
GDPR_JURISDICTIONS = frozenset({"EU", "UK"})

#: ``TcfPolicyVersion`` field of a TCF v2.2 string.
TCF_POLICY_VERSION = 4

_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _covers(use: str, data_use: str) -> bool:
    return data_use == use or data_use.startswith(use + ".")


def consent_mode_map(dm: DataMap) -> dict[str, list[str]]:
    """Consent Mode type -> the data-map purpose keys whose data use stands for it.

    A purpose counts for a type when its data use is one of the type's uses or below it
    (``marketing.advertising.first_party.targeted`` counts for ``ad_storage``). A type with no
    purpose is always denied.
    """
    return {
        kind: [p.key for p in dm.purposes if any(_covers(u, p.data_use) for u in uses)]
        for kind, uses in _CONSENT_MODE_USES.items()
    }


ConsentModeValue = Literal["granted", "denied"]


def consent_mode_state(
    mapping: Mapping[str, list[str]], on: Mapping[str, bool]
) -> dict[str, ConsentModeValue]:
    """``granted``/``denied`` per Consent Mode type, given which purposes are allowed."""
    return {
        kind: "granted" if keys and all(on.get(k, False) for k in keys) else "denied"
        for kind, keys in mapping.items()
    }


def gdpr_applies(j: Jurisdiction) -> bool:
    """Whether the TCF's ``gdprApplies`` is true for visitors under ``j``."""
    return j.code in GDPR_JURISDICTIONS


def tcf_purpose_consents(dm: DataMap, on: Mapping[str, bool]) -> set[int]:
    """TCF purpose ids (1-11) the person consented to, read from the data-map purposes.

    A TCF purpose is consented when at least one data-map purpose has one of its data uses (or
    a narrower one, the same matching as the TCF string import) and every such purpose is
    allowed. A TCF purpose the shop's data map does not describe is never consented: nobody
    was asked about it.
    """
    out: set[int] = set()
    for tp in tcf_purposes():
        keys = [p.key for p in dm.purposes if any(_covers(u, p.data_use) for u in tp.data_uses)]
        if keys and all(on.get(k, False) for k in keys):
            out.add(tp.id)
    return out


class _Writer:
    """Most-significant-bit-first bit packer (the TC string's byte order)."""

    def __init__(self) -> None:
        self.bits: list[str] = []

    def num(self, value: int, width: int) -> None:
        if not 0 <= value < 1 << width:
            raise ValidationError(f"TC string field does not fit {width} bits: {value}")
        self.bits.append(format(value, f"0{width}b"))

    def flags(self, ids: Iterable[int], width: int) -> None:
        chosen = set(ids)
        if any(not 1 <= i <= width for i in chosen):
            raise ValidationError(f"TC string ids must be 1-{width}: {sorted(chosen)}")
        self.bits.append("".join("1" if i in chosen else "0" for i in range(1, width + 1)))

    def letters(self, code: str) -> None:
        if len(code) != 2 or not code.isascii() or not code.isalpha():
            raise ValidationError(f"TC string letters must be two letters A-Z: {code!r}")
        for ch in code.upper():
            self.num(ord(ch) - ord("A"), 6)

    def text(self) -> str:
        bits = "".join(self.bits)
        bits += "0" * (-len(bits) % 6)
        return "".join(_B64[int(bits[i : i + 6], 2)] for i in range(0, len(bits), 6))


def encode_tc_string(
    purpose_consents: Iterable[int],
    *,
    updated: datetime,
    publisher_cc: str,
    consent_language: str = "EN",
    cmp_id: int = 0,
    cmp_version: int = 1,
    vendor_list_version: int = 0,
) -> str:
    """A TCF v2.2 core string carrying ``purpose_consents`` and nothing else.

    No vendor consents, no legitimate interests, no special features, no publisher
    restrictions (see the module docstring for why). ``updated`` sets both ``Created`` and
    ``LastUpdated``, truncated to the day (UTC) so the string does not carry a timestamp that
    could tell visitors apart.
    """
    day = updated.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    deciseconds = int(day.timestamp()) * 10
    w = _Writer()
    w.num(2, 6)  # version
    w.num(deciseconds, 36)  # created
    w.num(deciseconds, 36)  # last updated
    w.num(cmp_id, 12)
    w.num(cmp_version, 12)
    w.num(0, 6)  # consent screen
    w.letters(consent_language)
    w.num(vendor_list_version, 12)
    w.num(TCF_POLICY_VERSION, 6)
    w.num(1, 1)  # is service specific: the choices are the shop's own
    w.num(0, 1)  # use non-standard texts
    w.flags((), 12)  # special feature opt-ins
    w.flags(purpose_consents, 24)
    w.flags((), 24)  # purposes legitimate-interest transparency
    w.num(0, 1)  # purpose one treatment
    w.letters(publisher_cc)
    for _ in range(2):  # vendor consents, vendor legitimate interests: none
        w.num(0, 16)  # max vendor id
        w.num(0, 1)  # bit field encoding (of zero bits)
    w.num(0, 12)  # publisher restrictions
    return w.text()
