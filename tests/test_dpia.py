"""DPIA screening reproduces the WP248 criteria count on worked examples (counted by hand from
rules-reference.md section 4), assessor answers override the data map, and the DPIA record
scores risks, raises the Art. 36 flag, binds its sign-off to its content and exports."""

from __future__ import annotations

from datetime import date

import pytest

from trustcart.assessments import (
    DpiaRecord,
    Records,
    ScreeningRecord,
    render_dpia,
    risk_level,
    screen_purpose,
)
from trustcart.catalog import DataMap, parse_manifest
from trustcart.compliance import scan_datamap
from trustcart.errors import NotFound
from trustcart.rules import load_rules

RULES = load_rules()
DAY = date(2026, 12, 1)

MAP = parse_manifest(
    """
organization:
  name: Shop GmbH
  controller: {name: Shop GmbH, address: "Str. 1, Berlin", email: privacy@shop.example}
  establishment_country: DE
  jurisdictions: [EU]
purposes:
  - key: profiling
    name: Profiling for prices
    description: Scores shoppers from browsing and orders to set prices
    data_use: personalize.profiling
    legal_basis: {EU: consent}
    automated_decision_making: {enabled: true, logic: "A model sets the price."}
  - key: newsletter
    name: Newsletter
    description: Newsletter
    data_use: marketing.communications.email
    legal_basis: {EU: consent}
  - key: staff_health
    name: Staff sick leave
    description: Sick-leave records of employees
    data_use: essential.service
    legal_basis: {EU: legal_obligation}
    data_subjects: [employee]
  - key: analytics
    name: Analytics
    description: Which pages are viewed
    data_use: analytics.reporting
    legal_basis: {EU: consent}
systems:
  - {key: web, name: Web, owner: IT, hosting_country: DE, purposes: [profiling, analytics]}
  - {key: orders, name: Orders, owner: IT, hosting_country: DE, purposes: [profiling]}
  - {key: mail, name: Mail, owner: IT, hosting_country: DE, purposes: [newsletter]}
  - {key: hr, name: HR, owner: HR, hosting_country: DE, purposes: [staff_health]}
datasets:
  - key: clicks
    name: Clicks
    system: web
    location: /data/clicks
    retention: P1Y
    fields:
      - {name: pages, data_categories: [user.behavior.browsing_history]}
      - {name: customer_id, data_categories: [user.unique_id]}
  - key: order_lines
    name: Orders
    system: orders
    location: /data/orders
    retention: P1Y
    fields:
      - {name: customer_id, data_categories: [user.unique_id]}
      - {name: items, data_categories: [user.behavior.purchase_history]}
  - key: subscribers
    name: Subscribers
    system: mail
    location: /data/subs
    retention: P1Y
    fields:
      - {name: email, data_categories: [user.contact.email]}
  - key: sick_leave
    name: Sick leave
    system: hr
    location: /data/hr
    retention: P1Y
    fields:
      - {name: employee_id, data_categories: [user.unique_id], data_subject: employee}
      - {name: diagnosis, data_categories: [user.health_and_medical], data_subject: employee}
""",
    filename="worked.yaml",
)


def met(dm: DataMap, purpose: str, record: ScreeningRecord | None = None) -> list[int]:
    return [c.number for c in screen_purpose(dm, RULES, purpose, record).met]


def answers(purpose: str, **values: tuple[bool, str]) -> ScreeningRecord:
    return ScreeningRecord.model_validate(
        {"key": purpose, "answers": {k: {"met": m, "reason": r} for k, (m, r) in values.items()}}
    )


def test_worked_example_profiling_with_automated_prices() -> None:
    """1 evaluation (personalize.profiling), 2 automated decision, 3 monitoring (browsing
    history), 6 combining (clicks in web + order lines in orders, each adding categories):
    4 criteria, and Art. 35(3)(a) (1 and 2 together)."""
    s = screen_purpose(MAP, RULES, "profiling")
    assert [c.number for c in s.met] == [1, 2, 3, 6]
    assert s.count == 4 and s.required
    assert [m.citation for m in s.mandatory] == ["GDPR Art. 35(3)(a)"]
    assert s.unanswered == ["large_scale", "innovative_technology", "prevents_right"]


def test_worked_example_newsletter_meets_none() -> None:
    s = screen_purpose(MAP, RULES, "newsletter")
    assert s.count == 0 and not s.required and s.mandatory == []


def test_worked_example_employee_health_data() -> None:
    """4 sensitive (health, GDPR Art. 9(1)), 7 vulnerable subjects (employees): 2 -> required;
    with the assessor's "large scale", Art. 35(3)(b) (large-scale special categories) too."""
    assert met(MAP, "staff_health") == [4, 7]
    s = screen_purpose(MAP, RULES, "staff_health")
    assert s.required and s.mandatory == []
    big = screen_purpose(
        MAP, RULES, "staff_health", answers("staff_health", large_scale=(True, "60k staff"))
    )
    assert [c.number for c in big.met] == [4, 5, 7]
    assert [m.citation for m in big.mandatory] == ["GDPR Art. 35(3)(b)"]


def test_one_criterion_is_not_enough_until_the_assessor_adds_one() -> None:
    assert met(MAP, "analytics") == [3]
    assert not screen_purpose(MAP, RULES, "analytics").required
    rec = answers("analytics", innovative_technology=(True, "eye tracking"))
    s = screen_purpose(MAP, RULES, "analytics", rec)
    assert [c.number for c in s.met] == [3, 8] and s.required
    eight = next(c for c in s.criteria if c.number == 8)
    assert (eight.source, eight.reasons) == ("assessor", ["eye tracking"])


def test_assessor_can_override_a_derived_criterion() -> None:
    rec = answers("profiling", automated_decision=(False, "prices are reviewed by a person"))
    s = screen_purpose(MAP, RULES, "profiling", rec)
    assert [c.number for c in s.met] == [1, 3, 6]
    assert s.mandatory == []  # Art. 35(3)(a) needs criterion 2 as well
    assert s.required  # still three criteria


def test_unknown_purpose() -> None:
    with pytest.raises(NotFound):
        screen_purpose(MAP, RULES, "nope")


# --- the DPIA record ----------------------------------------------------------------------


def dpia(**update: object) -> DpiaRecord:
    base: dict[str, object] = {
        "key": "d1",
        "title": "Profiling <b>prices</b>",
        "purposes": ["profiling"],
        "description": "Scores shoppers",
        "necessity_proportionality": "Bounded prices",
        "risks": [
            {
                "key": "r1",
                "description": "Unfair prices",
                "likelihood": 3,
                "severity": 3,
                "measures": ["price bound"],
                "residual_likelihood": 2,
                "residual_severity": 2,
            },
            {"key": "r2", "description": "Leak", "likelihood": 2, "severity": 4},
        ],
    }
    return DpiaRecord.model_validate({**base, **update})


@pytest.mark.parametrize(
    ("score", "level"),
    [(1, "low"), (3, "low"), (4, "medium"), (8, "medium"), (9, "high"), (16, "high")],
)
def test_risk_levels(score: int, level: str) -> None:
    assert risk_level(score) == level


def test_risk_scores_residual_and_prior_consultation() -> None:
    d = dpia()
    r1, r2 = d.risks
    assert (r1.score, r1.residual_score) == (9, 4)
    assert (r2.score, r2.residual_score) == (8, 8)  # no residual values: the inherent ones
    assert (d.residual_score, d.residual_level, d.prior_consultation_required) == (
        8,
        "medium",
        False,
    )
    high = dpia(risks=[{"key": "r", "description": "x", "likelihood": 3, "severity": 4}])
    assert high.residual_level == "high" and high.prior_consultation_required


def test_sign_off_binds_to_content() -> None:
    d = dpia()
    signed = DpiaRecord.model_validate(
        {
            **d.model_dump(),
            "sign_off": {
                "by": "A",
                "role": "dpo",
                "signed_on": DAY,
                "content_sha256": d.content_hash(),
            },
        }
    )
    assert signed.signed_off
    edited = DpiaRecord.model_validate({**signed.model_dump(), "description": "changed"})
    assert not edited.signed_off


def _checks(records: Records, dm: DataMap = MAP) -> set[tuple[str, str, str]]:
    result = scan_datamap(dm, records=records, on=DAY, areas=["dpia"])
    return {(f.check, f.object, f.severity) for f in result.findings}


def test_scanner_dpia_missing_unfinished_and_prior_consultation() -> None:
    assert _checks(Records()) == {
        ("TC-DPIA-001", "purpose:profiling", "high"),
        ("TC-DPIA-001", "purpose:staff_health", "high"),
    }
    d = dpia(purposes=["profiling", "staff_health"])
    assert _checks(Records(dpias=[d])) == {("TC-DPIA-002", "dpia:d1", "medium")}
    finished = dpia(
        purposes=["profiling", "staff_health"],
        dpo_opinion={"by": "DPO", "given_on": "2026-10-01", "text": "ok"},
        sign_off={"by": "CEO", "role": "ceo", "signed_on": "2026-10-02"},
    )
    assert _checks(Records(dpias=[finished])) == set()
    risky = DpiaRecord.model_validate(
        {
            **finished.model_dump(),
            "risks": [{"key": "r", "description": "x", "likelihood": 4, "severity": 4}],
        }
    )
    assert _checks(Records(dpias=[risky])) == {("TC-DPIA-003", "dpia:d1", "high")}
    consulted = DpiaRecord.model_validate(
        {
            **risky.model_dump(),
            "prior_consultation": {"requested_on": "2026-10-03", "authority": "BlnBDI"},
        }
    )
    assert _checks(Records(dpias=[consulted])) == set()
    overdue = DpiaRecord.model_validate({**finished.model_dump(), "review_by": "2026-11-30"})
    assert _checks(Records(dpias=[overdue])) == {("TC-DPIA-002", "dpia:d1", "low")}


def test_dpia_missing_message_names_criteria_and_art_35_3() -> None:
    result = scan_datamap(MAP, records=Records(), on=DAY, areas=["dpia"])
    f = next(f for f in result.findings if f.object == "purpose:profiling")
    assert "4 of 9" in f.message and "Art. 35(3)(a)" in f.rule and "WP248" in f.rule


def test_export_markdown_and_html() -> None:
    d = dpia(dpo_opinion={"by": "DPO", "given_on": "2026-10-01", "text": "fine"})
    s = [screen_purpose(MAP, RULES, "profiling")]
    md = render_dpia(d, RULES, "markdown", s)
    assert md.startswith("# DPIA: Profiling <b>prices</b>")
    assert "| 2 | automated decision-making" in md and "4 of 9 criteria met" in md
    assert "Residual risk: **medium** (highest residual score 8)" in md
    assert "Not signed off." in md and "— DPO, 2026-10-01" in md
    html = render_dpia(d, RULES, "html", s)
    assert "&lt;b&gt;prices&lt;/b&gt;" in html and "<b>prices</b>" not in html
    assert "GDPR Art. 35(3)(a)" in html
    high = dpia(risks=[{"key": "r", "description": "x", "likelihood": 4, "severity": 3}])
    assert "Prior consultation required (GDPR Art. 36)" in render_dpia(high, RULES)
    assert "within 8 weeks (+6)" in render_dpia(high, RULES)


def test_export_pdf_holds_the_document() -> None:
    import io

    from pypdf import PdfReader

    from trustcart.pdfdoc import markdown_to_pdf

    d = dpia(dpo_opinion={"by": "DPO", "given_on": "2026-10-01", "text": "fine"})
    md = render_dpia(d, RULES, "markdown", [screen_purpose(MAP, RULES, "profiling")])
    pdf = markdown_to_pdf(md, title=f"DPIA: {d.title}")
    reader = PdfReader(io.BytesIO(pdf))
    assert reader.metadata is not None and reader.metadata.title == f"DPIA: {d.title}"
    text = " ".join(p.extract_text() for p in reader.pages)
    flat = "".join(text.split())
    assert "DPIA:Profiling<b>prices</b>" in flat  # user text shown as text, not markup
    assert "4of9criteriamet" in flat and "automateddecision-making" in flat
    assert "Residualrisk:medium" in flat and "**" not in text  # bold rendered, not raw
    for r in d.risks:  # every risk row of the Markdown table reaches the PDF
        assert "".join(r.description.split()) in flat
