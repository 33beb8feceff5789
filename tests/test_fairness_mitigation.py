"""Mitigation: reweighing vs a hand computation, price adjustment vs pandas and brute force,
the offer classifier vs fairlearn's own ExponentiatedGradient run; CLI and storage."""

from __future__ import annotations

import json
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from trustcart.cli import app
from trustcart.errors import ValidationError
from trustcart.fairness import Finding
from trustcart.fairness.mitigation import adjust_prices, price_targets, reweigh
from trustcart.fairness.reductions import fair_classifier
from trustcart.fairness.result import AuditResult
from trustcart.fairness.store import get_audit, list_audits, save_audit
from trustcart.workspace import Workspace

APPROX = {"rel": 1e-12, "abs": 1e-12}


# -- reweighing ----------------------------------------------------------------------------------


def test_reweighing_weights_equal_the_hand_computation(tmp_path: Path) -> None:
    # 10 rows: group a has 4 rows (3 positive), group b has 6 rows (1 positive); 4 positives.
    df = pd.DataFrame(
        {
            "g": ["a"] * 4 + ["b"] * 6,
            "y": [1, 1, 1, 0, 1, 0, 0, 0, 0, 0],  # a: 3 of 4, b: 1 of 6
            "x": range(10),
        }
    )
    r = reweigh(ibis.memtable(df), ["g"], "y")
    by = {c.group["g"]: c for c in r.groups}
    # w(g, y) = n_g * n_y / (n * n_gy)
    assert by["a"].detail["weight_positive"] == pytest.approx(4 * 4 / (10 * 3), **APPROX)
    assert by["a"].detail["weight_negative"] == pytest.approx(4 * 6 / (10 * 1), **APPROX)
    assert by["b"].detail["weight_positive"] == pytest.approx(6 * 4 / (10 * 1), **APPROX)
    assert by["b"].detail["weight_negative"] == pytest.approx(6 * 6 / (10 * 5), **APPROX)
    assert by["a"].before["selection_rate"] == 0.75 and by["b"].before["selection_rate"] == 1 / 6
    for c in r.groups:  # weighted label rate = overall rate 0.4 in every group
        assert c.after["selection_rate"] == pytest.approx(0.4, **APPROX)
    assert r.before["demographic_parity_difference"] == pytest.approx(0.75 - 1 / 6, **APPROX)
    assert r.after["demographic_parity_difference"] == pytest.approx(0.0, abs=1e-12)
    w = np.array([16 / 30] * 3 + [24 / 10] + [24 / 10] + [36 / 50] * 5)
    assert r.tradeoff["effective_sample_size"] == pytest.approx(w.sum() ** 2 / (w**2).sum())
    assert r.stage == "pre-processing" and "effective sample size" in r.tradeoff["statement"]


def test_reweighing_writes_weights_per_row(tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    n = 500
    df = pd.DataFrame(
        {
            "g": rng.choice(["a", "b", "c"], n),
            "h": rng.choice(["x", "y"], n),
            "y": rng.integers(0, 2, n).astype(float),
        }
    )
    df.loc[:4, "y"] = np.nan
    src = tmp_path / "train.parquet"
    df.to_parquet(src)
    out = tmp_path / "weighted.parquet"
    r = reweigh(src, ["g", "h"], "y", write=out)
    w = pd.read_parquet(out)
    assert list(w.columns) == ["g", "h", "y", "weight"] and len(w) == n
    assert w["weight"].isna().sum() == 5  # NULL labels get no weight
    kept = df.dropna(subset=["y"])
    n_k = len(kept)
    for (g, h, y), part in w.dropna(subset=["y"]).groupby(["g", "h", "y"]):
        cell = kept[(kept.g == g) & (kept.h == h)]
        expected = len(cell) * (kept.y == y).sum() / (n_k * (cell.y == y).sum())
        assert part["weight"].to_numpy() == pytest.approx(expected, rel=1e-12)
    weighted = (
        w.dropna(subset=["y"])
        .groupby(["g", "h"])[["y", "weight"]]
        .apply(lambda d: np.average(d.y, weights=d.weight))
    )
    assert weighted.to_numpy() == pytest.approx(kept.y.mean(), rel=1e-12)
    assert "5 row(s) with a NULL/NaN label" in r.notes[0]


def test_reweighing_errors() -> None:
    t = ibis.memtable(pd.DataFrame({"g": ["a", "b"], "y": [0, 2]}))
    with pytest.raises(ValidationError, match="other than 0/1"):
        reweigh(t, ["g"], "y")
    with pytest.raises(ValidationError, match="unknown column 'sex'"):
        reweigh(t, ["sex"], "y")


# -- prices --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    rng = np.random.default_rng(6)
    n = 3000
    g = rng.choice(["a", "b", "c", "d"], n, p=[0.4, 0.3, 0.2, 0.1])
    lp = rng.gamma(5, 10, n)
    markup = pd.Series(g).map({"a": 1.0, "b": 1.02, "c": 1.15, "d": 1.25}).to_numpy()
    return pd.DataFrame({"g": g, "list_price": lp, "price": lp * markup})


def test_price_adjustment_lower_matches_pandas(prices: pd.DataFrame, tmp_path: Path) -> None:
    src = tmp_path / "p.parquet"
    prices.to_parquet(src)
    out = tmp_path / "adjusted.parquet"
    r = adjust_prices(src, ["g"], "price", tolerance=0.05, write=out)
    means = prices.groupby("g")["price"].mean()
    cap = means.min() / 0.95
    by = {c.group["g"]: c for c in r.groups}
    for g, m in means.items():
        assert by[g].before["mean"] == pytest.approx(m, rel=1e-12)
        assert by[g].detail["factor"] == pytest.approx(min(1.0, cap / m), rel=1e-12)
    assert by[means.idxmin()].detail["factor"] == 1.0  # no price ever rises
    assert r.before["mean_ratio"] == pytest.approx(means.min() / means.max(), rel=1e-12)
    assert r.after["mean_ratio"] == pytest.approx(0.95, rel=1e-12)
    adjusted = pd.read_parquet(out)
    assert len(adjusted) == len(prices)
    new_means = adjusted.groupby("g")["adjusted_price"].mean()
    assert new_means.min() / new_means.max() == pytest.approx(0.95, rel=1e-9)
    assert r.tradeoff["revenue_before"] == pytest.approx(prices["price"].sum(), rel=1e-12)
    assert r.tradeoff["revenue_after"] == pytest.approx(adjusted["adjusted_price"].sum(), rel=1e-9)
    assert r.tradeoff["revenue_change"] < 0


def test_price_adjustment_against_list_price(prices: pd.DataFrame) -> None:
    r = adjust_prices(ibis.memtable(prices), ["g"], "price", list_price="list_price", tolerance=0.1)
    ratio = (prices.price / prices.list_price).groupby(prices.g).mean()
    assert r.before["mean_ratio"] == pytest.approx(ratio.min() / ratio.max(), rel=1e-12)
    assert r.after["mean_ratio"] == pytest.approx(0.9, rel=1e-12)
    factors = {c.group["g"]: c.detail["factor"] for c in r.groups}
    expected = ((prices.price * prices.g.map(factors)) / prices.list_price).groupby(prices.g)
    new = expected.mean()
    assert new.min() / new.max() == pytest.approx(0.9, rel=1e-9)


def test_band_mode_is_the_least_total_change() -> None:
    means, counts = [10.0, 11.0, 14.0, 20.0], [100, 10, 10, 300]
    targets = price_targets(means, counts, 0.8, "band")
    assert min(targets) / max(targets) >= 0.8 - 1e-12
    cost = sum(n * abs(t - m) for m, t, n in zip(means, targets, counts, strict=True))
    # brute force over the band's lower end L
    best = min(
        sum(n * abs(min(max(m, L), L / 0.8) - m) for m, n in zip(means, counts, strict=True))
        for L in np.linspace(5, 25, 200001)
    )
    assert cost <= best + 1e-6
    lower = price_targets(means, counts, 0.8, "lower")
    assert lower == [10.0, 11.0, 12.5, 12.5]  # only cuts, down to 10 / 0.8
    with pytest.raises(ValidationError, match="unknown mode"):
        price_targets(means, counts, 0.8, "up")


def test_price_within_tolerance_is_left_alone() -> None:
    t = ibis.memtable(pd.DataFrame({"g": ["a", "b"] * 20, "price": [10.0, 10.2] * 20}))
    r = adjust_prices(t, ["g"], "price")
    assert [c.detail["factor"] for c in r.groups] == [1.0, 1.0]
    assert r.tradeoff["revenue_change"] == 0 and "already within tolerance" in r.notes[0]


# -- in-processing -------------------------------------------------------------------------------


def _offers(n: int = 3000, seed: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = rng.choice(["a", "b"], n, p=[0.6, 0.4])
    zipc = np.where(
        g == "a",
        rng.choice(["z1", "z2"], n, p=[0.8, 0.2]),
        rng.choice(["z1", "z2"], n, p=[0.2, 0.8]),
    )
    spend = rng.normal(50, 10, n) + np.where(g == "a", 5, 0)
    logit = -0.5 + 0.08 * (spend - 50) + np.where(zipc == "z1", 0.8, -0.3)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame({"g": g, "zip": zipc, "spend": spend, "y": y})


def test_classifier_matches_a_direct_fairlearn_run() -> None:
    from fairlearn.metrics import demographic_parity_difference
    from fairlearn.reductions import DemographicParity, ExponentiatedGradient
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    df = _offers()
    r = fair_classifier(ibis.memtable(df), ["g"], "y", ["zip", "spend"], eps=0.02, seed=3)
    assert isinstance(r.model, ExponentiatedGradient)
    # the same pipeline written directly against sklearn / fairlearn
    x = pd.get_dummies(df[["zip", "spend"]], columns=["zip"], dtype=float).to_numpy()
    y, s = df.y.to_numpy().astype(float), df.g.to_numpy()
    strata = np.char.add(s.astype(str), y.astype(int).astype(str))
    x_tr, x_te, y_tr, y_te, s_tr, s_te = train_test_split(
        x, y, s, test_size=0.3, random_state=3, stratify=strata
    )
    mu, sd = x_tr.mean(axis=0), x_tr.std(axis=0)
    x_tr, x_te = (x_tr - mu) / sd, (x_te - mu) / sd
    base = LogisticRegression(max_iter=1000).fit(x_tr, y_tr).predict(x_te)
    eg = ExponentiatedGradient(LogisticRegression(max_iter=1000), DemographicParity(), eps=0.02)
    eg.fit(x_tr, y_tr, sensitive_features=s_tr)
    fair = eg.predict(x_te, random_state=3)
    dpd_b = demographic_parity_difference(y_te, base, sensitive_features=s_te)
    dpd_a = demographic_parity_difference(y_te, fair, sensitive_features=s_te)
    assert r.before["demographic_parity_difference"] == pytest.approx(dpd_b, rel=1e-12)
    assert r.after["demographic_parity_difference"] == pytest.approx(dpd_a, rel=1e-12)
    assert r.before["accuracy"] == pytest.approx((base == y_te).mean(), rel=1e-12)
    assert r.after["accuracy"] == pytest.approx((fair == y_te).mean(), rel=1e-12)
    assert dpd_a < dpd_b / 4  # the constraint bites
    t = r.tradeoff
    assert t["accuracy_change"] == pytest.approx(t["accuracy_after"] - t["accuracy_before"])
    assert t["test_rows"] == len(y_te) and "accuracy" in t["statement"]
    by = {c.group["g"]: c for c in r.groups}
    assert by["b"].after["selection_rate"] == pytest.approx(fair[s_te == "b"].mean(), rel=1e-12)


def test_classifier_equalized_odds_and_errors() -> None:
    t = ibis.memtable(_offers(n=1500))
    r = fair_classifier(t, ["g"], "y", ["zip", "spend"], constraint="equalized_odds")
    assert r.after["equalized_odds_difference"] < r.before["equalized_odds_difference"]
    assert "equalized_odds_difference_before" in r.tradeoff
    with pytest.raises(ValidationError, match="cannot be a model feature"):
        fair_classifier(t, ["g"], "y", ["g", "spend"])
    with pytest.raises(ValidationError, match="unknown constraint"):
        fair_classifier(t, ["g"], "y", ["spend"], constraint="parity")


# -- CLI and storage -----------------------------------------------------------------------------


def _run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(app, list(args))
    return r.exit_code, r.stdout, r.stderr


def test_cli_contract(
    prices: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    p, o = tmp_path / "p.parquet", tmp_path / "o.csv"
    prices.to_parquet(p)
    _offers(n=1200).to_csv(o, index=False)
    code, out, err = _run(
        "audit", "mitigate", "prices", str(p), "-g", "g", "--price", "price", "-f", "json"
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["kind"] == "mitigation" and doc["method"] == "price_adjustment"
    assert {"groups", "before", "after", "tradeoff", "parameters", "source"} <= set(doc)
    assert {"group", "count", "before", "after", "factor"} <= set(doc["groups"][0])
    assert doc["after"]["mean_ratio"] == pytest.approx(0.95)
    code, out, err = _run(
        "audit", "mitigate", "reweigh", str(o), "-g", "g", "--label", "y", "-f", "json"
    )
    assert code == 0, err and json.loads(out)["stage"] == "pre-processing"
    html = tmp_path / "c.html"
    code, _, err = _run(
        "audit",
        "mitigate",
        "classifier",
        str(o),
        "-g",
        "g",
        "--label",
        "y",
        "--feature",
        "zip",
        "--feature",
        "spend",
        "-f",
        "html",
        "-o",
        str(html),
    )
    assert code == 0, err
    text = html.read_text()
    assert "<svg" in text and "Trade-off" in text and "accuracy" in text and "before" in text
    code, out, err = _run(
        "audit", "mitigate", "prices", str(p), "-g", "g", "--price", "price", "--mode", "band"
    )
    assert code == 0, err and "revenue" in out
    code, _, err = _run("audit", "mitigate", "prices", str(p), "-g", "g", "--price", "cost")
    assert code == 2 and "unknown column 'cost'" in err
    code, _, err = _run(
        "audit", "mitigate", "prices", str(p), "-g", "g", "--price", "price", "--tolerance", "1.5"
    )
    assert code == 2 and "--tolerance" in err


def test_mitigation_is_stored_but_does_not_hide_the_audit(
    prices: pd.DataFrame, tmp_path: Path, workspace: Workspace
) -> None:
    from trustcart.compliance import scan

    high = Finding(
        severity="high",
        message="rate of g=b is 50% of g=a",
        rule="29 CFR 1607.4(D)",
        metric="disparate_impact_ratio",
        group={"g": "b"},
        reference_group={"g": "a"},
        value=0.5,
        threshold=0.8,
        p_value=0.001,
        p_value_holm=0.001,
    )
    save_audit(
        workspace.store,
        AuditResult(
            kind="binary",
            rows=100,
            excluded=0,
            groups=[],
            metrics={},
            findings=[high],
            parameters={},
            source={"description": "offers.parquet"},
        ),
    )
    p = tmp_path / "p.parquet"
    prices.to_parquet(p)
    code, _, err = _run(
        "-w",
        str(workspace.root),
        "audit",
        "mitigate",
        "prices",
        str(p),
        "-g",
        "g",
        "--price",
        "price",
    )
    assert code == 0, err and "stored audit aud_" in err
    newest = list_audits(workspace.store, limit=1)[0]
    assert newest["kind"] == "mitigation"
    assert get_audit(workspace.store, newest["id"])["result"]["method"] == "price_adjustment"
    found = scan(workspace, areas=["fairness"]).findings
    assert [f.check for f in found] == ["TC-FAI-001"]  # the disparity audit still counts
