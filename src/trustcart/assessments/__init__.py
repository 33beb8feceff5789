"""Assessments: DPIA screening and records, algorithmic impact assessments, versioned records.

records = load_records_file("records.yaml"); save_records(store, records)
screen_purpose(datamap, rules, "dynamic_pricing").required      # WP248 / Art. 35(3)
render_dpia(records.dpia("dpia-pricing"), rules, "html")
screen_ai_act(rules, ["creditworthiness"], profiling=True, on=date(2026, 9, 1)).tier  # "high"
sign_off_dpia(store, "dpia-pricing", by="Dr. Lena Hoffmann", role="dpo")
approve_aia(store, "aia-pricing", by="Ethics committee", decision="approved")
"""

from __future__ import annotations

from trustcart.assessments.aia import (
    AiActScreening,
    AiaRecord,
    Approval,
    UseCaseResult,
    aia_document,
    audit_summary,
    latest_audit_for,
    screen_ai_act,
)
from trustcart.assessments.dpia import (
    Answer,
    CriterionResult,
    DpiaRecord,
    MandatoryResult,
    Opinion,
    PriorConsultation,
    Risk,
    Screening,
    ScreeningRecord,
    SignOff,
    render_dpia,
    risk_level,
    screen_datamap,
    screen_purpose,
)
from trustcart.assessments.records import (
    Records,
    RecordVersion,
    SaveResult,
    latest_records,
    load_records,
    load_records_file,
    parse_records,
    record_history,
    save_records,
)
from trustcart.assessments.workflow import approve_aia, sign_off_dpia

__all__ = [
    "AiActScreening",
    "AiaRecord",
    "Answer",
    "Approval",
    "CriterionResult",
    "DpiaRecord",
    "MandatoryResult",
    "Opinion",
    "PriorConsultation",
    "RecordVersion",
    "Records",
    "Risk",
    "SaveResult",
    "Screening",
    "ScreeningRecord",
    "SignOff",
    "UseCaseResult",
    "aia_document",
    "approve_aia",
    "audit_summary",
    "latest_audit_for",
    "latest_records",
    "load_records",
    "load_records_file",
    "parse_records",
    "record_history",
    "render_dpia",
    "risk_level",
    "save_records",
    "screen_ai_act",
    "screen_datamap",
    "screen_purpose",
    "sign_off_dpia",
]
