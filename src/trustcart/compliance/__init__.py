"""Compliance scanner: checks over the data map, consent ledger, notices, audits and models.

    result = scan(workspace)                 # or scan(workspace, areas=["catalog"])
    result.findings[0].rule, result.findings[0].fix
    result.fails("high")                      # the CI gate
    to_sarif(result)                          # GitHub code scanning

Each finding has a stable id, a severity, the object it is about, the rule it breaks (a citation
from the rule pack, or "TrustCart practice: …") and the fix. Checks are plugins: one module per
area under ``checks/``, each function registered with :func:`check`.
"""

from __future__ import annotations

from trustcart.compliance.finding import (
    SCORE_WEIGHTS,
    SEVERITIES,
    Finding,
    ScanResult,
    Severity,
    finding_id,
    score_of,
)
from trustcart.compliance.history import ScanSnapshot, get_scan, record_scan, scan_history
from trustcart.compliance.registry import (
    Check,
    CheckContext,
    Issue,
    RegisteredCheck,
    all_checks,
    areas,
    check,
    register,
    select_checks,
)
from trustcart.compliance.render import SARIF_LEVEL, table_rows, to_json, to_sarif
from trustcart.compliance.report import ReportModel, to_html, to_pdf
from trustcart.compliance.scanner import run_checks, scan, scan_datamap

__all__ = [
    "SARIF_LEVEL",
    "SCORE_WEIGHTS",
    "SEVERITIES",
    "Check",
    "CheckContext",
    "Finding",
    "Issue",
    "RegisteredCheck",
    "ReportModel",
    "ScanResult",
    "ScanSnapshot",
    "Severity",
    "all_checks",
    "areas",
    "check",
    "finding_id",
    "get_scan",
    "record_scan",
    "register",
    "run_checks",
    "scan",
    "scan_datamap",
    "scan_history",
    "score_of",
    "select_checks",
    "table_rows",
    "to_html",
    "to_json",
    "to_pdf",
    "to_sarif",
]
