"""Fairness metrics checked against fairlearn, scipy and statsmodels on the same random data."""

from __future__ import annotations

import warnings
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    demographic_parity_ratio,
    equalized_odds_difference,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from scipy import stats as st
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint, proportions_ztest

from trustcart.errors import NotFound, ValidationError
from trustcart.fairness import FOUR_FIFTHS_RULE, Thresholds, audit
from trustcart.fairness import stats as fst

APPROX = {"rel": 1e-9, "abs": 1e-12}


def _data(seed: int = 7, n: int = 3000) -> pd.DataFrame:
    """Several groups of different sizes, a single-row group, an all-NaN group, NaN outcomes."""
    rng = np.random.default_rng(seed)
    g = rng.choice(["a", "b", "c", "d"], n, p=[0.4, 0.3, 0.2, 0.1])
    h = rng.choice(["x", "y"], n)
    base = pd.Series(g).map({"a": 0.5, "b": 0.45, "c": 0.3, "d": 0.42}).to_numpy()
    label = (rng.random(n) < 0.5).astype(float)
    y = (rng.random(n) < base + 0.1 * label).astype(float)
    price = rng.gamma(4.0, 10.0, n) + np.where(g == "c", 4.0, 0.0)
    df = pd.DataFrame({"g": g, "h": h, "y": y, "label": label, "price": price})
    df.loc[rng.choice(n, 40, replace=False), "y"] = np.nan
    df.loc[rng.choice(n, 30, replace=False), "price"] = np.nan
    extra = pd.DataFrame(
        {
            "g": ["single", "empty", "empty", "empty"],
            "h": ["x", "x", "y", "x"],
            "y": [1.0, np.nan, np.nan, np.nan],
            "label": [1.0, 0.0, 1.0, 0.0],
            "price": [12.5, np.nan, np.nan, np.nan],
        }
    )
    return pd.concat([df, extra], ignore_index=True)


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return _data()


@pytest.fixture(scope="module")
def parquet(data: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fair") / "data.parquet"
    data.to_parquet(path)
    return path


def _by_group(result, key: str = "g") -> dict:
    return {c.group[key]: c for c in result.groups}


def test_binary_matches_fairlearn(data: pd.DataFrame, parquet: Path) -> None:
    r = audit(parquet, groups=["g"], outcome="y", label="label", min_group_size=1)
    cells = _by_group(r)
    assert cells["empty"].suppressed and cells["empty"].to_dict()["count"] is None
    assert cells["single"].count == 1
    assert r.excluded == int(data["y"].isna().sum())
    assert r.rows == len(data)

    ok = data.dropna(subset=["y"])
    yt, yp, sf = ok["label"].astype(int), ok["y"].astype(int), ok["g"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mf = MetricFrame(
            metrics={
                "selection_rate": selection_rate,
                "true_positive_rate": true_positive_rate,
                "false_positive_rate": false_positive_rate,
            },
            y_true=yt,
            y_pred=yp,
            sensitive_features=sf,
        )
    for g, row in mf.by_group.iterrows():
        m = cells[g].metrics
        assert m["selection_rate"] == pytest.approx(row["selection_rate"], **APPROX)
        # fairlearn reports 0 for a rate with no denominator; TrustCart reports null.
        for k in ("true_positive_rate", "false_positive_rate"):
            if m[k] is None:
                assert row[k] == 0
            else:
                assert m[k] == pytest.approx(row[k], **APPROX)
    assert r.metrics["demographic_parity_difference"] == pytest.approx(
        demographic_parity_difference(yt, yp, sensitive_features=sf), **APPROX
    )
    assert r.metrics["demographic_parity_ratio"] == pytest.approx(
        demographic_parity_ratio(yt, yp, sensitive_features=sf), **APPROX
    )


def test_equalized_odds_matches_fairlearn(data: pd.DataFrame, parquet: Path) -> None:
    # Without the single-row group every TPR/FPR is defined, so fairlearn's 0-for-undefined
    # convention does not enter and the summaries must agree exactly.
    r = audit(parquet, groups=["g"], outcome="y", label="label", min_group_size=2)
    ok = data.dropna(subset=["y"])
    ok = ok[ok["g"] != "single"]
    yt, yp, sf = ok["label"].astype(int), ok["y"].astype(int), ok["g"]
    eod = equalized_odds_difference(yt, yp, sensitive_features=sf)
    assert r.metrics["equalized_odds_difference"] == pytest.approx(eod, **APPROX)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tpr = MetricFrame(metrics=true_positive_rate, y_true=yt, y_pred=yp, sensitive_features=sf)
    assert r.metrics["equal_opportunity_difference"] == pytest.approx(tpr.difference(), **APPROX)
    assert r.metrics["demographic_parity_ratio"] == pytest.approx(
        demographic_parity_ratio(yt, yp, sensitive_features=sf), **APPROX
    )


def test_intersectional_groups_match_fairlearn(data: pd.DataFrame, parquet: Path) -> None:
    r = audit(parquet, groups=["g", "h"], outcome="y", min_group_size=1)
    ok = data.dropna(subset=["y"])
    mf = MetricFrame(
        metrics=selection_rate,
        y_true=ok["label"],
        y_pred=ok["y"].astype(int),
        sensitive_features=ok[["g", "h"]],
    )
    got = {(c.group["g"], c.group["h"]): c for c in r.groups if not c.suppressed}
    present = mf.by_group.dropna()  # fairlearn lists every combination, empty ones as NaN
    assert set(got) == set(present.index)
    for key, rate in present.items():
        assert got[key].metrics["selection_rate"] == pytest.approx(rate, **APPROX)
    assert r.metrics["demographic_parity_difference"] == pytest.approx(mf.difference(), **APPROX)


def test_suppression_hides_small_cells_and_excludes_them(parquet: Path) -> None:
    r = audit(parquet, groups=["g"], outcome="y", min_group_size=200)
    cells = _by_group(r)
    assert cells["single"].suppressed and cells["empty"].suppressed
    d = r.to_dict()
    hidden = [g for g in d["groups"] if g.get("suppressed")]
    assert all(g["count"] is None and "selection_rate" not in g for g in hidden)
    shown = [c.metrics["selection_rate"] for c in r.groups if not c.suppressed]
    assert r.metrics["demographic_parity_difference"] == pytest.approx(max(shown) - min(shown))
    assert r.metrics["groups_suppressed"] == sum(1 for c in r.groups if c.suppressed)
    # The single-row group has rate 1.0: were it not excluded, it would be the reference.
    assert r.metrics["reference_group"] != {"g": "single"}


def test_continuous_matches_numpy_and_scipy(data: pd.DataFrame, parquet: Path) -> None:
    r = audit(parquet, groups=["g"], outcome="price", kind="continuous", min_group_size=2)
    ok = data.dropna(subset=["price"])
    cells = _by_group(r)
    ref = r.metrics["reference_group"]["g"]
    ref_vals = ok.loc[ok["g"] == ref, "price"].to_numpy()
    assert ref == ok.groupby("g")["price"].mean().drop("single").idxmax()
    for g, vals in ok.groupby("g")["price"]:
        if g == "single":
            assert cells[g].suppressed
            continue
        m = cells[g].metrics
        v = vals.to_numpy()
        assert m["mean"] == pytest.approx(v.mean(), rel=1e-9)
        assert m["sd"] == pytest.approx(v.std(ddof=1), rel=1e-9)
        # DuckDB quantile_cont == numpy's default linear interpolation.
        assert m["median"] == pytest.approx(np.quantile(v, 0.5, method="linear"), rel=1e-9)
        assert m["p10"] == pytest.approx(np.quantile(v, 0.1, method="linear"), rel=1e-9)
        assert m["p90"] == pytest.approx(np.quantile(v, 0.9, method="linear"), rel=1e-9)
        lo, hi = st.t.interval(0.95, len(v) - 1, loc=v.mean(), scale=st.sem(v))
        assert m["mean_ci"][0] == pytest.approx(lo, rel=1e-9)
        assert m["mean_ci"][1] == pytest.approx(hi, rel=1e-9)
        if g != ref:
            t = st.ttest_ind(v, ref_vals, equal_var=False)
            ci = t.confidence_interval(0.95)
            assert m["p_value"] == pytest.approx(t.pvalue, rel=1e-6)
            assert m["mean_difference_ci"][0] == pytest.approx(ci.low, rel=1e-9)
            assert m["mean_difference_ci"][1] == pytest.approx(ci.high, rel=1e-9)
    groups = [ok.loc[ok["g"] == g, "price"].to_numpy() for g in ("a", "b", "c", "d")]
    means = [x.mean() for x in groups]
    pooled = np.sqrt(
        sum((len(x) - 1) * x.var(ddof=1) for x in groups) / sum(len(x) - 1 for x in groups)
    )
    assert r.metrics["mean_difference"] == pytest.approx(max(means) - min(means), rel=1e-9)
    assert r.metrics["mean_ratio"] == pytest.approx(min(means) / max(means), rel=1e-9)
    assert r.metrics["standardized_mean_difference"] == pytest.approx(
        (max(means) - min(means)) / pooled, rel=1e-9
    )
    ks = max(st.ks_2samp(groups[i], groups[j]).statistic for i in range(4) for j in range(i + 1, 4))
    assert r.metrics["ks_statistic"] == pytest.approx(ks, abs=1e-12)


def test_wilson_matches_statsmodels() -> None:
    for x, n in [(0, 1), (1, 1), (3, 10), (50, 100), (999, 1000), (0, 25)]:
        lo, hi = proportion_confint(x, n, alpha=0.05, method="wilson")
        got = fst.wilson_interval(x, n)
        assert got is not None
        assert got[0] == pytest.approx(lo, abs=1e-12)
        assert got[1] == pytest.approx(hi, abs=1e-12)
    assert fst.wilson_interval(0, 0) is None


def test_ztest_and_holm_match_statsmodels() -> None:
    z, p = proportions_ztest([30, 45], [100, 110])
    t = fst.two_proportion_ztest(30, 100, 45, 110)
    assert t is not None
    assert t.statistic == pytest.approx(z) and t.p_value == pytest.approx(p)
    pvals = [0.01, 0.04, 0.03, 0.2, 0.001]
    assert fst.holm(pvals) == pytest.approx(list(multipletests(pvals, method="holm")[1]))


def test_holm_changes_the_verdict() -> None:
    """Two groups each 'significant' alone (p < 0.05) but not after Holm: no finding."""
    rows = []
    for g, (n, rate) in {"ref": (400, 0.60), "a": (400, 0.53), "b": (400, 0.53)}.items():
        k = int(n * rate)
        rows += [(g, 1)] * k + [(g, 0)] * (n - k)
    df = pd.DataFrame(rows, columns=["g", "y"])
    strict = Thresholds(four_fifths=0.95)  # every gap 'material': isolate significance
    r = audit(ibis.memtable(df), groups=["g"], outcome="y", thresholds=strict)
    cells = _by_group(r)
    raw = [cells[g].metrics["p_value"] for g in ("a", "b")]
    adj = [cells[g].metrics["p_value_holm"] for g in ("a", "b")]
    assert all(p < 0.05 for p in raw)
    assert adj == pytest.approx(list(multipletests(raw, method="holm")[1]))
    assert all(p >= 0.05 for p in adj)
    assert r.findings == []
    # The same gap with 10x the data is significant after Holm too: now both are findings.
    big = pd.concat([df] * 10, ignore_index=True)
    r2 = audit(ibis.memtable(big), groups=["g"], outcome="y", thresholds=strict)
    assert sorted(f.group["g"] for f in r2.findings) == ["a", "b"]


def test_four_fifths_finding_on_planted_disparity_only() -> None:
    rng = np.random.default_rng(3)
    n = 4000
    g = rng.choice(["m", "f", "x"], n)
    fair = (rng.random(n) < 0.4).astype(int)
    biased = (rng.random(n) < np.where(g == "f", 0.2, 0.4)).astype(int)
    df = pd.DataFrame({"g": g, "fair": fair, "biased": biased})
    r = audit(ibis.memtable(df), groups=["g"], outcome="biased")
    four = [f for f in r.findings if f.rule == FOUR_FIFTHS_RULE]
    assert [f.group for f in four] == [{"g": "f"}]
    assert four[0].severity == "high" and four[0].value < 0.8
    assert _by_group(r)["f"].metrics["disparate_impact_ratio"] == pytest.approx(four[0].value)
    assert audit(ibis.memtable(df), groups=["g"], outcome="fair").findings == []


def test_ranking_exposure() -> None:
    df = pd.DataFrame(
        {
            "seller": ["big"] * 30 + ["small"] * 30,
            "pos": list(range(1, 31)) + list(range(11, 41)),
        }
    )
    r = audit(ibis.memtable(df), groups=["seller"], outcome="pos", kind="ranking")
    cells = _by_group(r, "seller")
    exp = {s: 1 / np.log2(1 + df.loc[df.seller == s, "pos"].to_numpy()) for s in ("big", "small")}
    for s, e in exp.items():
        assert cells[s].metrics["mean_exposure"] == pytest.approx(e.mean())
        assert cells[s].metrics["share_of_impressions"] == pytest.approx(0.5)
        assert cells[s].metrics["share_of_exposure"] == pytest.approx(
            e.sum() / (exp["big"].sum() + exp["small"].sum())
        )
    assert r.metrics["exposure_ratio"] == pytest.approx(exp["small"].mean() / exp["big"].mean())


def test_unknown_column_names_it_and_the_available_ones(parquet: Path) -> None:
    with pytest.raises(ValidationError) as e:
        audit(parquet, groups=["gender"], outcome="y")
    assert "'gender'" in e.value.message and "--group" in e.value.message
    assert "available columns: g, h, y, label, price" in e.value.message
    with pytest.raises(ValidationError, match="'outcome_x'"):
        audit(parquet, groups=["g"], outcome="outcome_x")


def test_clear_errors(tmp_path: Path) -> None:
    empty = tmp_path / "empty.parquet"
    pd.DataFrame({"g": pd.Series([], dtype=str), "y": pd.Series([], dtype=int)}).to_parquet(empty)
    with pytest.raises(ValidationError, match="empty"):
        audit(empty, groups=["g"], outcome="y")
    allnan = ibis.memtable(pd.DataFrame({"g": ["a", "b"], "y": [np.nan, np.nan]}))
    with pytest.raises(ValidationError, match="NULL or NaN"):
        audit(allnan, groups=["g"], outcome="y")
    not01 = ibis.memtable(pd.DataFrame({"g": ["a", "b"], "y": [0, 2]}))
    with pytest.raises(ValidationError, match="0/1"):
        audit(not01, groups=["g"], outcome="y")
    with pytest.raises(ValidationError, match="open_decisions"):
        audit("decisions", groups=["g"], outcome="y")
    with pytest.raises(ValidationError, match="Spark Connect is not supported"):
        audit("sc://cluster:15002", groups=["g"], outcome="y")
    with pytest.raises(NotFound, match="does not exist"):
        audit(tmp_path / "nope.parquet", groups=["g"], outcome="y")


def test_duckdb_create_table_through_ibis() -> None:
    """Regression guard: ibis 12 + sqlglot >= 30.18 broke DuckDB create_table (see
    ENVIRONMENT-NOTES); lifting the sqlglot pin must keep this passing."""
    con = ibis.duckdb.connect()
    t = con.create_table("tc_regress", pd.DataFrame({"g": ["a"], "y": [1]}))
    assert t.count().execute() == 1
    t2 = con.create_table(
        "tc_regress", pd.DataFrame({"g": ["a", "b"], "y": [1, 0]}), overwrite=True
    )
    assert t2.count().execute() == 2
    # ibis 12 + duckdb 2.0 broke con.sql (fetch_arrow_table removed): pinned duckdb<2.
    assert con.sql("SELECT 1 AS a").execute()["a"].tolist() == [1]


def _skewed(seed: int = 3, n: int = 4000) -> pd.DataFrame:
    """Prices with ties (cents, a popular price point) and one huge outlier per group: the
    first histogram's first bin holds almost everything, so refinement must zoom in."""
    rng = np.random.default_rng(seed)
    g = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
    price = np.round(rng.lognormal(3.0, 0.5, n) + np.where(g == "b", 2.0, 0.0), 2)
    price[rng.random(n) < 0.2] = 19.99
    df = pd.DataFrame({"g": g, "price": price})
    outliers = pd.DataFrame({"g": ["a", "b", "c"], "price": [1e9, 5e8, 2e9]})
    return pd.concat([df, outliers], ignore_index=True)


QUANTILES = (("p10", 0.1), ("p25", 0.25), ("median", 0.5), ("p75", 0.75), ("p90", 0.9))


@pytest.mark.parametrize(
    ("bins", "fetch_max", "max_depth"),
    [(20_000, 500_000, 6), (64, 200, 6), (64, 200, 0), (64, 1, 6)],
    ids=["default", "nested-histograms", "engine-order-fallback", "fetch-nothing"],
)
def test_quantiles_and_ks_are_exact_on_skewed_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bins: int, fetch_max: int, max_depth: int
) -> None:
    """Histogram refinement finds the exact order statistics whatever the bin sizes: ties,
    outliers, nested histograms and the engine's ORDER BY fallback all give numpy's values;
    KS is scipy's, or (nothing fetched) a lower bound with a true error bound."""
    from trustcart.fairness import distribution

    df = _skewed()
    path = tmp_path / "skewed.parquet"
    df.to_parquet(path)
    monkeypatch.setattr(distribution, "BINS", bins)
    monkeypatch.setattr(distribution, "FETCH_MAX", fetch_max)
    monkeypatch.setattr(distribution, "MAX_DEPTH", max_depth)
    r = audit(path, groups=["g"], outcome="price", kind="continuous")
    groups = {c.group["g"]: df.loc[df["g"] == c.group["g"], "price"].to_numpy() for c in r.groups}
    for c in r.groups:
        v = groups[c.group["g"]]
        for name, q in QUANTILES:
            assert c.metrics[name] == pytest.approx(np.quantile(v, q), rel=1e-12), name
    pairs = (("a", "b"), ("a", "c"), ("b", "c"))
    ks = max(st.ks_2samp(groups[a], groups[b]).statistic for a, b in pairs)
    err = r.metrics["ks_max_error"]
    # Bins bigger than FETCH_MAX are not refined for KS: a lower bound and a true error bound.
    assert r.metrics["ks_statistic"] <= ks + 1e-12 <= r.metrics["ks_statistic"] + err + 2e-12
    if fetch_max == 500_000:
        assert err == 0.0
        assert r.metrics["ks_statistic"] == pytest.approx(ks, abs=1e-12)
    else:
        assert err > 0


def test_ks_refinement_is_exact_with_coarse_bins(
    data: pd.DataFrame, parquet: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With 64 bins most of the KS distance sits inside bins; refinement recovers scipy's."""
    from trustcart.fairness import distribution

    monkeypatch.setattr(distribution, "BINS", 64)
    r = audit(parquet, groups=["g"], outcome="price", kind="continuous", min_group_size=2)
    ok = data.dropna(subset=["price"])
    groups = [ok.loc[ok["g"] == g, "price"].to_numpy() for g in ("a", "b", "c", "d")]
    ks = max(st.ks_2samp(groups[i], groups[j]).statistic for i in range(4) for j in range(i + 1, 4))
    assert r.metrics["ks_statistic"] == pytest.approx(ks, abs=1e-12)
    assert r.metrics["ks_max_error"] == 0.0
    for c in r.groups:
        if c.suppressed:
            continue
        v = ok.loc[ok["g"] == c.group["g"], "price"].to_numpy()
        for name, q in QUANTILES:
            assert c.metrics[name] == pytest.approx(np.quantile(v, q), rel=1e-12), name
