"""The vendor registry: who processes personal data for the shop, where, and on what terms.

Why a registry beside the data map: the data map says *which systems* a vendor runs; due
diligence needs facts that change on their own schedule - contracts, certificates and audits
expire - so they are kept as versioned records (see :mod:`trustcart.assessments.records`) and
checked against today's date by the scanner.

The DPA clause checklist is configurable (``dpa_checklist`` in the records manifest): the rule
pack does not list the clauses GDPR Art. 28(3) requires, so TrustCart ships no clause list of its
own; each item names the clause in the organisation's own words and cites its source.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from trustcart.catalog.primitives import CountryCode, Duration, Key
from trustcart.rules import add_months
from trustcart.transfers.basis import TransferBasis

DpaStatus = Literal["signed", "draft", "none"]
AuditResult = Literal["passed", "findings", "failed"]
#: Citation of every checklist item unless the item gives its own.
CHECKLIST_CITATION = "GDPR Art. 28(3) clause checklist (items configurable)"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ChecklistItem(_Model):
    """One clause a DPA must contain, as the organisation words it."""

    key: Key
    label: str
    citation: str = CHECKLIST_CITATION


class Certification(_Model):
    """A security or privacy certification (ISO/IEC 27001, SOC 2 …) and until when it holds."""

    name: str
    expires: date | None = None
    issued: date | None = None
    evidence: str | None = None

    def valid_on(self, on: date) -> bool:
        """Not expired on ``on`` (a certificate without an expiry counts as valid)."""
        return self.expires is None or on <= self.expires


class Dpa(_Model):
    """The data processing agreement: its status, dates and the clauses found in it.

    ``clauses`` maps checklist item keys to whether the signed text contains the clause.
    """

    status: DpaStatus = "none"
    signed_on: date | None = None
    expires: date | None = None
    clauses: dict[str, bool] = Field(default_factory=dict)
    document: str | None = None

    def in_force(self, on: date) -> bool:
        """Signed and not expired on ``on``."""
        return self.status == "signed" and (self.expires is None or on <= self.expires)


class Liability(_Model):
    """Liability cap and indemnification as negotiated (free text: contracts vary)."""

    cap: str | None = None
    indemnification: bool | None = None
    notes: str | None = None


class AuditSchedule(_Model):
    """How often the vendor is audited, the last audit and its result."""

    every: Duration
    last: date | None = None
    result: AuditResult | None = None
    notes: str | None = None


class SubProcessor(_Model):
    """A processor the vendor engages (an onward transfer when outside the EEA)."""

    name: str
    country: CountryCode
    service: str = ""
    transfer: TransferBasis | None = None


class VendorRecord(_Model):
    """One vendor and everything due diligence records about it.

    ``systems`` and ``recipients`` link the vendor to data-map objects by key; its transfers are
    those of the systems it runs (plus its sub-processors). ``dpf_certified`` records an EU-US
    Data Privacy Framework certification (the only way the US adequacy decision covers a US
    importer). ``transfer`` is the basis for transfers to the vendor when adequacy does not
    cover it.
    """

    key: Key
    name: str
    country: CountryCode
    systems: list[str] = Field(default_factory=list)
    recipients: list[str] = Field(default_factory=list)
    services: list[str] = Field(default_factory=list)
    data_categories: list[str] = Field(default_factory=list)
    dpf_certified: bool = False
    transfer: TransferBasis | None = None
    sub_processors: list[SubProcessor] = Field(default_factory=list)
    certifications: list[Certification] = Field(default_factory=list)
    dpa: Dpa = Field(default_factory=Dpa)
    liability: Liability = Field(default_factory=Liability)
    breach_notification_hours: int | None = Field(default=None, gt=0)
    audit: AuditSchedule | None = None
    questionnaire: dict[str, str] = Field(default_factory=dict)

    def missing_clauses(self, checklist: list[ChecklistItem]) -> list[ChecklistItem]:
        """Checklist items the DPA is not recorded as containing."""
        return [item for item in checklist if not self.dpa.clauses.get(item.key, False)]


def audit_due(schedule: AuditSchedule) -> date | None:
    """The date the next audit is due (``None`` when there was no audit yet: due now)."""
    if schedule.last is None:
        return None
    return add_duration(schedule.last, schedule.every)


def add_duration(start: date, iso: str) -> date:
    """``start`` plus an ISO-8601 duration of years, months, weeks and days (time parts ignored)."""
    m = re.match(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?", iso)
    if m is None:  # pragma: no cover - Duration already validated the text
        raise ValueError(f"not a duration: {iso}")
    years, months, weeks, days = (int(g) if g else 0 for g in m.groups())
    shifted = add_months(start, 12 * years + months) if years or months else start
    return shifted + timedelta(weeks=weeks, days=days)
