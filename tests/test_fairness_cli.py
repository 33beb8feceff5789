"""The ``trustcart audit`` contract: options, JSON keys, sources, storage, HTML."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from trustcart.cli import app
from trustcart.fairness.store import get_audit, list_audits
from trustcart.store.tables import FairnessAudit
from trustcart.workspace import Workspace


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    n = 2000
    g = rng.choice(["f", "m"], n)
    df = pd.DataFrame(
        {
            "gender": g,
            "age": rng.choice(["young", "old"], n),
            "offered": (rng.random(n) < np.where(g == "f", 0.2, 0.4)).astype(int),
            "label": rng.integers(0, 2, n),
            "price": rng.normal(50, 5, n),
            "rank": rng.integers(1, 21, n),
        }
    )
    df.loc[:9, "price"] = np.nan
    return df


@pytest.fixture(scope="module")
def files(frame: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("cli")
    frame.to_parquet(d / "d.parquet")
    frame.to_csv(d / "d.csv", index=False)
    return {"parquet": d / "d.parquet", "csv": d / "d.csv"}


def _run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(app, list(args))
    return r.exit_code, r.stdout, r.stderr


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_json_contract(files: dict[str, Path], fmt: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # not a workspace
    code, out, err = _run(
        "audit",
        str(files[fmt]),
        "--group",
        "gender",
        "--outcome",
        "offered",
        "--label",
        "label",
        "--format",
        "json",
    )
    assert code == 0, err
    doc = json.loads(out)
    assert {"kind", "rows", "groups", "metrics", "findings"} <= set(doc)
    assert doc["kind"] == "binary" and doc["rows"] == 2000
    for g in doc["groups"]:
        assert set(g["group"]) == {"gender"} and isinstance(g["count"], int)
        assert {
            "selection_rate",
            "selection_rate_ci",
            "true_positive_rate",
            "false_positive_rate",
            "disparate_impact_ratio",
        } <= set(g)
    for k in (
        "demographic_parity_difference",
        "demographic_parity_ratio",
        "disparate_impact_ratio",
        "equalized_odds_difference",
        "equal_opportunity_difference",
    ):
        assert k in doc["metrics"]
    four = [f for f in doc["findings"] if f["rule"] == "29 CFR 1607.4(D)"]
    assert four and {"severity", "message", "rule"} <= set(four[0])
    assert four[0]["group"] == {"gender": "f"}
    assert "not stored" in err


def test_continuous_intersectional_and_suppression(files: dict[str, Path]) -> None:
    code, out, err = _run(
        "audit",
        str(files["parquet"]),
        "-g",
        "gender",
        "-g",
        "age",
        "--outcome",
        "price",
        "--kind",
        "continuous",
        "--min-group-size",
        "400",
        "-f",
        "json",
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["excluded"] == 10
    assert len(doc["groups"]) == 4
    assert all(set(g["group"]) == {"gender", "age"} for g in doc["groups"])
    for k in ("mean_difference", "mean_ratio", "standardized_mean_difference", "ks_statistic"):
        assert k in doc["metrics"]
    code, out, _ = _run(
        "audit",
        str(files["parquet"]),
        "-g",
        "gender",
        "-g",
        "age",
        "--outcome",
        "price",
        "--kind",
        "continuous",
        "--min-group-size",
        "100000",
        "-f",
        "json",
    )
    doc = json.loads(out)
    assert all(g == {"group": g["group"], "count": None, "suppressed": True} for g in doc["groups"])


def test_ranking_kind(files: dict[str, Path]) -> None:
    code, out, err = _run(
        "audit",
        str(files["parquet"]),
        "-g",
        "gender",
        "--outcome",
        "offered",
        "--position",
        "rank",
        "--kind",
        "ranking",
        "-f",
        "json",
    )
    assert code == 0, err
    doc = json.loads(out)
    assert "exposure_ratio" in doc["metrics"]
    assert {"share_of_impressions", "mean_exposure", "mean_outcome"} <= set(doc["groups"][0])


def test_unknown_column_exits_2(files: dict[str, Path]) -> None:
    code, _out, err = _run("audit", str(files["parquet"]), "-g", "sex", "--outcome", "offered")
    assert code == 2
    assert "unknown column 'sex'" in err and "gender" in err and "offered" in err


def test_empty_source_exits_2(tmp_path: Path) -> None:
    p = tmp_path / "e.csv"
    p.write_text("gender,offered\n")
    code, _, err = _run("audit", str(p), "-g", "gender", "--outcome", "offered")
    assert code == 2 and "empty" in err


def test_table_output_and_html(files: dict[str, Path], tmp_path: Path) -> None:
    code, out, err = _run("audit", str(files["parquet"]), "-g", "gender", "--outcome", "offered")
    assert code == 0, err
    assert "29 CFR 1607.4(D)" in out and "gender=f" in out
    html = tmp_path / "r.html"
    code, _, err = _run(
        "audit",
        str(files["parquet"]),
        "-g",
        "gender",
        "--outcome",
        "price",
        "--kind",
        "continuous",
        "-f",
        "html",
        "-o",
        str(html),
    )
    assert code == 0, err
    text = html.read_text()
    assert "<svg" in text and "gender=f" in text and "</html>" in text


def test_audit_is_stored_in_the_workspace(files: dict[str, Path], workspace: Workspace) -> None:
    code, out, err = _run(
        "-w",
        str(workspace.root),
        "audit",
        str(files["parquet"]),
        "-g",
        "gender",
        "--outcome",
        "offered",
        "-f",
        "json",
    )
    assert code == 0, err
    assert "stored audit aud_" in err
    audits = list_audits(workspace.store)
    assert len(audits) == 1
    a = get_audit(workspace.store, audits[0]["id"])
    import hashlib

    digest = hashlib.sha256(files["parquet"].read_bytes()).hexdigest()
    assert a["source_sha256"] == digest
    assert a["source_fingerprint"]["files"][0]["sha256"] == digest
    assert a["parameters"]["groups"] == ["gender"] and a["parameters"]["outcome"] == "offered"
    assert a["result"]["metrics"] == json.loads(out)["metrics"]
    with workspace.store.session() as s:
        row = s.scalars(select(FairnessAudit)).one()
        assert row.created_at.tzinfo is not None and row.kind == "binary"


def _spreads(html: str) -> dict[str, dict[str, float | None]]:
    """The numbers each distribution box carries (data-* attributes of <g class="spread">)."""
    import html as html_lib
    import re

    out: dict[str, dict[str, float | None]] = {}
    for attrs in re.findall(r'<g class="spread" ([^>]*)>', html):
        d = {k: html_lib.unescape(v) for k, v in re.findall(r'data-([a-z0-9]+)="([^"]*)"', attrs)}
        group = d.pop("group")
        out[group] = {k: None if v == "None" else float(v) for k, v in d.items()}
    return out


def test_html_distribution_plot_shows_the_audits_numbers(
    files: dict[str, Path], tmp_path: Path
) -> None:
    """The per-group price distribution in the HTML report is drawn from exactly the audit's
    quantiles and mean CI, and the quantiles are numpy's."""
    from trustcart.fairness import audit
    from trustcart.fairness.findings import label

    html = tmp_path / "dist.html"
    args = ["-g", "gender", "-g", "age", "--outcome", "price", "--kind", "continuous"]
    code, _, err = _run("audit", str(files["parquet"]), *args, "-f", "html", "-o", str(html))
    assert code == 0, err
    drawn = _spreads(html.read_text())
    result = audit(files["parquet"], ["gender", "age"], "price", kind="continuous")
    assert set(drawn) == {label(c.group) for c in result.reported}
    frame = pd.read_parquet(files["parquet"])
    for c in result.reported:
        box = drawn[label(c.group)]
        for key in ("p10", "p25", "median", "p75", "p90", "mean"):
            assert box[key] == c.metrics[key]
        assert (box["low"], box["high"]) == tuple(c.metrics["mean_ci"])
        sel = (frame["gender"] == c.group["gender"]) & (frame["age"] == c.group["age"])
        values = frame.loc[sel, "price"].dropna().to_numpy()
        assert box["p25"] == pytest.approx(np.quantile(values, 0.25), rel=1e-12)
        assert box["p75"] == pytest.approx(np.quantile(values, 0.75), rel=1e-12)
    binary = tmp_path / "bin.html"
    code, _, err = _run(
        "audit",
        str(files["parquet"]),
        "-g",
        "gender",
        "--outcome",
        "offered",
        "-f",
        "html",
        "-o",
        str(binary),
    )
    assert code == 0, err
    assert _spreads(binary.read_text()) == {}  # no distribution for a binary outcome
