"""Demographics-free audits: groups inferred from geography shares (BISG-style).

The estimators are checked against direct numpy / statsmodels computations on the rows, and
the audit must recover a disparity planted in synthetic data where each person's true group
is drawn from their area's shares (and then hidden from the audit).
"""

from __future__ import annotations

import json
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from typer.testing import CliRunner

from trustcart.cli import app
from trustcart.errors import ValidationError
from trustcart.fairness import audit
from trustcart.fairness.inferred import group_shares_from_frame, load_group_shares

GROUPS = ["a", "b", "c"]
TRUE_RATE = np.array([0.5, 0.3, 0.45])
TRUE_PRICE = np.array([50.0, 58.0, 52.0])


def _synthetic(
    seed: int = 0, n: int = 60_000, areas: int = 60
) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    shares = rng.dirichlet([0.6, 0.6, 0.6], areas)
    geos = [f"{i:05d}" for i in range(areas)]  # leading zeros, as zip codes have
    table = pd.DataFrame({"zip": geos, **{g: shares[:, i] for i, g in enumerate(GROUPS)}})
    where = rng.integers(0, areas, n)
    cum = shares[where].cumsum(axis=1)
    true = (rng.random(n)[:, None] > cum).sum(axis=1)  # each person's hidden group
    df = pd.DataFrame(
        {
            "zip": np.array(geos)[where],
            "offered": (rng.random(n) < TRUE_RATE[true]).astype(int),
            "price": TRUE_PRICE[true] + rng.normal(0, 5, n),
        }
    )
    return df, table


@pytest.fixture(scope="module")
def synthetic() -> tuple[pd.DataFrame, pd.DataFrame]:
    return _synthetic()


def _by(result) -> dict:  # type: ignore[no-untyped-def]
    return {c.group["inferred_group"]: c.metrics for c in result.groups}


def test_recovers_a_planted_offer_disparity(synthetic: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    df, table = synthetic
    shares = group_shares_from_frame(table)
    r = audit(ibis.memtable(df), [], "offered", group_shares=shares, geo="zip")
    by = _by(r)
    for g, truth in zip(GROUPS, TRUE_RATE, strict=True):
        lo, hi = by[g]["selection_rate_ci"]
        assert lo <= truth <= hi, (g, by[g]["selection_rate"], truth)
    assert r.metrics["estimator"] == "regression"
    assert r.metrics["reference_group"] == {"inferred_group": "a"}
    assert r.metrics["disparate_impact_ratio"] == pytest.approx(0.6, abs=0.05)
    high = [f for f in r.findings if f.severity == "high"]
    assert [f.group for f in high] == [{"inferred_group": "b"}]
    assert high[0].rule == "29 CFR 1607.4(D)" and "inferred" in high[0].message
    # the weighted estimator sees the same direction, significantly, but attenuated
    w = audit(
        ibis.memtable(df), [], "offered", group_shares=shares, geo="zip", estimator="weighted"
    )
    wb = _by(w)
    assert wb["b"]["selection_rate"] < wb["a"]["selection_rate"]
    assert wb["b"]["p_value_holm"] < 1e-6
    assert 0.6 < w.metrics["disparate_impact_ratio"] < 0.95
    assert w.findings == []  # attenuated below the four-fifths line: why regression is default


def test_recovers_a_planted_price_disparity(
    synthetic: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path
) -> None:
    df, table = synthetic
    src, shares = tmp_path / "d.parquet", tmp_path / "shares.csv"
    df.to_parquet(src)
    table.to_csv(shares, index=False)
    r = audit(
        src, [], "price", kind="continuous", group_shares=shares, geo="zip", favourable="lower"
    )
    by = _by(r)
    for g, truth in zip(GROUPS, TRUE_PRICE, strict=True):
        lo, hi = by[g]["mean_ci"]
        assert lo <= truth <= hi
    assert r.metrics["reference_group"] == {"inferred_group": "a"}  # cheapest is favoured
    assert r.metrics["mean_difference"] == pytest.approx(8.0, abs=0.5)
    assert r.parameters["group_shares"]["sha256"] is not None
    assert r.parameters["group_shares"]["geographies"] == 60


def test_estimators_match_direct_computations() -> None:
    df, table = _synthetic(seed=5, n=4000, areas=25)
    df.loc[:9, "price"] = np.nan
    df.loc[10:19, "zip"] = "99999"  # not in the share table
    r = audit(
        ibis.memtable(df),
        [],
        "price",
        kind="continuous",
        group_shares=group_shares_from_frame(table),
        geo="zip",
        favourable="lower",
    )
    kept = df[df.zip.isin(table.zip) & df.price.notna()]
    p = table.set_index("zip").loc[kept.zip, GROUPS].to_numpy()
    y = kept.price.to_numpy()
    by = _by(r)
    ols = sm.OLS(y, p).fit(cov_type="HC0")
    for i, g in enumerate(GROUPS):
        w = p[:, i]
        mu = np.average(y, weights=w)
        assert by[g]["mean_weighted"] == pytest.approx(mu, rel=1e-9)
        assert by[g]["effective_count"] == pytest.approx(w.sum(), rel=1e-9)
        assert by[g]["mean_regression"] == pytest.approx(ols.params[i], rel=1e-8)
        assert by[g]["standard_error"] == pytest.approx(ols.bse[i], rel=1e-6)
        se_w = np.sqrt(np.sum(w**2 * (y - mu) ** 2)) / w.sum()  # linearised (sandwich) SE
        lo, hi = by[g]["mean_weighted_ci"]
        assert (hi - lo) / 2 == pytest.approx(1.959963984540054 * se_w, rel=1e-6)
    # the test of b vs a uses the covariance between the two estimates (HC0)
    diff = ols.params[1] - ols.params[0]
    v = ols.cov_params()
    se = np.sqrt(v[1, 1] + v[0, 0] - 2 * v[0, 1])
    assert r.metrics["reference_group"] == {"inferred_group": "a"}  # the cheapest
    assert by["b"]["mean_difference"] == pytest.approx(diff, rel=1e-8)
    lo, hi = by["b"]["mean_difference_ci"]
    assert (hi - lo) / 2 == pytest.approx(1.959963984540054 * se, rel=1e-6)
    assert r.excluded == 20 and any("10 row(s) with a NULL geography" in n for n in r.notes)


def test_share_table_validation(tmp_path: Path) -> None:
    base = pd.DataFrame({"zip": ["01", "02"], "a": [0.5, 0.2], "b": [0.5, 0.8]})
    bad_sum = base.assign(b=[0.3, 0.8])
    with pytest.raises(ValidationError, match=r"'01' sum to 0\.800"):
        group_shares_from_frame(bad_sum)
    with pytest.raises(ValidationError, match="not percentages"):
        group_shares_from_frame(base.assign(a=[50, 20], b=[50, 80]))
    with pytest.raises(ValidationError, match="appears twice"):
        group_shares_from_frame(pd.concat([base, base]))
    with pytest.raises(ValidationError, match="at least two group columns"):
        group_shares_from_frame(base[["zip", "a"]])
    p = tmp_path / "s.csv"
    base.to_csv(p, index=False)
    s = load_group_shares(p, "zip")
    assert s.geos == ("01", "02") and s.groups == ("a", "b")  # leading zeros kept


def _run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(app, list(args))
    return r.exit_code, r.stdout, r.stderr


def test_cli(synthetic: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path) -> None:
    df, table = synthetic
    src, shares = tmp_path / "d.csv", tmp_path / "shares.csv"
    df.iloc[:5000].to_csv(src, index=False)
    table.to_csv(shares, index=False)
    code, out, err = _run(
        "audit",
        str(src),
        "--outcome",
        "offered",
        "--group-shares",
        str(shares),
        "--geo",
        "zip",
        "-f",
        "json",
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["kind"] == "binary" and doc["rows"] == 5000
    assert doc["parameters"]["method"].startswith("group-share weighting")
    g = doc["groups"][0]
    assert g["group"] == {"inferred_group": "a"}
    assert {
        "selection_rate",
        "selection_rate_ci",
        "selection_rate_weighted",
        "selection_rate_regression",
        "effective_count",
    } <= set(g)
    code, _, err = _run(
        "audit",
        str(src),
        "--outcome",
        "offered",
        "-g",
        "zip",
        "--group-shares",
        str(shares),
        "--geo",
        "zip",
    )
    assert code == 2 and "not both" in err
    code, _, err = _run("audit", str(src), "--outcome", "offered", "--geo", "zip")
    assert code == 2 and "go together" in err
    code, _, err = _run(
        "audit",
        str(src),
        "--outcome",
        "offered",
        "--group-shares",
        str(shares),
        "--geo",
        "zip",
        "--kind",
        "ranking",
    )
    assert code == 2 and "binary and continuous" in err
    code, _, err = _run("audit", str(src), "--outcome", "offered")
    assert code == 2 and "--group-shares" in err
