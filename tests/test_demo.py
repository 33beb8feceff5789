"""`trustcart demo` (what `make demo` runs) produces real output and can be re-run."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from typer.testing import CliRunner

from trustcart.catalog import load_manifest
from trustcart.cli import app
from trustcart.demo import example_manifest, run_demo


def test_packaged_example_is_the_repo_example() -> None:
    repo_copy = Path(__file__).resolve().parents[1] / "examples" / "shop.yaml"
    assert repo_copy.read_text() == example_manifest().read_text()


def test_demo_writes_reports_and_reruns(tmp_path: Path) -> None:
    lines: list[str] = []
    result = run_demo(tmp_path / "demo", echo=lines.append, customers=300)
    assert result.ledgers_ok
    dm = load_manifest(example_manifest())
    rows = list(csv.DictReader(io.StringIO(result.reports["ropa.csv"].read_text())))
    assert len(rows) == len(dm.purposes)
    html = result.reports["ropa.html"].read_text()
    assert all(p.name in html for p in dm.purposes)
    assert result.reports["dataflow.svg"].read_text().lstrip().startswith("<?xml")
    n = len(dm.objects())
    assert any(f"{n} created" in line for line in lines)
    again: list[str] = []
    run_demo(tmp_path / "demo", echo=again.append, customers=300)
    assert any(f"0 created, 0 updated, {n} unchanged" in line for line in again)


def test_demo_command(tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["demo", str(tmp_path / "d"), "--customers", "200"])
    assert r.exit_code == 0, r.stderr
    assert "chain intact" in r.stdout


def test_same_seed_same_consent_data(tmp_path: Path) -> None:
    from trustcart.consent import consent_rates
    from trustcart.workspace import Workspace

    def counts(name: str, seed: int) -> list[tuple[str, str, int, int]]:
        run_demo(tmp_path / name, echo=lambda _: None, customers=200, seed=seed)
        with Workspace.open(tmp_path / name) as ws:
            return sorted(
                (r["purpose"], r["mechanism"], r["events"], r["granted"])
                for r in consent_rates(ws.store)
            )

    assert counts("a", 1) == counts("b", 1)
    assert counts("a", 1) != counts("c", 2)


def test_demo_scan_flags_the_invalid_banner_grants(tmp_path: Path) -> None:
    import json

    result = run_demo(tmp_path / "demo", echo=lambda _: None, customers=300)
    sarif = json.loads(result.reports["compliance.sarif"].read_text())
    rules = {r["ruleId"] for r in sarif["runs"][0]["results"]}
    # EU implied-banner grants for a consent-based purpose are not valid consent (Art. 4(11)).
    assert any(rule.startswith("TC-CON-001") for rule in rules)
    assert "compliance" in result.reports["compliance.html"].read_text().lower()


def test_packaged_records_are_the_repo_records() -> None:
    from trustcart.demo import example_records

    repo_copy = Path(__file__).resolve().parents[1] / "examples" / "records.yaml"
    assert repo_copy.read_text() == example_records().read_text()


def test_demo_loads_records_and_exports_a_dpia(tmp_path: Path) -> None:
    """Every purpose the screening says needs a DPIA has one on file in the demo, and the scan
    finds no DPIA, vendor or AIA problem: only genuine findings (the ESP transfer, the banner)."""
    import json

    lines: list[str] = []
    result = run_demo(tmp_path / "demo", echo=lines.append, customers=200)
    assert not any("DPIA MISSING" in line for line in lines)
    assert sum("DPIA required (DPIA on file)" in line for line in lines) == 4
    assert "Art. 35(3)(a)" in result.reports["dpia-pricing.md"].read_text()
    assert "<h1>DPIA: Dynamic pricing</h1>" in result.reports["dpia-pricing.html"].read_text()
    sarif = json.loads(result.reports["compliance.sarif"].read_text())
    checks = {r["ruleId"] for r in sarif["runs"][0]["results"]}
    assert checks == {"TC-CON-001", "TC-TRF-001"}


def test_demo_finds_the_price_disparity_and_closes_it(tmp_path: Path) -> None:
    """The StyleSense story end to end: the audit of logged prices finds the south overcharged,
    the proxy scan names postcode_band, and after blocking it the same audit finds no gap.
    Checked against the decision log directly (pandas over the stored decisions)."""
    import pandas as pd
    from sqlalchemy import text

    from trustcart.workspace import Workspace

    result = run_demo(tmp_path / "demo", echo=lambda _: None, customers=200)
    f = result.fairness
    assert f is not None
    assert f.proxies == ["postcode_band"]
    assert f.findings_before >= 1 and f.findings_after == 0
    assert f.ratio_before < 0.97 <= f.ratio_after
    with Workspace.open(tmp_path / "demo") as ws, ws.store.read() as conn:
        rows = conn.execute(
            text("SELECT seq, \"group\", output FROM decisions WHERE kind = 'price' ORDER BY seq")
        ).all()
    df = pd.DataFrame(
        [
            {"seq": r.seq, "group": r.group, **pd.read_json(io.StringIO(r.output), typ="series")}
            for r in rows
        ]
    )
    df["ratio"] = df.price.astype(float) / df.list_price.astype(float)
    half = len(df) // 2
    before = df.iloc[:half].groupby("group").ratio.mean()
    after = df.iloc[half:].groupby("group").ratio.mean()
    assert before.to_dict() == pytest.approx(f.before)
    assert after.to_dict() == pytest.approx(f.after)
    assert before["south"] > before["north"] * 1.03  # the planted gap, seen in the raw log
    assert abs(after["south"] - after["north"]) < 0.01
