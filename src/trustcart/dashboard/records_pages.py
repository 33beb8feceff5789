"""Dashboard pages over the compliance records: vendors, DPIAs and AIAs, transfers.

Thin, like :mod:`trustcart.dashboard.pages`: the vendor risk score is
:func:`trustcart.vendors.vendor_risk`, the DPIA screening
:func:`trustcart.assessments.screen_datamap`, the transfer judgement
:func:`trustcart.transfers.assess_transfers`, the sign-off
:func:`trustcart.assessments.sign_off_dpia`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response

from trustcart.api.auth import get_workspace
from trustcart.dashboard.links import object_path
from trustcart.dashboard.pages import router
from trustcart.dashboard.web import HEADERS, Posted, Viewer, need, posted, render, url
from trustcart.errors import NotFound
from trustcart.governance import Scope


def _context(request: Request) -> tuple[Any, Any, Any, Any]:
    from trustcart.assessments import load_records
    from trustcart.catalog.repository import load_datamap
    from trustcart.clock import utcnow
    from trustcart.rules import load_rules

    store = get_workspace(request).store
    return load_records(store), load_datamap(store), load_rules(), utcnow().date()


def _findings_about(request: Request, prefixes: tuple[str, ...]) -> list[Any]:
    from trustcart.compliance import scan

    return [f for f in scan(get_workspace(request)).findings if f.object.startswith(prefixes)]


@router.get("/vendors", name="dashboard_vendors")
def vendors(
    request: Request, v: Annotated[Viewer, Depends(need(Scope.COMPLIANCE_READ))]
) -> Response:
    """Every vendor with its DPA status, audit due date and risk score."""
    from trustcart.vendors import audit_due, vendor_risk

    records, dm, rules, today = _context(request)
    rows = [
        (
            vendor,
            vendor_risk(vendor, rules, on=today, checklist=records.dpa_checklist, datamap=dm),
            audit_due(vendor.audit) if vendor.audit else None,
        )
        for vendor in records.vendors
    ]
    rows.sort(key=lambda r: -r[1].score)
    return render(request, "vendors.html.j2", rows=rows, today=today)


@router.get("/vendors/{key}", name="dashboard_vendor")
def vendor(
    request: Request, key: str, v: Annotated[Viewer, Depends(need(Scope.COMPLIANCE_READ))]
) -> Response:
    """One vendor: each term of its risk score, missing DPA clauses, open findings."""
    from trustcart.vendors import audit_due, vendor_risk

    records, dm, rules, today = _context(request)
    record = records.vendor(key)
    if record is None:
        raise NotFound(f"no vendor {key!r} in the registry")
    systems = tuple(f"system:{s}" for s in record.systems)
    return render(
        request,
        "vendor.html.j2",
        vendor=record,
        risk=vendor_risk(record, rules, on=today, checklist=records.dpa_checklist, datamap=dm),
        missing=record.missing_clauses(records.dpa_checklist),
        audit_due=audit_due(record.audit) if record.audit else None,
        findings=_findings_about(request, (f"vendor:{key}", *systems)),
        today=today,
    )


@router.get("/assessments", name="dashboard_assessments")
def assessments(
    request: Request, v: Annotated[Viewer, Depends(need(Scope.COMPLIANCE_READ))]
) -> Response:
    """DPIA screening per purpose, DPIA records (residual risk, sign-off), AIAs (approval)."""
    from trustcart.assessments import screen_datamap

    records, dm, rules, today = _context(request)
    return render(
        request,
        "assessments.html.j2",
        screenings=screen_datamap(dm, rules, records.screenings),
        dpias=records.dpias,
        aias=records.aias,
        findings=_findings_about(request, ("dpia:", "aia:")),
        today=today,
    )


@router.post("/assessments/dpia/{key}/sign", name="dashboard_sign_dpia")
def sign_dpia(
    request: Request, key: str, p: Annotated[Posted, Depends(posted(Scope.ASSESSMENTS_SIGN))]
) -> Response:
    """The DPO signs a DPIA off (bound to its current content: a later edit voids it)."""
    from trustcart.assessments import sign_off_dpia

    opinion = p.form.get("opinion") or None
    sign_off_dpia(
        get_workspace(request).store,
        key,
        by=p.viewer.principal.name,
        role=p.viewer.principal.role.value,
        dpo_opinion=opinion,
        actor=f"dashboard:{p.viewer.principal.name}",
    )
    return RedirectResponse(
        url(request, f"/assessments#dpia-{key}"), status_code=303, headers=HEADERS
    )


@router.get("/transfers", name="dashboard_transfers")
def transfers(
    request: Request, v: Annotated[Viewer, Depends(need(Scope.COMPLIANCE_READ))]
) -> Response:
    """Every third-country transfer: what it relies on and what is wrong with that."""
    from trustcart.transfers import assess_transfers

    records, dm, rules, today = _context(request)
    return render(
        request,
        "transfers.html.j2",
        object_path=object_path,
        assessed=assess_transfers(dm, rules, vendors=records.vendors, on=today),
        today=today,
    )
