"""The same audit numbers from a PostgreSQL table (Ibis postgres backend) as from Parquet."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from trustcart.errors import NotFound, ValidationError
from trustcart.fairness import audit

pytestmark = pytest.mark.postgres

PG_URL = os.environ.get(
    "TRUSTCART_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    n = 1500
    g = rng.choice(["a", "b", "c"], n)
    df = pd.DataFrame(
        {
            "grp": g,
            "region": rng.choice(["n", "s"], n),
            "y": (rng.random(n) < np.where(g == "c", 0.25, 0.45)).astype(float),
            "label": rng.integers(0, 2, n).astype(float),
            "price": rng.gamma(3.0, 7.0, n),
            "pos": rng.integers(1, 30, n),
        }
    )
    df.loc[:7, "y"] = np.nan
    df.loc[10:14, "price"] = np.nan
    return df


@pytest.fixture(scope="module")
def pg_table(frame: pd.DataFrame) -> Iterator[tuple[str, str]]:
    """A uniquely named schema holding table ``audit_data``; dropped afterwards."""
    schema = f"tc_fair_{uuid.uuid4().hex[:10]}"
    engine = create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    frame.to_sql("audit_data", engine, schema=schema, index=False)
    url = "postgres://" + PG_URL.split("://", 1)[1]
    try:
        yield url, f"{schema}.audit_data"
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture(scope="module")
def parquet(frame: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("pg") / "d.parquet"
    frame.to_parquet(p)
    return p


def _strip(doc: dict) -> dict:
    return {k: doc[k] for k in ("kind", "rows", "excluded", "groups", "metrics", "findings")}


def _close(a: object, b: object) -> None:
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b)
        for k in a:
            _close(a[k], b[k])
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _close(x, y)
    elif isinstance(a, float):
        assert b == pytest.approx(a, rel=1e-9, abs=1e-12)
    else:
        assert a == b


@pytest.mark.parametrize(
    "kw",
    [
        {"groups": ["grp"], "outcome": "y", "label": "label"},
        {"groups": ["grp", "region"], "outcome": "y", "min_group_size": 300},
        {"groups": ["grp"], "outcome": "price", "kind": "continuous"},
        {"groups": ["grp"], "outcome": "pos", "kind": "ranking"},
    ],
)
def test_postgres_equals_parquet(pg_table: tuple[str, str], parquet: Path, kw: dict) -> None:
    url, table = pg_table
    from_pg = audit(url, table=table, **kw)
    from_file = audit(parquet, **kw)
    assert from_pg.source["backend"] == "postgres"
    assert from_pg.source["fingerprint"] == {"table": table, "rows": 1500}
    _close(_strip(from_file.to_dict()), _strip(from_pg.to_dict()))


def test_postgres_errors(pg_table: tuple[str, str]) -> None:
    url, table = pg_table
    with pytest.raises(ValidationError, match="--table"):
        audit(url, groups=["grp"], outcome="y")
    with pytest.raises(NotFound, match="not found"):
        audit(url, table=table + "_nope", groups=["grp"], outcome="y")
    with pytest.raises(ValidationError, match="available columns"):
        audit(url, table=table, groups=["nope"], outcome="y")


def test_proxy_scan_postgres_equals_parquet(pg_table: tuple[str, str], parquet: Path) -> None:
    from trustcart.fairness.proxies import detect_proxies

    url, table = pg_table
    kw = {"protected": "grp", "features": ["region", "price", "pos"], "bins": 4}
    from_pg = detect_proxies(url, table=table, **kw).to_dict()
    from_file = detect_proxies(parquet, **kw).to_dict()
    treatments = {f["feature"]: f["treatment"] for f in from_pg["features"]}
    assert treatments == {"region": "categorical", "price": "binned", "pos": "binned"}
    keys = ("features", "proxies", "findings", "rows", "classes")
    _close({k: from_file[k] for k in keys}, {k: from_pg[k] for k in keys})


def test_inferred_groups_postgres_equals_parquet(pg_table: tuple[str, str], parquet: Path) -> None:
    from trustcart.fairness.inferred import group_shares_from_frame

    url, table = pg_table
    shares = group_shares_from_frame(
        pd.DataFrame({"region": ["n", "s"], "x": [0.7, 0.2], "z": [0.3, 0.8]})
    )
    for kw in ({"outcome": "y"}, {"outcome": "price", "kind": "continuous"}):
        from_pg = audit(url, [], table=table, group_shares=shares, geo="region", **kw)
        from_file = audit(parquet, [], group_shares=shares, geo="region", **kw)
        assert from_pg.parameters["method"].startswith("group-share")
        _close(_strip(from_file.to_dict()), _strip(from_pg.to_dict()))
