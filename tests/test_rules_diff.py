"""``trustcart rules diff OLD NEW``: the facts that changed (matched by identity, dates flagged)
and the findings that appear or disappear for the workspace."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from _paths import RECORDS, SHOP
from rules_helpers import copy_rule_pack, edit
from trustcart.assessments import load_records_file, save_records
from trustcart.catalog import load_manifest
from trustcart.catalog.repository import save_datamap
from trustcart.cli import app
from trustcart.compliance import scan
from trustcart.rules import diff_findings, diff_rules, load_rules
from trustcart.workspace import Workspace

DAY = date(2026, 12, 1)


def new_pack(tmp_path: Path) -> Path:
    """A copy of the pack where the US adequacy decision is gone and the UK one expires
    earlier (a hypothetical future pack)."""
    pack = copy_rule_pack(tmp_path / "new")

    def change(doc: dict[str, Any]) -> None:
        doc["adequacy"] = [a for a in doc["adequacy"] if a.get("country") != "US"]
        for a in doc["adequacy"]:
            if a.get("country") == "GB":
                a["expires"] = date(2030, 6, 30)

    edit(pack / "transfers.yaml", change)
    edit(pack / "pack.yaml", lambda d: d.update(rules_version="2027.1.0"))
    return pack


def test_identical_packs_have_no_change(tmp_path: Path) -> None:
    pack = copy_rule_pack(tmp_path)
    assert diff_rules(load_rules(), load_rules(pack)).changes == []


def test_changes_are_matched_by_identity_and_dates_flagged(tmp_path: Path) -> None:
    result = diff_rules(load_rules(), load_rules(new_pack(tmp_path)))
    assert (result.old_version, result.new_version) == ("2026.11.3", "2027.1.0")
    by_path = {c.path: c for c in result.changes}
    assert set(by_path) == {
        "transfers.adequacy.country=US",
        "transfers.adequacy.country=GB.expires",
    }
    removed = by_path["transfers.adequacy.country=US"]
    assert removed.kind == "removed" and removed.old["requires"] == "dpf_certification"
    moved = by_path["transfers.adequacy.country=GB.expires"]
    assert (moved.kind, moved.old, moved.new, moved.is_date) == (
        "changed",
        "2031-12-27",
        "2030-06-30",
        True,
    )


def _workspace(ws: Workspace) -> None:
    save_datamap(ws.store, load_manifest(SHOP))
    save_records(ws.store, load_records_file(RECORDS))


def test_findings_that_appear_and_disappear(workspace: Workspace, tmp_path: Path) -> None:
    _workspace(workspace)
    new = load_rules(new_pack(tmp_path))
    changes = diff_findings(scan(workspace, on=DAY), scan(workspace, rules=new, on=DAY))
    summary = {(c.kind, c.finding.check, c.finding.object, c.finding.severity) for c in changes}
    # without the US decision, MailPilot is no longer "not DPF-certified" (medium) but has no
    # basis at all (high); Metricly's SCCs still cover it
    assert summary == {
        ("removed", "TC-TRF-001", "system:esp", "medium"),
        ("added", "TC-TRF-001", "system:esp", "high"),
    }


def test_cli(workspace: Workspace, tmp_path: Path) -> None:
    _workspace(workspace)
    old = copy_rule_pack(tmp_path / "old")
    new = new_pack(tmp_path)
    r = CliRunner().invoke(
        app,
        ["-w", str(workspace.root), "rules", "diff", str(old), str(new), "-f", "json",
         "--on", DAY.isoformat()],
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert len(doc["changes"]) == 2 and any(c["date"] for c in doc["changes"])
    assert sorted((f["kind"], f["severity"]) for f in doc["findings"]) == [
        ("added", "high"),
        ("removed", "medium"),
    ]
    table = CliRunner().invoke(
        app, ["-w", str(workspace.root), "rules", "diff", str(old), str(new), "--no-findings"]
    )
    assert table.exit_code == 0 and "2027.1.0" in table.stdout
    missing = CliRunner().invoke(app, ["rules", "diff", str(old), str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "pack.yaml" in missing.stderr
