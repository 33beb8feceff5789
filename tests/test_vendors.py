"""Vendor registry: the risk score recomputed by hand from the documented formula, and the
scanner's vendor checks (DPA missing/draft/expired, checklist clauses, certifications, audits,
registry vs data map) firing on crafted records and silent on the example records."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from trustcart.assessments import Records, load_records_file
from trustcart.catalog import load_manifest
from trustcart.compliance import scan_datamap
from trustcart.rules import load_rules
from trustcart.vendors import (
    ChecklistItem,
    VendorRecord,
    add_duration,
    audit_due,
    band_of,
    vendor_risk,
)

ROOT = Path(__file__).resolve().parent.parent
SHOP = load_manifest(ROOT / "examples" / "shop.yaml")
RECORDS = load_records_file(ROOT / "examples" / "records.yaml")
DAY = date(2026, 12, 1)
RULES = load_rules()
CHECKLIST = [ChecklistItem(key=k, label=k) for k in ("a", "b", "c", "d", "e", "f")]


def record(**fields: object) -> VendorRecord:
    base: dict[str, object] = {"key": "v", "name": "V Ltd", "country": "DE"}
    return VendorRecord.model_validate({**base, **fields})


def test_checklist_citation_is_generic() -> None:
    """No sub-paragraph letters are invented: the default citation names the checklist only."""
    assert ChecklistItem(key="x", label="x").citation == (
        "GDPR Art. 28(3) clause checklist (items configurable)"
    )


def test_risk_of_a_bare_vendor_by_hand() -> None:
    # personal data 10 + no DPA 25 + no certification 10 + no audit schedule 10 + no breach
    # time 5 = 60 -> high; in the EEA so no transfer points.
    risk = vendor_risk(record(data_categories=["user.contact.email"]), RULES, on=DAY)
    assert {f.name: f.points for f in risk.factors} == {
        "data": 10,
        "dpa": 25,
        "certification": 10,
        "audit": 10,
        "breach": 5,
    }
    assert (risk.score, risk.band) == (60, "high")


def test_risk_of_a_worst_case_vendor_is_capped_at_100() -> None:
    v = record(
        country="IN",
        data_categories=["user.health_and_medical"],
        sub_processors=[{"name": f"s{i}", "country": "IN"} for i in range(4)],
        audit={"every": "P1Y", "last": "2024-01-01", "result": "failed"},
    )
    risk = vendor_risk(v, RULES, on=DAY)
    points = {f.name: f.points for f in risk.factors}
    # 30 sensitive + 20 transfer + 15 onward (4 x 5 capped) + 25 dpa + 10 cert + 10 overdue
    # + 15 failed + 5 breach = 130 -> capped
    assert points == {
        "data": 30,
        "transfer": 20,
        "onward": 15,
        "dpa": 25,
        "certification": 10,
        "audit": 10,
        "audit_result": 15,
        "breach": 5,
    }
    assert sum(points.values()) == 130 and risk.score == 100 and risk.band == "high"


def test_risk_of_a_good_vendor_with_missing_clauses() -> None:
    v = record(
        country="US",
        dpf_certified=True,
        data_categories=["user.contact.email"],
        certifications=[{"name": "ISO/IEC 27001", "expires": "2027-01-01"}],
        dpa={"status": "signed", "clauses": {"a": True, "b": True}},
        audit={"every": "P1Y", "last": "2026-06-01", "result": "findings"},
        breach_notification_hours=24,
    )
    risk = vendor_risk(v, RULES, on=DAY, checklist=CHECKLIST)
    # 10 personal + 3 x 4 missing clauses (c-f) = 12 + 5 findings = 27 -> low
    assert {f.name: f.points for f in risk.factors} == {"data": 10, "dpa": 12, "audit_result": 5}
    assert (risk.score, risk.band) == (27, "low")
    # one day after the certificate expires, 10 more points: 37 -> medium
    later = vendor_risk(v, RULES, on=date(2027, 1, 2), checklist=CHECKLIST)
    assert (later.score, later.band) == (37, "medium")


@pytest.mark.parametrize(
    ("score", "band"),
    [(0, "low"), (29, "low"), (30, "medium"), (59, "medium"), (60, "high"), (100, "high")],
)
def test_bands(score: int, band: str) -> None:
    assert band_of(score) == band


def test_audit_due_dates() -> None:
    assert add_duration(date(2024, 2, 29), "P1Y") == date(2025, 2, 28)
    assert add_duration(date(2026, 1, 31), "P1M") == date(2026, 2, 28)
    assert add_duration(date(2026, 1, 1), "P2W3D") == date(2026, 1, 18)
    v = record(audit={"every": "P6M", "last": "2026-05-31"})
    assert v.audit is not None and audit_due(v.audit) == date(2026, 11, 30)


# --- scanner checks -----------------------------------------------------------------------


def vendor_findings(records: Records, on: date = DAY) -> set[tuple[str, str, str]]:
    result = scan_datamap(SHOP, records=records, on=on, areas=["vendors"])
    return {(f.check, f.object, f.severity) for f in result.findings}


def with_vendor(key: str, **update: object) -> Records:
    vendors = [v.model_copy(update=update) if v.key == key else v for v in RECORDS.vendors]
    return RECORDS.model_copy(update={"vendors": vendors})


def test_example_records_are_clean() -> None:
    assert vendor_findings(RECORDS) == set()


def test_dpa_missing_draft_or_expired() -> None:
    from trustcart.vendors import Dpa

    assert vendor_findings(with_vendor("nimbus", dpa=Dpa())) == {
        ("TC-VEN-002", "vendor:nimbus", "high")
    }
    assert vendor_findings(with_vendor("nimbus", dpa=Dpa(status="draft"))) == {
        ("TC-VEN-002", "vendor:nimbus", "high")
    }
    expiring = Dpa(
        status="signed",
        expires=date(2026, 12, 31),
        clauses=dict.fromkeys(
            ["instructions", "sub_processors", "breach_notice", "end_of_service", "audit_rights"],
            True,
        ),
    )
    records = with_vendor("nimbus", dpa=expiring)
    assert vendor_findings(records, on=date(2026, 12, 31)) == set()
    assert vendor_findings(records, on=date(2027, 1, 1)) == {
        ("TC-VEN-002", "vendor:nimbus", "high")
    }


def test_dpa_missing_checklist_clauses() -> None:
    nimbus = RECORDS.vendor("nimbus")
    assert nimbus is not None
    dpa = nimbus.dpa.model_copy(update={"clauses": {**nimbus.dpa.clauses, "audit_rights": False}})
    result = scan_datamap(SHOP, records=with_vendor("nimbus", dpa=dpa), on=DAY, areas=["vendors"])
    (f,) = result.findings
    assert (f.check, f.object, f.severity) == ("TC-VEN-003", "vendor:nimbus", "medium")
    assert "audit_rights" in f.message and f.rule.startswith("StyleSense DPA playbook")
    # with no checklist configured there is nothing to check
    bare = with_vendor("nimbus", dpa=dpa).model_copy(update={"dpa_checklist": []})
    assert vendor_findings(bare) == set()


def test_certification_expired_or_none() -> None:
    from trustcart.vendors import Certification

    expired = [Certification(name="ISO/IEC 27001", expires=date(2026, 11, 30))]
    assert vendor_findings(with_vendor("nimbus", certifications=expired)) == {
        ("TC-VEN-004", "vendor:nimbus", "medium")
    }
    assert vendor_findings(with_vendor("nimbus", certifications=[])) == {
        ("TC-VEN-004", "vendor:nimbus", "low")
    }


def test_audit_overdue_never_or_failed() -> None:
    from trustcart.vendors import AuditSchedule

    overdue = AuditSchedule(every="P1Y", last=date(2025, 11, 30), result="passed")
    assert vendor_findings(with_vendor("nimbus", audit=overdue)) == {
        ("TC-VEN-005", "vendor:nimbus", "medium")
    }
    on_time = AuditSchedule(every="P1Y", last=date(2025, 12, 1), result="passed")
    assert vendor_findings(with_vendor("nimbus", audit=on_time)) == set()
    never = AuditSchedule(every="P1Y")
    assert vendor_findings(with_vendor("nimbus", audit=never)) == {
        ("TC-VEN-005", "vendor:nimbus", "medium")
    }
    failed = AuditSchedule(every="P2Y", last=date(2026, 6, 1), result="failed")
    assert vendor_findings(with_vendor("nimbus", audit=failed)) == {
        ("TC-VEN-005", "vendor:nimbus", "high")
    }


def test_registry_and_data_map_disagree() -> None:
    records = with_vendor("mailpilot", systems=["mailer_typo"])
    assert vendor_findings(records) == {
        ("TC-VEN-006", "system:esp", "low"),
        ("TC-VEN-006", "vendor:mailpilot", "low"),
    }
    # no registry at all: the check stays silent (the registry is optional)
    assert vendor_findings(Records()) == set()
