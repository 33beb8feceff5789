"""The compliance side over HTTP: the scanner, the vendor registry, transfers and the versioned
compliance records (vendors, DPIA screenings, DPIAs, AIAs), for a DPO tool or a CI pipeline.

Each answer is the document the matching CLI command prints with ``--format json`` (``trustcart
scan``, ``vendors list|show``, ``transfers list``, ``records history``, ``dpia screen``, ``aia
show``), so a pipeline can move from the CLI to HTTP without rewriting its parser.

Scope ``compliance:read`` for every read, as on the dashboard's findings, vendors, assessments
and transfers pages: they describe the shop's processing (systems, vendors, contracts,
assessments), not a shopper. The scan's findings may name a rights request, review case or
decision by its opaque id (an overdue deadline), never a person's identifier or data, so the
routes are not personal-data scopes and are not written to the access log. Running the scan
does not record it in the score trend (that is a write: ``trustcart scan --record``).

One write: the DPO signs a DPIA off (``assessments:sign``, as on the dashboard). The signer is
the caller's key — its name and role — never a name in the body, so a sign-off cannot be made
in someone else's name; the date is today (the CLI's ``--on`` backdating is not offered).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from trustcart.api.auth import get_workspace, requires
from trustcart.compliance.finding import Severity
from trustcart.errors import NotFound, ValidationError
from trustcart.governance import Scope
from trustcart.workspace import Workspace

router = APIRouter(prefix="/v1", tags=["compliance"])
WorkspaceDep = Annotated[Workspace, Depends(get_workspace)]
OnQuery = Annotated[
    date | None, Query(description="Judge expiry and due dates on this day; default today")
]
KeyArg = Annotated[str, Path(min_length=1, max_length=200, description="The record's key")]
RecordKind = Literal["vendor", "screening", "dpia", "aia", "dpa_checklist"]
KindArg = Annotated[
    RecordKind,
    Path(description="vendor, screening (DPIA screening answers), dpia, aia or dpa_checklist"),
]


class FindingOut(BaseModel):
    """One compliance problem: what, about which object, the rule it breaks, and the fix."""

    id: str = Field(description="Stable across runs: check id + hash of the object")
    check: str = Field(examples=["TC-VEND-001"])
    severity: Severity
    area: str
    object: str = Field(examples=["vendor:mailpilot"], description="kind:key of the object")
    rule: str = Field(description="The legal citation, or 'TrustCart practice: …'")
    message: str
    fix: str


class GateOut(BaseModel):
    """The CI gate of ``trustcart scan --fail-on`` (present only when ``fail_on`` is given)."""

    fail_on: Literal["low", "medium", "high", "never"]
    fails: bool = Field(description="True where the CLI exits 1")
    failing: int = Field(description="Findings at or above fail_on (0 for never)")


class ScanOut(BaseModel):
    """The document of ``trustcart scan --format json`` (plus ``gate`` with ``fail_on``)."""

    tool: Literal["trustcart-scan"]
    generated_at: str
    rules_version: str
    areas: list[str]
    checks: list[str]
    score: int = Field(ge=0, le=100, description="100 - 20·high - 5·medium - 1·low, at least 0")
    counts: dict[Severity, int]
    findings: list[FindingOut]
    gate: GateOut | None = None


@router.get(
    "/compliance/scan",
    response_model=ScanOut,
    response_model_exclude_none=True,
    **requires(Scope.COMPLIANCE_READ),
)
def get_scan(
    ws: WorkspaceDep,
    area: Annotated[
        list[Annotated[str, Field(max_length=40)]] | None,
        Query(max_length=30, description="Only these areas (repeatable); default all"),
    ] = None,
    on: OnQuery = None,
    fail_on: Annotated[
        Literal["low", "medium", "high", "never"] | None,
        Query(description="Add the CI gate: does any finding reach this severity?"),
    ] = None,
) -> dict[str, Any]:
    """Run the compliance scanner on the workspace: findings most severe first, each with its
    rule (legal citation) and fix; the score and counts per severity. An unknown area is a 422
    listing the known ones."""
    from trustcart.compliance import scan

    result = scan(ws, areas=area or None, on=on)
    doc = result.to_dict()
    if fail_on is not None:
        failing = [] if fail_on == "never" else result.at_or_above(fail_on)
        doc["gate"] = {"fail_on": fail_on, "fails": bool(failing), "failing": len(failing)}
    return doc


def _context(ws: Workspace) -> tuple[Any, Any, Any]:
    from trustcart.assessments import load_records
    from trustcart.catalog.repository import load_datamap
    from trustcart.rules import load_rules

    return load_records(ws.store), load_datamap(ws.store), load_rules()


def _day(on: date | None) -> date:
    from trustcart.clock import utcnow

    return on or utcnow().date()


@router.get("/vendors", **requires(Scope.COMPLIANCE_READ))
def get_vendors(ws: WorkspaceDep, on: OnQuery = None) -> list[dict[str, Any]]:
    """Every vendor: ``key``, ``name``, ``country``, ``dpa`` (status), ``risk`` (0-100),
    ``band`` and the risk ``factors`` (name, points, reason), as ``trustcart vendors list``."""
    from trustcart.vendors.risk import vendor_risk, vendor_summary

    records, dm, rules = _context(ws)
    day = _day(on)
    out = []
    for v in records.vendors:
        r = vendor_risk(v, rules, on=day, checklist=records.dpa_checklist, datamap=dm)
        out.append(vendor_summary(v, r))
    return out


@router.get("/vendors/{key}", **requires(Scope.COMPLIANCE_READ))
def get_vendor(ws: WorkspaceDep, key: KeyArg, on: OnQuery = None) -> dict[str, Any]:
    """One vendor: the full ``vendor`` record (DPA, certifications, audit, sub-processors,
    transfer basis), its ``risk`` (score, band) and each of its ``factors``, as
    ``trustcart vendors show --format json``; 404 for an unknown key."""
    from trustcart.vendors import vendor_risk

    records, dm, rules = _context(ws)
    vendor = records.vendor(key)
    if vendor is None:
        raise NotFound(
            f"no vendor {key!r} in the registry",
            details={"known": [v.key for v in records.vendors]},
        )
    risk = vendor_risk(vendor, rules, on=_day(on), checklist=records.dpa_checklist, datamap=dm)
    return {
        "vendor": vendor.model_dump(mode="json"),
        "risk": {"score": risk.score, "band": risk.band},
        "factors": [asdict(f) for f in risk.factors],
    }


@router.get("/transfers", **requires(Scope.COMPLIANCE_READ))
def get_transfers(ws: WorkspaceDep, on: OnQuery = None) -> dict[str, Any]:
    """Transfers out of the EEA, as ``trustcart transfers list --format json``: per transfer the
    data-map ``object``, ``destination``, ``country``, ``outcome``, ``covered_by`` (adequacy,
    DPF…), the ``basis`` declared (SCCs, BCRs, derogation…) and its ``problems``; and the
    data-localisation flags (``localisation``)."""
    from trustcart.transfers import assess_transfers, localisation_flags

    records, dm, rules = _context(ws)
    found = assess_transfers(dm, rules, vendors=records.vendors, on=on)
    return {
        "transfers": [a.to_dict() for a in found],
        "localisation": [asdict(f) for f in localisation_flags(dm, rules)],
    }


@router.get("/records/{kind}", **requires(Scope.COMPLIANCE_READ))
def get_records(ws: WorkspaceDep, kind: KindArg) -> list[dict[str, Any]]:
    """The newest version of every stored record of ``kind``, by key: ``kind``, ``key``,
    ``version``, ``body`` (the record), ``body_hash`` (sha256 of its canonical JSON, what a
    sign-off binds), ``actor`` and ``created_at``. Empty when none was loaded."""
    from trustcart.assessments import latest_records

    return [v.to_dict() for v in latest_records(ws.store, kind)]


@router.get("/records/{kind}/{key}", **requires(Scope.COMPLIANCE_READ))
def get_record(ws: WorkspaceDep, kind: KindArg, key: KeyArg) -> dict[str, Any]:
    """One record: ``current`` (the newest body) and every stored ``version``, oldest first,
    each as ``trustcart records history KIND KEY --format json`` prints it; 404 when unknown."""
    from trustcart.assessments import record_history

    versions = [v.to_dict() for v in record_history(ws.store, kind, key)]
    return {"kind": kind, "key": key, "current": versions[-1]["body"], "versions": versions}


@router.get("/dpia/screening", **requires(Scope.COMPLIANCE_READ))
def get_dpia_screening(
    ws: WorkspaceDep,
    purpose: Annotated[
        str | None, Query(max_length=64, description="One purpose of the data map; default all")
    ] = None,
) -> list[dict[str, Any]]:
    """Which purposes need a DPIA (WP248 rev.01 criteria met, GDPR Art. 35(3) cases), from the
    data map and the assessor's screening answers, and whether a DPIA covers each (``dpia``),
    as ``trustcart dpia screen --format json``; 404 for a purpose the data map lacks."""
    from trustcart.assessments import screen_datamap, screen_purpose

    records, dm, rules = _context(ws)
    if purpose is not None:
        found = [screen_purpose(dm, rules, purpose, records.screening(purpose))]
    else:
        found = screen_datamap(dm, rules, records.screenings)
    covered = {p for d in records.dpias for p in d.purposes}
    return [{**s.to_dict(), "dpia": s.purpose in covered} for s in found]


_MILESTONE = r"^[a-z0-9_]{1,64}=\d{4}-\d{2}-\d{2}$"


def _milestones(values: list[str]) -> dict[str, date]:
    out: dict[str, date] = {}
    for value in values:
        key, _, day = value.partition("=")
        try:
            out[key] = date.fromisoformat(day)
        except ValueError:
            raise ValidationError(
                f"date {value!r}: not a day; use KEY=YYYY-MM-DD", details={"date": value}
            ) from None
    return out


@router.get("/aia/{key}", **requires(Scope.COMPLIANCE_READ))
def get_aia(
    ws: WorkspaceDep,
    key: KeyArg,
    on: OnQuery = None,
    date_: Annotated[
        list[Annotated[str, Field(pattern=_MILESTONE)]] | None,
        Query(
            alias="date",
            max_length=20,
            description="Override an AI Act milestone: KEY=YYYY-MM-DD (repeatable)",
        ),
    ] = None,
) -> dict[str, Any]:
    """An AIA with its EU AI Act screening on the day (tier, use cases, whether in force), its
    approval state and the fairness audit attached, as ``trustcart aia show --format json``;
    404 for an unknown AIA, 422 for an unknown milestone."""
    from trustcart.assessments import aia_document, latest_audit_for, load_records, screen_ai_act
    from trustcart.rules import load_rules

    record = load_records(ws.store).aia(key)
    if record is None:
        raise NotFound(f"no AIA {key!r}; load it with trustcart records load")
    audit = latest_audit_for(ws.store, record)
    overrides = _milestones(date_ or [])
    screening = screen_ai_act(
        load_rules(), record.use_cases, profiling=record.profiling, on=_day(on), dates=overrides
    )
    return aia_document(record, screening, audit)


class SignOffIn(BaseModel):
    """A DPIA sign-off by the caller, optionally with the DPO's opinion (GDPR Art. 35(2))."""

    model_config = ConfigDict(extra="forbid")
    opinion: str | None = Field(
        default=None, min_length=1, max_length=10_000, description="Recorded as the DPO's opinion"
    )


@router.post("/records/dpia/{key}/sign-off", status_code=201, **requires(Scope.ASSESSMENTS_SIGN))
def post_dpia_sign_off(
    request: Request, ws: WorkspaceDep, key: KeyArg, body: SignOffIn | None = None
) -> dict[str, Any]:
    """Sign DPIA ``key`` off as the caller (key name and role), bound to its current content
    (a later edit voids it): appends a version, logged in the ``admin`` log, and answers it as
    ``GET /v1/records/dpia/{key}`` lists versions; 404 for an unknown DPIA."""
    from trustcart.assessments import record_history, sign_off_dpia

    principal = request.state.principal
    sign_off_dpia(
        ws.store,
        key,
        by=principal.name,
        role=principal.role.value,
        dpo_opinion=body.opinion if body else None,
        actor=f"api:{principal.key_id}",
    )
    return record_history(ws.store, "dpia", key)[-1].to_dict()
