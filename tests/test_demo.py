"""`trustcart demo` (what `make demo` runs) produces real output and can be re-run."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from trustcart.catalog import load_manifest
from trustcart.cli import app
from trustcart.demo import DemoResult, example_manifest, run_demo


def test_packaged_example_is_the_repo_example() -> None:
    repo_copy = Path(__file__).resolve().parents[1] / "examples" / "shop.yaml"
    assert repo_copy.read_text() == example_manifest().read_text()


TINY = {"customers": 300, "orders": 5000}


def test_demo_command(tmp_path: Path) -> None:
    r = CliRunner().invoke(
        app, ["demo", str(tmp_path / "d"), "--customers", "200", "--orders", "2000"]
    )
    assert r.exit_code == 0, r.stderr
    assert "chain intact" in r.stdout
    assert "report.html" in r.stdout and "dashboard" in r.stdout


def test_same_seed_same_data(tmp_path: Path) -> None:
    """Same seed, same consent ledger and same story figures; another seed, other data."""
    from trustcart.consent import consent_rates
    from trustcart.workspace import Workspace

    def run(name: str, seed: int) -> tuple[list[tuple[str, str, int, int]], Any]:
        result = run_demo(tmp_path / name, echo=lambda _: None, seed=seed, **TINY)
        with Workspace.open(tmp_path / name) as ws:
            rates = sorted(
                (r["purpose"], r["mechanism"], r["events"], r["granted"])
                for r in consent_rates(ws.store)
            )
        s = result.story
        assert s is not None
        return rates, (s.price_ratio_before, s.proxy_gaps, s.cost)

    a, b, c = run("a", 1), run("b", 1), run("c", 2)
    assert a == b
    assert a[0] != c[0] and a[1] != c[1]


# --- the story at a small size: one run shared by the tests below (it takes a while) ----------

SMALL = {"customers": 2000, "orders": 40_000, "seed": 7}


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoResult, list[str]]:
    lines: list[str] = []
    result = run_demo(tmp_path_factory.mktemp("story") / "demo", echo=lines.append, **SMALL)
    return result, lines


def test_story_finds_the_zip_code_disparity_and_closes_it(
    small_demo: tuple[DemoResult, list[str]],
) -> None:
    """Before: the prices and vouchers the models decide differ by zip band and by the groups
    inferred from the SYNTHETIC shares, and the zip-code features are flagged as proxies by the
    weighted audit; after mitigation no audit finds a gap beyond tolerance; the cost is
    stated; report.html holds the before/after."""
    result, lines = small_demo
    s = result.story
    assert s is not None and not s.skipped
    assert s.findings_before >= 3 and s.findings_after == 0
    assert s.price_ratio_before < 0.97 <= s.price_ratio_after
    assert s.weighted_price_ratio_before < 0.97 <= s.weighted_price_ratio_after
    assert s.offer_ratio_before < 0.8 and s.weighted_offer_ratio_before < 0.8
    assert set(s.proxies) == {"postcode", "zip_voucher_rate"}  # nothing else is flagged
    assert s.proxy_gaps["price_postcode"] < 0.97
    # in each model, the flagged feature's contribution differs most between inferred groups
    for model, proxy in (("price", "postcode"), ("offer", "zip_voucher_rate")):
        gaps = {k: v for k, v in s.proxy_gaps.items() if k.startswith(f"{model}_")}
        assert len(gaps) == 4 and min(gaps, key=gaps.__getitem__) == f"{model}_{proxy}"
    assert s.within_tolerance
    assert {"revenue_change_percent", "price_rmse_after", "offer_auc_after"} <= set(s.cost)
    assert "revenue" in s.cost_statement and "AUC" in s.cost_statement
    assert any(line.strip().startswith("cost: revenue") for line in lines)
    assert any("SYNTHETIC" in line for line in lines)
    html = result.reports["report.html"].read_text()
    assert "SYNTHETIC" in html and "is within tolerance" in " ".join(html.split())
    for title in ("Mean price / list price by zip band", "Voucher rate by inferred group"):
        assert title in html
    assert html.count("<svg") >= 9  # summary, proxies, 4 audits × before/after
    assert "compliance.html" in html


def test_story_audit_matches_the_decision_log(small_demo: tuple[DemoResult, list[str]]) -> None:
    """The band means the audit reported are the decision log's own numbers (pandas over the
    stored decisions, independent of the audit engine): the first round's personalised
    prices, by the band the gateway logged."""
    import json

    from sqlalchemy import text

    from trustcart.fairness.store import get_audit
    from trustcart.workspace import Workspace

    result, _ = small_demo
    s = result.story
    assert s is not None
    with Workspace.open(result.workspace) as ws:
        with ws.store.read() as conn:
            rows = conn.execute(
                text(
                    'SELECT seq, "group", personalised, output FROM decisions '
                    "WHERE kind = 'price' ORDER BY seq"
                )
            ).all()
        reported = get_audit(ws.store, s.audit_ids["before:price_by_band"])["result"]
    df = pd.DataFrame(
        [
            {"band": r.group, "personalised": bool(r.personalised), **json.loads(r.output)}
            for r in rows
        ]
    )
    assert len(df) == 2 * s.sessions  # two rounds of the day's traffic
    first = df.iloc[: s.sessions]
    first = first[first.personalised]
    ratio = first.price.astype(float) / first.list_price.astype(float)
    means = ratio.groupby(first.band).mean()
    audited = {
        c["group"]["fairness_group"]: c["mean"]
        for c in reported["groups"]
        if not c.get("suppressed")
    }
    assert len(audited) == 12  # every band large enough at this size
    assert audited == pytest.approx(means.to_dict())
    assert means.min() / means.max() == pytest.approx(s.price_ratio_before)


def test_demo_scan_flags_the_invalid_banner_grants(
    small_demo: tuple[DemoResult, list[str]],
) -> None:
    import json

    result, _ = small_demo
    sarif = json.loads(result.reports["compliance.sarif"].read_text())
    rules = {r["ruleId"] for r in sarif["runs"][0]["results"]}
    # EU implied-banner grants for a consent-based purpose are not valid consent (Art. 4(11)).
    assert any(rule.startswith("TC-CON-001") for rule in rules)
    assert "compliance" in result.reports["compliance.html"].read_text().lower()


def test_packaged_records_are_the_repo_records() -> None:
    from trustcart.demo import example_records

    repo_copy = Path(__file__).resolve().parents[1] / "examples" / "records.yaml"
    assert repo_copy.read_text() == example_records().read_text()


def test_demo_loads_records_and_exports_a_dpia(small_demo: tuple[DemoResult, list[str]]) -> None:
    """Every purpose the screening says needs a DPIA has one on file in the demo, and the scan
    finds no DPIA, vendor or AIA problem (the trained models have their AIAs): only genuine
    findings (the ESP transfer, the banner)."""
    import json

    result, lines = small_demo
    assert not any("DPIA MISSING" in line for line in lines)
    assert sum("DPIA required (DPIA on file)" in line for line in lines) == 4
    assert "Art. 35(3)(a)" in result.reports["dpia-pricing.md"].read_text()
    assert "<h1>DPIA: Dynamic pricing</h1>" in result.reports["dpia-pricing.html"].read_text()
    sarif = json.loads(result.reports["compliance.sarif"].read_text())
    checks = {r["ruleId"] for r in sarif["runs"][0]["results"]}
    assert checks == {"TC-CON-001", "TC-TRF-001"}


def test_demo_writes_reports_and_reruns(small_demo: tuple[DemoResult, list[str]]) -> None:
    """The generated documents are there; re-running in the same workspace changes no data-map
    object, keeps the evidence and says why the story is skipped (its proxy stays blocked).
    Runs last among the tests sharing the workspace."""
    result, lines = small_demo
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
    rerun = run_demo(result.workspace, echo=again.append, **SMALL)
    assert any(f"0 created, 0 updated, {n} unchanged" in line for line in again)
    assert rerun.story is not None and "already blocked" in rerun.story.skipped
    assert rerun.ledgers_ok
    assert any("kept the report of the earlier run" in line for line in again)
