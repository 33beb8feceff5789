"""Compliance scanner: each check fires on a crafted bad example and stays silent on the shop.

The clean example is ``examples/shop.yaml`` loaded into a workspace with its privacy notice
registered and its records manifest ``examples/records.yaml`` (vendors, DPIAs, AIAs) loaded, as
``trustcart demo`` does. It has exactly one expected finding: the newsletter platform (MailPilot
Inc., a US vendor) is not recorded as certified under the EU-US Data Privacy Framework and no
safeguard is recorded - the manifests say so on purpose - reported once, as a medium finding about
``system:esp`` (the flow crm->esp is folded into it). Scans are judged on a fixed day (``DAY``) so
that expiry dates in the example do not make the tests depend on the calendar.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from trustcart.assessments import Records, load_records_file, save_records
from trustcart.catalog import DataMap, load_manifest, parse_manifest
from trustcart.catalog.repository import save_datamap
from trustcart.cli import app
from trustcart.compliance import (
    SARIF_LEVEL,
    CheckContext,
    Finding,
    ScanResult,
    all_checks,
    scan,
    scan_datamap,
    to_html,
    to_sarif,
)
from trustcart.consent import datamap_notice, register_notice
from trustcart.rules import load_rules
from trustcart.workspace import Workspace

ROOT = Path(__file__).resolve().parent.parent
SHOP = ROOT / "examples" / "shop.yaml"
SHOP_TEXT = SHOP.read_text()
RECORDS = load_records_file(ROOT / "examples" / "records.yaml")
DAY = date(2026, 12, 1)
EXPECTED_CLEAN = {("TC-TRF-001", "system:esp", "medium")}
runner = CliRunner()


def shop_map(*replacements: tuple[str, str]) -> DataMap:
    """The example shop with exact text replacements (each must match exactly once)."""
    text = SHOP_TEXT
    for old, new in replacements:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return parse_manifest(text, filename="shop.yaml")


def load_shop(ws: Workspace, *, notice: bool = True, records: Records = RECORDS) -> DataMap:
    dm = load_manifest(SHOP)
    save_datamap(ws.store, dm)
    save_records(ws.store, records)
    if notice:
        register_notice(ws.store, **datamap_notice(dm))
    return dm


def triples(result: ScanResult, check: str | None = None) -> set[tuple[str, str, str]]:
    return {
        (f.check, f.object, f.severity)
        for f in result.findings
        if check is None or f.check == check
    }


# --- the clean shop, both backends --------------------------------------------------------


def test_clean_shop_has_only_the_expected_finding(workspace: Workspace) -> None:
    load_shop(workspace)
    result = scan(workspace, on=DAY)
    assert result.counts["high"] == 0
    assert triples(result) == EXPECTED_CLEAN
    assert result.score == 95  # 100 - 5 (one medium)
    assert [c.id for c in all_checks()] == result.checks


def test_finding_ids_are_stable_across_scans(workspace: Workspace) -> None:
    load_shop(workspace, notice=False)
    first = scan(workspace)
    second = scan(workspace)
    assert [f.id for f in first.findings] == [f.id for f in second.findings]
    assert len({f.id for f in first.findings}) == len(first.findings)
    assert all(f.id.startswith(f.check + "-") for f in first.findings)


def test_every_finding_cites_and_advises(workspace: Workspace) -> None:
    load_shop(workspace, notice=False)
    for f in scan(workspace).findings:
        assert f.id and f.object and f.rule and f.message and f.fix
        assert f.severity in ("low", "medium", "high")


# --- catalog gaps ---------------------------------------------------------------------------


def test_field_without_specific_category() -> None:
    dm = shop_map(
        (
            "{name: first_name, data_categories: [user.name.first]}\n      - {name: last_name",
            "{name: first_name, data_categories: [user]}\n      - {name: last_name",
        )
    )
    assert triples(scan_datamap(dm), "TC-CAT-001") == {
        ("TC-CAT-001", "dataset:customers.field:first_name", "medium")
    }
    # an empty list cannot be loaded (pydantic), but a map built in code may hold one
    ds = dm.datasets[0]
    fld = ds.fields[0].model_copy(update={"data_categories": []})
    broken = dm.model_copy(
        update={"datasets": [ds.model_copy(update={"fields": [fld]}), *dm.datasets[1:]]}
    )
    found = triples(scan_datamap(broken), "TC-CAT-001")
    assert ("TC-CAT-001", "dataset:customers.field:customer_id", "medium") in found


def test_dataset_without_retention_cites_storage_limitation() -> None:
    dm = shop_map(("    retention: P3Y                   # after the last order or login\n", ""))
    found = [f for f in scan_datamap(dm).findings if f.check == "TC-CAT-002"]
    assert [f.object for f in found] == ["dataset:customers"]
    assert "GDPR Art. 5(1)(e)" in found[0].rule and "§1798.100(a)(3)" in found[0].rule


def test_purpose_without_legal_basis_for_served_jurisdiction() -> None:
    dm = shop_map(
        (
            "legal_basis: {EU: consent, US-CA: notice_opt_out, BR: legitimate_interests}",
            "legal_basis: {EU: consent, US-CA: notice_opt_out}",
        )
    )
    found = [f for f in scan_datamap(dm).findings if f.check == "TC-CAT-003"]
    assert [(f.object, f.severity) for f in found] == [("purpose:analytics", "high")]
    assert "BR" in found[0].message and found[0].rule.startswith("TrustCart practice:")


def test_system_without_security_measures() -> None:
    dm = shop_map(("security_measures: [TLS in transit, SSO with MFA]", "security_measures: []"))
    assert triples(scan_datamap(dm), "TC-CAT-004") == {("TC-CAT-004", "system:esp", "medium")}


# --- sensitive data, vendors, transfers -----------------------------------------------------


def test_sensitive_data_without_consent_in_opt_in_jurisdiction() -> None:
    dm = shop_map(
        (
            "      - name: fraud_score\n        data_categories: [user.behavior]",
            "      - name: fraud_score\n        data_categories: [user.biometric]",
        )
    )
    found = [f for f in scan_datamap(dm).findings if f.check == "TC-SEN-001"]
    eu = [f for f in found if "in EU" in f.message]
    assert [(f.object, f.severity) for f in eu] == [("purpose:fraud_detection", "high")]
    assert "GDPR Art. 9(1)" in eu[0].rule and "opt_in" in eu[0].rule
    assert "orders.fraud_score" in eu[0].message
    # consent-based purposes processing the same field are not flagged
    assert all(f.object == "purpose:fraud_detection" for f in found)


def test_vendor_without_dpa() -> None:
    dm = shop_map(
        (
            "dpa_signed: true\n      # transfer_safeguard",
            "dpa_signed: false\n      # transfer_safeguard",
        )
    )
    found = [f for f in scan_datamap(dm).findings if f.check == "TC-VEN-001"]
    assert [(f.object, f.severity) for f in found] == [("system:esp", "high")]
    assert found[0].rule.startswith("TrustCart practice:")


def test_transfer_safeguard_recorded_silences_and_missing_fires() -> None:
    fixed = shop_map(
        (
            "      # transfer_safeguard not yet recorded: the RoPA will say "
            '"safeguard: not recorded"\n',
            "      transfer_safeguard: Standard Contractual Clauses (Decision 2021/914)\n",
        )
    )
    assert triples(scan_datamap(fixed), "TC-TRF-001") == set()
    broken = shop_map(
        (
            "      transfer_safeguard: Standard Contractual Clauses "
            "(Decision 2021/914, module 2)\n",
            "",
        )
    )
    found = triples(scan_datamap(broken), "TC-TRF-001")
    assert ("TC-TRF-001", "system:analytics_platform", "medium") in found
    f = next(f for f in scan_datamap(broken).findings if f.object == "system:analytics_platform")
    # a US importer: the adequacy decision covers only DPF-certified organisations
    assert "2023/1795" in f.rule and "Data Privacy Framework" in f.message


# --- ledger, notices, audits, models (need the workspace) ----------------------------------


def test_consent_grants_through_invalid_mechanism(workspace: Workspace) -> None:
    from trustcart.consent import ConsentEventIn, ConsentService

    dm = load_shop(workspace)
    version = datamap_notice(dm)["text"]
    from trustcart.consent import text_hash

    svc = ConsentService(workspace)
    for i in range(3):
        svc.record(
            ConsentEventIn(
                subject=f"c-{i}",
                purposes=["personalization"],
                decision="granted",
                mechanism="implied_banner",
                jurisdiction="FR",
                notice_version=text_hash(version),
            )
        )
    svc.record(
        ConsentEventIn(
            subject="c-9",
            purposes=["personalization"],
            decision="granted",
            mechanism="opt_in_checkbox",
            jurisdiction="EU",
            notice_version=text_hash(version),
        )
    )
    found = [f for f in scan(workspace).findings if f.check == "TC-CON-001"]
    assert [(f.object, f.severity) for f in found] == [("purpose:personalization", "high")]
    assert "3 grant(s)" in found[0].message and "implied_banner" in found[0].message
    assert "GDPR Art. 4(11)" in found[0].rule


def test_consent_purposes_without_notice(workspace: Workspace) -> None:
    load_shop(workspace, notice=False)
    found = triples(scan(workspace, areas=["notices"]))
    consent_based = {"personalization", "targeted_offers", "email_marketing", "dynamic_pricing"}
    consent_based.add("analytics")
    assert found == {("TC-NOT-001", f"purpose:{k}", "medium") for k in consent_based}


def _audit_result(severity: str) -> object:
    from trustcart.fairness.findings import Finding as FairnessFinding
    from trustcart.fairness.result import AuditResult

    finding = FairnessFinding(
        severity=severity,
        message="selection rate of gender=f is 62% of gender=m's",
        rule="29 CFR 1607.4(D)",
        metric="selection_rate_ratio",
        group={"gender": "f"},
        reference_group={"gender": "m"},
        value=0.62,
        threshold=0.8,
        p_value=0.001,
        p_value_holm=0.002,
        advice="Look for proxies of gender among the offer model's inputs.",
    )
    return AuditResult(
        kind="binary",
        rows=1000,
        excluded=0,
        groups=[],
        metrics={},
        findings=[finding],
        parameters={},
        source={"description": "offers.parquet"},
    )


def test_latest_audit_high_findings_and_unaudited_models(workspace: Workspace) -> None:
    from trustcart.fairness.store import save_audit
    from trustcart.gateway import FeatureSpec, record_model

    load_shop(workspace)
    record_model(
        workspace.store,
        name="offers",
        version="1",
        kind="offer",
        features=[
            FeatureSpec("loyalty_tier", purpose="targeted_offers", categories=("user.behavior",))
        ],
        training_sha256=None,
    )
    assert triples(scan(workspace, areas=["fairness"])) == {
        ("TC-FAI-002", "model:offers@1", "medium")
    }
    save_audit(workspace.store, _audit_result("high"))  # type: ignore[arg-type]
    found = [f for f in scan(workspace, areas=["fairness"]).findings]
    assert [(f.check, f.severity) for f in found] == [("TC-FAI-001", "high")]
    assert found[0].rule == "29 CFR 1607.4(D)" and "proxies" in found[0].fix
    save_audit(workspace.store, _audit_result("medium"))  # the newest audit is what counts
    assert scan(workspace, areas=["fairness"]).findings == []


def test_model_with_protected_attribute_or_proxy(workspace: Workspace) -> None:
    from trustcart.gateway import FeatureSpec, record_model, register_proxy

    load_shop(workspace)
    register_proxy(workspace.store, "postcode", "predicts ethnicity (audit aud_x)", "audit")
    record_model(
        workspace.store,
        name="price",
        version="2",
        kind="price",
        features=[
            FeatureSpec(
                "gender", purpose="dynamic_pricing", categories=("user.demographic.gender",)
            ),
            FeatureSpec("postcode", purpose="dynamic_pricing", field="customers.postal_code"),
            FeatureSpec("segment", purpose="dynamic_pricing", field="price_quotes.segment"),
        ],
        training_sha256=None,
    )
    found = [f for f in scan(workspace, areas=["gateway"]).findings]
    assert sorted((f.check, f.object, f.severity) for f in found) == [
        ("TC-GW-001", "model:price@2", "high"),
        ("TC-GW-002", "model:price@2", "high"),
    ]
    gw1 = next(f for f in found if f.check == "TC-GW-001")
    assert "gender" in gw1.message and "2004/113/EC" in gw1.rule


# --- registry, renderers -------------------------------------------------------------------


def test_unknown_area_is_a_validation_error() -> None:
    from trustcart.errors import ValidationError

    with pytest.raises(ValidationError, match="unknown scan area"):
        scan_datamap(load_manifest(SHOP), areas=["nope"])


def test_a_new_check_is_one_function() -> None:
    from trustcart.compliance import Issue, RegisteredCheck

    def no_dpo(ctx: CheckContext) -> list[Issue]:
        org = ctx.datamap.organization
        return [] if org is None or org.dpo else [Issue("organization:organization", "no DPO")]

    c = RegisteredCheck(
        "TC-X-001", "x", "No DPO", "low", "TrustCart practice: x", "Name one.", no_dpo
    )
    dm = load_manifest(SHOP)
    assert c.run(CheckContext(dm, load_rules())) == []
    dm2 = dm.model_copy(update={"organization": dm.organization.model_copy(update={"dpo": None})})  # type: ignore[union-attr]
    (f,) = c.run(CheckContext(dm2, load_rules()))
    assert isinstance(f, Finding) and f.severity == "low" and f.fix == "Name one."


def _bad_result() -> ScanResult:
    dm = shop_map(
        (
            "dpa_signed: true\n      # transfer_safeguard",
            "dpa_signed: false\n      # transfer_safeguard",
        ),
        ("security_measures: [TLS in transit, SSO with MFA]", "security_measures: []"),
        ("name: Newsletter platform\n", "name: News <script>alert(1)</script>\n"),
    )
    result = scan_datamap(dm)
    assert {f.severity for f in result.findings} == {"high", "medium"}
    return result


SARIF_SCHEMA = Path(__file__).resolve().parent / "sarif-schema-2.1.0.json"


def _sarif_validator() -> object:
    import jsonschema_rs

    schema = json.loads(SARIF_SCHEMA.read_text())
    assert schema["title"] == "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    return jsonschema_rs.Draft4Validator(schema, validate_formats=True)


def test_sarif_validates_against_the_official_schema(workspace: Workspace) -> None:
    """The OASIS SARIF 2.1.0 schema (tests/sarif-schema-2.1.0.json, copied from
    oasis-tcs/sarif-spec Schemata/) accepts our logs - the clean shop, a bad map with every
    severity, and one with no finding - and rejects a broken one, so the check can fail."""
    validator = _sarif_validator()
    load_shop(workspace)
    logs = [to_sarif(scan(workspace, on=DAY)), to_sarif(_bad_result())]
    empty = scan_datamap(load_manifest(SHOP), records=RECORDS, areas=["catalog"], on=DAY)
    assert empty.findings == []
    logs.append(to_sarif(empty))
    for log in logs:
        errors = list(validator.iter_errors(json.loads(json.dumps(log))))  # type: ignore[attr-defined]
        assert errors == [], [e.message for e in errors]
    broken = json.loads(json.dumps(logs[1]))
    broken["runs"][0]["results"][0]["level"] = "critical"  # not a SARIF level
    del broken["runs"][0]["tool"]["driver"]["name"]
    assert not validator.is_valid(broken)  # type: ignore[attr-defined]
    assert len(list(validator.iter_errors(broken))) >= 2  # type: ignore[attr-defined]


def test_sarif_structure() -> None:
    """Strict structural check of the SARIF 2.1.0 fields we emit, beyond what the schema says
    (rule indexes, fingerprints, levels matching severities)."""
    result = _bad_result()
    log = json.loads(json.dumps(to_sarif(result)))
    assert set(log) == {"$schema", "version", "runs"} and log["version"] == "2.1.0"
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "trustcart-scan" and isinstance(driver["version"], str)
    rule_ids = [r["id"] for r in driver["rules"]]
    assert len(rule_ids) == len(set(rule_ids)) == len(result.checks)
    for r in driver["rules"]:
        assert r["shortDescription"]["text"] and r["fullDescription"]["text"]
        assert r["defaultConfiguration"]["level"] in ("error", "warning", "note")
        assert r["properties"]["citation"]
    assert len(run["results"]) == len(result.findings)
    for res, f in zip(run["results"], result.findings, strict=True):
        assert res["ruleId"] == f.check == rule_ids[res["ruleIndex"]]
        assert res["level"] == SARIF_LEVEL[f.severity]
        assert f.fix in res["message"]["text"] and f.message in res["message"]["text"]
        (loc,) = res["locations"]
        assert set(loc) == {"logicalLocations"}
        (logical,) = loc["logicalLocations"]
        assert logical["fullyQualifiedName"] == f.object
        assert logical["kind"] == f.object.split(":", 1)[0]
        assert res["partialFingerprints"]["trustcartFindingId/v1"] == f.id
    assert {r["level"] for r in run["results"]} == {"error", "warning"}


def test_html_report_escapes_and_groups() -> None:
    html = to_html(_bad_result())
    assert "<script>alert(1)" not in html and "&lt;script&gt;" in html
    assert '<h2 id="area-catalog">catalog</h2>' in html
    assert '<h2 id="area-vendors">vendors</h2>' in html
    assert 'class="sev-high"' in html
    assert "<script" not in html.replace("&lt;script", "")  # no script of its own either


def _snapshots(result: ScanResult, scores: list[int]) -> list[Any]:
    from datetime import timedelta

    from trustcart.compliance.history import ScanSnapshot

    return [
        ScanSnapshot(
            f"scan_{i}",
            result.generated_at - timedelta(days=len(scores) - i),
            score,
            {"high": 0, "medium": 0, "low": 0},
            [],
            "x",
            "test",
        )
        for i, score in enumerate(scores)
    ]


def test_html_report_counts_by_area_and_draws_the_trend() -> None:
    import re as _re

    result = _bad_result()
    html = to_html(result, _snapshots(result, [40, 55, 70]))
    expected: dict[str, dict[str, int]] = {}
    for f in result.findings:  # independent count of the by-area table
        row = expected.setdefault(f.area, {"high": 0, "medium": 0, "low": 0})
        row[f.severity] += 1
    table = html[html.index('<table id="by-area">') : html.index("</table>")]
    for area, row in expected.items():
        cells = _re.search(
            rf'<th scope="row"><a href="#area-{area}">{area}</a></th>(.*?)</tr>', table
        )
        assert cells, area
        numbers = [int(n) for n in _re.findall(r'<td class="n">(\d+)</td>', cells.group(1))]
        assert numbers == [row["high"], row["medium"], row["low"], sum(row.values())], area
    trend = html[
        html.index('<figure id="trend">') : html.index("</figure>", html.index('id="trend"'))
    ]
    tips = _re.findall(r"<title>([^<]*)</title>", trend)
    points = [t for t in tips if t.startswith("compliance score, ")]
    assert len(points) == 4, tips  # three recorded scans and this one ("now")
    assert points[-1] == f"compliance score, now: {result.score}"
    assert "4 point(s)" in trend
    # the newest recorded scan IS this one: it is not drawn twice
    again = _snapshots(result, [40])
    again[-1] = again[-1].__class__(
        "scan_x", result.generated_at, result.score, {}, [], "x", "test"
    )
    assert "2 point(s)" in to_html(result, [*_snapshots(result, [40]), again[-1]])


def test_pdf_report_holds_every_finding_and_the_score() -> None:
    import io

    from pypdf import PdfReader

    from trustcart.compliance import to_pdf

    result = _bad_result()
    pdf = to_pdf(result, _snapshots(result, [40, 55]))
    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(pdf))
    assert reader.metadata is not None and reader.metadata.title == "TrustCart compliance report"
    text = "".join(page.extract_text() for page in reader.pages)
    flat = "".join(text.split())  # table cells may wrap anywhere
    assert f"Score:{result.score}/100" in flat
    for f in result.findings:
        assert "".join(f.id.split()) in flat, f.id
        assert "".join(f.rule.split()) in flat, f.rule
    assert "<script>" in text  # user text is shown as text, not interpreted as markup
    assert "Checksrun:" in flat
    empty = to_pdf(scan_datamap(shop_map()))  # a clean shop still gives a valid document
    assert PdfReader(io.BytesIO(empty)).pages


# --- CLI ------------------------------------------------------------------------------------


def _cli(ws: Workspace, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["-w", str(ws.root), "scan", "--on", DAY.isoformat(), *args])
    return result.exit_code, result.stdout


@pytest.mark.parametrize(
    ("fail_on", "code"), [("high", 0), ("medium", 1), ("low", 1), ("never", 0)]
)
def test_cli_exit_codes_on_clean_shop(workspace: Workspace, fail_on: str, code: int) -> None:
    load_shop(workspace)  # one medium finding
    assert _cli(workspace, "--fail-on", fail_on)[0] == code


def test_cli_default_fails_on_high_and_formats(workspace: Workspace, tmp_path: Path) -> None:
    load_shop(workspace, notice=False)
    save_datamap(
        workspace.store,
        shop_map(("dpa_signed: true\n      # transfer_safeguard", "dpa_signed: false\n      # tr")),
    )
    code, out = _cli(workspace, "--format", "json")
    assert code == 1
    doc = json.loads(out)
    assert doc["counts"]["high"] == 1 and doc["findings"][0]["check"] == "TC-VEN-001"
    sarif = tmp_path / "scan.sarif"
    code, _ = _cli(workspace, "--format", "sarif", "--output", str(sarif), "--fail-on", "never")
    assert code == 0 and json.loads(sarif.read_text())["version"] == "2.1.0"
    nopath = runner.invoke(app, ["-w", str(workspace.root), "scan", "--format", "pdf"])
    assert nopath.exit_code == 2 and "--output" in nopath.output
    pdf = tmp_path / "report.pdf"
    code, _ = _cli(workspace, "--format", "pdf", "-o", str(pdf), "--record", "--fail-on", "never")
    assert code == 0 and pdf.read_bytes().startswith(b"%PDF-")
    code, out = _cli(workspace, "--format", "table", "--fail-on", "never")
    assert code == 0 and "TC-VEN-001" in out
    code, out = _cli(workspace, "--format", "html", "--area", "vendors")
    assert code == 1 and '<h2 id="area-vendors">vendors</h2>' in out and "TC-NOT-001" not in out


def test_cli_usage_errors_exit_2(workspace: Workspace) -> None:
    load_shop(workspace)
    assert _cli(workspace, "--fail-on", "critical")[0] == 2
    assert _cli(workspace, "--format", "pdf")[0] == 2
    assert _cli(workspace, "--area", "nope")[0] == 2
