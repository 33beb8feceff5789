"""The vendor risk score: a documented sum of points, so anyone can recompute it by hand.

    score = min(100, data + transfer + onward + dpa + certification + audit + breach)

| factor        | points                                                                   |
|---------------|--------------------------------------------------------------------------|
| data          | 30 if a processed category is sensitive in the rule pack, else 10 if any  |
|               | is personal, else 0                                                       |
| transfer      | 20 if the vendor's country is outside the EEA and no adequacy decision   |
|               | covers it on the day (US: only with DPF certification)                    |
| onward        | 5 per sub-processor outside the EEA without adequacy, at most 15         |
| dpa           | 25 if no DPA is in force; else 3 per checklist clause missing, at most 15 |
| certification | 10 if no certification is valid on the day                              |
| audit         | 10 if the audit is overdue or never happened; +15 if the last result was |
|               | "failed", +5 if it had "findings"                                        |
| breach        | 5 if the contract states no breach-notification time                     |

Bands: below 30 low, below 60 medium, 60 and above high. The weights are TrustCart practice, not
law: they rank vendors for review; the scanner's checks say what is actually wrong.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Literal

from trustcart.catalog.countries import in_eea
from trustcart.transfers.assess import adequacy_covers
from trustcart.vendors.model import ChecklistItem, VendorRecord, audit_due

if TYPE_CHECKING:
    from trustcart.catalog.model import DataMap
    from trustcart.rules import Rules

Band = Literal["low", "medium", "high"]
#: Lower bounds of the medium and high bands.
BANDS: tuple[tuple[int, Band], ...] = ((60, "high"), (30, "medium"), (0, "low"))


@dataclass(frozen=True)
class RiskFactor:
    """One term of the sum, with the fact that earned it."""

    name: str
    points: int
    reason: str


@dataclass(frozen=True)
class VendorRisk:
    """A vendor's score, band and the factors that make it up."""

    vendor: str
    score: int
    band: Band
    factors: list[RiskFactor] = field(default_factory=list)


def vendor_summary(vendor: VendorRecord, risk: VendorRisk) -> dict[str, Any]:
    """A vendor's row as ``trustcart vendors list`` and ``GET /v1/vendors`` answer it."""
    return {
        "key": vendor.key,
        "name": vendor.name,
        "country": vendor.country,
        "dpa": vendor.dpa.status,
        "risk": risk.score,
        "band": risk.band,
        "factors": [asdict(f) for f in risk.factors],
    }


def band_of(score: int) -> Band:
    """The band of a score (see the module docstring)."""
    return next(b for low, b in BANDS if score >= low)


def vendor_categories(vendor: VendorRecord, dm: DataMap | None) -> list[str]:
    """Categories the vendor processes: its own list plus every field of the systems it runs."""
    cats = list(vendor.data_categories)
    if dm is not None:
        for key in vendor.systems:
            for ds in dm.datasets_of(key):
                for f in ds.fields:
                    cats.extend(f.data_categories)
    return list(dict.fromkeys(cats))


def vendor_risk(
    vendor: VendorRecord,
    rules: Rules,
    *,
    on: date,
    checklist: list[ChecklistItem] | None = None,
    datamap: DataMap | None = None,
) -> VendorRisk:
    """Score ``vendor`` on the day ``on`` (see the module docstring for the formula)."""
    factors: list[RiskFactor] = []

    def add(name: str, points: int, reason: str) -> None:
        if points:
            factors.append(RiskFactor(name, points, reason))

    cats = vendor_categories(vendor, datamap)
    levels = {rules.sensitivity_of(c) for c in cats}
    if "sensitive" in levels:
        sensitive = [c for c in cats if rules.sensitivity_of(c) == "sensitive"]
        add("data", 30, f"sensitive categories: {', '.join(sensitive)}")
    elif "personal" in levels:
        add("data", 10, "personal data")
    tr = rules.require_transfers()
    if not in_eea(vendor.country):
        decision, why = adequacy_covers(
            tr, vendor.country, dpf_certified=vendor.dpf_certified, on=on
        )
        if decision is None:
            add("transfer", 20, why or "no adequacy")
    onward = [
        sp
        for sp in vendor.sub_processors
        if not in_eea(sp.country)
        and adequacy_covers(tr, sp.country, dpf_certified=False, on=on)[0] is None
    ]
    add(
        "onward",
        min(15, 5 * len(onward)),
        f"{len(onward)} sub-processor(s) outside the EEA without adequacy",
    )
    if not vendor.dpa.in_force(on):
        add("dpa", 25, f"no DPA in force (status {vendor.dpa.status})")
    else:
        missing = vendor.missing_clauses(checklist or [])
        add(
            "dpa",
            min(15, 3 * len(missing)),
            f"{len(missing)} checklist clause(s) missing: {', '.join(i.key for i in missing)}",
        )
    if not any(c.valid_on(on) for c in vendor.certifications):
        add("certification", 10, "no certification valid")
    if vendor.audit is None:
        add("audit", 10, "no audit schedule")
    else:
        due = audit_due(vendor.audit)
        if due is None or due < on:
            add("audit", 10, "never audited" if due is None else f"audit overdue since {due}")
        if vendor.audit.result == "failed":
            add("audit_result", 15, "last audit failed")
        elif vendor.audit.result == "findings":
            add("audit_result", 5, "last audit had findings")
    if vendor.breach_notification_hours is None:
        add("breach", 5, "no breach-notification time stated")
    score = min(100, sum(f.points for f in factors))
    return VendorRisk(vendor.key, score, band_of(score), factors)
