"""Proxy detection: Cramér's V, MI and AUC checked against scipy / sklearn; flags; --register."""

from __future__ import annotations

import json
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pytest
from scipy.stats.contingency import association, chi2_contingency
from sklearn.metrics import mutual_info_score, roc_auc_score
from typer.testing import CliRunner

from trustcart.cli import app
from trustcart.errors import ValidationError
from trustcart.fairness.proxies import detect_proxies
from trustcart.fairness.store import get_audit, list_audits
from trustcart.gateway import list_proxies
from trustcart.workspace import Workspace

APPROX = {"rel": 1e-9, "abs": 1e-12}


def _frame(seed: int = 3, n: int = 4000, classes: tuple[str, ...] = ("a", "b")) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    eth = rng.choice(list(classes), n)
    zone = {c: f"z{i}" for i, c in enumerate(classes)}
    zipc = np.where(
        rng.random(n) < 0.6, pd.Series(eth).map(zone), rng.choice(["z0", "z1", "z7", "z8"], n)
    )
    return pd.DataFrame(
        {
            "eth": eth,
            "zip": zipc,
            "income": rng.normal(50, 10, n) + np.where(eth == classes[0], 6.0, 0.0),
            "noise": rng.choice(list("pqrs"), n),
            "flag": rng.random(n) < 0.5,
        }
    )


def _score(report, feature):  # type: ignore[no-untyped-def]
    return next(s for s in report.features if s.feature == feature)


def _row_scores(levels: pd.Series, attr: pd.Series) -> np.ndarray:
    """Each row's P(attr value | its level), the score the feature alone gives."""
    proba = pd.crosstab(levels, attr, normalize="index")
    return proba.reindex(levels.to_numpy()).to_numpy()


@pytest.mark.parametrize("classes", [("a", "b"), ("a", "b", "c")])
def test_categorical_matches_scipy_and_sklearn(classes: tuple[str, ...]) -> None:
    df = _frame(classes=classes)
    r = detect_proxies(ibis.memtable(df), "eth", ["zip", "noise", "flag"])
    for f in ("zip", "noise", "flag"):
        s = _score(r, f)
        ct = pd.crosstab(df[f], df["eth"]).to_numpy()
        assert s.cramers_v == pytest.approx(association(ct, method="cramer"), **APPROX)
        chi2, p, dof, _ = chi2_contingency(ct, correction=False)
        assert s.chi2 == pytest.approx(chi2, **APPROX) and s.dof == dof
        assert s.p_value == pytest.approx(p, rel=1e-6, abs=1e-300)
        assert s.mutual_information == pytest.approx(mutual_info_score(df[f], df["eth"]), **APPROX)
        h = -(df["eth"].value_counts(normalize=True).pipe(lambda q: q * np.log(q))).sum()
        assert s.uncertainty_coefficient == pytest.approx(s.mutual_information / h, **APPROX)
        scores = _row_scores(df[f], df["eth"])
        if len(classes) == 2:
            expected_auc = roc_auc_score(df["eth"] == classes[1], scores[:, 1])
        else:
            expected_auc = roc_auc_score(df["eth"], scores, multi_class="ovr", average="macro")
        assert s.auc == pytest.approx(expected_auc, **APPROX)
        assert s.treatment == "categorical" and s.rows == len(df)
    assert _score(r, "zip").proxy and not _score(r, "noise").proxy
    assert r.features[0].feature == "zip"  # proxies first, strongest first


def test_numeric_feature_is_binned_at_its_quantiles(tmp_path: Path) -> None:
    df = _frame()
    p = tmp_path / "d.parquet"
    df.to_parquet(p)
    r = detect_proxies(p, "eth", ["income"], bins=5)
    s = _score(r, "income")
    assert s.treatment == "binned" and s.levels == 5
    edges = np.quantile(df["income"], [0.2, 0.4, 0.6, 0.8])
    assert s.bin_edges == pytest.approx(list(edges), rel=1e-9)
    binned = np.searchsorted(edges, df["income"], side="right")
    ct = pd.crosstab(binned, df["eth"]).to_numpy()
    assert s.cramers_v == pytest.approx(association(ct, method="cramer"), rel=1e-9)
    assert s.mutual_information == pytest.approx(mutual_info_score(binned, df["eth"]), rel=1e-9)
    auc = roc_auc_score(df["eth"] == "b", _row_scores(pd.Series(binned), df["eth"])[:, 1])
    assert s.auc == pytest.approx(auc, rel=1e-9)


def test_nulls_rare_levels_and_identifiers() -> None:
    df = _frame(n=2000)
    df.loc[:99, "zip"] = None  # missingness is a level of its own
    df.loc[100:149, "eth"] = None  # rows without the attribute are left out
    df["rare"] = np.where(np.arange(len(df)) < 30, [f"r{i}" for i in range(len(df))], "common")
    df["customer_id"] = [f"c{i}" for i in range(len(df))]
    r = detect_proxies(ibis.memtable(df), "eth", max_levels=500)
    kept = df[df["eth"].notna()]
    z = _score(r, "zip")
    ct = pd.crosstab(kept["zip"].fillna("(null)"), kept["eth"]).to_numpy()
    assert z.rows == len(kept) == r.rows
    assert z.levels == ct.shape[0] and z.cramers_v == pytest.approx(
        association(ct, method="cramer"), **APPROX
    )
    rare = _score(r, "rare")
    # the 30 single-row levels (among kept rows) are pooled into one: 2 levels remain
    pooled = kept["rare"].where(kept["rare"] == "common", "(other)")
    assert rare.levels == 2 and rare.pooled_levels == int((kept["rare"] != "common").sum())
    ct = pd.crosstab(pooled, kept["eth"]).to_numpy()
    assert rare.cramers_v == pytest.approx(association(ct, method="cramer"), **APPROX)
    assert not rare.proxy
    assert "customer_id" not in {s.feature for s in r.features}
    assert any("customer_id" in n and "identifier-like" in n for n in r.notes)
    assert any("50 row(s) with NULL eth" in n for n in r.notes)


def test_errors_name_the_column() -> None:
    t = ibis.memtable(_frame(n=100))
    with pytest.raises(ValidationError, match=r"unknown column 'race'.*available columns: eth"):
        detect_proxies(t, "race")
    with pytest.raises(ValidationError, match=r"unknown column 'zap' \(--feature\)"):
        detect_proxies(t, "eth", ["zap"])
    with pytest.raises(ValidationError, match="protected attribute, not a candidate"):
        detect_proxies(t, "eth", ["eth"])
    with pytest.raises(ValidationError, match="between 0 and 1"):
        detect_proxies(t, "eth", v_threshold=3)
    empty = ibis.memtable(pd.DataFrame({"eth": [None, None], "zip": ["a", "b"]}))
    with pytest.raises(ValidationError, match="no row"):
        detect_proxies(empty, "eth")


def _run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(app, list(args))
    return r.exit_code, r.stdout, r.stderr


def test_cli_json_and_html(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    p = tmp_path / "d.csv"
    _frame().to_csv(p, index=False)
    code, out, err = _run("audit", "proxies", str(p), "--protected", "eth", "-f", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["kind"] == "proxies" and doc["protected"] == "eth" and doc["rows"] == 4000
    assert doc["proxies"][0] == "zip" and "noise" not in doc["proxies"]
    assert {"cramers_v", "mutual_information", "auc", "p_value_holm", "proxy"} <= set(
        doc["features"][0]
    )
    assert doc["findings"][0]["group"] == {"feature": "zip"}
    code, out, err = _run(
        "audit", "proxies", str(p), "-p", "eth", "--feature", "noise", "--threshold", "0.01"
    )
    assert code == 0, err and "noise" in out
    html = tmp_path / "p.html"
    code, _, err = _run("audit", "proxies", str(p), "-p", "eth", "-f", "html", "-o", str(html))
    assert code == 0, err
    text = html.read_text()
    assert "<svg" in text and "zip is a proxy of eth" in text
    code, _, err = _run("audit", "proxies", str(p), "-p", "eth", "--register")
    assert code == 2 and "--register needs a workspace" in err
    code, _, err = _run("audit", "proxies", str(p), "-p", "nope")
    assert code == 2 and "unknown column 'nope'" in err


def test_register_writes_the_gateway_blocklist(tmp_path: Path, workspace: Workspace) -> None:
    p = tmp_path / "d.parquet"
    _frame().to_parquet(p)
    code, _, err = _run(
        "-w", str(workspace.root), "audit", "proxies", str(p), "-p", "eth", "--register"
    )
    assert code == 0, err
    stored = list_audits(workspace.store)
    assert len(stored) == 1 and stored[0]["kind"] == "proxies"
    audit_id = stored[0]["id"]
    doc = get_audit(workspace.store, audit_id)["result"]
    blocked = list_proxies(workspace.store)
    assert set(blocked) == set(doc["proxies"]) and "zip" in blocked
    assert blocked["zip"].source == f"fairness audit {audit_id}"
    assert "Cramér's V" in blocked["zip"].reason and "eth" in blocked["zip"].reason
    assert "registered" in err and "zip" in err
