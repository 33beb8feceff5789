"""The same audit numbers on Spark (PySpark, local mode) as on DuckDB, for the same Parquet file.

One session for all (start-up is slow): see the ``spark_session`` fixture in conftest. Each test
audits the file through Spark and through DuckDB and compares every group metric, CI, summary
metric and finding; DuckDB's numbers are themselves checked against fairlearn / numpy in
test_fairness_metrics.py, and a few Spark numbers are checked against numpy directly here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from trustcart.cli import app
from trustcart.errors import NotFound, ValidationError
from trustcart.fairness import (
    adjust_prices,
    audit,
    detect_proxies,
    fair_classifier,
    open_source,
    reweigh,
)
from trustcart.fairness.inferred import group_shares_from_frame
from trustcart.fairness.spark_source import master_of, open_spark

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    """Random data with the awkward cases: NaN and NULL outcomes, a NULL group, a one-row
    group, a group whose every outcome is missing, a nullable integer group, booleans."""
    rng = np.random.default_rng(5)
    n = 1500
    g = rng.choice(["a", "b", "c"], n).astype(object)
    df = pd.DataFrame(
        {
            "grp": g,
            "region": rng.choice(["n", "s"], n),
            "y": (rng.random(n) < np.where(g == "c", 0.25, 0.45)).astype(float),
            "label": rng.integers(0, 2, n).astype(float),
            "price": np.round(rng.gamma(3.0, 7.0, n), 2) * np.where(g == "c", 1.3, 1.0),
            "pos": rng.integers(1, 30, n),
            "flag": rng.random(n) < 0.4,
            "band": pd.array(rng.choice([1, 2, 3], n), dtype="Int64"),
        }
    )
    df.loc[:7, "y"] = np.nan
    df.loc[10:14, "price"] = np.nan
    df.loc[20, "grp"] = None  # a one-row NULL group
    df.loc[30:33, "grp"] = "e"  # a group with no usable outcome at all
    df.loc[30:33, ["y", "price"]] = np.nan
    df.loc[40:60, "band"] = pd.NA
    return df


@pytest.fixture(scope="module")
def parquet(frame: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("spark") / "d.parquet"
    frame.to_parquet(p)
    return p


def _strip(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: doc[k] for k in ("kind", "rows", "excluded", "groups", "metrics", "findings")}


def _close(a: object, b: object, where: str = "") -> None:
    """Equal structure and values; floats within 1e-9 relative (summation order differs)."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), where
        for k in a:
            _close(a[k], b[k], f"{where}/{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, f"{where}[{i}]")
    elif isinstance(a, float):
        assert b == pytest.approx(a, rel=1e-9, abs=1e-12), where
    else:
        assert a == b, where


CASES = [
    {"groups": ["grp"], "outcome": "y", "label": "label"},
    {"groups": ["grp", "region"], "outcome": "y", "min_group_size": 200},
    {"groups": ["band"], "outcome": "flag"},
    {"groups": ["grp"], "outcome": "price", "kind": "continuous", "favourable": "lower"},
    {"groups": ["grp", "region"], "outcome": "price", "kind": "continuous", "min_group_size": 0},
    {"groups": ["grp"], "outcome": "pos", "kind": "ranking"},
]


@pytest.mark.parametrize("kw", CASES, ids=lambda kw: "-".join([kw["outcome"], *kw["groups"]]))
def test_spark_equals_duckdb(spark_session: Any, parquet: Path, kw: dict[str, Any]) -> None:
    on_spark = audit(open_spark(spark_session, f"parquet:{parquet}"), **kw)
    on_duckdb = audit(parquet, **kw)
    assert on_spark.source["backend"] == "pyspark"
    assert on_duckdb.source["backend"] == "duckdb"
    _close(_strip(on_duckdb.to_dict()), _strip(on_spark.to_dict()))
    if kw.get("kind") == "continuous":
        assert on_spark.findings, "the planted 30% price gap of group c is a finding"


def test_spark_numbers_against_numpy(
    spark_session: Any, parquet: Path, frame: pd.DataFrame
) -> None:
    """Quantiles (Spark's exact PERCENTILE = numpy linear), sample SD, NaN/NULL exclusion."""
    r = audit(open_spark(spark_session, str(parquet)), ["grp"], "price", "continuous")
    by = {c.group["grp"]: c for c in r.groups}
    x = frame.loc[frame.grp == "b", "price"].dropna().to_numpy()
    m = by["b"].metrics
    assert by["b"].count == len(x)
    assert m["median"] == pytest.approx(np.quantile(x, 0.5), rel=1e-12)
    assert m["p10"] == pytest.approx(np.quantile(x, 0.1), rel=1e-12)
    assert m["p90"] == pytest.approx(np.quantile(x, 0.9), rel=1e-12)
    assert m["sd"] == pytest.approx(np.std(x, ddof=1), rel=1e-12)
    assert by[None].count == 1 and by[None].suppressed  # the one-row NULL group
    assert by["e"].count == 0 and by["e"].rows == 4  # all outcomes missing
    assert r.excluded == int(frame.price.isna().sum())


def test_spark_url_catalog_table_and_cli(
    spark_session: Any, parquet: Path, tmp_path: Path, monkeypatch: Any
) -> None:
    """``spark://local[2]`` reuses the running session; a catalog table; the CLI's JSON."""
    # (not createDataFrame(frame): Spark reads pandas' missing strings as the text 'NaN')
    spark_session.read.parquet(str(parquet)).createOrReplaceTempView("audit_data")
    src = open_source("spark://local[2]", table="audit_data")
    assert src.backend == "pyspark"
    assert src.fingerprint == {"table": "audit_data", "rows": 1500, "master": "local[2]"}
    kw: dict[str, Any] = {"groups": ["grp"], "outcome": "y", "label": "label"}
    _close(_strip(audit(parquet, **kw).to_dict()), _strip(audit(src, **kw).to_dict()))

    monkeypatch.chdir(tmp_path)  # not a workspace: printed, not stored
    docs = []
    for source, extra in ((str(parquet), []), ("spark://local[2]", ["--table", str(parquet)])):
        options = ["--group", "grp", "--outcome", "price", "--kind", "continuous"]
        options += ["--favourable", "lower", "--format", "json"]
        r = CliRunner().invoke(app, ["audit", source, *extra, *options])
        assert r.exit_code == 0, r.stderr
        docs.append(json.loads(r.stdout))
    assert docs[1]["source"]["backend"] == "pyspark"
    _close(_strip(docs[0]), _strip(docs[1]))


def test_spark_other_engine_paths_equal_duckdb(spark_session: Any, parquet: Path) -> None:
    """Proxy scan, inferred (group-share) audit and the mitigations also run on Spark."""
    sp = open_spark(spark_session, f"parquet:{parquet}")
    kw: dict[str, Any] = {"protected": "grp", "features": ["region", "price", "pos"], "bins": 4}
    a, b = detect_proxies(parquet, **kw).to_dict(), detect_proxies(sp, **kw).to_dict()
    for k in ("features", "proxies", "findings", "rows", "classes"):
        _close(a[k], b[k], k)

    shares = group_shares_from_frame(
        pd.DataFrame({"region": ["n", "s"], "x": [0.7, 0.2], "z": [0.3, 0.8]})
    )
    for kw in ({"outcome": "y"}, {"outcome": "price", "kind": "continuous"}):
        on_duckdb = audit(parquet, [], group_shares=shares, geo="region", **kw)
        on_spark = audit(sp, [], group_shares=shares, geo="region", **kw)
        _close(_strip(on_duckdb.to_dict()), _strip(on_spark.to_dict()))

    for run in (
        lambda s: reweigh(s, ["grp"], "label"),
        lambda s: adjust_prices(s, ["grp"], "price", tolerance=0.05),
        lambda s: fair_classifier(s, ["grp"], "label", ["price", "pos"]),
    ):
        a, b = run(parquet).to_dict(), run(sp).to_dict()
        for k in ("groups", "before", "after", "tradeoff"):
            _close(a[k], b[k], k)


def test_spark_errors(spark_session: Any, parquet: Path, tmp_path: Path) -> None:
    sp = open_spark(spark_session, f"parquet:{parquet}")
    with pytest.raises(ValidationError, match="available columns: grp, region"):
        audit(sp, ["nope"], "y")
    with pytest.raises(ValidationError, match="--table NAME"):
        audit("spark://local[2]", ["grp"], "y")
    with pytest.raises(NotFound, match="not found in the Spark catalog") as info:
        audit("spark://local[2]", ["grp"], "y", table="decisions")
    assert "audit decisions" in str(info.value)  # says where the decision log is audited
    with pytest.raises(NotFound, match="cannot read parquet"):
        audit("spark://local[2]", ["grp"], "y", table=f"parquet:{tmp_path / 'none.parquet'}")
    for run in (
        lambda: reweigh(sp, ["grp"], "label", write=tmp_path / "w.parquet"),
        lambda: adjust_prices(sp, ["grp"], "price", write=tmp_path / "p.parquet"),
    ):
        with pytest.raises(ValidationError, match="DuckDB/PostgreSQL-only"):
            run()
    assert not list(tmp_path.iterdir())


def test_master_of() -> None:
    """URL → Spark master; no session needed (but part of the spark module's contract)."""
    assert master_of("spark://local[2]") == "local[2]"
    assert master_of("spark://local") == "local"
    assert master_of("spark://local[*]/") == "local[*]"
    assert master_of("spark://10.0.0.5:7077") == "spark://10.0.0.5:7077"
    assert master_of("pyspark://yarn") == "yarn"
    with pytest.raises(ValidationError, match="name the Spark master"):
        master_of("spark://")
