"""Compliance records on both backends: versioned storage, sign-off and approval workflow, the
admin log, the AIA checks that need the model registry, the attached fairness audit, and the CLI
of records, vendors, transfers, dpia and aia."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from _paths import RECORDS, SHOP
from trustcart.assessments import (
    approve_aia,
    latest_audit_for,
    load_records,
    load_records_file,
    parse_records,
    record_history,
    save_records,
    sign_off_dpia,
)
from trustcart.catalog import load_manifest
from trustcart.catalog.repository import save_datamap
from trustcart.cli import app
from trustcart.compliance import scan
from trustcart.errors import NotFound, ValidationError
from trustcart.workspace import Workspace

DAY = date(2026, 12, 1)
runner = CliRunner()


def load(ws: Workspace) -> None:
    save_datamap(ws.store, load_manifest(SHOP))
    save_records(ws.store, load_records_file(RECORDS))


def test_versions_history_and_admin_log(workspace: Workspace) -> None:
    manifest = load_records_file(RECORDS)
    first = save_records(workspace.store, manifest, actor="alice")
    assert len(first.created) == len(manifest.objects()) == 11 and first.updated == []
    again = save_records(workspace.store, manifest)
    assert (again.created, again.updated, again.unchanged) == ([], [], 11)
    stored = load_records(workspace.store)
    assert stored.dpa_checklist == manifest.dpa_checklist
    assert sorted(stored.objects()) == sorted(manifest.objects())
    changed = manifest.model_copy(deep=True)
    changed.dpias[0].description = "A new description"
    third = save_records(workspace.store, changed, actor="bob")
    assert third.updated == ["dpia:dpia-personalisation"] and third.unchanged == 10
    history = record_history(workspace.store, "dpia", "dpia-personalisation")
    assert [(v.version, v.actor) for v in history] == [(1, "alice"), (2, "bob")]
    assert history[0].body["description"] != history[1].body["description"]
    entries = [e.payload for e in workspace.store.log("admin")]
    loaded = [e for e in entries if e["action"] == "records.loaded"]
    assert len(loaded) == 2
    assert loaded[1]["changes"] == [
        {"record": "dpia:dpia-personalisation", "version": 2, "sha256": history[1].body_hash}
    ]
    assert workspace.store.log("admin").verify().ok
    with pytest.raises(NotFound):
        record_history(workspace.store, "dpia", "nope")


def test_sign_off_and_approval_append_versions(workspace: Workspace) -> None:
    load(workspace)
    d = sign_off_dpia(
        workspace.store,
        "dpia-pricing",
        by="Dr. Lena Hoffmann",
        role="dpo",
        on=DAY,
        dpo_opinion="Fine with the guardrails.",
    )
    assert d.signed_off and d.sign_off is not None
    assert d.sign_off.content_sha256 == d.content_hash()
    assert d.dpo_opinion is not None and d.dpo_opinion.given_on == DAY
    stored = load_records(workspace.store).dpia("dpia-pricing")
    assert stored == d
    assert [v.version for v in record_history(workspace.store, "dpia", "dpia-pricing")] == [1, 2]
    a = approve_aia(
        workspace.store,
        "aia-recommender",
        by="Ethics",
        decision="approved_with_conditions",
        conditions=["re-audit in 6 months"],
        on=DAY,
    )
    assert (
        a.approved and a.approval is not None and a.approval.conditions == ["re-audit in 6 months"]
    )
    with pytest.raises(ValidationError, match="needs at least one"):
        approve_aia(workspace.store, "aia-recommender", by="E", decision="approved_with_conditions")
    with pytest.raises(NotFound):
        sign_off_dpia(workspace.store, "nope", by="x", role="y")
    actions = [e.payload["action"] for e in workspace.store.log("admin")]
    assert actions.count("dpia.signed_off") == 1 and actions.count("aia.reviewed") == 1


def test_editing_a_signed_dpia_is_reported(workspace: Workspace) -> None:
    load(workspace)
    sign_off_dpia(workspace.store, "dpia-pricing", by="DPO", role="dpo", on=DAY)
    current = load_records(workspace.store)
    edited = current.model_copy(deep=True)
    pricing = edited.dpia("dpia-pricing")
    assert pricing is not None
    pricing.necessity_proportionality = "Edited after sign-off"
    save_records(workspace.store, edited)
    found = [f for f in scan(workspace, on=DAY, areas=["dpia"]).findings]
    assert [(f.check, f.object) for f in found] == [("TC-DPIA-002", "dpia:dpia-pricing")]
    assert "changed after DPO signed it off" in found[0].message


def test_model_without_aia_and_attached_audit(workspace: Workspace) -> None:
    from test_compliance import _audit_result
    from trustcart.fairness.store import save_audit
    from trustcart.gateway import FeatureSpec, record_model

    load(workspace)
    for name in ("pricing", "offers"):
        record_model(
            workspace.store,
            name=name,
            version="1",
            kind="offer",
            features=[
                FeatureSpec("tier", purpose="targeted_offers", categories=("user.behavior",))
            ],
            training_sha256=None,
        )
    found = {(f.check, f.object) for f in scan(workspace, on=DAY, areas=["aia"]).findings}
    assert found == {("TC-AIA-001", "model:offers@1")}
    record = load_records(workspace.store).aia("aia-pricing")
    assert record is not None and latest_audit_for(workspace.store, record) is None
    save_audit(workspace.store, _audit_result("medium"))  # type: ignore[arg-type]
    newest = save_audit(workspace.store, _audit_result("high"))  # type: ignore[arg-type]
    attached = latest_audit_for(workspace.store, record)
    assert attached is not None and attached["id"] == newest


# --- manifest errors ----------------------------------------------------------------------


def test_manifest_errors_are_located() -> None:
    with pytest.raises(ValidationError) as exc:
        parse_records(
            "vendors:\n  - key: v\n    name: V\n    country: DE\n    dpa_sined: {}\n", "r.yaml"
        )
    assert "r.yaml:5 vendors[0].dpa_sined: unknown key" in exc.value.message
    assert "dpa" in exc.value.details[0]["allowed"]
    with pytest.raises(ValidationError, match="unknown AI Act use case 'chatbot'"):
        parse_records(
            "aias:\n  - {key: a, model: m, description: d, explanation_method: e,\n"
            "     human_oversight: h, contestation_channel: c, use_cases: [chatbot]}\n"
        )
    with pytest.raises(ValidationError, match="vendor"):
        parse_records(
            "vendors:\n  - {key: v, name: V, country: DE}\n  - {key: v, name: W, country: DE}\n"
        )
    with pytest.raises(ValidationError, match="empty"):
        parse_records("")


# --- CLI ----------------------------------------------------------------------------------


def cli(ws: Workspace, *args: str) -> tuple[int, str, str]:
    r = runner.invoke(app, ["-w", str(ws.root), *args])
    return r.exit_code, r.stdout, r.stderr


def test_cli_end_to_end(workspace: Workspace, tmp_path: Path) -> None:
    save_datamap(workspace.store, load_manifest(SHOP))
    code, _, err = cli(workspace, "records", "load", str(RECORDS))
    assert code == 0 and "11 created" in err
    code, out, _ = cli(workspace, "vendors", "list", "--format", "json", "--on", "2026-12-01")
    risks = {v["key"]: (v["risk"], v["band"]) for v in json.loads(out)}
    # MailPilot: personal data 10 + US without DPF 20; Nimbus: EEA, everything in order
    assert risks == {"mailpilot": (30, "medium"), "metricly": (30, "medium"), "nimbus": (0, "low")}
    code, out, _ = cli(workspace, "transfers", "list", "--format", "json", "--on", "2026-12-01")
    doc = json.loads(out)
    by_object = {t["object"]: t for t in doc["transfers"] if t["outcome"] != "adequacy"}
    assert by_object["system:esp"]["problems"][0]["code"] == "dpf_not_certified"
    code, out, _ = cli(workspace, "dpia", "screen", "--format", "json")
    required = {s["purpose"]: s["dpia"] for s in json.loads(out) if s["required"]}
    assert required == dict.fromkeys(
        ["fraud_detection", "personalization", "targeted_offers", "dynamic_pricing"], True
    )
    html = tmp_path / "dpia.html"
    code, _, _ = cli(workspace, "dpia", "export", "dpia-pricing", "-f", "html", "-o", str(html))
    assert code == 0 and "Art. 35(3)(a)" in html.read_text()
    pdf = tmp_path / "dpia.pdf"
    code, _, _ = cli(workspace, "dpia", "export", "dpia-pricing", "-f", "pdf", "-o", str(pdf))
    assert code == 0 and pdf.read_bytes().startswith(b"%PDF-")
    code, _, err = cli(workspace, "dpia", "export", "dpia-pricing", "-f", "pdf")
    assert code == 2 and "--output" in err
    code, _, err = cli(
        workspace, "dpia", "sign-off", "dpia-pricing", "--by", "DPO", "--role", "dpo"
    )
    assert code == 0 and "signed off" in err
    code, out, _ = cli(
        workspace, "aia", "show", "aia-pricing", "--format", "json", "--on", "2026-12-01"
    )
    shown = json.loads(out)
    assert shown["ai_act"]["tier"] == "minimal" and shown["fairness_audit"] is None
    code, _, err = cli(
        workspace, "aia", "approve", "aia-pricing", "--by", "E", "--decision", "maybe"
    )
    assert code == 2 and "invalid --decision" in err
    code, _, _ = cli(workspace, "aia", "approve", "aia-pricing", "--by", "E")
    assert code == 0
    code, out, _ = cli(workspace, "records", "history", "aia", "aia-pricing", "--format", "json")
    assert [v["version"] for v in json.loads(out)] == [1, 2]
    code, out, _ = cli(workspace, "aia", "use-cases", "--format", "json")
    assert code == 0 and "creditworthiness" in {u["key"] for u in json.loads(out)["use_cases"]}
    bad = tmp_path / "bad.yaml"
    bad.write_text("vendors:\n  - key: v\n    name: V\n    country: XX\n")
    code, _, err = cli(workspace, "records", "load", str(bad))
    assert code == 2 and "bad.yaml:4" in err
    assert cli(workspace, "vendors", "show", "nope")[0] == 2
