"""Segment audits of campaign audiences: in/out by group and the four-fifths rule, checked
against an independent computation (pandas and fairlearn's ``selection_rate``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import selection_rate
from typer.testing import CliRunner

from trustcart.cli import app as cli
from trustcart.errors import ValidationError
from trustcart.fairness import audit_audience, read_ids


@pytest.fixture
def population(tmp_path: Path) -> tuple[pd.DataFrame, Path, list[str]]:
    rng = np.random.default_rng(3)
    n = 900
    df = pd.DataFrame(
        {
            "customer_id": [f"c{i:04d}" for i in range(n)],
            "age_band": rng.choice(["18-29", "30-49", "50+"], n),
            "region": rng.choice(["north", "south"], n),
            "spend": rng.random(n) * 300,
            "is_minor": rng.random(n) < 0.04,
        }
    )
    path = tmp_path / "population.parquet"
    df.to_parquet(path)
    # an audience that reaches older shoppers far less (a spend cut-off that depends on band)
    cut = np.where(df["age_band"] == "50+", 240, 120)
    ids = df.loc[df["spend"] > cut, "customer_id"].tolist()
    return df, path, ids


def test_segment_audit_matches_an_independent_computation(
    population: tuple[pd.DataFrame, Path, list[str]],
) -> None:
    df, path, ids = population
    result = audit_audience(path, ["age_band"], ids=ids, id_column="customer_id")
    inside = df["customer_id"].isin(ids).astype(int)
    expected = {
        band: selection_rate(inside[df["age_band"] == band], inside[df["age_band"] == band])
        for band in sorted(df["age_band"].unique())
    }
    got = {g.group["age_band"]: g.selection_rate for g in result.groups}
    assert got == pytest.approx(expected)
    best = max(expected.values())
    for g in result.groups:
        band = g.group["age_band"]
        mask = df["age_band"] == band
        assert (g.population, g.included, g.excluded) == (
            int(mask.sum()), int(inside[mask].sum()), int((1 - inside[mask]).sum()),
        )  # fmt: skip
        assert g.ratio_to_best == pytest.approx(expected[band] / best)
        assert g.passes_four_fifths is bool(expected[band] / best >= 0.8)
    assert [e["group"] for e in result.excluded_groups] == [{"age_band": "50+"}]
    assert result.audience == len(ids) and result.population == len(df) and not result.passes
    # the engine's significance test agrees: a high finding citing the four-fifths rule
    assert any(f.rule == "29 CFR 1607.4(D)" and f.group == {"age_band": "50+"}
               for f in result.result.findings)  # fmt: skip


def test_audience_by_predicate_equals_audience_by_ids(
    population: tuple[pd.DataFrame, Path, list[str]],
) -> None:
    _df, path, ids = population
    by_ids = audit_audience(path, ["age_band", "region"], ids=ids, id_column="customer_id")
    by_where = audit_audience(
        path, ["age_band", "region"],
        where="spend > CASE WHEN age_band = '50+' THEN 240 ELSE 120 END",
    )  # fmt: skip
    assert [g.to_dict() for g in by_ids.groups] == [g.to_dict() for g in by_where.groups]
    with pytest.raises(ValidationError, match="without statements"):
        audit_audience(path, ["age_band"], where="spend > (SELECT 1)")
    with pytest.raises(ValidationError, match="once"):
        audit_audience(path, ["age_band"], ids=ids, id_column="customer_id", where="spend > 1")
    with pytest.raises(ValidationError, match="no column"):
        audit_audience(path, ["gender"], ids=ids, id_column="customer_id")


def test_fair_audience_passes_and_vulnerable_members_are_reported(
    population: tuple[pd.DataFrame, Path, list[str]], tmp_path: Path
) -> None:
    df, path, _ = population
    fair = df.loc[df["spend"] > 150, "customer_id"].tolist()
    result = audit_audience(path, ["age_band"], ids=fair, id_column="customer_id",
                            vulnerable=["is_minor"])  # fmt: skip
    assert not result.excluded_groups
    minors = int(df.loc[df["customer_id"].isin(fair), "is_minor"].sum())
    assert minors > 0 and result.vulnerable == {"is_minor": minors}
    assert not result.passes  # vulnerable people in the audience
    clean = df.loc[(df["spend"] > 150) & ~df["is_minor"], "customer_id"].tolist()
    ok = audit_audience(path, ["age_band"], ids=clean, id_column="customer_id",
                        vulnerable=["is_minor"])  # fmt: skip
    assert ok.passes and ok.vulnerable == {"is_minor": 0}


def test_cli_table_and_json(
    population: tuple[pd.DataFrame, Path, list[str]], tmp_path: Path
) -> None:
    _df, path, ids = population
    ids_file = tmp_path / "audience.txt"
    ids_file.write_text("\n".join(ids) + "\n")
    assert read_ids(ids_file) == ids
    csv = tmp_path / "audience.csv"
    pd.DataFrame({"id": ids, "x": 1}).to_csv(csv, index=False)
    assert read_ids(csv, "id") == ids
    runner = CliRunner()
    args = ["audience", "audit", str(path), "--group", "age_band", "--id", "customer_id"]
    res = runner.invoke(cli, [*args, "--audience", str(ids_file), "--format", "json"])
    assert res.exit_code == 1, res.output  # a group below four-fifths
    out = json.loads(res.stdout)
    assert out["audience"] == len(ids) and out["rule"] == "29 CFR 1607.4(D)"
    assert [g["passes_four_fifths"] for g in out["groups"]] == [True, True, False]
    res = runner.invoke(cli, [*args, "--audience", str(csv), "--audience-column", "id"])
    assert res.exit_code == 1 and "FAIL" in res.stdout and "50+" in res.stdout
    res = runner.invoke(cli, [*args, "--audience", str(csv)])
    assert res.exit_code == 2 and "--audience-column" in res.output
