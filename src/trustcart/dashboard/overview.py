"""The compliance posture at a glance: what the dashboard's overview shows, as plain data.

Library first: every number comes from a domain API (the scanner, the consent statistics, the
rights service, the audit store); this module only selects and groups them, so the pages are
templates over an :class:`Overview` and a test can compare it with the database.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from trustcart.compliance import ScanResult, ScanSnapshot, scan, scan_history
from trustcart.compliance.finding import SEVERITIES

if TYPE_CHECKING:
    from trustcart.rights import RightsRequest, RightsService
    from trustcart.workspace import Workspace

#: Areas of the overview, each shown only to principals holding its scope.
SECTIONS = ("compliance", "consent", "rights", "fairness")


@dataclass(frozen=True, slots=True)
class RateRow:
    """Consent events for one purpose in one jurisdiction, summed over mechanisms."""

    purpose: str
    jurisdiction: str
    events: int
    granted: int
    denied: int
    withdrawn: int
    invalid: int

    @property
    def grant_rate(self) -> float:
        """Share of the events that are grants (0 when there is none)."""
        return self.granted / self.events if self.events else 0.0


@dataclass
class ConsentTrend:
    """Grant rate per day for each purpose of one jurisdiction (None: no event that day)."""

    jurisdiction: str
    days: list[str]
    series: dict[str, list[float | None]]


@dataclass
class VendorAttention:
    """A vendor-run system with open findings (from the scanner's vendor/transfer checks)."""

    object: str
    name: str
    vendor: str
    country: str
    findings: list[str]


@dataclass
class Overview:
    """Everything the overview page shows; sections the viewer may not see stay empty."""

    today: date
    scan: ScanResult | None = None
    by_area: dict[str, dict[str, int]] = field(default_factory=dict)
    trend: list[ScanSnapshot] = field(default_factory=list)
    vendors: list[VendorAttention] = field(default_factory=list)
    consent_events: int = 0
    consent_rates: list[RateRow] = field(default_factory=list)
    consent_trends: list[ConsentTrend] = field(default_factory=list)
    rights_open: int = 0
    rights_due_soon: list[RightsRequest] = field(default_factory=list)
    rights_overdue: list[RightsRequest] = field(default_factory=list)
    latest_audit: dict[str, Any] | None = None
    assessments: AssessmentStatus | None = None


def findings_by_area(result: ScanResult) -> dict[str, dict[str, int]]:
    """``{area: {high, medium, low}}`` counts, areas sorted by name."""
    out: dict[str, dict[str, int]] = {}
    for f in result.findings:
        counts = out.setdefault(f.area, {s: 0 for s in reversed(SEVERITIES)})
        counts[f.severity] += 1
    return dict(sorted(out.items()))


def vendors_needing_attention(ws: Workspace, result: ScanResult) -> list[VendorAttention]:
    """Vendors (registry records, or vendor-run systems of the data map) named by a finding of
    the vendors or transfers checks."""
    from trustcart.assessments import load_records
    from trustcart.catalog.repository import load_datamap

    dm = load_datamap(ws.store)
    records = load_records(ws.store)
    by_object: dict[str, list[str]] = defaultdict(list)
    for f in result.findings:
        if f.area in ("vendors", "transfers") and f.object.startswith(("system:", "vendor:")):
            by_object[f.object].append(f.id)
    out = []
    for obj, ids in sorted(by_object.items()):
        kind, key = obj.split(":", 1)
        if kind == "vendor":
            record = records.vendor(key)
            if record is not None:
                runs = ", ".join(record.systems + record.recipients) or "no mapped system"
                out.append(VendorAttention(obj, runs, record.name, record.country, ids))
            continue
        system = dm.system(key)
        if system is None or system.vendor is None:
            continue
        out.append(
            VendorAttention(obj, system.name, system.vendor.name, system.vendor.country, ids)
        )
    return out


@dataclass(frozen=True, slots=True)
class AssessmentStatus:
    """How many DPIAs and AIAs exist and how many are signed off / approved."""

    dpias: int
    dpias_signed: int
    dpias_review_due: int
    dpia_required_without_record: list[str]
    aias: int
    aias_approved: int


def assessment_status(ws: Workspace, today: date) -> AssessmentStatus:
    """DPIA and AIA status from the stored records and the DPIA screening of the data map."""
    from trustcart.assessments import load_records, screen_datamap
    from trustcart.catalog.repository import load_datamap
    from trustcart.rules import load_rules

    records = load_records(ws.store)
    dm = load_datamap(ws.store)
    covered = {p for d in records.dpias for p in d.purposes}
    required = [
        s.purpose
        for s in screen_datamap(dm, load_rules(), records.screenings)
        if s.required and s.purpose not in covered
    ]
    return AssessmentStatus(
        dpias=len(records.dpias),
        dpias_signed=sum(1 for d in records.dpias if d.signed_off),
        dpias_review_due=sum(1 for d in records.dpias if d.review_by and d.review_by < today),
        dpia_required_without_record=required,
        aias=len(records.aias),
        aias_approved=sum(1 for a in records.aias if a.approved),
    )


def rate_rows(rates: Iterable[dict[str, Any]]) -> list[RateRow]:
    """:func:`trustcart.consent.consent_rates` rows summed over days and mechanisms."""
    acc: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for r in rates:
        a = acc[(r["purpose"], r["jurisdiction"])]
        for i, k in enumerate(("events", "granted", "denied", "withdrawn", "invalid")):
            a[i] += int(r[k])
    return [RateRow(p, j, *v) for (p, j), v in sorted(acc.items())]


def consent_trends(rates: Iterable[dict[str, Any]]) -> list[ConsentTrend]:
    """One trend per jurisdiction: grant rate per day per purpose (summed over mechanisms)."""
    cells: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    for r in rates:
        c = cells[(r["jurisdiction"], r["purpose"], r["day"])]
        c[0] += int(r["events"])
        c[1] += int(r["granted"])
    out = []
    for j in sorted({k[0] for k in cells}):
        days = sorted({d for (jj, _, d) in cells if jj == j})
        purposes = sorted({p for (jj, p, _) in cells if jj == j})
        series: dict[str, list[float | None]] = {}
        for p in purposes:
            values: list[float | None] = []
            for d in days:
                cell = cells.get((j, p, d))
                values.append(cell[1] / cell[0] if cell and cell[0] else None)
            series[p] = values
        out.append(ConsentTrend(j, days, series))
    return out


def build_overview(
    ws: Workspace,
    *,
    rights: RightsService | None = None,
    sections: Iterable[str] = SECTIONS,
    result: ScanResult | None = None,
    due_soon_days: int = 7,
) -> Overview:
    """The posture now: a live compliance scan (or ``result``), consent statistics, open
    rights requests and the latest disparity audit, for the ``sections`` asked for."""
    from trustcart.clock import utcnow

    wanted = set(sections)
    ov = Overview(today=utcnow().date())
    if "compliance" in wanted:
        ov.scan = result if result is not None else scan(ws)
        ov.by_area = findings_by_area(ov.scan)
        ov.trend = scan_history(ws.store)
        ov.vendors = vendors_needing_attention(ws, ov.scan)
        ov.assessments = assessment_status(ws, ov.today)
    if "consent" in wanted:
        from trustcart.consent import consent_rates

        rates = consent_rates(ws.store)
        ov.consent_rates = rate_rows(rates)
        ov.consent_events = sum(r.events for r in ov.consent_rates)
        ov.consent_trends = consent_trends(rates)
    if "rights" in wanted and rights is not None:
        open_requests = rights.requests(open_only=True, limit=100_000)
        ov.rights_open = len(open_requests)
        ov.rights_overdue = rights.overdue(today=ov.today)
        ov.rights_due_soon = rights.due_soon(due_soon_days, today=ov.today)
    if "fairness" in wanted:
        from trustcart.fairness.store import DISPARITY_KINDS, get_audit, list_audits

        latest = list_audits(ws.store, limit=1, kinds=DISPARITY_KINDS)
        ov.latest_audit = get_audit(ws.store, str(latest[0]["id"])) if latest else None
    return ov
