"""The ``trustcart privacy`` contract: JSON output, written files and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from trustcart.cli import app
from trustcart.config import init_workspace

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


@pytest.fixture(scope="module")
def people(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(5)
    n = 600
    df = pd.DataFrame(
        {
            "zip": [f"{z:05d}" for z in rng.integers(75000, 75200, n)],
            "age": rng.integers(18, 80, n),
            "sex": rng.choice(["F", "M"], n),
            "diag": rng.choice(["flu", "cold", "hiv"], n),
            "email": [f"p{i}@example.org" for i in range(n)],
            "phone": [f"+3361234{i:04d}" for i in range(n)],
        }
    )
    path = tmp_path_factory.mktemp("privacy") / "people.parquet"
    df.to_parquet(path)
    return path


def _json(args: list[str]) -> dict:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_check_json(people: Path) -> None:
    out = _json(
        [
            "privacy",
            "check",
            str(people),
            "--qi",
            "zip",
            "--qi",
            "sex",
            "--sensitive",
            "diag",
            "--format",
            "json",
        ]
    )
    a, r = out["anonymity"], out["risk"]
    assert a["quasi_identifiers"] == ["zip", "sex"]
    assert a["rows"] == 600 and a["k"] >= 1
    assert a["sensitive"][0]["emd"] == "equal-distance"
    assert r["prosecutor"]["max"] == pytest.approx(1 / a["k"])
    assert r["journalist"]["basis"] == "sample"


def test_check_table_output(people: Path) -> None:
    result = runner.invoke(app, ["privacy", "check", str(people), "--qi", "sex", "-s", "diag"])
    assert result.exit_code == 0, result.output
    assert "k (smallest class)" in result.stdout and "entropy l" in result.stdout


def test_unknown_column_names_available_ones(people: Path) -> None:
    result = runner.invoke(app, ["privacy", "check", str(people), "--qi", "zipcode"])
    assert result.exit_code == 2
    text = " ".join(result.output.split())  # rich wraps long lines
    assert "'zipcode'" in text and "available columns: zip, age, sex, diag, email, phone" in text


def test_anonymize_writes_parquet_and_reports(people: Path, tmp_path: Path) -> None:
    out_path = tmp_path / "anon.parquet"
    out = _json(
        [
            "privacy",
            "anonymize",
            str(people),
            "--qi",
            "zip",
            "--qi",
            "age",
            "--qi",
            "sex",
            "--k",
            "10",
            "--l",
            "2",
            "--sensitive",
            "diag",
            "--hierarchy",
            "zip=zip",
            "--hierarchy",
            "age=age",
            "--output",
            str(out_path),
            "--format",
            "json",
        ]
    )
    assert out["achieved"]["k"] >= 10 and out["achieved"]["l_distinct"] >= 2
    assert 0 <= out["utility_loss"]["ncp"] <= 1
    assert out["hierarchies"] == {"zip": "zip", "age": "age", "sex": "categorical"}
    table = pq.read_table(out_path)
    assert table.num_rows == out["rows_out"] == 600
    assert all(z.endswith("*") or z.isdigit() for z in table["zip"].to_pylist())
    check = _json(
        [
            "privacy",
            "check",
            str(out_path),
            "--qi",
            "zip",
            "--qi",
            "age",
            "--qi",
            "sex",
            "--format",
            "json",
        ]
    )
    assert check["anonymity"]["k"] >= 10


def test_anonymize_k_larger_than_rows(people: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "privacy",
            "anonymize",
            str(people),
            "--qi",
            "age",
            "--k",
            "601",
            "--output",
            str(tmp_path / "x.parquet"),
        ],
    )
    assert result.exit_code == 2
    assert "k=601 is larger than the number of rows (600)" in " ".join(result.output.split())
    assert not (tmp_path / "x.parquet").exists()


def test_anonymize_bad_hierarchy(people: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "privacy",
            "anonymize",
            str(people),
            "--qi",
            "age",
            "--k",
            "2",
            "--hierarchy",
            "age=decade",
            "--output",
            str(tmp_path / "x.parquet"),
        ],
    )
    assert result.exit_code == 2 and "unknown hierarchy 'decade'" in result.output


def test_classify_json_and_manifest_snippet(people: Path, tmp_path: Path) -> None:
    out = _json(["privacy", "classify", str(people), "--sample", "200", "--format", "json"])
    assert out["rows_sampled"] == 200
    assert out["columns"]["email"][0]["category"] == "user.contact.email"
    assert out["columns"]["phone"][0]["category"] == "user.contact.phone_number"
    assert out["columns"]["diag"] == []
    ws = init_workspace(tmp_path / "ws")
    loaded = runner.invoke(
        app, ["-w", str(ws), "catalog", "load", str(ROOT / "examples" / "shop.yaml")]
    )
    assert loaded.exit_code == 0, loaded.output
    # "customers" labels email already, not phone: only phone needs a snippet.
    result = runner.invoke(
        app, ["-w", str(ws), "privacy", "classify", str(people), "--dataset", "customers"]
    )
    assert result.exit_code == 0, result.output
    assert "{name: phone, data_categories: [user.contact.phone_number]}" in result.stdout
    assert "{name: email," not in result.stdout
    missing = runner.invoke(
        app, ["-w", str(ws), "privacy", "classify", str(people), "--dataset", "nope"]
    )
    assert missing.exit_code == 2 and "datasets: customers" in missing.output
