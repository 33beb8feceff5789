"""Vendor registry: processors, their contracts, certifications, audits and a risk score.

    records = load_records(store)                       # trustcart.assessments
    vendor_risk(records.vendors[0], rules, on=date.today(), checklist=records.dpa_checklist)

Records are kept in the versioned records manifest (:mod:`trustcart.assessments.records`); the
scanner's vendor checks read them. The DPA checklist is configurable (see
:data:`CHECKLIST_CITATION`); the risk formula is documented in :mod:`trustcart.vendors.risk`.
"""

from __future__ import annotations

from trustcart.vendors.model import (
    CHECKLIST_CITATION,
    AuditSchedule,
    Certification,
    ChecklistItem,
    Dpa,
    Liability,
    SubProcessor,
    VendorRecord,
    add_duration,
    audit_due,
)
from trustcart.vendors.risk import BANDS, RiskFactor, VendorRisk, band_of, vendor_risk

__all__ = [
    "BANDS",
    "CHECKLIST_CITATION",
    "AuditSchedule",
    "Certification",
    "ChecklistItem",
    "Dpa",
    "Liability",
    "RiskFactor",
    "SubProcessor",
    "VendorRecord",
    "VendorRisk",
    "add_duration",
    "audit_due",
    "band_of",
    "vendor_risk",
]
