"""IAB Global Privacy Platform (GPP): what the embed's ``__gpp`` says for US visitors.

Why the work is split this way. The GPP string is a bit format with version-specific field lists
per section; TrustCart does not encode it itself. IAB's reference library (``@iabgpp/cmpapi``,
bundled once as the first-party asset ``web/static/gpp.js``) encodes it in the browser and
answers the ``__gpp`` commands, and the tests decode the page's string with the same library in a
separate Node process. What *is* decided here, in Python, is everything that is a mapping rather
than an encoding: which sections apply to a jurisdiction, which data-map purposes each opt-out
field reflects, the notice and MSPA fields. The browser then only computes, per opt-out field,
"are all of these purposes allowed for this visitor?" — with the same ``allowed`` rule (GPC
included) that releases tags and sets Consent Mode.

What it is not. TrustCart is not a CMP registered with IAB (``cmpId`` 0), fills no sensitive-data
or known-child consent fields, and supports only the sections in ``gpp_sections.yaml``. The MSPA
fields state the shop's contractual status, which TrustCart cannot know: they come from settings
whose defaults say "not a covered transaction". See docs/shop-pages.md.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Literal

import pydantic
import yaml
from pydantic import BaseModel, ConfigDict, Field

from trustcart.catalog import DataMap
from trustcart.errors import RulesError
from trustcart.rules import Jurisdiction, PurposeType, Rules
from trustcart.rules.entries import DataUseKey, JurisdictionCode, Text

__all__ = [
    "GPP_CMP_ID",
    "GPP_CMP_VERSION",
    "GppConfig",
    "GppOptions",
    "GppSection",
    "gpp_config",
    "gpp_sections",
]

SECTIONS_FILE = "gpp_sections.yaml"
#: TrustCart is not a CMP registered with IAB Tech Lab: it has no CMP id (as for the TCF).
GPP_CMP_ID = 0
GPP_CMP_VERSION = 1

OptOutField = Literal["SaleOptOut", "SharingOptOut", "TargetedAdvertisingOptOut"]
NoticeField = Literal["SaleOptOutNotice", "SharingOptOutNotice", "TargetedAdvertisingOptOutNotice"]
Approach = Literal["national", "state"]
#: GPP two-bit values: 0 not applicable, 1 yes / opted out, 2 no / did not opt out.
TwoBit = Literal[0, 1, 2]


class _OptOutSource(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    purpose_types: tuple[PurposeType, ...] = ()
    data_uses: tuple[DataUseKey, ...] = ()
    notes: Text | None = None


class _SectionSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^us[a-z]{2,3}$")
    id: int = Field(ge=1, le=63)
    approach: Approach
    jurisdictions: tuple[JurisdictionCode, ...] = Field(min_length=1)
    opt_outs: tuple[OptOutField, ...]
    notices: dict[NoticeField, OptOutField]
    sharing_notice: Literal["processing", "third_parties"] | None
    gpc: bool


class _SectionsFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    source: Text
    library: Text
    opt_outs: dict[OptOutField, _OptOutSource]
    sections: tuple[_SectionSpec, ...] = Field(min_length=1)


class GppOptions(BaseModel):
    """The shop's choices that no consent record can tell: its approach and MSPA status.

    ``mspa_covered_transaction`` is 1 (yes) or 2 (no): the spec allows no "not applicable" for it.
    The defaults say "not an MSPA covered transaction" and "modes not applicable", the truth for a
    shop that has not signed the MSPA; a signatory must set them (settings ``gpp_*``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    approach: Approach = "national"
    mspa_covered_transaction: Literal[1, 2] = 2
    mspa_opt_out_option_mode: TwoBit = 0
    mspa_service_provider_mode: TwoBit = 0


class GppSection(BaseModel):
    """One GPP section as the browser fills it.

    ``fixed`` fields are set as given. Each ``opt_outs`` field becomes 2 ("did not opt out") when
    every listed purpose is allowed for the visitor, else 1 ("opted out"). ``gpc``: whether the
    section has a GPC sub-section, filled from ``navigator.globalPrivacyControl``.
    """

    model_config = ConfigDict(frozen=True)

    name: str
    id: int
    fixed: dict[str, int]
    opt_outs: dict[str, list[str]]
    gpc: bool


class GppConfig(BaseModel):
    """What the embed's GPP bridge needs for one jurisdiction (``/privacy/api/config``)."""

    model_config = ConfigDict(frozen=True)

    cmp_id: int = GPP_CMP_ID
    cmp_version: int = GPP_CMP_VERSION
    supported_apis: list[str] = Field(description='Every section TrustCart can fill, "id:name"')
    applicable_sections: list[int]
    sections: list[GppSection]


@cache
def _sections_file() -> _SectionsFile:
    resource = files("trustcart.consent") / SECTIONS_FILE
    try:
        return _SectionsFile.model_validate(yaml.safe_load(resource.read_text(encoding="utf-8")))
    except yaml.YAMLError as exc:
        raise RulesError(f"{SECTIONS_FILE}: invalid YAML: {exc}") from exc
    except pydantic.ValidationError as exc:
        summary = "; ".join(
            ".".join(str(p) for p in e["loc"]) + ": " + e["msg"] for e in exc.errors()[:5]
        )
        raise RulesError(f"{SECTIONS_FILE}: {summary}") from exc


def gpp_sections() -> tuple[str, ...]:
    """Names of the GPP sections TrustCart can fill (``usnat``, ``usca``, …)."""
    return tuple(s.name for s in _sections_file().sections)


def _covers(use: str, data_use: str) -> bool:
    return data_use == use or data_use.startswith(use + ".")


def _purposes_for(dm: DataMap, rules: Rules, source: _OptOutSource) -> list[str]:
    return [
        p.key
        for p in dm.purposes
        if rules.purpose_type_of(p.data_use) in source.purpose_types
        or any(_covers(u, p.data_use) for u in source.data_uses)
    ]


def gpp_config(
    dm: DataMap,
    rules: Rules,
    j: Jurisdiction,
    *,
    notice_given: bool,
    options: GppOptions | None = None,
) -> GppConfig | None:
    """The GPP sections for visitors under ``j``, or ``None`` where no GPP section applies
    (every jurisdiction outside ``gpp_sections.yaml``: EU and UK visitors get the TCF instead).

    ``notice_given``: the shop's privacy notice is registered and linked from the banner. Per
    field, following the section specifications' value lists: no purpose behind an opt-out
    field → the field and its notice are 0 (not applicable); a notice → notice 1 and the
    opt-out computed in the browser; no notice → notice 2 and the opt-out 0 (the spec's "no
    notice was provided").
    """
    opts = options or GppOptions()
    spec = _sections_file()
    chosen = [s for s in spec.sections if s.approach == opts.approach and j.code in s.jurisdictions]
    if not chosen:
        return None
    keys = {name: _purposes_for(dm, rules, src) for name, src in spec.opt_outs.items()}
    third_parties = [
        p.key for p in dm.purposes if rules.purpose_type_of(p.data_use) is PurposeType.SALE_SHARING
    ]
    notice_value = 1 if notice_given else 2
    sections = []
    for s in chosen:
        fixed: dict[str, int] = {}
        opt_outs: dict[str, list[str]] = {}
        for field in s.opt_outs:
            if keys[field] and notice_given:
                opt_outs[field] = keys[field]
            else:
                fixed[field] = 0
        for notice, field in s.notices.items():
            fixed[notice] = notice_value if keys[field] else 0
        if s.sharing_notice == "processing":
            fixed["SharingNotice"] = notice_value
        elif s.sharing_notice == "third_parties":
            fixed["SharingNotice"] = notice_value if third_parties else 0
        fixed["MspaCoveredTransaction"] = opts.mspa_covered_transaction
        fixed["MspaOptOutOptionMode"] = opts.mspa_opt_out_option_mode
        fixed["MspaServiceProviderMode"] = opts.mspa_service_provider_mode
        sections.append(GppSection(name=s.name, id=s.id, fixed=fixed, opt_outs=opt_outs, gpc=s.gpc))
    return GppConfig(
        supported_apis=[f"{s.id}:{s.name}" for s in spec.sections],
        applicable_sections=[s.id for s in chosen],
        sections=sections,
    )
